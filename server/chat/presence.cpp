#include "server/chat/presence.hpp"

#include <algorithm>

namespace parley::server {

bool presence_tracker::connected(std::uint64_t user_id, const std::string& name) {
    presence_entry& p = online_[user_id];
    p.name = name;
    if (++p.connections > 1) return false;
    const bool returning = p.offline_at.has_value();  // nobody saw them leave
    p.offline_at.reset();
    return !returning;
}

std::optional<presence_tracker::clock::time_point> presence_tracker::disconnected(std::uint64_t user_id,
                                                                                 clock::time_point now,
                                                                                 clock::duration grace) {
    auto it = online_.find(user_id);
    if (it == online_.end() || --it->second.connections > 0) return std::nullopt;
    it->second.connections = 0;
    it->second.offline_at = now + grace;
    return it->second.offline_at;
}

bool presence_tracker::typing(std::uint64_t user_id, const std::string& name, clock::time_point expiry) {
    auto [it, started] = typing_.insert_or_assign(user_id, typing_entry{name, expiry});
    return started;
}

bool presence_tracker::stopped_typing(std::uint64_t user_id) { return typing_.erase(user_id) > 0; }

presence_tracker::expired presence_tracker::sweep(clock::time_point now) {
    expired out;
    for (auto it = typing_.begin(); it != typing_.end();) {
        if (it->second.expiry > now) {
            ++it;
            continue;
        }
        out.stopped_typing.push_back({it->first, std::move(it->second.name)});
        it = typing_.erase(it);
    }
    for (auto it = online_.begin(); it != online_.end();) {
        if (!it->second.offline_at || *it->second.offline_at > now) {
            ++it;
            continue;
        }
        out.went_offline.push_back({it->first, it->second.name});
        typing_.erase(it->first);
        it = online_.erase(it);
    }
    return out;
}

std::optional<presence_tracker::clock::time_point> presence_tracker::next_deadline() const {
    std::optional<clock::time_point> next;
    auto consider = [&](clock::time_point t) { next = next ? std::min(*next, t) : t; };
    for (const auto& [id, t] : typing_) consider(t.expiry);
    for (const auto& [id, p] : online_)
        if (p.offline_at) consider(*p.offline_at);
    return next;
}

std::vector<protocol::user_ref> presence_tracker::online(std::size_t limit) const {
    std::vector<protocol::user_ref> out;
    out.reserve(std::min(limit, online_.size()));
    for (auto it = online_.begin(); it != online_.end() && out.size() < limit; ++it)
        out.push_back({it->first, it->second.name});
    return out;
}

const std::string* presence_tracker::name_of(std::uint64_t user_id) const {
    auto it = online_.find(user_id);
    return it == online_.end() ? nullptr : &it->second.name;
}

std::vector<protocol::user_ref> presence_tracker::typing_users() const {
    std::vector<protocol::user_ref> out;
    for (const auto& [id, t] : typing_) out.push_back({id, t.name});
    return out;
}

}  // namespace parley::server
