// The server's log as an operator's pipeline reads it: a real server with
// --log-format json, a user who registers, signs in and chats, and plain
// HTTP requests. Every line of stderr must be a JSON object with the standard
// keys, each HTTP request must have its access line, and none of the user's
// secrets (password, session tokens, message text) may appear anywhere.
#include "tests/support/live_server.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

namespace {

using namespace parley::testing;
using namespace parley::protocol;
using json = nlohmann::json;

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string credentials(const std::string& user, const std::string& password) {
    return json{{"username", user}, {"password", password}}.dump();
}

TEST(Log, JsonLinesWithAccessLinesAndNoSecrets) {
    live_server srv({"--log-format", "json", "--log-level", "info"});
    const std::string password = "zebra-violin-7731";
    const std::string text = "the eagle lands at midnight 4412";

    auto reg = http_call(srv.port(), "POST", "/api/register", credentials("logan", password));
    ASSERT_EQ(reg.status, 201) << reg.body;
    const std::string token = json::parse(reg.body)["token"];
    auto login = http_call(srv.port(), "POST", "/api/login", credentials("logan", password));
    ASSERT_EQ(login.status, 200) << login.body;
    const std::string token2 = json::parse(login.body)["token"];
    EXPECT_EQ(http_call(srv.port(), "GET", "/api/me", {}, {{"Cookie", "parley_session=" + token2}}).status, 200);
    EXPECT_EQ(http_call(srv.port(), "GET", "/healthz?token=" + token).status, 200);  // a token in the query
    EXPECT_EQ(http_call(srv.port(), "GET", "/no/such/file.js").status, 404);

    {
        ws_client c({.port = srv.port(), .headers = {{"Cookie", "parley_session=" + token}}});
        c.wait_for<welcome>();
        c.send(join_room{"lobby", 0});
        const auto room = c.wait_for<room_joined>().room_id;
        c.send(send_message{room, 77, 0, text, false});
        c.wait_for<chat_message>([&](const chat_message& m) { return m.message.text == text; });
    }
    ASSERT_EQ(srv.stop(SIGTERM), 0);

    const auto lines = read_lines(srv.log_path());
    ASSERT_FALSE(lines.empty());
    const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
    std::set<std::string> access;  // "METHOD path status"
    bool signed_in = false;
    for (const auto& line : lines) {
        SCOPED_TRACE(line);
        json j;
        ASSERT_NO_THROW(j = json::parse(line));
        ASSERT_TRUE(j.is_object());
        for (const char* key : {"ts", "level", "component", "msg"}) ASSERT_TRUE(j[key].is_string()) << key;
        EXPECT_TRUE(std::regex_match(j["ts"].get<std::string>(), rfc3339));
        if (j["component"] == "http" && j["msg"] == "request") {
            EXPECT_EQ(j["remote"], "127.0.0.1");
            EXPECT_TRUE(j["bytes"].is_number_unsigned());
            EXPECT_TRUE(j["ms"].is_number());
            access.insert(j["method"].get<std::string>() + " " + j["path"].get<std::string>() + " " +
                          std::to_string(j["status"].get<int>()));
        }
        if (j["component"] == "ws" && j["msg"] == "signed in") signed_in = j["user"] == "logan" && j.contains("conn");
        for (const auto& secret : {password, token, token2, text}) EXPECT_EQ(line.find(secret), std::string::npos);
    }
    for (const char* want : {"POST /api/register 201", "POST /api/login 200", "GET /api/me 200", "GET /healthz 200",
                             "GET /no/such/file.js 404"})
        EXPECT_TRUE(access.count(want)) << want;
    EXPECT_TRUE(signed_in);
}

}  // namespace
