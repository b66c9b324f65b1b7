#include "server/core/log_line.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

namespace parley::server::log {
namespace {

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 when
// it is not one (overlong forms, surrogates and code points above U+10FFFF
// are not).
std::size_t utf8_sequence_length(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (s.size() < len || b(1) < lo || b(1) > hi) return 0;
    for (std::size_t i = 2; i < len; ++i)
        if (b(i) < 0x80 || b(i) > 0xBF) return 0;
    return len;
}

void append_control(std::string& out, unsigned char c) {
    switch (c) {
        case '\n': out += "\\n"; return;
        case '\r': out += "\\r"; return;
        case '\t': out += "\\t"; return;
        case '\b': out += "\\b"; return;
        case '\f': out += "\\f"; return;
        default: {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\u00";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        }
    }
}

// The one escaping loop of both forms: `quotes` also escapes '"' and '\'
// (JSON strings, quoted text values); control characters and bad UTF-8 are
// always handled.
void append_escaped(std::string& out, std::string_view s, bool quotes) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F) append_control(out, c);
            else if (quotes && (c == '"' || c == '\\')) out.push_back('\\'), out.push_back(static_cast<char>(c));
            else out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        const std::size_t len = utf8_sequence_length(s.substr(i));
        if (len == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD
            ++i;
        } else {
            out.append(s.substr(i, len));
            i += len;
        }
    }
}

template <class N>
void append_number(std::string& out, N n) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, ec == std::errc{} ? end : buf);
}

bool needs_quotes(std::string_view s) {
    if (s.empty()) return true;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == 0x7F || ch == '"' || ch == '\\' || ch == '=') return true;
    }
    return false;
}

void append_json_value(std::string& out, const value& v) {
    switch (v.type()) {
        case value::kind::signed_int: return append_number(out, v.signed_int());
        case value::kind::unsigned_int: return append_number(out, v.unsigned_int());
        case value::kind::boolean: out += v.boolean() ? "true" : "false"; return;
        case value::kind::real:
            if (!std::isfinite(v.real())) out += "null";
            else append_number(out, v.real());
            return;
        case value::kind::text:
            out.push_back('"');
            append_json_escaped(out, v.text());
            out.push_back('"');
            return;
        default: {
            std::string s;
            v.append_to(s);
            out.push_back('"');
            append_json_escaped(out, s);
            out.push_back('"');
        }
    }
}

void append_text_value(std::string& out, const value& v) {
    std::string s;
    v.append_to(s);
    if (!needs_quotes(s)) return append_escaped(out, s, false);
    out.push_back('"');
    append_escaped(out, s, true);
    out.push_back('"');
}

}  // namespace

std::string_view level_name(log_level level) noexcept {
    switch (level) {
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warn: return "warn";
        case log_level::error: return "error";
    }
    return "info";
}

void value::append_to(std::string& out) const {
    switch (kind_) {
        case kind::none: return;
        case kind::text: out.append(s_); return;
        case kind::signed_int: return append_number(out, i_);
        case kind::unsigned_int: return append_number(out, u_);
        case kind::real: return append_number(out, d_);
        case kind::boolean: out += b_ ? "true" : "false"; return;
        case kind::deferred: format_(out, p_); return;
    }
}

void append_json_escaped(std::string& out, std::string_view s) { append_escaped(out, s, true); }

std::string format_timestamp(std::chrono::system_clock::time_point ts) {
    const auto ms = std::chrono::floor<std::chrono::milliseconds>(ts.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out(buf, n);
    const auto frac = static_cast<int>(((ms % 1000) + 1000) % 1000);
    out.push_back('.');
    out.push_back(static_cast<char>('0' + frac / 100));
    out.push_back(static_cast<char>('0' + frac / 10 % 10));
    out.push_back(static_cast<char>('0' + frac % 10));
    out.push_back('Z');
    return out;
}

std::string format_count(std::uint64_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string format_text(const record& r) {
    std::string out = format_timestamp(r.ts);
    const std::string_view level = level_name(r.level);
    out.push_back(' ');
    out.append(level);
    out.append(6 - level.size(), ' ');
    append_escaped(out, r.component, false);
    if (r.component.size() < 6) out.append(6 - r.component.size(), ' ');
    out.push_back(' ');
    append_escaped(out, r.msg, false);
    for (const field& f : r.extra) {
        if (f.val.omitted()) continue;
        out.push_back(' ');
        append_escaped(out, f.key, false);
        out.push_back('=');
        append_text_value(out, f.val);
    }
    return out;
}

std::string format_json(const record& r) {
    std::string out = "{\"ts\":\"" + format_timestamp(r.ts) + "\",\"level\":\"";
    out.append(level_name(r.level));
    out += "\",\"component\":\"";
    append_json_escaped(out, r.component);
    out += "\",\"msg\":\"";
    append_json_escaped(out, r.msg);
    out.push_back('"');
    for (const field& f : r.extra) {
        if (f.val.omitted()) continue;
        out += ",\"";
        append_json_escaped(out, f.key);
        out += "\":";
        append_json_value(out, f.val);
    }
    out.push_back('}');
    return out;
}

std::string format_line(log_format format, const record& r) {
    return format == log_format::json ? format_json(r) : format_text(r);
}

}  // namespace parley::server::log
