// What rooms hand to storage, and what they ask of it.
//
// THE TIMELINE
// Every change of a room is an event with a sequence number: a message
// posted, edited or deleted, a reaction put on or taken off, a change of
// who belongs to the room or of its settings (a room event). Numbers are
// dense per room (1, 2, 3, ...); a message is named by the seq of the event
// that posted it. An epoch names one unbroken run of a room's numbering: a
// room starts a new one whenever it cannot vouch for events a client may
// hold (at start-up, since a crash may have lost its unstored tail, or when
// an event could not be stored), and records the run's base: the last seq
// known to be the same in the old run and the new one.
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
#include <string_view>
#include <variant>
#include <vector>

namespace parley::server {

/// Milliseconds since the Unix epoch, as the protocol carries time.
using unix_ms = std::uint64_t;

/// Where a user stands with a room. `gone` users (left, kicked, declined)
/// are kept so that the room's events can still name them.
enum class member_status : std::uint8_t { member = 0, invited = 1, banned = 2, gone = 3 };

/// One user's standing in one room, as the room and storage keep it.
struct member_state {
    std::uint64_t user_id = 0;
    std::string username;
    member_status status = member_status::member;
    protocol::room_role role = protocol::room_role::member;
    bool muted = false;
    std::uint64_t invited_by = 0;  ///< invitations: who invited
    std::uint64_t seq = 0;         ///< the room event that made the row so (0: before any)
};

/// A room's settings: its address (what join_room takes), title, topic, kind.
struct room_settings {
    std::string address;
    std::string title;
    std::string topic;
    protocol::room_kind kind = protocol::room_kind::public_room;
};

/// The settings of a public room called `name` (tests and start-up).
inline room_settings public_room_named(std::string name) {
    return {name, name, {}, protocol::room_kind::public_room};
}

namespace events {
struct room_created {
    std::uint32_t room_id = 0;
    room_settings settings;
    std::string direct_key;  ///< direct rooms: their people's ids, ascending, comma-separated
    std::uint64_t created_by = 0;
    unix_ms at = 0;
};
/// A new epoch begins after `base_seq` (pushed before any event of it).
struct epoch_started {
    std::uint32_t room_id = 0;
    std::uint64_t epoch = 0;
    std::uint64_t base_seq = 0;
    unix_ms at = 0;
};
struct message_posted {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t author_id = 0;
    std::uint64_t client_msg_id = 0;
    std::string text;
    unix_ms sent_at = 0;
    std::uint64_t reply_to = 0;
};
struct message_edited {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t user_id = 0;
    std::uint64_t client_id = 0;
    std::uint64_t message_seq = 0;
    std::string text;
    unix_ms at = 0;
};
struct message_deleted {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t user_id = 0;
    std::uint64_t client_id = 0;
    std::uint64_t message_seq = 0;
    unix_ms at = 0;
};
struct reaction_set {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t user_id = 0;
    std::uint64_t client_id = 0;
    std::uint64_t message_seq = 0;
    protocol::reaction_kind reaction = protocol::reaction_kind::like;
    bool added = false;
    std::uint32_t count = 0;  ///< the message's total of this reaction after the change
    unix_ms at = 0;
};
/// A room event: `action` by actor_id on target_id. `members` are the rows
/// it changed, as they are after it; `settings` the room's settings after
/// it, when it changed them (title, topic, kind, address).
struct room_changed {
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t actor_id = 0;
    std::uint64_t client_id = 0;
    protocol::room_action action = protocol::room_action::joined;
    std::uint64_t target_id = 0;
    protocol::room_role role = protocol::room_role::member;
    protocol::room_kind kind = protocol::room_kind::public_room;
    std::string text;
    unix_ms at = 0;
    std::vector<member_state> members;
    std::optional<room_settings> settings;
};
}  // namespace events

using storage_event = std::variant<events::room_created, events::epoch_started, events::message_posted,
                                   events::message_edited, events::message_deleted, events::reaction_set,
                                   events::room_changed>;

/// The room and seq of a sequenced event (a message or a change); nullopt for
/// room_created and epoch_started, which carry no seq.
inline std::optional<std::pair<std::uint32_t, std::uint64_t>> sequence_of(const storage_event& e) noexcept {
    return std::visit(
        [](const auto& ev) -> std::optional<std::pair<std::uint32_t, std::uint64_t>> {
            if constexpr (requires { ev.seq; }) return std::pair{ev.room_id, ev.seq};
            else return std::nullopt;
        },
        e);
}

/// A room as storage knows it.
struct stored_room {
    std::uint32_t id = 0;
    room_settings settings;
    std::string direct_key;
    std::uint64_t last_seq = 0;    ///< of any event (message or change)
    std::uint64_t created_by = 0;  ///< 0: nobody (created by the server)
    std::vector<member_state> people;  ///< everyone the room has a row for
};

/// How a room is looked up in the catalog: by its address, its id or (direct
/// conversations) the key of its people.
struct room_key {
    enum class by : std::uint8_t { address, id, direct } what = by::address;
    std::string text;  ///< address or direct key
    std::uint32_t id = 0;
};

/// What one catalog lookup found: the room's row and the asking user's row in
/// it; with `complete`, everything needed to load the room (its people and
/// last seq).
struct catalog_hit {
    stored_room room;
    std::optional<member_state> row;
    bool complete = false;
};

/// A public room in the directory.
struct directory_entry {
    std::uint32_t id = 0;
    std::string name;
    std::string title;
    std::uint64_t last_seq = 0;
    std::size_t members = 0;  ///< members (not connections)
    std::size_t online = 0;   ///< connections now (0 for rooms not in memory)
};

/// The stored rooms, read on demand: rooms live on disk and are loaded on
/// first use. Blocking (point reads on indexes); call off the I/O threads.
/// Any call may throw on a storage failure.
class room_catalog {
public:
    virtual ~room_catalog() = default;
    /// The room at `key` (not deleted) with `user_id`'s row in it; complete
    /// when `load(room, row)` says so. The same reads happen whether or not
    /// the room exists, so a miss and a refusal take the same time.
    virtual std::optional<catalog_hit> find(const room_key& key, std::uint64_t user_id,
                                            const std::function<bool(const stored_room&, const member_state*)>& load) = 0;
    /// The rooms `user_id` is a member of or invited to, as their list shows them.
    virtual std::vector<protocol::room_entry> rooms_of(std::uint64_t user_id) = 0;
    /// Public rooms named after `after`, by name, at most `limit`.
    virtual std::vector<directory_entry> public_rooms(std::string_view after, std::size_t limit) = 0;
    /// The highest room id ever given (ids are not reused).
    virtual std::uint32_t max_room_id() = 0;
};

/// Where rooms send their changes for persistence (the batch writer).
class event_sink {
public:
    virtual ~event_sink() = default;
    /// Queues an event; never blocks on disk and never drops it.
    virtual void push(storage_event e) = 0;
    /// Events not yet committed.
    virtual std::size_t backlog() const = 0;
};

/// A message with everything needed to apply changes to it: the record
/// (its `reactions`/`my_reactions` are derived per viewer), every (reaction,
/// user) pair on it, and the seq of the newest event that changed it.
struct message_state {
    protocol::message_record record;
    std::vector<std::pair<protocol::reaction_kind, std::uint64_t>> reactors;
    std::uint64_t changed_seq = 0;  ///< 0: unchanged since it was posted
};

/// One event of a room's timeline. A posted message's content lives in its
/// message_state; the event itself only says who posted it, when.
struct timeline_event {
    enum class type : std::uint8_t { posted, edited, deleted, reacted, voided, room };
    std::uint64_t seq = 0;
    type what = type::posted;
    std::uint64_t user_id = 0;
    std::uint64_t client_id = 0;  ///< the client's id of the change (client_msg_id for messages)
    unix_ms at = 0;
    std::uint64_t message_seq = 0;  ///< edited, deleted, reacted: the message changed
    std::string text;               ///< edited: the new text; room: the title or topic set
    protocol::reaction_kind reaction = protocol::reaction_kind::like;
    bool added = false;
    std::uint32_t count = 0;
    // room events: user_id acted on target_id
    protocol::room_action action = protocol::room_action::joined;
    std::uint64_t target_id = 0;
    protocol::room_role role = protocol::room_role::member;
    protocol::room_kind room_kind = protocol::room_kind::public_room;
};

/// Events of a range as storage holds them, with the current state of every
/// message the range posted.
struct event_page {
    std::vector<timeline_event> events;
    std::vector<message_state> messages;  ///< ascending by seq
};

struct stored_ack {
    std::uint64_t seq = 0;
    unix_ms at = 0;
};

/// One epoch of a room, as recorded.
struct epoch_record {
    std::uint64_t epoch = 0;
    std::uint64_t base_seq = 0;
};

/// What a room needs to become usable after start-up: its epochs, oldest
/// first, and its newest events.
struct room_snapshot {
    std::vector<epoch_record> epochs;
    event_page recent;
};

/// The outcome of a read: `ok` false when storage failed (the failure is
/// logged; the caller says "not available, retry", never "empty").
template <class T>
struct read_result {
    bool ok = false;
    T value{};
};

/// Read side of storage. Every call returns at once; its handler runs later
/// on a storage thread (callers post back to their own strand).
class message_store {
public:
    virtual ~message_store() = default;
    template <class T>
    using handler = std::function<void(read_result<T>)>;

    /// Events with seq in [from, to], ascending, and the messages they posted.
    virtual void read_events(std::uint32_t room_id, std::uint64_t from, std::uint64_t to, handler<event_page> done) = 0;
    /// Up to `limit` messages with seq below `before`, ascending (the newest ones).
    virtual void read_messages_before(std::uint32_t room_id, std::uint64_t before, std::size_t limit,
                                      handler<std::vector<message_state>> done) = 0;
    /// The event a (user, client id) produced in the room, if stored.
    virtual void find_client_op(std::uint32_t room_id, std::uint64_t user_id, std::uint64_t client_id,
                                handler<std::optional<stored_ack>> done) = 0;
    /// The room's epochs and its events from `from` up.
    virtual void read_snapshot(std::uint32_t room_id, std::uint64_t from, handler<room_snapshot> done) = 0;
};

}  // namespace parley::server
