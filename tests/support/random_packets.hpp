// Random packets within every bound of the protocol, for property tests,
// fuzz seeds and wasm interop. Walks each packet's field list, so every field
// of every kind is exercised with no per-kind code.
#pragma once

#include "protocol/packets.hpp"
#include "protocol/wire_archive.hpp"

#include <random>
#include <string>
#include <type_traits>

namespace parley::testing {

class packet_generator {
public:
    explicit packet_generator(std::uint64_t seed) : rng_(seed) {}

    /// A random packet of a random kind.
    protocol::packet any() {
        return make(std::uniform_int_distribution<std::size_t>(0, std::variant_size_v<protocol::packet> - 1)(rng_));
    }

    /// A random packet of the variant alternative `index`.
    protocol::packet make(std::size_t index) { return make_at<0>(index); }

    /// Random valid UTF-8 of exactly `bytes` bytes, mixing 1- to 4-byte characters.
    std::string utf8(std::size_t size) {
        std::string s;
        while (s.size() < size) {
            const std::size_t left = size - s.size();
            const unsigned width = static_cast<unsigned>(std::min<std::size_t>(left, 1 + rng_() % 4));
            append_char(s, width);
        }
        return s;
    }

    std::mt19937_64& rng() { return rng_; }

private:
    template <std::size_t I>
    protocol::packet make_at(std::size_t index) {
        using T = std::variant_alternative_t<I, protocol::packet>;
        if constexpr (I + 1 < std::variant_size_v<protocol::packet>) {
            if (index != I) return make_at<I + 1>(index);
        }
        T value{};
        fill(value);
        return value;
    }

    template <class T, class... Max>
    void fill(T& v, Max... max) {
        if constexpr (protocol::wire::packet_struct<T>) {
            T::fields(v, [this]<class F, class... M>(const char*, F& member, M... m) { fill(member, m...); });
        } else if constexpr (std::is_same_v<T, bool>) {
            v = (rng_() & 1) != 0;
        } else if constexpr (std::is_enum_v<T>) {
            v = static_cast<T>(rng_() % enum_count(T{}));
        } else if constexpr (std::is_same_v<T, std::string>) {
            v = utf8(length(static_cast<std::size_t>(max)...));
        } else if constexpr (requires { v.resize(1); }) {
            v.resize(std::min<std::size_t>(length(static_cast<std::size_t>(max)...), 6));
            for (auto& item : v) fill(item);
        } else {
            std::uint64_t bound = protocol::wire::default_max<T>();
            ((bound = static_cast<std::uint64_t>(max)), ...);
            v = static_cast<T>(integer(bound));
        }
    }

    // Lengths favour short values but reach the limit now and then.
    std::size_t length(std::size_t max) {
        switch (rng_() % 8) {
            case 0: return 0;
            case 1: return max;
            case 2: return std::uniform_int_distribution<std::size_t>(0, max)(rng_);
            default: return std::uniform_int_distribution<std::size_t>(0, std::min<std::size_t>(max, 40))(rng_);
        }
    }

    // Integers of every width up to the bound, edges included.
    std::uint64_t integer(std::uint64_t bound) {
        switch (rng_() % 6) {
            case 0: return 0;
            case 1: return bound;
            default: {
                const unsigned bits = 1 + static_cast<unsigned>(rng_() % 64);
                const std::uint64_t v = bits == 64 ? rng_() : rng_() & ((std::uint64_t{1} << bits) - 1);
                return bound == UINT64_MAX ? v : v % (bound + 1);
            }
        }
    }

    void append_char(std::string& s, unsigned width) {
        auto pick = [this](std::uint32_t lo, std::uint32_t hi) {
            return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng_);
        };
        std::uint32_t cp;
        switch (width) {
            case 1: cp = pick(0x20, 0x7E); break;
            case 2: cp = pick(0x80, 0x7FF); break;
            case 3: do { cp = pick(0x800, 0xFFFF); } while (cp >= 0xD800 && cp <= 0xDFFF); break;
            default: cp = pick(0x10000, 0x10FFFF); break;
        }
        if (cp < 0x80) {
            s.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    std::mt19937_64 rng_;
};

}  // namespace parley::testing
