#include "server/core/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace parley::server {

std::optional<std::chrono::milliseconds> rate_limiter::acquire(const std::string& key, clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (now - last_prune_ > std::chrono::seconds(60)) prune(now);
    auto [it, fresh] = buckets_.try_emplace(key, bucket{burst_, now});
    bucket& b = it->second;
    if (!fresh) {
        const double elapsed = std::chrono::duration<double>(now - b.updated).count();
        b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
        b.updated = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return std::nullopt;
    }
    const double wait_s = (1.0 - b.tokens) / rate_;
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000)));
}

void rate_limiter::prune(clock::time_point now) {
    last_prune_ = now;
    const double refill_s = burst_ / rate_;
    std::erase_if(buckets_, [&](const auto& entry) {
        return std::chrono::duration<double>(now - entry.second.updated).count() > refill_s;
    });
}

double retry_discipline::violations(clock::time_point now) {
    const double forgiven = std::chrono::duration<double>(now - updated_) / std::chrono::duration<double>(forgive_every_);
    violations_ = std::max(0.0, violations_ - std::max(0.0, forgiven));
    updated_ = std::max(updated_, now);
    return violations_;
}

bool retry_discipline::refused(limit which, clock::time_point now, std::chrono::milliseconds wait) {
    auto& retry_at = retry_at_[static_cast<std::size_t>(which)];
    const bool ignored_a_wait = now < retry_at;
    retry_at = std::max(retry_at, now + wait);
    violations(now);
    if (ignored_a_wait) violations_ += 1;
    return violations_ > static_cast<double>(max_);
}

}  // namespace parley::server
