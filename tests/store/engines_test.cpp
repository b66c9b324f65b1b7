// The same storage code on both engines: every case runs on a SQLite file
// and on a database of a scratch PostgreSQL server (scripts/pg-scratch.sh),
// and must give the same results. PostgreSQL-only cases (several writers
// as several nodes would be, a server restart) follow.
#include "server/store/accounts.hpp"
#include "server/store/batch_writer.hpp"
#include "server/store/migrations.hpp"
#include "server/store/postgres.hpp"
#include "server/store/storage.hpp"
#include "tests/support/scratch_postgres.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <set>
#include <thread>

namespace {

using namespace parley::server;
namespace protocol = parley::protocol;
using namespace std::chrono_literals;
using parley::testing::scratch_postgres;
using parley::testing::temp_dir;

class Engines : public ::testing::TestWithParam<connection::engine> {
protected:
    void SetUp() override {
        if (GetParam() == connection::engine::sqlite) {
            store = store_url((dir.path() / "parley.db").string());
            return;
        }
        std::string why;
        scratch_postgres* pg = scratch_postgres::shared(&why);
        if (!pg && !std::filesystem::exists("/usr/lib/postgresql")) GTEST_SKIP() << "PostgreSQL is not installed: " << why;
        ASSERT_NE(pg, nullptr) << why;
        store = store_url(connection::engine::postgres, pg->fresh_database());
    }

    /// Migrated, with users 1 (ana) and 2 (bo) and public room 1 "one".
    void seed() {
        auto db = store.open(store_url::access::read_write);
        migrate(*db);
        db->exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES"
                 "(1, 'ana', 'ana', 'x', 0), (2, 'bo', 'bo', 'x', 0)");
        db->exec("INSERT INTO rooms(id, name, title, created_by, created_at) VALUES(1, 'one', 'One', 1, 0)");
    }

    std::int64_t count(const std::string& sql) {
        auto db = store.open(store_url::access::read_only);
        statement s = db->prepare(sql);
        s.step();
        return s.column_int(0);
    }

    std::unique_ptr<batch_writer> writer(std::size_t rows_per_insert = 0) {
        batch_writer::options o;
        o.max_rows_per_insert = rows_per_insert;
        o.max_events = 1000;
        o.max_delay = 10ms;
        o.max_backoff = 20ms;
        return std::make_unique<batch_writer>(store, o, stats, batch_writer::reports{});
    }

    /// Writes `events` in one batch and waits for the commit.
    void write(const std::vector<storage_event>& events, std::size_t rows_per_insert = 0) {
        auto w = writer(rows_per_insert);
        for (const auto& e : events) w->push(e);
        w->stop();
    }

    static events::message_posted message(std::uint64_t seq, std::uint64_t client_id = 0) {
        return {1, seq, 1, client_id == 0 ? 100 + seq : client_id, "message " + std::to_string(seq), 1000 + seq, 0};
    }

    temp_dir dir;
    store_url store;
    metrics stats;
};

TEST_P(Engines, MigratesToTheSameVersionOnceEvenWhenNodesStartTogether) {
    // Nodes start together on one PostgreSQL; a SQLite file has one server
    // (the data directory's lock), so there they run one after another.
    const auto policy = GetParam() == connection::engine::postgres ? std::launch::async : std::launch::deferred;
    std::vector<std::future<int>> starts;
    for (int i = 0; i < 4; ++i)
        starts.push_back(std::async(policy, [this] {
            auto db = store.open(store_url::access::read_write);
            return migrate(*db);
        }));
    const int latest = embedded_migrations().back().version;
    for (auto& s : starts) EXPECT_EQ(s.get(), latest);
    EXPECT_EQ(embedded_postgres_migrations().back().version, latest) << "every SQLite migration has a PostgreSQL twin";
    auto db = store.open(store_url::access::read_write);
    EXPECT_EQ(schema_version(*db), latest);
    EXPECT_EQ(migrate(*db), latest);  // nothing left to do
    if (GetParam() == connection::engine::postgres) {
        EXPECT_EQ(count("SELECT COUNT(*) FROM parley_schema"), 2);  // 8 (the whole schema) and 9
    }
}

TEST_P(Engines, WhatTheWriterStoresReadsBackTheSame) {
    seed();
    member_state bo{2, "bo", member_status::member, protocol::room_role::member, false, 0, 7};
    write({events::epoch_started{1, 0xfeedfacecafebeefULL, 0, 5},
           message(1), message(2), message(3),
           events::message_edited{1, 4, 1, 501, 2, "edited two", 2000},
           events::reaction_set{1, 5, 2, 502, 3, protocol::reaction_kind::like, true, 1, 2001},
           events::message_deleted{1, 6, 1, 503, 1, 2002},
           events::room_changed{1, 7, 2, 504, protocol::room_action::joined, 2, protocol::room_role::member,
                                protocol::room_kind::public_room, "", 2003, {bo}, std::nullopt}});

    auto db = store.open(store_url::access::read_only);
    timeline_reader reads(*db);
    const event_page page = reads.events(1, 1, 100);
    ASSERT_EQ(page.events.size(), 7u);
    EXPECT_EQ(page.events[3].what, timeline_event::type::edited);
    EXPECT_EQ(page.events[4].what, timeline_event::type::reacted);
    EXPECT_EQ(page.events[5].what, timeline_event::type::deleted);
    EXPECT_EQ(page.events[6].what, timeline_event::type::room);
    ASSERT_EQ(page.messages.size(), 3u);
    EXPECT_TRUE(page.messages[0].record.deleted);
    EXPECT_EQ(page.messages[0].record.deleted_by, 1u);
    EXPECT_EQ(page.messages[1].record.text, "edited two");
    ASSERT_EQ(page.messages[2].reactors.size(), 1u);
    EXPECT_EQ(page.messages[2].reactors[0].second, 2u);

    const auto epochs = reads.epochs(1);
    ASSERT_EQ(epochs.size(), 1u);
    EXPECT_EQ(epochs[0].epoch, 0xfeedfacecafebeefULL) << "a 64-bit epoch survives the signed column";
    const auto op = reads.client_op(1, 2, 502);
    ASSERT_TRUE(op.has_value());
    EXPECT_EQ(op->seq, 5u);
    EXPECT_EQ(reads.messages_before(1, 100, 2).size(), 2u);

    sql_catalog catalog(store);
    const auto hit = catalog.find({room_key::by::address, "one"}, 2, [](const stored_room&, const member_state*) { return true; });
    ASSERT_TRUE(hit.has_value());
    EXPECT_EQ(hit->room.last_seq, 7u);
    ASSERT_TRUE(hit->row.has_value());
    EXPECT_EQ(hit->row->status, member_status::member);
    const auto mine = catalog.rooms_of(2);
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].last_seq, 7u);
    const auto listed = catalog.public_rooms("", 10);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].members, 1u);
    EXPECT_EQ(catalog.max_room_id(), 1u);
}

// A batch written again, as a retry after an unknown outcome or another node
// that claimed it would, adds nothing and undoes nothing.
TEST_P(Engines, ABatchWrittenAgainChangesNothing) {
    seed();
    const std::vector<storage_event> batch{
        events::room_created{2, public_room_named("two"), "", 1, 10},
        events::epoch_started{1, 42, 0, 11},
        message(1), message(2),
        events::message_edited{1, 3, 1, 601, 1, "first edit", 12},
        events::message_edited{1, 4, 1, 602, 1, "second edit", 13},
        events::reaction_set{1, 5, 2, 603, 2, protocol::reaction_kind::like, true, 1, 14},
        events::reaction_set{1, 6, 2, 604, 2, protocol::reaction_kind::like, false, 0, 15},
    };
    write(batch);
    write(batch);                                              // all of it again
    write({batch[4], batch[6]});                               // the older edit and the add, alone
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM changes"), 4);
    EXPECT_EQ(count("SELECT COUNT(*) FROM room_epochs"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM rooms"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM reactions"), 0) << "a replayed add must not undo the later removal";
    auto db = store.open(store_url::access::read_only);
    timeline_reader reads(*db);
    EXPECT_EQ(reads.events(1, 1, 10).messages[0].record.text, "second edit") << "a replayed edit must not undo a later one";
    EXPECT_EQ(count("SELECT last_seq FROM rooms WHERE id = 1"), 2);  // bumped by messages, once
}

// resend=false on a client id used before: everyone saw a new message, so it
// is stored as one, without the id; the id keeps finding the first.
TEST_P(Engines, AReusedClientIdIsStoredWithoutIt) {
    seed();
    write({message(1, 77), message(2, 77)});
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 2);
    EXPECT_EQ(count("SELECT client_msg_id FROM messages WHERE seq = 2"), 0);
    auto db = store.open(store_url::access::read_only);
    timeline_reader reads(*db);
    ASSERT_TRUE(reads.client_op(1, 1, 77).has_value());
    EXPECT_EQ(reads.client_op(1, 1, 77)->seq, 1u);
}

// Runs of messages go in multi-row INSERTs (chunks of 256, 64, 16, 4, 1
// here on both engines): a row a chunk did not add is told apart as stored
// already or as a reused client id, row by row.
TEST_P(Engines, MessagesInChunksAreEachStoredOnce) {
    seed();
    std::vector<storage_event> batch;
    for (std::uint64_t seq = 1; seq <= 301; ++seq) batch.push_back(message(seq, seq == 200 ? 107 : 0));
    batch.push_back(events::message_edited{1, 302, 1, 900, 5, "edited", 2000});
    batch.push_back(message(303));
    write({batch.begin(), batch.begin() + 10}, 256);  // the first ten are stored already
    write(batch, 256);
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 302);
    EXPECT_EQ(count("SELECT COUNT(DISTINCT seq) FROM messages WHERE seq BETWEEN 1 AND 303"), 302);
    EXPECT_EQ(count("SELECT client_msg_id FROM messages WHERE seq = 200"), 0) << "seq 7 used client id 107 first";
    EXPECT_EQ(count("SELECT client_msg_id FROM messages WHERE seq = 7"), 107);
    EXPECT_EQ(count("SELECT client_msg_id FROM messages WHERE seq = 301"), 401);
    EXPECT_EQ(count("SELECT last_seq FROM rooms WHERE id = 1"), 303);
    auto db = store.open(store_url::access::read_only);
    timeline_reader reads(*db);
    EXPECT_EQ(reads.events(1, 5, 5).messages[0].record.text, "edited") << "the edit after the run sees its message";
    write(batch, 256);  // all of it again
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 302);
    EXPECT_EQ(count("SELECT COUNT(*) FROM changes"), 1);
}

TEST_P(Engines, TheAsyncStoreReadsOnItsOwnThreads) {
    seed();
    write({message(1), message(2), message(3)});
    sql_store reader(store, 2);
    std::promise<read_result<room_snapshot>> got;
    reader.read_snapshot(1, 1, [&](read_result<room_snapshot> r) { got.set_value(std::move(r)); });
    auto r = got.get_future().get();
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.value.recent.messages.size(), 3u);
    reader.stop();
}

// Two nodes are two `accounts` on one database: racing first registrations
// make one admin, a name is taken once, and a session made on one is found
// on the other.
TEST_P(Engines, AccountsOnTwoNodesAgree) {
    {
        auto db = store.open(store_url::access::read_write);
        migrate(*db);
    }
    const auto cfg = parley::testing::test_config(dir.path());
    accounts node_a(store, cfg), node_b(store, cfg);
    std::vector<std::thread> racers;
    std::atomic<int> registered{0};
    for (int i = 0; i < 6; ++i)
        racers.emplace_back([&, i] {
            accounts& node = i % 2 ? node_a : node_b;
            const auto made = node.register_user("user" + std::to_string(i), "password-long-enough");
            if (std::holds_alternative<issued_session>(made)) ++registered;
        });
    for (auto& t : racers) t.join();
    EXPECT_EQ(registered.load(), 6);
    EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE is_admin != 0"), 1) << "exactly one first account";

    EXPECT_TRUE(std::holds_alternative<issued_session>(node_a.register_user("Cleo", "password-long-enough")));
    const auto again = node_b.register_user("cleo", "password-long-enough");
    ASSERT_TRUE(std::holds_alternative<account_error>(again));
    EXPECT_EQ(std::get<account_error>(again), account_error::username_taken);

    const auto login = node_a.login("CLEO", "password-long-enough");
    ASSERT_TRUE(std::holds_alternative<issued_session>(login));
    const auto& token = std::get<issued_session>(login).token;
    const auto seen = node_b.find_session(token);
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->username, "Cleo");
    node_b.revoke_session(token);
    EXPECT_FALSE(node_b.find_session(token).has_value());

    const auto invite = node_a.create_invite(0, 1, std::chrono::hours(1));
    ASSERT_TRUE(std::holds_alternative<issued_invite>(invite));
    EXPECT_EQ(node_b.list_invites(0, true).size(), 1u);
    EXPECT_EQ(node_a.verify_device_cookie(node_b.issue_device_cookie("cleo")).has_value(), true)
        << "both nodes sign device cookies with one key";
}

std::string engine_name(const ::testing::TestParamInfo<connection::engine>& p) {
    return p.param == connection::engine::sqlite ? "SQLite" : "PostgreSQL";
}

INSTANTIATE_TEST_SUITE_P(, Engines, ::testing::Values(connection::engine::sqlite, connection::engine::postgres),
                         engine_name);

// ---- PostgreSQL only --------------------------------------------------------

class Postgres : public Engines {};

// The server restarts under a writer: its commits fail as transient, it
// reconnects and retries, and every event is stored once.
TEST_P(Postgres, AServerRestartUnderTheWriterLosesNothing) {
    seed();
    auto w = writer();
    w->start();
    for (std::uint64_t seq = 1; seq <= 50; ++seq) w->push(message(seq));
    std::this_thread::sleep_for(50ms);
    scratch_postgres::shared()->restart();
    for (std::uint64_t seq = 51; seq <= 100; ++seq) w->push(message(seq));
    w->stop();
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 100);
    EXPECT_EQ(count("SELECT COUNT(DISTINCT seq) FROM messages"), 100);
}

TEST_P(Postgres, ErrorsSayWhetherARetryCanHelp) {
    seed();
    auto db = store.open(store_url::access::read_write);
    try {
        db->exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(1, 'x', 'ana', 'x', 0)");
        FAIL() << "a duplicate key was accepted";
    } catch (const db_error& e) {
        EXPECT_TRUE(e.constraint());
        EXPECT_TRUE(e.unique_violation());
        EXPECT_FALSE(e.transient());
    }
    try {
        db->exec("SELECT * FROM no_such_table");
        FAIL();
    } catch (const db_error& e) {
        EXPECT_FALSE(e.transient());
        EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos);
    }
    EXPECT_EQ(store_url::parse("postgres:postgresql://parley:secret@db/parley").describe(),
              "postgres:postgresql://parley:***@db/parley");
    EXPECT_EQ(store_url::parse("postgres:host=db password=secret dbname=parley").describe(),
              "postgres:host=db password=*** dbname=parley");
    EXPECT_THROW(store_url::parse("mysql://x"), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(, Postgres, ::testing::Values(connection::engine::postgres),
                         engine_name);

}  // namespace
