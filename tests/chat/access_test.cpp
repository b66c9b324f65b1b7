// The rules of the access model (server/chat/access.hpp), one actor and one
// action at a time: who may join, who may act on whom.
#include "server/chat/access.hpp"

#include <gtest/gtest.h>

namespace {
using namespace parley::server;
using namespace parley::protocol;
using access::actor;
using access::request;

member_state row(std::uint64_t id, member_status status, room_role role = room_role::member, bool muted = false) {
    return {id, "user" + std::to_string(id), status, role, muted};
}

const member_state owner = row(1, member_status::member, room_role::owner);
const member_state moderator = row(2, member_status::member, room_role::moderator);
const member_state member = row(3, member_status::member);
const member_state other_member = row(4, member_status::member);
const member_state invitee = row(5, member_status::invited);
const member_state banned = row(6, member_status::banned);
const member_state gone = row(7, member_status::gone);

std::optional<error_code> check(const member_state* who, room_action a, const member_state* target,
                                room_kind kind = room_kind::private_room, bool admin = false) {
    return access::check(actor{who, admin}, request{a, target, who != nullptr && target == who}, kind);
}

TEST(Access, WhoMayJoin) {
    for (auto kind : {room_kind::private_room, room_kind::direct}) {
        EXPECT_TRUE(access::may_join({&member}, kind));
        EXPECT_TRUE(access::may_join({&invitee}, kind));
        EXPECT_FALSE(access::may_join({nullptr}, kind)) << "a stranger";
        EXPECT_FALSE(access::may_join({&gone}, kind)) << "an ex-member needs a new invitation";
        EXPECT_FALSE(access::may_join({&banned}, kind));
        EXPECT_TRUE(access::may_join({nullptr, true}, kind)) << "administrators see every room";
    }
    EXPECT_TRUE(access::may_join({nullptr}, room_kind::public_room));
    EXPECT_TRUE(access::may_join({&gone}, room_kind::public_room));
    EXPECT_FALSE(access::may_join({&banned}, room_kind::public_room));
}

TEST(Access, MembersInviteButDoNotModerate) {
    EXPECT_EQ(check(&member, room_action::invited, nullptr), std::nullopt);
    EXPECT_EQ(check(&member, room_action::invited, &gone), std::nullopt) << "a kicked member may be invited again";
    for (auto a : {room_action::kicked, room_action::banned, room_action::muted, room_action::role_set})
        EXPECT_EQ(check(&member, a, &other_member), error_code::not_allowed) << enum_name(a);
    EXPECT_EQ(check(&member, room_action::topic_set, nullptr), error_code::not_allowed);
    EXPECT_EQ(check(&member, room_action::kind_set, nullptr), error_code::not_allowed);
    EXPECT_EQ(check(&member, room_action::invited, &banned), error_code::not_allowed);
}

TEST(Access, ModeratorsActOnlyOnThoseBelowThem) {
    EXPECT_EQ(check(&moderator, room_action::kicked, &member), std::nullopt);
    EXPECT_EQ(check(&moderator, room_action::kicked, &invitee), std::nullopt) << "withdraws the invitation";
    EXPECT_EQ(check(&moderator, room_action::banned, &member), std::nullopt);
    EXPECT_EQ(check(&moderator, room_action::muted, &member), std::nullopt);
    EXPECT_EQ(check(&moderator, room_action::unbanned, &banned), std::nullopt);
    EXPECT_EQ(check(&moderator, room_action::kicked, &owner), error_code::not_allowed);
    EXPECT_EQ(check(&moderator, room_action::banned, &owner), error_code::not_allowed);
    EXPECT_EQ(check(&moderator, room_action::kicked, &moderator), error_code::bad_request) << "never oneself";
    EXPECT_EQ(check(&moderator, room_action::topic_set, nullptr), std::nullopt);
}

TEST(Access, OwnerActionsNeedTheOwner) {
    EXPECT_EQ(check(&moderator, room_action::ownership_given, &member), error_code::not_allowed);
    EXPECT_EQ(check(&moderator, room_action::deleted, nullptr), error_code::not_allowed);
    EXPECT_EQ(check(&owner, room_action::ownership_given, &member), std::nullopt);
    EXPECT_EQ(check(&owner, room_action::deleted, nullptr), std::nullopt);
    EXPECT_EQ(check(&owner, room_action::kicked, &moderator), std::nullopt);
    EXPECT_EQ(check(&owner, room_action::ownership_given, &invitee), error_code::bad_request);
}

TEST(Access, AdministratorsModerateEveryRoom) {
    EXPECT_EQ(check(nullptr, room_action::kicked, &owner, room_kind::private_room, true), std::nullopt);
    EXPECT_EQ(check(nullptr, room_action::deleted, nullptr, room_kind::public_room, true), std::nullopt);
    EXPECT_TRUE(access::may_delete_others({nullptr, true}));
    EXPECT_EQ(check(&member, room_action::ownership_given, &other_member, room_kind::private_room, true),
              error_code::not_allowed)
        << "only the owner hands a room over";
}

TEST(Access, OnlyModeratorsDeleteOthersMessages) {
    EXPECT_FALSE(access::may_delete_others({&member}));
    EXPECT_TRUE(access::may_delete_others({&moderator}));
    EXPECT_TRUE(access::may_delete_others({&owner}));
    EXPECT_FALSE(access::may_delete_others({&gone}));
}

TEST(Access, ExMembersAndStrangersMayDoNothing) {
    for (auto a : {room_action::invited, room_action::kicked, room_action::topic_set, room_action::left}) {
        EXPECT_EQ(check(&gone, a, &member), error_code::not_allowed) << enum_name(a);
        EXPECT_EQ(check(&banned, a, &member), error_code::not_allowed) << enum_name(a);
        EXPECT_EQ(check(nullptr, a, &member), error_code::not_allowed) << enum_name(a);
        EXPECT_EQ(check(&invitee, a, &member), error_code::not_allowed) << enum_name(a);
    }
}

TEST(Access, DirectConversationsHaveNoModeration) {
    for (auto a : {room_action::invited, room_action::kicked, room_action::banned, room_action::title_set,
                   room_action::kind_set, room_action::deleted})
        EXPECT_EQ(check(&owner, a, &member, room_kind::direct), error_code::bad_request) << enum_name(a);
    EXPECT_EQ(check(&member, room_action::left, &member, room_kind::direct), std::nullopt);
    EXPECT_EQ(check(&member, room_action::topic_set, nullptr, room_kind::direct), error_code::not_allowed);
}

TEST(Access, AlreadySoNeedsNoEvent) {
    EXPECT_TRUE(access::already_so({room_action::invited, &invitee}));
    const member_state muted = row(9, member_status::member, room_role::member, true);
    EXPECT_TRUE(access::already_so({room_action::muted, &muted}));
    EXPECT_FALSE(access::already_so({room_action::muted, &member}));
    EXPECT_TRUE(access::already_so({room_action::unmuted, &member}));
    EXPECT_FALSE(access::already_so({room_action::kicked, &member}));
}

}  // namespace
