// The administrator's console over HTTP: who may use it (the server checks
// every route and the page itself), what it shows, and what each action does
// to live connections and rooms.
#include "server/net/admin_api.hpp"

#include "protocol/packets.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace {

using namespace parley::testing;
using namespace parley::protocol;
using json = nlohmann::json;

struct AdminApi : ::testing::Test {
    test_server srv{[](parley::server::config& c) { c.room_cache_messages = 2; }};
    std::string ana = sign_up(srv.port(), "ana");  // the first account: the admin
    std::string bob = sign_up(srv.port(), "bob");

    http_result call(const std::string& token, const std::string& method, const std::string& target) {
        std::map<std::string, std::string> headers;
        if (!token.empty()) headers["Authorization"] = "Bearer " + token;
        return http_call(srv.port(), method, target, "", headers);
    }
    json get(const std::string& target) {
        auto res = call(ana, "GET", target);
        EXPECT_EQ(res.status, 200) << target << ": " << res.body;
        return json::parse(res.body, nullptr, false);
    }
    int login(const std::string& user) {
        return http_call(srv.port(), "POST", "/api/login",
                         json{{"username", user}, {"password", "correct horse"}}.dump()).status;
    }
};

TEST_F(AdminApi, OnlyAdministratorsGetThePageAndTheApi) {
    const std::vector<std::pair<std::string, std::string>> routes{
        {"GET", "/admin"},
        {"GET", "/admin.html"},
        {"GET", "/api/admin/summary"},
        {"GET", "/api/admin/users"},
        {"GET", "/api/admin/rooms"},
        {"POST", "/api/admin/users/ana/disable"},
        {"POST", "/api/admin/users/ana/disconnect"},
        {"DELETE", "/api/admin/rooms/1"},
        {"DELETE", "/api/admin/rooms/1/messages/1"},
    };
    for (const auto& [method, target] : routes) {
        EXPECT_EQ(call("", method, target).status, 401) << method << " " << target;
        EXPECT_EQ(call(bob, method, target).status, 403) << method << " " << target;
    }
    EXPECT_EQ(login("ana"), 200);  // the refused requests changed nothing
    auto page = call(ana, "GET", "/admin");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("js/admin.js"), std::string::npos) << page.body.substr(0, 200);
    EXPECT_EQ(page.headers["cache-control"], "no-store");
}

TEST_F(AdminApi, SummaryShowsTheNumbersOfMetrics) {
    auto carol = srv.connect("carol");
    carol->send_raw({0x01, 0x02, 0x03});  // not a packet: a protocol error
    carol->wait_for<error_report>();
    const json s = get("/api/admin/summary");
    EXPECT_EQ(s["connections"], 1);
    for (const char* key : {"rooms", "messages_total", "writer_backlog", "commit_latency", "slow_consumer_disconnects",
                            "protocol_errors", "recent_offenders"})
        EXPECT_TRUE(s.contains(key)) << key;
    ASSERT_FALSE(s["protocol_errors"].empty()) << s.dump();
    EXPECT_GE(s["protocol_errors"][0]["count"].get<int>(), 1);
    ASSERT_EQ(s["recent_offenders"].size(), 1u) << s.dump();
    EXPECT_EQ(s["recent_offenders"][0]["address"], "127.0.0.1");
    // The same counter as /metrics.
    const auto metrics = http_call(srv.port(), "GET", "/metrics").body;
    EXPECT_NE(metrics.find("parley_connections 1"), std::string::npos);
}

TEST_F(AdminApi, ListsUsersAndRoomsInMemoryWithTheirMembers) {
    auto b = srv.connect("bob");
    auto c = srv.connect("carol");
    b->send(join_room{"lobby", 0});
    const auto room = b->wait_for<room_joined>().room_id;
    c->send(join_room{"lobby", 0});
    c->wait_for<room_joined>();
    const json users = get("/api/admin/users")["users"];
    ASSERT_EQ(users.size(), 3u);
    EXPECT_EQ(users[0]["username"], "ana");
    EXPECT_EQ(users[0]["admin"], true);
    EXPECT_EQ(users[1]["username"], "bob");
    EXPECT_EQ(users[1]["connections"], 1);
    EXPECT_EQ(users[1]["disabled"], false);
    const json rooms = get("/api/admin/rooms")["rooms"];
    ASSERT_EQ(rooms.size(), 1u) << rooms.dump();
    EXPECT_EQ(rooms[0]["id"], room);
    EXPECT_EQ(rooms[0]["address"], "lobby");
    EXPECT_EQ(rooms[0]["kind"], "public");
    EXPECT_EQ(rooms[0]["members"], json::array({"bob", "carol"}));
    EXPECT_EQ(rooms[0]["member_count"], 2);
}

TEST_F(AdminApi, DisconnectAndDisableEndLiveConnections) {
    auto b = srv.connect("bob");
    auto gone = call(ana, "POST", "/api/admin/users/bob/disconnect");
    ASSERT_EQ(gone.status, 200) << gone.body;
    EXPECT_NE(gone.body.find("closed 1 connection of bob"), std::string::npos) << gone.body;
    EXPECT_TRUE(b->wait_closed().has_value());
    EXPECT_EQ(login("bob"), 200);  // disconnecting is not disabling

    auto again = srv.connect("bob");
    auto off = call(ana, "POST", "/api/admin/users/bob/disable");
    ASSERT_EQ(off.status, 200) << off.body;
    EXPECT_TRUE(again->wait_closed().has_value());
    EXPECT_EQ(login("bob"), 403);
    EXPECT_EQ(get("/api/admin/users")["users"][1]["disabled"], true);
    EXPECT_EQ(call(ana, "POST", "/api/admin/users/bob/enable").status, 200);
    EXPECT_EQ(login("bob"), 200);

    EXPECT_EQ(call(ana, "POST", "/api/admin/users/nobody/disable").status, 404);
    EXPECT_EQ(call(ana, "POST", "/api/admin/users/ana/disable").status, 409);  // the last admin
    EXPECT_EQ(call(ana, "POST", "/api/admin/users/bob/frobnicate").status, 404);
    EXPECT_EQ(call(ana, "GET", "/api/admin/users/bob/disable").status, 405);
    EXPECT_EQ(login("ana"), 200);
}

// The tombstone names the administrator, who never joined the room; a
// message older than the room's cache is loaded for it.
TEST_F(AdminApi, DeletesAMessageAsTheAdministrator) {
    const auto ana_id = json::parse(call(ana, "GET", "/api/me").body)["id"].get<std::uint64_t>();
    auto b = srv.connect("bob");
    b->send(join_room{"lobby", 0});
    const auto room = b->wait_for<room_joined>().room_id;
    std::uint64_t first = 0;
    for (std::uint64_t id = 1; id <= 5; ++id) {
        b->send(send_message{room, id, 0, "message " + std::to_string(id), false});
        const auto seq = b->wait_for<ack>().seq;
        if (first == 0) first = seq;
    }
    const std::string target = "/api/admin/rooms/" + std::to_string(room) + "/messages/" + std::to_string(first);
    auto del = call(ana, "DELETE", target);
    ASSERT_EQ(del.status, 200) << del.body;
    const auto tomb = b->wait_for<message_deleted>();
    EXPECT_EQ(tomb.message_seq, first);
    EXPECT_EQ(tomb.by, ana_id);
    EXPECT_EQ(call(ana, "DELETE", target).status, 200);  // already so
    EXPECT_EQ(call(ana, "DELETE", "/api/admin/rooms/" + std::to_string(room) + "/messages/999").status, 404);
    EXPECT_EQ(call(ana, "DELETE", "/api/admin/rooms/999/messages/1").status, 404);
    EXPECT_EQ(call(ana, "DELETE", "/api/admin/rooms/" + std::to_string(room) + "/messages/x").status, 404);
    EXPECT_EQ(call(bob, "DELETE", target).status, 403);
}

TEST_F(AdminApi, ClosesARoom) {
    auto b = srv.connect("bob");
    b->send(join_room{"lobby", 0});
    const auto room = b->wait_for<room_joined>().room_id;
    EXPECT_EQ(call(bob, "DELETE", "/api/admin/rooms/" + std::to_string(room)).status, 403);
    auto closed = call(ana, "DELETE", "/api/admin/rooms/" + std::to_string(room));
    ASSERT_EQ(closed.status, 200) << closed.body;
    const auto left = b->wait_for<room_left>();
    EXPECT_EQ(left.room_id, room);
    EXPECT_EQ(left.reason, leave_reason::deleted);
    EXPECT_EQ(call(ana, "DELETE", "/api/admin/rooms/" + std::to_string(room)).status, 404);
}

}  // namespace
