#include "server/core/log_repeats.hpp"

namespace parley::server::log {

log_repeats::verdict log_repeats::admit(log_level level, std::string_view component, std::string_view msg,
                                        time_point now) {
    verdict v;
    if (now >= next_sweep_) {
        v.summaries = expire(now);
        next_sweep_ = now + opts_.sweep_every;
    }
    auto it = windows_.find(key_view(level, component, msg));
    if (it == windows_.end()) {
        if (windows_.size() >= opts_.max_keys) return v;  // untracked: written
        it = windows_.emplace(key(level, std::string(component), std::string(msg)), window{now}).first;
    } else if (now - it->second.start >= opts_.window) {
        if (it->second.suppressed > 0) v.summaries.push_back(summarize(it->first, it->second));
        it->second = window{now};
    }
    window& w = it->second;
    if (++w.lines <= opts_.max_per_window) return v;
    ++w.suppressed;
    v.write = false;
    return v;
}

std::vector<log_repeats::summary> log_repeats::expire(time_point now) {
    std::vector<summary> out;
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (now - it->second.start < opts_.window) {
            ++it;
            continue;
        }
        if (it->second.suppressed > 0) out.push_back(summarize(it->first, it->second));
        it = windows_.erase(it);
    }
    return out;
}

std::vector<log_repeats::summary> log_repeats::drain() {
    std::vector<summary> out;
    for (auto& [k, w] : windows_) {
        if (w.suppressed == 0) continue;
        out.push_back(summarize(k, w));
        w.suppressed = 0;
    }
    return out;
}

}  // namespace parley::server::log
