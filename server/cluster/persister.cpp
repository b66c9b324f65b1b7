#include "server/cluster/persister.hpp"

#include "server/cluster/event_codec.hpp"
#include "server/core/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <deque>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace parley::server::cluster {

namespace net = boost::asio;

namespace {

constexpr log::component persister_log{"cluster"};

persister_options checked(persister_options o) {
    if (!valid_node_id(o.node_id)) throw std::invalid_argument("persister: bad node id");
    if (o.lease_ttl.count() <= 0 || o.renew_every.count() <= 0 || o.renew_every * 2 > o.lease_ttl)
        throw std::invalid_argument("persister: renew_every must be positive and at most half of lease_ttl");
    if (o.idle_poll.count() <= 0 || o.retry.count() <= 0)
        throw std::invalid_argument("persister: idle_poll and retry must be positive");
    if (o.take_count == 0 || o.take_count > max_outbox_batch)
        throw std::invalid_argument("persister: take_count must be 1.." + std::to_string(max_outbox_batch));
    if (o.max_unpersisted == 0) throw std::invalid_argument("persister: max_unpersisted must be positive");
    return o;
}

template <class T>
std::string text_of(const T& x) {
    std::ostringstream out;
    out << x;
    return out.str();
}

}  // namespace

struct persister::state : std::enable_shared_from_this<state> {
    state(net::any_io_executor ex, sequencer& c, sequencer& r, event_sink& s, persister_options o)
        : strand(net::make_strand(ex)), commands(c), reads(r), sink(s), opts(checked(std::move(o))),
          renew_timer(strand), poll_timer(strand) {}

    /// An entry handed to the writer, waiting for its report.
    struct waiting_entry {
        std::uint64_t seq;
        std::uint64_t epoch;
        unsigned partition;
        std::string id;
    };

    net::strand<net::any_io_executor> strand;
    sequencer& commands;
    sequencer& reads;
    event_sink& sink;
    const persister_options opts;
    net::steady_timer renew_timer;
    net::steady_timer poll_timer;

    // on the strand
    std::set<unsigned> held;
    std::set<unsigned> taking;  // leases newly held whose pending entries are being claimed
    std::unordered_map<std::uint32_t, std::deque<waiting_entry>> waiting;  // by room, in the order pushed
    std::map<unsigned, std::vector<std::string>> unacked;  // persisted, acknowledgement still to send
    bool started = false;
    bool polling = false;  // a take is in flight

    std::atomic<bool> stopped{false};
    std::atomic<std::size_t> held_count{0}, unpersisted{0};
    std::atomic<std::uint64_t> taken{0}, claimed{0}, acknowledged{0}, malformed{0}, takeovers{0}, failures{0};

    template <class F>
    void post(F f) {
        net::post(strand, [self = shared_from_this(), f = std::move(f)]() mutable { f(); });
    }

    /// A sequencer completion that continues `f` on the strand, unless stopped by then.
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
        log::debug(persister_log, "persister call failed", {{"call", what}, {"error", text_of(e)}});
    }

    // ---- leases ----------------------------------------------------------------------------------

    void renew() {
        if (stopped) return;
        for (unsigned p = 0; p < commands.keys().partitions(); ++p)
            commands.acquire_lease(p, opts.node_id, opts.lease_ttl, back<bool>([this, p](outcome<bool> r) {
                if (!r) return failed("parley_lease", r.error());  // reads stay fenced meanwhile
                if (r.value() && !held.contains(p) && !taking.contains(p)) return take_over(p);
                if (!r.value()) drop(p, "another node holds its lease");
            }));
        renew_timer.expires_after(opts.renew_every);
        renew_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->renew();
        });
    }

    void take_over(unsigned p) {
        taking.insert(p);
        ++takeovers;
        commands.ensure_group(p, back<cluster::acknowledged>([this, p](outcome<cluster::acknowledged> r) {
            if (!r) {
                taking.erase(p);
                return failed("XGROUP CREATE", r.error());
            }
            claim(p, "0-0");
        }));
    }

    // Every entry pending in the partition, from whichever consumer, before
    // anything new: they are the oldest of their rooms (GUARANTEES).
    void claim(unsigned p, std::string cursor) {
        reads.claim_outbox(p, opts.node_id, std::chrono::milliseconds(0), opts.take_count,
                           back<outbox_batch>([this, p](outcome<outbox_batch> r) {
                               if (!r || !r.value().lost.empty() || !r.value().missing_group.empty()) {
                                   taking.erase(p);
                                   if (!r) failed("parley_claim", r.error());
                                   return;
                               }
                               outbox_batch& b = r.value();
                               claimed += b.entries.size();
                               accept(b);
                               if (b.next_cursor != "0-0") return claim(p, std::move(b.next_cursor));
                               taking.erase(p);
                               held.insert(p);
                               held_count = held.size();
                               log::info(persister_log, "persisting a partition",
                                         {{"partition", p}, {"node", opts.node_id}});
                               kick();
                           }),
                           std::move(cursor));
    }

    void drop(unsigned p, std::string_view why) {
        if (held.erase(p) == 0) return;
        held_count = held.size();
        log::info(persister_log, "no longer persisting a partition", {{"partition", p}, {"why", why}});
    }

    // ---- reading ---------------------------------------------------------------------------------

    void kick() {
        poll_timer.cancel();
        post([this] { poll(); });
    }

    void poll_after(std::chrono::milliseconds d) {
        poll_timer.expires_after(d);
        poll_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->poll();
        });
    }

    void poll() {
        if (stopped || polling || held.empty()) return;
        flush_acks();
        if (unpersisted >= opts.max_unpersisted) return;  // persisted() kicks
        polling = true;
        reads.take_outbox(std::vector<unsigned>(held.begin(), held.end()), opts.node_id, opts.take_count,
                          back<outbox_batch>([this](outcome<outbox_batch> r) {
                              polling = false;
                              if (!r) {
                                  failed("parley_take", r.error());
                                  return poll_after(opts.retry);
                              }
                              outbox_batch& b = r.value();
                              for (unsigned p : b.lost) drop(p, "its lease expired");
                              for (unsigned p : b.missing_group) drop(p, "its consumer group is gone");
                              const bool got = !b.entries.empty() || !b.malformed.empty();
                              accept(b);
                              if (got) return kick();
                              poll_after(opts.idle_poll);
                          }));
    }

    void accept(outbox_batch& b) {
        for (auto& m : b.malformed) discard(m.partition, std::move(m.id), m.why);
        for (auto& e : b.entries) {
            ++taken;
            auto decoded = decode_storage_event(e.body);
            if (auto* error = std::get_if<event_decode_error>(&decoded)) {
                discard(e.partition, std::move(e.id), text_of(*error));
                continue;
            }
            storage_event& ev = std::get<storage_event>(decoded);
            const auto where = sequence_of(ev);
            if (!where || where->first != e.room || where->second != e.seq) {
                discard(e.partition, std::move(e.id), "the body names another room or seq than the entry");
                continue;
            }
            waiting[e.room].push_back({e.seq, e.epoch, e.partition, std::move(e.id)});
            ++unpersisted;
            sink.push(std::move(ev));
        }
    }

    void discard(unsigned p, std::string id, std::string_view why) {
        ++malformed;
        log::error(persister_log, "dropped an outbox entry that cannot be written",
                   {{"partition", p}, {"id", id}, {"why", why}});
        unacked[p].push_back(std::move(id));
        flush_acks();
    }

    // ---- reports ---------------------------------------------------------------------------------

    void on_persisted(std::uint32_t room, std::uint64_t seq) {
        const auto it = waiting.find(room);
        if (it == waiting.end()) return;
        const bool was_full = unpersisted >= opts.max_unpersisted;
        std::optional<waiting_entry> top;
        auto& list = it->second;
        while (!list.empty() && list.front().seq <= seq) {
            waiting_entry& w = list.front();
            if (!top || w.seq >= top->seq) top = waiting_entry{w.seq, w.epoch, w.partition, {}};
            unacked[w.partition].push_back(std::move(w.id));
            list.pop_front();
            --unpersisted;
        }
        if (list.empty()) waiting.erase(it);
        if (!top) return;
        commands.mark_persisted(room, top->epoch, top->seq, back<bool>([this](outcome<bool> r) {
            if (!r) failed("parley_persisted", r.error());  // the next report moves it further
        }));
        flush_acks();
        if (was_full && unpersisted < opts.max_unpersisted) kick();
    }

    // Acknowledgements that fail stay queued and go with the next flush.
    void flush_acks() {
        for (auto& entry : unacked) {
            const unsigned p = entry.first;  // not a structured binding: clang 14 cannot capture one
            auto& ids = entry.second;
            while (!ids.empty()) {
                const std::size_t n = std::min(ids.size(), max_outbox_batch);
                std::vector<std::string> chunk(std::make_move_iterator(ids.end() - static_cast<std::ptrdiff_t>(n)),
                                               std::make_move_iterator(ids.end()));
                ids.resize(ids.size() - n);
                commands.ack_outbox(p, chunk, back<std::uint64_t>([this, p, chunk](outcome<std::uint64_t> r) mutable {
                    if (r) {
                        acknowledged += r.value();
                        return;
                    }
                    failed("parley_ack", r.error());
                    auto& again = unacked[p];
                    again.insert(again.end(), std::make_move_iterator(chunk.begin()), std::make_move_iterator(chunk.end()));
                }));
            }
        }
        std::erase_if(unacked, [](const auto& kv) { return kv.second.empty(); });
    }

    void shut_down() {
        renew_timer.cancel();
        poll_timer.cancel();
        for (unsigned p : held) commands.release_lease(p, opts.node_id, {});
        for (unsigned p : taking) commands.release_lease(p, opts.node_id, {});
        held.clear();
        taking.clear();
        held_count = 0;
    }
};

persister::persister(net::any_io_executor executor, sequencer& commands, sequencer& reads, event_sink& sink,
                     persister_options options)
    : state_(std::make_shared<state>(std::move(executor), commands, reads, sink, std::move(options))) {}

persister::~persister() { stop(); }

void persister::start() {
    state_->post([s = state_.get()] {
        if (s->started || s->stopped) return;
        s->started = true;
        s->renew();
    });
}

void persister::stop() {
    if (state_->stopped.exchange(true)) return;
    state_->post([s = state_.get()] { s->shut_down(); });
}

void persister::persisted(std::uint32_t room, std::uint64_t seq) {
    state_->post([s = state_.get(), room, seq] {
        if (!s->stopped) s->on_persisted(room, seq);
    });
}

persister_stats persister::stats() const {
    const state& s = *state_;
    return {s.held_count, s.unpersisted, s.taken, s.claimed, s.acknowledged, s.malformed, s.takeovers, s.failures};
}

}  // namespace parley::server::cluster
