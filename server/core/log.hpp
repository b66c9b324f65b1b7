// Structured, leveled logging to stderr: one line per event, safe from any
// thread. Operators read it with journalctl or a terminal, or feed the JSON
// form (--log-format json) to a log pipeline.
//
// Shape of a line
//   Every line has a timestamp (RFC 3339, UTC, milliseconds), a level, a
//   component (the part of the server it comes from: net, ws, http, ...), a
//   message and optional fields (conn, user, room, remote, ...). The message
//   is a constant that names the event; what varies goes into fields. That
//   keeps lines greppable and is what the repeat limit keys on.
//
// Cost
//   A call below the current level does one relaxed atomic load and returns:
//   fields are views of the caller's values (no copies, no formatting), and a
//   value that needs formatting (an error code, a streamable object) is only
//   formatted when the line is written. Fields are therefore only valid
//   during the call, which is all a log call needs.
//
// Repeats
//   More than 20 lines with the same level, component and message within a
//   minute are suppressed; one summary line per such key says how many were
//   left out ("... and 1,532 more like this in the last minute"). See
//   log_repeats.hpp.
//
// Secrets
//   Never pass a password, session token, cookie, invite code or message text
//   as a message or a field.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace parley::server {

enum class log_level { debug, info, warn, error };

/// How lines are written: a readable line, or one JSON object per line.
enum class log_format { text, json };

}  // namespace parley::server

namespace parley::server::log {

/// The part of the server a line comes from; a fixed vocabulary (below).
struct component {
    std::string_view name;
};

inline constexpr component net{"net"};        ///< listener, accept loop, connection caps
inline constexpr component http{"http"};      ///< HTTP sessions and access lines
inline constexpr component ws{"ws"};          ///< WebSocket sessions
inline constexpr component api{"api"};        ///< the /api/ endpoints
inline constexpr component chat{"chat"};      ///< rooms and the room registry
inline constexpr component store{"store"};    ///< SQLite reads, migrations
inline constexpr component writer{"writer"};  ///< the batch writer
inline constexpr component server{"server"};  ///< start-up, shutdown, signals
inline constexpr component admin{"admin"};    ///< `parley admin`, backup, restore

template <class T>
concept has_message = requires(const T& x) {
    { x.message() } -> std::convertible_to<std::string>;
};

template <class T>
concept streamable = requires(std::ostream& out, const T& x) { out << x; };

/**
 * One field's value: a view of the caller's value, formatted only when the
 * line is written. Strings stay strings, integers and reals become numbers,
 * an error code its message(), anything else streamable its `<<` output.
 * An empty string or an empty optional leaves the field out.
 */
class value {
public:
    enum class kind : std::uint8_t { none, text, signed_int, unsigned_int, real, boolean, deferred };

    template <class T>
    value(const T& x) noexcept {  // NOLINT: implicit on purpose, for {"key", x}
        using U = std::remove_cvref_t<T>;
        if constexpr (std::is_same_v<U, bool>) {
            kind_ = kind::boolean, b_ = x;
        } else if constexpr (std::is_enum_v<U>) {
            kind_ = kind::signed_int, i_ = static_cast<std::int64_t>(x);
        } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
            kind_ = kind::signed_int, i_ = x;
        } else if constexpr (std::is_integral_v<U>) {
            kind_ = kind::unsigned_int, u_ = x;
        } else if constexpr (std::is_floating_point_v<U>) {
            kind_ = kind::real, d_ = x;
        } else if constexpr (std::is_pointer_v<U> && std::is_convertible_v<U, std::string_view>) {
            if (x) kind_ = kind::text, s_ = x;
        } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
            kind_ = kind::text, s_ = x;
        } else if constexpr (requires { x.has_value(); *x; }) {
            if (x.has_value()) *this = value(*x);
        } else if constexpr (has_message<U>) {
            kind_ = kind::deferred, p_ = &x;
            format_ = [](std::string& out, const void* p) { out += static_cast<const U*>(p)->message(); };
        } else {
            static_assert(streamable<U>, "a log field needs a string, number, error code or streamable value");
            kind_ = kind::deferred, p_ = &x;
            format_ = [](std::string& out, const void* p) {
                std::ostringstream s;
                s << *static_cast<const U*>(p);
                out += s.str();
            };
        }
    }

    kind type() const noexcept { return kind_; }
    /// Appends the value as plain text (numbers in decimal, deferred values formatted).
    void append_to(std::string& out) const;
    std::string_view text() const noexcept { return s_; }
    std::int64_t signed_int() const noexcept { return i_; }
    std::uint64_t unsigned_int() const noexcept { return u_; }
    double real() const noexcept { return d_; }
    bool boolean() const noexcept { return b_; }
    /// Empty text and `none` are left out of the line.
    bool omitted() const noexcept { return kind_ == kind::none || (kind_ == kind::text && s_.empty()); }

private:
    kind kind_ = kind::none;
    union {
        std::int64_t i_;
        std::uint64_t u_ = 0;
        double d_;
        bool b_;
    };
    std::string_view s_;
    const void* p_ = nullptr;
    void (*format_)(std::string&, const void*) = nullptr;
};

/// A named value of a line: {"conn", id_}, {"remote", remote_}.
struct field {
    std::string_view key;
    value val;
};

using fields = std::initializer_list<field>;

void set_level(log_level level) noexcept;
bool enabled(log_level level) noexcept;
void set_format(log_format format) noexcept;

/// Writes one line now (after the repeat limit), whatever the level.
void write(log_level level, component c, std::string_view msg, fields f = {});

/// Writes the summaries of every suppressed repeat (at shutdown, and once a minute).
void flush_repeats();

/**
 * Replaces stderr and the steady clock the repeat limit reads (tests); empty
 * functions restore them. Also forgets every repeat counted so far.
 */
void set_output(std::function<void(std::string_view line)> out,
                std::function<std::chrono::steady_clock::time_point()> now = {});

inline void debug(component c, std::string_view msg, fields f = {}) {
    if (enabled(log_level::debug)) write(log_level::debug, c, msg, f);
}
inline void info(component c, std::string_view msg, fields f = {}) {
    if (enabled(log_level::info)) write(log_level::info, c, msg, f);
}
inline void warn(component c, std::string_view msg, fields f = {}) {
    if (enabled(log_level::warn)) write(log_level::warn, c, msg, f);
}
inline void error(component c, std::string_view msg, fields f = {}) {
    if (enabled(log_level::error)) write(log_level::error, c, msg, f);
}

}  // namespace parley::server::log
