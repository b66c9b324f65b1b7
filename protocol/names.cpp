// Names of kinds, enums and error codes: the vocabulary of the JSON test
// vectors, the WebAssembly API, the server's metrics and the docs.
#include "protocol/errors.hpp"
#include "protocol/packets.hpp"

#include <array>
#include <utility>

namespace parley::protocol {
namespace {

constexpr std::array<std::pair<packet_kind, std::string_view>, 25> kind_names{{
    {packet_kind::authenticate, "authenticate"},
    {packet_kind::join_room, "join_room"},
    {packet_kind::leave_room, "leave_room"},
    {packet_kind::send_message, "send_message"},
    {packet_kind::edit_message, "edit_message"},
    {packet_kind::delete_message, "delete_message"},
    {packet_kind::toggle_reaction, "toggle_reaction"},
    {packet_kind::set_typing, "set_typing"},
    {packet_kind::request_history, "request_history"},
    {packet_kind::ping, "ping"},
    {packet_kind::welcome, "welcome"},
    {packet_kind::room_joined, "room_joined"},
    {packet_kind::room_left, "room_left"},
    {packet_kind::message_ack, "message_ack"},
    {packet_kind::chat_message, "chat_message"},
    {packet_kind::message_edited, "message_edited"},
    {packet_kind::message_deleted, "message_deleted"},
    {packet_kind::reaction_update, "reaction_update"},
    {packet_kind::typing_update, "typing_update"},
    {packet_kind::presence_update, "presence_update"},
    {packet_kind::history_page, "history_page"},
    {packet_kind::persisted_watermark, "persisted_watermark"},
    {packet_kind::error_report, "error_report"},
    {packet_kind::pong, "pong"},
    {packet_kind::batch, "batch"},
}};

constexpr std::array<std::string_view, reaction_kind_count> reaction_names{
    "like", "dislike", "heart", "star", "laugh", "party"};
constexpr std::array<std::string_view, 3> presence_names{"snapshot", "joined", "left"};
constexpr std::array<std::string_view, 3> history_mode_names{"older", "latest", "replay"};

struct error_entry {
    std::uint16_t code;
    std::string_view name;
    std::string_view description;
};

constexpr std::array<error_entry, 32> error_table{{
    {1, "truncated", "the packet ends before its header, payload or checksum does"},
    {2, "bad_magic", "the packet does not start with the magic byte 0x50"},
    {3, "bad_version", "the packet uses a protocol version this peer does not speak"},
    {4, "bad_checksum", "the CRC32 of the packet does not match its trailer"},
    {5, "unknown_kind", "the packet kind is not defined"},
    {6, "bad_flags", "reserved flag bits are set, or a flag is not allowed for this kind"},
    {7, "field_too_long", "a text field is longer than its limit"},
    {8, "bad_utf8", "a text field is not valid UTF-8"},
    {9, "too_large", "the packet is larger than the protocol allows"},
    {10, "decompressed_too_large", "the compressed payload inflates past the payload limit"},
    {11, "decompression_failed", "the compressed payload is not a valid LZ4 frame"},
    {12, "trailing_bytes", "bytes follow the end of the payload or packet"},
    {13, "bad_varint", "an integer is not in shortest LEB128 form or overflows"},
    {14, "bad_value", "an integer is out of range or an enum value is unknown"},
    {15, "too_many_items", "a list has more items than its limit"},
    {16, "unexpected_batch", "a batch appears where it is not allowed"},
    {17, "empty_batch", "a batch contains no packets"},
    {100, "not_authenticated", "authenticate before sending chat packets"},
    {101, "auth_failed", "the session token is unknown or expired"},
    {102, "bad_room_name", "room names are 1-64 characters: letters, digits, '-', '_' or '.'"},
    {103, "not_in_room", "the room is not joined on this connection"},
    {104, "no_such_message", "the room has no message with that sequence number"},
    {105, "forbidden", "only the author may do that"},
    {106, "rate_limited", "too many requests; retry after the given delay"},
    {107, "unexpected_kind", "that packet kind is not accepted from clients"},
    {108, "empty_text", "the message text is empty or only white space"},
    {109, "message_deleted", "the message was deleted"},
    {110, "server_busy", "the server cannot store more messages right now; retry later"},
    {111, "too_many_rooms", "this connection has joined too many rooms"},
    {112, "internal_error", "the server failed to handle the request"},
    {113, "shutting_down", "the server is shutting down; reconnect later"},
    {114, "room_quota", "no more rooms can be created by this user or on this server"},
}};

template <class E, std::size_t N>
std::optional<E> index_of(const std::array<std::string_view, N>& names, std::string_view name) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == name) return static_cast<E>(i);
    return std::nullopt;
}

const error_entry* find_error(std::uint16_t code) noexcept {
    for (const auto& e : error_table)
        if (e.code == code) return &e;
    return nullptr;
}

}  // namespace

std::string_view kind_name(packet_kind k) noexcept {
    for (const auto& [kind, name] : kind_names)
        if (kind == k) return name;
    return {};
}

std::optional<packet_kind> kind_from_name(std::string_view name) noexcept {
    for (const auto& [kind, n] : kind_names)
        if (n == name && kind != packet_kind::batch) return kind;
    return std::nullopt;
}

bool is_packet_kind(std::uint8_t byte) noexcept {
    const auto k = static_cast<packet_kind>(byte);
    return k != packet_kind::batch && !kind_name(k).empty();
}

std::string_view reaction_name(reaction_kind r) noexcept {
    const auto i = static_cast<std::size_t>(r);
    return i < reaction_names.size() ? reaction_names[i] : std::string_view{};
}
std::optional<reaction_kind> reaction_from_name(std::string_view name) noexcept {
    return index_of<reaction_kind>(reaction_names, name);
}

std::string_view presence_change_name(presence_change c) noexcept {
    const auto i = static_cast<std::size_t>(c);
    return i < presence_names.size() ? presence_names[i] : std::string_view{};
}
std::optional<presence_change> presence_change_from_name(std::string_view name) noexcept {
    return index_of<presence_change>(presence_names, name);
}

std::string_view history_mode_name(history_mode m) noexcept {
    const auto i = static_cast<std::size_t>(m);
    return i < history_mode_names.size() ? history_mode_names[i] : std::string_view{};
}
std::optional<history_mode> history_mode_from_name(std::string_view name) noexcept {
    return index_of<history_mode>(history_mode_names, name);
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
