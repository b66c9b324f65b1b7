// Black-box tests of the chat over WebSocket: a real server on loopback, real
// Beast clients, only the wire protocol in between.
#include "server/server.hpp"

#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace parley::protocol;
using namespace parley::testing;
using namespace std::chrono_literals;

std::uint64_t next_id() {
    static std::atomic<std::uint64_t> id{1000};
    return id++;
}

send_message text_message(std::uint32_t room, std::string text, std::uint64_t cmid = 0) {
    return send_message{room, cmid ? cmid : next_id(), 0, std::move(text), false};
}

auto for_room(std::uint32_t room) {
    return [room](const auto& p) { return p.room_id == room; };
}

// ---- authentication and the handshake ---------------------------------------------------

TEST(Chat, ChatPacketsNeedAuthentication) {
    test_server srv;
    const std::string token = sign_up(srv.port(), "ana");
    ws_client c({.port = srv.port()});
    c.send(join_room{"lobby", 0});
    EXPECT_EQ(c.wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::not_authenticated));
    c.send(authenticate{token});
    const auto w = c.wait_for<welcome>();
    EXPECT_EQ(w.username, "ana");
    EXPECT_GT(w.user_id, 0u);
    c.send(join_room{"lobby", 0});
    EXPECT_EQ(c.wait_for<room_joined>().room, "lobby");
}

TEST(Chat, UnknownTokenIsRefused) {
    test_server srv;
    ws_client c({.port = srv.port()});
    c.send(authenticate{"not-a-token"});
    EXPECT_EQ(c.wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::auth_failed));
    c.send(ping{5});  // the connection survives the failed attempt
    EXPECT_EQ(c.wait_for<pong>().nonce, 5u);
}

TEST(Chat, SessionCookieAuthenticatesAtUpgrade) {
    test_server srv;
    auto c = srv.connect("ana");  // waits for the welcome that the cookie alone produced
    EXPECT_TRUE(c->is_open());
}

TEST(Chat, ForeignOriginIsRefusedAndSameOriginAccepted) {
    test_server srv;
    const std::string host = "127.0.0.1:" + std::to_string(srv.port());
    try {
        ws_client evil({.port = srv.port(), .headers = {{"Origin", "http://evil.example"}}});
        FAIL() << "a cross-site upgrade was accepted";
    } catch (const ws_error& e) {
        EXPECT_EQ(e.http_status, 403);
    }
    ws_client same({.port = srv.port(), .headers = {{"Origin", "http://" + host}}});
    same.send(ping{1});
    EXPECT_EQ(same.wait_for<pong>().nonce, 1u);
}

TEST(Chat, ConfiguredOriginIsAllowed) {
    test_server srv([](auto& cfg) { cfg.allowed_origins = {"https://chat.example"}; });
    ws_client ok({.port = srv.port(), .headers = {{"Origin", "https://chat.example"}}});
    ok.send(ping{2});
    EXPECT_EQ(ok.wait_for<pong>().nonce, 2u);
}

// ---- rooms ---------------------------------------------------------------------------------

TEST(Chat, JoinSendsRoomThenPresenceThenHistory) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.connect("bob");
    bob->send(join_room{"Lobby", 0});  // names are case-insensitive
    auto first = bob->next();
    while (first && std::holds_alternative<room_list>(*first)) first = bob->next();  // bob's list now has the room
    ASSERT_TRUE(first && std::holds_alternative<room_joined>(*first));
    EXPECT_EQ(std::get<room_joined>(*first).room_id, room);
    EXPECT_EQ(std::get<room_joined>(*first).room, "lobby");
    auto snapshot = bob->wait_for<presence_update>();
    EXPECT_EQ(snapshot.change, presence_change::snapshot);
    std::set<std::string> names;
    for (const auto& u : snapshot.users) names.insert(u.name);
    EXPECT_EQ(names, (std::set<std::string>{"ana", "bob"}));
    EXPECT_EQ(bob->wait_for<history_page>().mode, history_mode::latest);
    auto joined = ana->wait_for<presence_update>();
    EXPECT_EQ(joined.change, presence_change::joined);
    EXPECT_EQ(joined.users.at(0).name, "bob");
}

TEST(Chat, BadRoomNamesAreRefused) {
    test_server srv;
    auto c = srv.connect("ana");
    for (const std::string& name : std::vector<std::string>{"", "has space", "-leading", "semi;colon", "\xC3\xBCnicode"}) {
        c->send(join_room{name, 0});
        EXPECT_EQ(c->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::bad_room_name)) << name;
    }
}

TEST(Chat, OneConnectionCanBeInSeveralRooms) {
    test_server srv;
    std::uint32_t a = 0, b = 0;
    auto ana = srv.join("ana", "alpha", a);
    ana->send(join_room{"beta", 0});
    b = ana->wait_for<room_joined>().room_id;
    ASSERT_NE(a, b);
    auto bob = srv.connect("bob");
    bob->send(join_room{"beta", 0});
    bob->wait_for<history_page>();
    ana->send(text_message(a, "to alpha"));
    ana->send(text_message(b, "to beta"));
    EXPECT_EQ(bob->wait_for<chat_message>().message.text, "to beta");  // never the alpha one
    EXPECT_EQ(ana->wait_for<chat_message>(for_room(a)).message.text, "to alpha");
}

TEST(Chat, LeaveRepliesAndStopsDelivery) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    bob->send(leave_room{room});
    EXPECT_EQ(bob->wait_for<room_left>().room_id, room);
    auto left = ana->wait_for<presence_update>([](const auto& p) { return p.change == presence_change::left; });
    EXPECT_EQ(left.users.at(0).name, "bob");
    bob->send(text_message(room, "still here?"));
    EXPECT_EQ(bob->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::not_in_room));
    ana->send(text_message(room, "bye"));
    ana->wait_for<ack>();
    EXPECT_TRUE(bob->none_of_type<chat_message>(300ms));
}

// ---- messages ------------------------------------------------------------------------------

TEST(Chat, BroadcastReachesEveryMemberInOrderWithAcks) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    constexpr int n = 200;
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < n; ++i) {
        ids.push_back(next_id());
        ana->send(text_message(room, "message " + std::to_string(i), ids.back()));
    }
    std::uint64_t first = 0;  // the joins took the seqs before it
    for (int i = 0; i < n; ++i) {
        const auto m = bob->wait_for<chat_message>();
        if (i == 0) first = m.message.seq;
        EXPECT_EQ(m.message.seq, first + static_cast<std::uint64_t>(i));
        EXPECT_EQ(m.message.text, "message " + std::to_string(i));
        EXPECT_EQ(m.message.author, "ana");
        EXPECT_EQ(m.message.client_msg_id, ids[static_cast<std::size_t>(i)]);
    }
    // The sender sees its own message (every tab does), then the ack.
    for (int i = 0; i < n; ++i) {
        const auto m = ana->wait_for<chat_message>();
        const auto a = ana->wait_for<ack>();
        EXPECT_EQ(a.seq, m.message.seq);
        EXPECT_EQ(a.client_id, ids[static_cast<std::size_t>(i)]);
    }
    EXPECT_EQ(bob->decode_failures(), 0u);
}

TEST(Chat, RepeatedClientMessageIdIsAckedAgainButNotBroadcastTwice) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    const std::uint64_t id = next_id();
    ana->send(text_message(room, "only once", id));
    const auto first = ana->wait_for<ack>();
    ana->send(text_message(room, "only once", id));
    const auto second = ana->wait_for<ack>();
    EXPECT_EQ(second.seq, first.seq);
    EXPECT_EQ(second.at, first.at);
    EXPECT_EQ(bob->wait_for<chat_message>().message.seq, first.seq);
    EXPECT_TRUE(bob->none_of_type<chat_message>(300ms));
}

TEST(Chat, EmptyTextAndUnknownRoomAreRefused) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    ana->send(text_message(room, " \n\t "));
    EXPECT_EQ(ana->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::empty_text));
    ana->send(text_message(room + 100, "where?"));
    const auto e = ana->wait_for<error_report>();
    EXPECT_EQ(e.code, static_cast<std::uint16_t>(error_code::not_in_room));
    EXPECT_EQ(e.ref_kind, static_cast<std::uint8_t>(packet_kind::send_message));
}

TEST(Chat, RepliesMustPointAtExistingMessages) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    ana->send(text_message(room, "first"));
    const auto seq = ana->wait_for<ack>().seq;
    ana->send(send_message{room, next_id(), seq, "a reply", false});
    EXPECT_EQ(ana->wait_for<chat_message>([](auto& m) { return m.message.text == "a reply"; }).message.reply_to, seq);
    ana->send(send_message{room, next_id(), seq + 50, "reply to the future", false});
    EXPECT_EQ(ana->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::no_such_message));
}

TEST(Chat, AuthorsEditAndDeleteTheirOwnMessagesOnly) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    ana->send(text_message(room, "tpyo"));
    const auto seq = ana->wait_for<ack>().seq;

    bob->send(edit_message{room, next_id(), seq, "hijacked", false});
    EXPECT_EQ(bob->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::forbidden));
    bob->send(delete_message{room, next_id(), seq, false});
    EXPECT_EQ(bob->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::forbidden));

    ana->send(edit_message{room, next_id(), seq, "typo", false});
    const auto edited = bob->wait_for<message_edited>();
    EXPECT_EQ(edited.message_seq, seq);
    EXPECT_GT(edited.seq, seq);  // an event of its own
    EXPECT_EQ(edited.text, "typo");
    EXPECT_GT(edited.edited_at, 0u);

    ana->send(delete_message{room, next_id(), seq, false});
    EXPECT_EQ(bob->wait_for<message_deleted>().message_seq, seq);
    ana->send(edit_message{room, next_id(), seq, "resurrect", false});
    EXPECT_EQ(ana->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::message_deleted));
    ana->send(edit_message{room, next_id(), seq + 10, "nothing there", false});
    EXPECT_EQ(ana->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::no_such_message));

    // History shows the tombstone.
    bob->send(request_history{room, 0, 10});
    const auto page = bob->wait_for<history_page>();
    ASSERT_EQ(page.messages.size(), 1u);
    EXPECT_TRUE(page.messages[0].deleted);
    EXPECT_TRUE(page.messages[0].text.empty());
}

TEST(Chat, ReactionsAreSetWithLiveCounts) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    ana->send(text_message(room, "react to me"));
    const auto seq = ana->wait_for<ack>().seq;
    auto react = [&](ws_client& c, reaction_kind r, bool on) {
        const std::uint64_t id = next_id();
        c.send(set_reaction{room, id, seq, r, on, false});
        return c.wait_for<ack>([&](const ack& a) { return a.client_id == id; });
    };

    EXPECT_GT(react(*ana, reaction_kind::heart, true).seq, seq);
    auto u = bob->wait_for<reaction_update>();
    EXPECT_EQ(u.message_seq, seq);
    EXPECT_EQ(u.count, 1u);
    EXPECT_TRUE(u.added);
    react(*bob, reaction_kind::heart, true);
    u = ana->wait_for<reaction_update>([](auto& r) { return r.count == 2; });
    EXPECT_TRUE(u.added);
    EXPECT_EQ(react(*ana, reaction_kind::heart, true).seq, 0u);  // already on: nothing changes
    react(*ana, reaction_kind::heart, false);
    u = bob->wait_for<reaction_update>([](auto& r) { return !r.added; });
    EXPECT_EQ(u.count, 1u);
    EXPECT_GT(react(*bob, reaction_kind::star, true).seq, 0u);

    // A history page carries the counts, and which are the reader's own.
    bob->send(request_history{room, 0, 10});
    const auto page = bob->wait_for<history_page>();
    ASSERT_EQ(page.messages.size(), 1u);
    const auto& m = page.messages[0];
    EXPECT_EQ(m.reactions, (std::vector<reaction_count>{{reaction_kind::heart, 1}, {reaction_kind::star, 1}}));
    EXPECT_EQ(m.my_reactions, (1u << 2) | (1u << 3));
}

TEST(Chat, TypingIsRelayedToOthersAndExpires) {
    test_server srv([](auto& cfg) { cfg.typing_ttl = 400ms; });
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    ana->send(set_typing{room, true});
    auto on = bob->wait_for<typing_update>();
    EXPECT_TRUE(on.active);
    EXPECT_EQ(on.user.name, "ana");
    auto off = bob->wait_for<typing_update>(2s);  // no refresh: expires by itself
    EXPECT_FALSE(off.active);
    EXPECT_TRUE(ana->none_of_type<typing_update>(100ms));  // nobody is told about their own typing
}

TEST(Chat, SendingAMessageStopsTyping) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    ana->send(set_typing{room, true});
    EXPECT_TRUE(bob->wait_for<typing_update>().active);
    ana->send(text_message(room, "done typing"));
    EXPECT_FALSE(bob->wait_for<typing_update>().active);
}

TEST(Chat, PresenceLastsUntilTheLastTabCloses) {
    test_server srv;
    std::uint32_t room = 0;
    auto bob = srv.join("bob", "lobby", room);
    auto tab1 = srv.join("ana", "lobby", room);
    auto tab2 = srv.join("ana", "lobby", room);
    bob->wait_for<presence_update>([](auto& p) { return p.change == presence_change::joined; });
    tab1->close();
    EXPECT_TRUE(bob->none_of_type<presence_update>(300ms));  // still online in tab 2
    tab2->close();
    const auto left = bob->wait_for<presence_update>();
    EXPECT_EQ(left.change, presence_change::left);
    EXPECT_EQ(left.users.at(0).name, "ana");
}

TEST(Chat, ReloadWithinGracePeriodDoesNotFlap) {
    test_server srv([](auto& cfg) { cfg.presence_grace = 1500ms; });
    std::uint32_t room = 0;
    auto bob = srv.join("bob", "lobby", room);
    auto ana = srv.join("ana", "lobby", room);
    bob->wait_for<presence_update>([](auto& p) { return p.change == presence_change::joined; });
    ana->close();
    ana = srv.join("ana", "lobby", room);  // a page reload
    EXPECT_TRUE(bob->none_of_type<presence_update>(2000ms));
    ana->close();
    EXPECT_EQ(bob->wait_for<presence_update>(3s).change, presence_change::left);
}

TEST(Chat, HistoryPagesBackwardsFromTheCache) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    // Seq 1 is ana's joining the room she made; message i is seq 1 + i.
    for (int i = 1; i <= 30; ++i) ana->send(text_message(room, "m" + std::to_string(i)));
    ana->wait_for<ack>([](auto& a) { return a.seq == 31; });
    ana->send(request_history{room, 22, 10});
    const auto page = ana->wait_for<history_page>();
    EXPECT_EQ(page.mode, history_mode::older);
    ASSERT_EQ(page.messages.size(), 10u);
    EXPECT_EQ(page.messages.front().seq, 12u);
    EXPECT_EQ(page.messages.back().seq, 21u);
    EXPECT_TRUE(page.has_more);
    ana->send(request_history{room, 6, 10});
    const auto first = ana->wait_for<history_page>();
    ASSERT_EQ(first.messages.size(), 4u);
    EXPECT_EQ(first.messages.front().seq, 2u);
    EXPECT_FALSE(first.has_more);
}

TEST(Chat, RejoinReplaysExactlyTheMissedEvents) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    // Seq 1: ana joins the room she made; 2-11: her messages; 12: bob joins.
    for (int i = 1; i <= 10; ++i) ana->send(text_message(room, "m" + std::to_string(i)));
    ana->wait_for<ack>([](auto& a) { return a.seq == 11; });
    auto bob = srv.connect("bob");
    bob->send(join_room{"lobby", 0, 0});
    const std::uint64_t epoch = bob->wait_for<room_joined>().epoch;
    EXPECT_EQ(bob->wait_for<room_event>().seq, 12u);
    bob->send(leave_room{room});
    bob->wait_for<room_left>();
    // An edit of an old message while bob is away is an event like the others.
    ana->send(edit_message{room, next_id(), 3, "m2, edited", false});
    ana->wait_for<ack>([](auto& a) { return a.seq == 13; });

    bob->send(join_room{"lobby", epoch, 7});
    const auto joined = bob->wait_for<room_joined>();
    EXPECT_EQ(joined.epoch, epoch);
    EXPECT_EQ(joined.last_seq, 13u);
    for (std::uint64_t seq = 8; seq <= 11; ++seq) EXPECT_EQ(bob->wait_for<chat_message>().message.seq, seq);
    const auto edit = bob->wait_for<message_edited>();
    EXPECT_EQ(edit.seq, 13u);
    EXPECT_EQ(edit.message_seq, 3u);
    EXPECT_TRUE(bob->none_of_type<history_page>(200ms));  // a replay, not a page
    // Up to date: nothing is replayed.
    auto cy = srv.connect("cy");
    cy->send(join_room{"lobby", epoch, 13});
    cy->wait_for<room_joined>();
    EXPECT_TRUE(cy->none_of_type<chat_message>(300ms));
}

TEST(Chat, APositionFromAnUnknownEpochIsReset) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    for (int i = 1; i <= 3; ++i) ana->send(text_message(room, "m" + std::to_string(i)));
    ana->wait_for<ack>([](auto& a) { return a.seq == 3; });
    auto bob = srv.connect("bob");
    bob->send(join_room{"lobby", 12345, 2});  // an epoch this room never had
    bob->wait_for<room_joined>();
    const auto reset = bob->wait_for<room_reset>();
    EXPECT_EQ(reset.base_seq, 0u);
    const auto page = bob->wait_for<history_page>();
    EXPECT_EQ(page.mode, history_mode::latest);
    EXPECT_EQ(page.messages.size(), 3u);
}

TEST(Chat, PingIsAnsweredWithPong) {
    test_server srv;
    auto c = srv.connect("ana");
    c->send(ping{123456});
    EXPECT_EQ(c->wait_for<pong>().nonce, 123456u);
}

// ---- abuse ------------------------------------------------------------------------------

TEST(Chat, RateLimitedMessagesAreRefusedWithRetryTime) {
    test_server srv([](auto& cfg) {
        cfg.message_rate = 1;
        cfg.message_burst = 3;
    });
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    for (int i = 0; i < 4; ++i) ana->send(text_message(room, "spam " + std::to_string(i)));
    const auto e = ana->wait_for<error_report>();
    EXPECT_EQ(e.code, static_cast<std::uint16_t>(error_code::rate_limited));
    EXPECT_GT(e.retry_after_ms, 0u);
    EXPECT_LE(e.retry_after_ms, 1000u);
}

TEST(Chat, PersistentAbuseIsDisconnected) {
    test_server srv([](auto& cfg) {
        cfg.message_rate = 1;
        cfg.message_burst = 1;
        cfg.max_rate_violations = 5;
    });
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    for (int i = 0; i < 20 && ana->is_open(); ++i) ana->send(text_message(room, "spam"));
    EXPECT_EQ(ana->wait_closed(), 1008);  // policy violation
}

TEST(Chat, MalformedPacketsGetErrorsAndTheConnectionSurvives) {
    test_server srv;
    auto c = srv.connect("ana");
    c->send_raw({'n', 'o', 'p', 'e'});
    EXPECT_EQ(c->wait_for<error_report>().code, static_cast<std::uint16_t>(decode_error::bad_magic));
    auto good = *encode(ping{1});
    good[5] ^= 0x40;
    c->send_raw(good);
    EXPECT_EQ(c->wait_for<error_report>().code, static_cast<std::uint16_t>(decode_error::bad_checksum));
    c->send(welcome{1, "me", "x", 0});  // a server packet from a client
    EXPECT_EQ(c->wait_for<error_report>().code, static_cast<std::uint16_t>(error_code::unexpected_kind));
    c->send(ping{2});
    EXPECT_EQ(c->wait_for<pong>().nonce, 2u);
}

TEST(Chat, RepeatedMalformedPacketsCloseTheConnection) {
    test_server srv([](auto& cfg) { cfg.max_protocol_errors = 3; });
    auto c = srv.connect("ana");
    for (int i = 0; i < 10 && c->is_open(); ++i) c->send_raw({0xde, 0xad});
    EXPECT_EQ(c->wait_closed(), 1008);
}

TEST(Chat, OversizeFramesAreRejected) {
    test_server srv;
    auto c = srv.connect("ana");
    c->send_raw(std::vector<std::uint8_t>(limits::max_client_packet_bytes + 1, 0x50));
    EXPECT_EQ(c->wait_closed(), 1009);  // message too big
}

TEST(Chat, SlowConsumerIsDisconnectedWhileOthersKeepReceiving) {
    test_server srv([](auto& cfg) {
        cfg.max_queue_bytes = 4 * 1024 * 1024;
        cfg.message_rate = 100000;
        cfg.message_burst = 100000;
    });
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    const std::string token = sign_up(srv.port(), "slow");
    ws_client slow({.port = srv.port(), .headers = {{"Cookie", "parley_session=" + token}}, .read = false});
    slow.send(join_room{"lobby", 0});
    std::this_thread::sleep_for(200ms);

    // Incompressible text: the slow client's socket buffers fill, then its queue.
    std::string text;
    std::uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 3900; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        text.push_back(static_cast<char>('!' + x % 90));
    }
    // Paced by bob, so the readers never lag much: only the one that does not
    // read at all falls behind (12 MB against a 4 MB queue plus socket buffers).
    constexpr int n = 3000;
    std::uint64_t base = 0;  // the seqs before the first message are the joins
    for (int i = 0; i < n; ++i) {
        ana->send(text_message(room, std::to_string(i) + text));
        if (i % 100 != 99) continue;
        for (int k = i - 99; k <= i; ++k) {
            const std::uint64_t seq = bob->wait_for<chat_message>(10s).message.seq;
            if (k == 0) base = seq;
            ASSERT_EQ(seq, base + static_cast<std::uint64_t>(k));
        }
    }
    slow.start_reading();
    slow.wait_closed(10s);  // closed by the server: it fell behind past the bound
    const auto metrics = http_call(srv.port(), "GET", "/metrics").body;
    EXPECT_NE(metrics.find("parley_slow_consumer_disconnects_total 1"), std::string::npos) << metrics;
}

// ---- shutdown -------------------------------------------------------------------------

TEST(Chat, GracefulShutdownClosesWithGoingAway) {
    test_server srv;
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    ana->send(text_message(room, "last words"));
    ana->wait_for<ack>();
    srv.stop();
    EXPECT_EQ(ana->wait_closed(), 1001);
}

}  // namespace
