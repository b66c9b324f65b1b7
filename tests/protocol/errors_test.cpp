#include "protocol/errors.hpp"

#include "protocol/codec.hpp"
#include "protocol/compression.hpp"
#include "tests/support/frame_builder.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace {

using namespace parley::protocol;
using namespace parley::testing;

// One crafted input per decode error: the proof that each code is reachable
// and means what it says. (tests/vectors/packets.json holds the same set for
// the wasm build.)
std::map<decode_error, bytes> crafted_inputs() {
    std::map<decode_error, bytes> m;
    const bytes good = *encode(ping{77});
    const bytes ping_payload{77};
    m[decode_error::truncated] = bytes(good.begin(), good.end() - 1);
    m[decode_error::bad_magic] = [&] { auto b = good; b[0] = 'X'; return b; }();
    m[decode_error::bad_version] = build_frame({.version = 9, .kind = 0x0A}, ping_payload);
    m[decode_error::bad_checksum] = [&] { auto b = good; b.back() ^= 0x80; return b; }();
    m[decode_error::unknown_kind] = build_frame({.kind = 0x3F}, ping_payload);
    m[decode_error::bad_flags] = build_frame({.kind = 0x0A, .flags = 0x80}, ping_payload);
    {
        bytes p{3, 9, 42};  // room_id, client_id, message_seq
        append_text(p, std::string(limits::max_text_bytes + 1, 'a'));
        m[decode_error::field_too_long] = build_frame(packet_kind::edit_message, p);
    }
    {
        bytes p{3, 9, 42};
        append_text(p, "\xED\xA0\x80");  // a surrogate half
        m[decode_error::bad_utf8] = build_frame(packet_kind::edit_message, p);
    }
    m[decode_error::too_large] = [] {
        bytes b{magic, limits::version, 0x0A, 0};
        append_varint(b, limits::max_packet_bytes + 1);
        return b;
    }();
    {
        bytes zeros(limits::max_payload_bytes + 1, 0), z;
        z.resize(compress_frame(zeros, z));
        m[decode_error::decompressed_too_large] = build_frame(packet_kind::send_message, z, flag_compressed);
    }
    m[decode_error::decompression_failed] = build_frame(packet_kind::send_message, bytes{1, 2, 3, 4, 5}, flag_compressed);
    m[decode_error::trailing_bytes] = build_frame(packet_kind::ping, bytes{77, 0});
    m[decode_error::bad_varint] = build_frame(packet_kind::ping, bytes{0x80, 0x80, 0x00});
    m[decode_error::bad_value] = build_frame(packet_kind::set_typing, bytes{3, 7});
    {
        bytes p{3, 0};
        append_varint(p, limits::max_presence_users + 1);
        m[decode_error::too_many_items] = build_frame(packet_kind::presence_update, p);
    }
    m[decode_error::unexpected_batch] = build_frame(packet_kind::batch, *encode_batch(std::vector<packet>{ping{1}}));
    m[decode_error::empty_batch] = build_frame(packet_kind::batch, bytes{});
    return m;
}

TEST(Errors, EveryDecodeErrorIsReachableByACraftedInput) {
    const auto inputs = crafted_inputs();
    ASSERT_EQ(inputs.size(), max_decode_error);
    for (const auto& [expected, input] : inputs) {
        auto r = decode_message(input);
        ASSERT_FALSE(r.has_value()) << error_name(expected);
        EXPECT_EQ(r.error(), expected) << "wanted " << error_name(expected) << ", got " << error_name(r.error());
    }
}

TEST(Errors, NamesAreUniqueAndDescribed) {
    std::set<std::string_view> names;
    for (std::uint16_t code = 1; code <= max_decode_error; ++code) {
        EXPECT_NE(error_name(code), "unknown") << code;
        EXPECT_TRUE(names.insert(error_name(code)).second) << error_name(code);
    }
    for (std::uint16_t code = 100; code <= 113; ++code) {
        EXPECT_NE(error_name(code), "unknown") << code;
        EXPECT_TRUE(names.insert(error_name(code)).second) << error_name(code);
        EXPECT_NE(error_description(code), "unknown error");
    }
}

TEST(Errors, DecodeErrorsKeepTheirWireNumbers) {
    EXPECT_EQ(static_cast<std::uint16_t>(to_error_code(decode_error::bad_checksum)), 4);
    EXPECT_EQ(error_name(static_cast<std::uint16_t>(to_error_code(decode_error::empty_batch))), "empty_batch");
    EXPECT_EQ(error_name(decode_error::truncated), "truncated");
}

TEST(Errors, UnknownCodesHaveAFallbackName) {
    EXPECT_EQ(error_name(std::uint16_t{999}), "unknown");
    EXPECT_EQ(error_description(999), "unknown error");
}

TEST(Errors, KindNamesRoundTrip) {
    for (int byte = 0; byte < 256; ++byte) {
        const auto kind = static_cast<packet_kind>(byte);
        if (!is_packet_kind(static_cast<std::uint8_t>(byte))) continue;
        EXPECT_EQ(kind_from_name(kind_name(kind)), kind);
    }
    EXPECT_FALSE(kind_from_name("batch").has_value());
    EXPECT_FALSE(kind_from_name("nope").has_value());
    EXPECT_EQ(enum_from_name<reaction_kind>("heart"), reaction_kind::heart);
    EXPECT_EQ(enum_name(reaction_kind::star), "star");
    EXPECT_EQ(enum_name(room_kind::private_room), "private");
    EXPECT_EQ(enum_from_name<room_action>("ownership_given"), room_action::ownership_given);
    EXPECT_EQ(enum_from_name<room_role>("admin"), std::nullopt);
    EXPECT_EQ(enum_name(static_cast<leave_reason>(200)), "");
}

}  // namespace
