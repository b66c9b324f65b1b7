#include "protocol/checksum.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace parley::protocol {

std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::uint8_t> data) noexcept {
    // zlib takes a 32-bit length; feed larger ranges in pieces.
    uLong running = crc;
    while (!data.empty()) {
        const std::size_t n = std::min<std::size_t>(data.size(), std::numeric_limits<uInt>::max());
        running = ::crc32(running, data.data(), static_cast<uInt>(n));
        data = data.subspan(n);
    }
    return static_cast<std::uint32_t>(running);
}

}  // namespace parley::protocol
