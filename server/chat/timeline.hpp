// The recent part of one room's timeline, in memory: the room's cache.
//
// CONTENTS
// - The newest events, dense from first_cached() to last(): `cache_events`
//   of them, more while some are not on disk yet. An event leaves memory only
//   once it is stored, so memory and storage together always cover every seq
//   from 1 up, without gaps.
// - The current state of every message posted in that window, and of older
//   messages a change touched that is not stored yet ("pinned"), so a read
//   sees every change before the writer has committed it.
// - The (user, client id) of every event in the window: de-duplication of
//   resent changes that are still in memory (storage answers for older ones).
//
// Synchronous and clock-free: the room calls it on its strand, unit tests
// drive it directly.
#pragma once

#include "server/core/events.hpp"

#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace parley::server {

class timeline {
public:
    /// @param cache_events events kept once stored (config::room_cache_messages)
    /// @param max_pinned older messages kept for their changes, once those are stored
    timeline(std::size_t cache_events, std::size_t max_pinned) : cache_events_(cache_events), max_pinned_(max_pinned) {}

    /// Starts empty, the next event being `next_seq`; `recent` (dense,
    /// ascending, ending at next_seq - 1, all stored) fills the window.
    void load(std::uint64_t next_seq, event_page recent);
    /// The window is [first_cached(), last()]; empty when first_cached() > last().
    std::uint64_t first_cached() const noexcept { return first_; }
    std::uint64_t last() const noexcept { return first_ + events_.size() - 1; }
    bool covers(std::uint64_t seq) const noexcept { return seq >= first_ && seq <= last(); }

    /// Appends event last() + 1; `posted` is the message it posts, if it posts one.
    void append(timeline_event ev, std::optional<message_state> posted = std::nullopt);
    /// An event of the window, or nullptr.
    const timeline_event* event(std::uint64_t seq) const;
    /// A message in memory (window or pinned), or nullptr.
    message_state* message(std::uint64_t seq);
    /// Keeps an older message read from storage in memory, unless it is there already.
    message_state& pin(message_state s);
    /// The event the user's change with `client_id` produced, while in the window.
    std::optional<stored_ack> find(std::uint64_t user_id, std::uint64_t client_id) const;
    /// Up to `limit` messages of the window below `before`, ascending.
    std::vector<const message_state*> messages_before(std::uint64_t before, std::size_t limit) const;
    /// Messages pinned below the window (fresher than storage may be).
    const std::map<std::uint64_t, message_state>& messages() const noexcept { return messages_; }

    /// Events up to `persisted` are stored: the window may shrink to its size.
    void trim(std::uint64_t persisted);
    /// The event could not be stored and is void: it leaves the timeline
    /// (its message, its de-duplication entry) and the window's count.
    void void_event(std::uint64_t seq);

private:
    struct client_key {
        std::uint64_t user_id, client_id;
        bool operator==(const client_key&) const = default;
    };
    struct client_hash {
        std::size_t operator()(const client_key& k) const noexcept {
            return std::hash<std::uint64_t>{}(k.user_id * 0x9E3779B97F4A7C15ULL ^ k.client_id);
        }
    };
    void index(const timeline_event& ev);
    void unpin_stored();

    const std::size_t cache_events_;
    const std::size_t max_pinned_;
    std::uint64_t first_ = 1;
    std::uint64_t persisted_ = 0;
    std::deque<timeline_event> events_;               // [first_, last()], dense
    std::map<std::uint64_t, message_state> messages_; // the window's messages and pinned older ones
    std::deque<std::uint64_t> pinned_;                // older than the window, oldest pin first
    std::unordered_map<client_key, stored_ack, client_hash> by_client_;
};

}  // namespace parley::server
