// RESP2, the Redis wire protocol: encoding commands, and an incremental,
// bounded parser for replies. No I/O, no clocks, no logging.
//
// FORMAT
//   +<text>CRLF            simple string (no CR or LF inside)
//   -<text>CRLF            error ("ERR unknown command", "NOSCRIPT ...")
//   :<int64>CRLF           integer
//   $<n>CRLF<n bytes>CRLF  bulk string, binary safe; $-1CRLF is the null bulk ("nil")
//   *<n>CRLF<n values>     array of any values; *-1CRLF is the null array
// A command is an array of bulk strings, so any byte may appear in an
// argument. Redis 7 also speaks RESP3 after HELLO 3; Parley never sends it.
//
// ALGORITHM
// The parser keeps the bytes fed to it but not yet consumed, and a stack of
// the arrays being filled (one frame per nesting level, each counting the
// elements still missing). next() consumes one header line at a time; a
// scalar completes the innermost array's next element, and a full array
// completes its parent's, until the outermost value is complete and is
// returned. A bulk string's content is moved out of the input as it arrives
// (or straight from feed() when nothing else is buffered), so a large value
// is held once, not twice. A partial line stays buffered; how far it was
// already searched for CR is remembered, so feeding one byte at a time costs
// O(n), not O(n^2). Nothing recurses while parsing.
//
// BOUNDS (struct limits, each checked before anything is allocated for it)
// A header line, a bulk string's length, an array's element count, the
// nesting depth and the memory of one whole reply are bounded. A length is
// never trusted for a reservation: "$536870912" allocates nothing until the
// bytes come, and they are refused once the reply passes max_reply_bytes.
//
// GUARANTEES
// next() never throws on input (only std::bad_alloc can escape), never reads
// outside what was fed, and for any way of cutting the same bytes into
// pieces yields the same values and the same error. Malformed input gives a
// parse_error with an errc and a message naming the stream offset; the
// parser then stays failed (every next() repeats the error) until reset(),
// since a RESP stream cannot be resynchronised: the connection must go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <utility>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parley::server::cluster::resp {

// ---- values --------------------------------------------------------------------------------------

/// Thrown by an accessor of the wrong kind (as_int() of a string): a bug in the caller.
class bad_access : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/**
 * One RESP2 value. The kind predicates ignore nullness and is_null() tells
 * the nulls apart; a null reads as its kind's empty value: as_string() of
 * $-1 is "", elements() of *-1 is empty. Default-constructed: the null bulk.
 */
class value {
public:
    enum class kind : std::uint8_t { simple_string, error, integer, bulk_string, array };

    value() = default;
    static value simple_string(std::string text);
    static value error(std::string message);
    static value integer(std::int64_t n);
    static value bulk_string(std::string bytes);
    static value null_bulk_string();
    static value array(std::vector<value> elements);
    static value null_array();

    kind type() const noexcept { return kind_; }
    bool is_null() const noexcept { return null_; }
    bool is_error() const noexcept { return kind_ == kind::error; }
    bool is_integer() const noexcept { return kind_ == kind::integer; }
    /// A simple or a bulk string (the null bulk included).
    bool is_string() const noexcept { return kind_ == kind::simple_string || kind_ == kind::bulk_string; }
    /// An array (the null array included).
    bool is_array() const noexcept { return kind_ == kind::array; }

    /// @throws bad_access unless is_integer()
    std::int64_t as_int() const;
    /// A string's bytes or an error's message. @throws bad_access for an integer or an array
    const std::string& as_string() const;
    std::string& as_string();
    /// @throws bad_access unless is_array()
    const std::vector<value>& elements() const;
    std::vector<value>& elements();

    friend bool operator==(const value& a, const value& b);
    /// A readable form for test failures and logs: [1, "a\r\n", nil, (error) ERR x].
    friend std::ostream& operator<<(std::ostream& out, const value& v);

private:
    kind kind_ = kind::bulk_string;
    bool null_ = true;
    std::int64_t int_ = 0;
    std::string text_;
    std::vector<value> elements_;
};

// ---- encoding ------------------------------------------------------------------------------------

/** Appends one command (an array of bulk strings) to `out`. Binary safe: an
 *  argument may hold any bytes, CR, LF and NUL included. */
void append_command(std::string& out, std::span<const std::string_view> args);
void append_command(std::string& out, std::span<const std::string> args);

/// One command's bytes: encode_command({"SET", key, value}).
std::string encode_command(const std::vector<std::string_view>& args);

/** Appends a value as a server would send it (for tests and fakes). CR and LF
 *  in a simple string or an error, which RESP cannot carry, become spaces,
 *  as Redis does with error messages. */
void append_value(std::string& out, const value& v);
std::string encode_value(const value& v);

// ---- parsing -------------------------------------------------------------------------------------

enum class errc : std::uint8_t {
    bad_type = 1,       ///< a value starts with a byte other than + - : $ * (or an empty line)
    bad_integer,        ///< an integer or a length that is not a decimal number
    integer_overflow,   ///< an integer or a length outside 64 bits
    bad_length,         ///< a negative length other than -1
    missing_crlf,       ///< a bare CR or LF in a line, or bulk content not followed by CRLF
    line_too_long,      ///< no CRLF within limits::max_line_bytes
    bulk_too_large,     ///< a bulk length above limits::max_bulk_bytes
    too_many_elements,  ///< an array length above limits::max_array_elements
    too_deep,           ///< arrays nested deeper than limits::max_depth
    reply_too_large,    ///< one reply would take more than limits::max_reply_bytes
};

/// The errc's name ("bad_type").
std::string_view to_string(errc e) noexcept;

struct parse_error {
    errc code;
    std::string message;  ///< what and where: "bad length -2 at offset 17"
};

/// The hard ceiling of limits::max_bulk_bytes: Redis's default proto-max-bulk-len.
inline constexpr std::size_t max_bulk_bytes_ceiling = std::size_t{512} * 1024 * 1024;

/// What one reply may hold. Each may be lowered; none may be 0.
struct limits {
    /// A bulk string's bytes: Redis's own maximum. Parley's values (events,
    /// scripts) are kilobytes; a cluster client may well lower it.
    std::size_t max_bulk_bytes = max_bulk_bytes_ceiling;
    /// One array's elements: an XRANGE page or a pipelined MGET is far smaller.
    std::size_t max_array_elements = 1024 * 1024;
    /// Nested arrays (XRANGE is 3 deep, XREAD 4, EXEC of those 5).
    std::size_t max_depth = 8;
    /// A header line, type byte included (simple strings and errors are lines).
    std::size_t max_line_bytes = 64 * 1024;
    /// Memory of one top-level reply: its strings' bytes plus sizeof(value)
    /// per value, so a stream of tiny elements cannot inflate 20-fold.
    std::size_t max_reply_bytes = std::size_t{1024} * 1024 * 1024;
};

/// What next() found: a value, nothing complete yet, or an error.
class parse_result {
public:
    static parse_result incomplete() { return parse_result(std::monostate{}); }
    parse_result(value v) : state_(std::move(v)) {}
    parse_result(parse_error e) : state_(std::move(e)) {}

    bool has_value() const noexcept { return state_.index() == 1; }
    explicit operator bool() const noexcept { return has_value(); }
    bool is_incomplete() const noexcept { return state_.index() == 0; }
    bool failed() const noexcept { return state_.index() == 2; }

    /// @throws bad_access unless has_value()
    value& operator*();
    value* operator->() { return &**this; }
    /// @throws bad_access unless failed()
    const parse_error& error() const;

private:
    explicit parse_result(std::monostate) {}
    std::variant<std::monostate, value, parse_error> state_;
};

/**
 * Turns a byte stream into values. Feed it what the socket gave, then call
 * next() until it is incomplete; bytes fed before then are buffered (so feed
 * in read-sized pieces, and drain between feeds, to keep the buffer to one
 * read plus one partial line).
 */
class parser {
public:
    /// @throws std::invalid_argument if a limit is 0 or max_bulk_bytes is above the ceiling
    explicit parser(limits l = {});

    /// Adds bytes; ignored once the parser has failed.
    void feed(std::string_view bytes);
    /** The next complete value, if the bytes fed so far hold one.
     *  @return a value, incomplete, or an error (repeated until reset()) */
    parse_result next();
    /// Forgets everything: buffered bytes, partial values, the error.
    void reset();

    /// Bytes fed but not yet consumed.
    std::size_t buffered() const noexcept { return buffer_.size() - pos_; }
    const limits& bounds() const noexcept { return limits_; }

private:
    struct frame {
        value array;
        std::size_t missing;  // elements still to come
    };
    struct line_scan {
        std::optional<std::string_view> line;  // without CRLF; empty optional: incomplete or failed
        std::optional<parse_error> error;
    };

    line_scan scan_line();
    std::optional<parse_result> start_value(std::string_view line);
    bool read_bulk();
    std::optional<parse_result> complete(value v);
    std::optional<parse_error> charge(std::size_t bytes);
    parse_result fail(errc code, std::string what);
    void consume(std::size_t n);
    std::size_t offset() const noexcept { return consumed_; }

    limits limits_;
    std::string buffer_;
    std::size_t pos_ = 0;        // first unconsumed byte of buffer_
    std::size_t scanned_ = 0;    // bytes of the current line known to hold no CR or LF
    std::size_t consumed_ = 0;   // stream offset of buffer_[pos_]
    std::vector<frame> stack_;   // arrays being filled, outermost first
    bool in_bulk_ = false;
    std::string bulk_;           // the bulk string being read
    std::size_t bulk_missing_ = 0;  // its content bytes still to come (then CRLF)
    std::size_t reply_cost_ = 0;    // memory charged to the reply being parsed
    std::optional<parse_error> failed_;
};

}  // namespace parley::server::cluster::resp
