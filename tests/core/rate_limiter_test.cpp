#include "server/core/rate_limiter.hpp"

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

namespace {

using parley::server::retry_discipline;

TEST(RetryDiscipline, AClientThatWaitsAsToldNeverViolates) {
    retry_discipline d(3, 10s);
    auto t = retry_discipline::clock::now();
    for (int i = 0; i < 100; ++i) {
        EXPECT_FALSE(d.refused(retry_discipline::limit::messages, t, 500ms)) << i;
        t += 500ms;  // retries exactly when told, and is refused again (another tab took the token)
    }
    EXPECT_EQ(d.violations(t), 0.0);
}

TEST(RetryDiscipline, RetryingEarlyIsAViolationAndEnoughOfThemClose) {
    retry_discipline d(3, 10s);
    const auto t = retry_discipline::clock::now();
    EXPECT_FALSE(d.refused(retry_discipline::limit::messages, t, 500ms));  // the first refusal is no fault
    EXPECT_FALSE(d.refused(retry_discipline::limit::messages, t + 1ms, 500ms));
    EXPECT_FALSE(d.refused(retry_discipline::limit::messages, t + 2ms, 500ms));
    EXPECT_FALSE(d.refused(retry_discipline::limit::messages, t + 3ms, 500ms));
    EXPECT_TRUE(d.refused(retry_discipline::limit::messages, t + 4ms, 500ms));
}

TEST(RetryDiscipline, LimitsAreJudgedApartAndViolationsAreForgiven) {
    retry_discipline d(3, 10s);
    const auto t = retry_discipline::clock::now();
    d.refused(retry_discipline::limit::messages, t, 5000ms);
    EXPECT_FALSE(d.refused(retry_discipline::limit::history, t, 500ms));  // told nothing about history yet
    EXPECT_EQ(d.violations(t), 0.0);
    d.refused(retry_discipline::limit::messages, t + 1ms, 5000ms);
    d.refused(retry_discipline::limit::messages, t + 2ms, 5000ms);
    EXPECT_NEAR(d.violations(t + 2ms), 2.0, 0.01);
    EXPECT_NEAR(d.violations(t + 10s), 1.0, 0.01);
    EXPECT_EQ(d.violations(t + 60s), 0.0);
}

}  // namespace
