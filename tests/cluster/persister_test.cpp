// The persister (persister.hpp) between a real redis-server and a real
// PostgreSQL database (scripts/pg-scratch.sh), with the real batch writer:
// events published through the sequencer reach the store exactly once and
// leave the outboxes, watermarks follow, a persister that dies holding
// entries (written or not) hands them to the next lease holder, bodies that
// can never be written are dropped and counted, and reading stops while
// the writer is behind.
#include "server/cluster/event_codec.hpp"
#include "server/cluster/persister.hpp"
#include "server/store/batch_writer.hpp"
#include "server/store/migrations.hpp"
#include "tests/cluster/redis_fixture.hpp"
#include "tests/support/scratch_postgres.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace parley::server;
using namespace parley::server::cluster;
using parley::testing::scratch_postgres;

constexpr unsigned partitions = 4;
constexpr std::uint32_t rooms = 6;     // partitions 1, 2, 3, 0, 1, 2
constexpr std::uint64_t epoch = 4711;

/// A Redis client and the sequencer over it, for one role of one node.
struct link {
    link(boost::asio::io_context& io, redis_options o)
        : client(io, std::move(o), redis_client::callbacks{[this] { ++connected; }, {}, {}}),
          seq(client, sequencer_options{.partitions = partitions}) {}
    int connected = 0;
    redis_client client;
    sequencer seq;
};

/// An event sink that keeps what it gets; the test reports it persisted or not.
struct holding_sink : event_sink {
    void push(storage_event e) override {
        std::lock_guard lock(mutex);
        events.push_back(std::move(e));
    }
    std::size_t backlog() const override {
        std::lock_guard lock(mutex);
        return events.size();
    }
    mutable std::mutex mutex;
    std::vector<storage_event> events;
};

class persister_test : public parley::testing::redis_fixture {
protected:
    void SetUp() override {
        redis_fixture::SetUp();
        if (IsSkipped()) return;
        std::string why;
        scratch_postgres* pg = scratch_postgres::shared(&why);
        if (!pg && !std::filesystem::exists("/usr/lib/postgresql")) GTEST_SKIP() << "PostgreSQL is not installed: " << why;
        ASSERT_NE(pg, nullptr) << why;
        store = store_url(connection::engine::postgres, pg->fresh_database());
        auto db = store.open(store_url::access::read_write);
        migrate(*db);
        db->exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES"
                 "(1, 'ana', 'ana', 'x', 0), (2, 'bo', 'bo', 'x', 0)");
        for (std::uint32_t r = 1; r <= rooms; ++r)
            db->exec("INSERT INTO rooms(id, name, title, created_by, created_at) VALUES(" + std::to_string(r) + ", 'r" +
                     std::to_string(r) + "', 'R', 1, 0)");
        publisher = connect();
        for (std::uint32_t r = 1; r <= rooms; ++r) {
            bool seeded = false;
            publisher->seq.seed(r, epoch, 1, 0, [&](outcome<seed_result> o) { seeded = o && o.value().seeded; });
            ASSERT_TRUE(run_until([&] { return seeded; }));
        }
    }

    std::unique_ptr<link> connect() {
        auto l = std::make_unique<link>(io_, options());
        l->client.start();
        EXPECT_TRUE(run_until([&] { return l->connected == 1; }));
        bool loaded = false;
        l->seq.load([&](outcome<acknowledged> o) { loaded = o.ok(); });
        EXPECT_TRUE(run_until([&] { return loaded; }));
        return l;
    }

    /// Publishes `n` messages spread over the rooms; returns the top seq of each room.
    void publish(int n, std::uint64_t first_author_msg = 1) {
        int answered = 0;
        for (int i = 0; i < n; ++i) {
            const std::uint32_t room = 1 + static_cast<std::uint32_t>(i) % rooms;
            const std::uint64_t seq = ++top[room];
            const std::string body = encode_storage_event(events::message_posted{
                room, seq, 1 + seq % 2, first_author_msg + static_cast<std::uint64_t>(i), "m" + std::to_string(seq), 1000 + seq, 0});
            publisher->seq.publish(room, {epoch}, 1, 0, body, [&, seq](outcome<publish_result> o) {
                EXPECT_TRUE(o && o.value().status == publish_status::ok && o.value().seq == seq) << o;
                ++answered;
            });
        }
        ASSERT_TRUE(run_until([&] { return answered == n; }));
    }

    /// One node's persister with its two Redis connections.
    struct node {
        std::unique_ptr<link> commands, reads;
        std::unique_ptr<persister> p;
    };
    node start_node(const std::string& id, event_sink& sink, persister_options o = {}) {
        node n{connect(), connect(), nullptr};
        o.node_id = id;
        if (o.lease_ttl == persister_options{}.lease_ttl) {
            o.lease_ttl = 900ms;
            o.renew_every = 300ms;
        }
        o.idle_poll = 20ms;
        o.retry = 50ms;
        n.p = std::make_unique<persister>(io_.get_executor(), n.commands->seq, n.reads->seq, sink, o);
        n.p->start();
        return n;
    }

    std::unique_ptr<batch_writer> writer(std::function<void(std::uint32_t, std::uint64_t)> persisted) {
        batch_writer::options o;
        o.max_events = 200;
        o.max_delay = 20ms;
        o.max_backoff = 50ms;
        auto w = std::make_unique<batch_writer>(store, o, stats, batch_writer::reports{std::move(persisted), {}});
        w->start();
        return w;
    }

    std::int64_t count(const std::string& sql) {
        auto db = store.open(store_url::access::read_only);
        statement s = db->prepare(sql);
        s.step();
        return s.column_int(0);
    }
    std::int64_t messages() { return count("SELECT count(*) FROM messages"); }
    std::int64_t outbox_entries() {
        std::int64_t n = 0;
        for (unsigned p = 0; p < partitions; ++p) n += server_->call({"XLEN", publisher->seq.keys().outbox(p)}).as_int();
        return n;
    }
    std::uint64_t persisted_mark(std::uint32_t room) {
        const auto v = server_->call({"HGET", publisher->seq.keys().keys_of(room).meta, "persisted"});
        return std::stoull(v.as_string());
    }
    bool all_marked() {
        for (std::uint32_t r = 1; r <= rooms; ++r)
            if (persisted_mark(r) != top[r]) return false;
        return true;
    }
    /// Every room holds seqs 1..top exactly once, each with its own text.
    void expect_dense_and_unique() {
        for (std::uint32_t r = 1; r <= rooms; ++r) {
            const std::string where = " FROM messages WHERE room_id = " + std::to_string(r);
            EXPECT_EQ(count("SELECT count(*)" + where), static_cast<std::int64_t>(top[r])) << "room " << r;
            EXPECT_EQ(count("SELECT count(DISTINCT seq)" + where), static_cast<std::int64_t>(top[r]));
            EXPECT_EQ(count("SELECT coalesce(max(seq), 0)" + where), static_cast<std::int64_t>(top[r]));
            EXPECT_EQ(count("SELECT count(*)" + where + " AND text <> 'm' || seq"), 0) << "a text at the wrong seq";
        }
    }

    store_url store;
    metrics stats;
    std::unique_ptr<link> publisher;
    std::map<std::uint32_t, std::uint64_t> top;
};

TEST_F(persister_test, every_entry_reaches_the_store_once_and_leaves_the_outbox) {
    std::unique_ptr<persister>* target = nullptr;
    auto w = writer([&](std::uint32_t room, std::uint64_t seq) {
        if (target) (*target)->persisted(room, seq);
    });
    node a = start_node("node-a", *w);
    target = &a.p;
    ASSERT_TRUE(run_until([&] { return a.p->stats().held == partitions; })) << "the only node took every lease";
    publish(600);
    ASSERT_TRUE(run_until([&] { return messages() == 600 && outbox_entries() == 0 && all_marked(); }, 20s))
        << messages() << " stored, " << outbox_entries() << " in outboxes";
    expect_dense_and_unique();
    // Redis deleted them before their replies reached the persister.
    EXPECT_TRUE(run_until([&] { return a.p->stats().acknowledged == 600; }));
    const auto s = a.p->stats();
    EXPECT_EQ(s.taken, 600u);
    EXPECT_EQ(s.unpersisted, 0u);
    EXPECT_EQ(s.malformed, 0u);
    EXPECT_EQ(s.takeovers, partitions);
    a.p->stop();
    run_for(100ms);
    EXPECT_EQ(server_->call({"EXISTS", publisher->seq.keys().lease(0)}).as_int(), 0) << "stop() gives the leases up";
    w->stop();
}

TEST_F(persister_test, a_dead_persisters_entries_go_to_the_next_holder_and_are_written_once) {
    // Node A writes with a writer whose reports never reach it: it stores
    // what it reads but dies before acknowledging anything.
    auto wa = writer({});
    node a = start_node("node-a", *wa);
    ASSERT_TRUE(run_until([&] { return a.p->stats().held == partitions; }));
    publish(300);
    ASSERT_TRUE(run_until([&] { return a.p->stats().taken == 300; }, 10s));
    wa->stop();  // A's last batch is on disk
    EXPECT_EQ(messages(), 300);
    ASSERT_EQ(outbox_entries(), 300) << "acknowledged without a report";

    // A dies: its connections drop first, so it cannot give its leases up.
    a.commands->client.stop();
    a.reads->client.stop();
    a.p.reset();
    publish(150, 1000);  // more arrive meanwhile, behind A's pending ones

    std::unique_ptr<persister>* target = nullptr;
    auto wb = writer([&](std::uint32_t room, std::uint64_t seq) {
        if (target) (*target)->persisted(room, seq);
    });
    node b = start_node("node-b", *wb);
    target = &b.p;
    ASSERT_TRUE(run_until([&] { return b.p->stats().held == partitions; }, 5s)) << "A's leases did not lapse";
    ASSERT_TRUE(run_until([&] { return messages() == 450 && outbox_entries() == 0 && all_marked(); }, 20s))
        << messages() << " stored, " << outbox_entries() << " in outboxes";
    expect_dense_and_unique();
    EXPECT_EQ(b.p->stats().claimed, 300u) << "B claimed A's pending entries";
    EXPECT_EQ(b.p->stats().taken, 450u);
    b.p->stop();
    run_for(50ms);
    wb->stop();
}

TEST_F(persister_test, bodies_that_cannot_be_written_are_dropped_and_counted) {
    std::unique_ptr<persister>* target = nullptr;
    auto w = writer([&](std::uint32_t room, std::uint64_t seq) {
        if (target) (*target)->persisted(room, seq);
    });
    node a = start_node("node-a", *w);
    target = &a.p;
    publish(6);  // seq 1 of every room
    int answered = 0;
    auto publish_raw = [&](std::uint32_t room, std::string body) {
        ++top[room];
        publisher->seq.publish(room, {epoch}, 1, 0, std::move(body), [&](outcome<publish_result> o) {
            EXPECT_TRUE(o) << o;
            ++answered;
        });
    };
    publish_raw(1, "not an event");  // room 1 seq 2
    publish_raw(2, encode_storage_event(events::message_posted{2, 99, 1, 5, "wrong seq", 1, 0}));  // room 2 seq 2
    ASSERT_TRUE(run_until([&] { return answered == 2; }));
    publish(6, 100);  // seq 3 of rooms 1 and 2, seq 2 of the others
    ASSERT_TRUE(run_until([&] { return a.p->stats().malformed == 2 && outbox_entries() == 0; }, 10s))
        << a.p->stats().malformed << " dropped, " << outbox_entries() << " in outboxes";
    ASSERT_TRUE(run_until([&] { return messages() == 12; }, 10s));
    EXPECT_EQ(count("SELECT count(*) FROM messages WHERE room_id = 1 AND seq = 2"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM messages WHERE seq = 99"), 0);
    a.p->stop();
    run_for(50ms);
    w->stop();
}

TEST_F(persister_test, reading_waits_while_the_writer_is_behind) {
    holding_sink sink;
    persister_options o;
    o.max_unpersisted = 20;
    o.take_count = 5;
    node a = start_node("node-a", sink, o);
    ASSERT_TRUE(run_until([&] { return a.p->stats().held == partitions; }));
    publish(120);
    run_for(500ms);
    // One take may add up to take_count from each partition beyond the bound.
    EXPECT_GE(a.p->stats().taken, 20u);
    EXPECT_LT(a.p->stats().taken, 20u + 5 * partitions);
    const std::size_t held_back = a.p->stats().taken;
    {
        std::lock_guard lock(sink.mutex);
        for (const auto& e : sink.events) {
            const auto where = sequence_of(e);
            a.p->persisted(where->first, where->second);
        }
    }
    ASSERT_TRUE(run_until([&] { return a.p->stats().taken > held_back; })) << "reading did not resume";
    a.p->stop();
    run_for(50ms);
}

}  // namespace
