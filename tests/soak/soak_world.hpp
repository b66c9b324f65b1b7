// What the soak's clients share: the counters of what they did, and the
// log of violations (anything a correct server would not have done).
#pragma once

#include <atomic>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

namespace parley::soak {

struct soak_stats {
    std::atomic<std::uint64_t> sends{0}, edits{0}, deletes{0}, reactions{0}, joins{0}, leaves{0};
    std::atomic<std::uint64_t> reconnects{0}, kills{0}, resends{0}, acks{0}, noop_acks{0}, events{0};
    std::atomic<std::uint64_t> resets{0}, latest_pages{0}, races{0}, busy{0};
};

/// Thread-safe; prints the first violations as they happen, so a long run
/// that goes wrong says so early.
class violation_log {
public:
    void add(std::string what) {
        std::lock_guard lock(mutex_);
        if (all_.size() < max_printed) std::cerr << "VIOLATION: " << what << std::endl;
        all_.push_back(std::move(what));
    }
    std::vector<std::string> all() {
        std::lock_guard lock(mutex_);
        return all_;
    }
    std::size_t count() {
        std::lock_guard lock(mutex_);
        return all_.size();
    }

private:
    static constexpr std::size_t max_printed = 50;
    std::mutex mutex_;
    std::vector<std::string> all_;
};

}  // namespace parley::soak
