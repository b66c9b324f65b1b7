// The batch writer: the only code that writes chat events to the store
// (SQLite, or PostgreSQL: server/store/sql.hpp).
//
// DESIGN
// Rooms push events (messages, edits, deletions, reactions, new rooms and
// epochs) into an in-memory queue and go on; broadcasting never waits for the
// disk. One writer thread owns the write connection and its prepared
// statements.
//
// ALGORITHM
// The thread sleeps until `max_events` events wait, or the oldest waiting
// event is `max_delay` old, or shutdown begins. It then takes every waiting
// event (in order) and commits them in ONE transaction, consecutive messages
// with one multi-row INSERT per chunk of them (PostgreSQL: one round trip per
// up to 256 messages instead of one per message). After the commit it
// reports, per room, the highest sequence now on disk (the persisted
// watermark), which rooms announce to their members.
//
// GUARANTEES
// - Order: events commit in the order rooms pushed them, and a room pushes
//   its events in seq order, so a watermark W for a room means every event
//   of that room up to W is on disk: as itself, or as a void (below).
// - Nothing is dropped for a transient failure (disk full, database locked,
//   I/O error): the batch stays queued and is retried with back-off from 50 ms
//   to 5 s; the backlog is visible in /metrics, and rooms refuse new messages
//   with server_busy once it passes config::max_writer_backlog.
// - A message whose client id its author already used in the room (a client
//   that set resend=false on a message it had sent before) is stored without
//   the id, as everyone saw it: the broadcast stands, de-duplication keeps the
//   first.
// - A batch that fails for a non-transient reason (a bug) is retried one
//   event per transaction (an event alone twice, so a failure that does not
//   repeat costs nothing), so one bad event cannot block the others. A
//   sequenced event that still cannot be stored is replaced by a void row and
//   reported (voided, before the watermark that covers it), so its room can
//   tell clients to drop it: the watermark never covers an event that is not
//   on disk. (If even the void cannot be stored, which happens only when
//   its room has no row, the room's watermark stays below that seq.)
// - Idempotent: every event is keyed by its (room, seq), and a batch written
//   again (retried after an unknown outcome, or claimed by another node in a
//   cluster) changes nothing that the first write made. An edit, deletion,
//   reaction or room change applies its effects only if its own row was new.
// - stop() commits everything still queued before it returns.
#pragma once

#include "server/core/bounds.hpp"
#include "server/core/events.hpp"
#include "server/core/metrics.hpp"
#include "server/store/sql.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace parley::server {

class batch_writer final : public event_sink {
public:
    using clock = std::chrono::steady_clock;

    struct options {
        std::size_t max_events = 10;
        std::chrono::milliseconds max_delay{5000};
        std::chrono::milliseconds max_backoff{bounds::max_backoff};
        /// How long stop() keeps retrying a failing commit before giving up.
        std::chrono::milliseconds shutdown_patience{30000};
        /// Time source for the batching delay; tests substitute a manual clock
        /// and call poke() after moving it.
        std::function<clock::time_point()> now = [] { return clock::now(); };
        /// Called before every statement of a commit with the writer's own
        /// connection; tests use it to inject faults (throw sqlite_error, or
        /// lower PRAGMA max_page_count for a genuine SQLITE_FULL).
        std::function<void(connection&, std::string_view statement)> before_statement;
        /// Fault injection (tests/store/fault_loop_test.cpp): called before
        /// every write call with its name ("begin", "insert_message", ...,
        /// "commit") and the event being written (null for "begin", "commit"
        /// and "insert_void"). A result other than SQLITE_OK fails that call
        /// with that code, as if SQLite had returned it. Unset, it costs one
        /// test per call.
        std::function<int(std::string_view call, const storage_event* event)> fault_hook;
        /// Most messages one INSERT carries (0: default_rows_per_insert).
        /// 1 writes each message with a statement of its own.
        std::size_t max_rows_per_insert = 0;
    };

    /// One INSERT per up to this many messages. PostgreSQL answers each
    /// statement with a round trip (~0.15 ms on loopback), which alone capped
    /// the writer near 7,000 messages/s; SQLite runs statements in process
    /// and still gains a third from fewer of them (docs/benchmarks.md).
    /// 256 rows x 7 parameters stay far below both engines' parameter limits.
    static constexpr std::size_t default_rows_per_insert = 256;

    /// What the writer tells rooms after each commit, from its own thread.
    struct reports {
        /// Every event of the room up to `seq` is on disk.
        std::function<void(std::uint32_t room_id, std::uint64_t seq)> persisted;
        /// Event `seq` could not be stored; a void stands in its place.
        std::function<void(std::uint32_t room_id, std::uint64_t seq)> voided;
    };

    /// Opens its own connection to `store` (already migrated).
    batch_writer(const store_url& store, options opts, metrics& stats, reports to);
    ~batch_writer() override;

    void start();
    void push(storage_event e) override;
    std::size_t backlog() const override;
    /// Wakes the thread to re-check its deadline (after a manual clock moved).
    void poke();
    /// Commits everything queued, then stops the thread. Idempotent.
    void stop();

private:
    void run();
    bool due(std::unique_lock<std::mutex>&) const;
    bool commit(const std::vector<storage_event>& batch);
    void commit_one_by_one(const std::vector<storage_event>& batch);
    /// @return false when the void failed for good, max_void_attempts times
    bool store_void(std::uint32_t room_id, std::uint64_t seq);
    /// Runs `body` in its own transaction until it commits or fails for good.
    /// @return false after a non-transient failure
    template <class F>
    bool commit_alone(F&& body);
    void write(const storage_event& e);
    /// Writes a batch (or one event of it): every event in order.
    void write_all(std::span<const storage_event> batch);
    /// Writes the messages of `run` (consecutive message_posted events of the
    /// batch) with as few statements as the chunk sizes allow.
    void write_messages(std::span<const storage_event* const> run);
    /// The (room, seq) holds a stored row already (a batch written again).
    bool stored(std::uint32_t room_id, std::uint64_t seq);
    /// Runs the bound INSERT ... ON CONFLICT DO NOTHING `s`. @return true if it
    /// added its row; false if (room, seq) is stored already (a batch written
    /// again). Neither: a client id the author used before; `again` then
    /// rebinds `s` without it and the row is added.
    template <class Rebind>
    bool insert_once(statement& s, std::string_view name, std::uint32_t room_id, std::uint64_t seq, Rebind again);
    void write_void(std::uint32_t room_id, std::uint64_t seq);
    void step(statement& s, std::string_view name);
    /// Test hooks for a statement about to run (before_statement, fault_hook).
    void before(std::string_view name);
    /// BEGIN IMMEDIATE; body; COMMIT, with fault points at both ends.
    template <class F>
    void transact(F&& body);
    /// Throws what SQLite would have if opts_.fault_hook injects a code for `call`.
    void fail_if_injected(std::string_view call);
    void report(const std::vector<storage_event>& batch);
    void write_room_event(const events::room_changed& ev);
    /// Raises the room's last_seq and last_message_at at the end of the transaction.
    void bump(std::uint32_t room_id, std::uint64_t seq, unix_ms at);
    void write_bumps();

    options opts_;
    metrics& stats_;
    reports to_;
    std::unique_ptr<connection> db_;
    statement stored_, insert_room_, insert_epoch_, insert_message_, bump_room_, edit_message_, delete_message_,
        delete_reactions_, add_reaction_, remove_reaction_, insert_change_, insert_void_, insert_room_event_,
        upsert_member_, update_room_, delete_room_;
    /// INSERT INTO messages ... RETURNING for `rows` messages, largest first; the last has 1 row.
    struct bulk_insert {
        std::size_t rows;
        statement stmt;
    };
    std::vector<bulk_insert> insert_messages_;
    std::vector<const storage_event*> run_;  // messages waiting for write_messages
    std::vector<std::pair<std::uint32_t, std::uint64_t>> voided_;  // in the batch being committed
    const storage_event* writing_ = nullptr;  // for fault_hook: the event whose statements run
    std::map<std::uint32_t, std::pair<std::uint64_t, unix_ms>> bumps_;  // room -> highest seq and time, this transaction
    std::map<std::uint32_t, std::uint64_t> unstorable_;  // room -> lowest seq with neither its row nor a void

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<storage_event> queue_;
    std::optional<clock::time_point> oldest_;  // when the oldest waiting event arrived
    std::size_t in_flight_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace parley::server
