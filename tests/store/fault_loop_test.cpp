// Fault-injection loops, in the style of SQLite's *fault.test files.
//
// THE LOOP
// A scenario runs with the Nth database call failing, for N = 1, 2, 3, ...
// until a run completes without ever reaching N: then every call the
// scenario makes has been failed once, and N is bounded by the scenario's own
// number of calls. After every run the test checks what the code promises
// under failure, not only on the happy path.
//
// WRITES (batch_writer::options::fault_hook: every statement step, BEGIN and
// COMMIT) drive the real writer, on a real SQLite file in a temporary
// directory, through waves of events (one wave, one batch): messages, edits,
// deletions, reactions, a message that reuses its author's client id, a
// change that does (a genuine constraint: voided), a reaction on a message
// that does not exist (a foreign key: voided), a room created on the way, and
// epochs. Each run checks:
// - at every `persisted` report, every seq of the room up to the watermark
//   is on disk (a message, a change or a void row): the watermark never
//   passes the disk;
// - watermarks never go back, and end at each room's last seq;
// - every seq up to the last is stored exactly once (dense, no seq both a
//   message and a change);
// - every `voided` report comes before any watermark that covers it, and
//   names a void row; every void row was reported;
// - a transient failure (SQLITE_BUSY, SQLITE_IOERR, SQLITE_FULL, failing the
//   Nth call once) loses nothing: the database and the reports are exactly
//   those of a run without faults;
// - a non-transient one (SQLITE_CONSTRAINT, sticky: the event whose call
//   failed fails again whenever it is written, as a real constraint would)
//   costs that one event alone: the database is that of a run without the
//   event, plus a void row in its place, reported.
//
// READS (sql_store::before_read, before every read, and
// sql_store::step_fault_hook, before every row of every read statement)
// drive a real parley::server::room over the real sql_store, through a
// warm-up and a latest page, a replay, an older history page and a resend's
// disk check. Each step's answer must be exactly that of a run without
// faults, or room_unavailable (115) with retry_after_ms and nothing else, for
// nobody else; and the same request again must then get exactly the answer
// of the run without faults: never an empty or partial room.
//
// LONG RUNS
// PARLEY_FAULT_LOOP_LONG=1 adds generated waves (more rooms' worth of
// events, longer histories), so every loop covers more calls; it takes
// minutes, not seconds. The default scenario keeps `make test` well under a
// minute.
#include "server/store/database.hpp"
#include "server/store/batch_writer.hpp"

#include "protocol/codec.hpp"
#include "server/chat/room.hpp"
#include "server/core/log.hpp"
#include "server/store/migrations.hpp"
#include "server/store/storage.hpp"
#include "tests/support/fake_store.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace {

using namespace parley::server;
using namespace std::chrono_literals;
using parley::testing::temp_dir;
namespace proto = parley::protocol;

// The writer logs every failure it meets; the loops make hundreds on purpose.
const bool quiet_log = [] {
    log::set_level(log_level::error);
    return true;
}();

bool long_run() {
    const char* v = std::getenv("PARLEY_FAULT_LOOP_LONG");
    return v != nullptr && std::string_view(v) == "1";
}

// ---- the write scenario ---------------------------------------------------------------------------

/// Waves of events; each wave is pushed whole and committed as one batch.
using scenario = std::vector<std::vector<storage_event>>;

/// Builds events with each room's next seq.
struct scenario_builder {
    std::map<std::uint32_t, std::uint64_t> last;
    std::vector<storage_event> wave;
    scenario waves;
    std::uint64_t clock = 1000;

    std::uint64_t next(std::uint32_t room) { return ++last[room]; }
    std::uint64_t message(std::uint32_t room, std::uint64_t author, std::uint64_t client_id, std::uint64_t reply_to = 0) {
        const auto seq = next(room);
        wave.push_back(events::message_posted{room, seq, author, client_id,
                                              "m" + std::to_string(room) + "." + std::to_string(seq), ++clock, reply_to});
        return seq;
    }
    void edit(std::uint32_t room, std::uint64_t user, std::uint64_t client_id, std::uint64_t target, std::string text) {
        wave.push_back(events::message_edited{room, next(room), user, client_id, target, std::move(text), ++clock});
    }
    void remove(std::uint32_t room, std::uint64_t user, std::uint64_t client_id, std::uint64_t target) {
        wave.push_back(events::message_deleted{room, next(room), user, client_id, target, ++clock});
    }
    void react(std::uint32_t room, std::uint64_t user, std::uint64_t client_id, std::uint64_t target, bool on,
               std::uint32_t count, proto::reaction_kind k = proto::reaction_kind::heart) {
        wave.push_back(events::reaction_set{room, next(room), user, client_id, target, k, on, count, ++clock});
    }
    void epoch(std::uint32_t room, std::uint64_t id) {
        wave.push_back(events::epoch_started{room, id, last[room], ++clock});
    }
    void end_wave() { waves.push_back(std::exchange(wave, {})); }
};

// Users 1 and 2 and rooms 1 and 2 exist before (see write_run); room 3 is
// created by the scenario. Room 1 is also the read loop's room: 13 events,
// a void at 10, two stored epochs (101 from 0, 102 from 10).
scenario make_scenario(bool long_variant) {
    scenario_builder b;
    b.epoch(1, 101);
    b.message(1, 1, 11);                      // 1/1
    b.message(1, 2, 21);                      // 1/2
    b.message(1, 1, 12, 1);                   // 1/3, a reply
    b.wave.push_back(events::room_created{3, public_room_named("three"), "", 2, ++b.clock});
    b.epoch(3, 301);
    b.message(3, 2, 22);                      // 3/1
    b.end_wave();

    b.edit(1, 1, 13, 1, "edited");            // 1/4
    b.react(1, 2, 23, 1, true, 1);            // 1/5
    b.react(1, 1, 14, 1, true, 2);            // 1/6
    b.message(1, 1, 11);                      // 1/7: reuses its author's client id: stored without it
    b.message(2, 1, 11);                      // 2/1: the same id in another room is another message
    b.message(2, 2, 24);                      // 2/2
    b.end_wave();

    b.remove(1, 1, 15, 3);                    // 1/8
    b.react(1, 2, 25, 1, false, 1);           // 1/9
    b.edit(1, 1, 13, 7, "again");             // 1/10: reuses a change's client id: a constraint, voided
    b.react(2, 2, 26, 99, true, 1);           // 2/3: no message 99: a foreign key, voided
    b.edit(3, 2, 27, 1, "three edited");      // 3/2
    b.end_wave();

    b.epoch(1, 102);
    b.message(1, 2, 29);                      // 1/11
    b.message(1, 1, 16);                      // 1/12
    b.message(1, 2, 30, 11);                  // 1/13
    b.remove(2, 2, 28, 2);                    // 2/4
    b.end_wave();

    if (long_variant) {
        // Deterministic "random" waves over the three rooms.
        std::uint64_t x = 12345, client = 1000;
        auto rnd = [&x](std::uint64_t n) { x = x * 6364136223846793005u + 1442695040888963407u; return (x >> 33) % n; };
        for (int w = 0; w < 12; ++w) {
            for (int i = 0; i < 12; ++i) {
                const auto room = static_cast<std::uint32_t>(1 + rnd(3));
                const std::uint64_t user = 1 + rnd(2);
                const std::uint64_t target = 1 + rnd(b.last[room]);
                const std::uint64_t id = ++client;
                switch (rnd(5)) {
                    case 0: b.edit(room, user, id, target, "e" + std::to_string(id)); break;
                    case 1: b.react(room, user, id, target, rnd(2) == 0, 1, static_cast<proto::reaction_kind>(rnd(3))); break;
                    case 2: b.remove(room, user, id, target); break;
                    default: b.message(room, user, id, rnd(2) == 0 ? target : 0); break;
                }
            }
            if (w % 4 == 3) b.epoch(1 + static_cast<std::uint32_t>(rnd(3)), 500 + static_cast<std::uint64_t>(w));
            b.end_wave();
        }
    }
    return b.waves;
}

/// Names an event across runs (events are copied into each run).
std::string key_of(const storage_event& e) {
    return std::visit([&](const auto& ev) {
        std::string k = std::to_string(e.index()) + ":" + std::to_string(ev.room_id);
        if constexpr (requires { ev.seq; }) k += ":" + std::to_string(ev.seq);
        if constexpr (requires { ev.epoch; }) k += ":e" + std::to_string(ev.epoch);
        return k;
    }, e);
}

scenario without(const scenario& s, const std::string& key) {
    scenario out;
    for (const auto& wave : s) {
        auto& w = out.emplace_back();
        for (const auto& e : wave)
            if (key_of(e) != key) w.push_back(e);
    }
    return out;
}

// ---- one run of the writer ---------------------------------------------------------------------------

/// The Nth write call to fail (0: none), with what, and whether the failure sticks to its event.
struct write_fault {
    std::uint64_t n = 0;
    int code = SQLITE_OK;
    bool sticky = false;
};

struct report {
    bool voided = false;
    std::uint32_t room = 0;
    std::uint64_t seq = 0;
    bool operator==(const report&) const = default;
};

/// Every table as a set of lines (epochs with their order in the room).
using db_dump = std::map<std::string, std::set<std::string>>;

std::string void_row(std::uint32_t room, std::uint64_t seq) {
    return std::to_string(room) + "|" + std::to_string(seq) + "|4|0|0|0||0|0|0|0";
}

struct write_outcome {
    bool fired = false;                  ///< call N was reached
    std::uint64_t calls = 0;             ///< write calls made in all
    std::optional<std::string> sticky;   ///< the event the failure stuck to
    std::string failed_call;
    std::vector<report> reports;         ///< in the order made
    std::vector<std::string> violations; ///< found while the writer ran
    db_dump dump;
};

class write_run {
public:
    write_run() {
        database db(path_, database::mode::read_write);
        migrate(db);
        db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES"
                "(1, 'ana', 'ana', 'x', 0), (2, 'bob', 'bob', 'x', 0)");
        db.exec("INSERT INTO rooms(id, name, created_by, created_at) VALUES(1, 'one', 1, 0), (2, 'two', 1, 0)");
    }

    const std::string& path() const { return path_; }

    write_outcome run(const scenario& s, write_fault fault) {
        write_outcome out;
        auto w = std::make_unique<batch_writer>(path_, options(fault, out), stats_, reports(out));
        w->start();
        for (const auto& wave : s) {
            for (const auto& e : wave) w->push(e);
            clock_ms_ += 5000;  // the batch is due: exactly this wave
            for (int i = 0; w->backlog() != 0; ++i) {
                if (i == 20000) {  // 20 s: the writer is stuck
                    ADD_FAILURE() << "the writer never committed a wave (fault " << fault.n << " at "
                                  << out.failed_call << "); aborting, since stop() would wait for it too";
                    std::abort();
                }
                w->poke();
                std::this_thread::sleep_for(1ms);
            }
        }
        w->stop();
        w.reset();
        std::lock_guard lock(mutex_);
        out.calls = calls_;
        out.dump = dump();
        return out;
    }

private:
    batch_writer::options options(write_fault fault, write_outcome& out) {
        batch_writer::options o;
        o.max_events = 100000;  // batches are cut by the clock: one per wave
        o.max_delay = 5000ms;
        o.max_backoff = 1ms;
        o.now = [this] { return batch_writer::clock::time_point(std::chrono::milliseconds(clock_ms_.load())); };
        if (fault.n == 0) return o;
        o.fault_hook = [this, fault, &out](std::string_view call, const storage_event* e) -> int {
            std::lock_guard lock(mutex_);
            ++calls_;
            if (out.sticky && e != nullptr && key_of(*e) == *out.sticky) return fault.code;
            if (calls_ != fault.n) return SQLITE_OK;
            out.fired = true;
            out.failed_call = std::string(call);
            if (fault.sticky && e != nullptr) out.sticky = key_of(*e);
            return fault.code;
        };
        return o;
    }

    batch_writer::reports reports(write_outcome& out) {
        return {[this, &out](std::uint32_t room, std::uint64_t seq) {
                    std::lock_guard lock(mutex_);
                    out.reports.push_back({false, room, seq});
                    const auto stored = static_cast<std::uint64_t>(stored_up_to(room, seq));
                    if (stored != seq)
                        out.violations.push_back("watermark " + std::to_string(room) + "/" + std::to_string(seq) +
                                                 " reported with only " + std::to_string(stored) + " of its seqs stored");
                },
                [this, &out](std::uint32_t room, std::uint64_t seq) {
                    std::lock_guard lock(mutex_);
                    out.reports.push_back({true, room, seq});
                }};
    }

    /// How many of seqs 1..seq of the room are on disk now (writer thread only).
    std::int64_t stored_up_to(std::uint32_t room, std::uint64_t seq) {
        if (!reader_) reader_.emplace(path_, database::mode::read_only);
        statement s = reader_->prepare(
            "SELECT COUNT(*) FROM (SELECT seq FROM messages WHERE room_id = ?1 AND seq BETWEEN 1 AND ?2 "
            "UNION SELECT seq FROM changes WHERE room_id = ?1 AND seq BETWEEN 1 AND ?2)");
        s.bind_all(room, seq);
        s.step();
        return s.column_int(0);
    }

    db_dump dump() {
        database db(path_, database::mode::read_only);
        db_dump d;
        auto table = [&](const std::string& name, int columns, const std::string& sql) {
            statement s = db.prepare(sql);
            auto& lines = d[name];
            while (s.step()) {
                std::string line;
                for (int c = 0; c < columns; ++c) line += (c ? "|" : "") + s.column_text(c);
                lines.insert(line);
            }
        };
        table("rooms", 6, "SELECT id, name, COALESCE(created_by, 0), created_at, last_seq, last_message_at FROM rooms");
        table("messages", 9, "SELECT room_id, seq, author_id, client_msg_id, text, sent_at, edited_at, deleted_at, reply_to "
                          "FROM messages");
        table("changes", 11, "SELECT room_id, seq, kind, user_id, client_id, message_seq, text, reaction, added, count, at "
                         "FROM changes");
        table("reactions", 4, "SELECT room_id, seq, reaction, user_id FROM reactions");
        table("room_epochs", 5, "SELECT room_id, ROW_NUMBER() OVER (PARTITION BY room_id ORDER BY id), epoch, base_seq, "
                             "started_at FROM room_epochs");
        return d;
    }

    temp_dir dir_;
    std::string path_ = (dir_.path() / "parley.db").string();
    metrics stats_;
    std::atomic<std::int64_t> clock_ms_{0};
    std::mutex mutex_;
    std::uint64_t calls_ = 0;
    std::optional<database> reader_;
};

std::map<std::uint32_t, std::uint64_t> last_seqs(const scenario& s) {
    std::map<std::uint32_t, std::uint64_t> last;
    for (const auto& wave : s)
        for (const auto& e : wave)
            if (auto q = sequence_of(e)) last[q->first] = std::max(last[q->first], q->second);
    return last;
}

/// The checks every run must pass, whatever failed.
void check_invariants(const scenario& s, const write_outcome& out, const std::string& where) {
    SCOPED_TRACE(where);
    for (const auto& v : out.violations) ADD_FAILURE() << v;
    std::map<std::uint32_t, std::uint64_t> watermark;
    std::set<std::pair<std::uint32_t, std::uint64_t>> voided;
    for (const auto& r : out.reports) {
        if (r.voided) {
            EXPECT_GT(r.seq, watermark[r.room]) << "void " << r.room << "/" << r.seq << " reported after a watermark covered it";
            voided.insert({r.room, r.seq});
            continue;
        }
        EXPECT_GE(r.seq, watermark[r.room]) << "the watermark of room " << r.room << " went back";
        watermark[r.room] = std::max(watermark[r.room], r.seq);
    }
    // Dense: every seq up to the last is stored once, as a message or a change.
    std::map<std::uint32_t, std::map<std::uint64_t, int>> seen;
    auto field = [](const std::string& line, int i) {
        std::size_t b = 0;
        for (int k = 0; k < i; ++k) b = line.find('|', b) + 1;
        return std::stoull(line.substr(b, line.find('|', b) - b));
    };
    for (const auto& table : {"messages", "changes"})
        for (const auto& line : out.dump.at(table)) ++seen[static_cast<std::uint32_t>(field(line, 0))][field(line, 1)];
    // Every void row was reported. A void reported without a row is allowed
    // only in a room that has no row (its creation failed for good, so
    // nothing of it can be stored): its watermark stays below that seq.
    std::set<std::pair<std::uint32_t, std::uint64_t>> void_rows;
    for (const auto& line : out.dump.at("changes"))
        if (field(line, 2) == 4) void_rows.insert({static_cast<std::uint32_t>(field(line, 0)), field(line, 1)});
    for (const auto& v : void_rows) EXPECT_TRUE(voided.contains(v)) << "void row " << v.first << "/" << v.second << " never reported";
    std::set<std::uint32_t> room_rows;
    for (const auto& line : out.dump.at("rooms")) room_rows.insert(static_cast<std::uint32_t>(field(line, 0)));
    std::map<std::uint32_t, std::uint64_t> unstored;  // room -> its lowest seq with neither a row nor a void
    for (const auto& [room, seq] : voided) {
        if (void_rows.contains({room, seq})) continue;
        EXPECT_FALSE(room_rows.contains(room)) << "void " << room << "/" << seq << " reported but not stored";
        unstored.try_emplace(room, seq);
    }
    for (const auto& [room, seqs] : seen)
        for (const auto& [seq, times] : seqs) EXPECT_EQ(times, 1) << "room " << room << " seq " << seq << " is stored twice";
    for (const auto& [room, last] : last_seqs(s)) {
        const std::uint64_t end = unstored.contains(room) ? unstored[room] - 1 : last;
        EXPECT_EQ(watermark[room], end) << "room " << room << ": the final watermark";
        for (std::uint64_t seq = 1; seq <= end; ++seq)
            EXPECT_EQ(seen[room][seq], 1) << "room " << room << " seq " << seq << " is stored " << seen[room][seq] << " times";
    }
}

// ---- the write loops -----------------------------------------------------------------------------------

TEST(FaultLoop, TransientWriteFailuresLoseNothing) {
    const scenario s = make_scenario(long_run());
    const write_outcome clean = write_run().run(s, {});
    check_invariants(s, clean, "no fault");
    const int codes[] = {SQLITE_BUSY, SQLITE_IOERR, SQLITE_FULL};
    std::uint64_t n = 1;
    for (;; ++n) {
        const int code = codes[n % 3];
        const write_outcome out = write_run().run(s, {n, code, false});
        if (!out.fired) break;
        const std::string where = "call " + std::to_string(n) + " (" + out.failed_call + ") failed with " +
                                  sqlite3_errstr(code);
        check_invariants(s, out, where);
        EXPECT_EQ(out.dump, clean.dump) << where << ": a transient failure changed what is stored";
        EXPECT_EQ(out.reports, clean.reports) << where << ": a transient failure changed what was reported";
        if (::testing::Test::HasFailure()) break;  // one failing N says it; the rest would repeat it
    }
    EXPECT_GT(n, 50u) << "the scenario should make dozens of write calls";
    std::cout << "[ fault loop ] transient writes: N = 1.." << n - 1 << "\n";
}

TEST(FaultLoop, ANonTransientWriteFailureCostsOneEventAlone) {
    const scenario s = make_scenario(long_run());
    const write_outcome clean = write_run().run(s, {});
    std::uint64_t n = 1;
    for (;; ++n) {
        const write_outcome out = write_run().run(s, {n, SQLITE_CONSTRAINT, true});
        if (!out.fired) break;
        const std::string where = "call " + std::to_string(n) + " (" + out.failed_call + ") failed for good" +
                                  (out.sticky ? " for event " + *out.sticky : std::string(" once"));
        check_invariants(s, out, where);
        if (!out.sticky) {
            // BEGIN, COMMIT or a void failed once: the events alone all succeed.
            EXPECT_EQ(out.dump, clean.dump) << where;
        } else {
            // What a run without the event stores, and a void in its place.
            db_dump expected = write_run().run(without(s, *out.sticky), {}).dump;
            for (const auto& wave : s)
                for (const auto& ev : wave)
                    if (key_of(ev) == *out.sticky)
                        if (auto q = sequence_of(ev)) expected["changes"].insert(void_row(q->first, q->second));
            EXPECT_EQ(out.dump, expected) << where;
        }
        if (::testing::Test::HasFailure()) break;
    }
    EXPECT_GT(n, 50u);
    std::cout << "[ fault loop ] non-transient writes: N = 1.." << n - 1 << "\n";
}

// ---- the read loops -------------------------------------------------------------------------------------

/// The real store, counting the reads in flight so the test knows when the
/// room has heard back from all of them.
class counted_store final : public message_store {
public:
    explicit counted_store(sql_store& inner) : inner_(inner) {}
    bool idle() const { return pending_.load() == 0; }

    void read_events(std::uint32_t room_id, std::uint64_t from, std::uint64_t to, handler<event_page> done) override {
        inner_.read_events(room_id, from, to, count(std::move(done)));
    }
    void read_messages_before(std::uint32_t room_id, std::uint64_t before, std::size_t limit,
                              handler<std::vector<message_state>> done) override {
        inner_.read_messages_before(room_id, before, limit, count(std::move(done)));
    }
    void find_client_op(std::uint32_t room_id, std::uint64_t user_id, std::uint64_t client_id,
                        handler<std::optional<stored_ack>> done) override {
        inner_.find_client_op(room_id, user_id, client_id, count(std::move(done)));
    }
    void read_snapshot(std::uint32_t room_id, std::uint64_t from, handler<room_snapshot> done) override {
        inner_.read_snapshot(room_id, from, count(std::move(done)));
    }

private:
    template <class T>
    handler<T> count(handler<T> done) {
        ++pending_;
        return [this, done = std::move(done)](read_result<T> r) {
            done(std::move(r));  // posts the answer to the room's strand first
            --pending_;
        };
    }

    sql_store& inner_;
    std::atomic<int> pending_{0};
};

/// Nothing is stored during the read loops: the database stays the same for every run.
struct null_sink final : event_sink {
    void push(storage_event) override {}
    std::size_t backlog() const override { return 0; }
};

/// What each connection was sent during one step: raw packets, in order.
using step_output = std::vector<std::vector<proto::bytes>>;

/// One run of the read steps against the database at `path`, failing the Nth read call.
class read_run {
public:
    read_run(const std::string& path, std::uint64_t fail_at, int code) : store_(path, 1), counted_(store_) {
        auto fault = [this, fail_at, code](std::string_view call) {
            std::lock_guard lock(mutex_);
            if (++calls_ != fail_at) return SQLITE_OK;
            failed_call_ = std::string(call);
            return code;
        };
        if (fail_at != 0) {
            store_.before_read = [fault](std::string_view read) { check_sqlite(fault(read), nullptr, read); };
            store_.step_fault_hook = fault;
        }
        cfg_.room_cache_messages = 4;  // joins, replays and history read the disk
        sql_catalog catalog(path);
        if (auto hit = catalog.find({room_key::by::id, {}, 1}, 0, [](const auto&, const auto*) { return true; }))
            last_seq_ = hit->room.last_seq;
        room_services svc{cfg_, stats_, &sink_, &counted_};
        svc.new_epoch = [this] { return ++last_epoch_; };
        room_ = std::make_shared<room>(io_, svc, room_init{1, public_room_named("one"), last_seq_, parley::testing::members_up_to(32)});
        for (std::uint64_t user : {1u, 2u, 3u})
            members_.push_back({user, user, "user" + std::to_string(user),
                                std::make_shared<send_queue>(queue_limits{}, [](bool) {})});
    }
    ~read_run() {
        settle();
        store_.stop();
    }

    bool fired() {
        std::lock_guard lock(mutex_);
        return !failed_call_.empty();
    }
    std::string failed_call() {
        std::lock_guard lock(mutex_);
        return failed_call_;
    }
    std::uint64_t last_seq() const { return last_seq_; }

    /// The steps; each is a request by one connection. Returns everything sent meanwhile.
    static constexpr int step_count = 5;
    step_output step(int i) {
        auto& ana = members_[0];
        auto& bob = members_[1];
        auto& cid = members_[2];
        switch (i) {
            case 0: room_->join(ana, 0, 0); break;                // warm-up, then the latest page
            case 1: room_->join(bob, 101, 3); break;              // a replay of 4..: most of it from disk
            case 2: room_->request_history(ana.connection_id, {1, 6, 2}); break;  // older: 3 and 2
            case 3:                                               // a resend: is client id 12 on disk?
                room_->post_message(ana.connection_id, {1, 12, 1, "m1.3", true}, room::clock::now());
                break;
            default: room_->join(cid, 102, 8); break;             // a replay from epoch 102: 9 from disk
        }
        settle();
        step_output out(members_.size());
        for (std::size_t m = 0; m < members_.size(); ++m) {
            std::vector<shared_packet> taken;
            while (members_[m].queue->take(taken, SIZE_MAX)) {
                for (const auto& p : taken) out[m].push_back(*p);
                taken.clear();
            }
        }
        return out;
    }
    /// The connection that makes step `i`'s request.
    static std::size_t requester(int i) { return i == 1 ? 1 : i == 4 ? 2 : 0; }

private:
    void settle() {
        for (;;) {
            const bool idle = counted_.idle();
            io_.restart();
            const auto ran = io_.poll();
            if (ran == 0 && idle) return;
            if (ran == 0) std::this_thread::sleep_for(100us);
        }
    }

    boost::asio::io_context io_;
    config cfg_;
    metrics stats_;
    null_sink sink_;
    sql_store store_;
    counted_store counted_;
    std::mutex mutex_;
    std::uint64_t calls_ = 0;
    std::string failed_call_;
    std::uint64_t last_epoch_ = 1000;
    std::uint64_t last_seq_ = 0;
    std::shared_ptr<room> room_;
    std::vector<room_member> members_;
};

std::vector<proto::packet> decode_all(const std::vector<proto::bytes>& raw) {
    std::vector<proto::packet> out;
    for (const auto& b : raw) {
        auto p = proto::decode(b);
        EXPECT_TRUE(p) << "the room queued a packet that does not decode";
        if (p) out.push_back(std::move(*p));
    }
    return out;
}

/// Exactly one room_unavailable with a retry time, to the requester alone.
void expect_unavailable(const step_output& got, std::size_t requester, const std::string& where) {
    SCOPED_TRACE(where);
    for (std::size_t m = 0; m < got.size(); ++m) {
        if (m != requester) {
            EXPECT_TRUE(got[m].empty()) << "connection " << m << " heard of another's failed read";
            continue;
        }
        const auto packets = decode_all(got[m]);
        ASSERT_EQ(packets.size(), 1u) << "a failed read must answer room_unavailable and nothing else";
        const auto* e = std::get_if<proto::error_report>(&packets[0]);
        ASSERT_NE(e, nullptr) << "a failed read answered " << proto::kind_name(proto::kind_of(packets[0]));
        EXPECT_EQ(e->code, 115);
        EXPECT_GT(e->retry_after_ms, 0u);
    }
}

TEST(FaultLoop, AFailedReadIsUnavailableAndARetryGetsEverything) {
    write_run db;
    const scenario s = make_scenario(long_run());
    check_invariants(s, db.run(s, {}), "the database for the reads");

    std::vector<step_output> clean;
    {
        read_run r(db.path(), 0, SQLITE_OK);
        for (int i = 0; i < read_run::step_count; ++i) clean.push_back(r.step(i));
        // The clean run is the reference: make sure it says something real.
        const auto joined = decode_all(clean[0][0]);
        ASSERT_FALSE(joined.empty());
        const auto* j = std::get_if<proto::room_joined>(&joined[0]);
        ASSERT_NE(j, nullptr);
        EXPECT_EQ(j->last_seq, r.last_seq());
        EXPECT_GT(r.last_seq(), 10u);
        for (int i = 0; i < read_run::step_count; ++i) {
            for (const auto& p : decode_all(clean[static_cast<std::size_t>(i)][read_run::requester(i)]))
                EXPECT_FALSE(std::holds_alternative<proto::error_report>(p)) << "step " << i << " failed without a fault";
        }
    }

    const int codes[] = {SQLITE_IOERR, SQLITE_BUSY, SQLITE_CORRUPT};
    std::uint64_t n = 1;
    int failures = 0;
    for (;; ++n) {
        const int code = codes[n % 3];
        read_run r(db.path(), n, code);
        bool fired_before = false;
        for (int i = 0; i < read_run::step_count; ++i) {
            step_output got = r.step(i);
            const bool fired_now = r.fired() && !fired_before;
            fired_before = r.fired();
            const std::string where = "read call " + std::to_string(n) + " (" + r.failed_call() + ", " +
                                      sqlite3_errstr(code) + "), step " + std::to_string(i);
            if (got == clean[static_cast<std::size_t>(i)]) continue;  // the failure did not touch this answer
            EXPECT_TRUE(fired_now) << where << ": an answer differs from the clean run's without a failure";
            expect_unavailable(got, read_run::requester(i), where);
            ++failures;
            got = r.step(i);  // the client retries: the store has recovered
            EXPECT_EQ(got, clean[static_cast<std::size_t>(i)]) << where << ": the retry did not get the full answer";
        }
        if (!r.fired()) break;
        if (::testing::Test::HasFailure()) break;
    }
    EXPECT_GT(n, 20u) << "the steps should make dozens of read calls";
    EXPECT_GT(failures, 0);
    std::cout << "[ fault loop ] reads: N = 1.." << n - 1 << ", " << failures << " answered unavailable\n";
}

}  // namespace
