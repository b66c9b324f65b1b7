// Wall-clock time as the protocol carries it: milliseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace parley::server {

inline std::int64_t now_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace parley::server
