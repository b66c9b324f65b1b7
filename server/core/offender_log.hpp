// The most recent addresses that sent malformed or refused packets, for the
// administrator's console: a small ring, newest first, one entry per
// address (a repeat moves it to the front and counts it).
#pragma once

#include "server/core/bounds.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace parley::server {

/// A bounded ring of recent protocol offenders (bounds::recent_offenders). Thread-safe.
class offender_log {
public:
    struct entry {
        std::string address;
        std::uint64_t count = 0;    ///< offences since it entered the ring
        std::int64_t last_ms = 0;   ///< Unix ms of the latest
    };

    /// Notes one offence of `address` at `now_ms`; the oldest address falls out when full.
    void note(const std::string& address, std::int64_t now_ms) {
        std::lock_guard lock(mutex_);
        std::uint64_t count = 1;
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->address == address) {
                count += it->count;
                entries_.erase(it);
                break;
            }
        if (entries_.size() >= bounds::recent_offenders) entries_.pop_back();
        entries_.insert(entries_.begin(), {address, count, now_ms});
    }

    /// Newest first.
    std::vector<entry> recent() const {
        std::lock_guard lock(mutex_);
        return entries_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<entry> entries_;  // newest first; at most bounds::recent_offenders
};

}  // namespace parley::server
