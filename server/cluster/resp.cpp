#include "server/cluster/resp.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ostream>

namespace parley::server::cluster::resp {

// ---- value ---------------------------------------------------------------------------------------

value value::simple_string(std::string text) {
    value v;
    v.kind_ = kind::simple_string, v.null_ = false, v.text_ = std::move(text);
    return v;
}

value value::error(std::string message) {
    value v = simple_string(std::move(message));
    v.kind_ = kind::error;
    return v;
}

value value::integer(std::int64_t n) {
    value v;
    v.kind_ = kind::integer, v.null_ = false, v.int_ = n;
    return v;
}

value value::bulk_string(std::string bytes) {
    value v = simple_string(std::move(bytes));
    v.kind_ = kind::bulk_string;
    return v;
}

value value::null_bulk_string() { return value(); }

value value::array(std::vector<value> elements) {
    value v;
    v.kind_ = kind::array, v.null_ = false, v.elements_ = std::move(elements);
    return v;
}

value value::null_array() {
    value v;
    v.kind_ = kind::array;
    return v;
}

std::int64_t value::as_int() const {
    if (!is_integer()) throw bad_access("resp::value: as_int() of a value that is not an integer");
    return int_;
}

const std::string& value::as_string() const {
    if (kind_ == kind::integer || kind_ == kind::array)
        throw bad_access("resp::value: as_string() of an integer or an array");
    return text_;
}

std::string& value::as_string() { return const_cast<std::string&>(std::as_const(*this).as_string()); }

const std::vector<value>& value::elements() const {
    if (!is_array()) throw bad_access("resp::value: elements() of a value that is not an array");
    return elements_;
}

std::vector<value>& value::elements() { return const_cast<std::vector<value>&>(std::as_const(*this).elements()); }

bool operator==(const value& a, const value& b) {
    return a.kind_ == b.kind_ && a.null_ == b.null_ && a.int_ == b.int_ && a.text_ == b.text_ &&
           a.elements_ == b.elements_;
}

namespace {

void print_quoted(std::ostream& out, std::string_view s) {
    out << '"';
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') out << '\\' << c;
        else if (c == '\r') out << "\\r";
        else if (c == '\n') out << "\\n";
        else if (u < 0x20 || u >= 0x7F) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out << hex;
        } else out << c;
    }
    out << '"';
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const value& v) {
    switch (v.kind_) {
    case value::kind::simple_string: return out << v.text_;
    case value::kind::error: return out << "(error) " << v.text_;
    case value::kind::integer: return out << v.int_;
    case value::kind::bulk_string:
        if (v.null_) return out << "nil";
        print_quoted(out, v.text_);
        return out;
    case value::kind::array:
        if (v.null_) return out << "nil-array";
        out << '[';
        for (std::size_t i = 0; i < v.elements_.size(); ++i) out << (i ? ", " : "") << v.elements_[i];
        return out << ']';
    }
    return out;
}

// ---- encoding ------------------------------------------------------------------------------------

namespace {

void append_header(std::string& out, char type, std::int64_t n) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out += type;
    out.append(digits, r.ptr);
    out += "\r\n";
}

// "*N\r\n" then "$len\r\n<arg>\r\n" per argument: 16 covers both headers of
// an argument up to 10^10 bytes, so one reservation is enough.
template <class String>
void append_bulk_array(std::string& out, std::span<const String> args) {
    std::size_t size = 16;
    for (const auto& a : args) size += a.size() + 16;
    out.reserve(out.size() + size);
    append_header(out, '*', static_cast<std::int64_t>(args.size()));
    for (const auto& a : args) {
        append_header(out, '$', static_cast<std::int64_t>(a.size()));
        out.append(a.data(), a.size());
        out += "\r\n";
    }
}

void append_line(std::string& out, char type, std::string_view text) {
    out += type;
    const std::size_t start = out.size();
    out += text;
    std::replace_if(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
                    [](char c) { return c == '\r' || c == '\n'; }, ' ');
    out += "\r\n";
}

}  // namespace

void append_command(std::string& out, std::span<const std::string_view> args) { append_bulk_array(out, args); }

void append_command(std::string& out, std::span<const std::string> args) { append_bulk_array(out, args); }

std::string encode_command(const std::vector<std::string_view>& args) {
    std::string out;
    append_command(out, std::span<const std::string_view>(args));
    return out;
}

void append_value(std::string& out, const value& v) {
    switch (v.type()) {
    case value::kind::simple_string: return append_line(out, '+', v.as_string());
    case value::kind::error: return append_line(out, '-', v.as_string());
    case value::kind::integer: return append_header(out, ':', v.as_int());
    case value::kind::bulk_string:
        if (v.is_null()) return append_header(out, '$', -1);
        append_header(out, '$', static_cast<std::int64_t>(v.as_string().size()));
        out += v.as_string();
        out += "\r\n";
        return;
    case value::kind::array:
        if (v.is_null()) return append_header(out, '*', -1);
        append_header(out, '*', static_cast<std::int64_t>(v.elements().size()));
        for (const value& e : v.elements()) append_value(out, e);
        return;
    }
}

std::string encode_value(const value& v) {
    std::string out;
    append_value(out, v);
    return out;
}

// ---- errors --------------------------------------------------------------------------------------

std::string_view to_string(errc e) noexcept {
    switch (e) {
    case errc::bad_type: return "bad_type";
    case errc::bad_integer: return "bad_integer";
    case errc::integer_overflow: return "integer_overflow";
    case errc::bad_length: return "bad_length";
    case errc::missing_crlf: return "missing_crlf";
    case errc::line_too_long: return "line_too_long";
    case errc::bulk_too_large: return "bulk_too_large";
    case errc::too_many_elements: return "too_many_elements";
    case errc::too_deep: return "too_deep";
    case errc::reply_too_large: return "reply_too_large";
    }
    return "unknown";
}

value& parse_result::operator*() {
    if (!has_value()) throw bad_access("resp::parse_result: no value");
    return std::get<1>(state_);
}

const parse_error& parse_result::error() const {
    if (!failed()) throw bad_access("resp::parse_result: no error");
    return std::get<2>(state_);
}

// ---- parser --------------------------------------------------------------------------------------

namespace {

enum class int_status { ok, bad, overflow };

int_status parse_int(std::string_view digits, std::int64_t& out) {
    if (digits.empty()) return int_status::bad;
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    if (r.ec == std::errc::result_out_of_range) return int_status::overflow;
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return int_status::bad;
    return int_status::ok;
}

std::string quote_byte(char c) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(c));
    return hex;
}

}  // namespace

parser::parser(limits l) : limits_(l) {
    if (l.max_bulk_bytes == 0 || l.max_array_elements == 0 || l.max_depth == 0 || l.max_line_bytes == 0 ||
        l.max_reply_bytes == 0)
        throw std::invalid_argument("resp::limits: every limit must be at least 1");
    if (l.max_bulk_bytes > max_bulk_bytes_ceiling)
        throw std::invalid_argument("resp::limits: max_bulk_bytes is above 512 MiB");
}

void parser::reset() {
    buffer_.clear();
    pos_ = scanned_ = consumed_ = 0;
    stack_.clear();
    in_bulk_ = false;
    bulk_.clear();
    bulk_missing_ = 0;
    reply_cost_ = 0;
    failed_.reset();
}

void parser::feed(std::string_view bytes) {
    if (failed_) return;
    buffer_.erase(0, pos_);
    pos_ = 0;
    // Bulk content with nothing buffered before it goes straight to its value.
    if (in_bulk_ && buffer_.empty()) {
        const std::size_t take = std::min(bulk_missing_, bytes.size());
        bulk_.append(bytes.data(), take);
        bulk_missing_ -= take;
        consumed_ += take;
        bytes.remove_prefix(take);
    }
    buffer_.append(bytes);
}

void parser::consume(std::size_t n) {
    pos_ += n;
    consumed_ += n;
    scanned_ = 0;
}

parse_result parser::fail(errc code, std::string what) {
    failed_ = parse_error{code, std::move(what) + " at offset " + std::to_string(offset())};
    return *failed_;
}

// A line ends at the first CRLF; a CR or LF that is not part of one is an
// error, and so is a line that has not ended within max_line_bytes.
parser::line_scan parser::scan_line() {
    const std::string_view rest = std::string_view(buffer_).substr(pos_);
    const std::size_t window = std::min(rest.size(), limits_.max_line_bytes + 1);
    const std::size_t i = rest.find_first_of("\r\n", scanned_);
    if (i == std::string_view::npos || i >= window) {
        scanned_ = window;
        if (rest.size() > limits_.max_line_bytes)
            return {std::nullopt,
                    parse_error{errc::line_too_long, "no CRLF within " + std::to_string(limits_.max_line_bytes) + " bytes"}};
        return {};
    }
    scanned_ = i;  // resume at the CR if its LF has not come yet
    if (rest[i] == '\n') return {std::nullopt, parse_error{errc::missing_crlf, "LF without CR"}};
    if (i + 1 == rest.size()) return {};
    if (rest[i + 1] != '\n') return {std::nullopt, parse_error{errc::missing_crlf, "CR without LF"}};
    return {rest.substr(0, i), std::nullopt};
}

parse_result parser::next() {
    if (failed_) return *failed_;
    for (;;) {
        if (in_bulk_) {
            if (!read_bulk()) {
                if (failed_) return *failed_;
                return parse_result::incomplete();
            }
            in_bulk_ = false;
            if (auto done = complete(value::bulk_string(std::move(bulk_)))) return std::move(*done);
            bulk_.clear();
            continue;
        }
        line_scan scan = scan_line();
        if (scan.error) return fail(scan.error->code, std::move(scan.error->message));
        if (!scan.line) return parse_result::incomplete();
        if (auto done = start_value(*scan.line)) return std::move(*done);
    }
}

// Consumes one header line. Returns a result when it ends the outermost
// value or fails; nullopt when parsing goes on (an element was added, an
// array or a bulk string begun). Every bound is checked before the line is
// consumed, so an error names the offset of the line that broke it.
std::optional<parse_result> parser::start_value(std::string_view line) {
    if (line.empty()) return fail(errc::bad_type, "empty line where a value should start");
    const char type = line.front();
    const std::string_view body = line.substr(1);
    if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*')
        return fail(errc::bad_type, "bad type byte " + quote_byte(type));
    std::int64_t n = 0;
    if (type == ':' || type == '$' || type == '*') {
        const int_status s = parse_int(body, n);
        if (s == int_status::bad) return fail(errc::bad_integer, "bad integer \"" + std::string(body.substr(0, 32)) + "\"");
        if (s == int_status::overflow) return fail(errc::integer_overflow, "integer out of range");
        if ((type == '$' || type == '*') && n < -1) return fail(errc::bad_length, "bad length " + std::to_string(n));
    }
    const auto length = static_cast<std::uint64_t>(std::max<std::int64_t>(n, 0));
    if (type == '$' && length > limits_.max_bulk_bytes)
        return fail(errc::bulk_too_large,
                    "bulk length " + std::to_string(length) + " above " + std::to_string(limits_.max_bulk_bytes));
    if (type == '*' && length > limits_.max_array_elements)
        return fail(errc::too_many_elements,
                    "array length " + std::to_string(length) + " above " + std::to_string(limits_.max_array_elements));
    if (type == '*' && n >= 0 && stack_.size() >= limits_.max_depth)
        return fail(errc::too_deep, "arrays nested deeper than " + std::to_string(limits_.max_depth));
    const std::size_t content = type == '+' || type == '-' ? body.size() : type == '$' ? static_cast<std::size_t>(length) : 0;
    if (auto e = charge(sizeof(value) + content)) return fail(e->code, e->message);

    std::string text(type == '+' || type == '-' ? body : std::string_view());
    consume(line.size() + 2);
    switch (type) {
    case '+': return complete(value::simple_string(std::move(text)));
    case '-': return complete(value::error(std::move(text)));
    case ':': return complete(value::integer(n));
    case '$':
        if (n == -1) return complete(value::null_bulk_string());
        in_bulk_ = true;
        bulk_.clear();  // grows as the bytes come: the length is a claim, not a reservation
        bulk_missing_ = static_cast<std::size_t>(length);
        return std::nullopt;
    default:
        if (n == -1) return complete(value::null_array());
        if (n == 0) return complete(value::array({}));
        stack_.push_back(frame{value::array({}), static_cast<std::size_t>(length)});
        return std::nullopt;
    }
}

// Moves what has come of the bulk string's content into it. True once the
// content and its CRLF are complete; false when more is needed or on error.
bool parser::read_bulk() {
    const std::size_t take = std::min(bulk_missing_, buffer_.size() - pos_);
    bulk_.append(buffer_, pos_, take);
    pos_ += take;
    consumed_ += take;
    bulk_missing_ -= take;
    if (bulk_missing_ > 0 || buffer_.size() - pos_ < 2) return false;
    if (buffer_[pos_] != '\r' || buffer_[pos_ + 1] != '\n') {
        fail(errc::missing_crlf, "bulk string not followed by CRLF");
        return false;
    }
    consume(2);
    return true;
}

// A value is done: it becomes the next element of the innermost array, and
// each array it fills becomes the next element of its parent in turn.
std::optional<parse_result> parser::complete(value v) {
    while (!stack_.empty()) {
        frame& top = stack_.back();
        top.array.elements().push_back(std::move(v));
        if (--top.missing > 0) return std::nullopt;
        v = std::move(top.array);
        stack_.pop_back();
    }
    reply_cost_ = 0;
    return parse_result(std::move(v));
}

std::optional<parse_error> parser::charge(std::size_t bytes) {
    if (bytes > limits_.max_reply_bytes - std::min(reply_cost_, limits_.max_reply_bytes))
        return parse_error{errc::reply_too_large, "reply larger than " + std::to_string(limits_.max_reply_bytes) + " bytes"};
    reply_cost_ += bytes;
    return std::nullopt;
}

}  // namespace parley::server::cluster::resp
