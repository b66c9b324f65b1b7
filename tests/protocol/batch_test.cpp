#include "protocol/codec.hpp"

#include "protocol/checksum.hpp"

#include "tests/support/frame_builder.hpp"
#include "tests/support/sample_packets.hpp"

#include <gtest/gtest.h>

namespace {

using namespace parley::protocol;
using namespace parley::testing;

TEST(Batch, DecodeYieldsPacketsInOrder) {
    const std::vector<packet> packets = one_of_each_kind();
    auto b = encode_batch(packets);
    ASSERT_TRUE(b.has_value());
    auto back = decode_message(*b);
    ASSERT_TRUE(back.has_value()) << error_name(back.error());
    EXPECT_EQ(*back, packets);
}

TEST(Batch, EnvelopeAroundEncodedPacketsEqualsEncodeBatch) {
    const std::vector<packet> packets{ping{1}, chat_message{3, sample_record(9, "hi")}, sample_history(30)};
    std::vector<bytes> encoded;
    for (const auto& p : packets) encoded.push_back(*encode(p));
    std::vector<std::span<const std::uint8_t>> parts(encoded.begin(), encoded.end());
    auto env = make_batch_envelope(parts);
    ASSERT_TRUE(env.has_value());

    bytes gathered(env->header_bytes().begin(), env->header_bytes().end());
    for (const auto& e : encoded) gathered.insert(gathered.end(), e.begin(), e.end());
    gathered.insert(gathered.end(), env->trailer.begin(), env->trailer.end());
    EXPECT_EQ(gathered, *encode_batch(packets));
}

TEST(Batch, BatchIsNeverCompressedButItsPacketsMayBe) {
    const std::vector<packet> packets{send_message{3, 1, 0, sample_long_text(3000)}, ping{2}};
    auto b = encode_batch(packets);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ((*b)[3], 0);
    auto inner = peek_header(std::span(*b).subspan(peek_header(*b)->header_size));
    ASSERT_TRUE(inner.has_value());
    EXPECT_EQ(inner->flags, flag_compressed);
    EXPECT_EQ(*decode_message(*b), packets);
}

TEST(Batch, CompressedFlagOnBatchIsRefused) {
    const auto inner = *encode(ping{1});
    EXPECT_EQ(decode_message(build_frame(packet_kind::batch, inner, flag_compressed)).error(), decode_error::bad_flags);
}

TEST(Batch, NestedBatchIsRefused) {
    const auto inner = *encode_batch(std::vector<packet>{ping{1}});
    EXPECT_EQ(decode_message(build_frame(packet_kind::batch, inner)).error(), decode_error::unexpected_batch);
}

TEST(Batch, EmptyBatchIsRefusedBothWays) {
    EXPECT_EQ(decode_message(build_frame(packet_kind::batch, bytes{})).error(), decode_error::empty_batch);
    EXPECT_EQ(encode_batch({}).error(), decode_error::empty_batch);
    EXPECT_EQ(make_batch_envelope({}).error(), decode_error::empty_batch);
}

TEST(Batch, PacketCountIsBounded) {
    const auto one = *encode(ping{1});
    bytes payload;
    for (std::size_t i = 0; i < limits::max_batch_packets; ++i) payload.insert(payload.end(), one.begin(), one.end());
    auto at_limit = decode_message(build_frame(packet_kind::batch, payload));
    ASSERT_TRUE(at_limit.has_value());
    EXPECT_EQ(at_limit->size(), limits::max_batch_packets);
    payload.insert(payload.end(), one.begin(), one.end());
    EXPECT_EQ(decode_message(build_frame(packet_kind::batch, payload)).error(), decode_error::too_many_items);
    std::vector<packet> too_many(limits::max_batch_packets + 1, ping{1});
    EXPECT_EQ(encode_batch(too_many).error(), decode_error::too_many_items);
}

TEST(Batch, CorruptInnerPacketFailsTheWholeMessage) {
    auto a = *encode(ping{1});
    auto b = *encode(pong{2});
    b[5] ^= 0xFF;  // corrupt b's payload; its own CRC no longer matches
    bytes payload = a;
    payload.insert(payload.end(), b.begin(), b.end());
    EXPECT_EQ(decode_message(build_frame(packet_kind::batch, payload)).error(), decode_error::bad_checksum);
}

TEST(Batch, EverySingleBitFlipIsDetected) {
    // The batch CRC covers the header; each inner packet's CRC covers it.
    const auto b = *encode_batch(std::vector<packet>{ping{1}, chat_message{3, sample_record(9, "hello there")}});
    for (std::size_t i = 0; i < b.size() * 8; ++i) {
        auto copy = b;
        copy[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
        EXPECT_FALSE(decode_message(copy).has_value()) << "bit " << i;
    }
}

TEST(Batch, ChecksumCoversTheHeaderOnly) {
    const auto one = *encode(ping{1});
    const std::vector<std::span<const std::uint8_t>> parts{one, one};
    auto env = make_batch_envelope(parts);
    ASSERT_TRUE(env.has_value());
    const std::uint32_t crc = crc32_of(env->header_bytes());
    EXPECT_EQ(env->trailer[0], crc & 0xFF);
    EXPECT_EQ(env->trailer[3], crc >> 24);
}

TEST(Batch, PartialInnerPacketIsTruncated) {
    auto a = *encode(ping{1});
    bytes payload = a;
    payload.insert(payload.end(), a.begin(), a.end() - 2);
    EXPECT_EQ(decode_message(build_frame(packet_kind::batch, payload)).error(), decode_error::truncated);
}

}  // namespace
