// Token buckets keyed by user id or client address.
//
// Each key has a bucket holding up to `burst` tokens, refilled at `rate` per
// second; a request takes one token or is refused with the time until one is
// available. Buckets that have been full for a while are forgotten, so memory
// tracks active keys only.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace parley::server {

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    rate_limiter(double rate_per_second, double burst) : rate_(rate_per_second), burst_(burst) {}

    /** Takes a token for `key`.
     *  @return nullopt if allowed, else how long until a token is available */
    std::optional<std::chrono::milliseconds> acquire(const std::string& key, clock::time_point now = clock::now());
    std::optional<std::chrono::milliseconds> acquire(std::uint64_t key, clock::time_point now = clock::now()) {
        return acquire(std::to_string(key), now);
    }

private:
    struct bucket {
        double tokens;
        clock::time_point updated;
    };
    void prune(clock::time_point now);

    const double rate_;
    const double burst_;
    std::mutex mutex_;
    std::unordered_map<std::string, bucket> buckets_;
    clock::time_point last_prune_{};
};

}  // namespace parley::server
