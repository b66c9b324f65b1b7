// One user's share of the server's rate limits, as welcome announced them,
// shared by every connection of that user (the server counts per user).
//
// Each announced limit becomes a token bucket that refills a little slower
// and holds a little less than the server's (90 % of the rate, burst - 2).
// Starting full, refilling slower and being drawn at send time (the server
// draws later, on receipt), this bucket never holds more than the server's
// does, so a request it allows is never refused for rate.
#pragma once

#include "protocol/packets.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <vector>

namespace parley::soak {

class rate_budget {
public:
    using clock = std::chrono::steady_clock;

    /// Takes the limits of the first welcome; later calls change nothing.
    void configure(const std::vector<protocol::rate_limit>& limits) {
        std::lock_guard lock(mutex_);
        if (!buckets_.empty()) return;
        for (const auto& l : limits) {
            const double burst = std::max(1.0, static_cast<double>(l.burst) - 2);
            buckets_.push_back({burst, 0.9 * l.per_minute / 60.0, burst, clock::now()});
            for (auto k : l.kinds) by_kind_[k] = buckets_.size() - 1;
        }
    }

    /** Takes one token for a request of `kind`.
     *  @return 0 when taken, else the wait until one is there (nothing taken). */
    std::chrono::milliseconds take(protocol::packet_kind kind) {
        std::lock_guard lock(mutex_);
        auto it = by_kind_.find(static_cast<std::uint8_t>(kind));
        if (it == by_kind_.end()) return std::chrono::milliseconds(0);
        bucket& b = buckets_[it->second];
        const auto now = clock::now();
        b.tokens = std::min(b.burst, b.tokens + b.per_second * std::chrono::duration<double>(now - b.at).count());
        b.at = now;
        if (b.tokens >= 1) {
            b.tokens -= 1;
            return std::chrono::milliseconds(0);
        }
        if (b.per_second <= 0) return std::chrono::milliseconds(1000);
        return std::chrono::milliseconds(static_cast<long>((1 - b.tokens) / b.per_second * 1000) + 1);
    }

private:
    struct bucket {
        double tokens, per_second, burst;
        clock::time_point at;
    };
    std::mutex mutex_;
    std::vector<bucket> buckets_;
    std::map<std::uint8_t, std::size_t> by_kind_;
};

}  // namespace parley::soak
