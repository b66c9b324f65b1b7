// Names of kinds, enums and error codes: the vocabulary of the JSON test
// vectors, the WebAssembly API, the server's metrics and the docs.
#include "protocol/errors.hpp"
#include "protocol/packets.hpp"

#include <array>
#include <utility>

namespace parley::protocol {
namespace {

// Indexed by the kind byte: empty for bytes that name no kind.
constexpr std::array<std::string_view, 256> kind_names = [] {
    std::array<std::string_view, 256> names{};
#define PARLEY_NAME(name, byte) names[byte] = #name;
    PARLEY_PACKET_KINDS(PARLEY_NAME)
#undef PARLEY_NAME
    names[static_cast<std::size_t>(packet_kind::batch)] = "batch";
    return names;
}();

struct error_entry {
    std::uint16_t code;
    std::string_view name;
    std::string_view description;
};

constexpr error_entry error_table[] = {
#define PARLEY_ENTRY(name, number, description) {number, #name, description},
    PARLEY_DECODE_ERRORS(PARLEY_ENTRY) PARLEY_SERVER_ERRORS(PARLEY_ENTRY)
#undef PARLEY_ENTRY
};

const error_entry* find_error(std::uint16_t code) noexcept {
    for (const auto& e : error_table)
        if (e.code == code) return &e;
    return nullptr;
}

}  // namespace

std::string_view kind_name(packet_kind k) noexcept { return kind_names[static_cast<std::uint8_t>(k)]; }

std::optional<packet_kind> kind_from_name(std::string_view name) noexcept {
    if (name.empty() || name == "batch") return std::nullopt;
    for (std::size_t byte = 0; byte < kind_names.size(); ++byte)
        if (kind_names[byte] == name) return static_cast<packet_kind>(byte);
    return std::nullopt;
}

bool is_packet_kind(std::uint8_t byte) noexcept {
    return byte != static_cast<std::uint8_t>(packet_kind::batch) && !kind_names[byte].empty();
}

std::string_view error_name(decode_error e) noexcept {
    return error_name(static_cast<std::uint16_t>(e));
}

std::string_view error_name(std::uint16_t code) noexcept {
    const error_entry* e = find_error(code);
    return e ? e->name : std::string_view{"unknown"};
}

std::string_view error_description(std::uint16_t code) noexcept {
    const error_entry* e = find_error(code);
    return e ? e->description : std::string_view{"unknown error"};
}

}  // namespace parley::protocol
