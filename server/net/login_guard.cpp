#include "server/net/login_guard.hpp"

#include <algorithm>
#include <cmath>

namespace parley::server {
namespace {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

}  // namespace

double login_guard::decayed(counter& c, clock::time_point now) const {
    const double forgiven = duration<double>(now - c.last) / duration<double>(opts_.decay);
    c.failures = std::max(0.0, c.failures - std::max(0.0, forgiven));
    c.last = std::max(c.last, now);
    return c.failures;
}

bool login_guard::trusted(const attempt& a, clock::time_point now) {
    if (a.device.empty()) return false;
    auto it = devices_.find(std::string(a.device));
    return it == devices_.end() || decayed(it->second, now) < static_cast<double>(opts_.device_failures);
}

milliseconds login_guard::check(const attempt& a, clock::time_point now) {
    std::lock_guard lock(mutex_);
    forget_idle(now);
    if (trusted(a, now)) return milliseconds(0);
    milliseconds wait(0);
    if (auto it = addresses_.find(std::string(a.address)); it != addresses_.end()) {
        const double over = decayed(it->second, now) - static_cast<double>(opts_.address_failures) + 1;
        if (over > 0) wait = duration_cast<milliseconds>(opts_.decay * over);
    }
    if (auto it = accounts_.find(std::string(a.account)); it != accounts_.end()) {
        const double over = decayed(it->second, now) - static_cast<double>(opts_.free_failures);
        if (over >= 0) {
            // 1 s after the first failure past the allowance, doubling per failure.
            const auto backoff = milliseconds(static_cast<std::int64_t>(1000 * std::pow(2.0, std::min(over, 20.0))));
            const auto until = it->second.last + std::min<milliseconds>(backoff, opts_.max_wait);
            wait = std::max(wait, duration_cast<milliseconds>(until - now));
        }
    }
    return std::max(wait, milliseconds(0));
}

void login_guard::failed(const attempt& a, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto bump = [&](auto& map, std::string_view key) {
        counter& c = map[std::string(key)];
        decayed(c, now);
        c.failures += 1;
        c.last = now;
    };
    if (trusted(a, now)) return bump(devices_, a.device);
    if (!a.device.empty()) bump(devices_, a.device);
    if (!a.account.empty()) bump(accounts_, a.account);
    bump(addresses_, a.address);
}

void login_guard::succeeded(const attempt& a, clock::time_point) {
    std::lock_guard lock(mutex_);
    accounts_.erase(std::string(a.account));
    if (!a.device.empty()) devices_.erase(std::string(a.device));
}

// Counters that decayed to nothing are dropped, so memory follows the
// guessing going on now, not all that ever happened.
void login_guard::forget_idle(clock::time_point now) {
    if (now - last_sweep_ < opts_.decay) return;
    last_sweep_ = now;
    for (auto* map : {&accounts_, &addresses_, &devices_})
        std::erase_if(*map, [&](const auto& entry) {
            counter c = entry.second;
            return decayed(c, now) <= 0;
        });
}

}  // namespace parley::server
