#include "server/chat/room_registry.hpp"

#include "server/core/clock.hpp"

#include <algorithm>

namespace parley::server {

std::optional<std::string> normalize_room_name(std::string_view name) {
    if (name.empty() || name.size() > protocol::limits::max_room_name_bytes) return std::nullopt;
    std::string out;
    out.reserve(name.size());
    for (char c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '.' || c == '_' || c == '-')) return std::nullopt;
        if (out.empty() && !alnum) return std::nullopt;
        out.push_back(c);
    }
    return out;
}

room_registry::room_registry(boost::asio::io_context& io, room_services services, room_quotas quotas)
    : io_(io), svc_(services), quotas_(quotas) {}

void room_registry::load(const std::vector<stored_room>& rooms) {
    std::lock_guard lock(mutex_);
    for (const auto& r : rooms) {
        auto created = std::make_shared<room>(io_, svc_, r.id, r.name, r.last_seq);
        by_name_[r.name] = created;
        by_id_[r.id] = created;
        if (r.created_by != 0) ++created_by_[r.created_by];
        next_id_ = std::max(next_id_, r.id + 1);
    }
}

std::size_t room_registry::size() const {
    std::lock_guard lock(mutex_);
    return by_id_.size();
}

std::shared_ptr<room> room_registry::find(std::string_view name) const {
    std::lock_guard lock(mutex_);
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

std::variant<std::shared_ptr<room>, protocol::error_code> room_registry::create(const std::string& name,
                                                                                std::uint64_t creator) {
    std::lock_guard lock(mutex_);
    if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;  // created meanwhile
    std::size_t& mine = created_by_[creator];
    if (by_id_.size() >= quotas_.max_rooms || mine >= quotas_.max_rooms_per_user) return protocol::error_code::room_quota;
    const std::uint32_t id = next_id_++;
    auto created = std::make_shared<room>(io_, svc_, id, name, 0);
    by_name_[name] = created;
    by_id_[id] = created;
    ++mine;
    if (svc_.sink != nullptr) svc_.sink->push(events::room_created{id, name, creator, now_unix_ms()});
    return created;
}

std::shared_ptr<room> room_registry::find(std::uint32_t id) const {
    std::lock_guard lock(mutex_);
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

std::vector<room_summary> room_registry::list() const {
    std::vector<room_summary> out;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, r] : by_id_) out.push_back({id, r->name(), r->last_seq_approx(), r->members_approx()});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.members != b.members ? a.members > b.members : a.name < b.name;
    });
    return out;
}

void room_registry::persisted(std::uint32_t room_id, std::uint64_t seq) {
    if (auto r = find(room_id)) r->persisted(seq);
}

void room_registry::voided(std::uint32_t room_id, std::uint64_t seq) {
    if (auto r = find(room_id)) r->voided(seq);
}

}  // namespace parley::server
