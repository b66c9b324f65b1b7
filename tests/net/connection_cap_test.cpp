#include "server/net/connection_cap.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using parley::server::connection_cap;
namespace ip = boost::asio::ip;

const ip::address one = ip::make_address("127.0.0.1");
const ip::address two = ip::make_address("127.0.0.2");

TEST(ConnectionCap, RefusesOneOverTheCapPerAddressOnly) {
    connection_cap cap(3);
    std::vector<connection_cap::slot> held;
    for (int i = 0; i < 3; ++i) held.push_back(cap.try_acquire(one));
    for (const auto& s : held) EXPECT_TRUE(s);
    EXPECT_FALSE(cap.try_acquire(one));
    EXPECT_EQ(cap.open_from(one), 3u);  // a refusal holds nothing
    EXPECT_TRUE(cap.try_acquire(two));  // another address has its own count
}

TEST(ConnectionCap, ASlotIsGivenBackOnceWhenDestroyedOrMovedOver) {
    connection_cap cap(1);
    {
        auto a = cap.try_acquire(one);
        auto b = std::move(a);  // the moved-from slot gives nothing back
        EXPECT_FALSE(cap.try_acquire(one));
        a = std::move(b);
        EXPECT_EQ(cap.open_from(one), 1u);
    }
    EXPECT_EQ(cap.open_from(one), 0u);
    auto c = cap.try_acquire(one);
    EXPECT_TRUE(c);
    c = cap.try_acquire(two);  // assigning over a held slot gives it back
    EXPECT_EQ(cap.open_from(one), 0u);
    EXPECT_EQ(cap.open_from(two), 1u);
}

TEST(ConnectionCap, MappedIpv4CountsAsIpv4) {
    connection_cap cap(1);
    auto a = cap.try_acquire(ip::make_address("::ffff:127.0.0.1"));
    EXPECT_TRUE(a);
    EXPECT_FALSE(cap.try_acquire(one));
}

TEST(ConnectionCap, ZeroMeansNoCap) {
    connection_cap cap(0);
    std::vector<connection_cap::slot> held;
    for (int i = 0; i < 1000; ++i) held.push_back(cap.try_acquire(one));
    EXPECT_TRUE(held.back());
    EXPECT_EQ(cap.open_from(one), 1000u);
}

TEST(ConnectionCap, SlotsMayOutliveTheCap) {
    connection_cap::slot s;
    {
        connection_cap cap(1);
        s = cap.try_acquire(one);
    }
    EXPECT_TRUE(s);  // destroyed later without touching freed memory (ASan checks)
}

}  // namespace
