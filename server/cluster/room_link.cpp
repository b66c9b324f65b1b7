#include "server/cluster/room_link.hpp"

#include "server/cluster/event_codec.hpp"
#include "server/core/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <deque>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

namespace parley::server::cluster {

namespace net = boost::asio;

namespace {

constexpr log::component link_log{"cluster"};
/// Channel messages kept for a room whose attach read is in flight: a busy
/// room's few milliseconds; more are dropped and come from the log instead.
constexpr std::size_t max_early_messages = 4096;
/// Seeds lost to another node (KEPT) before attach gives up for now.
constexpr int max_seed_rounds = 3;

room_link_options checked(room_link_options o) {
    if (!valid_node_id(o.node_id)) throw std::invalid_argument("room_link: bad node id");
    if (o.position_every.count() <= 0 || o.attach_timeout.count() <= 0)
        throw std::invalid_argument("room_link: position_every and attach_timeout must be positive");
    if (!o.new_epoch) throw std::invalid_argument("room_link: new_epoch is required");
    if (o.feed.max_buffered == 0) throw std::invalid_argument("room_link: feed.max_buffered must be positive");
    return o;
}

template <class T>
std::string text_of(const T& x) {
    std::ostringstream out;
    out << x;
    return out.str();
}

}  // namespace

struct redis_room_link::state : std::enable_shared_from_this<state> {
    using clock = room_feed::clock;
    using done_attach = std::function<void(std::optional<replica_start>)>;

    struct attaching {
        std::uint64_t stored_top = 0;
        std::uint64_t stored_epochs = 0;
        std::uint64_t new_epoch = 0;
        done_attach done;
        int seed_rounds = 0;
        bool reading = false;
        std::shared_ptr<net::steady_timer> deadline;
    };

    struct entry {
        std::weak_ptr<room_replica> replica;
        std::optional<attaching> pending;          // set until the attach read is done
        std::optional<room_feed> feed;             // set once attached
        std::deque<channel_message> early;         // channel messages that came during the attach read
        bool subscribed = false;                   // Redis confirmed the channel
        std::uint64_t gen = 0;                     // the room's gen, as last read
        bool reseeding = false;
    };

    state(net::any_io_executor ex, sequencer& c, redis_options sub, room_link_options o)
        : strand(net::make_strand(ex)), commands(c), opts(checked(std::move(o))), check_timer(strand),
          position_timer(strand), sub_options(std::move(sub)) {}

    net::strand<net::any_io_executor> strand;
    sequencer& commands;
    const room_link_options opts;
    net::steady_timer check_timer;
    net::steady_timer position_timer;
    redis_options sub_options;
    std::unique_ptr<redis_subscriber> subscriber;
    std::unordered_map<std::uint32_t, entry> rooms;
    std::optional<clock::time_point> check_at;
    bool started = false;

    std::atomic<bool> stopped{false};
    std::atomic<std::size_t> room_count{0};
    std::atomic<std::uint64_t> proposed{0}, stale{0}, from_channel{0}, repairs{0}, behind{0}, epoch_changes{0},
        seeds{0}, undecodable{0}, failures{0};

    template <class F>
    void post(F f) {
        net::post(strand, [self = shared_from_this(), f = std::move(f)]() mutable {
            if (!self->stopped) f();
        });
    }

    template <class T, class F>
    sequencer::completion<T> back(F f) {
        return [self = shared_from_this(), f = std::move(f)](outcome<T> r) mutable {
            net::post(self->strand, [self, f = std::move(f), r = std::move(r)]() mutable {
                if (!self->stopped) f(std::move(r));
            });
        };
    }

    void failed(std::string_view what, const sequencer_error& e) {
        ++failures;
        log::debug(link_log, "room link call failed", {{"call", what}, {"error", text_of(e)}});
    }

    // ---- start and stop --------------------------------------------------------------------------

    void start() {
        if (started) return;
        started = true;
        std::weak_ptr<state> weak = shared_from_this();
        redis_subscriber::callbacks hooks;
        hooks.on_message = [weak](std::string_view channel, std::string_view payload) {
            if (auto self = weak.lock())
                self->post([s = self.get(), c = std::string(channel), p = std::string(payload)] { s->on_message(c, p); });
        };
        hooks.on_subscribed = [weak](std::string_view channel) {
            if (auto self = weak.lock()) self->post([s = self.get(), c = std::string(channel)] { s->on_subscribed(c); });
        };
        // Pub/sub lost whatever was published while it was away: look at every room.
        hooks.on_connected = [weak] {
            if (auto self = weak.lock()) self->post([s = self.get()] { s->position(); });
        };
        subscriber = std::make_unique<redis_subscriber>(strand.get_inner_executor(), sub_options, std::move(hooks));
        subscriber->start();
        arm_positioning();
    }

    void shut_down() {
        check_timer.cancel();
        position_timer.cancel();
        if (subscriber) subscriber->stop();
        for (auto& [id, e] : rooms)
            if (e.pending && e.pending->done) e.pending->done(std::nullopt);
        rooms.clear();
        room_count = 0;
    }

    // ---- attaching -------------------------------------------------------------------------------

    void attach(std::uint32_t room, attaching a, std::weak_ptr<room_replica> replica) {
        auto [it, added] = rooms.try_emplace(room);
        entry& e = it->second;
        if (e.pending && e.pending->done) e.pending->done(std::nullopt);  // superseded
        e.replica = std::move(replica);
        e.feed.reset();
        e.early.clear();
        e.pending = std::move(a);
        e.pending->deadline = std::make_shared<net::steady_timer>(strand, opts.attach_timeout);
        e.pending->deadline->async_wait([self = shared_from_this(), room, timer = e.pending->deadline.get()](
                                            boost::system::error_code ec) {
            if (ec || self->stopped) return;
            auto found = self->rooms.find(room);
            if (found == self->rooms.end() || !found->second.pending || found->second.pending->deadline.get() != timer)
                return;
            log::warn(link_log, "attaching a room timed out", {{"room", room}});
            self->fail_attach(room);
        });
        room_count = rooms.size();
        if (added) return subscriber->subscribe(commands.keys().keys_of(room).channel());
        if (e.subscribed) read_for_attach(room);
    }

    void on_subscribed(const std::string& channel) {
        const auto room = commands.keys().room_of_channel(channel);
        if (!room) return;
        auto it = rooms.find(*room);
        if (it == rooms.end()) return;
        it->second.subscribed = true;
        if (it->second.pending && !it->second.pending->reading) read_for_attach(*room);
    }

    void fail_attach(std::uint32_t room) {
        auto it = rooms.find(room);
        if (it == rooms.end()) return;
        auto done = std::move(it->second.pending->done);
        rooms.erase(it);
        room_count = rooms.size();
        subscriber->unsubscribe(commands.keys().keys_of(room).channel());
        if (done) done(std::nullopt);
    }

    void read_for_attach(std::uint32_t room) {
        entry& e = rooms.at(room);
        e.pending->reading = true;
        const std::uint64_t after = e.pending->stored_top;
        commands.read(room, after, max_read_entries, back<read_result>([this, room](outcome<read_result> r) {
            auto it = rooms.find(room);
            if (it == rooms.end() || !it->second.pending) return;
            if (!r) {
                failed("parley_read", r.error());
                return fail_attach(room);
            }
            attaching& a = *it->second.pending;
            const read_result& got = r.value();
            // Redis does not know the room, or knows less than the store: a new epoch at the store's top.
            if (!got.seeded || got.state.top < a.stored_top) {
                const std::uint64_t gen = std::max(got.state.gen, a.stored_epochs) + 1;
                return seed_for_attach(room, gen);
            }
            attached(room, got, replica_start{got.state.epoch, 0, false});
        }));
    }

    void seed_for_attach(std::uint32_t room, std::uint64_t gen) {
        attaching& a = *rooms.at(room).pending;
        if (++a.seed_rounds > max_seed_rounds) {
            log::warn(link_log, "cannot seed a room: other nodes keep seeding it", {{"room", room}});
            return fail_attach(room);
        }
        commands.seed(room, a.new_epoch, gen, a.stored_top, back<seed_result>([this, room](outcome<seed_result> r) {
            auto it = rooms.find(room);
            if (it == rooms.end() || !it->second.pending) return;
            if (!r) {
                failed("parley_seed", r.error());
                return fail_attach(room);
            }
            if (!r.value().seeded) return read_for_attach(room);  // another node's epoch won: follow it
            ++seeds;
            it->second.gen = r.value().gen;
            read_result empty;
            empty.seeded = true;
            empty.state = {r.value().epoch, r.value().gen, r.value().seq, r.value().seq};
            attached(room, empty, replica_start{r.value().epoch, r.value().seq, true});
        }));
    }

    void attached(std::uint32_t room, const read_result& got, replica_start start) {
        entry& e = rooms.at(room);
        attaching a = std::move(*e.pending);
        e.pending.reset();
        a.deadline->cancel();
        e.gen = std::max(e.gen, got.state.gen);
        e.feed.emplace(start.epoch, a.stored_top, actions_for(room), opts.feed);
        if (a.done) a.done(start);  // the replica knows its epoch before its first event
        const auto now = clock::now();
        room_feed& f = *e.feed;
        f.epoch_seen(got.state.epoch, got.state.top, got.state.persisted, now);
        for (const log_entry& le : got.entries) f.offer({le.seq, le.epoch, le.body}, now);
        // reading was not asked for by the feed: read_done only settles a log that no longer covers
        if (!got.covers(a.stored_top)) f.read_done(a.stored_top, false, got.first_in_log, now);
        auto early = std::move(e.early);
        for (auto& m : early) dispatch(room, std::move(m), false);
        schedule_check();
    }

    feed_actions actions_for(std::uint32_t room) {
        feed_actions act;
        act.deliver = [this, room](const feed_event& fe) {
            replicated_event out{fe.seq, fe.epoch, std::nullopt};
            auto decoded = decode_storage_event(fe.body);
            if (auto* ev = std::get_if<storage_event>(&decoded)) {
                out.event = std::move(*ev);
            } else {
                ++undecodable;
                log::error(link_log, "a room event does not decode",
                           {{"room", room}, {"seq", fe.seq}, {"why", text_of(std::get<event_decode_error>(decoded))}});
            }
            if (auto r = replica_of(room)) r->replicated(std::move(out));
        };
        act.reset = [this, room](std::uint64_t base, std::uint64_t epoch) {
            ++epoch_changes;
            if (auto r = replica_of(room)) r->reseeded(base, epoch);
        };
        act.persisted = [this, room](std::uint64_t seq) {
            if (auto r = replica_of(room)) r->replica_persisted(seq);
        };
        act.behind = [this, room](std::uint64_t after, std::uint64_t upto) {
            ++behind;
            if (auto r = replica_of(room)) r->fell_behind(after, upto);
        };
        return act;
    }

    std::shared_ptr<room_replica> replica_of(std::uint32_t room) {
        auto it = rooms.find(room);
        if (it == rooms.end()) return nullptr;
        auto r = it->second.replica.lock();
        return r;
    }

    void detach(std::uint32_t room) {
        auto it = rooms.find(room);
        if (it == rooms.end()) return;
        auto done = it->second.pending ? std::move(it->second.pending->done) : done_attach{};
        rooms.erase(it);
        room_count = rooms.size();
        subscriber->unsubscribe(commands.keys().keys_of(room).channel());
        if (done) done(std::nullopt);
    }

    // ---- the channel -----------------------------------------------------------------------------

    void on_message(const std::string& channel, const std::string& payload) {
        const auto room = commands.keys().room_of_channel(channel);
        if (!room) return;
        auto it = rooms.find(*room);
        if (it == rooms.end()) return;
        channel_message m = parse_channel_message(payload);
        if (!it->second.feed) {
            if (it->second.early.size() < max_early_messages) it->second.early.push_back(std::move(m));
            return;
        }
        dispatch(*room, std::move(m), true);
        schedule_check();
    }

    void dispatch(std::uint32_t room, channel_message m, bool live) {
        entry& e = rooms.at(room);
        room_feed& f = *e.feed;
        const auto now = clock::now();
        if (auto* ev = std::get_if<channel::event>(&m)) {
            const auto before = f.applied();
            const bool next = ev->epoch == f.epoch() && ev->seq > before;
            f.offer({ev->seq, ev->epoch, std::move(ev->body)}, now);
            if (live && next) ++from_channel;
        } else if (auto* w = std::get_if<channel::watermark>(&m)) {
            f.watermark(w->seq, w->epoch);
        } else if (auto* r = std::get_if<channel::reset>(&m)) {
            f.reset(r->base, r->epoch, now);
        } else if (auto* t = std::get_if<channel::ephemeral>(&m)) {
            if (t->node == opts.node_id) return;
            if (auto rep = replica_of(room)) rep->shared(t->body);
        } else {
            log::warn(link_log, "a malformed channel message", {{"room", room}, {"why", std::get<channel::malformed>(m).why}});
        }
    }

    // ---- holes -----------------------------------------------------------------------------------

    void schedule_check() {
        std::optional<clock::time_point> earliest;
        for (auto& [id, e] : rooms)
            if (e.feed)
                if (auto at = e.feed->next_check(); at && (!earliest || *at < *earliest)) earliest = at;
        if (!earliest || (check_at && *check_at <= *earliest)) return;
        check_at = earliest;
        check_timer.expires_at(*earliest);
        check_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->stopped) return;
            self->check_at.reset();
            self->check_holes();
        });
    }

    void check_holes() {
        const auto now = clock::now();
        for (auto& [id, e] : rooms) {
            if (!e.feed) continue;
            if (auto after = e.feed->repair_after(now)) repair(id, *after);
        }
        schedule_check();
    }

    void repair(std::uint32_t room, std::uint64_t after) {
        commands.read(room, after, max_read_entries, back<read_result>([this, room, after](outcome<read_result> r) {
            auto it = rooms.find(room);
            if (it == rooms.end() || !it->second.feed) return;
            room_feed& f = *it->second.feed;
            const auto now = clock::now();
            if (!r) {
                failed("parley_read", r.error());
                f.read_failed(now);
                return schedule_check();
            }
            const read_result& got = r.value();
            if (!got.seeded) {
                f.read_failed(now);
                return reseed(room);
            }
            ++repairs;
            it->second.gen = std::max(it->second.gen, got.state.gen);
            f.epoch_seen(got.state.epoch, got.state.top, got.state.persisted, now);
            for (const log_entry& le : got.entries) f.offer({le.seq, le.epoch, le.body}, now);
            f.read_done(after, got.covers(after), got.first_in_log, now);
            schedule_check();
        }));
    }

    // Redis lost the room while it was attached: a new epoch from the highest
    // seq known to be in the store. Concurrent reseeds by several nodes agree
    // through the gen (the higher wins; an equal one is kept).
    void reseed(std::uint32_t room) {
        entry& e = rooms.at(room);
        if (e.reseeding || !e.feed) return;
        e.reseeding = true;
        const std::uint64_t base = e.feed->persisted();
        commands.seed(room, opts.new_epoch(), e.gen + 1, base, back<seed_result>([this, room](outcome<seed_result> r) {
            auto it = rooms.find(room);
            if (it == rooms.end() || !it->second.feed) return;
            it->second.reseeding = false;
            if (!r) return failed("parley_seed", r.error());
            if (r.value().seeded) ++seeds;
            it->second.gen = std::max(it->second.gen, r.value().gen);
            // Seeded here or by another node: either way this is the room's epoch now.
            if (r.value().seeded) it->second.feed->reset(r.value().seq, r.value().epoch, clock::now());
            else it->second.feed->epoch_seen(r.value().epoch, r.value().seq, 0, clock::now());
            schedule_check();
        }));
    }

    // ---- positioning -----------------------------------------------------------------------------

    void arm_positioning() {
        position_timer.expires_after(opts.position_every);
        position_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->stopped) return;
            self->position();
            self->arm_positioning();
        });
    }

    void position() {
        std::vector<std::uint32_t> ids;
        for (const auto& [id, e] : rooms)
            if (e.feed) ids.push_back(id);
        if (ids.empty()) return;
        commands.tops(ids, back<std::vector<std::optional<room_state>>>(
            [this, ids](outcome<std::vector<std::optional<room_state>>> r) {
                if (!r) return failed("room tops", r.error());
                const auto now = clock::now();
                for (std::size_t i = 0; i < ids.size() && i < r.value().size(); ++i) {
                    auto it = rooms.find(ids[i]);
                    if (it == rooms.end() || !it->second.feed) continue;
                    const auto& st = r.value()[i];
                    if (!st) {
                        reseed(ids[i]);
                        continue;
                    }
                    it->second.gen = std::max(it->second.gen, st->gen);
                    it->second.feed->epoch_seen(st->epoch, st->top, st->persisted, now);
                }
                schedule_check();
            }));
    }

    // ---- proposals -------------------------------------------------------------------------------

    void propose(std::uint32_t room, std::uint64_t epoch, std::uint64_t top, std::uint64_t user_id,
                 std::uint64_t client_id, std::string body, std::function<void(proposal_result)> done) {
        if (!rooms.contains(room) || !rooms.at(room).feed) return done({proposal_status::unavailable, 0, 0});
        ++proposed;
        auto copy = body;  // the reply's event is offered to the feed with the body sent
        commands.publish(room, {epoch, top}, user_id, client_id, std::move(copy),
            back<publish_result>([this, room, body = std::move(body), done = std::move(done)](
                                     outcome<publish_result> r) mutable {
                auto it = rooms.find(room);
                if (!r) {
                    failed("parley_publish", r.error());
                    return done({proposal_status::unavailable, 0, 0});
                }
                const publish_result& p = r.value();
                room_feed* f = it != rooms.end() && it->second.feed ? &*it->second.feed : nullptr;
                const auto now = clock::now();
                switch (p.status) {
                case publish_status::ok:
                    if (f) f->offer({p.seq, p.epoch, std::move(body)}, now);
                    done({proposal_status::committed, p.seq, p.epoch});
                    break;
                case publish_status::duplicate: done({proposal_status::duplicate, p.seq, p.epoch}); break;
                case publish_status::stale_top:
                case publish_status::stale_epoch:
                    ++stale;
                    if (f) f->epoch_seen(p.epoch, p.seq, 0, now);
                    done({proposal_status::stale, p.seq, p.epoch});
                    break;
                case publish_status::no_seed:
                    if (f) reseed(room);
                    done({proposal_status::unavailable, 0, 0});
                    break;
                }
                schedule_check();
            }));
    }
};

redis_room_link::redis_room_link(net::any_io_executor executor, sequencer& commands, redis_options subscriber_options,
                                 room_link_options options)
    : state_(std::make_shared<state>(std::move(executor), commands, std::move(subscriber_options), std::move(options))) {}

redis_room_link::~redis_room_link() { stop(); }

void redis_room_link::start() {
    state_->post([s = state_.get()] { s->start(); });
}

void redis_room_link::stop() {
    if (state_->stopped.exchange(true)) return;
    // Not through post(): it skips work once stopped.
    net::post(state_->strand, [s = state_] { s->shut_down(); });
}

void redis_room_link::attach(std::uint32_t room, std::uint64_t stored_top, std::uint64_t stored_epochs,
                             std::uint64_t new_epoch, std::weak_ptr<room_replica> replica,
                             std::function<void(std::optional<replica_start>)> done) {
    state::attaching a{stored_top, stored_epochs, new_epoch, std::move(done), 0, false};
    state_->post([s = state_.get(), room, a = std::move(a), replica = std::move(replica)]() mutable {
        s->attach(room, std::move(a), std::move(replica));
    });
}

void redis_room_link::detach(std::uint32_t room) {
    state_->post([s = state_.get(), room] { s->detach(room); });
}

void redis_room_link::propose(std::uint32_t room, std::uint64_t epoch, std::uint64_t top, std::uint64_t user_id,
                              std::uint64_t client_id, const storage_event& event,
                              std::function<void(proposal_result)> done) {
    std::string body;
    try {
        body = encode_storage_event(event);
    } catch (const std::invalid_argument& e) {
        log::error(link_log, "a room event cannot be encoded", {{"room", room}, {"why", e.what()}});
        return state_->post([done = std::move(done)] { done({proposal_status::unavailable, 0, 0}); });
    }
    state_->post([s = state_.get(), room, epoch, top, user_id, client_id, body = std::move(body),
                  done = std::move(done)]() mutable {
        s->propose(room, epoch, top, user_id, client_id, std::move(body), std::move(done));
    });
}

void redis_room_link::caught_up(std::uint32_t room, std::uint64_t upto) {
    state_->post([s = state_.get(), room, upto] {
        auto it = s->rooms.find(room);
        if (it == s->rooms.end() || !it->second.feed) return;
        it->second.feed->caught_up(upto, state::clock::now());
        s->schedule_check();
    });
}

void redis_room_link::share(std::uint32_t room, std::string body) {
    state_->post([s = state_.get(), room, body = std::move(body)] {
        s->commands.publish_ephemeral(room, s->opts.node_id, body, {});
    });
}

void redis_room_link::reserve_room_ids(std::uint32_t floor, std::uint32_t count,
                                       std::function<void(std::optional<std::uint32_t>)> done) {
    state_->commands.reserve_room_ids(count, floor, [s = state_, done = std::move(done)](outcome<std::uint32_t> r) {
        if (!r) s->failed("parley_ids", r.error());
        done(r ? std::optional(r.value()) : std::nullopt);
    });
}

room_link_stats redis_room_link::stats() const {
    const state& s = *state_;
    return {s.room_count, s.proposed, s.stale, s.from_channel, s.repairs, s.behind, s.epoch_changes, s.seeds,
            s.undecodable, s.failures};
}

}  // namespace parley::server::cluster
