#include "server/net/login_guard.hpp"

#include <gtest/gtest.h>

namespace {

using parley::server::login_guard;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

const login_guard::options opts{.free_failures = 5, .address_failures = 20, .device_failures = 10, .decay = 60s,
                                .max_wait = 900s};

TEST(LoginGuard, OneAccountFromManyAddressesIsSlowedDown) {
    login_guard g(opts);
    auto t = login_guard::clock::now();
    for (int i = 0; i < 5; ++i) {
        const std::string addr = "10.0.0." + std::to_string(i);
        ASSERT_EQ(g.check({addr, "bob", ""}, t), ms(0)) << i;
        g.failed({addr, "bob", ""}, t);
    }
    // The sixth guess waits, from any address, and the waits double.
    EXPECT_EQ(g.check({"10.9.9.9", "bob", ""}, t), ms(1000));
    t += 1s;
    EXPECT_EQ(g.check({"10.9.9.9", "bob", ""}, t), ms(0));
    g.failed({"10.9.9.9", "bob", ""}, t);
    EXPECT_GT(g.check({"10.9.9.8", "bob", ""}, t), ms(1900));
    // Other accounts are not affected.
    EXPECT_EQ(g.check({"10.9.9.9", "ana", ""}, t), ms(0));
}

TEST(LoginGuard, ATrustedDeviceIsNeverLockedOutByGuessers) {
    login_guard g(opts);
    const auto t = login_guard::clock::now();
    for (int i = 0; i < 40; ++i) g.failed({"10.0.0.1", "bob", ""}, t);
    EXPECT_GT(g.check({"10.0.0.1", "bob", ""}, t), ms(0));
    EXPECT_EQ(g.check({"10.0.0.1", "bob", "bobs-laptop"}, t), ms(0));  // same address even
    g.succeeded({"10.0.0.1", "bob", "bobs-laptop"}, t);
    // A success clears the account: the next untrusted attempt waits only for the address.
    EXPECT_EQ(g.check({"10.0.0.2", "bob", ""}, t), ms(0));
}

TEST(LoginGuard, AnAddressThatGuessesAtManyAccountsIsStopped) {
    login_guard g(opts);
    const auto t = login_guard::clock::now();
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(g.check({"10.0.0.1", "user" + std::to_string(i), ""}, t), ms(0)) << i;
        g.failed({"10.0.0.1", "user" + std::to_string(i), ""}, t);
    }
    EXPECT_EQ(g.check({"10.0.0.1", "someone-new", ""}, t), ms(60000));
    EXPECT_EQ(g.check({"10.0.0.2", "someone-new", ""}, t), ms(0));
    // A real user there who signed in from this browser before is let through.
    EXPECT_EQ(g.check({"10.0.0.1", "ana", "anas-phone"}, t), ms(0));
    // The address is forgiven one failure per minute.
    EXPECT_EQ(g.check({"10.0.0.1", "someone-new", ""}, t + 60s), ms(0));
}

TEST(LoginGuard, ADeviceCookieIsNoGuessingLicence) {
    login_guard g(opts);
    const auto t = login_guard::clock::now();
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(g.check({"10.0.0.1", "bob", "stolen"}, t), ms(0)) << i;
        g.failed({"10.0.0.1", "bob", "stolen"}, t);
    }
    // Past its own budget the device counts as untrusted: account limits apply.
    for (int i = 0; i < 5; ++i) g.failed({"10.0.0.1", "bob", "stolen"}, t);
    EXPECT_GT(g.check({"10.0.0.1", "bob", "stolen"}, t), ms(0));
}

TEST(LoginGuard, FailuresDecayAndIdleCountersAreForgotten) {
    login_guard g(opts);
    const auto t = login_guard::clock::now();
    for (int i = 0; i < 8; ++i) g.failed({"10.0.0.1", "bob", ""}, t);
    EXPECT_GT(g.check({"10.0.0.2", "bob", ""}, t), ms(0));
    EXPECT_EQ(g.check({"10.0.0.2", "bob", ""}, t + 4min), ms(0));  // 8 - 4 = 4 failures left: free
}

}  // namespace
