// The room link (room_link.hpp) against a real redis-server: two nodes of
// one cluster in one process, each with its own connections, following the
// same room. Every replica gets every event once and in order, whichever
// node proposed it; a proposal decided on a stale replica changes nothing;
// events pub/sub lost (a dropped subscriber, a silently missing message)
// are read from the log; a Redis that lost the room or is behind the store
// starts a new epoch that every replica hears of.
#include "server/cluster/room_link.hpp"

#include "server/cluster/event_codec.hpp"
#include "tests/cluster/redis_fixture.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using namespace parley::server;
using namespace parley::server::cluster;

constexpr std::uint32_t room_id = 5;

storage_event message(std::uint64_t seq, std::uint64_t author, std::string text) {
    return events::message_posted{room_id, seq, author, seq * 10, std::move(text), 1700000000000 + seq, 0};
}

std::string text_of(const replicated_event& e) {
    if (!e.event) return "<undecodable>";
    const auto* m = std::get_if<events::message_posted>(&*e.event);
    return m != nullptr ? m->text : "<not a message>";
}

/// A replica that records what it is told.
struct recording_replica final : room_replica {
    std::vector<replicated_event> events;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> resets;  // (base, epoch)
    std::vector<std::uint64_t> persisted;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> behind;
    std::vector<std::string> shared_bodies;

    void replicated(replicated_event e) override { events.push_back(std::move(e)); }
    void reseeded(std::uint64_t base, std::uint64_t epoch) override { resets.emplace_back(base, epoch); }
    void replica_persisted(std::uint64_t seq) override { persisted.push_back(seq); }
    void fell_behind(std::uint64_t after, std::uint64_t upto) override { behind.emplace_back(after, upto); }
    void shared(std::string_view body) override { shared_bodies.emplace_back(body); }

    std::vector<std::uint64_t> seqs() const {
        std::vector<std::uint64_t> out;
        for (const auto& e : events) out.push_back(e.seq);
        return out;
    }
};

std::vector<std::uint64_t> one_to(std::uint64_t n) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t s = 1; s <= n; ++s) out.push_back(s);
    return out;
}

/// One node: its command connection, its sequencer and its link.
struct node {
    node(net::io_context& io, redis_options o, std::string name, std::chrono::milliseconds position_every)
        : client(io, o, redis_client::callbacks{[this] { ++connected; }, {}, {}}), seq(client),
          link(io.get_executor(), seq, o,
               room_link_options{std::move(name), position_every, 3s, [this] { return ++epochs; }, {}}),
          replica(std::make_shared<recording_replica>()) {}
    int connected = 0;
    std::uint64_t epochs = 0;  // gives epochs 1, 2, 3 ... (plus the node's offset)
    redis_client client;
    sequencer seq;
    redis_room_link link;
    std::shared_ptr<recording_replica> replica;
};

class room_link_test : public parley::testing::redis_fixture {
protected:
    std::unique_ptr<node> start_node(std::string name, std::chrono::milliseconds position_every = 2s) {
        auto n = std::make_unique<node>(io_, options(), std::move(name), position_every);
        n->client.start();
        EXPECT_TRUE(run_until([&] { return n->connected == 1; })) << "not connected";
        bool loaded = false;
        n->seq.load([&](outcome<acknowledged> r) {
            EXPECT_TRUE(r) << r;
            loaded = true;
        });
        EXPECT_TRUE(run_until([&] { return loaded; }));
        n->link.start();
        return n;
    }

    std::optional<replica_start> attach(node& n, std::uint64_t stored_top = 0, std::uint64_t stored_epochs = 0,
                                        std::uint64_t new_epoch = 100) {
        bool done = false;
        std::optional<replica_start> got;
        n.link.attach(room_id, stored_top, stored_epochs, new_epoch, n.replica, [&](std::optional<replica_start> s) {
            got = s;
            done = true;
        });
        EXPECT_TRUE(run_until([&] { return done; })) << "attach did not complete";
        return got;
    }

    proposal_result propose(node& n, std::uint64_t epoch, std::uint64_t top, std::uint64_t author, std::string text) {
        bool done = false;
        proposal_result got;
        const std::size_t applied_before = n.replica->events.size();
        n.link.propose(room_id, epoch, top, author, (top + 1) * 10, message(top + 1, author, std::move(text)),
                       [&](proposal_result r) {
                           got = r;
                           done = true;
                           if (r.status == proposal_status::committed) {
                               EXPECT_GT(n.replica->events.size(), applied_before)
                                   << "the proposer's own event comes before its completion";
                           }
                       });
        EXPECT_TRUE(run_until([&] { return done; })) << "propose did not complete";
        return got;
    }

    /// parley_publish by hand on a fresh connection, while no node's loop runs.
    void publish_behind_the_nodes_back(std::uint64_t epoch, std::uint64_t top, std::string text) {
        const key_space keys(sequencer_options{}.partitions);
        const room_keys k = keys.keys_of(room_id);
        const auto body = encode_storage_event(message(top + 1, 9, std::move(text)));
        const auto r = server_->call({"FCALL", "parley_publish", "3", k.meta, k.log, k.outbox, std::to_string(room_id),
                                      std::to_string(epoch), std::to_string(top), body, "3600", "2000", k.channel()});
        ASSERT_EQ(r.elements().at(0).as_string(), "OK");
    }
};

TEST_F(room_link_test, every_replica_gets_every_event_once_in_order_and_a_stale_proposal_changes_nothing) {
    auto a = start_node("node-a");
    auto b = start_node("node-b");
    const auto sa = attach(*a, 0, 0, 100);
    ASSERT_TRUE(sa);
    EXPECT_TRUE(sa->seeded) << "the first node seeds an unknown room";
    EXPECT_EQ(sa->epoch, 100u);
    const auto sb = attach(*b, 0, 0, 200);
    ASSERT_TRUE(sb);
    EXPECT_FALSE(sb->seeded) << "the second follows the epoch it found";
    EXPECT_EQ(sb->epoch, 100u);

    EXPECT_EQ(propose(*a, 100, 0, 1, "one").status, proposal_status::committed);
    // b decided on a replica that has not seen 1 yet.
    const auto lost = propose(*b, 100, 0, 2, "b at 0");
    EXPECT_EQ(lost.status, proposal_status::stale);
    EXPECT_EQ(lost.seq, 1u) << "the room's top";
    ASSERT_TRUE(run_until([&] { return b->replica->events.size() == 1; }));
    const auto won = propose(*b, 100, 1, 2, "two");
    EXPECT_EQ(won.status, proposal_status::committed);
    EXPECT_EQ(won.seq, 2u);
    for (std::uint64_t top = 2; top < 20; ++top) {
        node& n = top % 2 == 0 ? *a : *b;
        ASSERT_TRUE(run_until([&] { return n.replica->events.size() == top; }));
        ASSERT_EQ(propose(n, 100, top, top, "m" + std::to_string(top + 1)).status, proposal_status::committed);
    }
    ASSERT_TRUE(run_until([&] { return a->replica->events.size() == 20 && b->replica->events.size() == 20; }));
    run_for(200ms);
    EXPECT_EQ(a->replica->seqs(), one_to(20));
    EXPECT_EQ(b->replica->seqs(), one_to(20));
    for (std::size_t i = 0; i < 20; ++i) {
        EXPECT_EQ(text_of(a->replica->events[i]), text_of(b->replica->events[i]));
        EXPECT_EQ(a->replica->events[i].epoch, 100u);
    }
    EXPECT_EQ(text_of(a->replica->events[1]), "two");
    EXPECT_EQ(a->link.stats().stale + b->link.stats().stale, 1u);
    EXPECT_GT(b->link.stats().from_channel, 0u);

    // A resend of a committed event is answered with its seq, whatever top it names.
    bool done = false;
    b->link.propose(room_id, 100, 20, 2, 20, message(21, 2, "two again"), [&](proposal_result r) {
        EXPECT_EQ(r.status, proposal_status::duplicate);
        EXPECT_EQ(r.seq, 2u);
        done = true;
    });
    ASSERT_TRUE(run_until([&] { return done; }));
}

TEST_F(room_link_test, events_published_while_a_subscriber_was_away_are_read_from_the_log) {
    auto a = start_node("node-a");
    auto b = start_node("node-b");
    ASSERT_TRUE(attach(*a));
    ASSERT_TRUE(attach(*b));
    ASSERT_EQ(propose(*a, 100, 0, 1, "one").status, proposal_status::committed);
    ASSERT_TRUE(run_until([&] { return b->replica->events.size() == 1; }));

    // Both subscribers are dropped; nothing runs the nodes' loop while 2..6
    // are published, so no subscriber can have come back for them.
    server_->call({"CLIENT", "KILL", "TYPE", "pubsub"});
    for (std::uint64_t top = 1; top < 6; ++top) publish_behind_the_nodes_back(100, top, "away " + std::to_string(top + 1));
    ASSERT_TRUE(run_until([&] { return a->replica->events.size() == 6 && b->replica->events.size() == 6; }));
    EXPECT_EQ(b->replica->seqs(), one_to(6));
    EXPECT_EQ(text_of(b->replica->events[5]), "away 6");
    EXPECT_GT(b->link.stats().repairs, 0u);
}

TEST_F(room_link_test, an_event_the_channel_silently_lost_is_found_by_positioning) {
    auto a = start_node("node-a", 200ms);
    ASSERT_TRUE(attach(*a));
    ASSERT_EQ(propose(*a, 100, 0, 1, "one").status, proposal_status::committed);
    // seq 2 reaches the log and the meta but is never published (a message pub/sub dropped).
    const room_keys k = key_space(sequencer_options{}.partitions).keys_of(room_id);
    const auto body = encode_storage_event(message(2, 9, "never published"));
    server_->call({"XADD", k.log, "2-0", "e", "100", "b", body});
    server_->call({"HSET", k.meta, "seq", "2"});
    ASSERT_TRUE(run_until([&] { return a->replica->events.size() == 2; }, 3s));
    EXPECT_EQ(text_of(a->replica->events[1]), "never published");
}

TEST_F(room_link_test, a_redis_that_lost_the_room_gets_a_new_epoch_every_replica_hears_of) {
    auto a = start_node("node-a");
    auto b = start_node("node-b");
    ASSERT_TRUE(attach(*a));
    ASSERT_TRUE(attach(*b));
    for (std::uint64_t top = 0; top < 3; ++top) ASSERT_EQ(propose(*a, 100, top, 1, "x").status, proposal_status::committed);
    ASSERT_TRUE(run_until([&] { return b->replica->events.size() == 3; }));

    server_->call({"FLUSHALL"});  // the functions stay (FLUSHALL keeps them); the room does not
    const auto refused = propose(*a, 100, 3, 1, "after the loss");
    EXPECT_EQ(refused.status, proposal_status::unavailable);
    ASSERT_TRUE(run_until([&] { return !a->replica->resets.empty() && !b->replica->resets.empty(); }));
    const auto [base, epoch] = a->replica->resets.front();
    EXPECT_EQ(base, 0u) << "nothing was known persisted, so nothing above 0 is vouched for";
    EXPECT_NE(epoch, 100u);
    EXPECT_EQ(b->replica->resets.front(), a->replica->resets.front());
    EXPECT_EQ(propose(*a, epoch, 0, 1, "new epoch").status, proposal_status::committed);
    ASSERT_TRUE(run_until([&] { return b->replica->events.size() == 4; }));
    EXPECT_EQ(b->replica->events.back().seq, 1u);
    EXPECT_EQ(b->replica->events.back().epoch, epoch);
}

TEST_F(room_link_test, a_store_ahead_of_redis_reseeds_and_a_replica_behind_the_base_reads_the_store) {
    auto a = start_node("node-a");
    auto b = start_node("node-b");
    ASSERT_TRUE(attach(*a));
    for (std::uint64_t top = 0; top < 3; ++top) ASSERT_EQ(propose(*a, 100, top, 1, "x").status, proposal_status::committed);
    // b's store holds 10 events of 1 epoch: Redis (at 3) came back older than the store.
    const auto sb = attach(*b, 10, 1, 300);
    ASSERT_TRUE(sb);
    EXPECT_TRUE(sb->seeded);
    EXPECT_EQ(sb->epoch, 300u);
    EXPECT_EQ(sb->base, 10u);
    ASSERT_TRUE(run_until([&] { return !a->replica->behind.empty(); }));
    EXPECT_EQ(a->replica->resets, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{10, 300}}));
    EXPECT_EQ(a->replica->behind, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{3, 10}}));
    a->link.caught_up(room_id, 10);
    EXPECT_EQ(propose(*b, 300, 10, 2, "eleven").status, proposal_status::committed);
    ASSERT_TRUE(run_until([&] { return a->replica->events.size() == 4; }));
    EXPECT_EQ(a->replica->events.back().seq, 11u);
}

TEST_F(room_link_test, shared_typing_reaches_the_other_nodes_only) {
    auto a = start_node("node-a");
    auto b = start_node("node-b");
    ASSERT_TRUE(attach(*a));
    ASSERT_TRUE(attach(*b));
    a->link.share(room_id, "ana is typing");
    ASSERT_TRUE(run_until([&] { return !b->replica->shared_bodies.empty(); }));
    run_for(100ms);
    EXPECT_EQ(b->replica->shared_bodies, std::vector<std::string>{"ana is typing"});
    EXPECT_TRUE(a->replica->shared_bodies.empty()) << "a node hears its own share";
}

TEST_F(room_link_test, an_unreachable_redis_fails_attach_and_proposals_without_hanging) {
    auto a = start_node("node-a");
    ASSERT_TRUE(attach(*a));
    server_->kill();
    const auto r = propose(*a, 100, 0, 1, "x");
    EXPECT_EQ(r.status, proposal_status::unavailable);
    bool done = false;
    a->link.attach(room_id + 64, 0, 0, 5, a->replica, [&](std::optional<replica_start> s) {
        EXPECT_FALSE(s);
        done = true;
    });
    EXPECT_TRUE(run_until([&] { return done; }, 10s)) << "attach hung with Redis gone";
}

}  // namespace
