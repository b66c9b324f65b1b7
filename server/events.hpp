// What rooms hand to storage, and what they ask of it.
//
// Rooms never touch SQLite. They push storage_events into an event_sink (the
// batch writer) after broadcasting, and ask a message_store (read-only
// connections on their own threads) for what is no longer in memory. Both
// interfaces exist so rooms can be tested without a disk and storage without
// sockets.
#pragma once

#include "protocol/packets.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace parley::server {

namespace events {
struct room_created {
    std::uint32_t room_id = 0;
    std::string name;
    std::uint64_t created_by = 0;
    std::int64_t at = 0;
};
struct message_posted {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t author_id = 0;
    std::uint64_t client_msg_id = 0;
    std::string text;
    std::int64_t sent_at = 0;
    std::uint64_t reply_to = 0;
};
struct message_edited {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::string text;
    std::int64_t at = 0;
};
struct message_deleted {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::int64_t at = 0;
};
struct reaction_changed {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t user_id = 0;
    protocol::reaction_kind reaction = protocol::reaction_kind::like;
    bool added = false;
};
}  // namespace events

using storage_event = std::variant<events::room_created, events::message_posted, events::message_edited,
                                   events::message_deleted, events::reaction_changed>;

/// Where rooms send their changes for persistence (the batch writer).
class event_sink {
public:
    virtual ~event_sink() = default;
    /// Queues an event; never blocks on disk and never drops it.
    virtual void push(storage_event e) = 0;
    /// Events not yet committed.
    virtual std::size_t backlog() const = 0;
};

/// A message with everything needed to apply edits and toggles to it: the
/// record (its `reactions`/`my_reactions` are derived per viewer) and every
/// (reaction, user) pair on it.
struct message_state {
    protocol::message_record record;
    std::vector<std::pair<protocol::reaction_kind, std::uint64_t>> reactors;
};

struct stored_ack {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::int64_t sent_at = 0;
};

/// Read side of storage. Every call returns at once; its handler runs later
/// on a storage thread (callers post back to their own strand). On a read
/// error the handler receives an empty result and the error is logged.
class message_store {
public:
    virtual ~message_store() = default;
    using states_handler = std::function<void(std::vector<message_state>)>;

    /// Messages with seq in [from, to] of a room, ascending.
    virtual void read_range(std::uint32_t room_id, std::uint64_t from, std::uint64_t to, states_handler done) = 0;
    /// The message a resent (author, client_msg_id) produced, if stored.
    virtual void find_client_message(std::uint64_t author_id, std::uint64_t client_msg_id,
                                     std::function<void(std::optional<stored_ack>)> done) = 0;
};

}  // namespace parley::server
