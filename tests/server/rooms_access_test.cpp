// Who may do what in which room, against a live server over loopback: the
// enforcement matrix of the access model. Each path (join, replay, history,
// send, edit, delete, reaction, typing, presence, the directory, what a
// broadcast reaches) against each actor (a stranger, ex-members who were
// kicked, banned or left, a muted member, a member trying a moderator's
// action, a moderator trying an owner's, a user of another room guessing the
// id, an unauthenticated connection).
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

namespace {

using namespace parley::testing;
using namespace parley::protocol;
using namespace std::chrono_literals;

std::atomic<std::uint64_t> ids{1};

std::uint16_t code(error_code c) { return static_cast<std::uint16_t>(c); }

/// One signed-in connection of a user.
struct person {
    std::unique_ptr<ws_client> c;
    std::uint64_t id = 0;
    std::string name;
    ws_client* operator->() { return c.get(); }
};

person sign_in(test_server& srv, const std::string& name) {
    const std::string token = sign_up(srv.port(), name);
    person p{std::make_unique<ws_client>(ws_options{.port = srv.port(), .headers = {{"Cookie", "parley_session=" + token}}}),
             0, name};
    p.id = p->wait_for<welcome>().user_id;
    p->wait_for<room_list>([](const room_list& l) { return l.change == presence_change::snapshot; });
    return p;
}

std::uint16_t error_of(person& p, packet_kind kind) {
    return p->wait_for<error_report>([&](const error_report& e) { return e.ref_kind == static_cast<std::uint8_t>(kind); })
        .code;
}

/// A private room owned by ana, with a member, a moderator and a muted
/// member in it, and a stranger who never was.
struct private_room {
    test_server srv;
    person ana, mo, mem, mute, stranger;
    std::uint32_t id = 0;
    std::string address;

    private_room()
        : ana(sign_in(srv, "ana")), mo(sign_in(srv, "mo")), mem(sign_in(srv, "mem")), mute(sign_in(srv, "mute")),
          stranger(sign_in(srv, "stranger")) {
        ana->send(create_room{ids++, "Secret plans", room_kind::private_room});
        const auto joined = ana->wait_for<room_joined>();
        id = joined.room_id;
        address = joined.room;
        EXPECT_TRUE(address.starts_with("~")) << address;
        EXPECT_EQ(joined.role, room_role::owner);
        EXPECT_EQ(joined.title, "Secret plans");
        for (person* p : {&mo, &mem, &mute}) add(*p);
        act(ana, room_action::role_set, mo, room_role::moderator);
        act(ana, room_action::muted, mute);
    }

    /// Invites `p`, who accepts (joins).
    void add(person& p) {
        act(ana, room_action::invited, p);
        auto invitation = p->wait_for<room_list>([&](const room_list& l) {
            return l.change == presence_change::joined && !l.rooms.empty() && l.rooms[0].invited;
        });
        EXPECT_EQ(invitation.rooms[0].room_id, id);
        EXPECT_EQ(invitation.rooms[0].invited_by.name, "ana");
        p->send(join_room{invitation.rooms[0].address, 0, 0});
        p->wait_for<room_joined>();
        p->wait_for<history_page>();
    }

    /// `who` does `action` to `target`; returns the ack's seq (0: nothing changed) or throws on an error.
    std::uint64_t act(person& who, room_action action, const person& target, room_role role = room_role::member) {
        const std::uint64_t cid = ids++;
        who->send(manage_room{id, cid, action, target.id, role});
        auto p = who->wait_for<ack>([&](const ack& a) { return a.client_id == cid; });
        return p.seq;
    }

    /// `who` asks for `action` on `target` and gets error `expected`.
    void refused(person& who, room_action action, const person& target, error_code expected,
                 room_role role = room_role::member) {
        const std::uint64_t cid = ids++;
        who->send(manage_room{id, cid, action, target.id, role});
        const auto e = who->wait_for<error_report>([&](const error_report& r) { return r.ref == cid; });
        EXPECT_EQ(e.code, code(expected)) << enum_name(action) << " by " << who.name << " on " << target.name;
    }

    std::uint64_t say(person& who, const std::string& text) {
        const std::uint64_t cid = ids++;
        who->send(send_message{id, cid, 0, text, false});
        return who->wait_for<ack>([&](const ack& a) { return a.client_id == cid; }).seq;
    }
};

/// Every request a non-member could make with a guessed room id: each is
/// refused, and nothing of it reaches the room.
void expect_shut_out(person& p, std::uint32_t room, std::uint64_t some_message) {
    p->send(send_message{room, ids++, 0, "let me in", false});
    EXPECT_EQ(error_of(p, packet_kind::send_message), code(error_code::not_in_room)) << p.name;
    p->send(edit_message{room, ids++, some_message, "mine now", false});
    EXPECT_EQ(error_of(p, packet_kind::edit_message), code(error_code::not_in_room)) << p.name;
    p->send(delete_message{room, ids++, some_message, false});
    EXPECT_EQ(error_of(p, packet_kind::delete_message), code(error_code::not_in_room)) << p.name;
    p->send(set_reaction{room, ids++, some_message, reaction_kind::heart, true, false});
    EXPECT_EQ(error_of(p, packet_kind::set_reaction), code(error_code::not_in_room)) << p.name;
    p->send(request_history{room, 0, 50});
    EXPECT_EQ(error_of(p, packet_kind::request_history), code(error_code::not_in_room)) << p.name;
    p->send(set_typing{room, true});
    EXPECT_EQ(error_of(p, packet_kind::set_typing), code(error_code::not_in_room)) << p.name;
    p->send(manage_room{room, ids++, room_action::invited, p.id});
    EXPECT_EQ(error_of(p, packet_kind::manage_room), code(error_code::not_in_room)) << p.name;
    p->send(decline_invite{room});
    EXPECT_EQ(error_of(p, packet_kind::decline_invite), code(error_code::no_such_room)) << p.name;
}

/// The room's members hear nothing from `p` and see nothing of them.
void expect_nothing_reached(private_room& r) {
    EXPECT_TRUE(r.ana->none_of_type<chat_message>(200ms));
    EXPECT_TRUE(r.ana->none_of_type<typing_update>(100ms));
}

TEST(RoomsAccess, AStrangerCannotJoinAndCannotTellThePrivateRoomExists) {
    private_room r;
    const std::uint64_t msg = r.say(r.ana, "the plan");
    r.stranger->send(join_room{r.address, 0, 0});
    const auto refused = r.stranger->wait_for<error_report>();
    // An address of no room gets exactly the same answer.
    r.stranger->send(join_room{"~aaaaaaaaaaaaaaaaaaaaaa", 0, 0});
    const auto none = r.stranger->wait_for<error_report>();
    EXPECT_EQ(refused.code, code(error_code::no_such_room));
    EXPECT_EQ(refused, none) << "the refusal tells a private room from no room";
    EXPECT_TRUE(r.stranger->none_of_type<room_joined>(200ms));
    expect_shut_out(r.stranger, r.id, msg);
    expect_nothing_reached(r);
}

TEST(RoomsAccess, APrivateRoomIsNotInTheDirectoryOrTheStrangersList) {
    private_room r;
    const std::string token = sign_up(r.srv.port(), "stranger");
    const auto res = http_call(r.srv.port(), "GET", "/api/rooms", "", {{"Authorization", "Bearer " + token}});
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(res.body.find("Secret"), std::string::npos) << res.body;
    EXPECT_EQ(res.body.find(r.address), std::string::npos) << res.body;
    // Nor in any stranger's room list.
    auto again = sign_in(r.srv, "stranger");
    EXPECT_TRUE(again->none_of_type<room_list>(200ms));
    // The members' lists have it.
    auto mem2 = sign_in(r.srv, "mem");
    mem2.c.reset();
}

TEST(RoomsAccess, KickedBannedAndLeftMembersAreShutOutAtOnce) {
    private_room r;
    person kicked = sign_in(r.srv, "kicked"), banned = sign_in(r.srv, "banned"), leaver = sign_in(r.srv, "leaver");
    for (person* p : {&kicked, &banned, &leaver}) r.add(*p);
    const std::uint64_t msg = r.say(r.ana, "before");
    r.act(r.mo, room_action::kicked, kicked);
    r.act(r.mo, room_action::banned, banned);
    const std::uint64_t cid = ids++;
    leaver->send(manage_room{r.id, cid, room_action::left, 0});
    leaver->wait_for<ack>([&](const ack& a) { return a.client_id == cid; });
    EXPECT_EQ(kicked->wait_for<room_left>().reason, leave_reason::kicked);
    EXPECT_EQ(banned->wait_for<room_left>().reason, leave_reason::banned);
    EXPECT_EQ(leaver->wait_for<room_left>().reason, leave_reason::left);
    r.say(r.ana, "after");
    for (person* p : {&kicked, &banned, &leaver}) {
        EXPECT_TRUE((*p)->none_of_type<chat_message>(200ms)) << p->name << " still hears the room";
        // Rejoining, from scratch or with the position held (a replay), is refused.
        (*p)->send(join_room{r.address, 0, 0});
        EXPECT_EQ(error_of(*p, packet_kind::join_room), code(error_code::no_such_room)) << p->name;
        (*p)->send(join_room{r.address, 1, msg});
        EXPECT_EQ(error_of(*p, packet_kind::join_room), code(error_code::no_such_room)) << p->name;
        expect_shut_out(*p, r.id, msg);
    }
    // A kicked member of a private room may come back by a new invitation; a banned one may not be invited.
    r.add(kicked);
    r.refused(r.mem, room_action::invited, banned, error_code::not_allowed);
    r.refused(r.mo, room_action::invited, banned, error_code::bad_request);  // unban first
    r.act(r.mo, room_action::unbanned, banned);
    r.add(banned);
}

TEST(RoomsAccess, AKickReachesEveryTabAndStopsWhatWasInFlight) {
    private_room r;
    person victim = sign_in(r.srv, "victim");
    r.add(victim);
    person tab2 = sign_in(r.srv, "victim");
    tab2->send(join_room{r.address, 0, 0});
    tab2->wait_for<room_joined>();
    tab2->wait_for<history_page>();
    // The victim's message and the kick race.
    const std::uint64_t cid = ids++;
    victim->send(send_message{r.id, cid, 0, "in flight", false});
    r.act(r.ana, room_action::kicked, victim);
    for (person* tab : {&victim, &tab2}) {
        std::optional<std::uint64_t> acked;
        for (;;) {
            auto p = (*tab)->next(3s);
            ASSERT_TRUE(p) << "no room_left";
            if (auto* a = std::get_if<ack>(&*p); a && a->client_id == cid) acked = a->seq;
            if (auto* left = std::get_if<room_left>(&*p)) {
                EXPECT_EQ(left->reason, leave_reason::kicked);
                break;
            }
        }
        EXPECT_TRUE((*tab)->none_of_type<chat_message>(300ms)) << "a packet after room_left";
    }
    auto presence = r.mem->wait_for<presence_update>([&](const presence_update& u) {
        return u.change == presence_change::left && !u.users.empty() && u.users[0].id == victim.id;
    });
    EXPECT_EQ(presence.users[0].name, "victim") << "the kicked user's presence ends at once, with no grace period";
    r.say(r.ana, "after the kick");
    for (person* tab : {&victim, &tab2}) EXPECT_TRUE((*tab)->none_of_type<chat_message>(200ms));
}

TEST(RoomsAccess, AMutedMemberReadsButCannotSendReactOrType) {
    private_room r;
    const std::uint64_t msg = r.say(r.ana, "hello");
    r.mute->send(send_message{r.id, ids++, 0, "can you hear me", false});
    EXPECT_EQ(error_of(r.mute, packet_kind::send_message), code(error_code::muted));
    r.mute->send(set_reaction{r.id, ids++, msg, reaction_kind::heart, true, false});
    EXPECT_EQ(error_of(r.mute, packet_kind::set_reaction), code(error_code::muted));
    r.mute->send(set_typing{r.id, true});
    EXPECT_TRUE(r.ana->none_of_type<typing_update>(300ms)) << "a muted member's typing is shown";
    EXPECT_TRUE(r.ana->none_of_type<chat_message>(100ms));
    r.say(r.ana, "still read");
    EXPECT_EQ(r.mute->wait_for<chat_message>([](auto& m) { return m.message.text == "still read"; }).message.author, "ana");
    r.act(r.mo, room_action::unmuted, r.mute);
    r.say(r.mute, "back");
}

TEST(RoomsAccess, MembersCannotModerateAndModeratorsCannotDoOwnersWork) {
    private_room r;
    r.refused(r.mem, room_action::kicked, r.mute, error_code::not_allowed);
    r.refused(r.mem, room_action::banned, r.mute, error_code::not_allowed);
    r.refused(r.mem, room_action::muted, r.mo, error_code::not_allowed);
    r.refused(r.mem, room_action::role_set, r.mem, error_code::bad_request, room_role::moderator);  // not on oneself
    r.refused(r.mem, room_action::role_set, r.mute, error_code::not_allowed, room_role::moderator);
    r.refused(r.mo, room_action::ownership_given, r.mem, error_code::not_allowed);
    r.refused(r.mo, room_action::kicked, r.ana, error_code::not_allowed);
    const std::uint64_t cid = ids++;
    r.mem->send(manage_room{r.id, cid, room_action::topic_set, 0, room_role::member, room_kind::private_room, "mine"});
    EXPECT_EQ(r.mem->wait_for<error_report>([&](auto& e) { return e.ref == cid; }).code, code(error_code::not_allowed));
    const std::uint64_t del = ids++;
    r.mo->send(manage_room{r.id, del, room_action::deleted, 0});
    EXPECT_EQ(r.mo->wait_for<error_report>([&](auto& e) { return e.ref == del; }).code, code(error_code::not_allowed));
    // Nothing of it happened: the room is still there, unchanged.
    r.say(r.mem, "still here");
}

TEST(RoomsAccess, ModeratorsDeleteButNeverEditOthersMessages) {
    private_room r;
    const std::uint64_t msg = r.say(r.mem, "spam");
    r.mem->send(edit_message{r.id, ids++, r.say(r.ana, "ana's"), "edited by mem", false});
    EXPECT_EQ(error_of(r.mem, packet_kind::edit_message), code(error_code::forbidden));
    r.mo->send(edit_message{r.id, ids++, msg, "edited by mo", false});
    EXPECT_EQ(error_of(r.mo, packet_kind::edit_message), code(error_code::forbidden));
    const std::uint64_t other = r.say(r.ana, "members may not delete this");
    r.mem->send(delete_message{r.id, ids++, other, false});
    EXPECT_EQ(error_of(r.mem, packet_kind::delete_message), code(error_code::forbidden));
    r.mo->send(delete_message{r.id, ids++, msg, false});
    const auto gone = r.mem->wait_for<message_deleted>([&](auto& d) { return d.message_seq == msg; });
    EXPECT_EQ(gone.by, r.mo.id) << "the tombstone names who deleted it";
    r.mem->send(request_history{r.id, 0, 50});
    const auto page = r.mem->wait_for<history_page>();
    const auto it = std::find_if(page.messages.begin(), page.messages.end(), [&](auto& m) { return m.seq == msg; });
    ASSERT_NE(it, page.messages.end());
    EXPECT_TRUE(it->deleted);
    EXPECT_EQ(it->deleted_by, r.mo.id);
}

TEST(RoomsAccess, AnIdFromAnotherRoomIsNoCapability) {
    private_room r;
    person bob = sign_in(r.srv, "bob");
    bob->send(join_room{"lobby", 0, 0});
    const auto lobby = bob->wait_for<room_joined>().room_id;
    bob->wait_for<history_page>();
    ASSERT_NE(lobby, r.id);
    const std::uint64_t msg = r.say(r.ana, "private");
    expect_shut_out(bob, r.id, msg);
    expect_nothing_reached(r);
}

TEST(RoomsAccess, AnUnauthenticatedConnectionGetsNothing) {
    private_room r;
    ws_client anon({.port = r.srv.port()});
    anon.send(join_room{r.address, 0, 0});
    EXPECT_EQ(anon.wait_for<error_report>().code, code(error_code::not_authenticated));
    anon.send(create_room{ids++, "mine", room_kind::private_room});
    EXPECT_EQ(anon.wait_for<error_report>().code, code(error_code::not_authenticated));
    anon.send(decline_invite{r.id});
    EXPECT_EQ(anon.wait_for<error_report>().code, code(error_code::not_authenticated));
    EXPECT_TRUE(anon.none_of_type<room_joined>(200ms));
}

// A ban that comes while the victim's rejoin reads its replay from disk: the
// join is refused when it finishes, or the victim is removed right after it;
// either way nothing of the room reaches them after the ban.
TEST(RoomsAccess, ABanDuringAReplayLetsNothingThrough) {
    test_server srv([](auto& cfg) { cfg.room_cache_messages = 4; });
    person ana = sign_in(srv, "ana"), vic = sign_in(srv, "vic");
    ana->send(join_room{"hall", 0, 0});
    const auto room = ana->wait_for<room_joined>().room_id;
    vic->send(join_room{"hall", 0, 0});
    const auto epoch = vic->wait_for<room_joined>().epoch;
    vic->wait_for<history_page>();
    const std::uint64_t from = vic->wait_for<room_event>().seq;
    vic->send(leave_room{room});
    vic->wait_for<room_left>();
    for (int i = 0; i < 40; ++i) ana->send(send_message{room, ids++, 0, "m" + std::to_string(i), false});
    ana->wait_for<ack>([&](auto& a) { return a.seq == from + 40; });
    vic->send(join_room{"hall", epoch, from});  // a replay of 40 events, mostly from disk
    const std::uint64_t cid = ids++;
    ana->send(manage_room{room, cid, room_action::banned, vic.id});
    ana->wait_for<ack>([&](auto& a) { return a.client_id == cid; });
    bool removed = false;
    for (;;) {
        auto p = vic->next(2s);
        if (!p) break;
        if (auto* e = std::get_if<error_report>(&*p)) {
            EXPECT_EQ(e->code, code(error_code::not_allowed));
            removed = true;
        }
        if (auto* l = std::get_if<room_left>(&*p)) {
            EXPECT_EQ(l->reason, leave_reason::banned);
            removed = true;
        }
        if (removed) break;
    }
    EXPECT_TRUE(removed) << "the ban did not reach the victim";
    ana->send(send_message{room, ids++, 0, "after the ban", false});
    EXPECT_TRUE(vic->none_of_type<chat_message>(300ms));
    vic->send(join_room{"hall", 0, 0});
    EXPECT_EQ(error_of(vic, packet_kind::join_room), code(error_code::not_allowed)) << "a public room may say why";
}

TEST(RoomsAccess, MembershipSurvivesARestart) {
    temp_dir dir;
    std::string address;
    {
        test_server srv(dir.path());
        person ana = sign_in(srv, "ana"), mem = sign_in(srv, "mem");
        sign_in(srv, "stranger");
        ana->send(create_room{ids++, "Kept", room_kind::private_room});
        const auto joined = ana->wait_for<room_joined>();
        address = joined.room;
        const std::uint64_t cid = ids++;
        ana->send(manage_room{joined.room_id, cid, room_action::invited, mem.id});
        ana->wait_for<ack>([&](auto& a) { return a.client_id == cid; });
    }
    test_server srv(dir.path());
    const std::string token = sign_up(srv.port(), "mem");
    ws_client mem({.port = srv.port(), .headers = {{"Cookie", "parley_session=" + token}}});
    mem.wait_for<welcome>();
    const auto list = mem.wait_for<room_list>();
    ASSERT_EQ(list.rooms.size(), 1u) << "the invitation is kept";
    EXPECT_TRUE(list.rooms[0].invited);
    EXPECT_EQ(list.rooms[0].title, "Kept");
    mem.send(join_room{address, 0, 0});
    EXPECT_EQ(mem.wait_for<room_joined>().role, room_role::member);
    person stranger = sign_in(srv, "stranger");
    stranger->send(join_room{address, 0, 0});
    EXPECT_EQ(error_of(stranger, packet_kind::join_room), code(error_code::no_such_room));
}

TEST(RoomsAccess, ADirectConversationIsTheSameForTheSamePeople) {
    test_server srv;
    person ana = sign_in(srv, "ana"), bob = sign_in(srv, "bob"), eve = sign_in(srv, "eve");
    ana->send(open_direct{ids++, {bob.id}});
    const auto first = ana->wait_for<room_joined>();
    EXPECT_EQ(first.type, room_kind::direct);
    const auto listed = bob->wait_for<room_list>([](auto& l) { return l.change == presence_change::joined; });
    ASSERT_EQ(listed.rooms.size(), 1u);
    EXPECT_EQ(listed.rooms[0].type, room_kind::direct);
    EXPECT_EQ(listed.rooms[0].people.size(), 2u);
    bob->send(open_direct{ids++, {ana.id}});
    EXPECT_EQ(bob->wait_for<room_joined>().room_id, first.room_id) << "the same people, the same conversation";
    eve->send(join_room{first.room, 0, 0});
    EXPECT_EQ(error_of(eve, packet_kind::join_room), code(error_code::no_such_room));
    ana->send(open_direct{ids++, {999999}});
    EXPECT_EQ(error_of(ana, packet_kind::open_direct), code(error_code::no_such_user));
}

// Direct conversations have an hourly quota per user of their own (a new one
// takes a token, opening one that exists takes none), apart from the quota
// of rooms: a user may talk with more people than they may create rooms.
TEST(RoomsAccess, DirectConversationsHaveAQuotaOfTheirOwn) {
    test_server srv([](auto& cfg) {
        cfg.directs_per_hour = 2;
        cfg.rooms_per_hour = 1;
    });
    person ana = sign_in(srv, "ana"), bob = sign_in(srv, "bob"), cy = sign_in(srv, "cy"), dee = sign_in(srv, "dee");
    ana->send(create_room{ids++, "mine", room_kind::private_room});
    ana->wait_for<room_joined>();
    ana->send(open_direct{ids++, {bob.id}});
    const auto with_bob = ana->wait_for<room_joined>().room_id;
    ana->send(open_direct{ids++, {cy.id}});
    ana->wait_for<room_joined>();
    for (int i = 0; i < 3; ++i) {
        ana->send(open_direct{ids++, {bob.id}});
        EXPECT_EQ(ana->wait_for<room_joined>().room_id, with_bob) << "opening an existing conversation is free";
    }
    ana->send(open_direct{ids++, {dee.id}});
    const auto e = ana->wait_for<error_report>();
    EXPECT_EQ(e.code, code(error_code::room_quota));
    EXPECT_GT(e.retry_after_ms, 0u);
}

}  // namespace

// ---- rooms on disk: loaded on first use, evicted when idle ---------------------------------------

namespace {

/// Rooms leave memory 50 ms after their last use; batches commit within 20 ms.
void quick_eviction(parley::server::config& cfg) {
    cfg.room_idle = 50ms;
    cfg.batch_max_delay = 20ms;
}

nlohmann::json health(test_server& srv) { return nlohmann::json::parse(http_call(srv.port(), "GET", "/healthz").body); }

/// Waits until no room is in memory; false after 5 s.
bool all_evicted(test_server& srv) {
    for (int i = 0; i < 500; ++i) {
        if (health(srv)["rooms"] == 0) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

std::uint64_t metric(test_server& srv, const std::string& name) {
    const std::string body = http_call(srv.port(), "GET", "/metrics").body;
    const auto at = body.find("\n" + name + " ");
    return at == std::string::npos ? 0 : std::stoull(body.substr(at + name.size() + 2));
}

}  // namespace

// A room nobody uses leaves memory and comes back exactly as it was: its
// members, its messages, its moderation, and still shut to strangers.
TEST(RoomsOnDisk, AnIdleRoomLeavesMemoryAndComesBackAsItWas) {
    test_server srv(quick_eviction);
    person ana = sign_in(srv, "ana"), bob = sign_in(srv, "bob"), cy = sign_in(srv, "cy"), eve = sign_in(srv, "eve");
    ana->send(create_room{ids++, "Kept aside", room_kind::private_room});
    const auto made = ana->wait_for<room_joined>();
    for (const person* p : {&bob, &cy}) {
        const std::uint64_t cid = ids++;
        ana->send(manage_room{made.room_id, cid, room_action::invited, p->id});
        ana->wait_for<ack>([&](auto& a) { return a.client_id == cid; });
    }
    bob->send(join_room{made.room, 0, 0});
    bob->wait_for<room_joined>();
    ana->send(send_message{made.room_id, ids++, 0, "before the quiet", false});
    ana->wait_for<ack>();
    {
        const std::uint64_t cid = ids++;  // the last change before everyone goes: is it on disk too?
        ana->send(manage_room{made.room_id, cid, room_action::kicked, bob.id});
        ana->wait_for<ack>([&](auto& a) { return a.client_id == cid; });
    }
    ana->send(leave_room{made.room_id});
    ana->wait_for<room_left>();
    ASSERT_TRUE(all_evicted(srv)) << health(srv).dump();
    EXPECT_GE(metric(srv, "parley_room_evictions_total"), 1u);

    // The lists come from the database now: ana's room, cy's invitation, nothing for bob.
    person ana2 = sign_in(srv, "ana");  // sign_in waited for the snapshot: look at a fresh one
    const std::string token = sign_up(srv.port(), "cy");
    ws_client cy2({.port = srv.port(), .headers = {{"Cookie", "parley_session=" + token}}});
    cy2.wait_for<welcome>();
    const auto cy_list = cy2.wait_for<room_list>();
    ASSERT_EQ(cy_list.rooms.size(), 1u);
    EXPECT_TRUE(cy_list.rooms[0].invited);
    EXPECT_EQ(cy_list.rooms[0].title, "Kept aside");
    EXPECT_EQ(cy_list.rooms[0].invited_by.name, "ana");
    EXPECT_EQ(health(srv)["rooms"], 0) << "a room list loads no room";

    // Strangers and the kicked member get what an address of no room gets.
    eve->send(join_room{made.room, 0, 0});
    EXPECT_EQ(error_of(eve, packet_kind::join_room), code(error_code::no_such_room));
    bob->send(join_room{made.room, 0, 0});
    EXPECT_EQ(error_of(bob, packet_kind::join_room), code(error_code::no_such_room));
    eve->send(decline_invite{made.room_id});
    EXPECT_EQ(error_of(eve, packet_kind::decline_invite), code(error_code::no_such_room));
    EXPECT_EQ(health(srv)["rooms"], 0) << "a refused lookup loads nothing";

    // The owner comes back to the same room, with its history.
    ana2->send(join_room{made.room, 0, 0});
    const auto back = ana2->wait_for<room_joined>();
    EXPECT_EQ(back.room_id, made.room_id);
    EXPECT_EQ(back.role, room_role::owner);
    EXPECT_EQ(back.title, "Kept aside");
    const auto page = ana2->wait_for<history_page>();
    ASSERT_EQ(page.messages.size(), 1u);
    EXPECT_EQ(page.messages[0].text, "before the quiet");
    EXPECT_GE(metric(srv, "parley_room_loads_total"), 1u);
    // The invitee declines a room that is not in memory: it is loaded for them.
    ana2->send(leave_room{back.room_id});
    ana2->wait_for<room_left>();
    ASSERT_TRUE(all_evicted(srv));
    cy2.send(decline_invite{made.room_id});
    cy2.wait_for<room_list>([&](const room_list& l) { return l.change == presence_change::left; });
}

// The same people find the same conversation after it left memory, and a
// restart loads nothing until someone asks.
TEST(RoomsOnDisk, ADirectConversationIsFoundAgainOnDiskAndAfterARestart) {
    temp_dir dir;
    std::uint32_t id = 0;
    {
        test_server srv(dir.path(), quick_eviction);
        person ana = sign_in(srv, "ana"), bob = sign_in(srv, "bob");
        ana->send(open_direct{ids++, {bob.id}});
        id = ana->wait_for<room_joined>().room_id;
        ana->send(leave_room{id});
        ana->wait_for<room_left>();
        ASSERT_TRUE(all_evicted(srv));
        bob->send(open_direct{ids++, {ana.id}});
        EXPECT_EQ(bob->wait_for<room_joined>().room_id, id);
    }
    test_server srv(dir.path(), quick_eviction);
    person ana = sign_in(srv, "ana");
    EXPECT_EQ(health(srv)["rooms"], 0) << "start-up loads no room";
    person bob = sign_in(srv, "bob");
    ana->send(open_direct{ids++, {bob.id}});
    EXPECT_EQ(ana->wait_for<room_joined>().room_id, id);
    EXPECT_EQ(health(srv)["rooms"], 1);
}

// The directory lists public rooms whether or not they are in memory, a page
// at a time by name; a public name stays taken while its room is on disk.
TEST(RoomsOnDisk, TheDirectoryAndPublicNamesCoverRoomsOnDisk) {
    test_server srv(quick_eviction);
    person ana = sign_in(srv, "ana");
    for (int i = 0; i < 105; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "room-%03d", i);
        ana->send(join_room{name, 0, 0});
        const auto joined = ana->wait_for<room_joined>();
        ana->send(leave_room{joined.room_id});
        ana->wait_for<room_left>();
    }
    ASSERT_TRUE(all_evicted(srv));
    const std::string token = sign_up(srv.port(), "bob");
    const auto get = [&](const std::string& target) {
        const auto res = http_call(srv.port(), "GET", target, "", {{"Authorization", "Bearer " + token}});
        EXPECT_EQ(res.status, 200);
        return nlohmann::json::parse(res.body);
    };
    const auto first = get("/api/rooms");
    ASSERT_EQ(first["rooms"].size(), 100u);
    EXPECT_EQ(first["rooms"][0]["name"], "room-000");
    EXPECT_EQ(first["rooms"][0]["members"], 1);
    EXPECT_EQ(first["next"], "room-099");
    const auto second = get("/api/rooms?after=room-099");
    ASSERT_EQ(second["rooms"].size(), 5u);
    EXPECT_EQ(second["rooms"][4]["name"], "room-104");
    EXPECT_TRUE(second["next"].is_null());
    EXPECT_EQ(health(srv)["rooms"], 0) << "the directory loads no room";

    person bob = sign_in(srv, "bob");
    bob->send(create_room{ids++, "room-050", room_kind::public_room});
    EXPECT_EQ(error_of(bob, packet_kind::create_room), code(error_code::room_name_taken));
    bob->send(join_room{"room-050", 0, 0});
    EXPECT_EQ(bob->wait_for<room_joined>().room, "room-050");
}
