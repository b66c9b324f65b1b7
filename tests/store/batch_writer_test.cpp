#include "server/store/database.hpp"
#include "server/store/batch_writer.hpp"

#include "server/store/migrations.hpp"
#include "server/store/storage.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

namespace {

using namespace parley::server;
using namespace std::chrono_literals;
using parley::testing::temp_dir;

/// A clock the test moves by hand.
struct manual_clock {
    std::atomic<std::int64_t> ms{0};
    batch_writer::clock::time_point now() const {
        return batch_writer::clock::time_point(std::chrono::milliseconds(ms.load()));
    }
};

struct fixture {
    temp_dir dir;
    std::string path = (dir.path() / "parley.db").string();
    metrics stats;
    manual_clock clock;
    std::mutex mutex;
    std::map<std::uint32_t, std::uint64_t> watermarks;
    std::vector<std::string> reports;  // "voided 1/5", "persisted 1/10", in the order made

    fixture() {
        database db(path, database::mode::read_write);
        migrate(db);
        db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(1, 'ana', 'ana', 'x', 0)");
        db.exec("INSERT INTO rooms(id, name, created_by, created_at) VALUES(1, 'one', 1, 0), (2, 'two', 1, 0)");
    }

    batch_writer::options options() {
        batch_writer::options o;
        o.max_events = 10;
        o.max_delay = 5000ms;
        o.max_backoff = 20ms;
        o.now = [this] { return clock.now(); };
        return o;
    }

    std::unique_ptr<batch_writer> make(batch_writer::options o) {
        auto note = [this](const char* what, std::uint32_t room, std::uint64_t seq) {
            std::lock_guard lock(mutex);
            reports.push_back(std::string(what) + " " + std::to_string(room) + "/" + std::to_string(seq));
            if (std::string_view(what) == "persisted") watermarks[room] = seq;
        };
        return std::make_unique<batch_writer>(
            path, std::move(o), stats,
            batch_writer::reports{[note](std::uint32_t room, std::uint64_t seq) { note("persisted", room, seq); },
                                  [note](std::uint32_t room, std::uint64_t seq) { note("voided", room, seq); }});
    }

    std::int64_t count(const std::string& sql) {
        database db(path, database::mode::read_only);
        statement s = db.prepare(sql);
        s.step();
        return s.column_int(0);
    }

    static events::message_posted message(std::uint32_t room, std::uint64_t seq) {
        return {room, seq, 1, 1000 * room + seq, "message " + std::to_string(seq), 1000 + seq, 0};
    }

    /// Waits (really) until `pred` holds, at most 5 s.
    template <class P>
    bool eventually(P pred) {
        for (int i = 0; i < 500; ++i) {
            if (pred()) return true;
            std::this_thread::sleep_for(10ms);
        }
        return pred();
    }
};

TEST(BatchWriter, CommitsAsSoonAsTenEventsWait) {
    fixture f;
    auto w = f.make(f.options());
    w->start();
    for (std::uint64_t seq = 1; seq <= 9; ++seq) w->push(fixture::message(1, seq));
    w->poke();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages"), 0);  // nine wait: not due yet
    w->push(fixture::message(1, 10));
    EXPECT_TRUE(f.eventually([&] { return f.count("SELECT COUNT(*) FROM messages") == 10; }));
    EXPECT_TRUE(f.eventually([&] { return f.stats.commits.load() == 1; }));
    EXPECT_TRUE(f.eventually([&] { return w->backlog() == 0; }));  // cleared just after the commit
    w->stop();
}

TEST(BatchWriter, CommitsOnceTheFirstEventIsFiveSecondsOld) {
    fixture f;
    auto w = f.make(f.options());
    w->start();
    for (std::uint64_t seq = 1; seq <= 3; ++seq) w->push(fixture::message(1, seq));
    f.clock.ms = 4999;
    w->poke();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages"), 0);
    f.clock.ms = 5000;  // no real sleep: the writer's clock is this test's
    w->poke();
    EXPECT_TRUE(f.eventually([&] { return f.count("SELECT COUNT(*) FROM messages") == 3; }));
    EXPECT_TRUE(f.eventually([&] { return f.stats.commits.load() == 1; }));
    w->stop();
}

TEST(BatchWriter, ABatchIsOneTransaction) {
    // Fail the 3rd statement of the first commit: if the batch were not one
    // transaction, the 8 messages the two before it inserted would have stayed.
    fixture f;
    auto o = f.options();
    std::atomic<int> statements{0};
    o.before_statement = [&](connection&, std::string_view) {
        if (++statements == 3) throw sqlite_error(SQLITE_IOERR, "injected I/O error");
    };
    auto w = f.make(o);
    for (std::uint64_t seq = 1; seq <= 10; ++seq) w->push(fixture::message(1, seq));
    w->start();
    EXPECT_TRUE(f.eventually([&] { return f.count("SELECT COUNT(*) FROM messages") == 10; }));
    EXPECT_EQ(f.stats.commit_failures.load(), 1u);
    EXPECT_TRUE(f.eventually([&] { return f.stats.commits.load() == 1; }));  // the retry, as one transaction again
    // failed attempt + full retry: chunks of 4, 4, 1 and 1 messages, one bump per room
    EXPECT_EQ(statements.load(), 3 + 5);
    w->stop();
}

TEST(BatchWriter, ReportsTheHighestPersistedSequencePerRoom) {
    fixture f;
    auto w = f.make(f.options());
    w->start();
    for (std::uint64_t seq = 1; seq <= 6; ++seq) w->push(fixture::message(1, seq));
    for (std::uint64_t seq = 1; seq <= 4; ++seq) w->push(fixture::message(2, seq));
    EXPECT_TRUE(f.eventually([&] {
        std::lock_guard lock(f.mutex);
        return f.watermarks[1] == 6 && f.watermarks[2] == 4;
    }));
    w->stop();
}

TEST(BatchWriter, DiskFullIsRetriedWithoutLoss) {
    // A genuine SQLITE_FULL: the writer's connection may not grow the file,
    // until the "disk" gets space again.
    fixture f;
    auto o = f.options();
    std::atomic<int> calls{0};
    std::atomic<bool> full{true};
    o.before_statement = [&](connection& db, std::string_view) {
        if (++calls == 1) db.exec("PRAGMA max_page_count = 1");  // below the current size: no growth
        if (!full) db.exec("PRAGMA max_page_count = 1073741823");
    };
    auto w = f.make(o);
    w->start();
    std::string big(3000, 'x');
    for (std::uint64_t seq = 1; seq <= 10; ++seq) {
        auto m = fixture::message(1, seq);
        m.text = big;
        w->push(m);
    }
    EXPECT_TRUE(f.eventually([&] { return f.stats.commit_failures.load() >= 2; }));
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages"), 0);
    EXPECT_EQ(w->backlog(), 10u);  // kept, visible in /metrics
    EXPECT_NE(f.stats.render({.writer_backlog = w->backlog()}).find("parley_writer_backlog 10"), std::string::npos);
    full = false;
    EXPECT_TRUE(f.eventually([&] { return f.count("SELECT COUNT(*) FROM messages") == 10; }));
    EXPECT_TRUE(f.eventually([&] { return w->backlog() == 0; }));  // cleared just after the commit
    w->stop();
}

TEST(BatchWriter, LockedDatabaseIsRetriedWithoutLoss) {
    fixture f;
    auto o = f.options();
    std::atomic<int> busy{3};
    o.before_statement = [&](connection&, std::string_view) {
        if (busy > 0) {
            --busy;
            throw sqlite_error(SQLITE_BUSY, "database is locked");
        }
    };
    auto w = f.make(o);
    w->start();
    for (std::uint64_t seq = 1; seq <= 10; ++seq) w->push(fixture::message(1, seq));
    EXPECT_TRUE(f.eventually([&] { return f.count("SELECT COUNT(*) FROM messages") == 10; }));
    EXPECT_EQ(f.stats.commit_failures.load(), 3u);
    w->stop();
}

// A sequenced event that cannot be stored (a bug: here a foreign key) is
// replaced by a void row, and its room hears of it before the watermark that
// covers it, so the watermark never covers an event that is not on disk.
TEST(BatchWriter, ABadEventIsVoidedAloneAndReportedBeforeItsWatermark) {
    fixture f;
    auto w = f.make(f.options());
    w->start();
    for (std::uint64_t seq = 1; seq <= 10; ++seq) {
        auto m = fixture::message(1, seq);
        if (seq == 5) m.author_id = 999;  // no such user: a foreign key violation, not transient
        w->push(m);
    }
    EXPECT_TRUE(f.eventually([&] { return f.count("SELECT COUNT(*) FROM messages") == 9; }));
    w->stop();
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages WHERE seq = 5"), 0);
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM changes WHERE seq = 5 AND kind = 4"), 1);
    std::lock_guard lock(f.mutex);
    EXPECT_EQ(f.reports, (std::vector<std::string>{"voided 1/5", "persisted 1/10"}));
}

// Defect: a message that reused its author's client id (resend=false on a
// message sent before) hit the unique index and was skipped, while the
// watermark moved past it: a permanent hole.
TEST(BatchWriter, AReusedClientIdIsStoredWithoutIt) {
    fixture f;
    auto w = f.make(f.options());
    w->start();
    auto first = fixture::message(1, 1), again = fixture::message(1, 2);
    again.client_msg_id = first.client_msg_id;
    w->push(first);
    w->push(again);
    w->stop();
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages"), 2);
    EXPECT_EQ(f.count("SELECT client_msg_id FROM messages WHERE seq = 2"), 0);
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM changes"), 0);  // nothing voided
    std::lock_guard lock(f.mutex);
    EXPECT_EQ(f.watermarks[1], 2u);
}

// The same client id in two rooms is two changes (one scope: room, user, id).
TEST(BatchWriter, ClientIdsAreScopedByRoom) {
    fixture f;
    auto w = f.make(f.options());
    w->start();
    auto in_one = fixture::message(1, 1), in_two = fixture::message(2, 1);
    in_two.client_msg_id = in_one.client_msg_id;
    w->push(in_one);
    w->push(in_two);
    w->stop();
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages WHERE client_msg_id = 1001"), 2);
}

TEST(BatchWriter, StopCommitsEverythingQueued) {
    fixture f;
    auto o = f.options();
    o.max_events = 1000;
    o.max_delay = 3600s;
    auto w = f.make(o);
    w->start();
    for (std::uint64_t seq = 1; seq <= 7; ++seq) w->push(fixture::message(1, seq));
    w->push(events::message_edited{1, 8, 1, 77, 3, "edited", 2000});
    w->push(events::reaction_set{1, 9, 1, 78, 2, parley::protocol::reaction_kind::heart, true, 1, 2500});
    w->push(events::message_deleted{1, 10, 1, 79, 4, 3000});
    w->stop();
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages"), 7);
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM changes"), 3);
    EXPECT_EQ(f.count("SELECT count FROM changes WHERE seq = 9 AND kind = 3 AND message_seq = 2 AND added = 1"), 1);
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages WHERE seq = 3 AND text = 'edited' AND edited_at = 2000"), 1);
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM reactions WHERE seq = 2 AND reaction = 2"), 1);
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM messages WHERE seq = 4 AND deleted_at = 3000 AND text = ''"), 1);
    EXPECT_EQ(f.count("SELECT last_seq FROM rooms WHERE id = 1"), 7);
}

TEST(BatchWriter, EventsCommitInPushOrder) {
    // A reaction removed after it was added must end up removed.
    fixture f;
    auto w = f.make(f.options());
    w->start();
    w->push(fixture::message(1, 1));
    std::uint64_t seq = 1;
    for (int i = 0; i < 5; ++i) {
        w->push(events::reaction_set{1, ++seq, 1, seq, 1, parley::protocol::reaction_kind::like, true, 1, 0});
        w->push(events::reaction_set{1, ++seq, 1, seq, 1, parley::protocol::reaction_kind::like, false, 0, 0});
    }
    w->stop();
    EXPECT_EQ(f.count("SELECT COUNT(*) FROM reactions"), 0);
}

}  // namespace

// Every load of a room starts an epoch, and a room that comes and goes from
// memory gathers many: warming up reads only the newest, oldest first.
TEST(BatchWriter, AWarmUpReadsOnlyTheNewestEpochs) {
    fixture f;
    auto w = f.make(f.options());
    w->start();
    const std::uint64_t made = parley::server::bounds::max_loaded_epochs + 36;
    for (std::uint64_t e = 1; e <= made; ++e) w->push(events::epoch_started{1, e, e * 10, 0});
    w->stop();
    database db(f.path, database::mode::read_only);
    timeline_reader reads(db);
    const auto epochs = reads.epochs(1);
    ASSERT_EQ(epochs.size(), parley::server::bounds::max_loaded_epochs);
    EXPECT_EQ(epochs.front().epoch, made - parley::server::bounds::max_loaded_epochs + 1);
    EXPECT_EQ(epochs.back().epoch, made);
    EXPECT_EQ(epochs.back().base_seq, made * 10);
    EXPECT_TRUE(reads.epochs(2).empty());
}
