#include "protocol/wire_archive.hpp"

#include "protocol/packets.hpp"

#include <gtest/gtest.h>

namespace {

using namespace parley::protocol;
using wire::field;
using bytes = std::vector<std::uint8_t>;

template <class T>
bytes save(const T& value) {
    bytes out;
    wire::output_archive ar(out);
    ar(const_cast<T&>(value));
    EXPECT_FALSE(ar.error().has_value());
    return out;
}

template <class T>
std::pair<T, std::optional<decode_error>> load(const bytes& in) {
    T value{};
    wire::input_archive ar(in.data(), in.size());
    ar(value);
    return {value, ar.error()};
}

TEST(WireArchive, VarintBoundaries) {
    const std::pair<std::uint64_t, bytes> cases[] = {
        {0, {0x00}},
        {127, {0x7F}},
        {128, {0x80, 0x01}},
        {300, {0xAC, 0x02}},
        {16383, {0xFF, 0x7F}},
        {16384, {0x80, 0x80, 0x01}},
        {limits::max_safe_integer, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}},
    };
    for (const auto& [value, encoded] : cases) {
        EXPECT_EQ(save(ping{value}), encoded) << value;
        auto [back, err] = load<ping>(encoded);
        EXPECT_FALSE(err.has_value()) << value;
        EXPECT_EQ(back.nonce, value);
    }
}

TEST(WireArchive, NonCanonicalVarintIsRefused) {
    EXPECT_EQ(load<ping>({0x80, 0x00}).second, decode_error::bad_varint);
    EXPECT_EQ(load<ping>({0xFF, 0x80, 0x00}).second, decode_error::bad_varint);
}

TEST(WireArchive, OverlongVarintIsRefused) {
    bytes eleven(10, 0xFF);
    eleven.push_back(0x01);
    EXPECT_EQ(load<ping>(eleven).second, decode_error::bad_varint);
    bytes tenth_too_big(9, 0xFF);
    tenth_too_big.push_back(0x02);  // bit 64 set
    EXPECT_EQ(load<ping>(tenth_too_big).second, decode_error::bad_varint);
}

TEST(WireArchive, SixtyFourBitValueAboveSafeRangeIsBadValue) {
    bytes v(9, 0xFF);
    v.push_back(0x01);  // 2^64 - 1: a valid varint, but beyond 2^53 - 1
    EXPECT_EQ(load<ping>(v).second, decode_error::bad_value);
}

TEST(WireArchive, NarrowIntegersAreRangeChecked) {
    // room_id is 32-bit: 2^32 is out of range.
    EXPECT_EQ(load<leave_room>({0x80, 0x80, 0x80, 0x80, 0x10}).second, decode_error::bad_value);
    auto [ok, err] = load<leave_room>({0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
    EXPECT_FALSE(err.has_value());
    EXPECT_EQ(ok.room_id, UINT32_MAX);
}

TEST(WireArchive, BoolsAreZeroOrOne) {
    EXPECT_EQ(load<set_typing>({3, 1}).first.active, true);
    EXPECT_EQ(load<set_typing>({3, 0}).first.active, false);
    EXPECT_EQ(load<set_typing>({3, 2}).second, decode_error::bad_value);
}

TEST(WireArchive, EnumsAreCheckedAgainstTheirCount) {
    EXPECT_EQ(load<set_reaction>({3, 9, 1, reaction_kind_count - 1, 1, 0}).first.reaction, reaction_kind::party);
    EXPECT_EQ(load<set_reaction>({3, 9, 1, reaction_kind_count, 1, 0}).second, decode_error::bad_value);
}

TEST(WireArchive, StringLengthBeyondInputIsTruncatedNotAllocated) {
    // Claims 3000 bytes of text with 2 present: refused before any allocation.
    EXPECT_EQ(load<edit_message>({3, 9, 1, 0xB8, 0x17, 'h', 'i'}).second, decode_error::truncated);
}

TEST(WireArchive, StringOverItsLimitIsFieldTooLong) {
    bytes user{1, limits::max_username_bytes + 1};  // id 1, name of 33 bytes
    user.insert(user.end(), limits::max_username_bytes + 1, 'a');
    EXPECT_EQ(load<user_ref>(user).second, decode_error::field_too_long);
    user.pop_back();
    user[1] = limits::max_username_bytes;
    EXPECT_EQ(load<user_ref>(user).first.name, std::string(limits::max_username_bytes, 'a'));
}

TEST(WireArchive, HugeListCountIsRefusedBeforeResize) {
    // presence users: count 2^40.
    bytes in{3, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20};
    EXPECT_EQ(load<presence_update>(in).second, decode_error::too_many_items);
    // Within the limit but beyond the input: truncated.
    EXPECT_EQ(load<presence_update>(bytes{3, 0, 100, 1}).second, decode_error::truncated);
}

TEST(WireArchive, NestedRecordsRoundTrip) {
    history_page page{3, history_mode::older, true, {}};
    message_record m;
    m.seq = 5;
    m.author = "bo";
    m.text = "hey";
    m.reactions = {{reaction_kind::laugh, 4}};
    m.my_reactions = 1u << 4;
    page.messages = {m, m};
    auto [back, err] = load<history_page>(save(page));
    EXPECT_FALSE(err.has_value());
    EXPECT_EQ(back, page);
}

TEST(WireArchive, ErrorIsStickyAndStopsReading) {
    // bad bool first; later fields read as zero, and the first error wins.
    auto [v, err] = load<set_typing>({0x80, 0x00, 5});
    EXPECT_EQ(err, decode_error::bad_varint);
    EXPECT_EQ(v.room_id, 0u);
    EXPECT_FALSE(v.active);
}

}  // namespace
