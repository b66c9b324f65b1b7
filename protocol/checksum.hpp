// CRC32 (the zlib/IEEE 802.3 polynomial) over one or more byte ranges.
#pragma once

#include <cstdint>
#include <span>

namespace parley::protocol {

/** CRC32 of `data`, continuing from `crc` (0 to start).
 *  @return the running checksum, to pass back in for the next range. */
std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::uint8_t> data) noexcept;

inline std::uint32_t crc32_of(std::span<const std::uint8_t> data) noexcept {
    return crc32_update(0, data);
}

}  // namespace parley::protocol
