#include "server/core/log.hpp"

#include "server/core/log_line.hpp"
#include "server/core/log_repeats.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace parley::server::log {
namespace {

std::atomic<int> current_level{static_cast<int>(log_level::info)};
std::atomic<int> current_format{static_cast<int>(log_format::text)};

// The sink: the repeat limit and the output, behind one lock so that lines
// never interleave and a summary always precedes the line that triggered it.
struct sink {
    std::mutex mutex;
    log_repeats repeats;
    std::function<void(std::string_view)> out;
    std::function<std::chrono::steady_clock::time_point()> now;

    void emit(log_level level, std::string_view comp, std::string_view msg, fields f) {
        const record r{std::chrono::system_clock::now(), level, comp, msg, f};
        std::string line = format_line(static_cast<log_format>(current_format.load(std::memory_order_relaxed)), r);
        line.push_back('\n');
        if (out) return out(line);
        std::fwrite(line.data(), 1, line.size(), stderr);
    }

    void emit(const log_repeats::summary& s) {
        const std::string msg = "... and " + format_count(s.suppressed) + " more like this in the last minute";
        emit(s.level, s.component, msg, {{"repeated", s.msg}, {"count", s.suppressed}});
    }
};

sink& the_sink() {
    static sink s;
    return s;
}

}  // namespace

void set_level(log_level level) noexcept { current_level = static_cast<int>(level); }

bool enabled(log_level level) noexcept {
    return static_cast<int>(level) >= current_level.load(std::memory_order_relaxed);
}

void set_format(log_format format) noexcept { current_format = static_cast<int>(format); }

void write(log_level level, component c, std::string_view msg, fields f) {
    sink& s = the_sink();
    std::lock_guard lock(s.mutex);
    const auto now = s.now ? s.now() : std::chrono::steady_clock::now();
    const auto verdict = s.repeats.admit(level, c.name, msg, now);
    for (const auto& summary : verdict.summaries) s.emit(summary);
    if (verdict.write) s.emit(level, c.name, msg, f);
}

void flush_repeats() {
    sink& s = the_sink();
    std::lock_guard lock(s.mutex);
    for (const auto& summary : s.repeats.drain()) s.emit(summary);
}

void set_output(std::function<void(std::string_view)> out, std::function<std::chrono::steady_clock::time_point()> now) {
    sink& s = the_sink();
    std::lock_guard lock(s.mutex);
    s.out = std::move(out);
    s.now = std::move(now);
    s.repeats = log_repeats{};
}

}  // namespace parley::server::log
