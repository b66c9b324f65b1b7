#include "server/core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace parley::server::log {
namespace {

std::atomic<int> current_level{static_cast<int>(log_level::info)};
std::mutex write_mutex;

const char* level_tag(log_level l) {
    switch (l) {
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warn: return "warn";
        case log_level::error: return "error";
    }
    return "?";
}

}  // namespace

void set_level(log_level level) noexcept { current_level = static_cast<int>(level); }

bool enabled(log_level level) noexcept { return static_cast<int>(level) >= current_level.load(std::memory_order_relaxed); }

void write(log_level level, std::string_view line) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::lock_guard lock(write_mutex);
    std::fprintf(stderr, "%s.%03dZ %-5s %.*s\n", stamp, static_cast<int>(ms), level_tag(level),
                 static_cast<int>(line.size()), line.data());
}

}  // namespace parley::server::log
