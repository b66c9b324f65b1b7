// Fuzz target: chat sessions through rooms, checked against a model.
//
// SETUP
// Two rooms over tests/support/fake_store.hpp, no network and no sleeps, as
// tests/chat/room_test.cpp sets them up: room 1 starts with 0-15 messages
// "on disk" (posted by our users, so edits and resends reach stored ones),
// room 2 starts empty. The cache keeps 4 events, so joins, history and
// changes to older messages read the store; replays beyond 12 events turn
// into the latest page. Four connection slots; slots 0 and 3 are the same
// user, so a user can have two connections in one room.
//
// INPUT
// FuzzedDataProvider: a few setup bytes, then up to max_steps steps, each
// (slot 0-3, action, fields): join, leave, post, edit, delete, react,
// typing, history, commit n events, fail the next n reads, hold reads,
// complete held reads, advance the clock and sweep, reconnect (the slot's
// connection goes away, leaving with reply = false, and a new one takes the
// slot). Ids and seqs come from small ranges so that duplicates, resends
// and real targets are common.
//
// INVARIANTS (after each step the io_context runs until idle, every queue
// is drained and decoded, and the packets are checked in order)
// - Membership: members_approx() equals the connections the model holds as
//   members (room_joined received, no leave since): no ghosts.
// - No packet about a room reaches a connection that is not its member,
//   except room_left and error_report; a retired connection gets nothing.
// - Sequences: the events a room pushes to the sink are dense and unique
//   per epoch, starting right after the epoch's base; an ack with a seq names
//   an event of that user with that client id.
// - Every member holds a dense run of events (replay, then live) that ends
//   at the room's newest seq: nothing missed, nothing twice.
// - Watermarks: a persisted_watermark (and room_joined.persisted_seq) never
//   exceeds what the sink reported stored, and never goes down.
// - Presence: each member's view (snapshot, joined, left) equals the users
//   with a member connection or within their grace period; typing "on" is
//   only announced for users with a member connection.
// A broken invariant prints the step and what broke, then traps.
#include "protocol/codec.hpp"
#include "protocol/utf8.hpp"
#include "server/chat/room.hpp"
#include "tests/support/fake_store.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <boost/asio/io_context.hpp>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

namespace net = boost::asio;
using namespace parley::server;
using namespace parley::protocol;
using namespace std::chrono_literals;
using parley::testing::fake_sink;
using parley::testing::fake_store;

constexpr std::size_t max_steps = 256;
constexpr std::size_t slots = 4;
constexpr std::uint32_t room_count = 2;
constexpr std::array<std::uint64_t, slots> slot_user{1, 2, 3, 1};

int current_step = -1;

// How often each check had something to check: printed at exit when
// PARLEY_FUZZ_STATS is set, to see that a corpus exercises the invariants.
struct check_counts {
    std::size_t steps = 0, member_checks = 0, events = 0, acks = 0, watermarks = 0, presence = 0, pushed = 0;
    ~check_counts() {
        if (std::getenv("PARLEY_FUZZ_STATS") == nullptr) return;
        std::fprintf(stderr, "fuzz_session: steps %zu, member checks %zu, events %zu, acks %zu, watermarks %zu, "
                     "presence %zu, pushed %zu\n", steps, member_checks, events, acks, watermarks, presence, pushed);
    }
} counted;

[[noreturn]] void broken(const std::string& what) {
    std::fprintf(stderr, "fuzz_session: invariant broken at step %d: %s\n", current_step, what.c_str());
    __builtin_trap();
}
#define CHECK(cond, what)                    \
    do {                                     \
        if (!(cond)) broken(std::string(what) + " [" #cond "]"); \
    } while (0)

std::optional<std::uint32_t> room_of(const packet& p) {
    return std::visit([](const auto& x) -> std::optional<std::uint32_t> {
        if constexpr (requires { x.room_id; }) return x.room_id;
        else return std::nullopt;
    }, p);
}

std::optional<std::uint64_t> event_seq(const packet& p) {
    if (const auto* m = std::get_if<chat_message>(&p)) return m->message.seq;
    if (const auto* e = std::get_if<message_edited>(&p)) return e->seq;
    if (const auto* d = std::get_if<message_deleted>(&p)) return d->seq;
    if (const auto* r = std::get_if<reaction_update>(&p)) return r->seq;
    return std::nullopt;
}

/// What one connection knows of one room, rebuilt from the packets it got.
struct membership {
    bool member = false;
    std::uint64_t epoch = 0;
    std::uint64_t joined_last = 0;   // room_joined.last_seq
    std::uint64_t next_event = 0;    // 0: no event since room_joined
    std::uint64_t watermark = 0;
    std::set<std::uint64_t> online;  // presence as this connection sees it
};

struct connection {
    room_member member;
    std::array<membership, room_count + 1> rooms{};  // by room id; [0] unused
    bool retired = false;
};

/// Who did what under a seq (pre-stored or pushed): for checking acks.
struct event_owner {
    std::uint64_t user_id, client_id;
};

struct room_model {
    std::uint64_t prestored = 0;
    std::uint64_t epoch = 0, base = 0, last = 0;  // from the sink's stream
    bool has_epoch = false;
    std::map<std::uint64_t, event_owner> owners;
    std::map<std::uint64_t, room::clock::time_point> grace_until;  // by user, no member left
};

class harness {
public:
    explicit harness(FuzzedDataProvider& in) : in_(in) {
        cfg_.room_cache_messages = 4;
        cfg_.max_replay_messages = 12;
        sink_.on_persisted = [this](std::uint32_t id, std::uint64_t seq) { rooms_.at(id)->persisted(seq); };
        const std::uint64_t stored = in_.ConsumeIntegralInRange<std::uint64_t>(0, 15);
        for (std::uint64_t u = 1; u <= 3; ++u) store_.usernames[u] = "user" + std::to_string(u);
        store_messages(1, stored);
        for (std::uint32_t id = 1; id <= room_count; ++id) {
            room_services svc{cfg_, stats_, &sink_, &store_};
            svc.now = [this] { return now_; };
            svc.new_epoch = [this] { return ++last_epoch_; };
            rooms_[id] = std::make_shared<room>(io_, svc, room_init{id, public_room_named("room" + std::to_string(id)), model_[id].prestored, parley::testing::members_up_to(32)});
        }
        for (std::size_t s = 0; s < slots; ++s) slot_[s] = connect(s);
    }

    ~harness() {
        // Let every held read finish, so no handler outlives what it points to.
        store_.hold_reads(false);
        store_.complete_held();
        settle();
    }

    void run() {
        for (std::size_t i = 0; i < max_steps && in_.remaining_bytes() > 0; ++i) {
            current_step = static_cast<int>(i);
            ++counted.steps;
            const auto before = members_by_user();
            step();
            settle();
            update_grace(before, members_by_user());
            check();
        }
    }

private:
    void store_messages(std::uint32_t room_id, std::uint64_t n) {
        room_model& m = model_[room_id];
        m.prestored = n;
        if (n == 0) return;
        store_.apply(events::epoch_started{room_id, 7, 0, 1});
        for (std::uint64_t seq = 1; seq <= n; ++seq) {
            const std::uint64_t author = seq % 3 + 1, client = seq;
            store_.apply(events::message_posted{room_id, seq, author, client, "stored " + std::to_string(seq), 1000 + seq});
            m.owners[seq] = {author, client};
        }
    }

    std::size_t connect(std::size_t s) {
        const std::uint64_t user = slot_user[s];
        auto q = std::make_shared<send_queue>(queue_limits{}, [](bool) {});
        conns_.push_back({{next_connection_++, user, "user" + std::to_string(user), std::move(q)}});
        return conns_.size() - 1;
    }

    // ---- inputs ----------------------------------------------------------------------------------
    std::uint32_t pick_room() { return in_.ConsumeBool() ? 1 : 2; }
    std::uint64_t pick_client_id() { return in_.ConsumeIntegralInRange<std::uint64_t>(0, 12); }
    std::uint64_t pick_seq(std::uint32_t r) {
        return in_.ConsumeIntegralInRange<std::uint64_t>(0, model_[r].last + 2);
    }
    std::string pick_text() {
        static constexpr std::array<std::string_view, 8> pieces{"a", "hi", " ", "\n", "\t", "\xc3\xa9", "\xe6\x97\xa5", "!"};
        std::string text;
        const auto n = in_.ConsumeIntegralInRange<std::size_t>(0, 6);
        for (std::size_t i = 0; i < n; ++i) text += pieces[in_.ConsumeIntegralInRange<std::size_t>(0, pieces.size() - 1)];
        return text;
    }

    connection& at(std::size_t s) { return conns_[slot_[s]]; }

    void step() {
        const std::size_t s = in_.ConsumeIntegralInRange<std::size_t>(0, slots - 1);
        connection& c = at(s);
        const std::uint64_t id = c.member.connection_id;
        switch (in_.ConsumeIntegralInRange<int>(0, 13)) {
            case 0: return join(c, pick_room());
            case 1: {
                const std::uint32_t r = pick_room();
                c.rooms[r].member = false;  // nothing more may arrive but room_left
                return rooms_[r]->leave(id, in_.ConsumeBool());
            }
            case 2: {
                const std::uint32_t r = pick_room();
                send_message m{r, pick_client_id(), in_.ConsumeBool() ? pick_seq(r) : 0, pick_text(), in_.ConsumeBool()};
                return rooms_[r]->post_message(id, std::move(m), room::clock::now());
            }
            case 3: {
                const std::uint32_t r = pick_room();
                edit_message e{r, pick_client_id(), pick_seq(r), pick_text(), in_.ConsumeBool()};
                return rooms_[r]->edit_message(id, std::move(e));
            }
            case 4: {
                const std::uint32_t r = pick_room();
                return rooms_[r]->delete_message(id, delete_message{r, pick_client_id(), pick_seq(r), in_.ConsumeBool()});
            }
            case 5: {
                const std::uint32_t r = pick_room();
                const auto kind = static_cast<reaction_kind>(in_.ConsumeIntegralInRange<int>(0, reaction_kind_count - 1));
                return rooms_[r]->set_reaction(
                    id, set_reaction{r, pick_client_id(), pick_seq(r), kind, in_.ConsumeBool(), in_.ConsumeBool()});
            }
            case 6: return rooms_[pick_room()]->set_typing(id, in_.ConsumeBool());
            case 7: {
                const std::uint32_t r = pick_room();
                const auto limit = in_.ConsumeIntegralInRange<std::uint16_t>(0, 120);
                return rooms_[r]->request_history(id, request_history{r, pick_seq(r), limit});
            }
            case 8: return sink_.commit(in_.ConsumeIntegralInRange<std::size_t>(0, 8));
            case 9: return store_.fail_next_reads(in_.ConsumeIntegralInRange<int>(0, 3));
            case 10: return store_.hold_reads(in_.ConsumeBool());
            case 11: return store_.complete_held();
            case 12: return advance_clock(std::chrono::milliseconds(in_.ConsumeIntegralInRange<int>(0, 8000)));
            case 13: return reconnect(s);
        }
    }

    // Positions a client would rejoin with: none, its own, its own epoch
    // with any seq, or anything at all.
    void join(connection& c, std::uint32_t r) {
        const membership& m = c.rooms[r];
        const std::uint64_t own_seq = m.next_event != 0 ? m.next_event - 1 : m.joined_last;
        std::uint64_t epoch = 0, since = 0;
        switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
            case 0: break;
            case 1: epoch = m.epoch, since = own_seq; break;
            case 2: epoch = m.epoch, since = pick_seq(r); break;
            case 3: epoch = in_.ConsumeIntegralInRange<std::uint64_t>(0, last_epoch_ + 1), since = pick_seq(r); break;
        }
        rooms_[r]->join(c.member, epoch, since);
    }

    void advance_clock(room::clock::duration d) {
        now_ += d;
        for (auto& [id, r] : rooms_) r->sweep_now();
        for (auto& [id, m] : model_) std::erase_if(m.grace_until, [&](const auto& e) { return e.second <= now_; });
    }

    // The connection goes away as a websocket_session's does: it leaves
    // every room without a reply; a new connection of the same user takes the slot.
    void reconnect(std::size_t s) {
        connection& old = at(s);
        old.retired = true;
        for (std::uint32_t r = 1; r <= room_count; ++r) {
            old.rooms[r].member = false;
            rooms_[r]->leave(old.member.connection_id, false);
        }
        slot_[s] = connect(s);
    }

    // ---- running and observing ------------------------------------------------------------------
    void settle() {
        for (;;) {
            io_.restart();
            if (io_.poll() == 0) break;
        }
        follow_sink();
        for (auto& c : conns_) drain(c);
    }

    void drain(connection& c) {
        std::vector<shared_packet> out;
        while (c.member.queue->take(out, SIZE_MAX)) {
            for (const auto& bytes : out) {
                auto p = decode(*bytes);
                CHECK(p.has_value(), "the room queued a packet that does not decode");
                observe(c, *p);
            }
            out.clear();
        }
    }

    /// One packet a connection received, against what it knew before it.
    void observe(connection& c, const packet& p) {
        const auto r = room_of(p);
        if (std::holds_alternative<error_report>(p)) return;
        CHECK(r && *r >= 1 && *r <= room_count, "a packet without a known room");
        membership& m = c.rooms[*r];
        if (std::holds_alternative<room_left>(p)) {
            CHECK(!c.retired, "room_left sent to a connection that left without asking for it");
            m.member = false;
            return;
        }
        if (const auto* j = std::get_if<room_joined>(&p)) {
            CHECK(!c.retired, "a connection that is gone was made a member");
            CHECK(j->persisted_seq <= j->last_seq, "room_joined.persisted_seq above last_seq");
            CHECK(j->persisted_seq <= stored_bound(*r), "room_joined claims more is stored than the sink reported");
            m = membership{.member = true, .epoch = j->epoch, .joined_last = j->last_seq, .watermark = j->persisted_seq};
            return;
        }
        CHECK(m.member, "packet kind " + std::to_string(static_cast<int>(kind_of(p))) + " sent to connection " +
                            std::to_string(c.member.connection_id) + ", not a member of room " + std::to_string(*r));
        if (auto seq = event_seq(p)) {
            CHECK(m.next_event == 0 ? *seq >= 1 && *seq <= m.joined_last + 1 : *seq == m.next_event,
                  "event " + std::to_string(*seq) + " breaks the member's dense run (expected " +
                      std::to_string(m.next_event) + ", joined at " + std::to_string(m.joined_last) + ")");
            m.next_event = *seq + 1;
            ++counted.events;
        } else if (const auto* w = std::get_if<persisted_watermark>(&p)) {
            CHECK(w->seq <= stored_bound(*r), "watermark " + std::to_string(w->seq) + " above what the sink reported (" +
                                                  std::to_string(stored_bound(*r)) + ")");
            CHECK(w->seq >= m.watermark, "the watermark went down");
            m.watermark = w->seq;
            ++counted.watermarks;
        } else if (const auto* a = std::get_if<ack>(&p)) {
            if (a->seq == 0) return;
            ++counted.acks;
            const auto& owners = model_[*r].owners;
            auto it = owners.find(a->seq);
            CHECK(it != owners.end(), "ack names seq " + std::to_string(a->seq) + ", which no event has");
            CHECK(it->second.user_id == c.member.user_id && it->second.client_id == a->client_id,
                  "ack for client id " + std::to_string(a->client_id) + " names seq " + std::to_string(a->seq) +
                      " of another change");
        } else if (const auto* pu = std::get_if<presence_update>(&p)) {
            ++counted.presence;
            if (pu->change == presence_change::snapshot) m.online.clear();
            for (const auto& u : pu->users) {
                if (pu->change == presence_change::left) m.online.erase(u.id);
                else m.online.insert(u.id);
            }
        } else if (const auto* t = std::get_if<typing_update>(&p)) {
            if (t->active) typing_seen_.emplace_back(*r, t->user.id);
        } else if (const auto* reset = std::get_if<room_reset>(&p)) {
            m.epoch = reset->epoch;
        }
    }

    std::uint64_t stored_bound(std::uint32_t r) const {
        return std::max(model_.at(r).prestored, sink_.reported(r));
    }

    /// Member connections per (room, user), as the model holds them.
    std::map<std::pair<std::uint32_t, std::uint64_t>, int> members_by_user() const {
        std::map<std::pair<std::uint32_t, std::uint64_t>, int> out;
        for (const auto& c : conns_)
            for (std::uint32_t r = 1; r <= room_count; ++r)
                if (c.rooms[r].member) ++out[{r, c.member.user_id}];
        return out;
    }

    // A user whose last member connection left is online for the grace period.
    void update_grace(const std::map<std::pair<std::uint32_t, std::uint64_t>, int>& before,
                      const std::map<std::pair<std::uint32_t, std::uint64_t>, int>& after) {
        for (const auto& [key, n] : before)
            if (!after.contains(key)) model_[key.first].grace_until[key.second] = now_ + cfg_.presence_grace;
        for (const auto& [key, n] : after) model_[key.first].grace_until.erase(key.second);
    }

    // The sink's stream per room: epoch_started, then seqs base+1, base+2, ...
    void follow_sink() {
        const auto& pushed = sink_.pushed();
        for (; followed_ < pushed.size(); ++followed_) {
            const storage_event& e = pushed[followed_];
            if (const auto* ep = std::get_if<events::epoch_started>(&e)) {
                room_model& m = model_[ep->room_id];
                CHECK(!m.has_epoch || ep->base_seq <= m.last, "an epoch based above the room's last seq");
                CHECK(m.has_epoch || ep->base_seq == m.prestored, "the first epoch is not based on the stored seq");
                m.has_epoch = true, m.epoch = ep->epoch, m.base = m.last = ep->base_seq;
                continue;
            }
            const auto seq = sequence_of(e);
            if (!seq) continue;
            room_model& m = model_[seq->first];
            CHECK(m.has_epoch, "an event pushed before its room's epoch");
            CHECK(seq->second == m.last + 1, "pushed seq " + std::to_string(seq->second) + " after " +
                                                 std::to_string(m.last) + ": not dense or not unique");
            m.last = seq->second;
            ++counted.pushed;
            m.owners[seq->second] = std::visit([](const auto& ev) -> event_owner {
                if constexpr (requires { ev.author_id; }) return {ev.author_id, ev.client_msg_id};
                else if constexpr (requires { ev.actor_id; }) return {ev.actor_id, ev.client_id};
                else if constexpr (requires { ev.client_id; }) return {ev.user_id, ev.client_id};
                else return {0, 0};
            }, e);
        }
    }

    void check() {
        const auto by_user = members_by_user();
        for (std::uint32_t r = 1; r <= room_count; ++r) {
            std::size_t members = 0;
            std::set<std::uint64_t> online;
            for (const auto& [key, n] : by_user)
                if (key.first == r) members += static_cast<std::size_t>(n), online.insert(key.second);
            for (const auto& [user, until] : model_[r].grace_until) online.insert(user);
            CHECK(rooms_[r]->members_approx() == members,
                  "room " + std::to_string(r) + " has " + std::to_string(rooms_[r]->members_approx()) +
                      " members, the connections hold " + std::to_string(members));
            const room_model& rm = model_[r];
            for (const auto& c : conns_) {
                const membership& m = c.rooms[r];
                if (!m.member) continue;
                ++counted.member_checks;
                const std::uint64_t held = m.next_event != 0 ? m.next_event - 1 : m.joined_last;
                CHECK(held == rm.last, "connection " + std::to_string(c.member.connection_id) + " holds room " +
                                           std::to_string(r) + " up to " + std::to_string(held) + ", the room is at " +
                                           std::to_string(rm.last));
                CHECK(m.epoch == rm.epoch, "a member is in another epoch than the room");
                CHECK(m.online == online, "connection " + std::to_string(c.member.connection_id) +
                                              " sees other users online in room " + std::to_string(r) +
                                              " than are members or within grace");
            }
        }
        for (const auto& [r, user] : typing_seen_)
            CHECK(by_user.contains({r, user}), "typing announced for a user without a member connection");
        typing_seen_.clear();
    }

    FuzzedDataProvider& in_;
    // Declared before the rooms: a room lives on in handlers that the
    // io_context and the store hold, and needs them while it does.
    config cfg_;
    metrics stats_;
    net::io_context io_;
    fake_store store_{io_};
    fake_sink sink_{store_};
    // A year ahead of the real clock: the rooms' own sweep timers never fire,
    // sweeps happen when a step moves the clock.
    room::clock::time_point now_ = room::clock::now() + 24h * 365;
    std::uint64_t last_epoch_ = 1000;
    std::map<std::uint32_t, room_model> model_;
    std::map<std::uint32_t, std::shared_ptr<room>> rooms_;
    std::deque<connection> conns_;  // every connection ever, retired ones too
    std::array<std::size_t, slots> slot_{};
    std::uint64_t next_connection_ = 1;
    std::size_t followed_ = 0;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> typing_seen_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    harness h(in);
    h.run();
    return 0;
}
