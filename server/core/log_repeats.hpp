// The repeat limit of the log: one job, no clock of its own, not thread-safe
// (the log holds its lock around every call).
//
// Algorithm
//   A key is (level, component, message); fields do not count, so "read
//   failed" from a thousand connections is one key. Each key has a window
//   that opens with its first line and lasts `window`. The first
//   `max_per_window` lines of a window are written; the rest are only
//   counted. When a window that suppressed lines ends, a summary is due:
//   it comes out with the key's next line, at the next sweep (at most
//   once per `sweep_every`, on any line) or from drain() at shutdown, and a
//   new window starts with the key's next line.
//
// Bounds
//   At most `max_keys` keys are tracked; a sweep forgets keys whose window
//   ended. Lines of a new key while the table is full are written, not
//   limited: a log that drops lines it cannot count would hide more than it
//   saves. Messages are constants at the call sites, so the number of keys
//   is about the number of call sites.
#pragma once

#include "server/core/log.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace parley::server::log {

class log_repeats {
public:
    using time_point = std::chrono::steady_clock::time_point;

    struct options {
        std::size_t max_per_window = 20;
        std::chrono::milliseconds window{60000};
        std::chrono::milliseconds sweep_every{1000};
        std::size_t max_keys = 1024;
    };

    /// The lines of one key left out during one window.
    struct summary {
        log_level level;
        std::string component;
        std::string msg;
        std::uint64_t suppressed;
    };

    struct verdict {
        bool write = true;               ///< write this line
        std::vector<summary> summaries;  ///< write these first (windows that ended)
    };

    explicit log_repeats(options opts) : opts_(opts) {}
    log_repeats() : log_repeats(options{}) {}

    /// Counts one line at `now` and says whether to write it.
    verdict admit(log_level level, std::string_view component, std::string_view msg, time_point now);

    /// Summaries of the windows that ended by `now`; forgets their keys.
    std::vector<summary> expire(time_point now);

    /// Summaries of every window with suppressed lines, ended or not (shutdown).
    std::vector<summary> drain();

    std::size_t keys() const noexcept { return windows_.size(); }

private:
    struct window {
        time_point start;
        std::uint64_t lines = 0;
        std::uint64_t suppressed = 0;
    };
    using key = std::tuple<log_level, std::string, std::string>;
    using key_view = std::tuple<log_level, std::string_view, std::string_view>;
    struct less {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(const A& a, const B& b) const {
            return key_view(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
                   key_view(std::get<0>(b), std::get<1>(b), std::get<2>(b));
        }
    };

    static summary summarize(const key& k, const window& w) {
        return {std::get<0>(k), std::get<1>(k), std::get<2>(k), w.suppressed};
    }

    options opts_;
    std::map<key, window, less> windows_;
    time_point next_sweep_{};
};

}  // namespace parley::server::log
