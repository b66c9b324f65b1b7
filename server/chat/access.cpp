#include "server/chat/access.hpp"

namespace parley::server::access {
using protocol::error_code;
using protocol::room_action;
using protocol::room_kind;
using protocol::room_role;

namespace {
constexpr int administrator = 3;
constexpr int moderator = static_cast<int>(room_role::moderator);
constexpr int owner = static_cast<int>(room_role::owner);

bool is(const member_state* m, member_status s) { return m != nullptr && m->status == s; }

/// The rank of someone acted on: their role while they are a member or invitee.
int target_rank(const member_state* t) {
    if (t == nullptr || t->status == member_status::gone || t->status == member_status::banned) return -1;
    return static_cast<int>(t->role);
}
}  // namespace

int rank(const actor& a) {
    if (a.admin) return administrator;
    if (!is(a.self, member_status::member)) return -1;
    return static_cast<int>(a.self->role);
}

bool may_join(const actor& a, room_kind kind) {
    if (a.admin) return true;
    if (is(a.self, member_status::banned)) return false;
    if (is(a.self, member_status::member) || is(a.self, member_status::invited)) return true;
    return kind == room_kind::public_room;
}

bool may_delete_others(const actor& a) { return rank(a) >= moderator; }

std::optional<error_code> check(const actor& a, const request& r, room_kind kind) {
    const int me = rank(a);
    if (me < 0) return error_code::not_allowed;
    const bool direct = kind == room_kind::direct;
    // Acting on a person: never on oneself, and only on someone below.
    auto on_person = [&](int needed) -> std::optional<error_code> {
        if (r.target_is_actor) return error_code::bad_request;
        if (me < needed) return error_code::not_allowed;
        if (target_rank(r.target) >= me) return error_code::not_allowed;
        return std::nullopt;
    };
    switch (r.action) {
        case room_action::joined:
        case room_action::declined: return error_code::bad_request;  // joining and declining have packets of their own
        case room_action::left:
            // Only oneself. An owner who leaves leaves the room without one:
            // its moderators and the administrators still run it.
            if (!r.target_is_actor) return error_code::bad_request;
            return std::nullopt;
        case room_action::invited:
            if (direct || r.target_is_actor) return error_code::bad_request;
            if (is(r.target, member_status::member)) return error_code::bad_request;
            if (is(r.target, member_status::banned)) return me >= moderator ? error_code::bad_request : error_code::not_allowed;
            return std::nullopt;  // any member may invite
        case room_action::kicked:
            if (direct) return error_code::bad_request;
            if (!is(r.target, member_status::member) && !is(r.target, member_status::invited)) return error_code::bad_request;
            return on_person(moderator);
        case room_action::banned:
            if (direct) return error_code::bad_request;
            if (r.target == nullptr) return error_code::bad_request;
            return on_person(moderator);
        case room_action::unbanned:
            if (me < moderator) return error_code::not_allowed;
            if (r.target == nullptr || (!is(r.target, member_status::banned) && r.target->status != member_status::gone))
                return error_code::bad_request;
            return std::nullopt;
        case room_action::muted:
        case room_action::unmuted:
            if (direct) return error_code::bad_request;
            if (!is(r.target, member_status::member)) return error_code::bad_request;
            return on_person(moderator);
        case room_action::role_set:
            if (direct || r.role == room_role::owner) return error_code::bad_request;  // ownership_given makes owners
            if (!is(r.target, member_status::member)) return error_code::bad_request;
            return on_person(moderator);
        case room_action::ownership_given:
            // Only the owner hands the room over (an administrator is not its owner).
            if (direct || r.target_is_actor || !is(r.target, member_status::member)) return error_code::bad_request;
            if (!is(a.self, member_status::member) || a.self->role != room_role::owner) return error_code::not_allowed;
            return std::nullopt;
        case room_action::title_set:
        case room_action::topic_set:
            if (direct && r.action == room_action::title_set) return error_code::bad_request;
            return me >= moderator ? std::nullopt : std::optional(error_code::not_allowed);
        case room_action::kind_set:
            if (direct || r.kind == room_kind::direct) return error_code::bad_request;
            return me >= moderator ? std::nullopt : std::optional(error_code::not_allowed);
        case room_action::deleted:
            if (direct) return error_code::bad_request;
            return me >= owner ? std::nullopt : std::optional(error_code::not_allowed);
    }
    return error_code::bad_request;
}

bool already_so(const request& r) {
    const member_state* t = r.target;
    switch (r.action) {
        case room_action::invited: return is(t, member_status::invited);
        case room_action::unbanned: return is(t, member_status::gone);
        case room_action::muted: return t != nullptr && t->muted;
        case room_action::unmuted: return t != nullptr && !t->muted;
        case room_action::role_set: return t != nullptr && t->role == r.role;
        default: return false;
    }
}

}  // namespace parley::server::access
