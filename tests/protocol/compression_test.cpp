#include "protocol/compression.hpp"

#include "tests/support/lz4_frames.hpp"

#include <lz4frame.h>

#include <gtest/gtest.h>

#include <random>

namespace {

using namespace parley::protocol;

std::vector<std::uint8_t> text_bytes(std::size_t n) {
    std::vector<std::uint8_t> v;
    const std::string phrase = "compressible chat text, again and again; ";
    while (v.size() < n) v.push_back(static_cast<std::uint8_t>(phrase[v.size() % phrase.size()]));
    return v;
}

TEST(Compression, RoundTripsManySizes) {
    for (std::size_t n : {0u, 1u, 255u, 256u, 4000u, 65536u, 65537u, 300000u}) {
        const auto input = text_bytes(n);
        std::vector<std::uint8_t> z, back;
        z.resize(compress_frame(input, z));
        ASSERT_FALSE(z.empty());
        ASSERT_EQ(decompress_frame(z, back, 1 << 20), std::nullopt) << n;
        EXPECT_EQ(back, input) << n;
    }
}

TEST(Compression, OutputExactlyAtLimitIsAcceptedOneOverIsRefused) {
    const auto input = text_bytes(10000);
    std::vector<std::uint8_t> z, back;
    z.resize(compress_frame(input, z));
    EXPECT_EQ(decompress_frame(z, back, 10000), std::nullopt);
    EXPECT_EQ(back.size(), 10000u);
    EXPECT_EQ(decompress_frame(z, back, 9999), decode_error::decompressed_too_large);
}

TEST(Compression, BombIsStoppedAtTheLimitWithoutInflatingIt) {
    // 64 MiB of zeros compress to ~260 KB; the decoder must stop at its 1 MiB limit.
    std::vector<std::uint8_t> zeros(64u << 20, 0), z, back;
    z.resize(compress_frame(zeros, z));
    ASSERT_LT(z.size(), 400000u);
    EXPECT_EQ(decompress_frame(z, back, 1 << 20), decode_error::decompressed_too_large);
    EXPECT_LE(back.capacity(), (2u << 20) + 2);
}

TEST(Compression, DeclaredContentSizeIsNotTrusted) {
    // Write a frame with its real content size, then make the header claim
    // 2^40 bytes (content size sits at offset 6, header checksum at 14).
    LZ4F_preferences_t prefs{};
    const auto input = text_bytes(1000);
    prefs.frameInfo.contentSize = input.size();
    std::vector<std::uint8_t> z(LZ4F_compressFrameBound(input.size(), &prefs)), back;
    z.resize(LZ4F_compressFrame(z.data(), z.size(), input.data(), input.size(), &prefs));
    ASSERT_FALSE(LZ4F_isError(z.size()));
    for (std::size_t i = 0; i < 8; ++i) z[6 + i] = static_cast<std::uint8_t>((std::uint64_t{1} << 40) >> (8 * i));

    // Find the header checksum lz4 accepts for the lying header.
    LZ4F_dctx* ctx = nullptr;
    ASSERT_FALSE(LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)));
    bool found = false;
    for (int hc = 0; hc < 256 && !found; ++hc) {
        z[14] = static_cast<std::uint8_t>(hc);
        LZ4F_resetDecompressionContext(ctx);
        LZ4F_frameInfo_t info{};
        std::size_t consumed = z.size();
        found = !LZ4F_isError(LZ4F_getFrameInfo(ctx, &info, z.data(), &consumed)) &&
                info.contentSize == (std::uint64_t{1} << 40);
    }
    LZ4F_freeDecompressionContext(ctx);
    ASSERT_TRUE(found);

    // The claim sizes nothing: the buffer stays near the real size, and the
    // mismatch at the end of the frame is an error.
    EXPECT_EQ(decompress_frame(z, back, 1 << 20), decode_error::decompression_failed);
    EXPECT_LT(back.capacity(), 64u * 1024);
}

TEST(Compression, TruncatedFrameFails) {
    const auto input = text_bytes(5000);
    std::vector<std::uint8_t> z, back;
    z.resize(compress_frame(input, z));
    for (std::size_t cut : {std::size_t{1}, std::size_t{4}, z.size() / 2, z.size() - 1}) {
        std::vector<std::uint8_t> part(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_EQ(decompress_frame(part, back, 1 << 20), decode_error::decompression_failed) << cut;
    }
}

TEST(Compression, DataAfterTheFrameIsRefused) {
    const auto input = text_bytes(500);
    std::vector<std::uint8_t> z, back;
    z.resize(compress_frame(input, z));
    z.push_back(0);
    EXPECT_EQ(decompress_frame(z, back, 1 << 20), decode_error::decompression_failed);
}

TEST(Compression, RandomGarbageNeverSucceedsOrOverflows) {
    std::mt19937 rng(7);
    std::vector<std::uint8_t> back;
    int failures = 0;
    for (int i = 0; i < 2000; ++i) {
        std::vector<std::uint8_t> junk(1 + rng() % 300);
        for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
        if (i % 2 == 0) {  // half of them start with a valid magic number
            const std::uint8_t m[] = {0x04, 0x22, 0x4D, 0x18};
            std::copy(m, m + std::min<std::size_t>(4, junk.size()), junk.begin());
        }
        if (decompress_frame(junk, back, 4096).has_value()) ++failures;
        EXPECT_LE(back.size(), 4097u);
    }
    EXPECT_GT(failures, 1990);
}

}  // namespace

namespace {

TEST(Compression, NoInputChangesHowLaterInputsDecode) {
    // Every kind of earlier input, good or bad, must leave a valid frame
    // decoding exactly as it does alone (decompression contexts carry state).
    const auto input = text_bytes(1000);
    std::vector<std::uint8_t> plain, back;
    plain.resize(compress_frame(input, plain));
    const std::vector<std::vector<std::uint8_t>> before{
        parley::testing::frame_declaring(input, input.size()),       // valid, with its content size
        parley::testing::frame_declaring(input, input.size() + 77),  // declares more than it holds
        parley::testing::frame_declaring(input, input.size() - 77),  // declares less
        std::vector<std::uint8_t>(plain.begin(), plain.begin() + 20),  // cut short
    };
    ASSERT_EQ(decompress_frame(before[0], back, 1 << 20), std::nullopt);
    EXPECT_EQ(back, input);
    for (std::size_t i = 1; i < before.size(); ++i)
        EXPECT_EQ(decompress_frame(before[i], back, 1 << 20), decode_error::decompression_failed) << i;
    for (std::size_t i = 0; i < before.size(); ++i) {
        for (int repeat = 0; repeat < 10; ++repeat) (void)decompress_frame(before[i], back, 1 << 20);
        ASSERT_EQ(decompress_frame(plain, back, 1 << 20), std::nullopt) << "after input " << i;
        EXPECT_EQ(back, input);
        ASSERT_EQ(decompress_frame(before[0], back, 1 << 20), std::nullopt) << "after input " << i;
    }
}

}  // namespace
