// Persistence through a live server: history across the cache/disk boundary,
// restarts, de-duplication, watermarks, shutdown, back-pressure, and a real
// crash (SIGKILL) of the parley binary.
#include "server/store/storage.hpp"

#include "server/store/database.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <random>
#include <set>

namespace {

using namespace parley::protocol;
using namespace parley::testing;
using namespace std::chrono_literals;
using parley::server::database;
using parley::server::statement;

std::atomic<std::uint64_t> ids{1};

send_message text(std::uint32_t room, std::string body, std::uint64_t cmid = 0, bool resend = false) {
    return send_message{room, cmid ? cmid : ids++, 0, std::move(body), resend};
}

std::int64_t query_int(const std::filesystem::path& dir, const std::string& sql) {
    database db((dir / "parley.db").string(), database::mode::read_only);
    statement s = db.prepare(sql);
    s.step();
    return s.column_int(0);
}

void wait_persisted(ws_client& c, std::uint32_t room, std::uint64_t seq) {
    c.wait_for<persisted_watermark>([&](auto& w) { return w.room_id == room && w.seq >= seq; }, 15s);
}

/// Pages backwards from the newest message to the first, as a client scrolling up.
std::vector<message_record> scroll_back(ws_client& c, std::uint32_t room, std::uint16_t limit) {
    std::vector<message_record> all;
    std::uint64_t before = 0;
    for (;;) {
        c.send(request_history{room, before, limit});
        auto page = c.wait_for<history_page>([](auto& p) { return p.mode == history_mode::older; });
        all.insert(all.begin(), page.messages.begin(), page.messages.end());
        if (!page.has_more || page.messages.empty()) return all;
        before = page.messages.front().seq;
    }
}

auto small_cache = [](parley::server::config& cfg) {
    cfg.room_cache_messages = 10;
    cfg.batch_max_events = 10;
    cfg.batch_max_delay = std::chrono::milliseconds(200);  // the last partial batch need not wait 5 s
};

TEST(Persistence, HistoryScrollsBackAcrossCacheAndDiskWithoutGapsOrDuplicates) {
    test_server srv(small_cache);
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    constexpr std::uint64_t j = 2;  // seqs 1 and 2: ana and bob joining; message i is seq j + i
    for (int i = 1; i <= 60; ++i) ana->send(text(room, "m" + std::to_string(i)));
    wait_persisted(*ana, room, j + 60);

    // Changes to messages long out of the cache, and to one still in it.
    ana->send(edit_message{room, ids++, j + 5, "m5 (edited)", false});
    ana->send(delete_message{room, ids++, j + 7, false});
    bob->send(set_reaction{room, ids++, j + 3, reaction_kind::star, true, false});
    ana->send(set_reaction{room, ids++, j + 3, reaction_kind::star, true, false});
    ana->send(edit_message{room, ids++, j + 58, "m58 (edited)", false});
    // Changes to messages out of the cache wait for a disk read, so they may
    // overtake or trail the others: wait for both, in any order.
    std::set<std::uint64_t> edited;
    bool deleted = false, reacted = false;
    while (edited.size() < 2 || !deleted || !reacted) {
        auto p = bob->next(5s);
        ASSERT_TRUE(p.has_value()) << "a change never arrived";
        if (auto* e = std::get_if<message_edited>(&*p)) edited.insert(e->message_seq);
        if (auto* d = std::get_if<message_deleted>(&*p)) deleted |= d->message_seq == j + 7;
        if (auto* r = std::get_if<reaction_update>(&*p)) reacted |= r->count == 2;
    }

    for (auto* c : {ana.get(), bob.get()}) {
        const auto all = scroll_back(*c, room, 25);
        ASSERT_EQ(all.size(), 60u);
        for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].seq, j + i + 1) << "gap or duplicate at " << i;
        EXPECT_EQ(all[4].text, "m5 (edited)");
        EXPECT_GT(all[4].edited_at, 0u);
        EXPECT_TRUE(all[6].deleted);
        EXPECT_EQ(all[6].text, "");
        EXPECT_EQ(all[2].reactions, (std::vector<reaction_count>{{reaction_kind::star, 2}}));
        EXPECT_EQ(all[2].my_reactions, 1u << 3);
        EXPECT_EQ(all[57].text, "m58 (edited)");
        EXPECT_EQ(all[59].text, "m60");
    }
}

TEST(Persistence, EverythingSurvivesARestartAndSequencesContinue) {
    temp_dir dir;
    std::uint64_t cmid = 0;
    {
        test_server srv(dir.path());
        std::uint32_t room = 0;
        auto ana = srv.join("ana", "lobby", room);  // seq 1: ana joins; message i is seq 1 + i
        for (int i = 1; i <= 5; ++i) ana->send(text(room, "before " + std::to_string(i)));
        cmid = ids++;
        ana->send(text(room, "to be edited", cmid));
        ana->wait_for<ack>([&](auto& a) { return a.client_id == cmid; });
        ana->send(edit_message{room, ids++, 7, "edited", false});
        ana->send(set_reaction{room, ids++, 3, reaction_kind::like, true, false});
        ana->send(delete_message{room, ids++, 5, false});
        ana->wait_for<message_deleted>();
    }  // graceful stop: the writer drains
    test_server srv(dir.path());
    auto ana = srv.connect("ana");
    ana->send(join_room{"lobby", 0, 0});
    const auto joined = ana->wait_for<room_joined>();
    EXPECT_EQ(joined.last_seq, 10u);  // her joining, six messages and three changes
    EXPECT_EQ(joined.persisted_seq, 10u);
    EXPECT_EQ(joined.role, room_role::owner) << "membership survives the restart";
    const auto page = ana->wait_for<history_page>();
    ASSERT_EQ(page.messages.size(), 6u);
    EXPECT_EQ(page.messages[5].text, "edited");
    EXPECT_EQ(page.messages[1].reactions, (std::vector<reaction_count>{{reaction_kind::like, 1}}));
    EXPECT_TRUE(page.messages[3].deleted);
    ana->send(text(joined.room_id, "after restart"));
    EXPECT_EQ(ana->wait_for<ack>().seq, 11u);
}

TEST(Persistence, ResendAfterRestartIsAcknowledgedWithTheOriginal) {
    temp_dir dir;
    const std::uint64_t cmid = ids++;
    std::uint64_t seq = 0;
    {
        test_server srv(dir.path());
        std::uint32_t room = 0;
        auto ana = srv.join("ana", "lobby", room);
        ana->send(text(room, "hello once", cmid));
        seq = ana->wait_for<ack>().seq;
    }
    test_server srv(dir.path());
    std::uint32_t room = 0;
    auto bob = srv.join("bob", "lobby", room);
    auto ana = srv.join("ana", "lobby", room);
    ana->send(text(room, "hello once", cmid, true));
    const auto acked = ana->wait_for<ack>();
    EXPECT_EQ(acked.seq, seq);
    EXPECT_TRUE(bob->none_of_type<chat_message>(300ms));
    EXPECT_EQ(query_int(dir.path(), "SELECT COUNT(*) FROM messages"), 1);
}

TEST(Persistence, ResendOfAMessageLongOutOfTheCacheIsFoundOnDisk) {
    test_server srv(small_cache);
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);  // seqs 1 and 2 are the joins
    const std::uint64_t first = ids++;
    ana->send(text(room, "first", first));
    for (int i = 2; i <= 39; ++i) ana->send(text(room, "m" + std::to_string(i)));
    wait_persisted(*ana, room, 41);
    bob->wait_for<chat_message>([](auto& m) { return m.message.seq == 41; });
    ana->send(text(room, "first", first, true));
    EXPECT_EQ(ana->wait_for<ack>([&](auto& a) { return a.client_id == first; }).seq, 3u);
    EXPECT_TRUE(bob->none_of_type<chat_message>(300ms));
}

TEST(Persistence, WatermarkIsAnnouncedAfterEachCommit) {
    // Only the event count can trigger a commit here (the delay is an hour).
    test_server srv([](auto& cfg) {
        cfg.batch_max_events = 3;
        cfg.batch_max_delay = std::chrono::hours(1);
    });
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);
    auto bob = srv.join("bob", "lobby", room);
    for (int i = 0; i < 5; ++i) ana->send(text(room, "x"));
    // room_created, epoch_started and at least one event make the first
    // batch: seqs 1 and 2 are ana's and bob's joining, 3-7 the messages.
    const auto w = bob->wait_for<persisted_watermark>(10s);
    EXPECT_GE(w.seq, 1u);
    EXPECT_LE(w.seq, 7u);
    EXPECT_EQ(w.room_id, room);
}

TEST(Persistence, RejoinAfterRestartReplaysFromDisk) {
    temp_dir dir;
    std::uint64_t epoch = 0;
    {
        test_server srv(dir.path());
        std::uint32_t room = 0;
        auto ana = srv.connect("ana");
        ana->send(join_room{"lobby", 0, 0});
        const auto joined = ana->wait_for<room_joined>();
        room = joined.room_id;
        epoch = joined.epoch;
        // Seq 1 is ana's joining the room she made; message i is seq 1 + i.
        for (int i = 1; i <= 20; ++i) ana->send(text(room, "m" + std::to_string(i)));
        ana->wait_for<ack>([](auto& a) { return a.seq == 21; });
    }
    test_server srv(dir.path(), [](auto& cfg) { cfg.room_cache_messages = 10; });
    auto bob = srv.connect("bob");
    bob->send(join_room{"lobby", epoch, 6});
    const auto joined = bob->wait_for<room_joined>();
    EXPECT_NE(joined.epoch, epoch);  // every start begins an epoch; this one shares all 21
    for (std::uint64_t seq = 7; seq <= 21; ++seq) {
        const auto m = bob->wait_for<chat_message>();
        EXPECT_EQ(m.message.seq, seq);
        EXPECT_EQ(m.message.text, "m" + std::to_string(seq - 1));
    }
    EXPECT_TRUE(bob->none_of_type<room_reset>(200ms));
}

TEST(Persistence, GracefulShutdownFlushesTheWriter) {
    temp_dir dir;
    {
        test_server srv(dir.path(), [](auto& cfg) {
            cfg.batch_max_events = 1000;
            cfg.batch_max_delay = std::chrono::hours(1);
        });
        std::uint32_t room = 0;
        auto ana = srv.join("ana", "lobby", room);
        std::uint64_t last = 0;
        for (int i = 0; i < 5; ++i) {
            auto m = text(room, "pending");
            last = m.client_msg_id;
            ana->send(std::move(m));
        }
        ana->wait_for<ack>([last](auto& a) { return a.client_id == last; });  // all five are in the writer
        EXPECT_EQ(query_int(dir.path(), "SELECT COUNT(*) FROM messages"), 0);  // nothing due yet
        srv.stop();
    }
    EXPECT_EQ(query_int(dir.path(), "SELECT COUNT(*) FROM messages"), 5);
}

TEST(Persistence, NewMessagesAreRefusedWhenTheBacklogIsFull) {
    test_server srv([](auto& cfg) {
        cfg.batch_max_events = 100000;
        cfg.batch_max_delay = std::chrono::hours(1);
        cfg.max_writer_backlog = 5;
    });
    std::uint32_t room = 0;
    auto ana = srv.join("ana", "lobby", room);  // room_created and epoch_started are two events
    for (int i = 0; i < 6; ++i) ana->send(text(room, "m"));
    const auto e = ana->wait_for<error_report>();
    EXPECT_EQ(e.code, static_cast<std::uint16_t>(error_code::server_busy));
    EXPECT_GT(e.retry_after_ms, 0u);
}

// ---- the crash test ------------------------------------------------------------------

/// A sending client as the browser keeps it: every message stays in the
/// outbox until a persisted watermark covers its acknowledged sequence.
struct outbox_client {
    struct entry {
        std::string text;
        std::uint64_t seq = 0;  // 0 until acknowledged
    };
    std::map<std::uint64_t, entry> outbox;  // by client_msg_id
    std::uint64_t watermark = 0;

    void absorb(const packet& p) {
        if (auto* a = std::get_if<ack>(&p)) {
            if (auto it = outbox.find(a->client_id); it != outbox.end()) it->second.seq = a->seq;
        } else if (auto* w = std::get_if<persisted_watermark>(&p)) {
            watermark = std::max(watermark, w->seq);
        } else if (auto* r = std::get_if<room_reset>(&p)) {
            watermark = std::min(watermark, r->base_seq);
            for (auto& [cmid, e] : outbox)
                if (e.seq > r->base_seq) e.seq = 0;  // not stored: send again
        }
        std::erase_if(outbox, [&](const auto& e) { return e.second.seq != 0 && e.second.seq <= watermark; });
    }
};

/// A reading client as the protocol asks it to behave: it keeps everything
/// it saw, rejoins with (epoch, last seq seen), and on room_reset drops what
/// it holds above the base. It also records every (epoch, seq) it was ever
/// shown, and fails the test if one of them ever named two messages.
struct view_client {
    std::map<std::uint64_t, std::pair<std::uint64_t, std::string>> view;  // seq -> (cmid, text)
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::pair<std::uint64_t, std::string>> seen;
    std::uint64_t epoch = 0, last_seen = 0;
    int resets = 0;

    void show(std::uint64_t seq, std::uint64_t cmid, const std::string& text) {
        view[seq] = {cmid, text};
        last_seen = std::max(last_seen, seq);
        auto [it, fresh] = seen.try_emplace({epoch, seq}, cmid, text);
        EXPECT_TRUE(fresh || it->second == std::make_pair(cmid, text))
            << "two messages at (epoch " << epoch << ", seq " << seq << "): '" << it->second.second << "' and '"
            << text << "'";
    }
    void absorb(const packet& p) {
        if (auto* j = std::get_if<room_joined>(&p)) {
            epoch = j->epoch;
        } else if (auto* r = std::get_if<room_reset>(&p)) {
            ++resets;
            epoch = r->epoch;
            view.erase(view.upper_bound(r->base_seq), view.end());
            last_seen = std::min(last_seen, r->base_seq);
        } else if (auto* m = std::get_if<chat_message>(&p)) {
            show(m->message.seq, m->message.client_msg_id, m->message.text);
        } else if (auto* h = std::get_if<history_page>(&p)) {
            for (const auto& rec : h->messages) show(rec.seq, rec.client_msg_id, rec.text);
        }
    }
};

// Batches commit every 25 events during the stream, so the crash finds some
// messages stored and some not. The delay is long (as in production, 5 s),
// so the last partial batch is still waiting when the crash comes however
// slowly a loaded machine sends: with a short one it could commit first and
// leave the test nothing to prove.
TEST(Persistence, CrashWithSigkillLosesNothingAndDuplicatesNothing) {
    temp_dir dir;
    const std::uint16_t port = free_port();
    const std::string log = (dir.path() / "server.log").string();
    auto start = [&] {
        auto p = std::make_unique<child_process>(
            std::vector<std::string>{parley_binary(), "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir",
                                     dir.path().string(), "--password-cost", "min", "--message-rate", "10000/10000",
                                     "--batch-delay-ms", "5000", "--batch-events", "25", "--log-level", "warn"},
            log);
        EXPECT_TRUE(wait_healthy(port)) << "parley did not start; see " << log;
        return p;
    };
    auto server = start();
    const std::string ana_token = sign_up(port, "ana");
    const std::string bob_token = sign_up(port, "bob");
    auto connect = [&](const std::string& token) {
        return std::make_unique<ws_client>(ws_options{.port = port, .headers = {{"Cookie", "parley_session=" + token}}});
    };

    outbox_client sender;
    view_client reader;
    auto ana = connect(ana_token);
    auto bob = connect(bob_token);
    ana->send(join_room{"crash", 0, 0});
    const std::uint32_t room = ana->wait_for<room_joined>().room_id;
    bob->send(join_room{"crash", 0, 0});
    while (auto p = bob->next(200ms)) reader.absorb(*p);

    auto pump = [](ws_client& c, auto& state, std::chrono::milliseconds window) {
        while (auto p = c.next(window)) state.absorb(*p);
    };
    int sent = 0;
    auto send_new = [&] {
        const int i = sent++;
        const std::uint64_t cmid = ids++;
        sender.outbox[cmid] = {"message " + std::to_string(i)};
        ana->send(send_message{room, cmid, 0, sender.outbox[cmid].text, false});
    };

    constexpr int total = 200;
    for (int i = 0; i < 120; ++i) {
        send_new();
        if (i % 10 == 9) std::this_thread::sleep_for(20ms);
    }
    pump(*ana, sender, 100ms);
    pump(*bob, reader, 100ms);
    if (sender.outbox.empty()) {
        // A loaded machine let the writer take the tail in one batch: the
        // writer is idle now, so a few more (fewer than a batch) wait 5 s.
        for (int i = 0; i < 5; ++i) send_new();
        pump(*ana, sender, 100ms);
        pump(*bob, reader, 100ms);
    }
    ASSERT_FALSE(sender.outbox.empty()) << "everything was persisted before the crash: the test proves nothing";

    server->signal(SIGKILL);  // mid-stream: acknowledged messages are lost from memory
    ASSERT_EQ(server->wait(), 128 + SIGKILL);
    const auto unsaved_at_crash = sender.outbox.size();
    pump(*ana, sender, 100ms);
    pump(*bob, reader, 100ms);
    server = start();

    // Both reconnect; the sender resends its whole outbox with `resend`, then goes on.
    ana = connect(ana_token);
    bob = connect(bob_token);
    ana->send(join_room{"crash", 0, 0});
    bob->send(join_room{"crash", reader.epoch, reader.last_seen});
    for (const auto& [cmid, e] : sender.outbox) ana->send(send_message{room, cmid, 0, e.text, true});
    while (sent < total) send_new();

    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!sender.outbox.empty() && std::chrono::steady_clock::now() < deadline) {
        pump(*ana, sender, 50ms);
        pump(*bob, reader, 10ms);
    }
    ASSERT_TRUE(sender.outbox.empty()) << sender.outbox.size() << " messages never reached the disk";
    pump(*bob, reader, 500ms);

    // The database holds every message exactly once, with gap-free sequences.
    EXPECT_EQ(query_int(dir.path(), "SELECT COUNT(*) FROM messages"), total);
    EXPECT_EQ(query_int(dir.path(), "SELECT COUNT(DISTINCT client_msg_id) FROM messages"), total);
    EXPECT_EQ(query_int(dir.path(), "SELECT MAX(seq) FROM messages"), total + 2);  // after ana's and bob's joining
    EXPECT_EQ(query_int(dir.path(), "SELECT COUNT(DISTINCT text) FROM messages"), total);
    // The reader was told to drop what the crash took, and then shows exactly
    // what the database holds (scrolling back over what the reset cleared).
    EXPECT_EQ(reader.resets, 1);
    for (const auto& r : scroll_back(*bob, room, 100)) reader.show(r.seq, r.client_msg_id, r.text);
    ASSERT_EQ(reader.view.size(), static_cast<std::size_t>(total));
    database db((dir.path() / "parley.db").string(), database::mode::read_only);
    statement s = db.prepare("SELECT seq, client_msg_id, text FROM messages ORDER BY seq");
    while (s.step()) {
        const auto& [cmid, body] = reader.view.at(s.column_u64(0));
        EXPECT_EQ(cmid, s.column_u64(1));
        EXPECT_EQ(body, s.column_text(2));
    }
    RecordProperty("unsaved_at_crash", static_cast<int>(unsaved_at_crash));
    server->signal(SIGTERM);
    EXPECT_EQ(server->wait(), 0);  // graceful exit after SIGTERM
}

}  // namespace
