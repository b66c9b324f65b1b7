#include "protocol/codec.hpp"

#include "protocol/checksum.hpp"
#include "tests/support/frame_builder.hpp"
#include "tests/support/sample_packets.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace parley::protocol;
using namespace parley::testing;

bytes encode_ok(const packet& p, encode_options options = {}) {
    auto b = encode(p, options);
    EXPECT_TRUE(b.has_value()) << error_name(b.error());
    return b ? *b : bytes{};
}

TEST(Codec, FiftyByteTextMessageFitsInEightyBytes) {
    ASSERT_EQ(fifty_byte_text.size(), 50u);
    const auto b = encode_ok(send_message{3, 0x1F2E3D4C5B6A7ULL, 0, fifty_byte_text});
    EXPECT_LE(b.size(), 80u);
    // And the broadcast form, which carries author and timestamps, stays small too.
    const auto m = encode_ok(chat_message{3, sample_record(1201, fifty_byte_text)});
    EXPECT_LE(m.size(), 100u);
}

TEST(Codec, HeaderLayoutMatchesSpec) {
    const auto b = encode_ok(leave_room{300});
    // magic, version, kind, flags, length=2, varint(300)=AC 02, CRC32 LE
    ASSERT_EQ(b.size(), 4u + 1u + 2u + 4u);
    EXPECT_EQ(b[0], 0x50);
    EXPECT_EQ(b[1], limits::version);
    EXPECT_EQ(b[2], static_cast<std::uint8_t>(packet_kind::leave_room));
    EXPECT_EQ(b[3], 0);
    EXPECT_EQ(b[4], 2);
    EXPECT_EQ(b[5], 0xAC);
    EXPECT_EQ(b[6], 0x02);
    const std::uint32_t crc = crc32_of(std::span(b).first(7));
    EXPECT_EQ(b[7], crc & 0xFF);
    EXPECT_EQ(b[10], crc >> 24);
}

TEST(Codec, EveryKindRoundTrips) {
    std::set<packet_kind> kinds;
    for (const packet& p : one_of_each_kind()) {
        const auto b = encode_ok(p);
        auto back = decode(b);
        ASSERT_TRUE(back.has_value()) << kind_name(kind_of(p)) << ": " << error_name(back.error());
        EXPECT_EQ(*back, p) << kind_name(kind_of(p));
        kinds.insert(kind_of(p));
    }
    EXPECT_EQ(kinds.size(), std::variant_size_v<packet>);
}

// JSON and the WebAssembly API put the kind's name in "type", next to the
// fields: a field of that name would overwrite it.
TEST(Codec, NoPacketHasAFieldCalledType) {
    for (const packet& p : one_of_each_kind())
        std::visit([](const auto& alt) {
            using T = std::decay_t<decltype(alt)>;
            T::fields(alt, [](const char* name, const auto&, auto...) {
                EXPECT_STRNE(name, "type") << kind_name(T::kind);
            });
        }, p);
}

TEST(Codec, EncodingIsDeterministic) {
    for (const packet& p : one_of_each_kind()) EXPECT_EQ(encode_ok(p), encode_ok(p));
}

TEST(Codec, SmallPayloadIsNeverCompressed) {
    const auto b = encode_ok(send_message{1, 1, 0, std::string(200, 'a')});
    EXPECT_EQ(b[3] & flag_compressed, 0);
}

TEST(Codec, LongCompressibleTextIsCompressed) {
    const send_message p{3, 123, 0, sample_long_text(2000)};
    const auto b = encode_ok(p);
    EXPECT_EQ(b[3] & flag_compressed, flag_compressed);
    EXPECT_LT(b.size(), 1000u);
    EXPECT_EQ(*decode(b), packet{p});
}

TEST(Codec, IncompressibleTextStaysRaw) {
    // Pseudo-random letters give LZ4 nothing to match: the frame would grow.
    std::string text;
    std::uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 1500; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        text.push_back(static_cast<char>('!' + x % 90));
    }
    const auto b = encode_ok(send_message{3, 1, 0, text});
    EXPECT_EQ(b[3] & flag_compressed, 0);
    EXPECT_EQ(std::get<send_message>(*decode(b)).text, text);
}

TEST(Codec, CompressionCanBeDisabled) {
    const auto b = encode_ok(send_message{3, 1, 0, sample_long_text()}, {.compress_threshold = SIZE_MAX});
    EXPECT_EQ(b[3] & flag_compressed, 0);
    EXPECT_GT(b.size(), 2000u);
}

TEST(Codec, TextAtExactLimitRoundTripsAndOneMoreByteIsRefused) {
    send_message p{3, 1, 0, std::string(limits::max_text_bytes, 'x')};
    EXPECT_EQ(*decode(encode_ok(p)), packet{p});
    p.text.push_back('x');
    auto b = encode(p);
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error(), decode_error::field_too_long);
}

TEST(Codec, EncodeRefusesInvalidUtf8) {
    auto b = encode(edit_message{3, 9, 1, "bad \xFF byte", false});
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error(), decode_error::bad_utf8);
}

TEST(Codec, EncodeRefusesIntegersBeyondJavaScriptSafeRange) {
    EXPECT_TRUE(encode(ping{limits::max_safe_integer}).has_value());
    auto b = encode(ping{limits::max_safe_integer + 1});
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error(), decode_error::bad_value);
}

TEST(Codec, EncodeRefusesUnknownEnumValues) {
    auto b = encode(set_reaction{1, 9, 1, static_cast<reaction_kind>(reaction_kind_count), true, false});
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error(), decode_error::bad_value);
}

TEST(Codec, HistoryPageAtItemLimitRoundTripsAndBeyondIsRefused) {
    auto page = sample_history(limits::max_history_page);
    EXPECT_EQ(*decode(encode_ok(page)), packet{page});
    page.messages.push_back(page.messages.front());
    auto b = encode(page);
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error(), decode_error::too_many_items);
}

TEST(Codec, RequestHistoryLimitIsBounded) {
    EXPECT_TRUE(encode(request_history{1, 0, static_cast<std::uint16_t>(limits::max_history_page)}).has_value());
    auto b = encode(request_history{1, 0, static_cast<std::uint16_t>(limits::max_history_page + 1)});
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error(), decode_error::bad_value);
}

TEST(Codec, MaximumValuesRoundTrip) {
    auto m = sample_record(1, std::string(limits::max_text_bytes, 'z'));
    m.seq = m.author_id = m.client_msg_id = m.sent_at = m.edited_at = m.reply_to = limits::max_safe_integer;
    m.author = std::string(limits::max_username_bytes, 'u');
    m.my_reactions = (1u << reaction_kind_count) - 1;
    const chat_message p{UINT32_MAX, m};
    EXPECT_EQ(*decode(encode_ok(p)), packet{p});
}

TEST(Codec, DecodeRefusesBatchButDecodeMessageAcceptsSingle) {
    auto batch = encode_batch(std::vector<packet>{ping{1}});
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(decode(*batch).error(), decode_error::unexpected_batch);
    auto single = decode_message(encode_ok(ping{5}));
    ASSERT_TRUE(single.has_value());
    ASSERT_EQ(single->size(), 1u);
    EXPECT_EQ(single->front(), packet{ping{5}});
}

TEST(Codec, PeekHeaderReportsKindAndSizes) {
    const auto b = encode_ok(send_message{3, 1, 0, "hi"});
    auto h = peek_header(b);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->kind, packet_kind::send_message);
    EXPECT_EQ(h->flags, 0);
    EXPECT_EQ(h->header_size, 5u);
    EXPECT_EQ(h->header_size + h->payload_size + 4, b.size());
}

TEST(Codec, EveryProperPrefixIsTruncated) {
    const auto b = encode_ok(chat_message{3, sample_record(1, "hello")});
    for (std::size_t n = 0; n < b.size(); ++n) {
        auto r = decode(std::span(b).first(n));
        ASSERT_FALSE(r.has_value()) << n;
        EXPECT_EQ(r.error(), decode_error::truncated) << "prefix " << n;
    }
}

TEST(Codec, EverySingleBitFlipIsDetected) {
    const auto b = encode_ok(chat_message{3, sample_record(1201, fifty_byte_text)});
    for (std::size_t i = 0; i < b.size() * 8; ++i) {
        auto copy = b;
        copy[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
        EXPECT_FALSE(decode(copy).has_value()) << "bit " << i;
    }
}

TEST(Codec, LengthFieldIsShortestForm) {
    // A 2-byte varint for a length below 128 is refused even with a valid CRC.
    bytes b{magic, limits::version, static_cast<std::uint8_t>(packet_kind::ping), 0, 0x81, 0x00, 5};
    const std::uint32_t crc = crc32_of(b);
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
    EXPECT_EQ(decode(b).error(), decode_error::bad_varint);
}

TEST(Codec, InputLargerThanMaxPacketIsRefusedBeforeParsing) {
    bytes huge(limits::max_packet_bytes + 1, 0);
    EXPECT_EQ(decode(huge).error(), decode_error::too_large);
    EXPECT_EQ(decode_message(huge).error(), decode_error::too_large);
}

TEST(Codec, CompressedPayloadWithGarbageAfterFrameIsRefused) {
    const auto good = encode_ok(send_message{3, 1, 0, sample_long_text()});
    auto h = peek_header(good);
    bytes payload(good.begin() + static_cast<std::ptrdiff_t>(h->header_size),
                  good.begin() + static_cast<std::ptrdiff_t>(h->header_size + h->payload_size));
    payload.push_back(0x42);
    EXPECT_EQ(decode(build_frame(packet_kind::send_message, payload, flag_compressed)).error(),
              decode_error::decompression_failed);
}

}  // namespace
