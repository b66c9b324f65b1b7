// The JavaScript face of protocol/: embind glue between plain JS objects and
// the packet structs, linked with protocol/ into the module by wasm/CMakeLists.txt.
//
// SHAPE
// A packet is a plain object whose `type` is the kind's name and whose other
// properties are the struct's fields under their names, exactly as
// tests/support/packet_json writes them: integers as Numbers, enums by name,
// nested records as objects, lists as arrays. Nothing here knows a packet
// kind: both directions walk each struct's `fields(self, visit)` list, so a
// field added to packets.hpp reaches JavaScript with no change in this file.
//
// CALLING CONVENTION
// The exported functions never throw and never abort. encode_packet and
// encode_packets return a Uint8Array, decode_message an array of packet
// objects; a failure comes back instead as a plain `{code, detail}` object
// (code: a decode_error number; detail: which field and why, for mistakes in
// JS input), and wasm/parley.js turns that into a thrown ParleyError.
// Throwing from C++ is not an option: the module is built without exception
// support, and a JS exception unwinding through wasm frames would skip
// destructors.
//
// ONE CROSSING PER FIELD
// embind's generic val operations cost several JS<->wasm crossings and a
// type-registry lookup per value (a property read alone is a key copy, a get,
// a type check, a conversion through a malloc'd buffer, and releases). So
// each field is read or written by one small EM_JS helper below that does the
// whole job in JavaScript: check the type, convert, and for text use
// TextEncoder/TextDecoder directly on the heap. They address values through
// Emval.toValue/toHandle, the handle table val itself uses, so val still owns
// every object's lifetime. Property names are JS strings made once and kept.
// Measured on the benchmark packets: with embind's generic calls, encoding
// and decoding took 2 to 9 times as long as JSON.stringify/JSON.parse; with
// these helpers 1 to 2.7 times (docs/benchmarks.md).
//
// COPIES
// decode copies the caller's bytes into wasm memory once (TypedArray.set on a
// view of the heap); encode copies the finished packet out once (a new
// Uint8Array built from a heap view). Everything between is the native codec
// working on its own buffers.
//
// WHY INPUT CHECKS LIVE HERE
// JS values can be anything, and the codec's own checks run only after a
// value has become a C++ string or integer. So this file refuses what cannot
// be converted faithfully, before converting it: non-Numbers, fractions,
// negatives and integers above 2^53-1 (they would round), lone UTF-16
// surrogates (an encoder would replace or mis-pair them), strings and arrays
// longer than their limit (checked before a byte is copied, so a huge string
// cannot exhaust the heap). The codec then applies every wire rule as it
// does natively.
#include "protocol/codec.hpp"
#include "protocol/errors.hpp"
#include "protocol/limits.hpp"
#include "protocol/packets.hpp"
#include "protocol/wire_archive.hpp"

#include <emscripten/bind.h>
#include <emscripten/emscripten.h>
#include <emscripten/val.h>

#include <malloc.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// ---- JavaScript helpers: one field, one crossing ------------------------------
// Text helpers take a fast path for short ASCII, where a loop beats the fixed
// cost of TextEncoder/TextDecoder; the coders themselves are made once and
// kept on the module object.

using emscripten::EM_VAL;

/// The Number at object[key], or NaN if it is not a Number.
EM_JS(double, parley_get_number, (EM_VAL object, EM_VAL key), {
    var value = Emval.toValue(object)[Emval.toValue(key)];
    return typeof value === "number" ? value : NaN;
});

/// 1 or 0 for true or false at object[key]; -1 for anything else.
EM_JS(int, parley_get_bool, (EM_VAL object, EM_VAL key), {
    var value = Emval.toValue(object)[Emval.toValue(key)];
    return value === true ? 1 : value === false ? 0 : -1;
});

/// Writes the UTF-8 of the string at object[key] to out[0, capacity) and
/// returns its size; -1: not a string, -2: more than max_units UTF-16 units,
/// -3: holds a lone surrogate. capacity must be 3 * max_units.
EM_JS(int, parley_get_text, (EM_VAL object, EM_VAL key, char* out, int capacity, int max_units), {
    var text = Emval.toValue(object)[Emval.toValue(key)];
    if (typeof text !== "string") return -1;
    if (text.length > max_units) return -2;
    var i, c;
    if (text.length < 64) {
        for (i = 0; i < text.length; i++) {
            c = text.charCodeAt(i);
            if (c > 127) break;
            HEAPU8[out + i] = c;
        }
        if (i === text.length) return i;
    }
    if (typeof text.isWellFormed === "function") {
        if (!text.isWellFormed()) return -3;
    } else {
        for (i = 0; i < text.length; i++) {
            c = text.charCodeAt(i);
            if (c >= 0xDC00 && c <= 0xDFFF) return -3;
            if (c >= 0xD800 && c <= 0xDBFF) {
                c = text.charCodeAt(i + 1);
                if (!(c >= 0xDC00 && c <= 0xDFFF)) return -3;
                i++;
            }
        }
    }
    var encoder = Module.parleyTextEncoder || (Module.parleyTextEncoder = new TextEncoder());
    return encoder.encodeInto(text, HEAPU8.subarray(out, out + capacity)).written;
});

/// A new handle to object[key] if it is a non-null object, else 0.
EM_JS(EM_VAL, parley_get_object, (EM_VAL object, EM_VAL key), {
    var value = Emval.toValue(object)[Emval.toValue(key)];
    return value !== null && typeof value === "object" ? Emval.toHandle(value) : 0;
});

/// A new handle to object[key] if it is an array, else 0.
EM_JS(EM_VAL, parley_get_array, (EM_VAL object, EM_VAL key), {
    var value = Emval.toValue(object)[Emval.toValue(key)];
    return Array.isArray(value) ? Emval.toHandle(value) : 0;
});

EM_JS(double, parley_length, (EM_VAL array), { return Emval.toValue(array).length; });

EM_JS(int, parley_is_object, (EM_VAL value), {
    value = Emval.toValue(value);
    return value !== null && typeof value === "object" ? 1 : 0;
});

/// What object[key] holds, for error messages: an index into js_type_names.
EM_JS(int, parley_type_of, (EM_VAL object, EM_VAL key), {
    var value = Emval.toValue(object)[Emval.toValue(key)];
    if (value === undefined) return 0;
    if (value === null) return 1;
    if (Array.isArray(value)) return 9;
    return ["boolean", "number", "string", "bigint", "symbol", "function", "object"].indexOf(typeof value) + 2;
});

EM_JS(void, parley_set_number, (EM_VAL object, EM_VAL key, double value), {
    Emval.toValue(object)[Emval.toValue(key)] = value;
});

EM_JS(void, parley_set_bool, (EM_VAL object, EM_VAL key, int value), {
    Emval.toValue(object)[Emval.toValue(key)] = value !== 0;
});

/// object[key] = the UTF-8 text at data[0, size) (valid UTF-8, NULs allowed).
EM_JS(void, parley_set_text, (EM_VAL object, EM_VAL key, const char* data, int size), {
    var text = "";
    if (size < 32) {
        for (var i = 0; i < size; i++) {
            var c = HEAPU8[data + i];
            if (c > 127) break;
            text += String.fromCharCode(c);
        }
    }
    if (text.length !== size) {
        var decoder = Module.parleyTextDecoder || (Module.parleyTextDecoder = new TextDecoder());
        text = decoder.decode(HEAPU8.subarray(data, data + size));
    }
    Emval.toValue(object)[Emval.toValue(key)] = text;
});

EM_JS(void, parley_set_value, (EM_VAL object, EM_VAL key, EM_VAL value), {
    Emval.toValue(object)[Emval.toValue(key)] = Emval.toValue(value);
});

EM_JS(void, parley_push, (EM_VAL array, EM_VAL value), {
    Emval.toValue(array).push(Emval.toValue(value));
});

EM_JS(EM_VAL, parley_number_handle, (double value), { return Emval.toHandle(value); });

/// A new Uint8Array with a copy of data[0, size): the one copy out of wasm.
EM_JS(EM_VAL, parley_copy_out, (const std::uint8_t* data, int size), {
    return Emval.toHandle(HEAPU8.slice(data, data + size));
});

/// Copies the Uint8Array `bytes` to out[0, bytes.length): the one copy in.
EM_JS(void, parley_copy_in, (EM_VAL bytes, std::uint8_t* out), {
    HEAPU8.set(Emval.toValue(bytes), out);
});

namespace parley::wasm {
namespace {

using emscripten::val;
using protocol::decode_error;
using protocol::packet;
using protocol::packet_kind;
namespace limits = protocol::limits;

template <class T> struct is_list : std::false_type {};
template <class T> struct is_list<std::vector<T>> : std::true_type {};

template <class T>
concept record = requires(T& t) { T::fields(t, [](auto&&...) {}); };

/// A JS string for a name the field lists use (field, kind and enum names),
/// made once per module. Names are literals, so the address of their text is
/// the key. The table never moves its entries (callers keep references while
/// reading nested fields) and never fills: the protocol has about two hundred
/// such literals.
const val& js_name(std::string_view name) {
    struct slot {
        const char* key = nullptr;
        std::optional<val> value;
    };
    static std::array<slot, 1024> table;
    constexpr std::size_t mask = table.size() - 1;
    // Fibonacci hashing: neighbouring literals land far apart.
    std::size_t i = (static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(name.data())) * 2654435769u) >> 22;
    for (std::size_t probes = 0; probes < table.size(); ++probes, i = (i + 1) & mask) {
        if (table[i].key == name.data()) return *table[i].value;
        if (table[i].key == nullptr) {
            table[i].key = name.data();
            return table[i].value.emplace(std::string(name));
        }
    }
    __builtin_trap();  // unreachable: a thousand distinct names in packets.hpp
}

/// A JS Number usable as a property key (an array index).
val js_index(std::size_t i) { return val::take_ownership(parley_number_handle(static_cast<double>(i))); }

// ---- enum names ------------------------------------------------------------

using protocol::enum_name;
using protocol::enum_from_name;

// ---- failures --------------------------------------------------------------

/// Why a JS value could not become a packet: the code JS will see, and a
/// path such as "send_message.text" with what was wrong there.
struct input_error {
    decode_error code;
    std::string where;
    std::string what;

    /// Called on the way out of each enclosing field, so the path is only
    /// ever built for the one value that failed.
    void enclose(std::string_view name) {
        if (where.empty()) where = name;
        else if (where.front() == '[') where.insert(0, name);
        else where.insert(0, std::string(name) + ".");
    }
};

val failure_value(decode_error code, const input_error* detail = nullptr) {
    val out = val::object();
    out.set("code", static_cast<int>(code));
    if (detail) out.set("detail", detail->where + ": " + detail->what);
    return out;
}

// ---- JS -> C++ -------------------------------------------------------------

/// Fills packet structs from JS values, stopping at the first value it
/// cannot convert faithfully. Every read addresses a slot: a property of an
/// object, or an index of an array.
class js_reader {
public:
    const std::optional<input_error>& error() const { return error_; }

    /// Reads a whole packet object into `out`: its `type` picks the struct.
    /// A null handle stands for a value that is not an object.
    bool read_packet(EM_VAL object, packet& out);

    template <class T, class... Max>
    void read(EM_VAL object, const val& key, T& out, Max... max) {
        if constexpr (record<T>) read_record(object, key, out);
        else if constexpr (is_list<T>::value) read_list(object, key, out, std::size_t{max}...);
        else if constexpr (std::is_same_v<T, std::string>) read_text(object, key, out, std::size_t{max}...);
        else if constexpr (std::is_same_v<T, bool>) read_bool(object, key, out);
        else if constexpr (std::is_enum_v<T>) read_enum(object, key, out);
        else read_integer(object, key, out, max...);
    }

private:
    // Kept apart from read_packet so that the name's heap copy is gone before
    // the caller's getters run (see scratch_packets).
    std::optional<packet_kind> read_kind(EM_VAL object);

    void fail(decode_error code, std::string what) {
        if (!error_) error_ = input_error{code, {}, std::move(what)};
    }

    /// Fails with "expected <what>", saying what the slot held instead.
    void fail_type(EM_VAL object, const val& key, const char* expected) {
        static constexpr const char* names[] = {"undefined", "null", "a boolean", "a number", "a string",
                                                "a bigint", "a symbol", "a function", "an object", "an array"};
        const int type = parley_type_of(object, key.as_handle());
        if (type == 0) return fail(decode_error::bad_value, "missing");
        fail(decode_error::bad_value, std::string("expected ") + expected + ", got " + names[type]);
    }

    template <class T>
    void read_fields(EM_VAL object, T& out) {
        T::fields(out, [&](const char* name, auto& member, auto... max) {
            if (error_) return;
            read(object, js_name(name), member, max...);
            if (error_) error_->enclose(name);
        });
    }

    template <class T>
    void read_record(EM_VAL object, const val& key, T& out) {
        const val nested = val::take_ownership(parley_get_object(object, key.as_handle()));
        if (nested.as_handle() == nullptr) return fail_type(object, key, "an object");
        read_fields(nested.as_handle(), out);
    }

    template <class T>
    void read_list(EM_VAL object, const val& key, std::vector<T>& out, std::size_t max) {
        const val array = val::take_ownership(parley_get_array(object, key.as_handle()));
        if (array.as_handle() == nullptr) return fail_type(object, key, "an array");
        // The count is checked before anything is allocated: a sparse array
        // may claim billions of items.
        const double n = parley_length(array.as_handle());
        if (n > static_cast<double>(max))
            return fail(decode_error::too_many_items, "more than " + std::to_string(max) + " items");
        out.resize(static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < out.size() && !error_; ++i) {
            read(array.as_handle(), js_index(i), out[i]);
            if (error_) error_->enclose("[" + std::to_string(i) + "]");
        }
    }

    void read_text(EM_VAL object, const val& key, std::string& out, std::size_t max) {
        // UTF-8 takes at least one byte per UTF-16 unit, so a string longer
        // than `max` units is refused before it is converted at all, and the
        // conversion needs at most three bytes per unit.
        static std::vector<char> scratch;
        if (scratch.size() < 3 * max) scratch.resize(3 * max);
        const int n = parley_get_text(object, key.as_handle(), scratch.data(), static_cast<int>(3 * max),
                                      static_cast<int>(max));
        if (n == -1) return fail_type(object, key, "a string");
        if (n == -3) return fail(decode_error::bad_utf8, "contains a lone UTF-16 surrogate");
        if (n == -2 || static_cast<std::size_t>(n) > max)
            return fail(decode_error::field_too_long, "longer than " + std::to_string(max) + " bytes of UTF-8");
        out.assign(scratch.data(), static_cast<std::size_t>(n));
    }

    void read_bool(EM_VAL object, const val& key, bool& out) {
        const int b = parley_get_bool(object, key.as_handle());
        if (b < 0) return fail_type(object, key, "true or false");
        out = b == 1;
    }

    template <class E>
    void read_enum(EM_VAL object, const val& key, E& out) {
        // Every enum name is short; a longer string is simply not one.
        char name[3 * 32];
        const int n = parley_get_text(object, key.as_handle(), name, sizeof name, sizeof name / 3);
        if (n == -1) return fail_type(object, key, "a name");
        if (n >= 0) {
            if (auto e = enum_from_name<E>({name, static_cast<std::size_t>(n)})) {
                out = *e;
                return;
            }
            const std::string text(name, static_cast<std::size_t>(n));
            return fail(decode_error::bad_value, "unknown name '" + text + "'");
        }
        fail(decode_error::bad_value, "unknown name");
    }

    template <class T, class... Max>
    void read_integer(EM_VAL object, const val& key, T& out, Max... max) {
        std::uint64_t bound = protocol::wire::default_max<T>();
        ((bound = static_cast<std::uint64_t>(max)), ...);
        const double d = parley_get_number(object, key.as_handle());
        if (std::isnan(d)) return fail_type(object, key, "an integer from 0 to 2^53-1");
        if (!(d >= 0 && d <= static_cast<double>(limits::max_safe_integer) && d == std::floor(d)))
            return fail(decode_error::bad_value, "expected an integer from 0 to 2^53-1");
        if (d > static_cast<double>(bound))
            return fail(decode_error::bad_value, "larger than " + std::to_string(bound));
        out = static_cast<T>(d);
    }

    std::optional<input_error> error_;
};

/// A default-constructed packet of `kind`, which must name a packet.
packet make_packet(packet_kind kind) {
    std::optional<packet> out;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((std::variant_alternative_t<I, packet>::kind == kind ? (out.emplace(std::in_place_index<I>), 0) : 0), ...);
    }(std::make_index_sequence<std::variant_size_v<packet>>{});
    return std::move(*out);
}

std::optional<packet_kind> js_reader::read_kind(EM_VAL object) {
    // Kind names are short; a longer string names no kind.
    char name[3 * 32];
    const val& key = js_name("type");
    const int n = parley_get_text(object, key.as_handle(), name, sizeof name, sizeof name / 3);
    if (n == -1) {
        fail(decode_error::unknown_kind, "expected the name of a packet kind");
    } else if (n < 0) {
        fail(decode_error::unknown_kind, "no packet kind has that name");
    } else {
        const std::string_view text{name, static_cast<std::size_t>(n)};
        if (auto kind = protocol::kind_from_name(text)) return kind;
        fail(decode_error::unknown_kind, "no packet kind is called '" + std::string(text) + "'");
    }
    error_->enclose("type");
    return std::nullopt;
}

bool js_reader::read_packet(EM_VAL object, packet& out) {
    if (object == nullptr || !parley_is_object(object)) {
        fail(decode_error::bad_value, "expected a packet object");
        return false;
    }
    const auto kind = read_kind(object);
    if (!kind) return false;
    out = make_packet(*kind);
    std::visit([&](auto& alt) { read_fields(object, alt); }, out);
    if (error_) error_->enclose(protocol::kind_name(*kind));
    return !error_;
}

// ---- C++ -> JS -------------------------------------------------------------

template <class T>
val make_js(const T& v);

/// Stores `v` as object[key].
template <class T>
void put(EM_VAL object, const val& key, const T& v) {
    if constexpr (record<T> || is_list<T>::value) {
        const val nested = make_js(v);
        parley_set_value(object, key.as_handle(), nested.as_handle());
    } else if constexpr (std::is_enum_v<T>) {
        parley_set_value(object, key.as_handle(), js_name(enum_name(v)).as_handle());
    } else if constexpr (std::is_same_v<T, std::string>) {
        parley_set_text(object, key.as_handle(), v.data(), static_cast<int>(v.size()));
    } else if constexpr (std::is_same_v<T, bool>) {
        parley_set_bool(object, key.as_handle(), v ? 1 : 0);
    } else {
        // Every integer the codec accepts is at most 2^53-1, so the Number is exact.
        parley_set_number(object, key.as_handle(), static_cast<double>(v));
    }
}

template <class T>
void put_fields(EM_VAL object, const T& v) {
    T::fields(v, [&](const char* name, const auto& member, auto...) { put(object, js_name(name), member); });
}

/// A new JS object or array for a record or a list.
template <class T>
val make_js(const T& v) {
    if constexpr (record<T>) {
        val object = val::object();
        put_fields(object.as_handle(), v);
        return object;
    } else {
        using item_type = typename T::value_type;
        static_assert(record<item_type> || std::is_integral_v<item_type>,
                      "lists in packets.hpp hold records or integers; add a branch for others");
        val array = val::array();
        for (const auto& item : v) {
            if constexpr (record<item_type>) {
                const val element = make_js(item);
                parley_push(array.as_handle(), element.as_handle());
            } else {
                const val element(static_cast<double>(item));  // small integers: exact
                parley_push(array.as_handle(), element.as_handle());
            }
        }
        return array;
    }
}

val packet_to_js(const packet& p) {
    return std::visit(
        [](const auto& alt) {
            val object = val::object();
            const val& type = js_name(protocol::kind_name(alt.kind));
            parley_set_value(object.as_handle(), js_name("type").as_handle(), type.as_handle());
            put_fields(object.as_handle(), alt);
            return object;
        },
        p);
}

val bytes_to_js(const protocol::bytes& bytes) {
    return val::take_ownership(parley_copy_out(bytes.data(), static_cast<int>(bytes.size())));
}

// ---- exported functions ----------------------------------------------------

/// The packets being encoded, kept between calls. A getter or Proxy in the
/// caller's object may throw from inside a read, unwinding the wasm frames
/// without running destructors; whatever the packets held then is freed by
/// the next call's clear() instead of leaking. (parley.js refuses re-entrant
/// calls, so only one call uses this at a time.)
std::vector<packet>& scratch_packets() {
    static std::vector<packet> packets;
    return packets;
}

/** Encodes one packet object. @return a Uint8Array, or {code, detail}. */
val encode_packet(val object) {
    auto& packets = scratch_packets();
    packets.clear();
    js_reader reader;
    if (!reader.read_packet(object.as_handle(), packets.emplace_back()))
        return failure_value(reader.error()->code, &*reader.error());
    auto bytes = protocol::encode(packets.front());
    if (!bytes) return failure_value(bytes.error());
    return bytes_to_js(*bytes);
}

/** Encodes an array of packet objects as one batch. @return a Uint8Array, or {code, detail}. */
val encode_packets(val objects) {
    if (!objects.isArray()) {
        const input_error shape{decode_error::bad_value, "packets", "expected an array of packet objects"};
        return failure_value(shape.code, &shape);
    }
    const double n = parley_length(objects.as_handle());
    if (n == 0) return failure_value(decode_error::empty_batch);
    if (n > static_cast<double>(limits::max_batch_packets)) return failure_value(decode_error::too_many_items);

    auto& packets = scratch_packets();
    packets.clear();
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        js_reader reader;
        const val item = val::take_ownership(parley_get_object(objects.as_handle(), js_index(i).as_handle()));
        if (!reader.read_packet(item.as_handle(), packets.emplace_back())) {
            input_error e = *reader.error();
            e.enclose("[" + std::to_string(i) + "]");
            e.enclose("packets");
            return failure_value(e.code, &e);
        }
    }
    auto bytes = protocol::encode_batch(packets);
    if (!bytes) return failure_value(bytes.error());
    return bytes_to_js(*bytes);
}

/** Decodes one WebSocket message (a packet or a batch) from a Uint8Array of
 *  `size` bytes. @return an array of packet objects, or {code}. */
val decode_message(val input, double size) {
    // Longer input is refused before it is copied: a caller's mistake must not
    // grow the heap.
    if (size > static_cast<double>(limits::max_packet_bytes)) return failure_value(decode_error::too_large);
    static protocol::bytes buffer;  // kept between calls: no allocation per message
    buffer.resize(static_cast<std::size_t>(size));
    parley_copy_in(input.as_handle(), buffer.data());

    auto packets = protocol::decode_message(buffer);
    if (!packets) return failure_value(packets.error());
    val out = val::array();
    for (const auto& p : *packets) {
        const val object = packet_to_js(p);
        parley_push(out.as_handle(), object.as_handle());
    }
    return out;
}

// ---- constants -------------------------------------------------------------

val describe_limits() {
    val out = val::object();
    // limits.hpp has no list of its names; tests/wasm checks that this one
    // names every constant there.
#define PARLEY_LIMIT(name) out.set(#name, static_cast<double>(limits::name))
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
    return out;
}

/// The names of E's values, in value order (a value is its index).
template <class E>
val enum_list() {
    val out = val::array();
    for (std::uint8_t i = 0; i < protocol::enum_count(E{}); ++i)
        out.set(i, std::string(enum_name(static_cast<E>(i))));
    return out;
}

/// Every enumeration of packets.hpp by its name, as in docs/protocol.md
/// section 12; tests/wasm checks that this names every enum there.
val describe_enums() {
    val out = val::object();
    out.set("reaction_kind", enum_list<protocol::reaction_kind>());
    out.set("presence_change", enum_list<protocol::presence_change>());
    out.set("history_mode", enum_list<protocol::history_mode>());
    out.set("room_kind", enum_list<protocol::room_kind>());
    out.set("room_role", enum_list<protocol::room_role>());
    out.set("membership", enum_list<protocol::membership>());
    out.set("room_action", enum_list<protocol::room_action>());
    out.set("leave_reason", enum_list<protocol::leave_reason>());
    return out;
}

/** The protocol's vocabulary: kinds, reactions and the other enumerations,
 *  error codes with their descriptions, limits. Read once by parley.js. */
val describe() {
    val kinds = val::object();
    for (unsigned byte = 0; byte < 256; ++byte)
        if (protocol::is_packet_kind(static_cast<std::uint8_t>(byte)))
            kinds.set(std::string(protocol::kind_name(static_cast<packet_kind>(byte))), byte);

    const val reactions = enum_list<protocol::reaction_kind>();

    // Codes are 16-bit on the wire, but every one defined so far is below 1024.
    val errors = val::object();
    val descriptions = val::object();
    for (std::uint16_t code = 1; code < 1024; ++code) {
        const std::string_view name = protocol::error_name(code);
        if (name == "unknown") continue;
        errors.set(std::string(name), code);
        descriptions.set(code, std::string(protocol::error_description(code)));
    }

    val out = val::object();
    out.set("kinds", kinds);
    out.set("reactions", reactions);
    out.set("enums", describe_enums());
    out.set("errors", errors);
    out.set("descriptions", descriptions);
    out.set("limits", describe_limits());
    return out;
}

/** The module's memory, for leak tests and client metrics: the size of its
 *  linear memory and the bytes malloc has handed out. */
val memory_usage() {
    const struct mallinfo info = mallinfo();
    val out = val::object();
    out.set("linear", static_cast<double>(__builtin_wasm_memory_size(0)) * 65536.0);
    out.set("allocated", static_cast<double>(info.uordblks));
    return out;
}

}  // namespace
}  // namespace parley::wasm

EMSCRIPTEN_BINDINGS(parley_protocol) {
    emscripten::function("encode_packet", &parley::wasm::encode_packet);
    emscripten::function("encode_packets", &parley::wasm::encode_packets);
    emscripten::function("decode_message", &parley::wasm::decode_message);
    emscripten::function("describe", &parley::wasm::describe);
    emscripten::function("memory_usage", &parley::wasm::memory_usage);
}
