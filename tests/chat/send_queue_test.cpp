#include "server/chat/send_queue.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

namespace {

using namespace parley::server;

shared_packet packet_of(std::uint8_t tag, std::size_t size = 10) {
    return make_shared_packet(parley::protocol::bytes(size, tag));
}

struct recorder {
    int wakes = 0;
    int overflows = 0;
    send_queue::waker waker() {
        return [this](bool overflow) { overflow ? ++overflows : ++wakes; };
    }
};

TEST(SendQueue, FirstPushWakesTheWriterLaterPushesOnlyAppend) {
    recorder r;
    send_queue q({}, r.waker());
    EXPECT_EQ(q.push(packet_of(1)), push_result::queued);
    EXPECT_EQ(q.push(packet_of(2)), push_result::queued);
    EXPECT_EQ(r.wakes, 1);
}

// A fan-out pushes a whole hand-off before it starts any write: an idle
// queue tells it so (queued_idle) instead of waking its writer at once.
TEST(SendQueue, ADeferredWakeIsTheCallersToGive) {
    recorder r;
    send_queue q({}, r.waker());
    EXPECT_EQ(q.push(packet_of(1), false, true), push_result::queued_idle);
    EXPECT_EQ(q.push(packet_of(2), false, true), push_result::queued);  // the writer is already due
    EXPECT_EQ(r.wakes, 0);
    q.wake();
    EXPECT_EQ(r.wakes, 1);
    std::vector<shared_packet> out;
    ASSERT_TRUE(q.take(out, 1 << 20));
    EXPECT_EQ(out.size(), 2u);
}

TEST(SendQueue, PacketsQueuedBehindASlowWriteLeaveInOrder) {
    // One write in flight (taken), more than three queued behind it: they must
    // come out in push order, however the writer batches them.
    recorder r;
    send_queue q({}, r.waker());
    std::vector<shared_packet> out;
    q.push(packet_of(0));
    ASSERT_TRUE(q.take(out, 1 << 20));  // the "slow write" now in flight
    for (std::uint8_t i = 1; i <= 50; ++i) q.push(packet_of(i));
    EXPECT_EQ(r.wakes, 1);  // no second writer while one is active
    std::vector<std::uint8_t> order{out[0]->front()};
    for (;;) {
        out.clear();
        if (!q.take(out, 35)) break;  // small budget: several takes, several batches
        for (const auto& p : out) order.push_back(p->front());
    }
    ASSERT_EQ(order.size(), 51u);
    for (std::uint8_t i = 0; i <= 50; ++i) EXPECT_EQ(order[i], i);
}

TEST(SendQueue, TakeAlwaysTakesAtLeastOnePacket) {
    recorder r;
    send_queue q({}, r.waker());
    q.push(packet_of(7, 1000));
    std::vector<shared_packet> out;
    ASSERT_TRUE(q.take(out, 10));
    EXPECT_EQ(out.size(), 1u);
}

TEST(SendQueue, EmptyTakeMarksIdleSoTheNextPushWakesAgain) {
    recorder r;
    send_queue q({}, r.waker());
    q.push(packet_of(1));
    std::vector<shared_packet> out;
    ASSERT_TRUE(q.take(out, 100));
    EXPECT_FALSE(q.take(out, 100));
    q.push(packet_of(2));
    EXPECT_EQ(r.wakes, 2);
}

TEST(SendQueue, EphemeralPacketsAreDroppedPastHalfFull) {
    recorder r;
    send_queue q({.max_bytes = 100, .max_packets = 100}, r.waker());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(q.push(packet_of(1)), push_result::queued);  // 50 bytes
    EXPECT_EQ(q.push(packet_of(2), true), push_result::dropped);
    EXPECT_EQ(q.push(packet_of(3)), push_result::queued);  // durable packets still fit
}

TEST(SendQueue, OverflowClosesTheQueueAndWakesOnce) {
    recorder r;
    send_queue q({.max_bytes = 1000, .max_packets = 4}, r.waker());
    for (int i = 0; i < 4; ++i) EXPECT_EQ(q.push(packet_of(1)), push_result::queued);
    EXPECT_EQ(q.push(packet_of(1)), push_result::overflow);
    EXPECT_EQ(q.push(packet_of(1)), push_result::closed);
    EXPECT_EQ(r.overflows, 1);  // the waker is how the session learns of it
}

TEST(SendQueue, ConcurrentProducersKeepEachProducersOrder) {
    recorder r;
    send_queue q({.max_bytes = 1 << 24, .max_packets = 1 << 20}, r.waker());
    constexpr int per_thread = 20000;
    auto produce = [&](std::uint8_t tag) {
        for (int i = 0; i < per_thread; ++i) {
            parley::protocol::bytes b(5);
            b[0] = tag;
            std::memcpy(&b[1], &i, 4);
            q.push(make_shared_packet(std::move(b)));
        }
    };
    std::thread a(produce, 1), b(produce, 2);
    a.join();
    b.join();
    int last[3] = {-1, -1, -1};
    std::vector<shared_packet> out;
    while (q.take(out, 1 << 20)) {
        for (const auto& p : out) {
            int i;
            std::memcpy(&i, p->data() + 1, 4);
            EXPECT_EQ(i, last[(*p)[0]] + 1);
            last[(*p)[0]] = i;
        }
        out.clear();
    }
    EXPECT_EQ(last[1], per_thread - 1);
    EXPECT_EQ(last[2], per_thread - 1);
}

}  // namespace
