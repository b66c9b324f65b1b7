// The log's repeat limit, driven by a hand-moved clock.
#include "server/core/log_repeats.hpp"

#include <gtest/gtest.h>

namespace {

using namespace parley::server;
using namespace std::chrono_literals;
using repeats = log::log_repeats;

const repeats::time_point t0 = repeats::time_point(1000h);

std::size_t written(repeats& r, int lines, repeats::time_point now, std::string_view msg = "read failed") {
    std::size_t n = 0;
    for (int i = 0; i < lines; ++i) n += r.admit(log_level::warn, "ws", msg, now).write;
    return n;
}

TEST(LogRepeats, AThousandIdenticalLinesGiveTwentyAndOneSummary) {
    repeats r;
    std::size_t out = 0;
    std::vector<repeats::summary> summaries;
    for (int i = 0; i < 1000; ++i) {
        auto v = r.admit(log_level::warn, "ws", "read failed", t0 + i * 10ms);  // 10 s in all
        out += v.write;
        summaries.insert(summaries.end(), v.summaries.begin(), v.summaries.end());
    }
    EXPECT_EQ(out, 20u);
    EXPECT_TRUE(summaries.empty());
    auto later = r.admit(log_level::warn, "ws", "read failed", t0 + 61s);
    EXPECT_TRUE(later.write);  // a new window
    ASSERT_EQ(later.summaries.size(), 1u);
    EXPECT_EQ(later.summaries[0].suppressed, 980u);
    EXPECT_EQ(later.summaries[0].component, "ws");
    EXPECT_EQ(later.summaries[0].msg, "read failed");
    EXPECT_EQ(later.summaries[0].level, log_level::warn);
}

TEST(LogRepeats, KeysAreLevelComponentAndMessage) {
    repeats r;
    EXPECT_EQ(written(r, 30, t0), 20u);
    EXPECT_EQ(written(r, 30, t0, "write failed"), 20u);
    EXPECT_EQ(r.admit(log_level::error, "ws", "read failed", t0).write, true);
    EXPECT_EQ(r.admit(log_level::warn, "http", "read failed", t0).write, true);
}

TEST(LogRepeats, ASweepOnAnyLineWritesTheSummaryOfAnEndedWindow) {
    repeats r;
    written(r, 25, t0);
    const auto v = r.admit(log_level::info, "server", "something else", t0 + 60s);
    ASSERT_EQ(v.summaries.size(), 1u);
    EXPECT_EQ(v.summaries[0].suppressed, 5u);
    EXPECT_EQ(r.keys(), 1u);  // the ended key is forgotten
}

TEST(LogRepeats, DrainGivesEverySuppressedCountOnce) {
    repeats r;
    written(r, 50, t0);
    written(r, 10, t0, "quiet");
    const auto first = r.drain();
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].suppressed, 30u);
    EXPECT_TRUE(r.drain().empty());
    written(r, 2, t0 + 1s);  // still over the limit in this window
    const auto second = r.drain();
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].suppressed, 2u);
}

TEST(LogRepeats, TheTableIsBoundedAndANewKeyBeyondItIsWritten) {
    repeats r({.max_per_window = 1, .window = 60s, .sweep_every = 1s, .max_keys = 3});
    for (const char* m : {"a", "b", "c"}) written(r, 1, t0, m);
    EXPECT_EQ(r.keys(), 3u);
    EXPECT_EQ(written(r, 5, t0, "d"), 5u);  // untracked: never limited
    EXPECT_EQ(r.keys(), 3u);
    EXPECT_EQ(written(r, 5, t0 + 61s, "d"), 1u);  // the sweep made room
}

}  // namespace
