// The two forms of a log line, as pure functions of a record: a readable
// text line and a JSON object. Both are exactly one line, whatever the
// message and fields hold.
//
// Format
//   text: 2026-12-04T13:53:18.123Z info  http   request method=GET path=/api/me status=200
//   json: {"ts":"2026-12-04T13:53:18.123Z","level":"info","component":"http","msg":"request","method":"GET",...}
//   Fields follow in the order given; empty ones are left out. In text, a
//   value with a space, a quote, a backslash, an '=' or nothing printable is
//   quoted, with JSON's escapes inside the quotes.
//
// Escaping
//   Invalid UTF-8 becomes U+FFFD, one per bad byte. Control characters never
//   reach the output raw (\n, \t, \u001b...), so a peer cannot forge a line
//   through a value it controls (an address, a path, a room name).
#pragma once

#include "server/core/log.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::server::log {

struct record {
    std::chrono::system_clock::time_point ts;
    log_level level = log_level::info;
    std::string_view component;
    std::string_view msg;
    fields extra;
};

/// The line without its trailing newline.
std::string format_line(log_format format, const record& r);
std::string format_text(const record& r);
std::string format_json(const record& r);

/// "2026-12-04T13:53:18.123Z": RFC 3339, UTC, milliseconds.
std::string format_timestamp(std::chrono::system_clock::time_point ts);

/// 1532 -> "1,532".
std::string format_count(std::uint64_t n);

/// Appends `s` as the inside of a JSON string: escapes, and U+FFFD for invalid UTF-8.
void append_json_escaped(std::string& out, std::string_view s);

std::string_view level_name(log_level level) noexcept;

}  // namespace parley::server::log
