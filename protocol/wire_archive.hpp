// The cereal archives that give Parley its compact payload encoding.
//
// FORMAT
//   unsigned integers   LEB128 varint, shortest form (1 byte below 128)
//   bool                one byte, 0 or 1
//   enums               varint of the underlying value, checked against the
//                       enum's count
//   strings             varint byte length, then the UTF-8 bytes
//   lists               varint item count, then the items
//   structs             their fields in declaration order, nothing else
// No field names, tags or padding: the packet kind in the header decides the
// layout, and docs/protocol.md lists every layout.
//
// ALGORITHM
// Packet structs list their fields once (`fields(self, visit)`); the generic
// `serialize` below turns each into `ar(field{member, max})`, and cereal
// dispatches that to the save/load overloads of the two archives here.
//
// GUARANTEES
// Neither archive throws or allocates more than its input justifies. The
// input archive checks every length against its limit and against the bytes
// that remain (each item takes at least one byte) before it allocates, and on
// the first problem records a decode_error and stops reading: every later
// read yields zero. The output archive checks the same bounds, so anything it
// accepts decodes back to an equal value.
#pragma once

#include "protocol/errors.hpp"
#include "protocol/limits.hpp"
#include "protocol/utf8.hpp"

#include <cereal/cereal.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace parley::protocol::wire {

/// A field being serialized: the member and, if given, its bound (bytes of a
/// string, items of a list, largest value of an integer).
template <class T, class Max = std::nullptr_t>
struct field {
    T& value;
    Max max{};
};

template <class T>
concept packet_struct = requires(T& t) { T::fields(t, [](auto&&...) {}); };

template <class T>
concept wire_enum = std::is_enum_v<T> && requires(T e) { enum_count(e); };

template <class T>
concept wire_unsigned = std::unsigned_integral<T> && !std::same_as<T, bool>;

/// Largest value a field of type T may carry without an explicit bound. 64-bit
/// values stay within JavaScript's safe integers.
template <wire_unsigned T>
constexpr std::uint64_t default_max() noexcept {
    if constexpr (sizeof(T) == 8) return limits::max_safe_integer;
    else return std::numeric_limits<T>::max();
}

class output_archive : public cereal::OutputArchive<output_archive, cereal::AllowEmptyClassElision> {
public:
    explicit output_archive(std::vector<std::uint8_t>& out)
        : OutputArchive(this), out_(out) {}

    std::optional<decode_error> error() const noexcept { return error_; }

    template <wire_unsigned T, class Max>
    void write(const T& v, Max max) {
        if (v > bound_of<T>(max)) return fail(decode_error::bad_value);
        put_varint(v);
    }
    void write(const bool& v, std::nullptr_t) { out_.push_back(v ? 1 : 0); }

    template <wire_enum E>
    void write(const E& v, std::nullptr_t) {
        const auto raw = static_cast<std::uint64_t>(v);
        if (raw >= enum_count(v)) return fail(decode_error::bad_value);
        put_varint(raw);
    }

    void write(const std::string& s, std::size_t max) {
        if (s.size() > max) return fail(decode_error::field_too_long);
        if (!is_valid_utf8(s)) return fail(decode_error::bad_utf8);
        put_varint(s.size());
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(s.data());
        out_.insert(out_.end(), bytes, bytes + s.size());  // one memcpy, not a char-by-char conversion
    }

    template <class T>
    void write(const std::vector<T>& items, std::size_t max) {
        if (items.size() > max) return fail(decode_error::too_many_items);
        put_varint(items.size());
        for (const auto& item : items) (*this)(field<T>{const_cast<T&>(item)});
    }

    template <packet_struct T>
    void write(const T& nested, std::nullptr_t) { (*this)(const_cast<T&>(nested)); }

    void put_varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<std::uint8_t>(v));
    }

private:
    template <class T, class Max>
    static constexpr std::uint64_t bound_of(Max max) noexcept {
        if constexpr (std::is_same_v<Max, std::nullptr_t>) return default_max<T>();
        else return static_cast<std::uint64_t>(max);
    }
    void fail(decode_error e) noexcept {
        if (!error_) error_ = e;
    }

    std::vector<std::uint8_t>& out_;
    std::optional<decode_error> error_;
};

class input_archive : public cereal::InputArchive<input_archive, cereal::AllowEmptyClassElision> {
public:
    input_archive(const std::uint8_t* data, std::size_t size)
        : InputArchive(this), pos_(data), end_(data + size) {}

    std::optional<decode_error> error() const noexcept { return error_; }
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }

    template <wire_unsigned T, class Max>
    void read(T& v, Max max) {
        const std::uint64_t raw = get_varint();
        std::uint64_t bound;
        if constexpr (std::is_same_v<Max, std::nullptr_t>) bound = default_max<T>();
        else bound = static_cast<std::uint64_t>(max);
        if (raw > bound) return fail(decode_error::bad_value);
        v = static_cast<T>(raw);
    }

    void read(bool& v, std::nullptr_t) {
        const std::uint8_t b = get_byte();
        if (b > 1) return fail(decode_error::bad_value);
        v = b == 1;
    }

    template <wire_enum E>
    void read(E& v, std::nullptr_t) {
        const std::uint64_t raw = get_varint();
        if (raw >= enum_count(E{})) return fail(decode_error::bad_value);
        v = static_cast<E>(raw);
    }

    void read(std::string& s, std::size_t max) {
        const std::uint64_t n = get_varint();
        if (error_) return;
        if (n > max) return fail(decode_error::field_too_long);
        if (n > remaining()) return fail(decode_error::truncated);
        s.assign(reinterpret_cast<const char*>(pos_), static_cast<std::size_t>(n));
        pos_ += n;
        if (!is_valid_utf8(s)) fail(decode_error::bad_utf8);
    }

    template <class T>
    void read(std::vector<T>& items, std::size_t max) {
        const std::uint64_t n = get_varint();
        if (error_) return;
        if (n > max) return fail(decode_error::too_many_items);
        // Every item takes at least one byte, so a count beyond the remaining
        // bytes is a lie; refusing it here keeps the allocation honest.
        if (n > remaining()) return fail(decode_error::truncated);
        items.resize(static_cast<std::size_t>(n));
        for (auto& item : items) {
            (*this)(field<T>{item});
            if (error_) return;
        }
    }

    template <packet_struct T>
    void read(T& nested, std::nullptr_t) { (*this)(nested); }

    std::uint64_t get_varint() noexcept {
        std::uint64_t value = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            if (pos_ == end_) {
                fail(decode_error::truncated);
                return 0;
            }
            const std::uint8_t byte = *pos_++;
            // The 10th byte may only carry the top bit of a 64-bit value.
            if (shift == 63 && byte > 1) break;
            value |= std::uint64_t{byte & 0x7Fu} << shift;
            if ((byte & 0x80) == 0) {
                // Shortest form only: a multi-byte varint may not end in 0,
                // so every value has exactly one encoding.
                if (byte == 0 && shift != 0) break;
                return value;
            }
        }
        fail(decode_error::bad_varint);
        return 0;
    }

    std::uint8_t get_byte() noexcept {
        if (pos_ == end_) {
            fail(decode_error::truncated);
            return 0;
        }
        return *pos_++;
    }

    void fail(decode_error e) noexcept {
        if (!error_) error_ = e;
        pos_ = end_;  // stop: every later read sees end of input
    }

private:
    const std::uint8_t* pos_;
    const std::uint8_t* end_;
    std::optional<decode_error> error_;
};

template <class T, class Max>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, const field<T, Max>& f) {
    ar.write(f.value, f.max);
}

template <class T, class Max>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, field<T, Max>& f) {
    if (!ar.error()) ar.read(f.value, f.max);
}

}  // namespace parley::protocol::wire

namespace parley::protocol {

/// cereal entry point for every packet struct (found by argument-dependent
/// lookup): walks the struct's field list.
template <class Archive, wire::packet_struct T>
void CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, T& value) {
    T::fields(value, [&ar]<class F, class... Max>(const char*, F& member, Max... max) {
        ar(wire::field<F, Max...>{member, max...});
    });
}

}  // namespace parley::protocol

CEREAL_SETUP_ARCHIVE_TRAITS(parley::protocol::wire::input_archive, parley::protocol::wire::output_archive)
