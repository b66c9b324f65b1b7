// The HTTP side of a live server: accounts API, health, metrics, the client files.
#include "server/net/api.hpp"

#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace {

using namespace parley::testing;
using json = nlohmann::json;

std::string credentials(const std::string& user, const std::string& password) {
    return json{{"username", user}, {"password", password}}.dump();
}

TEST(Api, RegisterSetsAHardenedCookieAndReturnsTheToken) {
    test_server srv;
    auto res = http_call(srv.port(), "POST", "/api/register", credentials("ana", "correct horse"));
    ASSERT_EQ(res.status, 201) << res.body;
    const auto body = json::parse(res.body);
    EXPECT_EQ(body["user"]["username"], "ana");
    const std::string token = body["token"];
    EXPECT_EQ(token.size(), 43u);  // 256 random bits, base64url
    const std::string cookie = res.headers["set-cookie"];
    EXPECT_NE(cookie.find("parley_session=" + token), std::string::npos);
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
    EXPECT_NE(cookie.find("Path=/"), std::string::npos);
}

TEST(Api, UsernamesAreUniqueIgnoringCase) {
    test_server srv;
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", credentials("Ana", "correct horse")).status, 201);
    auto again = http_call(srv.port(), "POST", "/api/register", credentials("ana", "another one"));
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(json::parse(again.body)["error"], "username_taken");
}

TEST(Api, RegistrationValidatesInput) {
    test_server srv;
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", credentials("bad name", "correct horse")).status, 400);
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", credentials("ana", "short")).status, 400);
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", "{not json").status, 400);
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", R"({"username": 5, "password": "x"})").status, 400);
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", credentials("ana", "correct horse"),
                        {{"Content-Type", "application/x-www-form-urlencoded"}})
                  .status,
              415);
    EXPECT_EQ(http_call(srv.port(), "GET", "/api/register").status, 405);
}

TEST(Api, LoginMeLogout) {
    test_server srv;
    sign_up(srv.port(), "ana");
    auto wrong = http_call(srv.port(), "POST", "/api/login", credentials("ana", "wrong password"));
    EXPECT_EQ(wrong.status, 401);
    auto unknown = http_call(srv.port(), "POST", "/api/login", credentials("nobody", "wrong password"));
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(json::parse(wrong.body)["error"], json::parse(unknown.body)["error"]);  // no user enumeration

    auto ok = http_call(srv.port(), "POST", "/api/login", credentials("ANA", "correct horse"));
    ASSERT_EQ(ok.status, 200);
    const std::string token = json::parse(ok.body)["token"];
    auto me = http_call(srv.port(), "GET", "/api/me", "", {{"Cookie", "theme=dark; parley_session=" + token}});
    ASSERT_EQ(me.status, 200);
    EXPECT_EQ(json::parse(me.body)["username"], "ana");
    EXPECT_EQ(http_call(srv.port(), "GET", "/api/me", "", {{"Authorization", "Bearer " + token}}).status, 200);

    auto out = http_call(srv.port(), "POST", "/api/logout", "", {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(out.status, 204);
    EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
    EXPECT_EQ(http_call(srv.port(), "GET", "/api/me", "", {{"Authorization", "Bearer " + token}}).status, 401);
    // A revoked token no longer opens a chat session either.
    ws_client c({.port = srv.port()});
    c.send(parley::protocol::authenticate{token});
    EXPECT_EQ(c.wait_for<parley::protocol::error_report>().code, 101);
}

TEST(Api, RoomsListNeedsAuthAndShowsRooms) {
    test_server srv;
    EXPECT_EQ(http_call(srv.port(), "GET", "/api/rooms").status, 401);
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "general", room);
    const std::string token = sign_up(srv.port(), "bob");
    auto res = http_call(srv.port(), "GET", "/api/rooms", "", {{"Authorization", "Bearer " + token}});
    ASSERT_EQ(res.status, 200);
    const auto rooms = json::parse(res.body)["rooms"];
    ASSERT_EQ(rooms.size(), 1u);
    EXPECT_EQ(rooms[0]["name"], "general");
    EXPECT_EQ(rooms[0]["id"], room);
    EXPECT_EQ(rooms[0]["online"], 1);
}

TEST(Api, LoginAttemptsAreRateLimitedPerAddress) {
    test_server srv([](auto& cfg) {
        cfg.auth_rate = 0.1;
        cfg.auth_burst = 3;
    });
    int limited = 0;
    std::string retry;
    for (int i = 0; i < 6; ++i) {
        auto res = http_call(srv.port(), "POST", "/api/login", credentials("ana", "guess" + std::to_string(i) + "xyz"));
        if (res.status == 429) {
            ++limited;
            retry = res.headers["retry-after"];
        }
    }
    EXPECT_EQ(limited, 3);
    EXPECT_FALSE(retry.empty());
}

TEST(Api, HealthAndMetrics) {
    test_server srv;
    auto health = http_call(srv.port(), "GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(json::parse(health.body)["status"], "ok");
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    ana->send(parley::protocol::send_message{room, 1, 0, "hello", false});
    ana->wait_for<parley::protocol::ack>();
    auto metrics = http_call(srv.port(), "GET", "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_EQ(metrics.headers["content-type"], "text/plain; version=0.0.4");
    for (const char* line : {"parley_connections 1", "parley_rooms 1", "parley_packets_in_total{kind=\"send_message\"} 1",
                             "parley_packets_out_total{kind=\"chat_message\"} 1", "parley_messages_total 1",
                             "# TYPE parley_broadcast_latency_seconds histogram", "parley_broadcast_latency_seconds_count 1",
                             "parley_writer_backlog", "parley_protocol_errors_total"})
        EXPECT_NE(metrics.body.find(line), std::string::npos) << line;
}

// What an operator's Prometheus reads of every process, and which build runs.
TEST(Api, MetricsDescribeTheProcessAndTheBuild) {
    test_server srv;
    const auto body = http_call(srv.port(), "GET", "/metrics").body;
    auto value = [&](const std::string& name) {
        const auto at = body.find("\n" + name + " ");
        EXPECT_NE(at, std::string::npos) << name;
        return at == std::string::npos ? -1.0 : std::strtod(body.c_str() + at + name.size() + 2, nullptr);
    };
    EXPECT_GT(value("process_resident_memory_bytes"), 1e6);  // a server holds more than a megabyte
    EXPECT_GT(value("process_virtual_memory_bytes"), value("process_resident_memory_bytes"));
    EXPECT_GE(value("process_open_fds"), 3);                   // a listener, an epoll, a database at least
    EXPECT_GE(value("process_max_fds"), value("process_open_fds"));
    EXPECT_GE(value("process_cpu_seconds_total"), 0);
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double started = value("process_start_time_seconds");
    EXPECT_LE(started, now + 1);
    EXPECT_GT(started, now - 24 * 3600);  // the test process started today
    EXPECT_NE(body.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
    EXPECT_NE(body.find("parley_build_info{version=\"" PARLEY_VERSION "\",commit=\""), std::string::npos) << body;
}

TEST(Api, ServesTheClientAndUnknownApiIs404) {
    test_server srv;
    EXPECT_EQ(http_call(srv.port(), "GET", "/api/nope").status, 404);
    EXPECT_EQ(http_call(srv.port(), "GET", "/../../etc/passwd").status, 404);
    auto big = http_call(srv.port(), "POST", "/api/login", std::string(70 * 1024, 'x'));
    EXPECT_EQ(big.status, 413);
}

}  // namespace
