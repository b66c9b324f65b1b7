// The room feed (room_feed.hpp): events from every source come out once, in
// order, with no gap; holes ask for a log read after a grace, then for the
// store; epochs change by R, by a read, and never let an old epoch's event
// through. No Redis here: the feed is pure logic, fed by hand.
#include "server/cluster/room_feed.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace {

using namespace parley::server::cluster;
using namespace std::chrono_literals;
using clock_type = room_feed::clock;

struct recorder {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> delivered;  // (epoch, seq)
    std::vector<std::string> bodies;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> resets;  // (base, epoch)
    std::vector<std::uint64_t> persisted;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> behind;  // (after, upto)

    feed_actions actions() {
        return {[this](const feed_event& e) {
                    delivered.emplace_back(e.epoch, e.seq);
                    bodies.push_back(e.body);
                },
                [this](std::uint64_t base, std::uint64_t epoch) { resets.emplace_back(base, epoch); },
                [this](std::uint64_t seq) { persisted.push_back(seq); },
                [this](std::uint64_t after, std::uint64_t upto) { behind.emplace_back(after, upto); }};
    }
};

feed_event ev(std::uint64_t seq, std::uint64_t epoch = 7) { return {seq, epoch, "body " + std::to_string(seq)}; }

std::vector<std::pair<std::uint64_t, std::uint64_t>> run(std::uint64_t epoch, std::uint64_t from, std::uint64_t to) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (auto s = from; s <= to; ++s) out.emplace_back(epoch, s);
    return out;
}

class RoomFeed : public ::testing::Test {
protected:
    recorder r;
    clock_type::time_point t0 = clock_type::now();
    feed_options opts{.hole_grace = 100ms, .repair_backoff = 250ms, .max_buffered = 8, .max_old_epochs = 4};
    room_feed feed{7, 10, r.actions(), opts};
};

TEST_F(RoomFeed, DeliversInOrderWhateverOrderEventsArriveInAndOnlyOnce) {
    for (std::uint64_t s : {13u, 11u, 11u, 12u, 10u, 5u, 15u, 14u, 13u}) feed.offer(ev(s), t0);
    EXPECT_EQ(r.delivered, run(7, 11, 15));
    EXPECT_EQ(r.bodies.front(), "body 11");
    EXPECT_EQ(feed.applied(), 15u);
    EXPECT_EQ(feed.buffered(), 0u);
    EXPECT_FALSE(feed.next_check()) << "no hole left, so nothing to read";
}

TEST_F(RoomFeed, AHoleAsksForOneLogReadAfterTheGraceAndTheReadFillsIt) {
    feed.offer(ev(13), t0);
    EXPECT_TRUE(r.delivered.empty());
    EXPECT_FALSE(feed.repair_after(t0 + 50ms)) << "pub/sub may still bring 11 and 12";
    ASSERT_EQ(feed.next_check(), t0 + 100ms);
    const auto after = feed.repair_after(t0 + 100ms);
    ASSERT_EQ(after, 10u);
    EXPECT_FALSE(feed.repair_after(t0 + 200ms)) << "one read at a time";
    feed.epoch_seen(7, 13, 0, t0 + 101ms);
    for (std::uint64_t s : {11u, 12u, 13u}) feed.offer(ev(s), t0 + 101ms);
    feed.read_done(10, true, 1, t0 + 101ms);
    EXPECT_EQ(r.delivered, run(7, 11, 13));
    EXPECT_FALSE(feed.next_check());
}

TEST_F(RoomFeed, ATopSeenAboveTheRoomIsAHoleEvenWithNothingBuffered) {
    // Positioning: the channel lost 11..12 and nothing else came.
    feed.epoch_seen(7, 12, 0, t0);
    EXPECT_EQ(feed.repair_after(t0 + 100ms), 10u);
    feed.offer(ev(11), t0 + 101ms);
    feed.read_done(10, true, 1, t0 + 101ms);
    EXPECT_EQ(r.delivered, run(7, 11, 11));
    EXPECT_FALSE(feed.repair_after(t0 + 200ms)) << "a read that left the hole open waits for the back-off";
    EXPECT_EQ(feed.repair_after(t0 + 351ms), 11u);
}

TEST_F(RoomFeed, AFailedReadIsAskedForAgainAfterTheBackoff) {
    feed.offer(ev(12), t0);
    ASSERT_EQ(feed.repair_after(t0 + 100ms), 10u);
    feed.read_failed(t0 + 100ms);
    EXPECT_FALSE(feed.repair_after(t0 + 300ms));
    EXPECT_EQ(feed.repair_after(t0 + 350ms), 10u);
}

TEST_F(RoomFeed, ALogThatNoLongerHoldsTheNextSeqSendsTheRoomToTheStore) {
    feed.epoch_seen(7, 5000, 0, t0);
    ASSERT_EQ(feed.repair_after(t0 + 100ms), 10u);
    // The log was trimmed to 3001..5000: entries offered, but 11..3000 are only in PostgreSQL.
    for (std::uint64_t s = 3001; s <= 3004; ++s) feed.offer(ev(s), t0 + 100ms);
    feed.read_done(10, false, 3001, t0 + 100ms);
    ASSERT_EQ(r.behind, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{10, 3000}}));
    EXPECT_TRUE(feed.waiting_for_store());
    EXPECT_TRUE(r.delivered.empty());
    feed.offer(ev(11), t0 + 110ms);  // a late channel message: the store brings it
    EXPECT_TRUE(r.delivered.empty());
    EXPECT_FALSE(feed.repair_after(t0 + 1s)) << "nothing is read while the store is";
    feed.caught_up(3000, t0 + 200ms);
    EXPECT_EQ(r.delivered, run(7, 3001, 3004));
    EXPECT_EQ(feed.repair_after(t0 + 300ms), 3004u) << "5000 is still above";
}

TEST_F(RoomFeed, WatermarksAreReportedOnlyUpToWhatTheRoomHolds) {
    feed.watermark(12, 7);
    EXPECT_EQ(r.persisted, std::vector<std::uint64_t>{10});
    feed.offer(ev(11), t0);
    feed.offer(ev(12), t0);
    feed.offer(ev(13), t0);
    EXPECT_EQ(r.persisted, (std::vector<std::uint64_t>{10, 11, 12}));
    feed.watermark(11, 7);  // late and lower: ignored
    feed.watermark(20, 99);  // another epoch's: ignored
    EXPECT_EQ(r.persisted.back(), 12u);
    EXPECT_EQ(feed.persisted(), 12u);
}

TEST_F(RoomFeed, AResetDropsTheOldEpochAndItsStragglersAndContinuesFromTheBase) {
    feed.offer(ev(11), t0);
    feed.offer(ev(13), t0);  // buffered, of epoch 7
    feed.reset(9, 8, t0);
    EXPECT_EQ(r.resets, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{9, 8}}));
    EXPECT_EQ(feed.epoch(), 8u);
    EXPECT_EQ(feed.applied(), 9u);
    EXPECT_EQ(feed.buffered(), 0u) << "13 of epoch 7 is void";
    feed.offer(ev(12, 7), t0);  // a straggler of the replaced epoch: never delivered
    feed.reset(9, 8, t0);       // said twice
    feed.reset(3, 7, t0);       // an older reseed
    feed.offer(ev(10, 8), t0);
    feed.offer(ev(11, 8), t0);
    EXPECT_EQ(r.resets.size(), 1u);
    EXPECT_EQ(r.delivered, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{7, 11}, {8, 10}, {8, 11}}));
}

TEST_F(RoomFeed, EventsOfAnUnknownEpochWaitForItsResetInsteadOfBeingDeliveredOrLost) {
    // The node's own publish reply overtook the R on the channel.
    feed.offer(ev(13, 8), t0);
    feed.offer(ev(11, 7), t0);
    EXPECT_EQ(r.delivered, run(7, 11, 11));
    feed.reset(12, 8, t0);
    EXPECT_EQ(feed.applied(), 11u);
    ASSERT_EQ(r.behind, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{11, 12}}))
        << "12 is below the new base and was never here: the store has it";
    feed.caught_up(12, t0);
    EXPECT_EQ(r.delivered.back(), (std::pair<std::uint64_t, std::uint64_t>{8, 13}));
}

TEST_F(RoomFeed, AReadShowingAnotherEpochResetsToTheLastWatermarkKnown) {
    // The R was lost; a read says epoch 9 with top 30. The real base is
    // unknown here but never below what was persisted (10 of 7 is known).
    feed.watermark(10, 7);
    feed.offer(ev(11), t0);
    feed.offer(ev(12), t0);
    feed.epoch_seen(9, 30, 25, t0);
    ASSERT_EQ(r.resets, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{10, 9}}));
    EXPECT_EQ(feed.applied(), 10u);
    EXPECT_EQ(feed.epoch(), 9u);
    EXPECT_EQ(feed.repair_after(t0 + 100ms), 10u) << "11..30 of epoch 9 are read from the log";
}

TEST_F(RoomFeed, TheBufferIsBoundedAndWhatItDroppedIsReadAgain) {
    for (std::uint64_t s = 12; s < 12 + 20; ++s) feed.offer(ev(s), t0);
    EXPECT_EQ(feed.buffered(), opts.max_buffered);
    for (std::uint64_t s = 12; s < 12 + 40; ++s) feed.offer(ev(s, 100 + s), t0);  // unknown epochs, bounded too
    feed.offer(ev(11), t0);
    EXPECT_EQ(r.delivered, run(7, 11, 19));
    EXPECT_EQ(feed.repair_after(t0 + 100ms), 19u) << "20..31 were dropped and seen: read them";
}

}  // namespace
