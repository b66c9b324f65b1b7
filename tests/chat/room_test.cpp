#include "server/chat/room.hpp"
#include "server/core/bounds.hpp"

#include "protocol/codec.hpp"
#include "tests/support/fake_store.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <set>

// Unit tests of one room, without a network or a disk: members are send
// queues the test drains and decodes, storage is tests/support/fake_store.hpp,
// time for presence and typing is a clock the test moves by hand, and the
// io_context is run until it has nothing ready (never until some time).
namespace {

namespace net = boost::asio;
using namespace parley::server;
using namespace parley::protocol;
using namespace std::chrono_literals;
using parley::testing::fake_sink;
using parley::testing::fake_store;

/// One connection: the queue the room pushes into, and everything it pushed, decoded.
struct fake_connection {
    room_member member;
    std::vector<packet> received;
    std::size_t seen = 0;  // fresh() cursor

    std::uint64_t id() const { return member.connection_id; }

    bool stalled = false;  // a reader that takes nothing out of its queue

    void drain() {
        if (stalled) return;
        std::vector<shared_packet> out;
        while (member.queue->take(out, SIZE_MAX)) {
            for (const auto& bytes : out) {
                auto p = decode(*bytes);
                ASSERT_TRUE(p) << "the room queued a packet that does not decode";
                received.push_back(std::move(*p));
            }
            out.clear();
        }
    }
    /// The packets received since the last call.
    std::vector<packet> fresh() {
        std::vector<packet> out(received.begin() + static_cast<std::ptrdiff_t>(seen), received.end());
        seen = received.size();
        return out;
    }
};

template <class T>
std::vector<T> of_kind(const std::vector<packet>& ps) {
    std::vector<T> out;
    for (const auto& p : ps)
        if (const T* t = std::get_if<T>(&p)) out.push_back(*t);
    return out;
}

template <class T>
std::size_t count_of(const std::vector<packet>& ps) {
    return of_kind<T>(ps).size();
}

/// The seq of a timeline event packet (a message, an edit, a deletion, a reaction).
std::optional<std::uint64_t> event_seq(const packet& p) {
    if (const auto* m = std::get_if<chat_message>(&p)) return m->message.seq;
    if (const auto* e = std::get_if<message_edited>(&p)) return e->seq;
    if (const auto* d = std::get_if<message_deleted>(&p)) return d->seq;
    if (const auto* r = std::get_if<reaction_update>(&p)) return r->seq;
    return std::nullopt;
}

std::vector<std::uint64_t> event_seqs(const std::vector<packet>& ps) {
    std::vector<std::uint64_t> out;
    for (const auto& p : ps)
        if (auto s = event_seq(p)) out.push_back(*s);
    return out;
}

std::vector<std::uint64_t> seq_range(std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t s = from; s <= to; ++s) out.push_back(s);
    return out;
}

/// Whether a presence_update of this kind names the user.
bool presence_names(const std::vector<packet>& ps, presence_change change, std::uint64_t user_id) {
    for (const auto& p : of_kind<presence_update>(ps))
        if (p.change == change && std::any_of(p.users.begin(), p.users.end(), [&](const user_ref& u) { return u.id == user_id; }))
            return true;
    return false;
}

std::size_t index_of_first(const std::vector<packet>& ps, packet_kind k) {
    for (std::size_t i = 0; i < ps.size(); ++i)
        if (kind_of(ps[i]) == k) return i;
    return ps.size();
}

class RoomTest : public ::testing::Test {
protected:
    RoomTest() {
        sink.on_persisted = [this](std::uint32_t id, std::uint64_t seq) { rooms.at(id)->persisted(seq); };
    }

    // Declared before the rooms: a room lives on in handlers the io_context
    // and the store hold, and needs them (and cfg, stats) while it does.
    config cfg;
    metrics stats;
    net::io_context io;
    std::array<net::io_context, 2> other_loops;  // event loops of connections that are not the room's
    fake_store store{io};
    fake_sink sink{store};
    // The fake clock starts a year ahead of the real one: the room's own
    // sweep timer, set to fake deadlines, then never fires during a test, and
    // sweeps happen only when the test calls sweep_now().
    room::clock::time_point now = room::clock::now() + 24h * 365;
    std::uint64_t last_epoch = 1000;
    std::map<std::uint32_t, std::shared_ptr<room>> rooms;
    std::deque<fake_connection> connections;  // stable addresses
    std::uint64_t next_connection = 1;

    /// Users 1-32 are members of every room from make_room, so joining takes
    /// no seq and the timeline holds only what a test makes.
    static std::vector<member_state> everyone() { return parley::testing::members_up_to(32); }

    std::shared_ptr<room> make_room(std::uint32_t id, std::uint64_t last_seq = 0,
                                    std::vector<member_state> people = everyone(),
                                    room_settings settings = {}) {
        room_services svc{cfg, stats, &sink, &store};
        svc.now = [this] { return now; };
        svc.new_epoch = [this] { return ++last_epoch; };
        if (settings.address.empty()) settings = public_room_named("room" + std::to_string(id));
        auto r = std::make_shared<room>(io, svc, room_init{id, std::move(settings), last_seq, std::move(people)});
        rooms[id] = r;
        return r;
    }

    /// @param loop the connection's event loop (null: the room's)
    fake_connection& connect(std::uint64_t user_id, const std::string& name, net::io_context* loop = nullptr) {
        store.usernames[user_id] = name;
        auto q = std::make_shared<send_queue>(queue_limits{}, [](bool) {});
        return connections.emplace_back(fake_connection{{next_connection++, user_id, name, std::move(q), false, loop}});
    }

    /// A new connection of the user, joining `r` from scratch (no position).
    fake_connection& joined(room& r, std::uint64_t user_id, const std::string& name) {
        auto& c = connect(user_id, name);
        r.join(c.member, 0, 0);
        return c;
    }

    /// Runs what is ready (and what that posts) until nothing is, then
    /// collects what every connection was sent.
    void settle() {
        for (;;) {
            std::size_t ran = 0;
            for (net::io_context* l : {&io, &other_loops[0], &other_loops[1]}) {
                l->restart();
                ran += l->poll();
            }
            if (ran == 0) break;
        }
        for (auto& c : connections) c.drain();
    }

    /// settle(), after letting the rooms' real timers (the watermark's) run for `d`.
    void let_timers_run(std::chrono::milliseconds d) {
        io.restart();
        io.run_for(d);
        settle();
    }

    /// Puts `n` messages of `author` on the disk, as an earlier process
    /// stored them in `epoch`, before the room is made.
    void store_messages(std::uint32_t room_id, std::uint64_t epoch, std::uint64_t n, std::uint64_t author = 99) {
        store.usernames[author] = "earlier";
        store.apply(events::epoch_started{room_id, epoch, 0, 1});
        for (std::uint64_t seq = 1; seq <= n; ++seq)
            store.apply(events::message_posted{room_id, seq, author, 5000 + seq, "stored " + std::to_string(seq), 1000 + seq});
    }

    void post(room& r, const fake_connection& c, std::uint64_t client_id, std::string text, bool resend = false) {
        r.post_message(c.id(), send_message{r.id(), client_id, 0, std::move(text), resend}, room::clock::now());
    }
    void edit(room& r, const fake_connection& c, std::uint64_t client_id, std::uint64_t seq, std::string text) {
        r.edit_message(c.id(), edit_message{r.id(), client_id, seq, std::move(text)});
    }
    void react(room& r, const fake_connection& c, std::uint64_t client_id, std::uint64_t seq, bool on) {
        r.set_reaction(c.id(), set_reaction{r.id(), client_id, seq, reaction_kind::heart, on});
    }
    void remove(room& r, const fake_connection& c, std::uint64_t client_id, std::uint64_t seq) {
        r.delete_message(c.id(), delete_message{r.id(), client_id, seq});
    }

    /// The room's epoch as the connection last heard it.
    static std::uint64_t epoch_of(const fake_connection& c) {
        auto joined = of_kind<room_joined>(c.received);
        return joined.empty() ? 0 : joined.back().epoch;
    }
};

// ---- 1. no ghost members ------------------------------------------------------------------------

// A connection that leaves while the room warms up never becomes a member, is not told it joined, and is never seen online.
TEST_F(RoomTest, LeavingDuringWarmUpLeavesNoGhost) {
    store_messages(1, 7, 3);
    auto r = make_room(1, 3);
    auto& bob = connect(2, "bob");
    auto& ghost = connect(3, "ghost");
    store.hold_reads(true);
    r->join(bob.member, 0, 0);
    r->join(ghost.member, 0, 0);
    settle();
    ASSERT_EQ(store.held(), 1u);  // one warm-up read, both joins waiting for it
    r->leave(ghost.id(), true);
    settle();
    store.hold_reads(false);
    store.complete_held();
    settle();

    EXPECT_EQ(count_of<room_joined>(bob.received), 1u);
    EXPECT_EQ(count_of<room_joined>(ghost.received), 0u);
    EXPECT_EQ(count_of<history_page>(ghost.received), 0u);
    EXPECT_FALSE(presence_names(bob.received, presence_change::snapshot, 3));
    EXPECT_FALSE(presence_names(bob.received, presence_change::joined, 3));
    EXPECT_EQ(r->members_approx(), 1u);

    // Its requests are dropped, not served, and time passing shows nothing either.
    post(*r, ghost, 1, "boo");
    now += cfg.presence_grace * 2;
    r->sweep_now();
    settle();
    EXPECT_EQ(count_of<ack>(ghost.received), 0u);
    EXPECT_EQ(count_of<chat_message>(bob.received), 0u);
    EXPECT_FALSE(presence_names(bob.received, presence_change::left, 3));
}

// A connection that leaves while its join's history or replay is read from disk never becomes a member or appears online.
TEST_F(RoomTest, LeavingDuringTheJoinReadLeavesNoGhost) {
    cfg.room_cache_messages = 2;  // joins read the disk
    store_messages(1, 7, 10);
    auto r = make_room(1, 10);
    auto& bob = joined(*r, 2, "bob");
    settle();
    ASSERT_EQ(count_of<room_joined>(bob.received), 1u);

    auto& latest_ghost = connect(3, "latest");
    auto& replay_ghost = connect(4, "replay");
    store.hold_reads(true);
    r->join(latest_ghost.member, 0, 0);                // the latest page: older than the cache
    r->join(replay_ghost.member, epoch_of(bob), 3);    // a replay of 4..10: 4..8 from disk
    settle();
    ASSERT_EQ(store.held(), 2u);
    r->leave(latest_ghost.id(), true);
    r->leave(replay_ghost.id(), false);
    settle();
    store.hold_reads(false);
    store.complete_held();
    settle();

    for (auto* ghost : {&latest_ghost, &replay_ghost}) {
        EXPECT_EQ(count_of<room_joined>(ghost->received), 0u);
        EXPECT_EQ(count_of<history_page>(ghost->received), 0u);
        EXPECT_TRUE(event_seqs(ghost->received).empty());
        EXPECT_FALSE(presence_names(bob.received, presence_change::joined, ghost->member.user_id));
    }
    EXPECT_EQ(r->members_approx(), 1u);

    // Nothing live reaches them either.
    post(*r, bob, 1, "anyone?");
    settle();
    EXPECT_EQ(count_of<chat_message>(latest_ghost.received), 0u);
    EXPECT_EQ(count_of<chat_message>(replay_ghost.received), 0u);
}

// The same connection joining twice in quick succession is one member: announced once, and gone after one leave.
TEST_F(RoomTest, JoiningTwiceQuicklyIsOneMember) {
    cfg.room_cache_messages = 2;
    store_messages(1, 7, 10);
    auto r = make_room(1, 10);
    auto& bob = connect(2, "bob");
    auto& ana = connect(3, "ana");
    r->join(bob.member, 0, 0);
    settle();

    store.hold_reads(true);  // the first join still reading when the second arrives
    r->join(ana.member, 0, 0);
    r->join(ana.member, 0, 0);
    settle();
    store.hold_reads(false);
    store.complete_held();
    settle();
    r->join(ana.member, 0, 0);  // and once more, with nothing in flight
    settle();

    EXPECT_GE(count_of<room_joined>(ana.received), 1u);
    EXPECT_EQ(r->members_approx(), 2u);
    std::size_t announced = 0;
    for (const auto& p : of_kind<presence_update>(bob.received))
        if (p.change == presence_change::joined) announced += static_cast<std::size_t>(std::count_if(
            p.users.begin(), p.users.end(), [](const user_ref& u) { return u.id == 3; }));
    EXPECT_EQ(announced, 1u);

    // One leave ends the membership: after the grace period ana is offline.
    r->leave(ana.id(), true);
    settle();  // the grace period starts when the leave is handled
    now += cfg.presence_grace;
    r->sweep_now();
    settle();
    EXPECT_EQ(r->members_approx(), 1u);
    EXPECT_TRUE(presence_names(bob.received, presence_change::left, 3));
}

// ---- 2. warm-up failure -------------------------------------------------------------------------

// A failed disk read while the room warms up is "unavailable, retry", never an empty room; a later join gets the real messages.
TEST_F(RoomTest, WarmUpFailureIsUnavailableNotEmpty) {
    store_messages(1, 7, 3);
    auto r = make_room(1, 3);
    auto& ana = connect(2, "ana");
    auto& bob = connect(3, "bob");
    store.fail_next_reads(1);
    r->join(ana.member, 0, 0);
    r->join(bob.member, 0, 0);
    settle();

    for (auto* c : {&ana, &bob}) {
        auto errors = of_kind<error_report>(c->received);
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_EQ(errors[0].code, static_cast<std::uint16_t>(error_code::room_unavailable));
        EXPECT_EQ(errors[0].code, 115);
        EXPECT_EQ(errors[0].ref_kind, static_cast<std::uint8_t>(packet_kind::join_room));
        EXPECT_GT(errors[0].retry_after_ms, 0u);
        EXPECT_EQ(count_of<room_joined>(c->received), 0u);
        EXPECT_EQ(count_of<history_page>(c->received), 0u);
    }
    EXPECT_EQ(r->members_approx(), 0u);
    EXPECT_TRUE(sink.pushed().empty());  // no epoch began on a room that could not be read

    // The store has recovered: the next join warms the room for real.
    ana.fresh();
    r->join(ana.member, 0, 0);
    settle();
    auto got = ana.fresh();
    auto joined = of_kind<room_joined>(got);
    ASSERT_EQ(joined.size(), 1u);
    EXPECT_EQ(joined[0].last_seq, 3u);
    auto pages = of_kind<history_page>(got);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].mode, history_mode::latest);
    ASSERT_EQ(pages[0].messages.size(), 3u);
    for (std::uint64_t i = 0; i < 3; ++i) {
        EXPECT_EQ(pages[0].messages[i].seq, i + 1);
        EXPECT_EQ(pages[0].messages[i].text, "stored " + std::to_string(i + 1));
    }
    EXPECT_EQ(of_kind<error_report>(got).size(), 0u);
    EXPECT_EQ(std::count(store.reads().begin(), store.reads().end(), "snapshot"), 2);
}

// A failed read of a warm room's join (its latest page) is also "unavailable, retry": no room_joined, no page, no member.
TEST_F(RoomTest, JoinReadFailureIsUnavailableNotEmpty) {
    cfg.room_cache_messages = 2;  // the latest page needs the disk
    store_messages(1, 7, 10);
    auto r = make_room(1, 10);
    auto& bob = connect(2, "bob");
    auto& ana = connect(3, "ana");
    r->join(bob.member, 0, 0);
    settle();
    store.fail_next_reads(1);
    r->join(ana.member, 0, 0);
    settle();
    auto errors = of_kind<error_report>(ana.received);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, 115);
    EXPECT_GT(errors[0].retry_after_ms, 0u);
    EXPECT_EQ(count_of<room_joined>(ana.received), 0u);
    EXPECT_EQ(count_of<history_page>(ana.received), 0u);
    EXPECT_FALSE(presence_names(bob.received, presence_change::joined, 3));
    EXPECT_EQ(r->members_approx(), 1u);

    r->join(ana.member, 0, 0);
    settle();
    auto pages = of_kind<history_page>(ana.received);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].messages.size(), 10u);
}

// ---- 3. replay ----------------------------------------------------------------------------------

// A rejoin with (epoch, since_seq) gets exactly the events after since_seq, from disk and cache, each once, in order.
TEST_F(RoomTest, RejoinReplaysExactlyTheMissedEvents) {
    cfg.room_cache_messages = 3;
    auto r = make_room(1);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    post(*r, bob, 1, "one");
    post(*r, bob, 2, "two");
    settle();
    sink.commit();
    settle();
    const std::uint64_t epoch = epoch_of(ana);
    ASSERT_EQ(event_seqs(ana.received), (std::vector<std::uint64_t>{1, 2}));
    r->leave(ana.id(), true);
    settle();

    post(*r, bob, 3, "three");       // 3
    edit(*r, bob, 4, 1, "one!");     // 4
    react(*r, bob, 5, 2, true);      // 5
    remove(*r, bob, 6, 3);           // 6
    post(*r, bob, 7, "four");        // 7
    settle();
    sink.commit();  // 3..4 leave the cache for the disk
    settle();

    ana.fresh();
    const auto reads_before = store.reads().size();
    r->join(ana.member, epoch, 2);
    settle();
    auto got = ana.fresh();
    EXPECT_GT(store.reads().size(), reads_before);  // the replay's head came from disk
    auto joined = of_kind<room_joined>(got);
    ASSERT_EQ(joined.size(), 1u);
    EXPECT_EQ(joined[0].epoch, epoch);
    EXPECT_EQ(joined[0].last_seq, 7u);
    EXPECT_EQ(count_of<room_reset>(got), 0u);
    EXPECT_EQ(count_of<history_page>(got), 0u);
    EXPECT_EQ(event_seqs(got), seq_range(3, 7));

    std::vector<packet_kind> kinds;
    for (const auto& p : got)
        if (event_seq(p)) kinds.push_back(kind_of(p));
    EXPECT_EQ(kinds, (std::vector<packet_kind>{packet_kind::chat_message, packet_kind::message_edited,
                                               packet_kind::reaction_update, packet_kind::message_deleted,
                                               packet_kind::chat_message}));
    auto edits = of_kind<message_edited>(got);
    ASSERT_EQ(edits.size(), 1u);
    EXPECT_EQ(edits[0].message_seq, 1u);
    EXPECT_EQ(edits[0].text, "one!");
    auto reactions = of_kind<reaction_update>(got);
    ASSERT_EQ(reactions.size(), 1u);
    EXPECT_EQ(reactions[0].message_seq, 2u);
    EXPECT_EQ(reactions[0].count, 1u);
    EXPECT_TRUE(reactions[0].added);
    EXPECT_EQ(of_kind<message_deleted>(got).at(0).message_seq, 3u);

    // Live traffic continues after the replay, without repeating it.
    post(*r, bob, 8, "five");
    settle();
    EXPECT_EQ(event_seqs(ana.fresh()), (std::vector<std::uint64_t>{8}));
}

// Events recorded while a join's disk read is in flight still reach the joiner, once: no gap between replay (or latest page) and live traffic.
TEST_F(RoomTest, EventsDuringTheJoinReadAreNotLost) {
    cfg.room_cache_messages = 3;
    auto r = make_room(1);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    for (std::uint64_t i = 1; i <= 8; ++i) post(*r, bob, i, "m" + std::to_string(i));
    react(*r, bob, 9, 8, true);  // 9
    settle();
    sink.commit();  // the cache keeps 7..9: two messages, fewer than a page
    settle();
    const std::uint64_t epoch = epoch_of(ana);
    r->leave(ana.id(), true);
    settle();

    auto& carl = connect(4, "carl");  // a new client: the latest page, its head read from disk
    ana.fresh();
    store.hold_reads(true);
    r->join(ana.member, epoch, 2);    // a replay of 3..9, 3..6 from disk
    r->join(carl.member, 0, 0);
    settle();
    ASSERT_EQ(store.held(), 2u);
    edit(*r, bob, 10, 8, "m8 edited");  // 10, while both reads are in flight
    post(*r, bob, 11, "m9");            // 11
    settle();
    ASSERT_EQ(store.held(), 2u);
    store.hold_reads(false);
    store.complete_held();
    settle();

    EXPECT_EQ(event_seqs(ana.fresh()), seq_range(3, 11));

    auto got = carl.fresh();
    auto pages = of_kind<history_page>(got);
    ASSERT_EQ(pages.size(), 1u);
    ASSERT_FALSE(pages[0].messages.empty());
    // What the page does not hold yet arrives after it, as events.
    std::set<std::uint64_t> known;
    for (const auto& m : pages[0].messages) known.insert(m.seq);
    const std::size_t page_at = index_of_first(got, packet_kind::history_page);
    std::vector<packet> after(got.begin() + static_cast<std::ptrdiff_t>(page_at) + 1, got.end());
    for (const auto& m : of_kind<chat_message>(after)) known.insert(m.message.seq);
    EXPECT_TRUE(known.contains(11)) << "message 11, posted during the read, never reached the joiner";
    std::string text8;
    for (const auto& m : pages[0].messages)
        if (m.seq == 8) text8 = m.text;
    for (const auto& e : of_kind<message_edited>(after))
        if (e.message_seq == 8) text8 = e.text;
    EXPECT_EQ(text8, "m8 edited");
    EXPECT_EQ(of_kind<room_joined>(got).at(0).last_seq, 11u);
}

// After an event could not be stored (void), members get room_reset and a
// latest page; events broadcast while that page was read reach them again
// after it, so the page cannot hide them.
TEST_F(RoomTest, AResetAfterAVoidIsFollowedByWhatThePageMissed) {
    cfg.room_cache_messages = 3;
    auto r = make_room(1);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    for (std::uint64_t i = 1; i <= 8; ++i) post(*r, bob, i, "m" + std::to_string(i));
    settle();
    sink.commit();  // on disk: the page's head is read from there
    settle();
    const std::uint64_t old_epoch = epoch_of(ana);
    post(*r, bob, 9, "m9 (lost)");  // 9
    settle();
    ana.fresh();
    store.hold_reads(true);
    r->voided(9);
    settle();
    post(*r, bob, 10, "m10");  // posted while the page is read
    settle();
    store.hold_reads(false);
    store.complete_held();
    settle();

    auto got = ana.fresh();
    auto resets = of_kind<room_reset>(got);
    ASSERT_EQ(resets.size(), 1u);
    EXPECT_EQ(resets[0].base_seq, 8u);
    EXPECT_NE(resets[0].epoch, old_epoch);
    const std::size_t page_at = index_of_first(got, packet_kind::history_page);
    ASSERT_LT(page_at, got.size());
    std::vector<packet> after(got.begin() + static_cast<std::ptrdiff_t>(page_at) + 1, got.end());
    std::set<std::uint64_t> shown;
    for (const auto& m : std::get<history_page>(got[page_at]).messages) shown.insert(m.seq);
    for (const auto& m : of_kind<chat_message>(after)) shown.insert(m.message.seq);
    EXPECT_TRUE(shown.contains(10)) << "message 10, broadcast while the page was read, is hidden by the page";
    EXPECT_FALSE(shown.contains(9)) << "the void is not a message";
}

// A client whose epoch the room never had drops everything (room_reset, base 0) and gets the latest page.
TEST_F(RoomTest, UnknownEpochGetsResetToZeroAndTheLatestPage) {
    store_messages(1, 7, 5);
    auto r = make_room(1, 5);
    auto& ana = connect(2, "ana");
    r->join(ana.member, 424242, 4);
    settle();
    const auto& got = ana.received;
    auto joined = of_kind<room_joined>(got);
    ASSERT_EQ(joined.size(), 1u);
    auto resets = of_kind<room_reset>(got);
    ASSERT_EQ(resets.size(), 1u);
    EXPECT_EQ(resets[0].base_seq, 0u);
    EXPECT_EQ(resets[0].epoch, joined[0].epoch);
    EXPECT_NE(joined[0].epoch, 7u);  // this process began an epoch of its own
    auto pages = of_kind<history_page>(got);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].mode, history_mode::latest);
    EXPECT_EQ(pages[0].messages.size(), 5u);
    EXPECT_FALSE(pages[0].has_more);
    EXPECT_LT(index_of_first(got, packet_kind::room_joined), index_of_first(got, packet_kind::room_reset));
    EXPECT_LT(index_of_first(got, packet_kind::room_reset), index_of_first(got, packet_kind::history_page));
    EXPECT_TRUE(event_seqs(got).empty());
}

// since_seq 0 (a client holding nothing) gets the latest page and no reset, whatever its epoch.
TEST_F(RoomTest, SinceZeroGetsTheLatestPage) {
    store_messages(1, 7, 5);
    auto r = make_room(1, 5);
    auto& ana = connect(2, "ana");
    auto& bob = connect(3, "bob");
    r->join(ana.member, 0, 0);
    r->join(bob.member, 424242, 0);
    settle();
    for (auto* c : {&ana, &bob}) {
        EXPECT_EQ(count_of<room_joined>(c->received), 1u);
        EXPECT_EQ(count_of<room_reset>(c->received), 0u);
        auto pages = of_kind<history_page>(c->received);
        ASSERT_EQ(pages.size(), 1u);
        EXPECT_EQ(pages[0].mode, history_mode::latest);
        ASSERT_EQ(pages[0].messages.size(), 5u);
        EXPECT_EQ(pages[0].messages.back().seq, 5u);
        EXPECT_TRUE(event_seqs(c->received).empty());
    }
}

// A position from an earlier epoch replays what the disk kept; one above the new epoch's base is reset to that base.
TEST_F(RoomTest, PositionFromBeforeARestartReplaysOrResetsAtTheBase) {
    store_messages(1, 7, 5);  // epoch 7 stored 1..5; clients may have seen 6, lost in a crash
    auto r = make_room(1, 5);
    auto& ana = connect(2, "ana");
    auto& bob = connect(3, "bob");
    r->join(ana.member, 7, 4);
    r->join(bob.member, 7, 6);
    settle();

    EXPECT_EQ(count_of<room_reset>(ana.received), 0u);
    EXPECT_EQ(count_of<history_page>(ana.received), 0u);
    EXPECT_EQ(event_seqs(ana.received), (std::vector<std::uint64_t>{5}));

    auto resets = of_kind<room_reset>(bob.received);
    ASSERT_EQ(resets.size(), 1u);
    EXPECT_EQ(resets[0].base_seq, 5u);
    auto pages = of_kind<history_page>(bob.received);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].mode, history_mode::latest);
}

// ---- 4. presence and typing ---------------------------------------------------------------------

// A user whose last connection leaves stays online for the grace period, then everyone is told they left.
TEST_F(RoomTest, LastConnectionLeavingGoesOfflineAfterTheGrace) {
    ASSERT_GT(cfg.presence_grace, 1ms);
    auto r = make_room(1);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    bob.fresh();
    r->leave(ana.id(), true);
    settle();
    EXPECT_EQ(count_of<room_left>(ana.received), 1u);
    EXPECT_FALSE(presence_names(bob.fresh(), presence_change::left, 2));

    now += cfg.presence_grace - 1ms;
    r->sweep_now();
    settle();
    EXPECT_FALSE(presence_names(bob.fresh(), presence_change::left, 2));

    now += 1ms;
    r->sweep_now();
    settle();
    auto got = bob.fresh();
    EXPECT_TRUE(presence_names(got, presence_change::left, 2));
    EXPECT_EQ(count_of<presence_update>(got), 1u);

    // Announced once: later sweeps say nothing more.
    now += cfg.presence_grace;
    r->sweep_now();
    settle();
    EXPECT_EQ(count_of<presence_update>(bob.fresh()), 0u);
}

// Reconnecting within the grace period (a page reload) shows no left/joined flicker to anyone.
TEST_F(RoomTest, ReconnectWithinTheGraceDoesNotFlicker) {
    auto r = make_room(1);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    bob.fresh();

    r->leave(ana.id(), false);  // the tab closes...
    settle();
    now += cfg.presence_grace / 2;
    auto& ana_again = connect(2, "ana");  // ...and the reload connects again
    r->join(ana_again.member, epoch_of(ana), 0);
    settle();
    now += cfg.presence_grace * 2;
    r->sweep_now();
    settle();

    auto got = bob.fresh();
    EXPECT_FALSE(presence_names(got, presence_change::left, 2));
    EXPECT_FALSE(presence_names(got, presence_change::joined, 2));
    EXPECT_TRUE(presence_names(ana_again.received, presence_change::snapshot, 2));
    EXPECT_TRUE(presence_names(ana_again.received, presence_change::snapshot, 3));
    EXPECT_EQ(r->members_approx(), 2u);
}

// Typing ends by itself once typing_ttl passes without a refresh; a refresh extends it without a new announcement.
TEST_F(RoomTest, TypingExpiresOnTheClock) {
    ASSERT_GT(cfg.typing_ttl, 2ms);
    auto r = make_room(1);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    ana.fresh();
    bob.fresh();

    r->set_typing(ana.id(), true);
    settle();
    auto started = of_kind<typing_update>(bob.fresh());
    ASSERT_EQ(started.size(), 1u);
    EXPECT_TRUE(started[0].active);
    EXPECT_EQ(started[0].user.id, 2u);
    EXPECT_EQ(count_of<typing_update>(ana.fresh()), 0u);  // not echoed to the typist

    now += cfg.typing_ttl / 2;
    r->set_typing(ana.id(), true);  // refresh: expires typing_ttl from now
    settle();
    EXPECT_EQ(count_of<typing_update>(bob.fresh()), 0u);

    now += cfg.typing_ttl / 2 + 1ms;  // past the first expiry, before the refreshed one
    r->sweep_now();
    settle();
    EXPECT_EQ(count_of<typing_update>(bob.fresh()), 0u);

    now += cfg.typing_ttl / 2;
    r->sweep_now();
    settle();
    auto stopped = of_kind<typing_update>(bob.fresh());
    ASSERT_EQ(stopped.size(), 1u);
    EXPECT_FALSE(stopped[0].active);
    EXPECT_EQ(stopped[0].user.id, 2u);
}

// ---- 5. de-duplication --------------------------------------------------------------------------

// One client_msg_id posted twice (plain and as a resend) is one message: one seq, one broadcast, the duplicates acked with the original.
TEST_F(RoomTest, SameClientMsgIdIsOneMessage) {
    auto r = make_room(1);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    post(*r, ana, 42, "hello");
    post(*r, ana, 42, "hello", false);
    post(*r, ana, 42, "hello", true);
    settle();

    EXPECT_EQ(count_of<chat_message>(bob.received), 1u);
    EXPECT_EQ(count_of<chat_message>(ana.received), 1u);
    auto acks = of_kind<ack>(ana.received);
    ASSERT_EQ(acks.size(), 3u);
    for (const auto& a : acks) {
        EXPECT_EQ(a.client_id, 42u);
        EXPECT_EQ(a.seq, 1u);
        EXPECT_EQ(a.at, acks[0].at);
    }
    EXPECT_EQ(sink.pushed().size(), 2u);  // the epoch and one message
    EXPECT_EQ(r->last_seq_approx(), 1u);
    EXPECT_EQ(stats.duplicate_messages.load(), 2u);
}

// A resend waiting for the disk and a plain copy of it from another connection of the user are still one message.
TEST_F(RoomTest, ResendWaitingOnDiskAndAPlainCopyAreOneMessage) {
    auto r = make_room(1);
    auto& tab1 = connect(2, "ana");
    auto& tab2 = connect(2, "ana");
    auto& bob = connect(3, "bob");
    for (auto* c : {&tab1, &tab2, &bob}) r->join(c->member, 0, 0);
    settle();
    store.hold_reads(true);
    post(*r, tab1, 42, "hello", true);  // not in memory: asks the disk
    settle();
    ASSERT_EQ(store.held(), 1u);
    post(*r, tab2, 42, "hello");        // meanwhile the same message, plainly
    settle();
    store.hold_reads(false);
    store.complete_held();              // the disk never had it
    settle();

    EXPECT_EQ(count_of<chat_message>(bob.received), 1u);
    auto acks1 = of_kind<ack>(tab1.received);
    auto acks2 = of_kind<ack>(tab2.received);
    ASSERT_EQ(acks1.size(), 1u);
    ASSERT_EQ(acks2.size(), 1u);
    EXPECT_EQ(acks1[0].seq, 1u);
    EXPECT_EQ(acks2[0].seq, 1u);
    EXPECT_EQ(r->last_seq_approx(), 1u);
}

// De-duplication has one scope, (room, user, id): the same id in another room, or from another user, is another message.
TEST_F(RoomTest, SameIdInAnotherRoomOrFromAnotherUserIsAnotherMessage) {
    auto lobby = make_room(1);
    auto dev = make_room(2);
    auto& ana = connect(2, "ana");
    auto& bob = connect(3, "bob");
    for (auto* r : {lobby.get(), dev.get()}) {
        r->join(ana.member, 0, 0);
        r->join(bob.member, 0, 0);
    }
    settle();
    post(*lobby, ana, 42, "in the lobby");
    post(*dev, ana, 42, "in dev");
    post(*lobby, bob, 42, "bob in the lobby");
    settle();

    std::map<std::uint32_t, std::vector<std::uint64_t>> seqs;  // by room
    for (const auto& m : of_kind<chat_message>(bob.received)) seqs[m.room_id].push_back(m.message.seq);
    EXPECT_EQ(seqs[1], (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(seqs[2], (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(lobby->last_seq_approx(), 2u);
    EXPECT_EQ(dev->last_seq_approx(), 1u);
    EXPECT_EQ(stats.duplicate_messages.load(), 0u);
}

// A resend of a message that left memory is found on disk and acked with its original seq; an unknown resend is posted.
TEST_F(RoomTest, ResendOfAStoredMessageIsFoundOnDisk) {
    cfg.room_cache_messages = 2;
    auto r = make_room(1);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    for (std::uint64_t i = 1; i <= 5; ++i) post(*r, ana, i, "m" + std::to_string(i));
    settle();
    sink.commit();  // 1..3 leave memory
    settle();
    ana.fresh();
    bob.fresh();

    post(*r, ana, 1, "m1", true);
    settle();
    EXPECT_EQ(std::count(store.reads().begin(), store.reads().end(), "client_op"), 1);
    auto acks = of_kind<ack>(ana.fresh());
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].seq, 1u);
    EXPECT_EQ(count_of<chat_message>(bob.fresh()), 0u);

    post(*r, ana, 99, "never sent before", true);
    settle();
    acks = of_kind<ack>(ana.fresh());
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].seq, 6u);
    EXPECT_EQ(event_seqs(bob.fresh()), (std::vector<std::uint64_t>{6}));
}

// ---- 6. sequences and the watermark -------------------------------------------------------------

// Every seq handed out is unique and dense, and no watermark the room reports passes what the sink stored and reported.
TEST_F(RoomTest, SeqsAreDenseAndTheWatermarkNeverPassesTheDisk) {
    cfg.room_cache_messages = 4;
    auto r = make_room(1);
    auto& ana = connect(2, "ana");
    auto& bob = connect(3, "bob");
    auto& carl = connect(4, "carl");
    r->join(ana.member, 0, 0);
    r->join(bob.member, 0, 0);
    settle();

    // After every step: each watermark or join that arrived claims no more than the sink reported.
    auto check = [&](const char* step) {
        settle();
        for (auto& c : connections)
            for (const auto& p : c.fresh()) {
                if (const auto* w = std::get_if<persisted_watermark>(&p)) {
                    EXPECT_LE(w->seq, sink.reported(1)) << step;
                }
                if (const auto* j = std::get_if<room_joined>(&p)) {
                    EXPECT_LE(j->persisted_seq, sink.reported(1)) << step;
                    EXPECT_LE(j->persisted_seq, j->last_seq) << step;
                }
            }
    };
    check("joins");
    post(*r, ana, 1, "a1");
    post(*r, bob, 1, "b1");        // same id, other user: another message
    post(*r, ana, 1, "a1", true);  // duplicate
    check("posts");
    sink.commit(2);  // the epoch and message 1
    check("commit 2");
    edit(*r, ana, 2, 1, "a1 edited");
    react(*r, bob, 2, 1, true);
    react(*r, bob, 3, 1, true);    // already so: ack 0, no seq
    post(*r, bob, 4, "   ");       // blank: refused, no seq
    edit(*r, bob, 5, 1, "not mine"); // forbidden, no seq
    post(*r, ana, 3, "a3");
    check("changes");
    r->join(carl.member, epoch_of(ana), 1);
    check("carl joins");
    sink.commit(3);
    check("commit 3");
    remove(*r, ana, 4, 1);
    react(*r, carl, 1, 5, true);   // on message 5
    post(*r, carl, 2, "c2");
    post(*r, carl, 2, "c2");       // duplicate
    check("more");
    sink.commit(1);
    check("commit 1");
    r->persisted(1);               // a stale report changes nothing
    check("stale report");
    sink.commit();
    check("commit all");
    let_timers_run(3 * bounds::watermark_delay);  // nothing else is broadcast: it goes alone
    check("the last watermark");

    // The seqs the sink received: exactly 1..N, once each, in order.
    std::vector<std::uint64_t> pushed;
    for (const auto& e : sink.pushed())
        if (auto s = parley::server::sequence_of(e)) pushed.push_back(s->second);
    const std::uint64_t n = pushed.size();
    EXPECT_EQ(n, 8u);
    EXPECT_EQ(pushed, seq_range(1, n));
    EXPECT_EQ(r->last_seq_approx(), n);

    // Every member saw each of them once, and acks name them: distinct (user, id), distinct seqs.
    EXPECT_EQ(event_seqs(bob.received), seq_range(1, n));
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> acked;  // (user, client id) -> seq
    std::set<std::uint64_t> ack_seqs;
    for (auto& c : connections)
        for (const auto& a : of_kind<ack>(c.received)) {
            if (a.seq == 0) continue;
            EXPECT_LE(a.seq, n);
            auto [it, fresh] = acked.try_emplace({c.member.user_id, a.client_id}, a.seq);
            EXPECT_EQ(it->second, a.seq) << "a duplicate was acked with another seq";
            if (fresh) {
                EXPECT_TRUE(ack_seqs.insert(a.seq).second) << "two requests got seq " << a.seq;
            }
        }
    EXPECT_EQ(ack_seqs.size(), n);

    // The last watermark says everything is stored, and no more.
    auto marks = of_kind<persisted_watermark>(ana.received);
    ASSERT_FALSE(marks.empty());
    EXPECT_EQ(marks.back().seq, n);
    EXPECT_TRUE(std::is_sorted(marks.begin(), marks.end(), [](auto& a, auto& b) { return a.seq < b.seq; }));
}

}  // namespace

// ---- room events that cannot be stored ---------------------------------------------------------

namespace {
room_settings private_settings() { return {"~private", "Private", "", room_kind::private_room}; }
}  // namespace

// A kick the writer could not store never happened, as far as the disk
// knows: the room takes it back, so the kicked member may join again, and
// memory and disk agree after a restart.
TEST_F(RoomTest, AKickThatCannotBeStoredIsTakenBack) {
    auto r = make_room(1, 0,
                       {{2, "ana", member_status::member, room_role::owner}, {3, "bob", member_status::member}},
                       private_settings());
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    r->manage(ana.id(), manage_room{1, 77, room_action::kicked, 3}, "");
    settle();
    const auto acks = of_kind<ack>(ana.fresh());
    ASSERT_EQ(acks.size(), 1u);
    ASSERT_EQ(of_kind<room_left>(bob.fresh()).size(), 1u);
    r->voided(acks[0].seq);
    settle();
    auto& again = joined(*r, 3, "bob");
    settle();
    EXPECT_EQ(of_kind<room_joined>(again.fresh()).size(), 1u) << "the kick was taken back";
}

// A join (a first one) that cannot be stored is taken back too: the joiner
// leaves the room again, told to come back.
TEST_F(RoomTest, AJoinThatCannotBeStoredIsTakenBack) {
    auto r = make_room(1, 0,
                       {{2, "ana", member_status::member, room_role::owner}, {3, "bob", member_status::invited}},
                       private_settings());
    auto& ana = joined(*r, 2, "ana");
    settle();
    auto& bob = joined(*r, 3, "bob");
    settle();
    const auto events = of_kind<room_event>(ana.fresh());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].action, room_action::joined);
    r->voided(events[0].seq);
    settle();
    const auto left = of_kind<room_left>(bob.fresh());
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].reason, leave_reason::unavailable);
    // Still invited, as on disk: joining again admits them again.
    auto& again = joined(*r, 3, "bob");
    settle();
    EXPECT_EQ(of_kind<room_joined>(again.fresh()).size(), 1u);
}

// A connect storm: joins the strand handles together are told to the room in
// one presence_update, not one each (n joins would cost every member n
// packets, and the room n^2), and an arrival is told before a departure.
TEST_F(RoomTest, ArrivalsHandledTogetherShareOnePresenceUpdate) {
    auto r = make_room(1, 0);
    auto& bob = connect(2, "bob");
    r->join(bob.member, 0, 0);
    settle();
    bob.fresh();
    std::vector<std::uint64_t> storm;
    for (std::uint64_t u = 10; u < 30; ++u) {
        auto& c = connect(u, "user" + std::to_string(u));
        r->join(c.member, 0, 0);
        storm.push_back(c.id());
    }
    settle();
    const auto got = bob.fresh();
    std::size_t told = 0;
    for (const auto& p : of_kind<presence_update>(got))
        if (p.change == presence_change::joined) told += p.users.size();
    EXPECT_EQ(told, 20u);
    EXPECT_LE(count_of<presence_update>(got), 2u) << "twenty arrivals, at most a couple of packets";

    r->leave(storm.front(), true);
    settle();
    now += cfg.presence_grace;
    r->sweep_now();
    settle();
    const auto later = of_kind<presence_update>(bob.fresh());
    ASSERT_EQ(later.size(), 1u);
    EXPECT_EQ(later[0].change, presence_change::left);
}

// ---- large rooms ---------------------------------------------------------------------------------

// A join costs the same in a room of any size: its snapshots name the first
// snapshot_people of those online and of the room's people, and say how many
// there are in all.
TEST_F(RoomTest, ALargeRoomsSnapshotsNameTheFirstAndCountEveryone) {
    using bounds::snapshot_people;
    const std::uint64_t online = snapshot_people + 100, people = snapshot_people + 200;
    auto r = make_room(1, 0, parley::testing::members_up_to(people));
    for (std::uint64_t u = 1; u < online; ++u) joined(*r, u, "user" + std::to_string(u));
    settle();
    auto& last = joined(*r, online, "last");
    settle();
    const auto got = last.fresh();
    const auto snapshots = of_kind<presence_update>(got);
    ASSERT_EQ(snapshots.size(), 1u) << "one packet, however large the room";
    EXPECT_EQ(snapshots[0].change, presence_change::snapshot);
    EXPECT_EQ(snapshots[0].users.size(), snapshot_people);
    EXPECT_EQ(snapshots[0].online, online);
    const auto lists = of_kind<room_members>(got);
    ASSERT_EQ(lists.size(), 1u);
    EXPECT_EQ(lists[0].members.size(), snapshot_people);
    EXPECT_EQ(lists[0].total, people);

    // In a room as small as a snapshot, the lists are whole.
    auto small = make_room(2, 0, parley::testing::members_up_to(5));
    auto& a = joined(*small, 1, "a");
    settle();
    a.fresh();
    auto& b = joined(*small, 2, "b");
    settle();
    const auto b_got = b.fresh();
    ASSERT_EQ(count_of<presence_update>(b_got), 1u);
    EXPECT_EQ(of_kind<presence_update>(b_got)[0].users.size(), 2u);
    EXPECT_EQ(of_kind<presence_update>(b_got)[0].online, 2u);
    EXPECT_EQ(of_kind<room_members>(b_got)[0].total, 5u);
    EXPECT_EQ(of_kind<room_members>(b_got)[0].members.size(), 5u);
    EXPECT_TRUE(presence_names(a.fresh(), presence_change::joined, 2));
}

// In a room with more online than a snapshot names, presence changes are
// gathered and told once per interval: a storm of arrivals costs each member
// one packet per interval, with the count, not one per arrival; more changes
// than a snapshot holds become one snapshot.
TEST_F(RoomTest, ALargeRoomTellsPresenceOncePerInterval) {
    using bounds::snapshot_people;
    auto r = make_room(1, 0, parley::testing::members_up_to(1000));
    auto& bob = joined(*r, 1, "bob");
    for (std::uint64_t u = 2; u <= snapshot_people + 50; ++u) joined(*r, u, "user" + std::to_string(u));
    settle();
    bob.fresh();
    // 50 arrivals, joining one by one (each in a turn of its own).
    for (std::uint64_t u = snapshot_people + 51; u <= snapshot_people + 100; ++u) {
        joined(*r, u, "user" + std::to_string(u));
        settle();
    }
    EXPECT_EQ(count_of<presence_update>(bob.fresh()), 0u) << "gathered, not told one by one";
    now += bounds::max_presence_interval;
    r->sweep_now();
    settle();
    auto told = of_kind<presence_update>(bob.fresh());
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].change, presence_change::joined);
    EXPECT_EQ(told[0].users.size(), 50u);
    EXPECT_EQ(told[0].online, snapshot_people + 100);

    // More arrivals than a snapshot names: one snapshot with the count.
    for (std::uint64_t u = snapshot_people + 101; u <= 2 * snapshot_people + 150; ++u) {
        joined(*r, u, "user" + std::to_string(u));
        settle();
    }
    now += bounds::max_presence_interval;
    r->sweep_now();
    settle();
    told = of_kind<presence_update>(bob.fresh());
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].change, presence_change::snapshot);
    EXPECT_EQ(told[0].users.size(), snapshot_people);
    EXPECT_EQ(told[0].online, 2 * snapshot_people + 150);
}

// Presence changes are not dropped for a reader whose queue is half full
// (typing is): a lost one would leave its list wrong until it rejoined.
TEST_F(RoomTest, PresenceReachesASlowReader) {
    auto r = make_room(1, 0);
    auto& ana = connect(2, "ana");
    auto& bob = connect(3, "bob");
    bob.member.queue = std::make_shared<send_queue>(queue_limits{1 << 20, 20}, [](bool) {});
    r->join(ana.member, 0, 0);
    r->join(bob.member, 0, 0);
    settle();
    bob.fresh();
    bob.stalled = true;
    for (std::uint64_t i = 1; i <= 12; ++i) post(*r, ana, i, "fill " + std::to_string(i));  // past half of 20
    joined(*r, 4, "carl");
    settle();
    bob.stalled = false;
    settle();
    EXPECT_TRUE(presence_names(bob.fresh(), presence_change::joined, 4));
}

// ---- the persisted watermark --------------------------------------------------------------------

// The watermark after a batch rides with the room's next broadcast (one
// write to each member) and goes alone only when nothing follows soon.
TEST_F(RoomTest, AWatermarkTravelsWithTheNextBroadcast) {
    auto r = make_room(1, 0);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = joined(*r, 3, "bob");
    settle();
    post(*r, ana, 1, "stored soon");
    settle();
    bob.fresh();
    sink.commit();
    settle();
    EXPECT_EQ(count_of<persisted_watermark>(bob.fresh()), 0u) << "it waits for company";
    post(*r, ana, 2, "next");
    settle();
    auto got = bob.fresh();
    ASSERT_EQ(got.size(), 2u);
    ASSERT_TRUE(std::holds_alternative<persisted_watermark>(got[0])) << "just before the next broadcast";
    EXPECT_EQ(std::get<persisted_watermark>(got[0]).seq, sink.reported(1));
    EXPECT_TRUE(std::holds_alternative<chat_message>(got[1]));

    sink.commit();
    settle();
    EXPECT_EQ(count_of<persisted_watermark>(bob.fresh()), 0u);
    let_timers_run(3 * bounds::watermark_delay);
    got = bob.fresh();
    ASSERT_EQ(count_of<persisted_watermark>(got), 1u) << "alone, after watermark_delay";
    EXPECT_EQ(of_kind<persisted_watermark>(got)[0].seq, r->last_seq_approx());
}

// What one hand-off brings an idle member leaves in one write: the writer
// starts after the fan-out pushed all of it (here the watermark that rides
// with a message, and the message).
TEST_F(RoomTest, AHandOffReachesAnIdleMemberInOneWrite) {
    auto r = make_room(1, 0);
    auto& ana = joined(*r, 2, "ana");
    auto& bob = connect(3, "bob");
    std::vector<std::size_t> writes;  // packets each write of bob's would carry
    bob.member.queue = std::make_shared<send_queue>(queue_limits{}, [&bob, &writes](bool) {
        std::vector<shared_packet> out;
        bob.member.queue->take(out, SIZE_MAX);  // the write starts at once, as on the session's own loop
        writes.push_back(out.size());
        for (const auto& bytes : out) bob.received.push_back(*decode(*bytes));
    });
    r->join(bob.member, 0, 0);
    post(*r, ana, 1, "stored soon");
    settle();
    sink.commit();
    settle();
    writes.clear();
    post(*r, ana, 2, "next");
    settle();
    ASSERT_FALSE(writes.empty());
    EXPECT_EQ(writes.front(), 2u) << "the watermark and the message, in one write";
}

// ---- members on other event loops ---------------------------------------------------------------

// Connections live on event loops of their own; the room hands each loop what
// it sent in one turn at once, and every member still gets the room's order:
// each event once, in seq order, the sender's event before its ack, nothing
// after its leave.
TEST_F(RoomTest, MembersOnOtherLoopsGetTheRoomsOrderWithOneHandOffPerLoop) {
    auto r = make_room(1);
    std::vector<fake_connection*> on_a, on_b;
    for (std::uint64_t u = 2; u <= 11; ++u) on_a.push_back(&connect(u, "a" + std::to_string(u), &other_loops[0]));
    for (std::uint64_t u = 12; u <= 21; ++u) on_b.push_back(&connect(u, "b" + std::to_string(u), &other_loops[1]));
    auto& sender = connect(1, "ana");
    for (auto* c : on_a) r->join(c->member, 0, 0);
    for (auto* c : on_b) r->join(c->member, 0, 0);
    r->join(sender.member, 0, 0);
    settle();
    for (auto& c : connections) c.fresh();

    const auto before = stats.loop_handoffs.load();
    for (std::uint64_t i = 1; i <= 5; ++i) post(*r, sender, i, "m" + std::to_string(i));
    settle();
    // Five messages, 21 members on three loops: three hand-offs, not 21 x 5.
    EXPECT_EQ(stats.loop_handoffs.load() - before, 3u);
    for (auto* c : on_a) EXPECT_EQ(event_seqs(c->fresh()), seq_range(1, 5)) << c->member.username;
    for (auto* c : on_b) EXPECT_EQ(event_seqs(c->fresh()), seq_range(1, 5)) << c->member.username;
    const auto mine = sender.fresh();
    ASSERT_EQ(event_seqs(mine), seq_range(1, 5));
    ASSERT_EQ(count_of<ack>(mine), 5u);
    for (std::size_t i = 0, events = 0; i < mine.size(); ++i) {
        if (event_seq(mine[i])) ++events;
        if (const auto* a = std::get_if<ack>(&mine[i])) {
            EXPECT_LE(a->seq, events) << "an ack before its event";
        }
    }

    // A member in the middle of a loop's list leaves: it gets nothing after,
    // everyone else on its loop still gets everything once.
    r->leave(on_a[3]->id(), true);
    post(*r, sender, 6, "after");
    settle();
    EXPECT_TRUE(event_seqs(on_a[3]->fresh()).empty());
    for (std::size_t i = 0; i < on_a.size(); ++i) {
        if (i != 3) {
            EXPECT_EQ(event_seqs(on_a[i]->fresh()), std::vector<std::uint64_t>{6}) << on_a[i]->member.username;
        }
    }
    for (auto* c : on_b) EXPECT_EQ(event_seqs(c->fresh()), std::vector<std::uint64_t>{6});
}

// ---- a room as a cluster replica (room_cluster.cpp), with an in-memory link ----------------------

/// A room_link that holds every proposal until the test commits it (or says
/// it went stale), as the sequencer would in order; attaches at once.
struct held_link final : room_link {
    struct proposal {
        std::uint64_t top;
        storage_event event;
        std::function<void(proposal_result)> done;
    };
    std::weak_ptr<room_replica> replica;
    std::uint64_t epoch = 77;
    std::uint64_t top = 0;
    std::deque<proposal> held;

    void attach(std::uint32_t, std::uint64_t stored_top, std::uint64_t, std::uint64_t,
                std::weak_ptr<room_replica> r, std::function<void(std::optional<replica_start>)> done) override {
        replica = std::move(r);
        top = stored_top;
        done(replica_start{epoch, stored_top, true});
    }
    void detach(std::uint32_t) override {}
    void propose(std::uint32_t, std::uint64_t e, std::uint64_t at, std::uint64_t, std::uint64_t, const storage_event& ev,
                 std::function<void(proposal_result)> done) override {
        EXPECT_EQ(e, epoch);
        held.push_back({at, ev, std::move(done)});
    }
    void caught_up(std::uint32_t, std::uint64_t) override {}
    void share(std::uint32_t, std::string) override {}
    void reserve_room_ids(std::uint32_t, std::uint32_t, std::function<void(std::optional<std::uint32_t>)>) override {}

    /// The oldest held proposal is sequenced (if still at the top) and applied, then answered.
    void commit_next() {
        ASSERT_FALSE(held.empty());
        proposal p = std::move(held.front());
        held.pop_front();
        if (p.top != top) return p.done({proposal_status::stale, top, epoch});
        ++top;
        if (auto r = replica.lock()) r->replicated({top, epoch, p.event});
        p.done({proposal_status::committed, top, epoch});
    }
};

class ClusterRoomTest : public RoomTest {
protected:
    held_link link;
    std::shared_ptr<room> make_replica(std::uint32_t id) {
        room_services svc{cfg, stats, &sink, &store};
        svc.now = [this] { return now; };
        svc.new_epoch = [this] { return ++last_epoch; };
        svc.link = &link;
        auto r = std::make_shared<room>(io, svc, room_init{id, public_room_named("room" + std::to_string(id)), 0, everyone()});
        rooms[id] = r;
        return r;
    }
};

// A message is shown and acknowledged only once the cluster sequenced it,
// at the seq the cluster gave; nothing goes to the writer from the room.
TEST_F(ClusterRoomTest, AMessageIsAppliedWhenItComesBackSequenced) {
    auto r = make_replica(1);
    auto& ana = joined(*r, 1, "ana");
    auto& bob = joined(*r, 2, "bob");
    settle();
    ana.fresh();
    bob.fresh();
    post(*r, ana, 10, "hello");
    settle();
    EXPECT_TRUE(event_seqs(bob.fresh()).empty()) << "shown before it was sequenced";
    ASSERT_EQ(link.held.size(), 1u);
    link.commit_next();
    settle();
    EXPECT_EQ(event_seqs(bob.fresh()), std::vector<std::uint64_t>{1});
    const auto acks = of_kind<ack>(ana.fresh());
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].seq, 1u);
}

// Decisions made while one is in flight are made again on the state it
// produced; one that went stale is made again once the replica caught up.
TEST_F(ClusterRoomTest, DecisionsWaitForTheProposalInFlightAndStaleOnesAreDecidedAgain) {
    auto r = make_replica(1);
    auto& ana = joined(*r, 1, "ana");
    settle();
    post(*r, ana, 10, "one");
    post(*r, ana, 11, "two");
    settle();
    ASSERT_EQ(link.held.size(), 1u) << "two proposals in flight at once";
    link.commit_next();
    settle();
    ASSERT_EQ(link.held.size(), 1u);
    EXPECT_EQ(link.held.front().top, 1u) << "the second was decided again after the first";
    // Another node's event takes seq 2 first: ours is stale and goes again at 2.
    if (auto rep = link.replica.lock())
        rep->replicated({2, link.epoch, events::message_posted{1, 2, 3, 99, "from another node", 5, 0}});
    ++link.top;
    link.commit_next();  // answered stale
    settle();
    ASSERT_EQ(link.held.size(), 1u);
    EXPECT_EQ(link.held.front().top, 2u);
    link.commit_next();
    settle();
    EXPECT_EQ(event_seqs(ana.fresh()), seq_range(1, 3));
    EXPECT_EQ(r->last_seq_approx(), 3u);
}

// A join that waits for this node's own proposal is cancelled by a leave:
// the connection never becomes a member (no ghost online forever).
TEST_F(ClusterRoomTest, LeavingWhileTheJoinWaitsForAProposalLeavesNoGhost) {
    auto r = make_replica(1);
    auto& ana = joined(*r, 1, "ana");
    settle();
    post(*r, ana, 10, "in flight");
    settle();
    auto& ghost = connect(3, "ghost");
    r->join(ghost.member, 0, 0);
    settle();
    r->leave(ghost.id(), true);
    settle();
    link.commit_next();
    settle();
    EXPECT_EQ(count_of<room_joined>(ghost.received), 0u);
    EXPECT_EQ(r->members_approx(), 1u);
}
