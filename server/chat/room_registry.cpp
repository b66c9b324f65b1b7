#include "server/chat/room_registry.hpp"

#include "server/core/clock.hpp"

#include <sodium.h>

#include <algorithm>

namespace parley::server {
using protocol::room_kind;

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

namespace {

bool belongs(const member_state& row) {
    return row.status == member_status::member || row.status == member_status::invited;
}

}  // namespace

std::string room_registry::direct_key_of(std::vector<protocol::user_ref>& people) {
    std::sort(people.begin(), people.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::string key;
    for (const auto& p : people) key += (key.empty() ? "" : ",") + std::to_string(p.id);
    return key;
}

room_registry::room_ptr room_registry::find_direct(std::vector<protocol::user_ref> people) const {
    const std::string key = direct_key_of(people);
    std::lock_guard lock(mutex_);
    auto it = direct_by_key_.find(key);
    return it == direct_by_key_.end() ? nullptr : by_id_.at(it->second).room;
}

std::string room_registry::new_private_address() {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    std::string out = "~";
    for (int i = 0; i < 22; ++i) out.push_back(alphabet[randombytes_uniform(32)]);  // 110 bits
    return out;
}

room_registry::room_registry(boost::asio::io_context& io, room_services services, room_quotas quotas)
    : io_(io), svc_(std::move(services)), quotas_(quotas) {
    svc_.observer.member_changed = [this](std::uint32_t id, const member_state& row) { member_changed(id, row); };
    svc_.observer.settings_changed = [this](std::uint32_t id, const room_settings& s) { settings_changed(id, s); };
    svc_.observer.claim_address = [this](std::uint32_t id, const std::string& a) { return claim_address(id, a); };
    svc_.observer.new_address = [] { return new_private_address(); };
    svc_.observer.deleted = [this](std::uint32_t id) { deleted(id); };
}

void room_registry::load(const std::vector<stored_room>& rooms) {
    std::lock_guard lock(mutex_);
    for (const auto& r : rooms) {
        auto created = std::make_shared<room>(io_, svc_, room_init{r.id, r.settings, r.last_seq, r.people});
        listing l{created, r.settings, {}};
        for (const auto& p : r.people) {
            if (belongs(p)) rows_by_user_[p.user_id][r.id] = p;
            if (r.settings.kind == room_kind::direct && p.status == member_status::member)
                l.people.push_back({p.user_id, p.username});
        }
        by_address_[r.settings.address] = created;
        by_id_[r.id] = std::move(l);
        if (!r.direct_key.empty()) direct_by_key_[r.direct_key] = r.id;
        if (r.created_by != 0 && r.direct_key.empty()) ++created_by_[r.created_by];
        next_id_ = std::max(next_id_, r.id + 1);
    }
}

std::size_t room_registry::size() const {
    std::lock_guard lock(mutex_);
    return by_id_.size();
}

room_registry::room_ptr room_registry::find(std::string_view address) const {
    std::lock_guard lock(mutex_);
    auto it = by_address_.find(address);
    return it == by_address_.end() ? nullptr : it->second;
}

room_registry::room_ptr room_registry::find(std::uint32_t id) const {
    std::lock_guard lock(mutex_);
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second.room;
}

// One path for every address: a lookup of the address, then of the user's
// row. The room decides again on its strand (access may change meanwhile).
room_registry::room_ptr room_registry::find_for_join(std::string_view address, std::uint64_t user_id,
                                                     bool admin) const {
    std::lock_guard lock(mutex_);
    auto it = by_address_.find(address);
    room_ptr found = it == by_address_.end() ? nullptr : it->second;
    const auto rows = rows_by_user_.find(user_id);
    const bool has_row = found && rows != rows_by_user_.end() && rows->second.contains(found->id());
    if (!found) return nullptr;
    if (by_id_.at(found->id()).settings.kind == room_kind::public_room || admin || has_row) return found;
    return nullptr;
}

std::optional<room_registry::room_ptr> room_registry::add_locked(room_settings settings, std::string direct_key,
                                                                 std::vector<protocol::user_ref> people,
                                                                 std::uint64_t creator) {
    const bool direct = !direct_key.empty();
    std::size_t& mine = created_by_[creator];
    if (by_id_.size() >= quotas_.max_rooms || (!direct && mine >= quotas_.max_rooms_per_user)) return std::nullopt;
    const std::uint32_t id = next_id_++;
    auto created = std::make_shared<room>(io_, svc_, room_init{id, settings, 0, {}});
    by_address_[settings.address] = created;
    if (!direct_key.empty()) direct_by_key_[direct_key] = id;
    by_id_[id] = {created, settings, std::move(people)};
    if (!direct) ++mine;
    if (svc_.sink != nullptr) svc_.sink->push(events::room_created{id, std::move(settings), direct_key, creator, now_unix_ms()});
    return created;
}

std::variant<room_registry::room_ptr, protocol::error_code> room_registry::create(const std::string& name,
                                                                                  const protocol::user_ref& creator) {
    return create_owned(room_kind::public_room, name, creator);
}

std::variant<room_registry::room_ptr, protocol::error_code> room_registry::create_private(
    const std::string& title, const protocol::user_ref& creator) {
    return create_owned(room_kind::private_room, title, creator);
}

// A public room's address is its name (and it may exist by now); a private
// one gets a fresh address.
std::variant<room_registry::room_ptr, protocol::error_code> room_registry::create_owned(
    room_kind kind, const std::string& title, const protocol::user_ref& creator) {
    room_ptr created;
    {
        std::lock_guard lock(mutex_);
        std::string address = title;
        if (kind == room_kind::public_room) {
            if (auto it = by_address_.find(address); it != by_address_.end()) return it->second;  // created meanwhile
        } else {
            do address = new_private_address();
            while (by_address_.contains(address));
        }
        auto added = add_locked({address, title, "", kind}, "", {}, creator.id);
        if (!added) return protocol::error_code::room_quota;
        created = std::move(*added);
    }
    created->add_members({{creator.id, creator.name, member_status::member, protocol::room_role::owner}}, creator.id);
    return created;
}

std::variant<room_registry::room_ptr, protocol::error_code> room_registry::open_direct(
    std::vector<protocol::user_ref> people, std::uint64_t creator) {
    const std::string key = direct_key_of(people);
    room_ptr created;
    {
        std::lock_guard lock(mutex_);
        if (auto it = direct_by_key_.find(key); it != direct_by_key_.end()) return by_id_.at(it->second).room;
        std::string address;
        do address = new_private_address();
        while (by_address_.contains(address));
        auto added = add_locked({address, "", "", room_kind::direct}, key, people, creator);
        if (!added) return protocol::error_code::room_quota;
        created = std::move(*added);
    }
    std::vector<member_state> rows;
    for (const auto& p : people) rows.push_back({p.id, p.name, member_status::member});
    created->add_members(std::move(rows), creator);
    return created;
}

std::vector<room_summary> room_registry::list() const {
    std::vector<room_summary> out;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, l] : by_id_)
            if (l.settings.kind == room_kind::public_room)
                out.push_back({id, l.settings.address, l.settings.title, l.room->last_seq_approx(), l.room->members_approx()});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.members != b.members ? a.members > b.members : a.name < b.name;
    });
    return out;
}

std::optional<protocol::room_entry> room_registry::entry_locked(std::uint64_t user_id, std::uint32_t room_id) const {
    auto rows = rows_by_user_.find(user_id);
    auto l = by_id_.find(room_id);
    if (rows == rows_by_user_.end() || l == by_id_.end()) return std::nullopt;
    auto row = rows->second.find(room_id);
    if (row == rows->second.end()) return std::nullopt;
    const member_state& r = row->second;
    protocol::room_entry e{room_id, l->second.settings.address, l->second.settings.title, l->second.settings.kind,
                           r.role, r.muted, r.status == member_status::invited};
    if (e.invited && r.invited_by != 0) {
        e.invited_by.id = r.invited_by;
        if (auto inviter = rows_by_user_.find(r.invited_by); inviter != rows_by_user_.end())
            if (auto their = inviter->second.find(room_id); their != inviter->second.end())
                e.invited_by.name = their->second.username;
    }
    e.people = l->second.people;
    e.last_seq = l->second.room->last_seq_approx();
    return e;
}

std::vector<protocol::room_entry> room_registry::rooms_of(std::uint64_t user_id) const {
    std::vector<protocol::room_entry> out;
    std::lock_guard lock(mutex_);
    if (auto rows = rows_by_user_.find(user_id); rows != rows_by_user_.end())
        for (const auto& [room_id, row] : rows->second)
            if (auto e = entry_locked(user_id, room_id)) out.push_back(std::move(*e));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.room_id < b.room_id; });
    return out;
}

void room_registry::member_changed(std::uint32_t room_id, const member_state& row) {
    std::optional<protocol::room_entry> entry;
    {
        std::lock_guard lock(mutex_);
        auto& rows = rows_by_user_[row.user_id];
        if (belongs(row)) rows[room_id] = row;
        else rows.erase(room_id);
        if (auto l = by_id_.find(room_id); l != by_id_.end() && l->second.settings.kind == room_kind::direct) {
            auto& people = l->second.people;
            std::erase_if(people, [&](const auto& p) { return p.id == row.user_id; });
            if (row.status == member_status::member) people.push_back({row.user_id, row.username});
        }
        entry = entry_locked(row.user_id, room_id);
    }
    if (list_observer_) list_observer_(row.user_id, room_id, std::move(entry));
}

void room_registry::settings_changed(std::uint32_t room_id, const room_settings& settings) {
    std::vector<std::pair<std::uint64_t, protocol::room_entry>> changed;
    {
        std::lock_guard lock(mutex_);
        auto l = by_id_.find(room_id);
        if (l == by_id_.end()) return;
        l->second.settings = settings;
        for (const auto& [user_id, rows] : rows_by_user_)
            if (rows.contains(room_id))
                if (auto e = entry_locked(user_id, room_id)) changed.emplace_back(user_id, std::move(*e));
    }
    if (list_observer_)
        for (auto& [user_id, e] : changed) list_observer_(user_id, room_id, std::move(e));
}

// The address moves at once: from now on joins find the room only there.
bool room_registry::claim_address(std::uint32_t room_id, const std::string& address) {
    std::lock_guard lock(mutex_);
    auto l = by_id_.find(room_id);
    if (l == by_id_.end() || by_address_.contains(address)) return false;
    by_address_.erase(l->second.settings.address);
    by_address_[address] = l->second.room;
    l->second.settings.address = address;
    return true;
}

void room_registry::deleted(std::uint32_t room_id) {
    std::vector<std::uint64_t> users;
    {
        std::lock_guard lock(mutex_);
        auto l = by_id_.find(room_id);
        if (l == by_id_.end()) return;
        by_address_.erase(l->second.settings.address);
        std::erase_if(direct_by_key_, [&](const auto& e) { return e.second == room_id; });
        for (auto& [user_id, rows] : rows_by_user_)
            if (rows.erase(room_id) != 0) users.push_back(user_id);
        by_id_.erase(l);
    }
    if (list_observer_)
        for (auto u : users) list_observer_(u, room_id, std::nullopt);
}

void room_registry::persisted(std::uint32_t room_id, std::uint64_t seq) {
    if (auto r = find(room_id)) r->persisted(seq);
}

void room_registry::voided(std::uint32_t room_id, std::uint64_t seq) {
    if (auto r = find(room_id)) r->voided(seq);
}

}  // namespace parley::server
