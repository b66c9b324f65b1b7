// The read side of storage: history, replays, resend checks and start-up
// loading, on read-only connections (SQLite or PostgreSQL) that never block
// the writer (SQLite's WAL, PostgreSQL's MVCC: readers and the writer work at
// once) or the I/O threads (reads run on their own small thread pool).
#pragma once

#include "server/core/events.hpp"
#include "server/store/sql.hpp"

#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace parley::server {

/// The rooms table on its own read-only connection, one lookup at a time
/// (each is a few point reads on indexes).
class sql_catalog final : public room_catalog {
public:
    explicit sql_catalog(const store_url& store);
    ~sql_catalog() override;

    std::optional<catalog_hit> find(const room_key& key, std::uint64_t user_id,
                                    const std::function<bool(const stored_room&, const member_state*)>& load) override;
    std::vector<protocol::room_entry> rooms_of(std::uint64_t user_id) override;
    std::vector<directory_entry> public_rooms(std::string_view after, std::size_t limit) override;
    std::uint32_t max_room_id() override;

private:
    struct sql;  // the connection and its statements
    std::mutex mutex_;
    std::unique_ptr<sql> sql_;
};

/// The prepared statements of one read connection, and the reads themselves
/// (used by the store's threads, and by tests on a database of their own).
class timeline_reader {
public:
    /// Fault injection (tests/store/fault_loop_test.cpp): called before every
    /// step of a read statement (one per row) with the statement's name; a
    /// result other than SQLITE_OK fails that step with that code, as if
    /// the database had returned it.
    using step_fault = std::function<int(std::string_view statement)>;

    /// @param faults may be null (no fault points: one pointer test per step)
    explicit timeline_reader(connection& db, const step_fault* faults = nullptr);

    /// Events [from, to], dense: a seq that storage lacks (a hole left by
    /// an older version) comes back as a void event.
    event_page events(std::uint32_t room_id, std::uint64_t from, std::uint64_t to);
    std::vector<message_state> messages_before(std::uint32_t room_id, std::uint64_t before, std::size_t limit);
    std::optional<stored_ack> client_op(std::uint32_t room_id, std::uint64_t user_id, std::uint64_t client_id);
    /// The newest bounds::max_loaded_epochs epochs of the room, oldest first.
    std::vector<epoch_record> epochs(std::uint32_t room_id);

private:
    void add_reactions(std::uint32_t room_id, std::vector<message_state>& messages);
    /// statement::step, after the fault point `name`.
    bool step(statement& s, std::string_view name);

    const step_fault* faults_;
    statement messages_in_range_, messages_before_, reactions_, changes_, client_op_, epochs_;
};

class sql_store final : public message_store {
public:
    sql_store(store_url store, std::size_t threads);
    ~sql_store() override;

    void read_events(std::uint32_t room_id, std::uint64_t from, std::uint64_t to, handler<event_page> done) override;
    void read_messages_before(std::uint32_t room_id, std::uint64_t before, std::size_t limit,
                              handler<std::vector<message_state>> done) override;
    void find_client_op(std::uint32_t room_id, std::uint64_t user_id, std::uint64_t client_id,
                        handler<std::optional<stored_ack>> done) override;
    void read_snapshot(std::uint32_t room_id, std::uint64_t from, handler<room_snapshot> done) override;
    /// Finishes queued reads and joins the threads.
    void stop();

    /// Called before every read with its name; tests throw a db_error from
    /// it to make the Nth read fail.
    std::function<void(std::string_view read)> before_read;
    /// Given to every read connection's timeline_reader: fails the Nth step
    /// of a read, between rows (set it before the first read).
    timeline_reader::step_fault step_fault_hook;

private:
    struct reader;
    /// Runs `read` on a pool thread with a reader; `done` gets its value, or
    /// a failed result when it threw (the connection is then not reused).
    template <class T, class Read>
    void run(std::string_view name, Read read, handler<T> done);

    const store_url store_;
    boost::asio::thread_pool pool_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<reader>> idle_;
};

}  // namespace parley::server
