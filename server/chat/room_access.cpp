// The room's membership and settings: joining for the first time, the
// changes of manage_room, declining, and what removing someone does.
#include "server/chat/room.hpp"

#include "server/core/bounds.hpp"
#include "server/core/clock.hpp"
#include "server/core/log.hpp"

#include <algorithm>

namespace parley::server {
using namespace parley::protocol;

access::actor room::actor_of(const room_member& m) const { return {person(m.user_id), m.admin}; }

member_state* room::person(std::uint64_t user_id) {
    auto it = people_.find(user_id);
    return it == people_.end() ? nullptr : &it->second;
}

const member_state* room::person(std::uint64_t user_id) const {
    auto it = people_.find(user_id);
    return it == people_.end() ? nullptr : &it->second;
}

user_ref room::user_of(std::uint64_t user_id) const {
    if (user_id == 0) return {};
    const member_state* p = person(user_id);
    return {user_id, p != nullptr ? p->username : std::string()};
}

void room::add_members(std::vector<member_state> people, std::uint64_t actor) {
    on_strand([this, people = std::move(people), actor]() mutable {
        when_warm([this, people = std::move(people), actor] {
            for (const auto& p : people) {
                // The row first, so that the event can name the actor too.
                if (person(p.user_id) == nullptr) people_.emplace(p.user_id, member_state{p.user_id, p.username,
                                                                                  member_status::gone, p.role});
                people_.at(p.user_id).role = p.role;
                admit(p.user_id, p.username, actor, true, {[this, p, actor] { add_members({p}, actor); }, {}, {}});
            }
        }, [this] {
            log::error(log::chat, "cannot add a room's first members (storage unavailable)",
                       {{"room", id_}, {"address", settings_.address}});
        });
    });
}

void room::admit(std::uint64_t user_id, const std::string& username, std::uint64_t actor, bool announce_rows,
                 commit_hooks hooks) {
    member_state row{user_id, username, member_status::member};
    if (const member_state* old = person(user_id)) row.role = old->role;  // an owner-to-be keeps the role made for them
    commit(events::room_changed{id_, last_seq_ + 1, actor, 0, room_action::joined, user_id, row.role,
                                room_kind::public_room, {}, now_unix_ms(), {row}, std::nullopt},
           nullptr, {packet_kind::join_room, id_}, std::move(hooks), announce_rows);
}

void room::announce(const member_state& row) {
    if (svc_.observer.member_changed) svc_.observer.member_changed(id_, row);
}

// A room event carries the rows it changed and the settings it set as they
// are after it: applying it is putting them in place. What they were before
// is kept until the event is stored (take_back). Removals follow from the
// action, on whichever node the event was decided: a kick on one node drops
// the user's connections on every node that applies it.
void room::apply_one(events::room_changed e, const room_member* origin, bool announce_rows) {
    before_event before;
    std::vector<member_state> rows = e.members;
    for (auto& r : rows) {
        r.seq = e.seq;
        const member_state* old = person(r.user_id);
        before.rows.push_back(old != nullptr ? *old : member_state{r.user_id, r.username, member_status::gone});
        people_.insert_or_assign(r.user_id, r);
    }
    if (e.settings) {
        before.settings = settings_;
        settings_ = *e.settings;
        settings_seq_ = e.seq;
    }
    if (svc_.sink != nullptr && svc_.link == nullptr) unstored_.emplace(e.seq, std::move(before));  // no voids in a cluster
    timeline_event ev{.seq = e.seq, .what = timeline_event::type::room, .user_id = e.actor_id, .client_id = e.client_id,
                      .at = e.at, .text = e.text, .action = e.action, .target_id = e.target_id, .role = e.role,
                      .room_kind = e.kind};
    const auto packet = event_packet(ev, nullptr, 0);
    const room_action action = e.action;
    const std::uint64_t target = e.target_id;
    std::optional<room_settings> settings = e.settings;
    e.members = rows;
    record(origin, std::move(ev), std::nullopt, *packet, std::move(e));
    if (announce_rows)
        for (const auto& r : rows) announce(r);
    if (settings && svc_.observer.settings_changed) svc_.observer.settings_changed(id_, *settings);
    switch (action) {
        case room_action::left: return remove_user(target, leave_reason::left);
        case room_action::kicked: return remove_user(target, leave_reason::kicked);
        case room_action::banned: return remove_user(target, leave_reason::banned);
        case room_action::deleted: {
            deleted_ = true;
            std::vector<std::uint64_t> users;
            for (const auto& [conn, mm] : members_) users.push_back(mm.user_id);
            for (auto u : users) remove_user(u, leave_reason::deleted);
            if (svc_.observer.deleted) svc_.observer.deleted(id_);
            return;
        }
        default: return;
    }
}

void room::manage(std::uint64_t connection_id, manage_room req, std::string target_name, done_handler done) {
    const request_ref ref{packet_kind::manage_room, req.client_id};
    serve(connection_id, ref,
          [this, req = std::move(req), target_name = std::move(target_name), g = make_guard(std::move(done))](
              const room_member& m) mutable {
              const std::uint64_t conn = m.connection_id;
              auto retry = [this, conn, req, target_name, g]() mutable {
                  req.resend = false;
                  when_member(conn, [this, req, target_name, g](const room_member& mm) { do_manage(mm, req, target_name, g); });
              };
              if (answer_duplicate(m, packet_kind::manage_room, req.client_id, req.resend, retry, g)) return;
              do_manage(m, req, target_name, g);
          });
}

void room::do_manage(const room_member& m, const manage_room& req, const std::string& target_name, guard g) {
    const auto fail = [&](error_code code) { send_error(m, code, packet_kind::manage_room, req.client_id); };
    if (svc_.sink != nullptr && svc_.sink->backlog() >= svc_.cfg.max_writer_backlog)
        return send_error(m, error_code::server_busy, packet_kind::manage_room, req.client_id, bounds::busy_retry_ms);
    const bool on_self = req.action == room_action::left;
    const std::uint64_t target_id = on_self ? m.user_id : req.user_id;
    const access::request r{req.action, person(target_id), target_id == m.user_id, req.role, req.type};
    const bool names_someone = req.action != room_action::title_set && req.action != room_action::topic_set &&
                               req.action != room_action::kind_set && req.action != room_action::deleted;
    if (names_someone && r.target == nullptr && !(req.action == room_action::invited && !target_name.empty()))
        return fail(target_id == 0 ? error_code::bad_request : error_code::no_such_user);
    if (auto refused = access::check(actor_of(m), r, settings_.kind)) return fail(*refused);
    const unix_ms at = now_unix_ms();
    if (access::already_so(r)) return ack(m, req.client_id, 0, at);

    events::room_changed e{id_, last_seq_ + 1, m.user_id, req.client_id, req.action, 0, room_role::member,
                           room_kind::public_room, {}, at, {}, std::nullopt};
    // Each row as it will be: a copy, put in place when the event is applied.
    auto change = [&](std::uint64_t user_id, auto&& edit) {
        const member_state* now = person(user_id);
        member_state row = now != nullptr ? *now : member_state{user_id, target_name, member_status::gone};
        edit(row);
        e.members.push_back(std::move(row));
    };
    switch (req.action) {
        case room_action::left:
            change(m.user_id, [](member_state& p) { p = {p.user_id, p.username, member_status::gone}; });
            break;
        case room_action::invited:
            change(target_id, [&](member_state& p) { p = {p.user_id, p.username, member_status::invited,
                                                          room_role::member, false, m.user_id}; });
            break;
        case room_action::kicked:
            change(target_id, [](member_state& p) { p = {p.user_id, p.username, member_status::gone}; });
            break;
        case room_action::banned:
            change(target_id, [](member_state& p) { p = {p.user_id, p.username, member_status::banned}; });
            break;
        case room_action::unbanned:
            change(target_id, [](member_state& p) { p = {p.user_id, p.username, member_status::gone}; });
            break;
        case room_action::muted:
        case room_action::unmuted:
            change(target_id, [&](member_state& p) { p.muted = req.action == room_action::muted; });
            break;
        case room_action::role_set:
            change(target_id, [&](member_state& p) { p.role = req.role; });
            e.role = req.role;
            break;
        case room_action::ownership_given:
            change(target_id, [](member_state& p) { p.role = room_role::owner; });
            change(m.user_id, [](member_state& p) { p.role = room_role::moderator; });
            e.role = room_role::owner;
            break;
        case room_action::title_set:
        case room_action::topic_set: {
            const bool title = req.action == room_action::title_set;
            const auto blank = std::all_of(req.text.begin(), req.text.end(), [](char c) { return c == ' '; });
            if (title && (blank || req.text.size() > limits::max_room_name_bytes)) return fail(error_code::bad_request);
            if ((title ? settings_.title : settings_.topic) == req.text) return ack(m, req.client_id, 0, at);
            room_settings next = settings_;
            (title ? next.title : next.topic) = req.text;
            e.text = req.text;
            e.settings = std::move(next);
            break;
        }
        case room_action::kind_set: {
            if (req.type == settings_.kind) return ack(m, req.client_id, 0, at);
            // A private room's address says nothing about it; a public
            // room's is its name, taken from its title.
            std::string address;
            if (req.type == room_kind::public_room) {
                auto name = normalize_room_name(settings_.title);
                if (!name) return fail(error_code::bad_room_name);
                if (!svc_.observer.claim_address || !svc_.observer.claim_address(id_, *name))
                    return fail(error_code::room_name_taken);
                address = std::move(*name);
            } else {
                address = svc_.observer.new_address ? svc_.observer.new_address() : "~" + std::to_string(id_);
                if (svc_.observer.claim_address && !svc_.observer.claim_address(id_, address))
                    return fail(error_code::internal_error);
            }
            room_settings next = settings_;
            next.kind = req.type;
            next.address = address;
            e.kind = req.type;
            e.text = address;  // members learn the new address from the event
            e.settings = std::move(next);
            break;
        }
        case room_action::deleted:
            for (const auto& [id, p] : people_)
                if (p.status == member_status::member || p.status == member_status::invited)
                    e.members.push_back({p.user_id, p.username, member_status::gone});
            break;
        case room_action::joined:
        case room_action::declined: return fail(error_code::bad_request);
    }
    e.target_id = req.action == room_action::deleted || e.settings ? 0 : target_id;
    auto redo = [this, conn = m.connection_id, req, target_name, g] {
        when_member(conn, [this, req, target_name, g](const room_member& mm) { do_manage(mm, req, target_name, g); });
    };
    commit(std::move(e), &m, {packet_kind::manage_room, req.client_id}, {std::move(redo), {}, {}});
    // `m` may be gone now (a member who left)
}

void room::decline(room_member who) {
    on_strand([this, who = std::move(who)] {
        when_warm([this, who] {
            member_state* p = person(who.user_id);
            if (deleted_ || p == nullptr || p->status != member_status::invited)
                return send_error(who, error_code::no_such_room, packet_kind::decline_invite, id_);
            commit(events::room_changed{id_, last_seq_ + 1, who.user_id, 0, room_action::declined, who.user_id,
                                        room_role::member, room_kind::public_room, {}, now_unix_ms(),
                                        {member_state{p->user_id, p->username, member_status::gone}}, std::nullopt},
                   nullptr, {packet_kind::decline_invite, id_}, {[this, who] { decline(who); }, {}, [this, who] {
                       send_error(who, error_code::room_unavailable, packet_kind::decline_invite, id_,
                                  bounds::unavailable_retry_ms);
                   }});
        }, [this, who] {
            send_error(who, error_code::room_unavailable, packet_kind::decline_invite, id_, bounds::unavailable_retry_ms);
        });
    });
}

// Everything a removed user's connections would have got from now on stops
// here: they leave members_ before anything else is broadcast, and their
// typing and presence end at once (no grace period).
void room::remove_user(std::uint64_t user_id, leave_reason reason) {
    std::vector<room_member> gone;
    for (auto it = members_.begin(); it != members_.end();) {
        if (it->second.user_id == user_id) {
            forget_member(it->second);
            gone.push_back(std::move(it->second));
            it = members_.erase(it);
        } else {
            ++it;
        }
    }
    publish_stats();
    for (const auto& m : gone) {
        send_to(m, room_left{id_, reason});
        if (m.removed) m.removed(id_);
    }
    if (gone.empty()) return;
    const room_member& last = gone.back();
    stop_typing(last.user_id, last.username);
    const auto now = svc_.now();
    for (std::size_t i = 0; i < gone.size(); ++i)
        if (auto offline_at = presence_.disconnected(user_id, now, clock::duration::zero())) schedule_sweep(*offline_at);
}

// A room event the writer could not store never happened, as far as the
// disk knows: memory follows the disk. Each row it changed goes back, unless
// a later event (which carries that row as it wants it) changed it again.
// Someone it admitted is removed again; someone it removed may join again.
// A deletion is not taken back: the room has left the registry already.
void room::take_back(std::uint64_t seq) {
    auto it = unstored_.find(seq);
    if (it == unstored_.end()) return;
    before_event before = std::move(it->second);
    unstored_.erase(it);
    if (deleted_) return;
    for (auto& old : before.rows) {
        member_state* now = person(old.user_id);
        if (now == nullptr || now->seq != seq) continue;
        const bool was_member = now->status == member_status::member;
        *now = old;
        announce(old);
        if (was_member && old.status != member_status::member) remove_user(old.user_id, leave_reason::unavailable);
    }
    if (before.settings && settings_seq_ == seq) {
        if (before.settings->address != settings_.address && svc_.observer.claim_address &&
            !svc_.observer.claim_address(id_, before.settings->address))
            log::error(log::chat, "cannot take back a room's address",
                       {{"room", id_}, {"address", settings_.address}, {"previous", before.settings->address}});
        else
            settings_ = *before.settings;
        if (svc_.observer.settings_changed) svc_.observer.settings_changed(id_, settings_);
    }
    people_total_.reset();
    broadcast(people_snapshot());
}

void room::send_people(const room_member& m) { send_to(m, people_snapshot()); }

// The first snapshot_people rows, and how many there are: counted once per
// change of the room (every change is an event, so last_seq_ tells), not
// once per join, so a connect storm into a large room stays linear.
room_members room::people_snapshot() const {
    room_members packet{id_, presence_change::snapshot, {}, 0};
    const bool counted = people_total_ && people_total_->first == last_seq_;
    std::uint32_t total = 0;
    for (const auto& [id, p] : people_) {
        if (p.status == member_status::gone) continue;
        ++total;
        if (packet.members.size() < bounds::snapshot_people)
            packet.members.push_back({{p.user_id, p.username}, static_cast<membership>(p.status), p.role, p.muted});
        else if (counted)
            break;
    }
    if (!counted) people_total_.emplace(last_seq_, total);
    packet.total = people_total_->second;
    return packet;
}

}  // namespace parley::server
