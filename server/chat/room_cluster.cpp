// A room in cluster mode (room_services::link): a replica of the room that
// every node with members of it holds (core/replication.hpp has the model).
//
// A decision (a message, a change, a room event) is made on the replica at
// its top and proposed through the link with that position; it is applied
// only when it comes back in the room's order, like everyone else's events,
// and its sender is acknowledged then. One proposal is in flight at a time:
// later decisions wait and are made again once it is done, on the state it
// produced. A proposal refused as stale (another node's event came first)
// is decided again once the replica has caught up to the top it was told.
//
// Typing crosses nodes through the link's shared channel messages. What is
// not built here yet: presence across nodes (each node shows its own
// members online), and a replica that fell behind the cluster's log
// or saw a reseed does not read the gap from the store: it drops its
// members, who rejoin at once, and warms again.
#include "server/chat/room.hpp"

#include "server/core/bounds.hpp"
#include "server/core/clock.hpp"
#include "server/core/log.hpp"

#include <algorithm>
#include <charconv>

namespace parley::server {
using namespace parley::protocol;

namespace {

/// Who proposes an event, and its client id: the sequencer's dedup key.
std::pair<std::uint64_t, std::uint64_t> proposer_of(const storage_event& e) {
    return std::visit(
        [](const auto& ev) -> std::pair<std::uint64_t, std::uint64_t> {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, events::message_posted>) return {ev.author_id, ev.client_msg_id};
            else if constexpr (std::is_same_v<T, events::room_changed>) return {ev.actor_id, ev.client_id};
            else if constexpr (requires { ev.client_id; }) return {ev.user_id, ev.client_id};
            else return {0, 0};
        },
        e);
}

unix_ms time_of(const storage_event& e) {
    return std::visit(
        [](const auto& ev) -> unix_ms {
            if constexpr (requires { ev.sent_at; }) return ev.sent_at;
            else return ev.at;
        },
        e);
}

}  // namespace

void room::commit(storage_event e, const room_member* origin, request_ref ref, commit_hooks hooks, bool announce_rows) {
    if (svc_.link == nullptr) {
        apply(std::move(e), origin, announce_rows);
        if (hooks.done) hooks.done();
        return;
    }
    if (proposing_) {
        // Decided on a state the proposal in flight will change: decide again after it.
        if (hooks.redo) decisions_.push_back(std::move(hooks.redo));
        return;
    }
    proposing_ = true;
    std::optional<room_member> who;
    if (origin != nullptr) who = *origin;
    const auto [user_id, client_id] = proposer_of(e);
    const unix_ms at = time_of(e);
    svc_.link->propose(id_, epoch_, last_seq_, user_id, client_id, e,
        [this, self = shared_from_this(), who = std::move(who), ref, hooks = std::move(hooks), at,
         user_id = user_id, client_id = client_id](proposal_result r) mutable {
            on_strand([this, who = std::move(who), ref, hooks = std::move(hooks), at, user_id, client_id, r]() mutable {
                proposing_ = false;
                switch (r.status) {
                    case proposal_status::committed:
                        if (who) ack(*who, ref.id, r.seq, at);
                        if (hooks.done) hooks.done();
                        break;
                    case proposal_status::duplicate: {
                        // Sequenced before, perhaps through another node: the original's seq and time.
                        svc_.stats.duplicate_messages.fetch_add(1, std::memory_order_relaxed);
                        const auto found = timeline_.find(user_id, client_id);
                        if (who) ack(*who, ref.id, r.seq, found ? found->at : at);
                        if (hooks.done) hooks.done();
                        break;
                    }
                    case proposal_status::stale:
                        catch_up_to_ = r.epoch == epoch_ ? r.seq : 0;
                        if (hooks.redo) decisions_.push_front(std::move(hooks.redo));
                        break;
                    case proposal_status::unavailable:
                        if (who) send_error(*who, error_code::room_unavailable, ref.kind, ref.id, bounds::unavailable_retry_ms);
                        if (hooks.failed) hooks.failed();
                        break;
                }
                pump_decisions();
            });
        });
}

void room::pump_decisions() {
    while (!proposing_ && !decisions_.empty() && last_seq_ >= catch_up_to_) {
        auto next = std::move(decisions_.front());
        decisions_.pop_front();
        next();  // proposes again (proposing_), or answers at once
    }
}

// ---- joining the cluster -------------------------------------------------------------------------

void room::attach_to_cluster() {
    const std::uint64_t fresh = svc_.new_epoch ? svc_.new_epoch() : epochs_.size() + 1;
    svc_.link->attach(id_, last_seq_, epochs_.size(), fresh, std::weak_ptr<room_replica>(shared_from_this()),
        [this, self = shared_from_this()](std::optional<replica_start> start) {
            on_strand([this, start] {
                if (!start) {
                    warming_ = false;
                    auto waiting = std::move(waiting_for_warm_);
                    for (auto& [op, unavailable] : waiting) unavailable();
                    return;
                }
                epoch_ = start->epoch;
                const bool known = std::any_of(epochs_.begin(), epochs_.end(),
                                               [&](const epoch_record& r) { return r.epoch == epoch_; });
                if (start->seeded) {
                    // This node started the epoch: it records it, as a single node does.
                    epochs_.push_back({epoch_, start->base});
                    if (svc_.sink != nullptr)
                        svc_.sink->push(events::epoch_started{id_, epoch_, start->base, now_unix_ms()});
                } else if (!known) {
                    // Another node's epoch whose record the store does not hold yet: it
                    // began at most at what the store holds.
                    epochs_.push_back({epoch_, last_seq_});
                }
                finish_warming();
            });
        });
}

// ---- what the cluster sends ----------------------------------------------------------------------

void room::replicated(replicated_event e) {
    on_strand([this, e = std::move(e)]() mutable { apply_replicated(std::move(e)); });
}

void room::apply_replicated(replicated_event e) {
    if (!warm_ || e.epoch != epoch_ || e.seq <= last_seq_) return;  // from before a go_cold, or applied
    if (e.seq != last_seq_ + 1) {
        log::error(log::chat, "a replicated event is out of order; the replica warms again",
                   {{"room", id_}, {"seq", e.seq}, {"expected", last_seq_ + 1}});
        return go_cold(last_seq_);
    }
    const auto where = e.event ? sequence_of(*e.event) : std::nullopt;
    if (!e.event || !where || where->first != id_ || where->second != e.seq) {
        // Nothing this node can show takes the seq: the cache holds a void.
        log::error(log::chat, "a replicated event cannot be applied; its seq stays void here",
                   {{"room", id_}, {"seq", e.seq}});
        last_seq_ = e.seq;
        last_seq_published_.store(last_seq_, std::memory_order_relaxed);
        timeline_.append(timeline_event{.seq = e.seq, .what = timeline_event::type::voided});
    } else {
        apply(std::move(*e.event), nullptr);
    }
    pump_decisions();
}

void room::reseeded(std::uint64_t base, std::uint64_t epoch) {
    on_strand([this, base, epoch] {
        if (!warm_ || epoch == epoch_) return;
        log::warn(log::chat, "the room was reseeded in the cluster; members rejoin",
                  {{"room", id_}, {"epoch", epoch}, {"base", base}});
        go_cold(base);
    });
}

void room::fell_behind(std::uint64_t after, std::uint64_t upto) {
    on_strand([this, after, upto] {
        if (!warm_) return;
        log::warn(log::chat, "the replica fell behind the cluster's log; members rejoin",
                  {{"room", id_}, {"after", after}, {"upto", upto}});
        go_cold(after);
    });
}

// Typing crosses nodes as "y<user id> <name>" or "n<user id> <name>". The
// receiving node shows it like its own members' typing, with its own
// expiry: a node that dies while its user types leaves the indicator for
// typing_ttl at most.
void room::share_typing(std::uint64_t user_id, const std::string& username, bool active) {
    svc_.link->share(id_, (active ? "y" : "n") + std::to_string(user_id) + " " + username);
}

void room::shared(std::string_view body) {
    if (body.size() < 4 || body.size() > 64 + limits::max_username_bytes || (body[0] != 'y' && body[0] != 'n')) return;
    const auto space = body.find(' ');
    std::uint64_t user_id = 0;
    const auto digits = body.substr(1, space == std::string_view::npos ? 0 : space - 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), user_id);
    if (ec != std::errc{} || end != digits.data() + digits.size() || user_id == 0) return;
    on_strand([this, active = body[0] == 'y', user_id, name = std::string(body.substr(space + 1))] {
        // Only a member who may speak is shown, as on the node it types on.
        const member_state* p = person(user_id);
        if (!warm_ || p == nullptr || p->status != member_status::member || (active && p->muted)) return;
        show_typing(user_id, p->username, active);
    });
}

void room::go_cold(std::uint64_t base) {
    for (const auto& [conn, m] : members_) {
        forget_member(m);
        send_to(m, room_left{id_, leave_reason::unavailable});
        if (m.removed) m.removed(id_);
    }
    members_.clear();
    publish_stats();
    decisions_.clear();
    catch_up_to_ = 0;
    warm_ = false;
    last_seq_ = std::min(last_seq_, base);
    persisted_seq_ = std::min(persisted_seq_, last_seq_);
    last_seq_published_.store(last_seq_, std::memory_order_relaxed);
    svc_.link->detach(id_);
}

}  // namespace parley::server
