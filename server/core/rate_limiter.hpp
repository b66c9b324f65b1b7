// Token buckets keyed by user id or client address.
//
// Each key has a bucket holding up to `burst` tokens, refilled at `rate` per
// second; a request takes one token or is refused with the time until one is
// available. Buckets that have been full for a while are forgotten, so memory
// tracks active keys only.
#pragma once

#include <array>
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

/// Judges whether one connection honours the waits its refusals announced.
///
/// A refusal is only a violation when the client was already told to wait
/// for that limit and asks again before the wait is over; a client that
/// follows `retry_after_ms` exactly never commits one, however many
/// refusals it meets (another tab of the same user may have taken the token).
/// Violations are forgiven one per `forgive_every`, so only a sustained
/// disregard reaches the limit. Clock-free: callers pass the time.
class retry_discipline {
public:
    using clock = std::chrono::steady_clock;
    /// The limits a connection can meet (one slot each).
    enum class limit : std::uint8_t { messages, reactions, history, rooms, count_ };

    retry_discipline(std::size_t max_violations, std::chrono::milliseconds forgive_every)
        : max_(max_violations), forgive_every_(forgive_every) {}

    /** A request was refused at `now` and told to wait `wait`.
     *  @return true when the client has now ignored too many waits (close it) */
    bool refused(limit which, clock::time_point now, std::chrono::milliseconds wait);
    double violations(clock::time_point now);

private:
    const std::size_t max_;
    const std::chrono::milliseconds forgive_every_;
    std::array<clock::time_point, static_cast<std::size_t>(limit::count_)> retry_at_{};
    double violations_ = 0;
    clock::time_point updated_{};
};

}  // namespace parley::server
