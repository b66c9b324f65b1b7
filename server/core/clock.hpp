// Wall-clock time as the protocol carries it: milliseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace parley::server {

inline std::int64_t now_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The same as the unsigned count the protocol and the timeline carry.
inline std::uint64_t now_unix_ms() noexcept { return static_cast<std::uint64_t>(now_ms()); }

}  // namespace parley::server
