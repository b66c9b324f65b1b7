// The JavaScript face of protocol/: plain C exports over tapes in wasm
// memory, linked with protocol/ into the module by wasm/CMakeLists.txt.
//
// SHAPE
// JavaScript sees packets as plain objects whose `type` is the kind's name
// and whose other properties are the struct's fields under their names,
// exactly as tests/support/packet_json writes them. Building and reading
// those objects is JavaScript's job (parley_codec.js, generated at build time
// from the field lists this module describes); this file moves packets
// between the C++ structs and flat tapes, walking each struct's
// `fields(self, visit)` list, so a field added to packets.hpp reaches
// JavaScript with no change here.
//
// TAPES
// A tape is an array of doubles in wasm memory holding a packet's fields in
// field-list order: integers as themselves (every one is at most 2^53-1, so
// exact), bools as 0/1, enums as their value, lists as their item count
// followed by the items, nested records as their fields. It starts with the
// number of packets, and each packet with its kind byte. Strings live beside
// it in a text area:
//   encode  JS writes each string's UTF-8 into the text area, back to back,
//           and its byte length onto the tape.
//   decode  this file writes every string's UTF-8 into the text area, back to
//           back, and onto the tape where it ends in UTF-16 units, so JS
//           decodes the whole area with one TextDecoder call and slices each
//           string out of the result.
//
// CALLING CONVENTION
// One call per WebSocket message in each direction: parley_encode reads the
// tape JS wrote, parley_decode reads the message JS copied into the input
// area. Both return 0 or a decode_error number and never trap or abort. The
// addresses and sizes of the areas are in one table (io_table) that JS reads
// after each call; the areas only move when they grow, during a call.
//
// WHAT IS CHECKED WHERE
// decode: everything, here, by the native codec (magic, version, lengths,
// CRC, bounded LZ4, counts, UTF-8, values); JS only turns a valid tape into
// objects. encode: JS checks each value's type and range as it writes it, so
// that its errors can name the field; this file checks the tape again (it
// never trusts a count, length or number it reads), and the codec then
// applies every wire rule as it does natively.
#include "protocol/codec.hpp"
#include "protocol/errors.hpp"
#include "protocol/limits.hpp"
#include "protocol/packets.hpp"
#include "protocol/wire_archive.hpp"

#include <emscripten/emscripten.h>

#include <malloc.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace parley::wasm {
namespace {

using protocol::decode_error;
using protocol::packet;
using protocol::packet_kind;
namespace limits = protocol::limits;

template <class T> struct is_list : std::false_type {};
template <class T> struct is_list<std::vector<T>> : std::true_type {};

template <class T>
concept record = requires(T& t) { T::fields(t, [](auto&&...) {}); };

template <class T, class... Max>
std::uint64_t bound_of(Max... max) {
    std::uint64_t bound = protocol::wire::default_max<T>();
    ((bound = static_cast<std::uint64_t>(max)), ...);
    return bound;
}

// ---- the areas shared with JavaScript ------------------------------------------

/// A malloc'd array that grows (keeping its contents) and never throws:
/// a failed allocation leaves it as it was and says so.
template <class T>
class area {
public:
    T* data() const noexcept { return data_; }
    std::size_t capacity() const noexcept { return capacity_; }

    bool reserve(std::size_t n) noexcept {
        if (n <= capacity_) return true;
        std::size_t grown = capacity_ ? capacity_ : 256;
        while (grown < n) grown *= 2;
        void* p = std::realloc(data_, grown * sizeof(T));
        if (p == nullptr) return false;
        data_ = static_cast<T*>(p);
        capacity_ = grown;
        return true;
    }

private:
    T* data_ = nullptr;
    std::size_t capacity_ = 0;
};

/// Where JavaScript finds the areas, as 32-bit words (parley_codec.js reads
/// them by these offsets after every call).
struct io_table {
    std::uint32_t tape;           // double*
    std::uint32_t tape_capacity;  // doubles
    std::uint32_t text;
    std::uint32_t text_capacity;
    std::uint32_t input;
    std::uint32_t input_capacity;
    std::uint32_t output;         // encode: the message's bytes
    std::uint32_t output_size;
    std::uint32_t tape_size;      // doubles on the tape: decode wrote, encode was given
    std::uint32_t text_size;      // bytes in the text area: the same
};

io_table io;
area<double> tape_area;
area<char> text_area;
area<std::uint8_t> input_area;
protocol::bytes output;

std::uint32_t address(const void* p) { return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(p)); }

void publish_areas() {
    io.tape = address(tape_area.data());
    io.tape_capacity = static_cast<std::uint32_t>(tape_area.capacity());
    io.text = address(text_area.data());
    io.text_capacity = static_cast<std::uint32_t>(text_area.capacity());
    io.input = address(input_area.data());
    io.input_capacity = static_cast<std::uint32_t>(input_area.capacity());
}

// ---- tape -> packets (encode) ----------------------------------------------------

/// Fills packet structs from a tape JS wrote. The tape is checked as if it
/// were hostile: a count, length or number out of place fails the read
/// instead of reaching an allocation or a cast.
class tape_reader {
public:
    tape_reader(const double* tape, std::size_t tape_size, const char* text, std::size_t text_size)
        : pos_(tape), end_(tape + tape_size), text_(text), text_end_(text + text_size) {}

    std::optional<decode_error> error() const { return error_; }
    bool at_end() const { return pos_ == end_ && text_ == text_end_; }

    /// A count or kind byte: an integer from 0 to max.
    std::optional<std::size_t> read_count(std::size_t max) {
        const double d = next();
        if (!is_integer(d, max)) {
            fail(decode_error::bad_value);
            return std::nullopt;
        }
        return static_cast<std::size_t>(d);
    }

    template <class T>
    void read_fields(T& out) {
        T::fields(out, [&](const char*, auto& member, auto... max) {
            if (!error_) read(member, max...);
        });
    }

private:
    template <class T, class... Max>
    void read(T& out, Max... max) {
        if constexpr (record<T>) {
            read_fields(out);
        } else if constexpr (is_list<T>::value) {
            read_list(out, std::size_t{max}...);
        } else if constexpr (std::is_same_v<T, std::string>) {
            read_text(out, std::size_t{max}...);
        } else if constexpr (std::is_same_v<T, bool>) {
            const double d = next();
            if (d != 0 && d != 1) return fail(decode_error::bad_value);
            out = d == 1;
        } else if constexpr (std::is_enum_v<T>) {
            if (auto v = read_count(protocol::enum_count(T{}) - 1u)) out = static_cast<T>(*v);
        } else {
            const double d = next();
            if (!is_integer(d, static_cast<double>(bound_of<T>(max...)))) return fail(decode_error::bad_value);
            out = static_cast<T>(d);
        }
    }

    template <class T>
    void read_list(std::vector<T>& out, std::size_t max) {
        const double n = next();
        if (!is_integer(n, static_cast<double>(limits::max_safe_integer))) return fail(decode_error::bad_value);
        if (n > static_cast<double>(max)) return fail(decode_error::too_many_items);
        // Every item takes at least one slot of the tape.
        if (n > static_cast<double>(end_ - pos_)) return fail(decode_error::bad_value);
        out.resize(static_cast<std::size_t>(n));
        for (auto& item : out) {
            read(item);
            if (error_) return;
        }
    }

    void read_text(std::string& out, std::size_t max) {
        const double n = next();
        if (!is_integer(n, static_cast<double>(text_end_ - text_))) return fail(decode_error::bad_value);
        if (n > static_cast<double>(max)) return fail(decode_error::field_too_long);
        out.assign(text_, static_cast<std::size_t>(n));  // the codec checks the UTF-8
        text_ += static_cast<std::size_t>(n);
    }

    static bool is_integer(double d, double max) { return d >= 0 && d <= max && d == std::floor(d); }

    double next() {
        if (pos_ == end_) {
            fail(decode_error::bad_value);
            return -1;
        }
        return *pos_++;
    }

    void fail(decode_error e) {
        if (!error_) error_ = e;
        pos_ = end_;
    }

    const double* pos_;
    const double* end_;
    const char* text_;
    const char* text_end_;
    std::optional<decode_error> error_;
};

/// Makes `p` a packet of `kind`, keeping it (and the capacity of its strings
/// and lists) when it already is one.
bool prepare_packet(packet& p, std::size_t kind) {
    if (kind > 0xFF || !protocol::is_packet_kind(static_cast<std::uint8_t>(kind))) return false;
    if (protocol::kind_of(p) == static_cast<packet_kind>(kind)) return true;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((std::variant_alternative_t<I, packet>::kind == static_cast<packet_kind>(kind)
              ? (p.emplace<I>(), 0)
              : 0),
         ...);
    }(std::make_index_sequence<std::variant_size_v<packet>>{});
    return true;
}

/// The packets being encoded, kept between calls so that their strings keep
/// their capacity. Every field of a reused packet is overwritten by the tape
/// before it is encoded; after a failed read the list is cleared all the same.
std::vector<packet> encode_packets;

std::optional<decode_error> read_packets(tape_reader& reader, bool batch) {
    const auto count = reader.read_count(limits::max_batch_packets);
    if (!count) return reader.error();
    if (*count == 0) return batch ? decode_error::empty_batch : decode_error::bad_value;
    if (!batch && *count != 1) return decode_error::bad_value;
    encode_packets.resize(*count);
    for (auto& p : encode_packets) {
        const auto kind = reader.read_count(0xFF);
        if (!kind || !prepare_packet(p, *kind)) return decode_error::unknown_kind;
        std::visit([&](auto& alt) { reader.read_fields(alt); }, p);
        if (reader.error()) return reader.error();
    }
    if (!reader.at_end()) return decode_error::bad_value;
    return std::nullopt;
}

// ---- packets -> tape (decode) ----------------------------------------------------

/// Length in UTF-16 units of valid UTF-8: one per character, two for the
/// four-byte ones. Eight ASCII bytes at a time, as is_valid_utf8 reads them.
std::size_t utf16_length(const std::string& s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    std::size_t units = 0;
    while (end - p >= 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, p, 8);
        if ((chunk & 0x8080808080808080ULL) != 0) break;
        p += 8;
        units += 8;
    }
    for (; p != end; ++p) {
        units += (*p & 0xC0) != 0x80;
        units += *p >= 0xF0;
    }
    return units;
}

/// Strings this long are decoded by JS where they are, with a TextDecoder
/// call of their own: below it, one call for all the short strings of a
/// message beats one per string; above it, copying them into the text area
/// costs more than the call.
constexpr std::size_t min_direct_text = 256;

/// Writes decoded packets onto the tape and their strings into the text area
/// (or, long ones, their address).
class tape_writer {
public:
    bool failed() const { return failed_; }
    std::size_t tape_size() const { return tape_size_; }
    std::size_t text_size() const { return text_size_; }

    void put(double v) {
        if (tape_size_ == tape_area.capacity() && !tape_area.reserve(tape_size_ + 1)) {
            failed_ = true;
            return;
        }
        tape_area.data()[tape_size_++] = v;
    }

    template <class T>
    void write_fields(const T& v) {
        T::fields(v, [&](const char*, const auto& member, auto...) { write(member); });
    }

private:
    template <class T>
    void write(const T& v) {
        if constexpr (record<T>) {
            write_fields(v);
        } else if constexpr (is_list<T>::value) {
            put(static_cast<double>(v.size()));
            for (const auto& item : v) write(item);
        } else if constexpr (std::is_same_v<T, std::string>) {
            write_text(v);
        } else {
            put(static_cast<double>(v));  // bools, enums and integers (all <= 2^53-1)
        }
    }

    void write_text(const std::string& s) {
        // A long string stays where the codec put it, and JS decodes it there;
        // its slot holds minus its address (never 0), the next one its size.
        if (s.size() >= min_direct_text) {
            put(-static_cast<double>(address(s.data())));
            put(static_cast<double>(s.size()));
            return;
        }
        if (!text_area.reserve(text_size_ + s.size())) {
            failed_ = true;
            return;
        }
        std::memcpy(text_area.data() + text_size_, s.data(), s.size());
        text_size_ += s.size();
        utf16_end_ += utf16_length(s);
        put(static_cast<double>(utf16_end_));
    }

    std::size_t tape_size_ = 0;
    std::size_t text_size_ = 0;
    std::size_t utf16_end_ = 0;
    bool failed_ = false;
};

/// The packets of the last message decoded: JS reads their long strings in
/// place, so they live until the next decode.
std::vector<packet> decoded_packets;

/// decode_message into decoded_packets. A single packet (most messages) goes
/// through protocol::decode, which needs no vector of its own; both calls
/// run the same checks in the same order, so the errors are the same.
std::optional<decode_error> decode_input(std::span<const std::uint8_t> input) {
    const auto header = protocol::peek_header(input);
    if (header && header->kind != packet_kind::batch) {
        auto p = protocol::decode(input);
        if (!p) return p.error();
        decoded_packets.push_back(std::move(*p));
        return std::nullopt;
    }
    auto packets = protocol::decode_message(input);
    if (!packets) return packets.error();
    decoded_packets = std::move(*packets);
    return std::nullopt;
}

// ---- the vocabulary, as JSON -----------------------------------------------------

/// A small JSON writer: enough for names, numbers and the descriptions.
class json {
public:
    const std::string& text() const { return out_; }

    json& key(std::string_view k) {
        comma();
        quote(k);
        out_ += ':';
        fresh_ = true;
        return *this;
    }
    json& string(std::string_view s) {
        comma();
        quote(s);
        return *this;
    }
    /// Every number in the vocabulary is an integer from 0 to 2^53-1.
    json& number(double v) {
        comma();
        out_ += std::to_string(static_cast<unsigned long long>(v));
        return *this;
    }
    json& open(char bracket) {
        comma();
        out_ += bracket;
        fresh_ = true;
        return *this;
    }
    json& close(char bracket) {
        out_ += bracket;
        fresh_ = false;
        return *this;
    }

private:
    void quote(std::string_view s) {
        out_ += '"';
        for (const char c : s) {
            if (c == '"' || c == '\\') out_ += '\\';
            if (static_cast<unsigned char>(c) < 0x20) continue;  // none in the vocabulary
            out_ += c;
        }
        out_ += '"';
    }
    void comma() {
        if (!fresh_) out_ += ',';
        fresh_ = false;
    }
    std::string out_;
    bool fresh_ = true;
};

template <class E> constexpr std::string_view enum_type_name = "";
template <> constexpr std::string_view enum_type_name<protocol::reaction_kind> = "reaction_kind";
template <> constexpr std::string_view enum_type_name<protocol::presence_change> = "presence_change";
template <> constexpr std::string_view enum_type_name<protocol::history_mode> = "history_mode";
template <> constexpr std::string_view enum_type_name<protocol::room_kind> = "room_kind";
template <> constexpr std::string_view enum_type_name<protocol::room_role> = "room_role";
template <> constexpr std::string_view enum_type_name<protocol::membership> = "membership";
template <> constexpr std::string_view enum_type_name<protocol::room_action> = "room_action";
template <> constexpr std::string_view enum_type_name<protocol::leave_reason> = "leave_reason";

template <class E>
void describe_enum(json& out) {
    static_assert(!enum_type_name<E>.empty(), "name every enum of packets.hpp above");
    out.key(enum_type_name<E>).open('[');
    for (const auto name : protocol::enum_names(E{})) out.string(name);
    out.close(']');
}

/// Every enumeration of packets.hpp by its name, as in docs/protocol.md
/// section 12; tests/wasm checks that this names every enum there.
void describe_enums(json& out) {
    out.key("enums").open('{');
    describe_enum<protocol::reaction_kind>(out);
    describe_enum<protocol::presence_change>(out);
    describe_enum<protocol::history_mode>(out);
    describe_enum<protocol::room_kind>(out);
    describe_enum<protocol::room_role>(out);
    describe_enum<protocol::membership>(out);
    describe_enum<protocol::room_action>(out);
    describe_enum<protocol::leave_reason>(out);
    out.close('}');
}

void describe_limits(json& out) {
    out.key("limits").open('{');
    // limits.hpp has no list of its names; tests/wasm checks that this one
    // names every constant there.
#define PARLEY_LIMIT(name) out.key(#name).number(static_cast<double>(limits::name))
    PARLEY_LIMIT(version);
    PARLEY_LIMIT(max_packet_bytes);
    PARLEY_LIMIT(max_client_packet_bytes);
    PARLEY_LIMIT(max_payload_bytes);
    PARLEY_LIMIT(compress_threshold);
    PARLEY_LIMIT(max_text_bytes);
    PARLEY_LIMIT(max_username_bytes);
    PARLEY_LIMIT(max_room_name_bytes);
    PARLEY_LIMIT(max_topic_bytes);
    PARLEY_LIMIT(max_direct_people);
    PARLEY_LIMIT(max_room_list);
    PARLEY_LIMIT(max_token_bytes);
    PARLEY_LIMIT(max_error_text_bytes);
    PARLEY_LIMIT(max_version_text_bytes);
    PARLEY_LIMIT(max_history_page);
    PARLEY_LIMIT(max_presence_users);
    PARLEY_LIMIT(max_reactions_per_message);
    PARLEY_LIMIT(max_rate_limits);
    PARLEY_LIMIT(max_limit_kinds);
    PARLEY_LIMIT(max_batch_packets);
    PARLEY_LIMIT(max_header_bytes);
    PARLEY_LIMIT(checksum_bytes);
    PARLEY_LIMIT(max_safe_integer);
#undef PARLEY_LIMIT
    out.close('}');
}

/// The bound a field list gives (a string's bytes, a list's items).
template <class... Max>
double given_max(Max... max) {
    double d = 0;
    ((d = static_cast<double>(max)), ...);
    return d;
}

/// One field as the code generator needs it: {name, type, max, ...}.
template <class T, class... Max>
void describe_value(json& out, Max... max) {
    if constexpr (record<T>) {
        out.key("type").string("record").key("fields").open('[');
        T sample{};
        T::fields(sample, [&]<class F, class... M>(const char* name, F&, M... m) {
            out.open('{').key("name").string(name);
            describe_value<F>(out, m...);
            out.close('}');
        });
        out.close(']');
    } else if constexpr (is_list<T>::value) {
        out.key("type").string("list").key("max").number(given_max(max...));
        out.key("item").open('{');
        describe_value<typename T::value_type>(out);
        out.close('}');
    } else if constexpr (std::is_same_v<T, std::string>) {
        out.key("type").string("text").key("max").number(given_max(max...));
    } else if constexpr (std::is_same_v<T, bool>) {
        out.key("type").string("bool");
    } else if constexpr (std::is_enum_v<T>) {
        out.key("type").string("enum").key("enum").string(enum_type_name<T>);
    } else {
        out.key("type").string("integer").key("max").number(static_cast<double>(bound_of<T>(max...)));
    }
}

void describe_packets(json& out) {
    out.key("packets").open('[');
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (([&] {
             using T = std::variant_alternative_t<I, packet>;
             out.open('{').key("kind").number(static_cast<double>(T::kind));
             out.key("name").string(protocol::kind_name(T::kind));
             describe_value<T>(out);
             out.close('}');
         }()),
         ...);
    }(std::make_index_sequence<std::variant_size_v<packet>>{});
    out.close(']');
}

/// The protocol's vocabulary and layouts: kinds, enumerations, error codes
/// with their descriptions, limits, and every packet's fields. parley.js
/// reads it once; wasm/generate_codec.mjs builds the JS codec from it.
std::string describe() {
    json out;
    out.open('{').key("kinds").open('{');
    for (unsigned byte = 0; byte < 256; ++byte)
        if (protocol::is_packet_kind(static_cast<std::uint8_t>(byte)))
            out.key(protocol::kind_name(static_cast<packet_kind>(byte))).number(byte);
    out.close('}');
    out.key("reactions").open('[');
    for (const auto name : protocol::enum_names(protocol::reaction_kind{})) out.string(name);
    out.close(']');
    describe_enums(out);

    // Codes are 16-bit on the wire, but every one defined so far is below 1024.
    out.key("errors").open('{');
    for (std::uint16_t code = 1; code < 1024; ++code)
        if (protocol::error_name(code) != "unknown") out.key(protocol::error_name(code)).number(code);
    out.close('}').key("descriptions").open('{');
    for (std::uint16_t code = 1; code < 1024; ++code)
        if (protocol::error_name(code) != "unknown")
            out.key(std::to_string(code)).string(protocol::error_description(code));
    out.close('}');
    describe_limits(out);
    describe_packets(out);
    out.close('}');
    return out.text();
}

}  // namespace
}  // namespace parley::wasm

// ---- exported functions ----------------------------------------------------------

using namespace parley::wasm;

extern "C" {

/** The address of the io_table; the areas start empty and grow on demand. */
EMSCRIPTEN_KEEPALIVE std::uint32_t parley_io() {
    publish_areas();
    return address(&io);
}

/** Grows area `which` (0 tape, in doubles; 1 text and 2 input, in bytes) to
 *  at least `size`, keeping its contents. @return 0, or too_large when the
 *  request passes what a message may need or memory is exhausted. */
EMSCRIPTEN_KEEPALIVE int parley_reserve(int which, double size) {
    // No message needs more than this of any area (a batch of the most items
    // each field allows stays far below), so a larger request is a mistake.
    constexpr double max_area = 16.0 * limits::max_packet_bytes;
    bool ok = size >= 0 && size <= max_area;
    const auto n = ok ? static_cast<std::size_t>(size) : 0;
    if (ok && which == 0) ok = tape_area.reserve(n);
    else if (ok && which == 1) ok = text_area.reserve(n);
    else if (ok && which == 2) ok = input_area.reserve(n);
    publish_areas();
    return ok ? 0 : static_cast<int>(decode_error::too_large);
}

/** Encodes the packets on the tape (`tape_size` doubles, `text_size` bytes of
 *  text) as one message: a packet, or a batch if `batch`. @return 0 and the
 *  bytes at io.output, or a decode_error. */
EMSCRIPTEN_KEEPALIVE int parley_encode(std::uint32_t tape_size, std::uint32_t text_size, int batch) {
    io.output_size = 0;
    io.tape_size = tape_size;
    io.text_size = text_size;
    if (tape_size > tape_area.capacity() || text_size > text_area.capacity())
        return static_cast<int>(decode_error::bad_value);
    tape_reader reader(tape_area.data(), tape_size, text_area.data(), text_size);
    if (auto e = read_packets(reader, batch != 0)) {
        encode_packets.clear();
        return static_cast<int>(*e);
    }
    output.clear();
    if (batch) {
        auto bytes = parley::protocol::encode_batch(encode_packets);
        if (!bytes) return static_cast<int>(bytes.error());
        output = std::move(*bytes);
    } else if (auto e = parley::protocol::encode_append(output, encode_packets.front())) {
        return static_cast<int>(*e);
    }
    io.output = address(output.data());
    io.output_size = static_cast<std::uint32_t>(output.size());
    return 0;
}

/** Decodes the message of `size` bytes in the input area (a packet or a
 *  batch) onto the tape and the text area. @return 0, or a decode_error. */
EMSCRIPTEN_KEEPALIVE int parley_decode(std::uint32_t size) {
    io.tape_size = 0;
    io.text_size = 0;
    decoded_packets.clear();
    if (size > limits::max_packet_bytes) return static_cast<int>(decode_error::too_large);
    if (size > input_area.capacity()) return static_cast<int>(decode_error::truncated);
    if (auto e = decode_input({input_area.data(), size})) return static_cast<int>(*e);

    tape_writer writer;
    writer.put(static_cast<double>(decoded_packets.size()));
    for (const auto& p : decoded_packets) {
        writer.put(static_cast<double>(parley::protocol::kind_of(p)));
        std::visit([&](const auto& alt) { writer.write_fields(alt); }, p);
    }
    publish_areas();
    if (writer.failed()) {
        decoded_packets.clear();
        return static_cast<int>(decode_error::too_large);
    }
    io.tape_size = static_cast<std::uint32_t>(writer.tape_size());
    io.text_size = static_cast<std::uint32_t>(writer.text_size());
    return 0;
}

/** The vocabulary as JSON (see describe()); the text stays valid. */
EMSCRIPTEN_KEEPALIVE const char* parley_describe() {
    static const std::string text = describe();
    return text.c_str();
}

/** Bytes of the module's linear memory, for leak tests and metrics. */
EMSCRIPTEN_KEEPALIVE double parley_memory_linear() {
    return static_cast<double>(__builtin_wasm_memory_size(0)) * 65536.0;
}

/** Bytes malloc has handed out and not had back. */
EMSCRIPTEN_KEEPALIVE double parley_memory_allocated() {
    const struct mallinfo info = mallinfo();
    return static_cast<double>(info.uordblks);
}

}  // extern "C"
