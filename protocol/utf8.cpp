#include "protocol/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace parley::protocol {
namespace {

constexpr bool is_continuation(unsigned char c) noexcept { return (c & 0xC0) == 0x80; }

// Length of the multi-byte sequence at p (lead byte >= 0x80), or 0 if it is
// malformed. The ranges follow Table 3-7 of the Unicode standard.
std::size_t sequence_length(const unsigned char* p, std::size_t left) noexcept {
    const unsigned char lead = p[0];
    if (lead >= 0xC2 && lead <= 0xDF)
        return left >= 2 && is_continuation(p[1]) ? 2 : 0;
    if (lead >= 0xE0 && lead <= 0xEF) {
        if (left < 3 || !is_continuation(p[1]) || !is_continuation(p[2])) return 0;
        if (lead == 0xE0 && p[1] < 0xA0) return 0;  // overlong
        if (lead == 0xED && p[1] > 0x9F) return 0;  // surrogate halves
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        if (left < 4 || !is_continuation(p[1]) || !is_continuation(p[2]) || !is_continuation(p[3]))
            return 0;
        if (lead == 0xF0 && p[1] < 0x90) return 0;  // overlong
        if (lead == 0xF4 && p[1] > 0x8F) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;  // stray continuation byte, C0/C1, or F5-FF
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t left = text.size();
    while (left > 0) {
        if (left >= 8) {
            std::uint64_t chunk;
            std::memcpy(&chunk, p, 8);
            if ((chunk & 0x8080808080808080ULL) == 0) {
                p += 8;
                left -= 8;
                continue;
            }
        }
        if (*p < 0x80) {
            ++p;
            --left;
            continue;
        }
        const std::size_t n = sequence_length(p, left);
        if (n == 0) return false;
        p += n;
        left -= n;
    }
    return true;
}

}  // namespace parley::protocol
