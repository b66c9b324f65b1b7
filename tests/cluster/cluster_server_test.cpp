// Two Parley nodes of one cluster in one process: a real redis-server and a
// scratch PostgreSQL database started by the test, two servers with
// --cluster and --node-id over them, and clients on each. A room's members
// on both nodes see the same events at the same seqs; a resend through the
// other node is answered with the original ack; what was said reaches
// PostgreSQL exactly once and every member hears the watermark; a kick on
// one node removes the member's connection on the other.
#include "server/store/storage.hpp"
#include "tests/cluster/redis_server.hpp"
#include "tests/support/scratch_postgres.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace parley::protocol;
using parley::server::connection;
using parley::server::statement;
using parley::server::store_url;
using parley::testing::redis_server;
using parley::testing::scratch_postgres;
using parley::testing::http_call;
using parley::testing::test_server;

class cluster_server_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!redis_server::available()) GTEST_SKIP() << "redis-server is missing: apt-get install redis-server";
        std::string why;
        scratch_postgres* pg = scratch_postgres::shared(&why);
        if (!pg && !std::filesystem::exists("/usr/lib/postgresql")) GTEST_SKIP() << "PostgreSQL is not installed: " << why;
        ASSERT_NE(pg, nullptr) << why;
        url_ = pg->fresh_database();
        redis_.emplace();
    }

    std::unique_ptr<test_server> node(const std::string& name) {
        return std::make_unique<test_server>([&](parley::server::config& cfg) {
            cfg.store = "postgres:" + url_;
            cfg.cluster = "redis://127.0.0.1:" + std::to_string(redis_->port());
            cfg.node_id = name;
            cfg.batch_max_delay = 200ms;  // rooms and watermarks reach PostgreSQL in a blink
        });
    }

    std::int64_t count(const std::string& sql) {
        auto db = store_url(connection::engine::postgres, url_).open(store_url::access::read_only);
        statement s = db->prepare(sql);
        s.step();
        return s.column_int(0);
    }

    /// Joins `room` on `srv`, retrying while the room is not in PostgreSQL yet
    /// (it was created on the other node, whose writer stores it within a batch).
    std::unique_ptr<parley::testing::ws_client> join_when_stored(test_server& srv, const std::string& user,
                                                                 const std::string& room, std::uint32_t want) {
        for (int attempt = 0; attempt < 50; ++attempt) {
            if (count("SELECT count(*) FROM rooms WHERE name = '" + room + "'") == 1) {
                std::uint32_t id = 0;
                auto c = srv.join(user, room, id);
                EXPECT_EQ(id, want) << "the nodes disagree on the room";
                return c;
            }
            std::this_thread::sleep_for(100ms);
        }
        ADD_FAILURE() << room << " never reached PostgreSQL";
        return nullptr;
    }

    std::string url_;
    std::optional<redis_server> redis_;
};

TEST_F(cluster_server_test, members_on_two_nodes_share_one_order_one_dedup_one_store_and_one_kick) {
    auto a = node("node-a");
    auto b = node("node-b");
    std::uint32_t room = 0;
    auto ana = a->join("ana", "lobby", room);
    auto bob = join_when_stored(*b, "bob", "lobby", room);
    ASSERT_TRUE(bob);

    // Both directions, interleaved: one order, the same seqs on both nodes.
    std::vector<std::uint64_t> seqs;
    std::uint64_t bob_id = 0;
    for (int i = 0; i < 6; ++i) {
        auto& from = i % 2 == 0 ? ana : bob;
        auto& to = i % 2 == 0 ? bob : ana;
        const std::uint64_t cmid = 100 + static_cast<std::uint64_t>(i);
        const std::string text = "hello " + std::to_string(i);
        from->send(send_message{room, cmid, 0, text, false});
        const auto acked = from->wait_for<ack>([cmid](const ack& k) { return k.client_id == cmid; }, 5s);
        const auto seen = to->wait_for<chat_message>([&](const chat_message& m) { return m.message.text == text; }, 5s);
        EXPECT_EQ(seen.message.seq, acked.seq) << "the other node shows it at another seq";
        if (i % 2 == 1) bob_id = seen.message.author_id;
        if (!seqs.empty()) {
            EXPECT_EQ(acked.seq, seqs.back() + 1) << "seqs are not dense";
        }
        seqs.push_back(acked.seq);
    }

    // ana's first message again, through the other node, as a resend after a reconnect.
    auto ana_on_b = join_when_stored(*b, "ana", "lobby", room);
    ASSERT_TRUE(ana_on_b);
    ana_on_b->send(send_message{room, 100, 0, "hello 0", true});
    const auto again = ana_on_b->wait_for<ack>([](const ack& k) { return k.client_id == 100; }, 5s);
    EXPECT_EQ(again.seq, seqs.front()) << "a resend through another node was taken for a new message";
    EXPECT_TRUE(bob->none_of_type<chat_message>(300ms)) << "the resend was shown again";

    // Everything reaches PostgreSQL once, and both nodes' members hear it.
    const auto top = seqs.back();
    bob->wait_for<persisted_watermark>([top](const persisted_watermark& w) { return w.seq >= top; }, 10s);
    ana->wait_for<persisted_watermark>([top](const persisted_watermark& w) { return w.seq >= top; }, 10s);
    EXPECT_EQ(count("SELECT count(*) FROM messages WHERE room_id = " + std::to_string(room)), 6);
    EXPECT_EQ(count("SELECT count(DISTINCT seq) FROM messages WHERE room_id = " + std::to_string(room)), 6);
    EXPECT_EQ(count("SELECT count(*) FROM messages WHERE room_id = " + std::to_string(room) + " AND client_msg_id = 100"),
              1);

    // ana created the room on node a, so she owns it: her kick reaches bob on node b.
    ASSERT_NE(bob_id, 0u);
    ana->send(manage_room{.room_id = room, .client_id = 900, .action = room_action::kicked, .user_id = bob_id});
    const auto kick = ana->wait_for<ack>([](const ack& k) { return k.client_id == 900; }, 5s);
    EXPECT_EQ(kick.seq, top + 1);
    const auto left = bob->wait_for<room_left>(5s);
    EXPECT_EQ(left.reason, leave_reason::kicked);
    ana->send(send_message{room, 901, 0, "after the kick", false});
    ana->wait_for<ack>([](const ack& k) { return k.client_id == 901; }, 5s);
    EXPECT_TRUE(bob->none_of_type<chat_message>(300ms)) << "a kicked member still gets the room's messages";
}

// A node that cannot reach Redis cannot take a room's events: /healthz says
// so (503, "degraded", and why), so a load balancer sends its clients to
// another node; once Redis is back, the node is healthy again by itself.
TEST_F(cluster_server_test, health_is_degraded_while_redis_is_unreachable_and_metrics_show_the_cluster) {
    auto a = node("node-a");
    auto healthy = [&] { return http_call(a->port(), "GET", "/healthz"); };
    for (int i = 0; i < 50 && healthy().status != 200; ++i) std::this_thread::sleep_for(50ms);
    ASSERT_EQ(healthy().status, 200);
    std::uint32_t room = 0;
    auto ana = a->join("ana", "lobby", room);
    ana->send(send_message{room, 1, 0, "counted", false});
    ana->wait_for<ack>([](const ack& k) { return k.client_id == 1; }, 5s);
    const auto metrics = http_call(a->port(), "GET", "/metrics").body;
    for (const char* line : {"parley_cluster_redis_up 1", "parley_cluster_rooms 1", "parley_cluster_proposals_total 2",
                             "parley_cluster_seeds_total 1"})
        EXPECT_NE(metrics.find(line), std::string::npos) << line << " missing from\n" << metrics;

    redis_->kill();
    nlohmann::json body;
    int status = 0;
    for (int i = 0; i < 100 && status != 503; ++i) {
        std::this_thread::sleep_for(50ms);
        const auto r = healthy();
        status = r.status;
        body = nlohmann::json::parse(r.body);
    }
    EXPECT_EQ(status, 503);
    EXPECT_EQ(body["status"], "degraded");
    ASSERT_TRUE(body.contains("problems"));
    EXPECT_NE(body["problems"][0].get<std::string>().find("redis unreachable"), std::string::npos);
    // A message now cannot be sequenced: the sender is told to retry, nothing is lost.
    ana->send(send_message{room, 2, 0, "while redis is down", false});
    const auto refused = ana->wait_for<error_report>(5s);
    EXPECT_EQ(static_cast<error_code>(refused.code), error_code::room_unavailable);

    redis_->start();
    for (int i = 0; i < 100 && healthy().status != 200; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(healthy().status, 200);
}

// Rooms created on both nodes at once never share an id: ids come from the
// cluster in blocks, not from each node's own count.
TEST_F(cluster_server_test, rooms_created_on_two_nodes_get_distinct_ids) {
    auto a = node("node-a");
    auto b = node("node-b");
    auto ana = a->connect("ana");
    auto bob = b->connect("bob");
    std::set<std::uint32_t> ids;
    for (int i = 0; i < 5; ++i) {
        ana->send(create_room{.client_id = 10u + static_cast<unsigned>(i), .name = "a-room-" + std::to_string(i)});
        bob->send(create_room{.client_id = 20u + static_cast<unsigned>(i), .name = "b-room-" + std::to_string(i),
                              .type = room_kind::private_room});
        ids.insert(ana->wait_for<room_joined>(5s).room_id);
        ids.insert(bob->wait_for<room_joined>(5s).room_id);
    }
    EXPECT_EQ(ids.size(), 10u) << "two rooms got one id";
    for (int i = 0; i < 50 && count("SELECT count(*) FROM rooms") < 10; ++i) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(count("SELECT count(*) FROM rooms"), 10) << "a room was lost on its way to PostgreSQL";
}

// Typing on one node shows on the other, and stops there when it stops here.
TEST_F(cluster_server_test, typing_on_one_node_shows_on_the_other) {
    auto a = node("node-a");
    auto b = node("node-b");
    std::uint32_t room = 0;
    auto ana = a->join("ana", "lobby", room);
    auto bob = join_when_stored(*b, "bob", "lobby", room);
    ASSERT_TRUE(bob);
    ana->send(set_typing{room, true});
    const auto on = bob->wait_for<typing_update>([](const typing_update& t) { return t.user.name == "ana"; }, 5s);
    EXPECT_TRUE(on.active);
    ana->send(set_typing{room, false});
    const auto off = bob->wait_for<typing_update>([](const typing_update& t) { return t.user.name == "ana"; }, 5s);
    EXPECT_FALSE(off.active);
    EXPECT_TRUE(ana->none_of_type<typing_update>(200ms)) << "ana was shown her own typing";
}

}  // namespace
