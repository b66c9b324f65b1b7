#include "protocol/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using parley::protocol::is_valid_utf8;

std::string encode_code_point(std::uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

TEST(Utf8, AcceptsAsciiAndMixedScripts) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii text that is longer than eight bytes"));
    EXPECT_TRUE(is_valid_utf8("Grüße — 你好 — \xF0\x9F\x91\x8B"));
}

TEST(Utf8, EveryScalarValueIsAcceptedAndEverySurrogateRefused) {
    for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        ASSERT_EQ(is_valid_utf8("ab" + encode_code_point(cp) + "cd"), !surrogate) << std::hex << cp;
    }
}

TEST(Utf8, RefusesOverlongForms) {
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // '/' in 2 bytes
    EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));
    EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // '/' in 3 bytes
    EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));      // U+07FF in 3 bytes
    EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\xAF"));  // '/' in 4 bytes
    EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in 4 bytes
}

TEST(Utf8, RefusesCodePointsAboveUnicodeRange) {
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
    EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
    EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(Utf8, RefusesTruncatedAndStraySequences) {
    EXPECT_FALSE(is_valid_utf8("\xC3"));
    EXPECT_FALSE(is_valid_utf8("\xE4\xBD"));
    EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x91"));
    EXPECT_FALSE(is_valid_utf8("\x80"));
    EXPECT_FALSE(is_valid_utf8("abc\xBF"));
    EXPECT_FALSE(is_valid_utf8("\xC3\x28"));  // lead followed by ASCII
}

TEST(Utf8, InvalidByteAfterLongAsciiRunIsFound) {
    std::string s(1000, 'a');
    EXPECT_TRUE(is_valid_utf8(s));
    for (std::size_t pos : {0u, 7u, 8u, 9u, 500u, 999u}) {
        std::string t = s;
        t[pos] = '\xFE';
        EXPECT_FALSE(is_valid_utf8(t)) << pos;
    }
}

}  // namespace
