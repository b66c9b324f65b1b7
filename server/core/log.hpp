// Minimal leveled logging to stderr: one line per event, timestamped, safe
// from any thread. Operators read it with journalctl or a terminal.
#pragma once

#include <sstream>
#include <string_view>

namespace parley::server {

enum class log_level { debug, info, warn, error };

}  // namespace parley::server

namespace parley::server::log {

void set_level(log_level level) noexcept;
bool enabled(log_level level) noexcept;
void write(log_level level, std::string_view line);

template <class... Args>
void emit(log_level level, const Args&... args) {
    if (!enabled(level)) return;
    std::ostringstream out;
    (out << ... << args);
    write(level, out.str());
}

template <class... Args> void debug(const Args&... a) { emit(log_level::debug, a...); }
template <class... Args> void info(const Args&... a) { emit(log_level::info, a...); }
template <class... Args> void warn(const Args&... a) { emit(log_level::warn, a...); }
template <class... Args> void error(const Args&... a) { emit(log_level::error, a...); }

}  // namespace parley::server::log
