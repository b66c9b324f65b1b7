// The RESP2 codec alone (no server): values round trip, any cut of the
// input gives the same values, malformed input gives the right errc, and
// every bound holds before anything is allocated for it.
#include "server/cluster/resp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// ---- allocation probe ----------------------------------------------------------------------------
// The largest single allocation while a probe is active: proves that a
// claimed length is not reserved up front. Replaces the global operator new
// of this test executable only.

namespace {
std::atomic<bool> probing{false};
std::atomic<std::size_t> largest_allocation{0};
}  // namespace

// GCC sees free() of what it takes for the built-in operator new once these
// are inlined into callers; they are this file's own pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
    if (probing.load(std::memory_order_relaxed)) {
        std::size_t seen = largest_allocation.load(std::memory_order_relaxed);
        while (n > seen && !largest_allocation.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
        }
    }
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using namespace parley::server::cluster::resp;

struct allocation_probe {
    allocation_probe() {
        largest_allocation = 0;
        probing = true;
    }
    ~allocation_probe() { probing = false; }
    std::size_t largest() const { return largest_allocation.load(); }
};

/// Everything the parser yields from `pieces` fed one after another, draining between feeds.
struct parsed {
    std::vector<value> values;
    std::optional<errc> error;
    std::string message;
    std::size_t incomplete_after = 0;  // nonzero: bytes left buffered at the end
};

parsed parse_pieces(const std::vector<std::string_view>& pieces, limits l = {}) {
    parser p(l);
    parsed out;
    for (std::string_view piece : pieces) {
        p.feed(piece);
        for (;;) {
            parse_result r = p.next();
            if (r.is_incomplete()) break;
            if (r.failed()) {
                out.error = r.error().code;
                out.message = r.error().message;
                return out;
            }
            out.values.push_back(std::move(*r));
        }
    }
    out.incomplete_after = p.buffered();
    return out;
}

parsed parse_all(std::string_view bytes, limits l = {}) { return parse_pieces({bytes}, l); }

parsed parse_bytewise(std::string_view bytes, limits l = {}) {
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i < bytes.size(); ++i) pieces.push_back(bytes.substr(i, 1));
    return parse_pieces(pieces, l);
}

const std::string binary_payload = std::string("a\r\nb\0c\r\n$3\r\n*1\r\n\n\r", 18) + "\xff\x80";

value sample_nested() {
    return value::array({
        value::simple_string("OK"),
        value::error("ERR something"),
        value::integer(-42),
        value::bulk_string(binary_payload),
        value::null_bulk_string(),
        value::array({}),
        value::null_array(),
        value::array({value::integer(1), value::array({value::bulk_string(""), value::integer(2)})}),
    });
}

std::vector<value> every_kind() {
    return {
        value::simple_string("OK"),
        value::simple_string(""),
        value::error("ERR unknown command 'NOPE'"),
        value::integer(0),
        value::integer(-1),
        value::integer(std::numeric_limits<std::int64_t>::min()),
        value::integer(std::numeric_limits<std::int64_t>::max()),
        value::bulk_string(""),
        value::bulk_string("hello"),
        value::bulk_string(binary_payload),
        value::null_bulk_string(),
        value::array({}),
        value::null_array(),
        sample_nested(),
    };
}

std::string encode_all(const std::vector<value>& values) {
    std::string out;
    for (const value& v : values) append_value(out, v);
    return out;
}

// ---- encoding ------------------------------------------------------------------------------------

TEST(resp_encode, command_is_an_array_of_bulk_strings) {
    EXPECT_EQ(encode_command({"SET", "k", "v"}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    EXPECT_EQ(encode_command({"PING"}), "*1\r\n$4\r\nPING\r\n");
    EXPECT_EQ(encode_command({"ECHO", ""}), "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
}

TEST(resp_encode, command_is_binary_safe) {
    const std::string encoded = encode_command({"SET", "k", binary_payload});
    ASSERT_EQ(binary_payload.size(), 20u);
    EXPECT_EQ(encoded, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20\r\n" + binary_payload + "\r\n");
    // A server reads it back as the same arguments.
    const parsed p = parse_all(encoded);
    ASSERT_EQ(p.values.size(), 1u);
    EXPECT_EQ(p.values[0],
              value::array({value::bulk_string("SET"), value::bulk_string("k"), value::bulk_string(binary_payload)}));
}

TEST(resp_encode, append_adds_behind_what_is_there) {
    std::string out = "prefix";
    const std::vector<std::string> owned{"INCR", "counter"};
    append_command(out, std::span<const std::string>(owned));
    const std::vector<std::string_view> views{"GET", "counter"};
    append_command(out, std::span<const std::string_view>(views));
    EXPECT_EQ(out, "prefix*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n*2\r\n$3\r\nGET\r\n$7\r\ncounter\r\n");
}

TEST(resp_encode, lines_cannot_carry_crlf) {
    EXPECT_EQ(encode_value(value::error("ERR a\r\nb")), "-ERR a  b\r\n");
    EXPECT_EQ(encode_value(value::simple_string("x\ny")), "+x y\r\n");
}

// ---- round trips ---------------------------------------------------------------------------------

TEST(resp_parse, every_kind_round_trips) {
    for (const value& v : every_kind()) {
        const parsed p = parse_all(encode_value(v));
        ASSERT_FALSE(p.error) << v;
        ASSERT_EQ(p.values.size(), 1u) << v;
        EXPECT_EQ(p.values[0], v);
        EXPECT_EQ(p.incomplete_after, 0u);
    }
}

TEST(resp_parse, wire_forms_of_redis_replies) {
    const parsed p = parse_all("+OK\r\n-ERR bad\r\n:-7\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n*0\r\n*2\r\n$1\r\na\r\n:1\r\n");
    ASSERT_FALSE(p.error);
    const std::vector<value> expected{value::simple_string("OK"), value::error("ERR bad"), value::integer(-7),
                                      value::bulk_string("hello"), value::null_bulk_string(), value::null_array(),
                                      value::array({}), value::array({value::bulk_string("a"), value::integer(1)})};
    EXPECT_EQ(p.values, expected);
}

TEST(resp_parse, a_cut_anywhere_gives_the_same_values) {
    const std::vector<value> values = every_kind();
    const std::string bytes = encode_all(values);
    EXPECT_EQ(parse_bytewise(bytes).values, values);
    for (std::size_t i = 0; i <= bytes.size(); ++i) {
        const std::string_view all(bytes);
        const parsed p = parse_pieces({all.substr(0, i), all.substr(i)});
        ASSERT_FALSE(p.error) << "cut at " << i;
        ASSERT_EQ(p.values, values) << "cut at " << i;
    }
}

TEST(resp_parse, two_cuts_anywhere_give_the_same_values) {
    const std::vector<value> values{sample_nested(), value::integer(5)};
    const std::string bytes = encode_all(values);
    const std::string_view all(bytes);
    for (std::size_t i = 0; i <= bytes.size(); ++i)
        for (std::size_t j = i; j <= bytes.size(); ++j) {
            const parsed p = parse_pieces({all.substr(0, i), all.substr(i, j - i), all.substr(j)});
            ASSERT_EQ(p.values, values) << "cuts at " << i << " and " << j;
        }
}

TEST(resp_parse, incomplete_input_yields_nothing_yet) {
    parser p;
    p.feed("*2\r\n$5\r\nhel");
    EXPECT_TRUE(p.next().is_incomplete());
    p.feed("lo\r\n");
    EXPECT_TRUE(p.next().is_incomplete());
    p.feed(":3\r");
    EXPECT_TRUE(p.next().is_incomplete());
    p.feed("\n+next");
    parse_result r = p.next();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, value::array({value::bulk_string("hello"), value::integer(3)}));
    EXPECT_TRUE(p.next().is_incomplete());
    EXPECT_EQ(p.buffered(), 5u);  // "+next" waits for its CRLF
}

TEST(resp_parse, many_replies_in_one_feed) {
    std::string bytes;
    for (int i = 1; i <= 1000; ++i) append_value(bytes, value::integer(i));
    const parsed p = parse_all(bytes);
    ASSERT_EQ(p.values.size(), 1000u);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(p.values[static_cast<std::size_t>(i)].as_int(), i + 1);
    EXPECT_EQ(p.incomplete_after, 0u);
}

TEST(resp_parse, binary_bulk_content_survives_every_cut) {
    const value v = value::bulk_string(binary_payload + std::string(1, '\0') + "\r\n");
    const std::string bytes = encode_value(v);
    for (std::size_t i = 0; i <= bytes.size(); ++i) {
        const std::string_view all(bytes);
        const parsed p = parse_pieces({all.substr(0, i), all.substr(i)});
        ASSERT_EQ(p.values.size(), 1u) << "cut at " << i;
        EXPECT_EQ(p.values[0], v);
        EXPECT_EQ(p.values[0].as_string().size(), binary_payload.size() + 3);
    }
}

// ---- malformed input -----------------------------------------------------------------------------

struct malformed_case {
    std::string input;
    errc expected;
};

TEST(resp_parse, malformed_input_gives_its_errc) {
    const std::vector<malformed_case> cases{
        {"?x\r\n", errc::bad_type},
        {"\r\n", errc::bad_type},
        {"*1\r\n!\r\n", errc::bad_type},
        {":\r\n", errc::bad_integer},
        {":12a\r\n", errc::bad_integer},
        {":+1\r\n", errc::bad_integer},
        {": 1\r\n", errc::bad_integer},
        {"$\r\n", errc::bad_integer},
        {"$3x\r\nabc\r\n", errc::bad_integer},
        {"*two\r\n", errc::bad_integer},
        {":99999999999999999999\r\n", errc::integer_overflow},
        {":-9223372036854775809\r\n", errc::integer_overflow},
        {"$99999999999999999999\r\n", errc::integer_overflow},
        {"*99999999999999999999\r\n", errc::integer_overflow},
        {"$-2\r\n", errc::bad_length},
        {"*-5\r\n", errc::bad_length},
        {"$-9223372036854775808\r\n", errc::bad_length},
        {"+OK\n", errc::missing_crlf},
        {"+O\rK\r\n", errc::missing_crlf},
        {"-ERR\n\r\n", errc::missing_crlf},
        {"$3\r\nabcXY", errc::missing_crlf},
        {"$3\r\nabc\n\r", errc::missing_crlf},
        {"$0\r\nxx", errc::missing_crlf},
        {"*2\r\n:1\r\n$1\r\nab\r\n", errc::missing_crlf},
    };
    for (const malformed_case& c : cases) {
        const parsed whole = parse_all(c.input);
        ASSERT_TRUE(whole.error) << "input " << value::bulk_string(c.input);
        EXPECT_EQ(*whole.error, c.expected) << "input " << value::bulk_string(c.input) << ": " << to_string(*whole.error);
        const parsed bytewise = parse_bytewise(c.input);
        ASSERT_TRUE(bytewise.error) << "bytewise " << value::bulk_string(c.input);
        EXPECT_EQ(*bytewise.error, c.expected) << "bytewise " << value::bulk_string(c.input);
    }
}

TEST(resp_parse, an_error_sticks_until_reset) {
    parser p;
    p.feed("+OK\r\n$-2\r\n:1\r\n");
    ASSERT_TRUE(p.next());
    parse_result first = p.next();
    ASSERT_TRUE(first.failed());
    EXPECT_EQ(first.error().code, errc::bad_length);
    EXPECT_NE(first.error().message.find("offset 5"), std::string::npos) << first.error().message;
    p.feed(":2\r\n");  // ignored: the stream cannot be trusted any more
    parse_result again = p.next();
    ASSERT_TRUE(again.failed());
    EXPECT_EQ(again.error().code, errc::bad_length);
    p.reset();
    EXPECT_EQ(p.buffered(), 0u);
    p.feed(":2\r\n");
    parse_result after = p.next();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->as_int(), 2);
}

TEST(resp_parse, reset_forgets_a_partial_value) {
    parser p;
    p.feed("*3\r\n:1\r\n$10\r\nabc");
    EXPECT_TRUE(p.next().is_incomplete());
    p.reset();
    p.feed(":7\r\n");
    parse_result r = p.next();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, value::integer(7));
}

// Mutated and truncated replies, fed whole and in random pieces: the same
// values and the same error (with the same offset) either way, and no crash.
TEST(resp_parse, random_damage_gives_the_same_outcome_however_cut) {
    std::mt19937 rng(20261204);
    const std::string clean = encode_all(every_kind());
    const std::string alphabet = "+-:$*\r\n0123456789x";
    const limits small{.max_bulk_bytes = 64, .max_array_elements = 16, .max_depth = 3, .max_line_bytes = 48,
                       .max_reply_bytes = 4096};
    for (int round = 0; round < 3000; ++round) {
        std::string bytes = clean;
        const int damage = 1 + static_cast<int>(rng() % 3);
        for (int d = 0; d < damage; ++d) bytes[rng() % bytes.size()] = alphabet[rng() % alphabet.size()];
        if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
        const limits l = round % 2 ? small : limits{};
        std::vector<std::string_view> pieces;
        for (std::size_t at = 0; at < bytes.size();) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 9, bytes.size() - at);
            pieces.push_back(std::string_view(bytes).substr(at, n));
            at += n;
        }
        const parsed whole = parse_all(bytes, l);
        const parsed cut = parse_pieces(pieces, l);
        ASSERT_EQ(whole.values, cut.values) << "round " << round;
        ASSERT_EQ(whole.error, cut.error) << "round " << round;
        ASSERT_EQ(whole.message, cut.message) << "round " << round;
        if (!whole.error) {
            ASSERT_EQ(whole.incomplete_after, cut.incomplete_after) << "round " << round;
        }
    }
}

// ---- bounds --------------------------------------------------------------------------------------

std::string nested_arrays(std::size_t depth) {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i) s += "*1\r\n";
    return s + ":1\r\n";
}

TEST(resp_bounds, nesting_depth) {
    EXPECT_FALSE(parse_all(nested_arrays(8)).error);
    EXPECT_EQ(parse_all(nested_arrays(8)).values.size(), 1u);
    EXPECT_EQ(parse_all(nested_arrays(9)).error, errc::too_deep);
    EXPECT_EQ(parse_all(nested_arrays(100000)).error, errc::too_deep);
    EXPECT_EQ(parse_all(nested_arrays(3), limits{.max_depth = 2}).error, errc::too_deep);
    EXPECT_FALSE(parse_all(nested_arrays(2), limits{.max_depth = 2}).error);
    // An empty array at the limit's depth is still an array too deep.
    EXPECT_EQ(parse_all("*1\r\n*1\r\n*0\r\n", limits{.max_depth = 2}).error, errc::too_deep);
}

TEST(resp_bounds, a_huge_claimed_bulk_is_not_allocated) {
    allocation_probe probe;
    parser p;
    p.feed("$536870912\r\nab");  // exactly the default maximum: accepted, but only 2 bytes came
    EXPECT_TRUE(p.next().is_incomplete());
    p.feed("cd");
    EXPECT_TRUE(p.next().is_incomplete());
    EXPECT_LT(probe.largest(), 64u * 1024) << "the claimed length was reserved";
}

TEST(resp_bounds, a_huge_claimed_array_is_not_allocated) {
    allocation_probe probe;
    parser p;
    p.feed("*1048576\r\n:1\r\n:2\r\n");
    EXPECT_TRUE(p.next().is_incomplete());
    EXPECT_LT(probe.largest(), 64u * 1024) << "the claimed element count was reserved";
}

TEST(resp_bounds, bulk_length) {
    EXPECT_EQ(parse_all("$536870913\r\n").error, errc::bulk_too_large);
    EXPECT_EQ(parse_all("$9223372036854775807\r\n").error, errc::bulk_too_large);
    const limits small{.max_bulk_bytes = 4};
    EXPECT_EQ(parse_all("$4\r\nabcd\r\n", small).values, std::vector<value>{value::bulk_string("abcd")});
    EXPECT_EQ(parse_all("$5\r\nabcde\r\n", small).error, errc::bulk_too_large);
    EXPECT_THROW(parser(limits{.max_bulk_bytes = max_bulk_bytes_ceiling + 1}), std::invalid_argument);
    EXPECT_THROW(parser(limits{.max_depth = 0}), std::invalid_argument);
}

TEST(resp_bounds, array_elements) {
    EXPECT_EQ(parse_all("*1048577\r\n").error, errc::too_many_elements);
    const limits small{.max_array_elements = 2};
    EXPECT_FALSE(parse_all("*2\r\n:1\r\n:2\r\n", small).error);
    EXPECT_EQ(parse_all("*3\r\n:1\r\n:2\r\n:3\r\n", small).error, errc::too_many_elements);
    EXPECT_EQ(parse_all("*1\r\n*3\r\n", small).error, errc::too_many_elements);
}

TEST(resp_bounds, line_length) {
    const limits small{.max_line_bytes = 8};
    EXPECT_FALSE(parse_all("+1234567\r\n", small).error);  // 8 bytes with the type byte
    EXPECT_EQ(parse_all("+12345678\r\n", small).error, errc::line_too_long);
    // Detected without the CRLF: a line that never ends is not buffered forever.
    EXPECT_EQ(parse_bytewise("+12345678", small).error, errc::line_too_long);
    EXPECT_EQ(parse_all(":" + std::string(100, '1'), small).error, errc::line_too_long);
    const parsed waiting = parse_all("+1234567", small);
    EXPECT_FALSE(waiting.error);
    EXPECT_EQ(waiting.incomplete_after, 8u);
    // The default: 64 KiB.
    EXPECT_EQ(parse_all("+" + std::string(64 * 1024, 'x')).error, errc::line_too_long);
    EXPECT_FALSE(parse_all("+" + std::string(64 * 1024 - 1, 'x') + "\r\n").error);
}

TEST(resp_bounds, reply_memory) {
    const limits small{.max_reply_bytes = 20 * sizeof(value)};
    std::string many = "*100\r\n";
    for (int i = 0; i < 100; ++i) many += ":1\r\n";
    EXPECT_EQ(parse_all(many, small).error, errc::reply_too_large);
    EXPECT_EQ(parse_all("$1000\r\n", limits{.max_reply_bytes = 500}).error, errc::reply_too_large);
    // The budget is per reply: many small replies pass.
    std::string small_replies;
    for (int i = 0; i < 100; ++i) small_replies += "*2\r\n:1\r\n:2\r\n";
    const parsed p = parse_all(small_replies, small);
    EXPECT_FALSE(p.error);
    EXPECT_EQ(p.values.size(), 100u);
}

// ---- values --------------------------------------------------------------------------------------

TEST(resp_value, accessors) {
    EXPECT_EQ(value::integer(5).as_int(), 5);
    EXPECT_THROW((void)value::bulk_string("5").as_int(), bad_access);
    EXPECT_THROW((void)value::integer(5).as_string(), bad_access);
    EXPECT_THROW((void)value::integer(5).elements(), bad_access);
    EXPECT_EQ(value::error("ERR x").as_string(), "ERR x");
    EXPECT_TRUE(value::error("ERR x").is_error());
    EXPECT_FALSE(value::simple_string("OK").is_error());
    // Nulls read as their kind's empty value; is_null() tells them apart.
    EXPECT_TRUE(value::null_bulk_string().is_null());
    EXPECT_TRUE(value::null_bulk_string().is_string());
    EXPECT_EQ(value::null_bulk_string().as_string(), "");
    EXPECT_NE(value::null_bulk_string(), value::bulk_string(""));
    EXPECT_TRUE(value::null_array().is_array());
    EXPECT_TRUE(value::null_array().elements().empty());
    EXPECT_NE(value::null_array(), value::array({}));
    EXPECT_EQ(value(), value::null_bulk_string());
}

TEST(resp_value, prints_readably) {
    std::ostringstream s;
    s << value::array({value::integer(1), value::bulk_string("a\r\n\x01"), value::null_bulk_string(), value::error("ERR x")});
    EXPECT_EQ(s.str(), R"([1, "a\r\n\x01", nil, (error) ERR x])");
}

}  // namespace
