// The sequencer of cluster mode: the Redis Functions library parley.lua,
// which gives every room event its seq, and the typed client that calls it.
// In a cluster the nodes serving a room agree on its seqs through Redis:
// each publish is one FCALL that takes the next seq, appends the event to
// the room's log and to its partition's outbox (for the persister, which
// writes PostgreSQL), and publishes it to the room's channel.
//
// KEYS (key_space builds every name; nothing else writes one by hand)
// A room's partition is p = room_id % partitions. `{p}` is a literal Redis
// hash tag holding the number, so every key of a call shares one slot:
//   parley:{p}:room:<id>          HASH meta: epoch (decimal), gen (epochs the
//                                 room had; the higher wins), seq (the top seq
//                                 issued), persisted (the highest persisted seq
//                                 reported). Also the room's pub/sub channel.
//   parley:{p}:room:<id>:log      STREAM, ids <seq>-0, fields e (epoch) b (body);
//                                 trimmed with MAXLEN ~ log_maxlen
//   parley:{p}:room:<id>:dd:<user_id>:<client_id>
//                                 STRING "<seq> <epoch>", EX dedup_ttl
//   parley:{p}:persist            STREAM outbox, auto ids, fields r (room) s (seq)
//                                 e (epoch) b (body); never trimmed: an entry is
//                                 deleted once persisted (ack_outbox); consumer
//                                 group "persist"
//   parley:{p}:lease              STRING node id, PX: who persists partition p
//   parley:node:<node_id>         STRING, PX: the node's heartbeat
//   parley:room_ids               STRING: the highest room id handed out
//
// CHANNEL PAYLOADS (one tag byte, a text header, then the binary body)
//   M<seq> <epoch>\n<body>   a sequenced room event
//   W<seq> <epoch>           the persisted watermark moved to seq
//   R<base> <epoch>          a new epoch started at base (the room was reseeded)
//   T<node_id>\n<body>       ephemeral (typing, presence), not sequenced
// Numbers are canonical decimals (no sign, no leading zero) of at most
// 2^63-1; a seq and an epoch are never 0 (a base may be). The header, up to
// the newline or the end, is at most max_channel_header_bytes.
//
// FUNCTIONS (parley.lua has each one's arguments and replies)
//   parley_publish    dedup check, epoch check, next seq, log, outbox, dedup key, PUBLISH M
//   parley_seed       start an epoch at base unless the room has one of an equal or higher gen
//   parley_read       (no-writes, FCALL_RO) meta and the log after a seq
//   parley_persisted  move the persisted watermark forward, PUBLISH W
//   parley_lease, parley_release   a partition's persister lease
//   parley_ack        XACK and XDEL of outbox entries, together
//   parley_take, parley_claim   the persister's reads of outboxes, fenced by the lease
//   parley_ids        room ids for rooms created on any node
//
// GUARANTEES
// - One FCALL is atomic: Redis runs it to its end before any other command,
//   so concurrent publishes through any number of connections and nodes get
//   distinct seqs, dense per room (top+1, top+2, ...) within an epoch, and
//   each appears in the log, the outbox and on the channel in seq order.
// - Every refusal is free of side effects: DUP (the dedup key exists; its
//   seq and epoch are the original's), NOSEED, EPOCH (an expected epoch that
//   is not the room's), KEPT (a seed with a gen not above the room's), and
//   a function's own argument errors. Functions read and validate before
//   their first write.
// - NOSEED never creates the room: PostgreSQL already holds its earlier
//   seqs, so only the node that read them may seed (with a base at or above
//   them, and a gen above the last).
// - A reseed deletes the log, so the log only ever holds the current epoch;
//   read_result::covers() tells "the log no longer holds after+1" (trimmed
//   or reseeded: go to PostgreSQL) from "nothing after".
// - The persisted watermark moves only forward, only in the current epoch,
//   and never above the top seq.
// - Dedup lasts dedup_ttl: a retry after that is a new event. Dedup keys of
//   an earlier epoch are not deleted by a reseed (they are not known to it):
//   a retry then answers DUP with the old epoch, for the caller to judge.
// - Functions live in Redis's data: they survive a restart with persistence
//   (AOF or RDB), not one without. FCALL of a missing function fails with
//   sequencer_errc::function_missing; load() (which callers run in
//   redis_client's on_connected) fixes it, and the call can be retried.
//
// ERRORS
// Nothing here throws on bad input or a bad reply: every completion gets an
// outcome<T> holding the value or a sequencer_error. A request that failed
// in transit (unavailable, with timeout or disconnected) may still have run
// in Redis, as redis_client.hpp says: a publish is safe to retry with its
// client_id, which is what the dedup key is for.
//
// THREADING
// The sequencer holds no state of its own besides its options: it may be
// used from any thread, and every completion runs once on the redis_client's
// strand, never inside the call that made it (a refused call too: it is
// refused through the client, which posts).
#pragma once

#include "server/cluster/redis_client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace parley::server::cluster {

// ---- bounds --------------------------------------------------------------------------------------

/// Partitions: Redis Cluster has 16384 hash slots, and more partitions than
/// slots would only share them.
inline constexpr unsigned max_partitions = 16384;
/// A node id: a host name and a port, or a UUID, fit; it is a key suffix
/// and a channel header, so it is short and printable (letters, digits, - _ . :).
inline constexpr std::size_t max_node_id_bytes = 48;
/// A channel payload's header (tag, numbers or node id, up to the newline or
/// the end): "M" + 19 digits + " " + 19 digits is 40, a T header 1 + 48.
inline constexpr std::size_t max_channel_header_bytes = 64;
/// The largest seq, epoch, gen or base: Redis integers are signed 64-bit.
inline constexpr std::uint64_t max_number = std::numeric_limits<std::int64_t>::max();
/// Log entries one read returns: one FCALL_RO holds Redis (single-threaded)
/// for every node while it runs, and a page of a thousand takes about a
/// millisecond; a longer repair reads again after the last seq.
inline constexpr std::size_t max_read_entries = 1000;
/// Outbox entries one read, claim or ack handles: the persister's batch, for
/// the same reason (and parley_ack passes the ids through Lua's stack).
inline constexpr std::size_t max_outbox_batch = 1000;

/// Partitions one take_outbox reads: all of them, since one node may hold
/// every lease (a small cluster, or the last node standing).
inline constexpr std::size_t max_read_partitions = max_partitions;

/// The name of the library in parley.lua (`#!lua name=parley`).
inline constexpr std::string_view library_name = "parley";
/// The consumer group the persister reads the outbox with.
inline constexpr std::string_view outbox_group = "persist";

/// The text of parley.lua, embedded at build time (cmake/EmbedText.cmake).
std::string_view function_library_source();

// ---- options and key names -----------------------------------------------------------------------

/// Each bound says why it is what it is. Every node of a cluster must use
/// the same values (partitions above all: it names the keys).
struct sequencer_options {
    /// Rooms are spread over this many partitions, each with its own outbox
    /// and lease: 64 lets up to 64 nodes persist in parallel and keeps the
    /// outboxes few enough to watch; changing it renames every key.
    unsigned partitions = 64;
    /// Events a room's log keeps (MAXLEN ~, so a little more): a node that
    /// missed a few seconds of pub/sub repairs from the log; a longer gap
    /// reads PostgreSQL. 2000 events of ~200 bytes are 400 KB per busy room.
    std::size_t log_maxlen = 2000;
    /// How long a (user, client_id) stays deduplicated: a client retries
    /// within seconds of a reconnect; an hour covers a laptop's sleep.
    std::chrono::seconds dedup_ttl{3600};
};

/// The keys of one room (sequencer.hpp, KEYS).
struct room_keys {
    std::uint32_t room = 0;
    unsigned partition = 0;
    std::string meta;     ///< also the room's channel
    std::string log;
    std::string outbox;   ///< the partition's
    const std::string& channel() const noexcept { return meta; }
    /// The dedup key of one client message.
    std::string dedup(std::uint64_t user_id, std::uint64_t client_id) const;
};

/** Every Redis key and channel name of cluster mode, for one partition count. */
class key_space {
public:
    /** @throws std::invalid_argument unless 1 <= partitions <= max_partitions */
    explicit key_space(unsigned partitions);

    unsigned partitions() const noexcept { return partitions_; }
    unsigned partition_of(std::uint32_t room) const noexcept { return room % partitions_; }
    room_keys keys_of(std::uint32_t room) const;
    /// parley:{p}:persist, parley:{p}:lease (p < partitions(); not checked here).
    std::string outbox(unsigned partition) const;
    std::string lease(unsigned partition) const;
    /// parley:node:<node_id>
    static std::string node(std::string_view node_id);
    /// parley:room_ids
    static std::string room_ids() { return "parley:room_ids"; }
    /** The room a channel belongs to: its exact name, with the partition
     *  tag that room has under this partition count; otherwise nullopt. */
    std::optional<std::uint32_t> room_of_channel(std::string_view channel) const;

private:
    unsigned partitions_;
};

/// A node id that fits key names and channel headers (max_node_id_bytes).
bool valid_node_id(std::string_view node_id) noexcept;

// ---- channel payloads ----------------------------------------------------------------------------

namespace channel {
struct event {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
    std::string body;
    friend bool operator==(const event&, const event&) = default;
};
struct watermark {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
    friend bool operator==(const watermark&, const watermark&) = default;
};
struct reset {
    std::uint64_t base = 0;
    std::uint64_t epoch = 0;
    friend bool operator==(const reset&, const reset&) = default;
};
struct ephemeral {
    std::string node;
    std::string body;
    friend bool operator==(const ephemeral&, const ephemeral&) = default;
};
struct malformed {
    std::string why;
    friend bool operator==(const malformed&, const malformed&) = default;
};
}  // namespace channel

using channel_message =
    std::variant<channel::event, channel::watermark, channel::reset, channel::ephemeral, channel::malformed>;

/** Decodes one payload of a room channel (file comment, CHANNEL PAYLOADS).
 *  Never throws on input: anything else is malformed, with the reason. The
 *  body is copied; nothing outside `payload` is read. */
channel_message parse_channel_message(std::string_view payload);

/// The encoders (parley.lua writes M, W and R itself; these are their
/// inverses for tests, and T's only writer). Preconditions as in the file comment.
std::string encode_event(std::uint64_t seq, std::uint64_t epoch, std::string_view body);
std::string encode_watermark(std::uint64_t seq, std::uint64_t epoch);
std::string encode_reset(std::uint64_t base, std::uint64_t epoch);
std::string encode_ephemeral(std::string_view node_id, std::string_view body);

// ---- results -------------------------------------------------------------------------------------

enum class sequencer_errc : std::uint8_t {
    unavailable = 1,   ///< no reply: disconnected, timeout, overloaded or stopped (sequencer_error::transport)
    function_missing,  ///< Redis does not have the library (restarted without persistence): load() and retry
    redis_error,       ///< another error reply (message() has Redis' text)
    bad_reply,         ///< a reply of an unexpected shape: not parley.lua's, or not this version's
    invalid_argument,  ///< refused before sending (a zero count, a bad node id, a number above max_number)
};

std::string_view to_string(sequencer_errc e) noexcept;

struct sequencer_error {
    sequencer_errc code{};
    redis_errc transport{};  ///< set for unavailable, function_missing and redis_error
    std::string message;
    friend std::ostream& operator<<(std::ostream& out, const sequencer_error& e);
};

/// A call's outcome: its value, or why there is none (as redis_result).
template <class T>
class outcome {
public:
    outcome(T v) : state_(std::in_place_index<0>, std::move(v)) {}
    outcome(sequencer_error e) : state_(std::in_place_index<1>, std::move(e)) {}

    bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    /// @throws resp::bad_access unless ok()
    const T& value() const& {
        if (!ok()) throw_bad("value() of a failed call");
        return std::get<0>(state_);
    }
    T& value() & { return const_cast<T&>(std::as_const(*this).value()); }
    T&& value() && { return std::move(value()); }
    /// @throws resp::bad_access if ok()
    const sequencer_error& error() const {
        if (ok()) throw_bad("error() of a call that succeeded");
        return std::get<1>(state_);
    }

    friend std::ostream& operator<<(std::ostream& out, const outcome& o) {
        if (o.ok()) return out << "ok";
        return out << o.error();
    }

private:
    [[noreturn]] static void throw_bad(const char* what) { throw resp::bad_access(std::string("outcome: ") + what); }
    std::variant<T, sequencer_error> state_;
};

/// A value for calls that only succeed or fail.
struct acknowledged {};

enum class publish_status : std::uint8_t {
    ok,           ///< sequenced: seq and epoch are the event's
    duplicate,    ///< the (user, client_id) was published before: the original seq and epoch; nothing changed
    no_seed,      ///< the room has no epoch in Redis: seed it first; nothing changed
    stale_epoch,  ///< the room's epoch is not the expected one: its top seq and epoch; nothing changed
    stale_top,    ///< the room's top seq is not the expected one: its top seq and epoch; nothing changed
};

/// What a publish requires of the room, checked atomically before anything
/// is written; a part left unset is not checked.
struct publish_fence {
    std::optional<std::uint64_t> epoch;  ///< the room's epoch, else stale_epoch
    /// The room's top seq, else stale_top: the event is then exactly top+1,
    /// so a node that decided it on a replica at that top knows that nothing
    /// came between (the dedup check comes first: a resend is still answered).
    std::optional<std::uint64_t> top;
};

std::string_view to_string(publish_status s) noexcept;

struct publish_result {
    publish_status status = publish_status::no_seed;
    std::uint64_t seq = 0;    ///< 0 for no_seed
    std::uint64_t epoch = 0;  ///< 0 for no_seed
};

struct seed_result {
    bool seeded = false;     ///< true: the new epoch starts at base; false: kept the room's own
    std::uint64_t seq = 0;   ///< base, or the kept epoch's top seq
    std::uint64_t epoch = 0;
    std::uint64_t gen = 0;
};

struct log_entry {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
    std::string body;
    friend bool operator==(const log_entry&, const log_entry&) = default;
};

/// A room's meta (tops(), and the head of read_result).
struct room_state {
    std::uint64_t epoch = 0;
    std::uint64_t gen = 0;
    std::uint64_t top = 0;        ///< the top seq issued
    std::uint64_t persisted = 0;  ///< the highest seq reported persisted
    friend bool operator==(const room_state&, const room_state&) = default;
};

struct read_result {
    bool seeded = false;  ///< false: NOSEED, and every other field is 0 or empty
    room_state state;
    std::uint64_t first_in_log = 0;  ///< the oldest seq the log holds; 0: the log is empty
    std::vector<log_entry> entries;  ///< seqs after after_seq, ascending, at most count

    /** True when the log holds every seq in (after_seq, top]: these entries
     *  and further reads from their last seq give them all. False when
     *  after_seq+1 is no longer in the log (trimmed, or the room was
     *  reseeded above it): read PostgreSQL instead. */
    bool covers(std::uint64_t after_seq) const noexcept {
        return after_seq >= state.top || (first_in_log != 0 && first_in_log <= after_seq + 1);
    }
};

struct outbox_entry {
    std::string id;  ///< the stream id, for ack_outbox
    unsigned partition = 0;  ///< whose outbox holds it
    std::uint32_t room = 0;
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
    std::string body;
    friend bool operator==(const outbox_entry&, const outbox_entry&) = default;
};

/// An outbox entry whose fields are not r, s, e, b with valid numbers: the
/// persister acks it (after logging it) rather than retrying it forever.
struct malformed_entry {
    std::string id;
    unsigned partition = 0;
    std::string why;
};

struct outbox_batch {
    std::vector<outbox_entry> entries;
    std::vector<malformed_entry> malformed;
    /// claim_outbox only: where the next claim starts; "0-0" once the scan
    /// of the pending list is complete.
    std::string next_cursor = "0-0";
    /// Partitions whose lease the node does not hold: nothing was read from them.
    std::vector<unsigned> lost;
    /// Partitions without the consumer group: ensure_group, then read again.
    std::vector<unsigned> missing_group;
};

// ---- the sequencer -------------------------------------------------------------------------------

/** Calls parley.lua and the plain commands around it (file comment). */
class sequencer {
public:
    template <class T>
    using completion = std::function<void(outcome<T>)>;

    /** @param client not owned; must outlive every call's completion
     *  @throws std::invalid_argument for a bound outside its range (partitions,
     *          log_maxlen 0, dedup_ttl below a second) */
    sequencer(redis_client& client, sequencer_options options = {});

    const sequencer_options& options() const noexcept { return options_; }
    const key_space& keys() const noexcept { return keys_; }

    /// FUNCTION LOAD REPLACE of the library (idempotent): run it in on_connected.
    void load(completion<acknowledged> done);

    /** Sequences one event of `room`, if the room is as `fence` expects.
     *  @param client_id 0: never deduplicated; else (user_id, client_id) is, for dedup_ttl */
    void publish(std::uint32_t room, publish_fence fence, std::uint64_t user_id, std::uint64_t client_id,
                 std::string body, completion<publish_result> done);

    /** Starts epoch `epoch` (1..max_number) at `base` unless the room has an
     *  epoch of gen >= `gen`. */
    void seed(std::uint32_t room, std::uint64_t epoch, std::uint64_t gen, std::uint64_t base,
              completion<seed_result> done);

    /** The room's meta and up to `count` (1..max_read_entries) log entries after `after_seq`. */
    void read(std::uint32_t room, std::uint64_t after_seq, std::size_t count, completion<read_result> done);

    /** Every room's meta, pipelined (one HMGET each; each counts against
     *  redis_options::max_pending). One result per room, in order; nullopt:
     *  not seeded. Fails as a whole with the first failure. */
    void tops(std::vector<std::uint32_t> rooms, completion<std::vector<std::optional<room_state>>> done);

    /** Reports seqs up to `seq` of `epoch` persisted. @return (via done) true if the watermark moved */
    void mark_persisted(std::uint32_t room, std::uint64_t epoch, std::uint64_t seq, completion<bool> done);

    /** PUBLISHes a T payload on the room's channel. @return (via done, may be empty) the receivers */
    void publish_ephemeral(std::uint32_t room, std::string_view node_id, std::string_view body,
                           completion<std::uint64_t> done = {});

    /** Takes or renews partition `partition`'s lease for `ttl` (at least 1 ms).
     *  @return (via done) true if `node_id` holds it now */
    void acquire_lease(unsigned partition, std::string_view node_id, std::chrono::milliseconds ttl,
                       completion<bool> done);
    /** Gives the lease up. @return (via done) true if `node_id` held it */
    void release_lease(unsigned partition, std::string_view node_id, completion<bool> done);

    /** Reserves `count` (1..65536) room ids no node got before, none below
     *  `floor` (the store's highest id + 1: a Redis that lost the counter
     *  never hands out a stored room's id). @return (via done) the first */
    void reserve_room_ids(std::uint32_t count, std::uint32_t floor, completion<std::uint32_t> done);

    /// Marks the node alive for `ttl` (at least 1 ms).
    void heartbeat(std::string_view node_id, std::chrono::milliseconds ttl, completion<acknowledged> done);
    /// Whether the node's heartbeat has not expired.
    void node_alive(std::string_view node_id, completion<bool> done);

    // ---- the outbox (the persister's). Reads are fenced by the partition's
    // lease (parley.lua): the consumer is the node, and a node that does not
    // hold the lease gets nothing (the partition is in outbox_batch::lost).

    /// Creates the consumer group (and the stream); an existing group is success.
    void ensure_group(unsigned partition, completion<acknowledged> done);
    /** New entries (XREADGROUP >) of every partition in `partitions`
     *  (1..max_read_partitions distinct) whose lease `node_id` holds, up to
     *  `count` (1..max_outbox_batch) from each, in one FCALL. Never blocks:
     *  the persister polls. */
    void take_outbox(std::vector<unsigned> partitions, std::string_view node_id, std::size_t count,
                     completion<outbox_batch> done);
    /** Takes over up to `count` entries of `partition` pending for at least
     *  `min_idle` with any consumer (XAUTOCLAIM), scanning from `cursor`, if
     *  `node_id` holds the lease; continue from the batch's next_cursor
     *  until it is "0-0". */
    void claim_outbox(unsigned partition, std::string_view node_id, std::chrono::milliseconds min_idle,
                      std::size_t count, completion<outbox_batch> done, std::string cursor = "0-0");
    /** Acknowledges and deletes entries (1..max_outbox_batch ids) in one FCALL.
     *  @return (via done) how many were deleted */
    void ack_outbox(unsigned partition, std::vector<std::string> ids, completion<std::uint64_t> done);

private:
    template <class T>
    void refuse(completion<T> done, std::string why);
    template <class T, class Parse>
    void run(std::vector<std::string> args, completion<T> done, Parse parse);

    redis_client& client_;
    sequencer_options options_;
    key_space keys_;
};

}  // namespace parley::server::cluster
