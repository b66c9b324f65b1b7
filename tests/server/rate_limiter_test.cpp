#include "server/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace {

using parley::server::rate_limiter;
using namespace std::chrono_literals;

TEST(RateLimiter, AllowsABurstThenRefusesWithTheWait) {
    rate_limiter limiter(2, 3);  // 2 per second, bursts of 3
    const auto t0 = rate_limiter::clock::now();
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.acquire(1, t0).has_value());
    const auto wait = limiter.acquire(1, t0);
    ASSERT_TRUE(wait.has_value());
    EXPECT_EQ(wait->count(), 500);
}

TEST(RateLimiter, RefillsAtTheRate) {
    rate_limiter limiter(10, 1);
    const auto t0 = rate_limiter::clock::now();
    EXPECT_FALSE(limiter.acquire(1, t0));
    EXPECT_TRUE(limiter.acquire(1, t0 + 50ms));
    EXPECT_FALSE(limiter.acquire(1, t0 + 110ms));
}

TEST(RateLimiter, KeysAreIndependent) {
    rate_limiter limiter(1, 1);
    const auto t0 = rate_limiter::clock::now();
    EXPECT_FALSE(limiter.acquire(1, t0));
    EXPECT_TRUE(limiter.acquire(1, t0));
    EXPECT_FALSE(limiter.acquire(2, t0));
    EXPECT_FALSE(limiter.acquire(std::string("10.0.0.1"), t0));
}

TEST(RateLimiter, BurstNeverExceedsItsCapacityAfterIdleTime) {
    rate_limiter limiter(100, 2);
    const auto t0 = rate_limiter::clock::now();
    EXPECT_FALSE(limiter.acquire(1, t0));
    const auto later = t0 + 1h;
    EXPECT_FALSE(limiter.acquire(1, later));
    EXPECT_FALSE(limiter.acquire(1, later));
    EXPECT_TRUE(limiter.acquire(1, later));
}

}  // namespace
