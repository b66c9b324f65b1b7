// Hostile clients against the real binary: one test per attack, each
// checking what the attacker gets and that everybody else is unaffected.
#include "tests/support/live_server.hpp"

#include "tests/support/frame_builder.hpp"
#include "tests/support/lz4_frames.hpp"
#include "tests/support/sample_packets.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace {

using namespace parley::protocol;
using namespace parley::testing;
using namespace std::chrono_literals;

std::atomic<std::uint64_t> ids{1};

std::uint16_t code_of(error_code c) { return static_cast<std::uint16_t>(c); }

std::uint32_t join(ws_client& c, const std::string& room) {
    c.send(join_room{room, 0});
    return c.wait_for<room_joined>([&](const room_joined& j) { return j.room == room; }).room_id;
}

// ---- decoding ---------------------------------------------------------------------------

// Defect: an anonymous client's frames with a lying LZ4 content size left
// the I/O thread's decompression context broken, so every later compressed
// packet on that thread failed for every user.
TEST(Hostile, LyingLz4ContentSizesDoNotBreakDecodingForOthers) {
    live_server srv({"--threads", "1"});
    const send_message long_message{1, 1, 0, sample_long_text(1500)};
    {
        ws_client attacker({.port = srv.port()});
        attacker.send_raw(compressed_declaring_size(long_message));  // valid, with a content size
        EXPECT_EQ(attacker.wait_for<error_report>().code, code_of(error_code::not_authenticated));
        for (std::int64_t lie : {-1, 1, 100, -100, 7, 1 << 20, -2, 3, 5, 11}) {
            attacker.send_raw(compressed_declaring_size(long_message, lie));
            EXPECT_EQ(attacker.wait_for<error_report>().code, code_of(to_error_code(decode_error::decompression_failed)));
        }
    }
    auto ana = srv.connect("ana");
    const std::uint32_t room = join(*ana, "lobby");
    for (int i = 0; i < 3; ++i) {
        const send_message m{room, ids++, 0, sample_long_text(1500 + static_cast<std::size_t>(i)), false};
        auto bytes = encode(m);
        ASSERT_TRUE(bytes);
        ASSERT_NE((*bytes)[3] & flag_compressed, 0) << "the message must travel compressed";
        ana->send_raw(*bytes);
        EXPECT_EQ(ana->wait_for<message_ack>().client_msg_id, m.client_msg_id);
    }
}

// ---- batches are handled as if each packet came alone ---------------------------------------

TEST(Hostile, AuthenticateThenJoinInOneBatch) {
    live_server srv;
    const std::string token = srv.token("ana");
    ws_client c({.port = srv.port()});
    const std::vector<packet> batch{authenticate{token}, join_room{"lobby", 0}, ping{7}};
    c.send_raw(*encode_batch(batch));
    EXPECT_EQ(c.wait_for<welcome>().username, "ana");
    // The room answers from its own strand, so the pong may come first.
    bool joined = false, ponged = false;
    while (!(joined && ponged)) {
        auto p = c.next();
        ASSERT_TRUE(p) << "joined " << joined << ", ponged " << ponged;
        ASSERT_FALSE(std::holds_alternative<error_report>(*p)) << std::get<error_report>(*p).text;
        if (auto* j = std::get_if<room_joined>(&*p)) joined = j->room == "lobby";
        if (auto* q = std::get_if<pong>(&*p)) ponged = q->nonce == 7;
    }
}

TEST(Hostile, AResendAndANewMessageInOneBatchKeepTheirOrder) {
    live_server srv;
    auto ana = srv.connect("ana");
    const std::uint32_t room = join(*ana, "lobby");
    // The resend waits for a disk lookup; the message after it must not overtake it.
    const std::uint64_t first = ids++, second = ids++;
    const std::vector<packet> batch{send_message{room, first, 0, "sent before a reconnect", true},
                                    send_message{room, second, 0, "new after the reconnect", false}};
    ana->send_raw(*encode_batch(batch));
    const auto a = ana->wait_for<message_ack>();
    const auto b = ana->wait_for<message_ack>();
    EXPECT_EQ(a.client_msg_id, first);
    EXPECT_EQ(b.client_msg_id, second);
    EXPECT_LT(a.seq, b.seq);
}

}  // namespace
