#include "protocol/codec.hpp"

#include "tests/support/frame_builder.hpp"
#include "tests/support/random_packets.hpp"

#include <gtest/gtest.h>

namespace {

using namespace parley::protocol;
using namespace parley::testing;

constexpr std::uint64_t seed = 20261128;

TEST(Property, RandomPacketsOfEveryKindRoundTrip) {
    packet_generator gen(seed);
    for (int i = 0; i < 20000; ++i) {
        const packet p = gen.make(static_cast<std::size_t>(i) % std::variant_size_v<packet>);
        auto b = encode(p);
        ASSERT_TRUE(b.has_value()) << i << ": " << error_name(b.error());
        ASSERT_LE(b->size(), limits::max_packet_bytes);
        auto back = decode(*b);
        ASSERT_TRUE(back.has_value()) << i << ": " << error_name(back.error());
        ASSERT_EQ(*back, p) << "packet " << i << " kind " << kind_name(kind_of(p));
    }
}

TEST(Property, RandomBatchesRoundTripInOrder) {
    packet_generator gen(seed + 1);
    for (int i = 0; i < 300; ++i) {
        std::vector<packet> packets(1 + gen.rng()() % 20);
        for (auto& p : packets) p = gen.any();
        auto b = encode_batch(packets);
        ASSERT_TRUE(b.has_value()) << error_name(b.error());
        auto back = decode_message(*b);
        ASSERT_TRUE(back.has_value()) << error_name(back.error());
        ASSERT_EQ(*back, packets);
    }
}

TEST(Property, RandomBytesNeverDecodeSilentlyWrong) {
    // Whatever decode accepts from random bytes must re-encode canonically.
    std::mt19937_64 rng(seed + 2);
    for (int i = 0; i < 50000; ++i) {
        bytes junk(rng() % 64);
        for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
        if (!junk.empty() && rng() % 2) junk[0] = magic;
        if (junk.size() > 1 && rng() % 2) junk[1] = limits::version;
        auto r = decode_message(junk);
        if (r && r->size() == 1) {
            EXPECT_EQ(*encode(r->front()), junk);
        }
    }
}

TEST(Property, MutatedPayloadsWithValidChecksumsDecodeCanonicallyOrFailCleanly) {
    // Mutate the payload and fix up the CRC, so mutations reach the field
    // parser instead of stopping at the checksum. Any packet accepted from an
    // uncompressed payload below the compression threshold must re-encode to
    // exactly the same bytes: there is one encoding per packet.
    packet_generator gen(seed + 3);
    std::mt19937_64& rng = gen.rng();
    int accepted = 0, refused = 0;
    for (int i = 0; i < 30000; ++i) {
        const packet p = gen.any();
        auto b = encode(p, {.compress_threshold = SIZE_MAX});
        ASSERT_TRUE(b.has_value());
        auto h = peek_header(*b);
        bytes payload(b->begin() + static_cast<std::ptrdiff_t>(h->header_size),
                      b->begin() + static_cast<std::ptrdiff_t>(h->header_size + h->payload_size));
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            switch (rng() % 3) {
                case 0: if (!payload.empty()) payload[rng() % payload.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
                case 1: payload.insert(payload.begin() + static_cast<std::ptrdiff_t>(rng() % (payload.size() + 1)), static_cast<std::uint8_t>(rng())); break;
                default: if (!payload.empty()) payload.erase(payload.begin() + static_cast<std::ptrdiff_t>(rng() % payload.size())); break;
            }
        }
        const bytes mutated = build_frame(h->kind, payload);
        auto r = decode(mutated);
        if (!r) { ++refused; continue; }
        ++accepted;
        if (payload.size() < limits::compress_threshold) {
            ASSERT_EQ(*encode(*r), mutated) << "packet " << i;
        }
    }
    EXPECT_GT(accepted, 1000);  // the mutations do reach the parser...
    EXPECT_GT(refused, 1000);   // ...and it does refuse malformed fields
}

TEST(Property, EveryTruncationOfRandomPacketsIsRefused) {
    packet_generator gen(seed + 4);
    for (int i = 0; i < 500; ++i) {
        auto b = *encode(gen.any());
        for (std::size_t n = 0; n < b.size(); n += 1 + b.size() / 40)
            ASSERT_FALSE(decode(std::span(b).first(n)).has_value());
    }
}

}  // namespace
