#include "server/net/connection_registry.hpp"

#include "server/net/websocket_session.hpp"

#include <vector>

namespace parley::server {

void connection_registry::add(std::uint64_t id, std::weak_ptr<websocket_session> s) {
    std::lock_guard lock(mutex_);
    sessions_[id] = entry{std::move(s), 0, {}, 0};
}

void connection_registry::bind(std::uint64_t id, std::uint64_t user_id, std::string token_hash,
                               std::int64_t expires_at_ms) {
    std::lock_guard lock(mutex_);
    if (auto it = sessions_.find(id); it != sessions_.end()) {
        it->second.user_id = user_id;
        it->second.token_hash = std::move(token_hash);
        it->second.expires_at_ms = expires_at_ms;
    }
}

template <class Pred>
std::size_t connection_registry::sign_out_if(Pred pred) {
    std::vector<std::shared_ptr<websocket_session>> ending;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, e] : sessions_)
            if (!e.token_hash.empty() && pred(e))
                if (auto s = e.session.lock()) ending.push_back(std::move(s));
    }
    for (auto& s : ending) s->sign_out();
    return ending.size();
}

void connection_registry::for_user(std::uint64_t user_id, const std::function<void(websocket_session&)>& f) {
    std::vector<std::shared_ptr<websocket_session>> theirs;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, e] : sessions_)
            if (e.user_id == user_id)
                if (auto s = e.session.lock()) theirs.push_back(std::move(s));
    }
    for (auto& s : theirs) f(*s);
}

void connection_registry::end_session(const std::string& token_hash) {
    sign_out_if([&](const entry& e) { return e.token_hash == token_hash; });
}

std::size_t connection_registry::end_user(std::uint64_t user_id) {
    return sign_out_if([&](const entry& e) { return e.user_id == user_id; });
}

std::size_t connection_registry::reconnect_user(std::uint64_t user_id) {
    std::size_t n = 0;
    for_user(user_id, [&n](websocket_session& s) {
        s.shutdown();
        ++n;
    });
    return n;
}

std::unordered_map<std::uint64_t, std::size_t> connection_registry::counts_by_user() const {
    std::unordered_map<std::uint64_t, std::size_t> out;
    std::lock_guard lock(mutex_);
    for (const auto& [id, e] : sessions_)
        if (!e.token_hash.empty()) ++out[e.user_id];
    return out;
}

void connection_registry::end_expired(std::int64_t now) {
    sign_out_if([&](const entry& e) { return e.expires_at_ms <= now; });
}

void connection_registry::remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
}

std::size_t connection_registry::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

void connection_registry::shutdown_all() {
    std::vector<std::shared_ptr<websocket_session>> live;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, e] : sessions_)
            if (auto s = e.session.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->shutdown();
}

}  // namespace parley::server
