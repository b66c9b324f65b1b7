// The process-wide log: levels, formats, the repeat limit and its summary,
// through a captured output and a hand-moved clock.
#include "server/core/log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using namespace parley::server;
using namespace std::chrono_literals;
using json = nlohmann::json;

struct counted {
    int* formatted;
    friend std::ostream& operator<<(std::ostream& out, const counted& c) { return out << ++*c.formatted; }
};

class Log : public ::testing::Test {
protected:
    void SetUp() override {
        log::set_output([this](std::string_view line) { lines.emplace_back(line); }, [this] { return now; });
        log::set_format(log_format::json);
        log::set_level(log_level::info);
    }
    void TearDown() override {
        log::set_output({});
        log::set_format(log_format::text);
    }
    std::vector<std::string> lines;
    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point(1000h);
};

TEST_F(Log, JsonLinesCarryComponentMessageAndFields) {
    const std::uint64_t conn = 9;
    log::info(log::ws, "signed in", {{"conn", conn}, {"user", "ana"}, {"remote", "127.0.0.1"}});
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].back(), '\n');
    const auto j = json::parse(lines[0]);
    EXPECT_EQ(j["component"], "ws");
    EXPECT_EQ(j["msg"], "signed in");
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["conn"], 9);
    EXPECT_EQ(j["user"], "ana");
    EXPECT_TRUE(j.contains("ts"));
}

TEST_F(Log, TextIsTheOtherFormat) {
    log::set_format(log_format::text);
    log::warn(log::writer, "commit failed, will retry", {{"events", 10}});
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find(" warn  writer commit failed, will retry events=10\n"), std::string::npos) << lines[0];
}

TEST_F(Log, ADisabledLevelFormatsNothing) {
    int formatted = 0;
    log::debug(log::ws, "read failed", {{"thing", counted{&formatted}}});
    EXPECT_EQ(formatted, 0);
    EXPECT_TRUE(lines.empty());
    log::info(log::ws, "read failed", {{"thing", counted{&formatted}}});
    EXPECT_EQ(formatted, 1);
    EXPECT_EQ(json::parse(lines.at(0))["thing"], "1");
}

TEST_F(Log, RepeatsAreSuppressedAndSummarizedWithTheirCount) {
    for (int i = 0; i < 1000; ++i) log::warn(log::ws, "read failed", {{"conn", i}});
    EXPECT_LE(lines.size(), 20u);
    now += 61s;
    log::warn(log::ws, "read failed", {{"conn", 1000}});
    ASSERT_EQ(lines.size(), 22u);
    const auto summary = json::parse(lines[20]);
    EXPECT_EQ(summary["msg"], "... and 980 more like this in the last minute");
    EXPECT_EQ(summary["repeated"], "read failed");
    EXPECT_EQ(summary["count"], 980);
    EXPECT_EQ(summary["component"], "ws");
    EXPECT_EQ(summary["level"], "warn");
    EXPECT_EQ(json::parse(lines[21])["conn"], 1000);
}

TEST_F(Log, FlushWritesPendingSummariesWithThousandsSeparators) {
    for (int i = 0; i < 1552; ++i) log::error(log::net, "accept failed");
    log::flush_repeats();
    ASSERT_EQ(lines.size(), 21u);
    EXPECT_EQ(json::parse(lines.back())["msg"], "... and 1,532 more like this in the last minute");
    log::flush_repeats();
    EXPECT_EQ(lines.size(), 21u);  // said once
}

}  // namespace
