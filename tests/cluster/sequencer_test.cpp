// The sequencer (parley.lua and its client) against a real redis-server on
// loopback, one fresh server per test: every guarantee of the file comment of
// sequencer.hpp gets a case that breaks when the guarantee does (dense seqs
// under concurrent publishers, refusals without side effects, reseeds by
// gen, trimmed logs told apart, watermarks only forward, leases, the outbox
// hand-over between consumers, functions across restarts), and the channel
// payload codec its round trips and a table of malformed inputs.
#include "server/cluster/sequencer.hpp"

#include "tests/cluster/redis_fixture.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using namespace parley::server::cluster;
using parley::testing::redis_server;
using parley::testing::redis_server_options;
using resp::value;
using steady = std::chrono::steady_clock;

const std::string binary = std::string("a\nb\0c\r\n\xff", 8);

/// A redis_client and the sequencer over it.
struct node {
    node(net::io_context& io, redis_options o, sequencer_options so)
        : client(io, std::move(o), redis_client::callbacks{[this] { ++connected; }, {}, {}}), seq(client, so) {}
    int connected = 0;
    redis_client client;
    sequencer seq;
};

/// What a subscriber received.
struct listener {
    std::vector<std::pair<std::string, std::string>> messages;
    int connected = 0;
    redis_subscriber::callbacks hooks() {
        return {[this](std::string_view ch, std::string_view payload) { messages.emplace_back(ch, payload); }, {},
                [this] { ++connected; }, {}};
    }
    std::vector<channel_message> parsed() const {
        std::vector<channel_message> out;
        for (const auto& m : messages) out.push_back(parse_channel_message(m.second));
        return out;
    }
};

class sequencer_test : public parley::testing::redis_fixture {
protected:
    /// A connected node with the library loaded (unless `load` is false).
    std::unique_ptr<node> connect(sequencer_options so = {}, bool load = true) {
        auto n = std::make_unique<node>(io_, options(), so);
        n->client.start();
        EXPECT_TRUE(run_until([&] { return n->connected == 1; })) << "not connected";
        if (load) {
            EXPECT_TRUE(await<acknowledged>([&](auto done) { n->seq.load(done); })) << "load failed";
        }
        return n;
    }

    /// A subscriber to `channels`, confirmed.
    std::unique_ptr<redis_subscriber> subscribe(listener& l, const std::vector<std::string>& channels) {
        auto s = std::make_unique<redis_subscriber>(io_, options(), l.hooks());
        for (const auto& c : channels) s->subscribe(c);
        s->start();
        EXPECT_TRUE(run_until([&] { return l.connected == 1; })) << "subscriber not connected";
        return s;
    }

    /// Starts one call with a completion and runs the loop until it ran;
    /// checks that it ran once and not inside the call.
    template <class T, class Start>
    outcome<T> await(Start start) {
        int calls = 0;
        std::optional<outcome<T>> got;
        start(sequencer::completion<T>([&](outcome<T> o) {
            ++calls;
            got.emplace(std::move(o));
        }));
        EXPECT_EQ(calls, 0) << "completed inside the call";
        EXPECT_TRUE(run_until([&] { return calls > 0; })) << "no completion";
        run_for(1ms);
        EXPECT_EQ(calls, 1);
        if (!got) return sequencer_error{sequencer_errc::unavailable, {}, "no completion"};
        return std::move(*got);
    }

    outcome<publish_result> publish(node& n, std::uint32_t room, std::uint64_t user, std::uint64_t client_id,
                                    std::string body, std::optional<std::uint64_t> expected = std::nullopt,
                                    std::optional<std::uint64_t> expected_top = std::nullopt) {
        return await<publish_result>([&](auto done) {
            n.seq.publish(room, {expected, expected_top}, user, client_id, std::move(body), done);
        });
    }
    outcome<seed_result> seed(node& n, std::uint32_t room, std::uint64_t epoch, std::uint64_t gen, std::uint64_t base) {
        return await<seed_result>([&](auto done) { n.seq.seed(room, epoch, gen, base, done); });
    }
    outcome<read_result> read(node& n, std::uint32_t room, std::uint64_t after, std::size_t count) {
        return await<read_result>([&](auto done) { n.seq.read(room, after, count, done); });
    }
    bool lease(node& n, unsigned partition, std::string_view node_id) {
        return await<bool>([&](auto done) { n.seq.acquire_lease(partition, node_id, 60s, done); }).value();
    }
    /// New outbox entries of `partitions` for `node_id`, which takes their leases first.
    outcome<outbox_batch> take(node& n, std::vector<unsigned> partitions, std::string_view node_id,
                               std::size_t count = 1000) {
        for (unsigned p : partitions) {
            EXPECT_TRUE(await<acknowledged>([&](auto done) { n.seq.ensure_group(p, done); }));
            EXPECT_TRUE(lease(n, p, node_id)) << "partition " << p << " is leased to another node";
        }
        return await<outbox_batch>([&](auto done) { n.seq.take_outbox(partitions, node_id, count, done); });
    }

    /// Every key and its serialized value (DUMP), sorted: equal snapshots
    /// mean nothing was written, down to a field added to a hash.
    std::vector<std::pair<std::string, std::string>> snapshot() {
        std::vector<std::pair<std::string, std::string>> out;
        const value keys = server_->call({"KEYS", "*"});
        for (const value& key : keys.elements())
            out.emplace_back(key.as_string(), server_->call({"DUMP", key.as_string()}).as_string());
        std::sort(out.begin(), out.end());
        return out;
    }

    value redis(const std::vector<std::string>& args) { return server_->call(args); }
    std::int64_t redis_int(const std::vector<std::string>& args) { return server_->call(args).as_int(); }
    std::string redis_text(const std::vector<std::string>& args) { return server_->call(args).as_string(); }

};

constexpr std::uint64_t epoch_a = 9007199254740991;  // 2^53-1: the largest epoch a room makes
constexpr std::uint64_t epoch_b = 4242;

// ---- publish -------------------------------------------------------------------------------------

TEST_F(sequencer_test, publish_on_an_unseeded_room_is_no_seed_and_writes_nothing) {
    auto n = connect();
    const auto r = publish(*n, 71, 7, 42, "hello");
    ASSERT_TRUE(r) << r;
    EXPECT_EQ(r.value().status, publish_status::no_seed);
    EXPECT_EQ(r.value().seq, 0u);
    EXPECT_EQ(redis_int({"DBSIZE"}), 0) << "NOSEED created something";
    const auto anonymous = publish(*n, 71, 7, 0, "hello");
    EXPECT_EQ(anonymous.value().status, publish_status::no_seed);
    EXPECT_EQ(redis_int({"DBSIZE"}), 0);
}

TEST_F(sequencer_test, seed_then_publish_gives_dense_seqs_in_the_log_and_the_outbox) {
    auto n = connect();
    const room_keys k = n->seq.keys().keys_of(71);
    const auto s = seed(*n, 71, epoch_a, 1, 100);
    ASSERT_TRUE(s) << s;
    EXPECT_TRUE(s.value().seeded);
    EXPECT_EQ(s.value().seq, 100u);
    EXPECT_EQ(s.value().epoch, epoch_a);
    for (std::uint64_t i = 1; i <= 5; ++i) {
        const auto r = publish(*n, 71, 7, i, binary + std::to_string(i));
        ASSERT_TRUE(r) << r;
        EXPECT_EQ(r.value().status, publish_status::ok);
        EXPECT_EQ(r.value().seq, 100 + i);
        EXPECT_EQ(r.value().epoch, epoch_a);
    }
    EXPECT_EQ(redis_text({"HGET", k.meta, "seq"}), "105");
    EXPECT_EQ(redis_text({"HGET", k.meta, "epoch"}), std::to_string(epoch_a)) << "the epoch went through a double";

    const value log = redis({"XRANGE", k.log, "-", "+"});
    ASSERT_EQ(log.elements().size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) {
        const auto& e = log.elements()[i].elements();
        EXPECT_EQ(e[0].as_string(), std::to_string(101 + i) + "-0");
        EXPECT_EQ(e[1], value::array({value::bulk_string("e"), value::bulk_string(std::to_string(epoch_a)),
                                      value::bulk_string("b"), value::bulk_string(binary + std::to_string(i + 1))}));
    }
    const value outbox = redis({"XRANGE", k.outbox, "-", "+"});
    ASSERT_EQ(outbox.elements().size(), 5u);
    const auto& first = outbox.elements()[0].elements()[1];
    EXPECT_EQ(first, value::array({value::bulk_string("r"), value::bulk_string("71"), value::bulk_string("s"),
                                   value::bulk_string("101"), value::bulk_string("e"),
                                   value::bulk_string(std::to_string(epoch_a)), value::bulk_string("b"),
                                   value::bulk_string(binary + "1")}));
    EXPECT_EQ(redis_text({"GET", k.dedup(7, 3)}), "103 " + std::to_string(epoch_a));
    const auto ttl = redis_int({"TTL", k.dedup(7, 3)});
    EXPECT_GT(ttl, 3500);
    EXPECT_LE(ttl, 3600);
}

// Seqs are decimal strings in Lua, never doubles: past 2^53 and across a
// carry into a new digit (where tostring would print 1e+15) they stay exact.
TEST_F(sequencer_test, seqs_stay_exact_beyond_the_doubles_of_lua) {
    auto n = connect();
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> cases{
        {99, 100}, {999999999999999, 1000000000000000}, {9007199254740992, 9007199254740993},
        {9223372036854775806, 9223372036854775807}};
    std::uint32_t room = 1;
    for (const auto& [base, next] : cases) {
        ASSERT_TRUE(seed(*n, room, epoch_a, 1, base).value().seeded);
        const auto r = publish(*n, room, 1, 0, "x");
        ASSERT_TRUE(r) << r;
        EXPECT_EQ(r.value().seq, next);
        EXPECT_EQ(redis_text({"HGET", n->seq.keys().keys_of(room).meta, "seq"}), std::to_string(next));
        ++room;
    }
    // At 2^63-1 the next seq does not exist: refused, and nothing written.
    const auto full = publish(*n, room - 1, 1, 0, "x");
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, sequencer_errc::redis_error) << full;
    EXPECT_EQ(redis_int({"XLEN", n->seq.keys().keys_of(room - 1).log}), 1);
}

TEST_F(sequencer_test, two_connections_publishing_at_once_get_each_seq_once_in_order) {
    auto a = connect();
    auto b = connect();
    const room_keys k = a->seq.keys().keys_of(9);
    listener l;
    auto sub = subscribe(l, {k.channel()});
    ASSERT_TRUE(seed(*a, 9, epoch_a, 1, 1000).value().seeded);
    ASSERT_TRUE(await<acknowledged>([&](auto done) { a->seq.ensure_group(k.partition, done); }));

    constexpr int per_node = 500;
    std::map<std::uint64_t, std::string> body_of;  // seq -> body
    std::vector<std::uint64_t> seqs_a, seqs_b;
    int failures = 0;
    for (int i = 0; i < per_node; ++i)
        for (node* n : {a.get(), b.get()}) {
            const bool is_a = n == a.get();
            std::string body = (is_a ? "a" : "b") + std::to_string(i) + binary;
            n->seq.publish(9, {epoch_a}, is_a ? 1 : 2, static_cast<std::uint64_t>(i + 1), body,
                           [&, is_a, body](outcome<publish_result> r) {
                               if (!r || r.value().status != publish_status::ok) return void(++failures);
                               (is_a ? seqs_a : seqs_b).push_back(r.value().seq);
                               body_of[r.value().seq] = body;
                           });
        }
    ASSERT_TRUE(run_until([&] { return seqs_a.size() + seqs_b.size() + static_cast<std::size_t>(failures) == 2 * per_node; }));
    EXPECT_EQ(failures, 0);
    // Each connection's replies come in its order, so its seqs rise.
    EXPECT_TRUE(std::is_sorted(seqs_a.begin(), seqs_a.end()));
    EXPECT_TRUE(std::is_sorted(seqs_b.begin(), seqs_b.end()));
    ASSERT_EQ(body_of.size(), 2u * per_node) << "a seq was given twice";
    EXPECT_EQ(body_of.begin()->first, 1001u);
    EXPECT_EQ(body_of.rbegin()->first, 1000u + 2 * per_node) << "not dense";

    EXPECT_EQ(redis_int({"XLEN", k.log}), 2 * per_node);
    // The outbox holds every event once, with its body.
    const auto batch = take(*a, {k.partition}, "p1");
    ASSERT_TRUE(batch) << batch;
    ASSERT_EQ(batch.value().entries.size(), 2u * per_node);
    EXPECT_TRUE(batch.value().malformed.empty());
    for (std::size_t i = 0; i < batch.value().entries.size(); ++i) {
        const outbox_entry& e = batch.value().entries[i];
        EXPECT_EQ(e.seq, 1001 + i) << "outbox out of seq order";
        EXPECT_EQ(e.room, 9u);
        EXPECT_EQ(e.epoch, epoch_a);
        EXPECT_EQ(e.body, body_of[e.seq]);
    }
    // And the channel carried them in seq order.
    ASSERT_TRUE(run_until([&] { return l.messages.size() == 1 + 2 * per_node; })) << l.messages.size();
    const auto got = l.parsed();
    EXPECT_EQ(std::get<channel::reset>(got[0]), (channel::reset{1000, epoch_a}));
    for (std::size_t i = 1; i < got.size(); ++i) {
        const auto* e = std::get_if<channel::event>(&got[i]);
        ASSERT_NE(e, nullptr) << l.messages[i].second;
        EXPECT_EQ(e->seq, 1000 + i);
        EXPECT_EQ(e->epoch, epoch_a);
        EXPECT_EQ(e->body, body_of[e->seq]);
    }
}

TEST_F(sequencer_test, a_retried_client_message_is_a_duplicate_without_side_effects) {
    auto a = connect();
    auto b = connect();
    const room_keys k = a->seq.keys().keys_of(5);
    ASSERT_TRUE(seed(*a, 5, epoch_a, 1, 0).value().seeded);
    listener l;
    auto sub = subscribe(l, {k.channel()});

    const auto first = publish(*a, 5, 7, 42, "first");
    ASSERT_EQ(first.value().status, publish_status::ok);
    EXPECT_EQ(first.value().seq, 1u);
    ASSERT_TRUE(run_until([&] { return l.messages.size() == 1; }));
    const auto before = snapshot();

    // The same (user, client_id) through another connection, another body, any expected epoch.
    for (std::optional<std::uint64_t> expected : {std::optional<std::uint64_t>{}, std::optional<std::uint64_t>{epoch_b}}) {
        const auto again = publish(*b, 5, 7, 42, "second", expected);
        ASSERT_TRUE(again) << again;
        EXPECT_EQ(again.value().status, publish_status::duplicate);
        EXPECT_EQ(again.value().seq, 1u);
        EXPECT_EQ(again.value().epoch, epoch_a);
    }
    EXPECT_EQ(redis_text({"HGET", k.meta, "seq"}), "1");
    EXPECT_EQ(redis_int({"XLEN", k.log}), 1);
    EXPECT_EQ(redis_int({"XLEN", k.outbox}), 1);
    EXPECT_EQ(snapshot(), before) << "a duplicate wrote something";
    run_for(100ms);
    EXPECT_EQ(l.messages.size(), 1u) << "a duplicate was published";

    // Another user with the same client_id is another message.
    EXPECT_EQ(publish(*b, 5, 8, 42, "other user").value().seq, 2u);
    // client_id 0 is never deduplicated.
    EXPECT_EQ(publish(*a, 5, 7, 0, "same").value().seq, 3u);
    const auto anonymous = publish(*b, 5, 7, 0, "same");
    EXPECT_EQ(anonymous.value().status, publish_status::ok);
    EXPECT_EQ(anonymous.value().seq, 4u);
    EXPECT_EQ(redis_int({"EXISTS", k.dedup(7, 0)}), 0);
}

TEST_F(sequencer_test, an_unexpected_epoch_is_stale_without_side_effects) {
    auto n = connect();
    const room_keys k = n->seq.keys().keys_of(6);
    ASSERT_TRUE(seed(*n, 6, epoch_a, 1, 10).value().seeded);
    ASSERT_EQ(publish(*n, 6, 1, 1, "x", epoch_a).value().seq, 11u);
    listener l;
    auto sub = subscribe(l, {k.channel()});
    const auto before = snapshot();

    const auto stale = publish(*n, 6, 1, 2, "y", epoch_b);
    ASSERT_TRUE(stale) << stale;
    EXPECT_EQ(stale.value().status, publish_status::stale_epoch);
    EXPECT_EQ(stale.value().seq, 11u);
    EXPECT_EQ(stale.value().epoch, epoch_a);
    EXPECT_EQ(redis_text({"HGET", k.meta, "seq"}), "11");
    EXPECT_EQ(redis_int({"XLEN", k.log}), 1);
    EXPECT_EQ(redis_int({"XLEN", k.outbox}), 1);
    EXPECT_EQ(redis_int({"EXISTS", k.dedup(1, 2)}), 0) << "the refusal left a dedup key";
    EXPECT_EQ(snapshot(), before) << "the refusal wrote something";
    run_for(100ms);
    EXPECT_TRUE(l.messages.empty());

    // The refused client message goes through once its epoch is right.
    const auto ok = publish(*n, 6, 1, 2, "y", epoch_a);
    EXPECT_EQ(ok.value().status, publish_status::ok);
    EXPECT_EQ(ok.value().seq, 12u);
}

// Two nodes decide an event each on replicas at top 11: one gets 12, the
// other is told the top moved and changes nothing; a resend of the winner
// is still answered as a duplicate whatever top it names.
TEST_F(sequencer_test, an_unexpected_top_is_stale_without_side_effects_and_a_resend_is_still_a_duplicate) {
    auto a = connect();
    auto b = connect();
    const room_keys k = a->seq.keys().keys_of(8);
    ASSERT_TRUE(seed(*a, 8, epoch_a, 1, 11).value().seeded);
    const auto first = publish(*a, 8, 1, 100, "from a", epoch_a, 11);
    ASSERT_EQ(first.value().status, publish_status::ok);
    EXPECT_EQ(first.value().seq, 12u);
    const auto before = snapshot();

    const auto lost = publish(*b, 8, 2, 200, "from b", epoch_a, 11);
    ASSERT_TRUE(lost) << lost;
    EXPECT_EQ(lost.value().status, publish_status::stale_top);
    EXPECT_EQ(lost.value().seq, 12u) << "the room's top, to catch up to";
    EXPECT_EQ(lost.value().epoch, epoch_a);
    EXPECT_EQ(redis_int({"EXISTS", k.dedup(2, 200)}), 0);
    EXPECT_EQ(snapshot(), before) << "the refusal wrote something";

    const auto resend = publish(*a, 8, 1, 100, "from a", epoch_a, 5);
    EXPECT_EQ(resend.value().status, publish_status::duplicate);
    EXPECT_EQ(resend.value().seq, 12u);

    const auto retried = publish(*b, 8, 2, 200, "from b", epoch_a, 12);
    EXPECT_EQ(retried.value().status, publish_status::ok);
    EXPECT_EQ(retried.value().seq, 13u);
    // No fence at all still appends.
    EXPECT_EQ(publish(*b, 8, 2, 201, "any").value().seq, 14u);
}

// ---- seed ----------------------------------------------------------------------------------------

TEST_F(sequencer_test, seed_keeps_an_equal_or_lower_gen_and_a_higher_gen_reseeds) {
    auto n = connect();
    const room_keys k = n->seq.keys().keys_of(3);
    listener l;
    auto sub = subscribe(l, {k.channel()});

    const auto s = seed(*n, 3, epoch_a, 2, 100);
    ASSERT_TRUE(s.value().seeded);
    EXPECT_EQ(s.value().gen, 2u);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(publish(*n, 3, 1, 0, "m").value().status, publish_status::ok);

    const auto before = snapshot();
    for (std::uint64_t gen : {std::uint64_t{1}, std::uint64_t{2}}) {
        const auto kept = seed(*n, 3, epoch_b, gen, 5);
        ASSERT_TRUE(kept) << kept;
        EXPECT_FALSE(kept.value().seeded) << "gen " << gen;
        EXPECT_EQ(kept.value().seq, 103u);
        EXPECT_EQ(kept.value().epoch, epoch_a);
        EXPECT_EQ(kept.value().gen, 2u);
    }
    EXPECT_EQ(redis_text({"HGET", k.meta, "epoch"}), std::to_string(epoch_a));
    EXPECT_EQ(redis_text({"HGET", k.meta, "seq"}), "103");
    EXPECT_EQ(redis_int({"XLEN", k.log}), 3);
    EXPECT_EQ(snapshot(), before) << "a kept seed wrote something";

    const auto reseeded = seed(*n, 3, epoch_b, 3, 50);
    ASSERT_TRUE(reseeded.value().seeded);
    EXPECT_EQ(reseeded.value().seq, 50u);
    EXPECT_EQ(redis_int({"EXISTS", k.log}), 0) << "the old epoch's log survived";
    EXPECT_EQ(redis({"HMGET", k.meta, "epoch", "gen", "seq", "persisted"}),
              value::array({value::bulk_string(std::to_string(epoch_b)), value::bulk_string("3"),
                            value::bulk_string("50"), value::bulk_string("50")}));
    const auto next = publish(*n, 3, 1, 0, "m");
    EXPECT_EQ(next.value().seq, 51u);
    EXPECT_EQ(next.value().epoch, epoch_b);

    ASSERT_TRUE(run_until([&] { return l.messages.size() == 6; }));
    run_for(50ms);
    const auto got = l.parsed();
    ASSERT_EQ(got.size(), 6u) << "a kept seed published";
    EXPECT_EQ(got[0], channel_message(channel::reset{100, epoch_a}));
    EXPECT_EQ(got[3], channel_message(channel::event{103, epoch_a, "m"}));
    EXPECT_EQ(got[4], channel_message(channel::reset{50, epoch_b}));
    EXPECT_EQ(got[5], channel_message(channel::event{51, epoch_b, "m"}));
}

// ---- read ----------------------------------------------------------------------------------------

TEST_F(sequencer_test, read_returns_the_entries_after_a_seq) {
    auto n = connect();
    ASSERT_TRUE(seed(*n, 4, epoch_a, 1, 10).value().seeded);
    for (int i = 11; i <= 15; ++i) ASSERT_TRUE(publish(*n, 4, 1, 0, binary + std::to_string(i)));

    const auto r = read(*n, 4, 12, 10);
    ASSERT_TRUE(r) << r;
    EXPECT_TRUE(r.value().seeded);
    EXPECT_EQ(r.value().state, (room_state{epoch_a, 1, 15, 10}));
    EXPECT_EQ(r.value().first_in_log, 11u);
    EXPECT_EQ(r.value().entries, (std::vector<log_entry>{{13, epoch_a, binary + "13"}, {14, epoch_a, binary + "14"},
                                                          {15, epoch_a, binary + "15"}}));
    EXPECT_TRUE(r.value().covers(12));

    const auto one = read(*n, 4, 13, 1);
    EXPECT_EQ(one.value().entries, (std::vector<log_entry>{{14, epoch_a, binary + "14"}}));
    const auto none = read(*n, 4, 15, 10);
    EXPECT_TRUE(none.value().entries.empty());
    EXPECT_TRUE(none.value().covers(15)) << "nothing after is not a gap";
    // Seqs up to the base are in PostgreSQL, not in the log.
    const auto all = read(*n, 4, 0, 100);
    EXPECT_EQ(all.value().entries.size(), 5u);
    EXPECT_FALSE(all.value().covers(0));
    EXPECT_TRUE(all.value().covers(10));

    const auto unseeded = read(*n, 5, 0, 10);
    ASSERT_TRUE(unseeded) << unseeded;
    EXPECT_FALSE(unseeded.value().seeded);
    EXPECT_EQ(redis_int({"EXISTS", n->seq.keys().keys_of(5).meta}), 0);
}

TEST_F(sequencer_test, read_tells_a_trimmed_or_reseeded_log_from_nothing_after) {
    sequencer_options so;
    so.log_maxlen = 10;
    auto n = connect(so);
    // Small stream nodes, so that MAXLEN ~ trims close to 10.
    redis({"CONFIG", "SET", "stream-node-max-entries", "5"});
    const room_keys k = n->seq.keys().keys_of(8);
    ASSERT_TRUE(seed(*n, 8, epoch_a, 1, 0).value().seeded);
    for (int i = 1; i <= 100; ++i) ASSERT_TRUE(publish(*n, 8, 1, 0, "e" + std::to_string(i)));
    EXPECT_LT(redis_int({"XLEN", k.log}), 20) << "not trimmed";

    const auto r = read(*n, 8, 0, 1000);
    ASSERT_TRUE(r) << r;
    const std::uint64_t first = r.value().first_in_log;
    EXPECT_GT(first, 80u);
    EXPECT_EQ(r.value().state.top, 100u);
    EXPECT_FALSE(r.value().covers(0)) << "seq 1 was trimmed";
    EXPECT_FALSE(r.value().covers(first - 2));
    EXPECT_TRUE(r.value().covers(first - 1));
    ASSERT_FALSE(r.value().entries.empty());
    EXPECT_EQ(r.value().entries.front().seq, first);
    EXPECT_EQ(r.value().entries.back().seq, 100u);
    EXPECT_EQ(r.value().entries.back().body, "e100");

    // A reseed above the reader's position: the log is empty, the top is the base.
    ASSERT_TRUE(seed(*n, 8, epoch_b, 2, 200).value().seeded);
    const auto after = read(*n, 8, 100, 10);
    EXPECT_EQ(after.value().first_in_log, 0u);
    EXPECT_EQ(after.value().state.top, 200u);
    EXPECT_EQ(after.value().state.epoch, epoch_b);
    EXPECT_FALSE(after.value().covers(100));
    EXPECT_TRUE(after.value().covers(200));
}

TEST_F(sequencer_test, tops_returns_each_rooms_state_or_nothing) {
    auto n = connect();
    ASSERT_TRUE(seed(*n, 1, epoch_a, 1, 10).value().seeded);
    ASSERT_TRUE(seed(*n, 65, epoch_b, 4, 20).value().seeded);  // the same partition as room 1
    ASSERT_TRUE(publish(*n, 65, 1, 0, "x"));
    const auto t = await<std::vector<std::optional<room_state>>>([&](auto done) { n->seq.tops({1, 2, 65}, done); });
    ASSERT_TRUE(t) << t;
    ASSERT_EQ(t.value().size(), 3u);
    EXPECT_EQ(t.value()[0], (room_state{epoch_a, 1, 10, 10}));
    EXPECT_FALSE(t.value()[1].has_value());
    EXPECT_EQ(t.value()[2], (room_state{epoch_b, 4, 21, 20}));
    const auto empty = await<std::vector<std::optional<room_state>>>([&](auto done) { n->seq.tops({}, done); });
    EXPECT_TRUE(empty.value().empty());
}

// ---- watermark -----------------------------------------------------------------------------------

TEST_F(sequencer_test, the_persisted_watermark_moves_only_forward_in_the_current_epoch) {
    auto n = connect();
    const room_keys k = n->seq.keys().keys_of(2);
    ASSERT_TRUE(seed(*n, 2, epoch_a, 1, 10).value().seeded);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(publish(*n, 2, 1, 0, "x"));  // 11..15
    listener l;
    auto sub = subscribe(l, {k.channel()});
    auto mark = [&](std::uint64_t epoch, std::uint64_t seq) {
        const auto r = await<bool>([&](auto done) { n->seq.mark_persisted(2, epoch, seq, done); });
        EXPECT_TRUE(r) << r;
        return r && r.value();
    };

    EXPECT_TRUE(mark(epoch_a, 12));
    EXPECT_EQ(redis_text({"HGET", k.meta, "persisted"}), "12");
    const auto before = snapshot();
    EXPECT_FALSE(mark(epoch_a, 11)) << "backwards";
    EXPECT_FALSE(mark(epoch_a, 12)) << "not forward";
    EXPECT_FALSE(mark(epoch_b, 14)) << "another epoch";
    EXPECT_FALSE(mark(epoch_a, 16)) << "above the top seq";
    EXPECT_FALSE(mark(epoch_a, 10)) << "the base";
    EXPECT_EQ(snapshot(), before) << "a refused watermark wrote something";
    EXPECT_TRUE(mark(epoch_a, 15));
    EXPECT_EQ(redis_text({"HGET", k.meta, "persisted"}), "15");
    EXPECT_FALSE(await<bool>([&](auto done) { n->seq.mark_persisted(99, epoch_a, 1, done); }).value()) << "unseeded room";

    ASSERT_TRUE(run_until([&] { return l.messages.size() == 2; }));
    run_for(50ms);
    EXPECT_EQ(l.parsed(), (std::vector<channel_message>{channel::watermark{12, epoch_a}, channel::watermark{15, epoch_a}}));
}

// ---- leases and heartbeats -----------------------------------------------------------------------

// Room ids for rooms created on any node: blocks never overlap, whichever
// node asks, and never start at or below the floor (the store's top), even
// after Redis lost its counter.
TEST_F(sequencer_test, room_id_blocks_never_overlap_and_stay_above_the_floor) {
    auto a = connect();
    auto b = connect();
    auto reserve = [&](node& n, std::uint32_t count, std::uint32_t floor) {
        return await<std::uint32_t>([&](auto done) { n.seq.reserve_room_ids(count, floor, done); });
    };
    EXPECT_EQ(reserve(*a, 64, 11).value(), 12u) << "the first block starts above the floor";
    EXPECT_EQ(reserve(*b, 64, 11).value(), 76u);
    EXPECT_EQ(reserve(*a, 64, 5).value(), 140u) << "a lower floor changes nothing";
    server_->call({"DEL", key_space::room_ids()});  // Redis lost it
    EXPECT_EQ(reserve(*b, 10, 500).value(), 501u) << "the floor protects the rooms already stored";
    EXPECT_EQ(server_->call({"GET", key_space::room_ids()}).as_string(), "510");
    EXPECT_FALSE(reserve(*a, 0, 1)) << "an empty block";
    server_->call({"SET", key_space::room_ids(), "4294967290"});
    const auto exhausted = reserve(*a, 64, 1);
    ASSERT_FALSE(exhausted);
    EXPECT_EQ(exhausted.error().code, sequencer_errc::redis_error);
}

TEST_F(sequencer_test, a_lease_has_one_holder_at_a_time) {
    auto n = connect();
    const std::string key = n->seq.keys().lease(3);
    auto acquire = [&](std::string_view node_id, std::chrono::milliseconds ttl) {
        return await<bool>([&](auto done) { n->seq.acquire_lease(3, node_id, ttl, done); }).value();
    };
    auto release = [&](std::string_view node_id) {
        return await<bool>([&](auto done) { n->seq.release_lease(3, node_id, done); }).value();
    };

    EXPECT_TRUE(acquire("node-a", 1000ms));
    EXPECT_FALSE(acquire("node-b", 1000ms));
    EXPECT_EQ(redis_text({"GET", key}), "node-a");
    EXPECT_LE(redis_int({"PTTL", key}), 1000);
    EXPECT_TRUE(acquire("node-a", 60000ms)) << "the holder renews";
    EXPECT_GT(redis_int({"PTTL", key}), 1000) << "renewal did not extend the lease";
    EXPECT_FALSE(release("node-b"));
    EXPECT_EQ(redis_text({"GET", key}), "node-a") << "released by another node";
    EXPECT_TRUE(release("node-a"));
    EXPECT_FALSE(release("node-a"));
    EXPECT_EQ(redis_int({"EXISTS", key}), 0);

    // Margins of a few hundred ms: a loaded machine may stall between two calls.
    EXPECT_TRUE(acquire("node-b", 400ms));
    EXPECT_FALSE(acquire("node-a", 400ms));
    run_for(500ms);
    EXPECT_TRUE(acquire("node-a", 1000ms)) << "an expired lease was not free";
    EXPECT_FALSE(acquire("node-b", 1000ms));
    EXPECT_EQ(redis_int({"EXISTS", n->seq.keys().lease(4)}), 0) << "another partition's lease was touched";
}

TEST_F(sequencer_test, a_heartbeat_keeps_a_node_alive_for_its_ttl) {
    auto n = connect();
    auto alive = [&](std::string_view id) { return await<bool>([&](auto done) { n->seq.node_alive(id, done); }).value(); };
    EXPECT_FALSE(alive("n1"));
    ASSERT_TRUE(await<acknowledged>([&](auto done) { n->seq.heartbeat("n1", 400ms, done); }));
    EXPECT_TRUE(alive("n1"));
    EXPECT_FALSE(alive("n2"));
    EXPECT_EQ(redis_int({"EXISTS", "parley:node:n1"}), 1);
    run_for(500ms);
    EXPECT_FALSE(alive("n1"));
}

TEST_F(sequencer_test, an_ephemeral_message_goes_to_the_room_channel_unsequenced) {
    auto n = connect();
    const room_keys k = n->seq.keys().keys_of(12);
    listener l;
    auto sub = subscribe(l, {k.channel()});
    const auto r = await<std::uint64_t>([&](auto done) { n->seq.publish_ephemeral(12, "node-1", binary, done); });
    EXPECT_EQ(r.value(), 1u);
    ASSERT_TRUE(run_until([&] { return l.messages.size() == 1; }));
    EXPECT_EQ(l.parsed()[0], channel_message(channel::ephemeral{"node-1", binary}));
    EXPECT_EQ(redis_int({"DBSIZE"}), 0);
}

// ---- outbox --------------------------------------------------------------------------------------

TEST_F(sequencer_test, outbox_entries_move_to_the_next_lease_holder_and_ack_deletes_them) {
    auto n = connect();
    const room_keys k = n->seq.keys().keys_of(70);
    const unsigned p = k.partition;
    for (int i = 0; i < 2; ++i)
        ASSERT_TRUE(await<acknowledged>([&](auto done) { n->seq.ensure_group(p, done); })) << "an existing group is success";
    ASSERT_TRUE(seed(*n, 70, epoch_a, 1, 0).value().seeded);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(publish(*n, 70, 1, 0, binary + std::to_string(i)));

    auto take_as = [&](std::string_view node_id) {
        return await<outbox_batch>([&](auto done) { n->seq.take_outbox({p}, node_id, 10, done); });
    };
    auto claim_as = [&](std::string_view node_id, std::chrono::milliseconds min_idle) {
        return await<outbox_batch>([&](auto done) { n->seq.claim_outbox(p, node_id, min_idle, 10, done); });
    };
    // Without the lease nothing is delivered.
    const auto fenced = take_as("A");
    ASSERT_TRUE(fenced) << fenced;
    EXPECT_TRUE(fenced.value().entries.empty());
    EXPECT_EQ(fenced.value().lost, std::vector<unsigned>{p});
    EXPECT_EQ(redis({"XPENDING", k.outbox, std::string(outbox_group)}).elements()[0], value::integer(0));

    ASSERT_TRUE(lease(*n, p, "A"));
    const auto got = take_as("A");
    ASSERT_TRUE(got) << got;
    EXPECT_TRUE(got.value().lost.empty());
    ASSERT_EQ(got.value().entries.size(), 5u);
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < 5; ++i) {
        const outbox_entry& e = got.value().entries[i];
        EXPECT_EQ(e.partition, p);
        EXPECT_EQ(e.room, 70u);
        EXPECT_EQ(e.seq, i + 1);
        EXPECT_EQ(e.epoch, epoch_a);
        EXPECT_EQ(e.body, binary + std::to_string(i + 1));
        ids.push_back(e.id);
    }
    EXPECT_TRUE(take_as("A").value().entries.empty()) << "delivered twice";
    EXPECT_EQ(claim_as("B", 0ms).value().lost, std::vector<unsigned>{p}) << "claimed without the lease";

    // A's lease passes to B (A died): B claims what A had read, at once.
    ASSERT_TRUE(await<bool>([&](auto done) { n->seq.release_lease(p, "A", done); }).value());
    ASSERT_TRUE(lease(*n, p, "B"));
    EXPECT_TRUE(claim_as("B", 60s).value().entries.empty()) << "claimed before min_idle";
    const auto claimed = claim_as("B", 0ms);
    ASSERT_TRUE(claimed) << claimed;
    ASSERT_EQ(claimed.value().entries, got.value().entries);
    EXPECT_EQ(claimed.value().next_cursor, "0-0");
    const value pending = redis({"XPENDING", k.outbox, std::string(outbox_group)});
    EXPECT_EQ(pending.elements()[0], value::integer(5));
    EXPECT_EQ(pending.elements()[3], value::array({value::array({value::bulk_string("B"), value::bulk_string("5")})}));
    EXPECT_TRUE(take_as("A").value().entries.empty());
    EXPECT_EQ(take_as("A").value().lost, std::vector<unsigned>{p}) << "a former holder still reads";

    const auto acked = await<std::uint64_t>([&](auto done) { n->seq.ack_outbox(p, ids, done); });
    EXPECT_EQ(acked.value(), 5u);
    EXPECT_EQ(redis_int({"XLEN", k.outbox}), 0);
    EXPECT_EQ(redis({"XPENDING", k.outbox, std::string(outbox_group)}).elements()[0], value::integer(0));
}

TEST_F(sequencer_test, one_take_reads_the_outboxes_of_several_partitions) {
    auto n = connect();
    const std::vector<std::uint32_t> rooms{3, 4, 67};  // partitions 3, 4, 3
    for (auto room : rooms) {
        ASSERT_TRUE(seed(*n, room, epoch_b, 1, 0).value().seeded);
        ASSERT_TRUE(publish(*n, room, 1, 0, "to " + std::to_string(room)));
    }
    ASSERT_TRUE(lease(*n, 5, "other"));
    ASSERT_TRUE(await<acknowledged>([&](auto done) { n->seq.ensure_group(5, done); }));
    ASSERT_TRUE(seed(*n, 5, epoch_b, 1, 0).value().seeded);
    ASSERT_TRUE(publish(*n, 5, 1, 0, "not mine"));
    ASSERT_TRUE(lease(*n, 6, "A"));  // held, but without a group

    const auto got = take(*n, {4, 3}, "A");
    ASSERT_TRUE(got) << got;
    std::map<std::uint32_t, unsigned> partition_of;
    for (const auto& e : got.value().entries) partition_of[e.room] = e.partition;
    EXPECT_EQ(partition_of, (std::map<std::uint32_t, unsigned>{{3, 3}, {4, 4}, {67, 3}}));

    ASSERT_TRUE(publish(*n, 3, 1, 0, "again"));
    const auto mixed = await<outbox_batch>([&](auto done) { n->seq.take_outbox({6, 5, 3}, "A", 10, done); });
    ASSERT_TRUE(mixed) << mixed;
    ASSERT_EQ(mixed.value().entries.size(), 1u) << "a refused partition stopped the others";
    EXPECT_EQ(mixed.value().entries[0].body, "again");
    EXPECT_EQ(mixed.value().lost, std::vector<unsigned>{5});
    EXPECT_EQ(mixed.value().missing_group, std::vector<unsigned>{6});
    EXPECT_EQ(redis_int({"XLEN", n->seq.keys().outbox(5)}), 1);

    auto refused = [](const outcome<outbox_batch>& o) { return !o && o.error().code == sequencer_errc::invalid_argument; };
    EXPECT_TRUE(refused(await<outbox_batch>([&](auto done) { n->seq.take_outbox({}, "A", 1, done); })));
    EXPECT_TRUE(refused(await<outbox_batch>([&](auto done) { n->seq.take_outbox({3, 3}, "A", 1, done); })));
    EXPECT_TRUE(refused(await<outbox_batch>([&](auto done) { n->seq.take_outbox({64}, "A", 1, done); })));
    EXPECT_TRUE(refused(await<outbox_batch>([&](auto done) { n->seq.take_outbox({3}, "A", 0, done); })));
}

TEST_F(sequencer_test, malformed_outbox_entries_are_reported_not_thrown) {
    auto n = connect();
    const std::string outbox = n->seq.keys().outbox(1);
    ASSERT_TRUE(await<acknowledged>([&](auto done) { n->seq.ensure_group(1, done); }));
    const std::vector<std::vector<std::string>> bad{
        {"r", "x", "s", "1", "e", "1", "b", "y"},          {"r", "1", "s", "0", "e", "1", "b", "y"},
        {"r", "1", "s", "1", "e", "1"},                    {"foo", "bar"},
        {"r", "4294967296", "s", "1", "e", "1", "b", "y"}, {"r", "1", "s", "1", "e", "1", "e", "2"},
        {"r", "1", "s", "1", "e", "0", "b", "y"}};
    for (const auto& fields : bad) {
        std::vector<std::string> args{"XADD", outbox, "*"};
        args.insert(args.end(), fields.begin(), fields.end());
        redis(args);
    }
    redis({"XADD", outbox, "*", "r", "1", "s", "1", "e", "1", "b", ""});  // a good one, with an empty body
    const auto batch = take(*n, {1}, "A");
    ASSERT_TRUE(batch) << batch;
    EXPECT_EQ(batch.value().malformed.size(), bad.size());
    ASSERT_EQ(batch.value().entries.size(), 1u);
    EXPECT_EQ(batch.value().entries[0].body, "");
    std::vector<std::string> ids;
    for (const auto& m : batch.value().malformed) {
        EXPECT_FALSE(m.why.empty());
        ids.push_back(m.id);
    }
    EXPECT_EQ(await<std::uint64_t>([&](auto done) { n->seq.ack_outbox(1, ids, done); }).value(), bad.size());
    EXPECT_EQ(redis_int({"XLEN", outbox}), 1);
}

// ---- functions across restarts -------------------------------------------------------------------

TEST_F(sequencer_test, functions_survive_a_restart_with_an_aof) {
    server_.reset();
    server_.emplace(redis_server_options{.append_only = true});
    auto n = connect();
    ASSERT_TRUE(seed(*n, 7, epoch_a, 1, 0).value().seeded);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(publish(*n, 7, 1, 0, "x"));
    server_->kill();
    server_->start();
    ASSERT_TRUE(run_until([&] { return n->connected == 2; }));
    const auto r = publish(*n, 7, 1, 0, "after");  // no load()
    ASSERT_TRUE(r) << r;
    EXPECT_EQ(r.value().status, publish_status::ok);
    EXPECT_EQ(r.value().seq, 4u);
}

TEST_F(sequencer_test, functions_are_missing_after_a_restart_without_persistence_and_load_fixes_it) {
    auto n = connect();
    ASSERT_TRUE(seed(*n, 7, epoch_a, 1, 0).value().seeded);
    ASSERT_TRUE(publish(*n, 7, 1, 0, "x"));
    server_->kill();
    server_->start();
    ASSERT_TRUE(run_until([&] { return n->connected == 2; }));

    const auto missing = publish(*n, 7, 1, 0, "x");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, sequencer_errc::function_missing) << missing;
    EXPECT_EQ(missing.error().transport, redis_errc::redis_error);
    EXPECT_EQ(read(*n, 7, 0, 10).error().code, sequencer_errc::function_missing) << "FCALL_RO";
    const auto lease = await<bool>([&](auto done) { n->seq.acquire_lease(0, "n", 100ms, done); });
    EXPECT_EQ(lease.error().code, sequencer_errc::function_missing);

    ASSERT_TRUE(await<acknowledged>([&](auto done) { n->seq.load(done); }));
    ASSERT_TRUE(await<acknowledged>([&](auto done) { n->seq.load(done); })) << "load is idempotent";
    const auto retried = publish(*n, 7, 1, 0, "x");
    ASSERT_TRUE(retried) << retried;
    EXPECT_EQ(retried.value().status, publish_status::no_seed) << "the data went with the functions";
}

TEST_F(sequencer_test, transport_failures_are_unavailable) {
    auto n = connect();
    server_->kill();
    ASSERT_TRUE(run_until([&] {
        const auto r = publish(*n, 1, 1, 0, "x");
        return !r && r.error().code == sequencer_errc::unavailable && r.error().transport == redis_errc::disconnected;
    }));
}

// ---- refusals ------------------------------------------------------------------------------------

TEST_F(sequencer_test, bad_arguments_are_refused_before_anything_is_sent) {
    auto n = connect();
    auto refused = [](const auto& o) { return !o && o.error().code == sequencer_errc::invalid_argument; };
    EXPECT_TRUE(refused(read(*n, 1, 0, 0)));
    EXPECT_TRUE(refused(read(*n, 1, 0, max_read_entries + 1)));
    EXPECT_TRUE(refused(read(*n, 1, max_number + 1, 1)));
    EXPECT_TRUE(refused(publish(*n, 1, 1, 1, "x", 0)));
    EXPECT_TRUE(refused(seed(*n, 1, 0, 1, 0)));
    EXPECT_TRUE(refused(seed(*n, 1, 1, 1, max_number + 1)));
    EXPECT_TRUE(refused(await<bool>([&](auto done) { n->seq.mark_persisted(1, epoch_a, 0, done); })));
    EXPECT_TRUE(refused(await<bool>([&](auto done) { n->seq.acquire_lease(64, "n", 1s, done); })));
    EXPECT_TRUE(refused(await<bool>([&](auto done) { n->seq.acquire_lease(0, "a b", 1s, done); })));
    EXPECT_TRUE(refused(await<bool>([&](auto done) { n->seq.acquire_lease(0, "n", 0ms, done); })));
    EXPECT_TRUE(refused(await<acknowledged>([&](auto done) { n->seq.heartbeat(std::string(49, 'n'), 1s, done); })));
    EXPECT_TRUE(refused(await<std::uint64_t>([&](auto done) { n->seq.publish_ephemeral(1, "a\nb", "x", done); })));
    EXPECT_TRUE(refused(await<std::uint64_t>([&](auto done) { n->seq.ack_outbox(0, {}, done); })));
    EXPECT_TRUE(refused(await<std::uint64_t>([&](auto done) { n->seq.ack_outbox(0, {"1-0", "x"}, done); })));
    EXPECT_TRUE(refused(await<outbox_batch>([&](auto done) { n->seq.claim_outbox(0, "B", 0ms, 1, done, "bad"); })));
    EXPECT_EQ(redis_int({"DBSIZE"}), 0);
    EXPECT_EQ(redis({"XINFO", "STREAM", n->seq.keys().outbox(0)}).type(), value::kind::error);

    redis_client idle(io_, options());
    EXPECT_THROW((void)sequencer(idle, sequencer_options{.partitions = 0}), std::invalid_argument);
    EXPECT_THROW((void)sequencer(idle, sequencer_options{.log_maxlen = 0}), std::invalid_argument);
    EXPECT_THROW((void)sequencer(idle, sequencer_options{.dedup_ttl = std::chrono::seconds(0)}), std::invalid_argument);
}

// ---- pure: names and payloads --------------------------------------------------------------------

TEST(sequencer_names, keys_follow_the_documented_layout) {
    const key_space ks(64);
    const room_keys k = ks.keys_of(71);
    EXPECT_EQ(k.partition, 7u);
    EXPECT_EQ(k.meta, "parley:{7}:room:71");
    EXPECT_EQ(k.channel(), k.meta);
    EXPECT_EQ(k.log, "parley:{7}:room:71:log");
    EXPECT_EQ(k.outbox, "parley:{7}:persist");
    EXPECT_EQ(k.dedup(5, 18446744073709551615u), "parley:{7}:room:71:dd:5:18446744073709551615");
    EXPECT_EQ(ks.lease(7), "parley:{7}:lease");
    EXPECT_EQ(key_space::node("n1"), "parley:node:n1");
    EXPECT_EQ(key_space(1).keys_of(71).meta, "parley:{0}:room:71");
    EXPECT_THROW(key_space(0), std::invalid_argument);
    EXPECT_THROW(key_space(max_partitions + 1), std::invalid_argument);
}

TEST(sequencer_names, room_of_channel_accepts_only_the_exact_names) {
    const key_space ks(64);
    EXPECT_EQ(ks.room_of_channel("parley:{7}:room:71"), 71u);
    EXPECT_EQ(ks.room_of_channel("parley:{0}:room:0"), 0u);
    EXPECT_EQ(ks.room_of_channel(ks.keys_of(4294967295u).meta), 4294967295u);
    for (std::string_view bad : {"", "x", "parley:{3}:room:71", "parley:{7}:room:071", "parley:{07}:room:71",
                                 "parley:{7}:room:71:log", "parley:{7}:room:", "parley:{}:room:71",
                                 "parley:{0}:room:4294967296", "parley:{7}:room:71 ", "parley:{7}:room:+71",
                                 "parley:{7}:persist", "Parley:{7}:room:71", "parley:{7}:room:-71"})
        EXPECT_FALSE(ks.room_of_channel(bad).has_value()) << bad;
}

TEST(sequencer_names, node_ids) {
    EXPECT_TRUE(valid_node_id("node-1.example:8080"));
    EXPECT_TRUE(valid_node_id(std::string(max_node_id_bytes, 'a')));
    for (const std::string& bad : {std::string(), std::string(max_node_id_bytes + 1, 'a'), std::string("a b"),
                                   std::string("a\nb"), std::string("a{b}"), std::string("a\0b", 3), std::string("é")})
        EXPECT_FALSE(valid_node_id(bad)) << bad;
}

TEST(channel_payloads, round_trip) {
    const std::vector<std::pair<std::string, channel_message>> cases{
        {encode_event(1, 1, ""), channel::event{1, 1, ""}},
        {encode_event(max_number, max_number, binary), channel::event{max_number, max_number, binary}},
        {encode_event(12, epoch_a, "\n\n"), channel::event{12, epoch_a, "\n\n"}},
        {encode_watermark(5, 6), channel::watermark{5, 6}},
        {encode_reset(0, 7), channel::reset{0, 7}},
        {encode_reset(max_number, 1), channel::reset{max_number, 1}},
        {encode_ephemeral("node-1.a:80", binary), channel::ephemeral{"node-1.a:80", binary}},
        {encode_ephemeral(std::string(max_node_id_bytes, 'n'), ""), channel::ephemeral{std::string(max_node_id_bytes, 'n'), ""}},
    };
    for (const auto& [payload, expected] : cases) EXPECT_EQ(parse_channel_message(payload), expected) << payload;
    EXPECT_EQ(encode_event(3, 4, "b"), "M3 4\nb");
    EXPECT_EQ(encode_watermark(3, 4), "W3 4");
    EXPECT_EQ(encode_reset(3, 4), "R3 4");
    EXPECT_EQ(encode_ephemeral("n", "b"), "Tn\nb");
    // A large body behind a valid header is fine; the header alone is bounded.
    const std::string big(1 << 20, 'x');
    EXPECT_EQ(parse_channel_message(encode_event(1, 2, big)), channel_message(channel::event{1, 2, big}));
}

TEST(channel_payloads, malformed_ones_are_reported) {
    const std::string long_digits(70, '1');
    const std::vector<std::string> bad{
        "",
        "X1 2",
        "m1 2\nb",
        "M",
        "M1 2",  // no newline
        "M\n",
        "M0 2\nb",
        "M1 0\nb",
        "M01 2\nb",
        "M1 02\nb",
        "M1  2\nb",
        "M 1 2\nb",
        "M1 2 \nb",
        "M1 2\r\nb",
        "M-1 2\nb",
        "M+1 2\nb",
        "M1\nb",
        "M1 2x\nb",
        "M9223372036854775808 1\nb",  // 2^63
        "M1 9223372036854775808\nb",
        "M18446744073709551616 1\nb",
        "M99999999999999999999 1\nb",
        "M" + long_digits + " 1\nb",
        "M1 " + long_digits + "\nb",
        "M1 2" + std::string(100, ' ') + "\nb",
        std::string("M1\0 2\nb", 7),
        "W1 2\n",
        "W1 2\nx",
        "W1",
        "W0 2",
        "W1 0",
        "W1 2 3",
        "W" + long_digits,
        "R1",
        "R0 0",
        "R 1",
        "R-0 1",
        "T\nbody",
        "Tbad node\nb",
        "Tnode",
        "T" + std::string(max_node_id_bytes + 1, 'a') + "\nb",
        "T" + std::string(200, 'a'),
    };
    for (const std::string& payload : bad) {
        const channel_message m = parse_channel_message(payload);
        const auto* why = std::get_if<channel::malformed>(&m);
        ASSERT_NE(why, nullptr) << "accepted: " << payload;
        EXPECT_FALSE(why->why.empty());
    }
}

}  // namespace
