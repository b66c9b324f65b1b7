// Who may do what in a room: the rules of the access model, as pure
// functions of the people involved, so that each rule is tested on its own
// (tests/chat/access_test.cpp) and the room only applies the outcome.
//
// Standing, from low to high: a member, a moderator, the owner, and a
// server administrator, who may do anything a moderator or the owner may
// in every room. Acting on someone needs a standing above theirs.
#pragma once

#include "protocol/errors.hpp"
#include "server/core/events.hpp"

#include <optional>

namespace parley::server::access {

/// The standing of someone acting in a room.
struct actor {
    const member_state* self = nullptr;  ///< their row in the room; null if none
    bool admin = false;                  ///< a server administrator
};

/// 0 member, 1 moderator, 2 owner, 3 administrator; -1 for no member at all.
int rank(const actor& a);

/// Whether `a` may join a room of `kind`: a public room unless banned; a
/// private or direct one as a member or invitee. Administrators may join
/// every room.
bool may_join(const actor& a, protocol::room_kind kind);

/// Whether `a` may delete a message written by someone else (moderators, the
/// owner, administrators; never edit).
bool may_delete_others(const actor& a);

/// What a manage_room asks for, as the rules see it.
struct request {
    protocol::room_action action;
    const member_state* target = nullptr;  ///< the person acted on; null if the room has no row for them
    bool target_is_actor = false;
    protocol::room_role role = protocol::room_role::member;  ///< role_set
    protocol::room_kind kind = protocol::room_kind::public_room;  ///< kind_set
};

/// nullopt if `a` may do `r` in a room of `kind`; otherwise the error the
/// actor gets: not_allowed (their standing is too low) or bad_request (the
/// request does not apply: acting on oneself, on someone who is not there,
/// a setting a direct room does not have).
std::optional<protocol::error_code> check(const actor& a, const request& r, protocol::room_kind kind);

/// Whether the target of `r` is already as `r` would make them (an invite
/// of an invitee, muting the muted): acknowledged without an event.
bool already_so(const request& r);

}  // namespace parley::server::access
