#include "server/chat/room_registry.hpp"

#include "server/core/bounds.hpp"
#include "server/core/clock.hpp"
#include "server/core/log.hpp"

#include <boost/asio/post.hpp>
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

/// Reads that overlapped this many evictions in a row are used anyway (each
/// retry is a few point reads; evictions come one per idle room).
constexpr int max_rereads = 8;

}  // namespace

std::string room_registry::direct_key_of(std::vector<protocol::user_ref> people) {
    std::sort(people.begin(), people.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::string key;
    for (const auto& p : people) key += (key.empty() ? "" : ",") + std::to_string(p.id);
    return key;
}

std::string room_registry::new_private_address() {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    std::string out = "~";
    for (int i = 0; i < 22; ++i) out.push_back(alphabet[randombytes_uniform(32)]);  // 110 bits
    return out;
}

room_registry::room_registry(std::vector<boost::asio::io_context*> loops, room_services services,
                             room_catalog& catalog)
    : loops_(std::move(loops)), svc_(std::move(services)), catalog_(catalog) {
    svc_.observer.member_changed = [this](std::uint32_t id, const member_state& row) { member_changed(id, row); };
    svc_.observer.settings_changed = [this](std::uint32_t id, const room_settings& s) { settings_changed(id, s); };
    svc_.observer.claim_address = [this](std::uint32_t id, const std::string& a) { return claim_address(id, a); };
    svc_.observer.new_address = [] { return new_private_address(); };
    svc_.observer.deleted = [this](std::uint32_t id) { deleted(id); };
    svc_.observer.idle = [this](std::uint32_t id, const room* which) { return evict(id, which); };
    next_id_ = catalog_.max_room_id() + 1;
}

room_registry::~room_registry() { stop(); }

void room_registry::stop() { reads_.join(); }

std::size_t room_registry::size() const {
    std::lock_guard lock(mutex_);
    return by_id_.size();
}

std::vector<loaded_room> room_registry::loaded(std::size_t limit) const {
    std::vector<loaded_room> out;
    std::lock_guard lock(mutex_);
    for (const auto& [id, l] : by_id_) {
        loaded_room r{id, l.settings, l.room->last_seq_approx(), l.room->members_approx(), 0, {}, l.deleted};
        for (const auto user : l.users) {
            const auto& rows = rows_by_user_.at(user);
            const auto row = rows.find(id);
            if (row == rows.end() || row->second.status != member_status::member) continue;
            ++r.member_count;
            r.members.push_back({user, row->second.username});
        }
        std::sort(r.members.begin(), r.members.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        if (r.members.size() > bounds::admin_room_members) r.members.resize(bounds::admin_room_members);
        out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    if (out.size() > limit) out.resize(limit);
    return out;
}

bool room_registry::in_memory(std::uint32_t id) const {
    std::lock_guard lock(mutex_);
    return by_id_.contains(id);
}

// ---- lookups ------------------------------------------------------------------------------------

// A room in memory that the user may open needs no read: it is answered at
// once (that tells nothing, since they may open it). Everything else (no
// room in memory, or one they may not open) takes the same catalog read.
void room_registry::lookup(room_key key, std::uint64_t user_id, bool admin, decide_fn decide, outcome_handler done) {
    {
        std::unique_lock lock(mutex_);
        if (listing* l = loaded_locked(key); l != nullptr && may_open_locked(*l, key, user_id, admin)) {
            outcome result = decide(std::nullopt, lease_locked(*l));
            lock.unlock();
            return done(std::move(result));
        }
    }
    boost::asio::post(reads_, [this, key = std::move(key), user_id, admin, decide = std::move(decide),
                               done = std::move(done)] {
        // The people of a direct room's key are its people: the key itself
        // says the user is one of them (the room still decides on the join).
        const auto may_load = [&](const stored_room& r, const member_state* row) {
            return r.settings.kind == room_kind::public_room || admin || key.what == room_key::by::direct ||
                   (row != nullptr && belongs(*row));
        };
        outcome result = protocol::error_code::room_unavailable;
        for (int attempt = 0;; ++attempt) {
            const auto evictions_before = evictions_.load();
            std::optional<catalog_hit> hit;
            try {
                hit = catalog_.find(key, user_id, may_load);
            } catch (const std::exception& e) {
                log::error(log::chat, "room lookup failed", {{"error", e.what()}});
                break;
            }
            std::lock_guard lock(mutex_);
            if (evictions_.load() != evictions_before && attempt < max_rereads) continue;
            result = decide(hit, resolve_locked(key, hit, user_id, admin));
            break;
        }
        done(std::move(result));
    });
}

room_registry::listing* room_registry::loaded_locked(const room_key& key) {
    std::uint32_t id = key.id;
    if (key.what == room_key::by::address) {
        auto it = by_address_.find(key.text);
        if (it == by_address_.end()) return nullptr;
        id = it->second;
    } else if (key.what == room_key::by::direct) {
        auto it = direct_by_key_.find(key.text);
        if (it == direct_by_key_.end()) return nullptr;
        id = it->second;
    }
    auto l = by_id_.find(id);
    return l == by_id_.end() || l->second.deleted ? nullptr : &l->second;
}

// Memory first: a room in memory is what it is there. A room that is not
// comes from the catalog's answer, if the user may open it.
room_registry::room_ptr room_registry::resolve_locked(const room_key& key, const std::optional<catalog_hit>& hit,
                                                      std::uint64_t user_id, bool admin) {
    if (listing* l = loaded_locked(key)) return may_open_locked(*l, key, user_id, admin) ? lease_locked(*l) : nullptr;
    if (!hit || !hit->complete || by_id_.contains(hit->room.id)) return nullptr;
    return lease_locked(load_locked(hit->room));
}

bool room_registry::may_open_locked(const listing& l, const room_key& key, std::uint64_t user_id, bool admin) const {
    if (l.settings.kind == room_kind::public_room || admin || key.what == room_key::by::direct) return true;
    const auto rows = rows_by_user_.find(user_id);
    return rows != rows_by_user_.end() && rows->second.contains(l.room->id());
}

// The lease holds the room itself, so the room outlives every lease.
room_registry::room_ptr room_registry::lease_locked(listing& l) {
    std::shared_ptr<room> held = l.room;
    held->pin();
    room* raw = held.get();
    return room_ptr(raw, [held = std::move(held)](room*) mutable { held->unpin(); });
}

room_registry::listing& room_registry::load_locked(const stored_room& stored) {
    listing& l = by_id_[stored.id];
    l.room = std::make_shared<room>(loop_of(stored.id), svc_, room_init{stored.id, stored.settings, stored.last_seq, stored.people});
    l.settings = stored.settings;
    l.direct_key = stored.direct_key;
    for (const auto& p : stored.people) set_row_locked(l, stored.id, p);
    by_address_[stored.settings.address] = stored.id;
    if (!stored.direct_key.empty()) direct_by_key_[stored.direct_key] = stored.id;
    next_id_ = std::max(next_id_, stored.id + 1);
    loads_.fetch_add(1, std::memory_order_relaxed);
    return l;
}

void room_registry::refill_room_ids() {
    std::lock_guard lock(mutex_);
    refill_locked();
}

void room_registry::refill_locked() {
    if (svc_.link == nullptr || reserving_ || spare_ids_ || ids_end_ - ids_next_ > id_block / 2) return;
    reserving_ = true;
    svc_.link->reserve_room_ids(next_id_, id_block, [this](std::optional<std::uint32_t> first) {
        std::lock_guard lock(mutex_);
        reserving_ = false;
        if (!first) return;  // asked again at the next creation or reconnect
        if (ids_next_ == ids_end_) {
            ids_next_ = *first;
            ids_end_ = *first + id_block;
        } else {
            spare_ids_.emplace(*first, *first + id_block);
        }
        ids_arrived_.notify_all();
        refill_locked();  // the spare too
    });
}

bool room_registry::wait_for_room_ids(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    refill_locked();
    return ids_arrived_.wait_for(lock, limit, [this] { return ids_next_ != ids_end_; });
}

room_registry::listing* room_registry::add_locked(room_settings settings, std::string direct_key,
                                                  std::vector<protocol::user_ref> people, std::uint64_t creator) {
    std::uint32_t id = 0;
    if (svc_.link == nullptr) {
        id = next_id_++;
    } else {
        if (ids_next_ == ids_end_ && spare_ids_) {
            std::tie(ids_next_, ids_end_) = *spare_ids_;
            spare_ids_.reset();
        }
        if (ids_next_ == ids_end_) {
            refill_locked();
            return nullptr;
        }
        id = ids_next_++;
        next_id_ = std::max(next_id_, id + 1);
        refill_locked();
    }
    listing& l = by_id_[id];
    l.room = std::make_shared<room>(loop_of(id), svc_, room_init{id, settings, 0, {}});
    l.settings = settings;
    l.direct_key = direct_key;
    l.people = std::move(people);
    by_address_[settings.address] = id;
    if (!direct_key.empty()) direct_by_key_[direct_key] = id;
    if (svc_.sink != nullptr)
        svc_.sink->push(events::room_created{id, std::move(settings), std::move(direct_key), creator, now_unix_ms()});
    return &l;
}

// 110 random bits: a collision with a stored room is not a practical concern,
// one in memory is checked anyway.
std::string room_registry::fresh_address_locked() const {
    std::string address;
    do address = new_private_address();
    while (by_address_.contains(address));
    return address;
}

void room_registry::open(room_key key, std::uint64_t user_id, bool admin, outcome_handler done) {
    lookup(std::move(key), user_id, admin, [](const std::optional<catalog_hit>&, room_ptr found) -> outcome {
        return found;
    }, std::move(done));
}

// A public room's address is its name: the catalog says whether a room has
// it. A room in memory that moved away from the name has freed it (the move
// is queued before the creation, so the disk agrees by then).
void room_registry::create(std::string name, protocol::user_ref creator, bool must_be_new, outcome_handler done) {
    room_key key{room_key::by::address, name};
    lookup(std::move(key), creator.id, false,
           [this, name = std::move(name), creator, must_be_new](const std::optional<catalog_hit>&,
                                                                room_ptr found) -> outcome {
               if (found) return must_be_new ? outcome(protocol::error_code::room_name_taken) : outcome(found);
               listing* l = add_locked({name, name, "", room_kind::public_room}, "", {}, creator.id);
               if (l == nullptr) return outcome(protocol::error_code::room_unavailable);
               l->room->add_members({{creator.id, creator.name, member_status::member, protocol::room_role::owner}},
                                    creator.id);
               return lease_locked(*l);
           },
           std::move(done));
}

room_registry::room_ptr room_registry::create_private(const std::string& title, const protocol::user_ref& creator) {
    std::lock_guard lock(mutex_);
    listing* l = add_locked({fresh_address_locked(), title, "", room_kind::private_room}, "", {}, creator.id);
    if (l == nullptr) return nullptr;
    l->room->add_members({{creator.id, creator.name, member_status::member, protocol::room_role::owner}}, creator.id);
    return lease_locked(*l);
}

void room_registry::open_direct(std::vector<protocol::user_ref> people, std::uint64_t creator, outcome_handler done) {
    std::string key = direct_key_of(people);
    lookup({room_key::by::direct, key}, creator, false,
           [this, key, people = std::move(people), creator](const std::optional<catalog_hit>&,
                                                            room_ptr found) mutable -> outcome {
               if (found) return found;
               std::vector<member_state> rows;
               for (const auto& p : people) rows.push_back({p.id, p.name, member_status::member});
               listing* l = add_locked({fresh_address_locked(), "", "", room_kind::direct}, key, people, creator);
               if (l == nullptr) return outcome(protocol::error_code::room_unavailable);
               l->room->add_members(std::move(rows), creator);
               return lease_locked(*l);
           },
           std::move(done));
}

// ---- lists --------------------------------------------------------------------------------------

void room_registry::rooms_of(std::uint64_t user_id,
                             std::function<void(std::optional<std::vector<protocol::room_entry>>)> done) {
    boost::asio::post(reads_, [this, user_id, done = std::move(done)] {
        for (int attempt = 0;; ++attempt) {
            const auto evictions_before = evictions_.load();
            std::vector<protocol::room_entry> stored;
            try {
                stored = catalog_.rooms_of(user_id);
            } catch (const std::exception& e) {
                log::error(log::chat, "room list read failed", {{"user_id", user_id}, {"error", e.what()}});
                return done(std::nullopt);
            }
            std::lock_guard lock(mutex_);
            if (evictions_.load() != evictions_before && attempt < max_rereads) continue;
            std::vector<protocol::room_entry> out;
            for (auto& e : stored)
                if (!by_id_.contains(e.room_id)) out.push_back(std::move(e));
            if (auto rows = rows_by_user_.find(user_id); rows != rows_by_user_.end())
                for (const auto& [room_id, row] : rows->second)
                    if (auto e = entry_locked(user_id, room_id)) out.push_back(std::move(*e));
            std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.room_id < b.room_id; });
            return done(std::move(out));
        }
    });
}

std::vector<directory_entry> room_registry::list(std::string_view after, std::size_t limit) {
    for (int attempt = 0;; ++attempt) {
        const auto evictions_before = evictions_.load();
        std::vector<directory_entry> page = catalog_.public_rooms(after, limit);
        std::lock_guard lock(mutex_);
        if (evictions_.load() != evictions_before && attempt < max_rereads) continue;
        // The page's range of names: memory adds its public rooms in it.
        const bool full = page.size() == limit;
        const std::string last = full ? page.back().name : std::string();
        std::vector<directory_entry> out;
        for (auto& e : page)
            if (!by_id_.contains(e.id)) out.push_back(std::move(e));
        for (const auto& [id, l] : by_id_) {
            const std::string& name = l.settings.address;
            if (l.deleted || l.settings.kind != room_kind::public_room || name <= after || (full && name > last)) continue;
            std::size_t members = 0;
            for (auto u : l.users)
                if (rows_by_user_.at(u).at(id).status == member_status::member) ++members;
            out.push_back({id, name, l.settings.title, l.room->last_seq_approx(), members, l.room->members_approx()});
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        if (out.size() > limit) out.resize(limit);
        return out;
    }
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

// ---- what rooms tell -----------------------------------------------------------------------------

void room_registry::set_row_locked(listing& l, std::uint32_t room_id, const member_state& row) {
    if (belongs(row)) {
        rows_by_user_[row.user_id][room_id] = row;
        l.users.insert(row.user_id);
    } else if (l.users.erase(row.user_id) != 0) {
        auto rows = rows_by_user_.find(row.user_id);
        rows->second.erase(room_id);
        if (rows->second.empty()) rows_by_user_.erase(rows);
    }
    if (l.settings.kind == room_kind::direct) {
        std::erase_if(l.people, [&](const auto& p) { return p.id == row.user_id; });
        if (row.status == member_status::member) l.people.push_back({row.user_id, row.username});
    }
}

void room_registry::member_changed(std::uint32_t room_id, const member_state& row) {
    std::optional<protocol::room_entry> entry;
    {
        std::lock_guard lock(mutex_);
        auto l = by_id_.find(room_id);
        if (l == by_id_.end() || l->second.deleted) return;
        set_row_locked(l->second, room_id, row);
        entry = entry_locked(row.user_id, room_id);
    }
    if (list_observer_) list_observer_(row.user_id, room_id, std::move(entry));
}

void room_registry::settings_changed(std::uint32_t room_id, const room_settings& settings) {
    std::vector<std::pair<std::uint64_t, protocol::room_entry>> changed;
    {
        std::lock_guard lock(mutex_);
        auto l = by_id_.find(room_id);
        if (l == by_id_.end() || l->second.deleted) return;
        l->second.settings = settings;
        for (auto user_id : l->second.users)
            if (auto e = entry_locked(user_id, room_id)) changed.emplace_back(user_id, std::move(*e));
    }
    if (list_observer_)
        for (auto& [user_id, e] : changed) list_observer_(user_id, room_id, std::move(e));
}

// The address moves at once: from now on joins find the room only there. A
// public name may belong to a room that is not in memory: the catalog is asked
// (a point read on the room's strand; changes of kind are rare).
bool room_registry::claim_address(std::uint32_t room_id, const std::string& address) {
    for (int attempt = 0;; ++attempt) {
        const auto evictions_before = evictions_.load();
        std::optional<catalog_hit> hit;
        if (!address.starts_with('~')) {
            try {
                hit = catalog_.find({room_key::by::address, address}, 0, [](const auto&, const auto*) { return false; });
            } catch (const std::exception& e) {
                log::error(log::chat, "room name lookup failed", {{"error", e.what()}});
                return false;
            }
        }
        std::lock_guard lock(mutex_);
        if (evictions_.load() != evictions_before && attempt < max_rereads) continue;
        auto l = by_id_.find(room_id);
        if (l == by_id_.end() || by_address_.contains(address)) return false;
        if (hit && hit->room.id != room_id && !by_id_.contains(hit->room.id)) return false;  // a stored room's
        by_address_.erase(l->second.settings.address);
        by_address_[address] = room_id;
        l->second.settings.address = address;
        return true;
    }
}

// A deleted room is gone for everyone at once, but stays in memory (so that
// what the catalog still says of it is overruled) until it is evicted.
void room_registry::deleted(std::uint32_t room_id) {
    std::vector<std::uint64_t> users;
    {
        std::lock_guard lock(mutex_);
        auto l = by_id_.find(room_id);
        if (l == by_id_.end() || l->second.deleted) return;
        by_address_.erase(l->second.settings.address);
        if (!l->second.direct_key.empty()) direct_by_key_.erase(l->second.direct_key);
        users.assign(l->second.users.begin(), l->second.users.end());
        for (auto u : users) set_row_locked(l->second, room_id, {u, {}, member_status::gone});
        l->second.people.clear();
        l->second.deleted = true;
    }
    if (list_observer_)
        for (auto u : users) list_observer_(u, room_id, std::nullopt);
}

// Only an unpinned room goes: pins are taken under this mutex, so no lease
// of it exists anywhere.
bool room_registry::evict(std::uint32_t room_id, const room* which) {
    std::shared_ptr<room> going;
    {
        std::lock_guard lock(mutex_);
        auto l = by_id_.find(room_id);
        if (l == by_id_.end() || l->second.room.get() != which || which->pinned()) return false;
        listing& gone = l->second;
        if (!gone.deleted) {
            by_address_.erase(gone.settings.address);
            if (!gone.direct_key.empty()) direct_by_key_.erase(gone.direct_key);
        }
        for (auto u : gone.users) {
            auto rows = rows_by_user_.find(u);
            rows->second.erase(room_id);
            if (rows->second.empty()) rows_by_user_.erase(rows);
        }
        going = std::move(gone.room);
        by_id_.erase(l);
        evictions_.fetch_add(1);
    }
    return true;  // `going` is released outside the mutex
}

room_registry::room_ptr room_registry::find_locked_by_id(std::uint32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second.room;
}

void room_registry::persisted(std::uint32_t room_id, std::uint64_t seq) {
    room_ptr r;
    {
        std::lock_guard lock(mutex_);
        r = find_locked_by_id(room_id);
    }
    if (r) r->persisted(seq);
}

void room_registry::voided(std::uint32_t room_id, std::uint64_t seq) {
    room_ptr r;
    {
        std::lock_guard lock(mutex_);
        r = find_locked_by_id(room_id);
    }
    if (r) r->voided(seq);
}

}  // namespace parley::server
