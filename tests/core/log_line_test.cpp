// The two forms of a log line: JSON that parses with every field in place
// and every hostile byte escaped, and a readable one-line text form.
#include "server/core/log_line.hpp"

#include <gtest/gtest.h>

#include <boost/system/error_code.hpp>

#include <nlohmann/json.hpp>

#include <optional>

namespace {

using namespace parley::server;
using namespace std::chrono_literals;
using json = nlohmann::json;

// 2026-12-04T13:53:18.123Z
const auto when = std::chrono::system_clock::time_point(1796392398s + 123ms);

log::record make(std::string_view msg, log::fields extra) {
    return log::record{when, log_level::warn, "ws", msg, extra};
}

TEST(LogLine, TimestampIsRfc3339UtcWithMilliseconds) {
    EXPECT_EQ(log::format_timestamp(when), "2026-12-04T13:53:18.123Z");
    EXPECT_EQ(log::format_timestamp(std::chrono::system_clock::time_point(7ms)), "1970-01-01T00:00:00.007Z");
}

TEST(LogLine, JsonHasTheStandardKeysAndTheFields) {
    const std::uint64_t conn = 42;
    const std::string user = "ana";
    const auto j = json::parse(log::format_json(
        make("read failed", {{"conn", conn}, {"user", user}, {"room", 7u}, {"remote", "127.0.0.1"},
                             {"ms", 1.5}, {"ok", false}, {"delta", -3}})));
    EXPECT_EQ(j["ts"], "2026-12-04T13:53:18.123Z");
    EXPECT_EQ(j["level"], "warn");
    EXPECT_EQ(j["component"], "ws");
    EXPECT_EQ(j["msg"], "read failed");
    EXPECT_EQ(j["conn"], 42);
    EXPECT_EQ(j["user"], "ana");
    EXPECT_EQ(j["room"], 7);
    EXPECT_EQ(j["remote"], "127.0.0.1");
    EXPECT_DOUBLE_EQ(j["ms"].get<double>(), 1.5);
    EXPECT_EQ(j["ok"], false);
    EXPECT_EQ(j["delta"], -3);
}

TEST(LogLine, JsonEscapesQuotesBackslashesAndControlCharacters) {
    const std::string nasty = "say \"hi\"\\\n{\"level\":\"error\"}\r\t\x01\x1b[31m\x7f";
    const std::string line = log::format_json(make(nasty, {{"path", nasty}}));
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
    EXPECT_EQ(line.find('\x7f'), std::string::npos);
    const auto j = json::parse(line);
    EXPECT_EQ(j["msg"], nasty);
    EXPECT_EQ(j["path"], nasty);
    EXPECT_NE(line.find(R"(\u001b)"), std::string::npos);
    EXPECT_NE(line.find(R"(\n)"), std::string::npos);
}

TEST(LogLine, InvalidUtf8BecomesTheReplacementCharacter) {
    const std::string bad = "a\xff" "b\xc3" "c\xed\xa0\x80" "d\xc0\xaf" "e\xf4\x90\x80\x80";
    const auto j = json::parse(log::format_json(make("m", {{"room_name", bad}})));  // throws on invalid UTF-8
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(j["room_name"], "a" + fffd + "b" + fffd + "c" + fffd + fffd + fffd + "d" + fffd + fffd + "e" + fffd +
                                  fffd + fffd + fffd);
    const std::string good = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x92\xac";  // é € 💬
    EXPECT_EQ(json::parse(log::format_json(make("m", {{"t", good}})))["t"], good);
}

TEST(LogLine, EmptyFieldsAreLeftOut) {
    const std::optional<int> none;
    const std::optional<int> some = 5;
    const auto j = json::parse(log::format_json(make("m", {{"user", ""}, {"a", none}, {"b", some}})));
    EXPECT_FALSE(j.contains("user"));
    EXPECT_FALSE(j.contains("a"));
    EXPECT_EQ(j["b"], 5);
}

TEST(LogLine, ErrorCodesAndStreamablesAreFormattedAsText) {
    const auto ec = make_error_code(boost::system::errc::connection_reset);
    const auto j = json::parse(log::format_json(make("m", {{"error", ec}})));
    EXPECT_EQ(j["error"], ec.message());
    EXPECT_EQ(log::format_text(make("m", {{"error", ec}})).find("error=\"" + ec.message() + "\"") != std::string::npos,
              true);
}

TEST(LogLine, TextIsOneReadableLine) {
    const std::uint64_t conn = 42;
    const std::string line = log::format_text(
        make("send queue full", {{"conn", conn}, {"user", "ana"}, {"remote", "127.0.0.1"}, {"why", "too slow"}}));
    EXPECT_EQ(line,
              "2026-12-04T13:53:18.123Z warn  ws     send queue full conn=42 user=ana remote=127.0.0.1 why=\"too slow\"");
}

TEST(LogLine, TextQuotesAndEscapesWhatCouldForgeALine) {
    const std::string line = log::format_text(make("m\nforged", {{"path", "/a b\n2026 error x=\"y\""}, {"e", ""}}));
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_NE(line.find(R"(m\nforged)"), std::string::npos);
    EXPECT_NE(line.find(R"(path="/a b\n2026 error x=\"y\"")"), std::string::npos);
    EXPECT_EQ(line.find(" e="), std::string::npos);
}

TEST(LogLine, CountsHaveThousandsSeparators) {
    EXPECT_EQ(log::format_count(0), "0");
    EXPECT_EQ(log::format_count(999), "999");
    EXPECT_EQ(log::format_count(1532), "1,532");
    EXPECT_EQ(log::format_count(1234567), "1,234,567");
}

}  // namespace
