#include "server/chat/room.hpp"

#include "server/core/bounds.hpp"
#include "server/core/clock.hpp"
#include "server/core/log.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <limits>

namespace parley::server {
namespace net = boost::asio;
using namespace parley::protocol;

namespace {

using bounds::latest_page_size, bounds::max_pinned_messages, bounds::snapshot_people, bounds::unavailable_retry_ms;

/// The record as one viewer sees it: reaction counts, and which are theirs.
message_record view_of(const message_state& s, std::uint64_t viewer) {
    message_record r = s.record;
    r.reactions.clear();
    r.my_reactions = 0;
    if (r.deleted) return r;
    std::array<std::uint32_t, reaction_kind_count> counts{};
    for (const auto& [reaction, user] : s.reactors) {
        const auto k = static_cast<std::size_t>(reaction);
        ++counts[k];
        if (user == viewer) r.my_reactions = static_cast<std::uint8_t>(r.my_reactions | (1u << k));
    }
    for (std::size_t k = 0; k < counts.size(); ++k)
        if (counts[k] != 0) r.reactions.push_back({static_cast<reaction_kind>(k), counts[k]});
    return r;
}

bool is_blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

}  // namespace

/// The packet that tells a member about `ev`; nothing for a void event.
std::optional<packet> room::event_packet(const timeline_event& ev, const message_state* m, std::uint64_t viewer) const {
    using type = timeline_event::type;
    switch (ev.what) {
        case type::posted:
            if (m == nullptr) return std::nullopt;
            return chat_message{id_, view_of(*m, viewer)};
        case type::edited: return message_edited{id_, ev.seq, ev.message_seq, ev.text, ev.at};
        case type::deleted: return message_deleted{id_, ev.seq, ev.message_seq, ev.at, ev.user_id};
        case type::reacted:
            return reaction_update{id_, ev.seq, ev.message_seq, ev.reaction, ev.count, ev.user_id, ev.added};
        case type::room:
            return room_event{id_,        ev.seq,  ev.at,        user_of(ev.user_id), ev.action, user_of(ev.target_id),
                              ev.role,    ev.room_kind, ev.text};
        case type::voided: return std::nullopt;
    }
    return std::nullopt;
}

room::room(net::io_context& io, room_services services, room_init init)
    : strand_(net::make_strand(io)),
      svc_(std::move(services)),
      id_(init.id),
      settings_(std::move(init.settings)),
      last_seq_(init.last_seq),
      persisted_seq_(init.last_seq),
      timeline_(svc_.cfg.room_cache_messages, max_pinned_messages),
      sweep_timer_(strand_),
      watermark_timer_(strand_),
      idle_timer_(strand_) {
    last_seq_published_ = init.last_seq;
    for (auto& p : init.people) people_.emplace(p.user_id, std::move(p));
}

room::guard room::make_guard(done_handler done) {
    // `done` runs when the last copy of the guard is gone: after the request
    // was acknowledged or refused, however many asynchronous steps that took.
    return guard(nullptr, [done = std::move(done)](void*) {
        if (done) done();
    });
}

// ---- idleness: a room nobody uses leaves memory -------------------------------------------------

void room::unpin() {
    if (pins_.fetch_sub(1, std::memory_order_relaxed) == 1) on_strand([this] { check_idle(); });
}

// Memory-only rooms (no sink) have nowhere to come back from: they stay.
bool room::idle_now() const {
    return !evicted_ && !pinned() && (svc_.sink != nullptr || svc_.link != nullptr) && members_.empty() && joining_.empty() &&
           waiting_for_warm_.empty() && !warming_ && unstored_.empty() && persisted_seq_ >= last_seq_;
}

void room::check_idle() {
    if (!idle_now()) return;
    idle_timer_.expires_after(svc_.cfg.room_idle);
    idle_timer_.async_wait([this, self = shared_from_this()](boost::system::error_code ec) {
        if (ec || !idle_now() || !svc_.observer.idle || !svc_.observer.idle(id_, this)) return;
        evicted_ = true;
        if (svc_.link != nullptr) svc_.link->detach(id_);
        sweep_timer_.cancel();
        watermark_timer_.cancel();
    });
}

// ---- warming: a room becomes usable on first use ---------------------------------------------

void room::when_warm(std::function<void()> op, std::function<void()> unavailable) {
    if (warm_) return op();
    waiting_for_warm_.emplace_back(std::move(op), std::move(unavailable));
    start_warming();
}

// The newest events are read into the cache, with the room's epochs. A read
// that fails leaves the room cold: everything waiting is told "not available,
// retry", and the next request tries again. A room is never shown as empty
// because its disk could not be read.
void room::start_warming() {
    if (warming_) return;
    warming_ = true;
    if (svc_.store == nullptr || last_seq_ == 0) return become_warm({});
    const std::uint64_t n = svc_.cfg.room_cache_messages;
    const std::uint64_t from = last_seq_ > n ? last_seq_ - n + 1 : 1;
    svc_.store->read_snapshot(id_, from, [this, self = shared_from_this()](read_result<room_snapshot> r) {
        on_strand([this, r = std::move(r)]() mutable {
            if (r.ok) return become_warm(std::move(r.value));
            warming_ = false;
            auto waiting = std::move(waiting_for_warm_);
            for (auto& [op, unavailable] : waiting) unavailable();
        });
    });
}

void room::become_warm(room_snapshot snapshot) {
    if (!snapshot.recent.events.empty()) last_seq_ = std::max(last_seq_, snapshot.recent.events.back().seq);
    timeline_.load(last_seq_ + 1, std::move(snapshot.recent));
    epochs_ = std::move(snapshot.epochs);
    if (svc_.link != nullptr) return attach_to_cluster();  // the cluster has the epoch (room_cluster.cpp)
    start_epoch(last_seq_);  // what this process issues may be lost in a crash: a run of its own
    finish_warming();
}

void room::finish_warming() {
    warm_ = true;
    warming_ = false;
    auto waiting = std::move(waiting_for_warm_);
    for (auto& [op, unavailable] : waiting) op();
}

void room::start_epoch(std::uint64_t base_seq) {
    epoch_ = svc_.new_epoch ? svc_.new_epoch() : epochs_.size() + 1;
    epochs_.push_back({epoch_, base_seq});
    if (svc_.sink != nullptr) svc_.sink->push(events::epoch_started{id_, epoch_, base_seq, now_unix_ms()});
}

void room::when_member(std::uint64_t connection_id, std::function<void(const room_member&)> op) {
    if (const room_member* m = member(connection_id)) return op(*m);
    if (auto it = joining_.find(connection_id); it != joining_.end())
        it->second.push_back([this, connection_id, op = std::move(op)] { when_member(connection_id, op); });
    // Otherwise the connection left (or never joined) while the request was in flight: drop it.
}

// Every request of a member takes the same road: onto the strand, past the
// warm-up, to the connection's membership. A room that cannot be warmed now
// answers room_unavailable with a retry hint, so the client tries again.
void room::serve(std::uint64_t connection_id, request_ref ref, std::function<void(const room_member&)> op) {
    on_strand([this, connection_id, ref, op = std::move(op)]() mutable {
        when_warm([this, connection_id, op = std::move(op)]() mutable { when_member(connection_id, std::move(op)); },
                  [this, connection_id, ref] {
                      if (const room_member* m = member(connection_id))
                          send_error(*m, error_code::room_unavailable, ref.kind, ref.id, unavailable_retry_ms);
                  });
    });
}

// ---- joining and leaving ----------------------------------------------------------------------

room::join_plan room::plan_join(std::uint64_t epoch, std::uint64_t since_seq) const {
    if (since_seq == 0) return {.latest = true};
    // The highest seq the client's position shares with this epoch: every
    // epoch begun after the client's own may have replaced what was above
    // its base. An epoch this room never had (a database restored from an
    // older backup, say) shares nothing.
    std::uint64_t shared = last_seq_;
    if (epoch != epoch_) {
        auto it = std::find_if(epochs_.begin(), epochs_.end(), [&](const epoch_record& e) { return e.epoch == epoch; });
        shared = 0;
        if (it != epochs_.end()) {
            shared = last_seq_;
            for (++it; it != epochs_.end(); ++it) shared = std::min(shared, it->base_seq);
        }
    }
    if (since_seq > shared) return {.latest = true, .reset_base = shared};
    if (last_seq_ - since_seq > svc_.cfg.max_replay_messages) return {.latest = true};
    return {};
}

void room::join(room_member m, std::uint64_t epoch, std::uint64_t since_seq) {
    on_strand([this, m = std::move(m), epoch, since_seq]() mutable {
        if (svc_.link == nullptr) return decide_join(std::move(m), epoch, since_seq);
        // In a cluster the room may still be attaching, or proposing this
        // node's own changes (a new room's creator being admitted): the join
        // is decided after them, on the state they produce. It counts as
        // joining meanwhile, so a leave cancels it (and its requests wait).
        const std::uint64_t conn = m.connection_id;
        joining_.try_emplace(conn);
        when_warm([this, m, epoch, since_seq, conn]() mutable {
            auto decide = [this, m, epoch, since_seq, conn]() mutable {
                if (joining_.contains(conn)) decide_join(std::move(m), epoch, since_seq);
            };
            if (proposing_ || !decisions_.empty()) return decisions_.push_back(std::move(decide));
            decide();
        }, [this, m, conn] { refuse_join(conn, m); });
    });
}

void room::decide_join(room_member m, std::uint64_t epoch, std::uint64_t since_seq) {
    if (deleted_ || !access::may_join(actor_of(m), settings_.kind)) {
        // Public rooms may say why; for the others, nothing is said that
        // an address of no room would not get.
        joining_.erase(m.connection_id);  // a cluster's join waited as joining
        const bool say_why = !deleted_ && settings_.kind == room_kind::public_room;
        send_error(m, say_why ? error_code::not_allowed : error_code::no_such_room, packet_kind::join_room, 0);
        if (m.removed) m.removed(id_);
        return;
    }
    joining_.try_emplace(m.connection_id);
    const std::uint64_t conn = m.connection_id;
    auto refuse = [this, conn, m] { refuse_join(conn, m); };
    when_warm([this, m = std::move(m), epoch, since_seq]() mutable { start_join(std::move(m), epoch, since_seq); },
              refuse);
}

// A joiner gets no broadcast before finish_join makes it a member, so what
// it is sent must reach the newest event at that moment, not the one when
// the join began: events recorded while storage was read would fall in
// between. A replay therefore asks for everything after since_seq (its last
// part is read from the cache when the disk part is back), and a latest
// page, taken as of one seq, is followed by the events after that seq.
void room::start_join(room_member m, std::uint64_t epoch, std::uint64_t since_seq) {
    constexpr std::uint64_t newest = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t conn = m.connection_id;
    auto failed = [this, conn, m] { refuse_join(conn, m); };
    if (svc_.link != nullptr) {
        // In a cluster a first join is sequenced before anything is read:
        // once the joined event is applied, the join goes on as a rejoin,
        // and what it reads reaches the newest event.
        const member_state* row = person(m.user_id);
        if (row == nullptr || row->status != member_status::member) {
            const std::uint64_t inviter = row != nullptr && row->invited_by != 0 ? row->invited_by : m.user_id;
            auto again = [this, m, epoch, since_seq] {
                if (joining_.contains(m.connection_id)) start_join(m, epoch, since_seq);
            };
            return admit(m.user_id, m.username, inviter, true, {again, again, failed});
        }
    }
    const join_plan plan = plan_join(epoch, since_seq);
    if (plan.latest) {
        const std::uint64_t page_seq = last_seq_;
        return collect_messages_before(page_seq + 1, latest_page_size,
            [this, m, plan, page_seq, failed](std::vector<message_state> latest, bool has_more) mutable {
                if (!joining_.contains(m.connection_id)) return;  // left meanwhile
                collect_events(page_seq + 1, newest,
                    [this, m, plan, latest = std::move(latest), has_more](std::vector<timeline_item> since_page) mutable {
                        finish_join(std::move(m), plan, since_page, latest, has_more);
                    },
                    failed);
            },
            failed);
    }
    collect_events(since_seq + 1, newest, [this, m, plan](std::vector<timeline_item> items) mutable {
        finish_join(std::move(m), plan, items, {}, false);
    }, failed);
}

void room::refuse_join(std::uint64_t connection_id, const room_member& m) {
    if (joining_.erase(connection_id) == 0) return;  // left meanwhile
    send_error(m, error_code::room_unavailable, packet_kind::join_room, id_, unavailable_retry_ms);
    if (m.removed) m.removed(id_);
}

void room::finish_join(room_member m, const join_plan& plan, const std::vector<timeline_item>& replay,
                       const std::vector<message_state>& latest, bool has_more) {
    auto pending = joining_.find(m.connection_id);
    if (pending == joining_.end()) return;  // the connection left while its join was loading
    auto deferred = std::move(pending->second);
    joining_.erase(pending);
    // Still allowed? A ban or a deletion may have come while the join loaded.
    if (deleted_ || !access::may_join(actor_of(m), settings_.kind)) {
        send_error(m, deleted_ || settings_.kind != room_kind::public_room ? error_code::no_such_room
                                                                          : error_code::not_allowed,
                   packet_kind::join_room, 0);
        if (m.removed) m.removed(id_);
        return;
    }
    // A first join makes the user a member: an event everyone sees. The
    // members there already get it now; the joiner after its replay, as the
    // next event after what room_joined announces.
    const member_state* row = person(m.user_id);
    const bool first_join = row == nullptr || row->status != member_status::member;
    const std::uint64_t joined_seq = last_seq_;
    if (first_join) {
        const std::uint64_t inviter = row != nullptr && row->invited_by != 0 ? row->invited_by : m.user_id;
        admit(m.user_id, m.username, inviter, false);
    }
    const bool rejoin = members_.contains(m.connection_id);
    const room_member& added = add_member(std::move(m));
    if (!rejoin && presence_.connected(added.user_id, added.username)) presence_changed(added.user_id, added.connection_id);
    publish_stats();

    const member_state& me = people_.at(added.user_id);
    send_to(added, room_joined{id_, settings_.address, settings_.title, settings_.topic, settings_.kind, me.role, me.muted,
                               epoch_, joined_seq, std::min(persisted_seq_, joined_seq)});
    if (plan.reset_base) send_to(added, room_reset{id_, epoch_, *plan.reset_base});
    send_people(added);
    // The snapshot replaces the client's list. In a large room it names the
    // first snapshot_people of those online, and the count tells the rest.
    const auto online = static_cast<std::uint32_t>(presence_.online_count());
    presence_update snapshot{id_, presence_change::snapshot, presence_.online(snapshot_people), online};
    if (snapshot.users.size() < online) presence_partial_ = true;
    send_to(added, snapshot);
    // `replay`: what the client missed, or with a latest page what followed it.
    if (plan.latest) send_page(added, history_mode::latest, has_more, latest);
    send_items(added, replay);
    if (first_join) {
        if (const timeline_event* ev = timeline_.event(joined_seq + 1))
            if (auto p = event_packet(*ev, nullptr, added.user_id)) send_to(added, *p);
        announce(me);  // the user's room lists, after this connection's room_joined
    }
    for (const auto& u : presence_.typing_users())
        if (u.id != added.user_id) send_to(added, typing_update{id_, u, true}, true);
    for (auto& op : deferred) op();
}

void room::leave(std::uint64_t connection_id, bool reply) {
    on_strand([this, connection_id, reply] {
        joining_.erase(connection_id);
        auto it = members_.find(connection_id);
        if (it == members_.end()) return;
        const room_member m = std::move(it->second);
        members_.erase(it);
        forget_member(m);
        publish_stats();
        member_left(m);
        if (reply) send_to(m, room_left{id_, leave_reason::requested});
    });
}

// ---- messages -----------------------------------------------------------------------------------

void room::post_message(std::uint64_t connection_id, send_message msg, clock::time_point received_at,
                        done_handler done) {
    const request_ref ref{packet_kind::send_message, msg.client_msg_id};
    serve(connection_id, ref, [this, msg = std::move(msg), received_at, g = make_guard(std::move(done))](
                                  const room_member& m) mutable { do_post(m, std::move(msg), received_at, std::move(g)); });
}

void room::do_post(const room_member& m, send_message msg, clock::time_point received_at, guard g) {
    if (const member_state* me = person(m.user_id); me != nullptr && me->muted)
        return send_error(m, error_code::muted, packet_kind::send_message, msg.client_msg_id);
    if (is_blank(msg.text)) return send_error(m, error_code::empty_text, packet_kind::send_message, msg.client_msg_id);
    if (msg.reply_to > last_seq_)
        return send_error(m, error_code::no_such_message, packet_kind::send_message, msg.client_msg_id);
    const std::uint64_t conn = m.connection_id;
    auto retry = [this, conn, msg, received_at, g]() mutable {
        msg.resend = false;  // not stored: a first delivery after all
        when_member(conn, [this, msg, received_at, g](const room_member& mm) { do_post(mm, msg, received_at, g); });
    };
    if (answer_duplicate(m, packet_kind::send_message, msg.client_msg_id, msg.resend, retry, g)) return;
    if (svc_.sink != nullptr && svc_.sink->backlog() >= svc_.cfg.max_writer_backlog)
        return send_error(m, error_code::server_busy, packet_kind::send_message, msg.client_msg_id, bounds::busy_retry_ms);
    accept_message(m, std::move(msg), received_at, std::move(retry));
}

// De-duplication has one scope everywhere: (room, user, client id), in
// memory (the cache's events) and on disk (the same key is a unique index).
// First attempts never wait for storage; a resend looks on disk once.
bool room::answer_duplicate(const room_member& m, packet_kind kind, std::uint64_t client_id, bool resend,
                            std::function<void()> retry, guard g) {
    if (auto found = timeline_.find(m.user_id, client_id)) {
        svc_.stats.duplicate_messages.fetch_add(1, std::memory_order_relaxed);
        ack(m, client_id, found->seq, found->at);
        return true;
    }
    if (!resend || svc_.store == nullptr) return false;
    svc_.store->find_client_op(id_, m.user_id, client_id,
        [this, self = shared_from_this(), conn = m.connection_id, kind, client_id, retry = std::move(retry),
         g](read_result<std::optional<stored_ack>> r) mutable {
            on_strand([this, conn, kind, client_id, r, retry = std::move(retry), g] {
                const room_member* mm = member(conn);
                if (mm == nullptr) return;
                if (!r.ok) return send_error(*mm, error_code::room_unavailable, kind, client_id, unavailable_retry_ms);
                if (!r.value) return retry();
                // It might have been accepted meanwhile, through another connection.
                svc_.stats.duplicate_messages.fetch_add(1, std::memory_order_relaxed);
                ack(*mm, client_id, r.value->seq, r.value->at);
            });
        });
    return true;
}

void room::accept_message(const room_member& m, send_message msg, clock::time_point received_at,
                          std::function<void()> redo) {
    const request_ref ref{packet_kind::send_message, msg.client_msg_id};
    events::message_posted e{id_, last_seq_ + 1, m.user_id, msg.client_msg_id, std::move(msg.text), now_unix_ms(),
                             msg.reply_to};
    commit(std::move(e), &m, ref, {std::move(redo), {}, {}});
    if (svc_.link == nullptr) svc_.stats.broadcast_latency.observe(clock::now() - received_at);
}

// ---- applying: every change is decided first, then applied from its event alone ----------------

void room::apply(storage_event e, const room_member* origin, bool announce_rows) {
    std::visit([&](auto& ev) { apply_one(std::move(ev), origin, announce_rows); }, e);
}

void room::apply_one(events::message_posted e, const room_member* origin, bool) {
    message_state state;
    message_record& r = state.record;
    r.seq = e.seq;
    r.author_id = e.author_id;
    r.author = origin != nullptr ? origin->username : user_of(e.author_id).name;
    r.client_msg_id = e.client_msg_id;
    r.sent_at = e.sent_at;
    r.reply_to = e.reply_to;
    r.text = e.text;
    const timeline_event ev{.seq = r.seq, .what = timeline_event::type::posted, .user_id = r.author_id,
                            .client_id = r.client_msg_id, .at = r.sent_at};
    const chat_message live{id_, r};
    const std::string author = r.author;
    const std::uint64_t author_id = r.author_id;
    record(origin, ev, std::move(state), live, std::move(e));
    svc_.stats.messages_total.fetch_add(1, std::memory_order_relaxed);
    stop_typing(author_id, author);
}

// A change to a message the replica does not hold (older than its cache,
// and not loaded by a request of its own) is shown and stored all the same;
// the message's state is read from the store when someone asks for it.
void room::apply_one(events::message_edited e, const room_member* origin, bool) {
    if (message_state* s = timeline_.message(e.message_seq)) {
        s->record.text = e.text;
        s->record.edited_at = e.at;
        s->changed_seq = e.seq;
    }
    const timeline_event ev{.seq = e.seq, .what = timeline_event::type::edited, .user_id = e.user_id,
                            .client_id = e.client_id, .at = e.at, .message_seq = e.message_seq, .text = e.text};
    const message_edited live{id_, e.seq, e.message_seq, e.text, e.at};
    record(origin, ev, std::nullopt, live, std::move(e));
}

void room::apply_one(events::message_deleted e, const room_member* origin, bool) {
    if (message_state* s = timeline_.message(e.message_seq)) {
        s->record.deleted = true;
        s->record.deleted_by = e.user_id;
        s->record.text.clear();
        s->reactors.clear();
        s->changed_seq = e.seq;
    }
    const timeline_event ev{.seq = e.seq, .what = timeline_event::type::deleted, .user_id = e.user_id,
                            .client_id = e.client_id, .at = e.at, .message_seq = e.message_seq};
    const message_deleted live{id_, e.seq, e.message_seq, e.at, e.user_id};
    record(origin, ev, std::nullopt, live, std::move(e));
}

void room::apply_one(events::reaction_set e, const room_member* origin, bool) {
    std::uint32_t count = e.count;
    if (message_state* s = timeline_.message(e.message_seq)) {
        const std::pair<reaction_kind, std::uint64_t> theirs{e.reaction, e.user_id};
        auto it = std::find(s->reactors.begin(), s->reactors.end(), theirs);
        if (e.added && it == s->reactors.end()) s->reactors.push_back(theirs);
        if (!e.added && it != s->reactors.end()) s->reactors.erase(it);
        s->changed_seq = e.seq;
        count = static_cast<std::uint32_t>(
            std::count_if(s->reactors.begin(), s->reactors.end(), [&](const auto& x) { return x.first == e.reaction; }));
    }
    timeline_event ev{.seq = e.seq, .what = timeline_event::type::reacted, .user_id = e.user_id,
                      .client_id = e.client_id, .at = e.at, .message_seq = e.message_seq};
    ev.reaction = e.reaction;
    ev.added = e.added;
    ev.count = count;
    const reaction_update live{id_, e.seq, e.message_seq, e.reaction, count, e.user_id, e.added};
    record(origin, ev, std::nullopt, live, std::move(e));
}

// Neither is sequenced: nothing to apply (the room records its own epochs).
void room::apply_one(const events::room_created&, const room_member*, bool) {}
void room::apply_one(const events::epoch_started&, const room_member*, bool) {}

// Every change is recorded the same way: the next seq, the broadcast (first:
// latency is not bound to disk), the ack, the event for the writer, and the
// event in the cache.
void room::record(const room_member* m, timeline_event ev, std::optional<message_state> posted,
                  const packet& broadcast_packet, storage_event stored) {
    last_seq_ = ev.seq;
    last_seq_published_.store(last_seq_, std::memory_order_relaxed);
    broadcast(broadcast_packet);
    if (m != nullptr) ack(*m, ev.client_id, ev.seq, ev.at);  // after the broadcast: the sender sees the event first
    if (svc_.sink != nullptr && svc_.link == nullptr) svc_.sink->push(std::move(stored));  // in a cluster: the persister
    timeline_.append(std::move(ev), std::move(posted));
    timeline_.trim(persisted_seq_);
}

void room::ack(const room_member& m, std::uint64_t client_id, std::uint64_t seq, unix_ms at) {
    send_to(m, protocol::ack{id_, client_id, seq, at});
}

// ---- edits, deletions, reactions -----------------------------------------------------------------

void room::edit_message(std::uint64_t connection_id, protocol::edit_message req, done_handler done) {
    submit_change(connection_id, {packet_kind::edit_message, req.client_id, req.message_seq, req.resend, std::move(req)},
                  std::move(done));
}

void room::delete_message(std::uint64_t connection_id, protocol::delete_message req, done_handler done) {
    submit_change(connection_id, {packet_kind::delete_message, req.client_id, req.message_seq, req.resend, req},
                  std::move(done));
}

void room::set_reaction(std::uint64_t connection_id, protocol::set_reaction req, done_handler done) {
    submit_change(connection_id, {packet_kind::set_reaction, req.client_id, req.message_seq, req.resend, req},
                  std::move(done));
}

void room::submit_change(std::uint64_t connection_id, change_request req, done_handler done) {
    const request_ref ref{req.kind, req.client_id};
    serve(connection_id, ref, [this, req = std::move(req), g = make_guard(std::move(done))](
                                  const room_member& m) mutable { do_change(m, std::move(req), std::move(g)); });
}

void room::do_change(const room_member& m, change_request req, guard g) {
    // A muted member may still delete their own messages, and nothing else.
    const member_state* me = person(m.user_id);
    if (me != nullptr && me->muted && req.kind != packet_kind::delete_message)
        return send_error(m, error_code::muted, req.kind, req.client_id);
    if (const auto* e = std::get_if<protocol::edit_message>(&req.packet); e && is_blank(e->text))
        return send_error(m, error_code::empty_text, req.kind, req.client_id);
    const std::uint64_t conn = m.connection_id;
    auto retry = [this, conn, req, g]() mutable {
        req.resend = false;
        when_member(conn, [this, req, g](const room_member& mm) { do_change(mm, req, g); });
    };
    if (answer_duplicate(m, req.kind, req.client_id, req.resend, retry, g)) return;
    if (svc_.sink != nullptr && svc_.sink->backlog() >= svc_.cfg.max_writer_backlog)
        return send_error(m, error_code::server_busy, req.kind, req.client_id, bounds::busy_retry_ms);
    with_message(m, req.kind, req.client_id, req.message_seq,
                 [this, req, retry](const room_member& mm, message_state& s) { decide_change(mm, req, s, retry); });
}

// Checks the change against the message's state now, then records it. A
// change that alters nothing (deleting a deleted message, a reaction that is
// already so, the same text) is acknowledged with seq 0 and takes no seq.
// Decides the change on the message's state now, then applies it. A change
// that alters nothing (deleting a deleted message, a reaction that is
// already so, the same text) is acknowledged with seq 0 and takes no seq.
void room::decide_change(const room_member& m, const change_request& req, const message_state& s,
                         const std::function<void()>& redo) {
    const request_ref ref{req.kind, req.client_id};
    const bool own = s.record.author_id == m.user_id;
    const std::uint64_t seq = last_seq_ + 1;
    const unix_ms at = now_unix_ms();
    if (const auto* e = std::get_if<protocol::edit_message>(&req.packet)) {
        if (!own) return send_error(m, error_code::forbidden, req.kind, req.client_id);
        if (s.record.deleted) return send_error(m, error_code::message_deleted, req.kind, req.client_id);
        if (s.record.text == e->text) return ack(m, req.client_id, 0, at);
        return commit(events::message_edited{id_, seq, m.user_id, req.client_id, s.record.seq, e->text, at}, &m, ref,
                      {redo, {}, {}});
    }
    if (std::holds_alternative<protocol::delete_message>(req.packet)) {
        // Moderators may delete what others wrote (never edit it); the
        // tombstone names who deleted it.
        if (!own && !access::may_delete_others(actor_of(m)))
            return send_error(m, error_code::forbidden, req.kind, req.client_id);
        if (s.record.deleted) return ack(m, req.client_id, 0, at);
        return commit(events::message_deleted{id_, seq, m.user_id, req.client_id, s.record.seq, at}, &m, ref,
                      {redo, {}, {}});
    }
    const auto& r = std::get<protocol::set_reaction>(req.packet);
    if (s.record.deleted) return send_error(m, error_code::message_deleted, req.kind, req.client_id);
    const std::pair<reaction_kind, std::uint64_t> mine{r.reaction, m.user_id};
    const bool have = std::find(s.reactors.begin(), s.reactors.end(), mine) != s.reactors.end();
    if (have == r.on) return ack(m, req.client_id, 0, at);
    auto count = static_cast<std::uint32_t>(
        std::count_if(s.reactors.begin(), s.reactors.end(), [&](const auto& e) { return e.first == r.reaction; }));
    count = r.on ? count + 1 : count - 1;
    commit(events::reaction_set{id_, seq, m.user_id, req.client_id, s.record.seq, r.reaction, r.on, count, at}, &m, ref,
           {redo, {}, {}});
}

void room::with_message(const room_member& m, packet_kind kind, std::uint64_t ref, std::uint64_t seq,
                        std::function<void(const room_member&, message_state&)> op) {
    const timeline_event* ev = timeline_.event(seq);
    const bool not_a_message = seq == 0 || seq > last_seq_ || (ev != nullptr && ev->what != timeline_event::type::posted);
    if (not_a_message) return send_error(m, error_code::no_such_message, kind, ref);
    if (message_state* s = timeline_.message(seq)) return op(m, *s);
    if (svc_.store == nullptr || timeline_.covers(seq)) return send_error(m, error_code::no_such_message, kind, ref);
    svc_.store->read_messages_before(id_, seq + 1, 1,
        [this, self = shared_from_this(), conn = m.connection_id, kind, ref, seq,
         op = std::move(op)](read_result<std::vector<message_state>> r) mutable {
            on_strand([this, conn, kind, ref, seq, op = std::move(op), r = std::move(r)]() mutable {
                const room_member* mm = member(conn);
                if (mm == nullptr) return;
                if (!r.ok) return send_error(*mm, error_code::room_unavailable, kind, ref, unavailable_retry_ms);
                message_state* s = timeline_.message(seq);  // loaded meanwhile by another request
                if (s == nullptr) {
                    if (r.value.empty() || r.value.back().record.seq != seq)
                        return send_error(*mm, error_code::no_such_message, kind, ref);
                    s = &timeline_.pin(std::move(r.value.back()));
                }
                op(*mm, *s);
            });
        });
}

// ---- history ------------------------------------------------------------------------------------

void room::request_history(std::uint64_t connection_id, protocol::request_history req) {
    serve(connection_id, {packet_kind::request_history, req.before_seq}, [this, req](const room_member& m) {
        const std::uint64_t before = req.before_seq == 0 || req.before_seq > last_seq_ ? last_seq_ + 1 : req.before_seq;
        const std::size_t limit = std::clamp<std::size_t>(req.limit, 1, limits::max_history_page);
        const std::uint64_t conn = m.connection_id;
        collect_messages_before(before, limit,
            [this, conn](std::vector<message_state> states, bool has_more) {
                if (const room_member* mm = member(conn)) send_page(*mm, history_mode::older, has_more, states);
            },
            [this, conn, before] {
                if (const room_member* mm = member(conn))
                    send_error(*mm, error_code::room_unavailable, packet_kind::request_history, before,
                               unavailable_retry_ms);
            });
    });
}

// Events [from, to] from the cache, reading what is older from disk first.
// The cache may move on while the disk is read; what it let go meanwhile is
// on disk by then, so the hole is read as well. `to` is clamped to the
// newest event at each step, so an open end (UINT64_MAX) includes what was
// recorded while the disk was read.
void room::collect_events(std::uint64_t from, std::uint64_t to, items_handler done, std::function<void()> failed) {
    auto from_cache = [this](std::uint64_t lo, std::uint64_t hi, std::vector<timeline_item>& out) {
        for (std::uint64_t seq = lo; seq <= hi; ++seq) {
            const timeline_event* ev = timeline_.event(seq);
            if (ev == nullptr) continue;
            const message_state* m = ev->what == timeline_event::type::posted ? timeline_.message(seq) : nullptr;
            out.push_back({*ev, m ? std::optional<message_state>(*m) : std::nullopt});
        }
    };
    const std::uint64_t wanted = to;
    to = std::min(to, last_seq_);
    if (from > to) return done({});
    if (from >= timeline_.first_cached() || svc_.store == nullptr) {
        std::vector<timeline_item> out;
        from_cache(std::max(from, timeline_.first_cached()), to, out);
        return done(std::move(out));
    }
    const std::uint64_t disk_to = std::min(to, timeline_.first_cached() - 1);
    svc_.store->read_events(id_, from, disk_to,
        [this, self = shared_from_this(), wanted, disk_to, done = std::move(done),
         failed = std::move(failed)](read_result<event_page> r) mutable {
            on_strand([this, wanted, disk_to, done = std::move(done), failed = std::move(failed),
                       r = std::move(r)]() mutable {
                if (!r.ok) return failed();
                std::vector<timeline_item> out;
                auto stored = r.value.messages.begin();
                for (auto& ev : r.value.events) {
                    std::optional<message_state> m;
                    if (ev.what == timeline_event::type::posted) {
                        while (stored != r.value.messages.end() && stored->record.seq < ev.seq) ++stored;
                        if (const message_state* fresher = timeline_.message(ev.seq)) m = *fresher;  // pinned
                        else if (stored != r.value.messages.end() && stored->record.seq == ev.seq) m = *stored;
                    }
                    out.push_back({std::move(ev), std::move(m)});
                }
                if (wanted <= disk_to) return done(std::move(out));
                collect_events(disk_to + 1, wanted, [out = std::move(out), done = std::move(done)](auto rest) mutable {
                    out.insert(out.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
                    done(std::move(out));
                }, std::move(failed));
            });
        });
}

// The newest `limit` messages below `before`: from the cache, completed from
// disk when the cache holds fewer; has_more says whether older ones exist.
void room::collect_messages_before(std::uint64_t before, std::size_t limit, messages_handler done,
                                   std::function<void()> failed) {
    std::vector<message_state> out;
    for (const message_state* m : timeline_.messages_before(before, limit + 1)) out.push_back(*m);
    const bool cache_has_all = timeline_.first_cached() <= 1 || svc_.store == nullptr;
    if (out.size() > limit || cache_has_all) {
        const bool has_more = out.size() > limit;
        if (has_more) out.erase(out.begin());
        return done(std::move(out), has_more);
    }
    const std::uint64_t disk_before = std::min(before, timeline_.first_cached());
    const std::size_t wanted = limit + 1 - out.size();
    svc_.store->read_messages_before(id_, disk_before, wanted,
        [this, self = shared_from_this(), limit, out = std::move(out), done = std::move(done),
         failed = std::move(failed)](read_result<std::vector<message_state>> r) mutable {
            on_strand([this, limit, out = std::move(out), done = std::move(done), failed = std::move(failed),
                       r = std::move(r)]() mutable {
                if (!r.ok) return failed();
                for (auto& s : r.value)
                    if (const message_state* fresher = timeline_.message(s.record.seq)) s = *fresher;  // pinned
                r.value.insert(r.value.end(), std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
                const bool has_more = r.value.size() > limit;
                if (has_more) r.value.erase(r.value.begin(), r.value.end() - static_cast<std::ptrdiff_t>(limit));
                done(std::move(r.value), has_more);
            });
        });
}

void room::send_page(const room_member& m, history_mode mode, bool has_more, const std::vector<message_state>& states) {
    history_page page{id_, mode, has_more, {}};
    for (const auto& s : states) page.messages.push_back(view_of(s, m.user_id));
    send_to(m, page);
}

void room::send_items(const room_member& m, const std::vector<timeline_item>& items) {
    for (const auto& item : items)
        if (auto p = event_packet(item.event, item.message ? &*item.message : nullptr, m.user_id)) send_to(m, *p);
}

// ---- storage ------------------------------------------------------------------------------------

void room::persisted(std::uint64_t seq) {
    on_strand([this, seq] {
        if (seq <= persisted_seq_) return;
        persisted_seq_ = std::min(seq, last_seq_);
        unstored_.erase(unstored_.begin(), unstored_.upper_bound(persisted_seq_));
        owe_watermark();
        timeline_.trim(persisted_seq_);
        check_idle();  // the last of it may be on disk now
    });
}

// After every batch the members learn how far the disk has come. The
// watermark rides with the next broadcast if one comes within
// watermark_delay (it joins that packet's write to every member: no write,
// wake-up or frame of its own); otherwise it goes alone. It never claims
// more than persisted() reported, so waiting changes when it arrives, never
// what it promises.
void room::owe_watermark() {
    watermark_owed_ = true;
    if (watermark_armed_) return;
    watermark_armed_ = true;
    watermark_timer_.expires_after(bounds::watermark_delay);
    watermark_timer_.async_wait([this, self = shared_from_this()](boost::system::error_code ec) {
        watermark_armed_ = false;
        if (!ec) pay_watermark();
    });
}

void room::pay_watermark() {
    if (!std::exchange(watermark_owed_, false)) return;
    broadcast(persisted_watermark{id_, persisted_seq_});
}

// The writer stored a void in place of event `seq`. Everyone who saw the
// event must drop it, and its number is no longer vouched for: a new epoch
// begins at seq - 1, and every member gets room_reset and the latest page.
// The writer reports this before the watermark that covers `seq`, so a
// sender's outbox entry is resent, never taken for saved.
void room::voided(std::uint64_t seq) {
    on_strand([this, seq] {
        when_warm([this, seq] {
            log::error(log::chat, "an event could not be stored and is void; clients are reset",
                       {{"room", id_}, {"address", settings_.address}, {"seq", seq}});
            take_back(seq);
            timeline_.void_event(seq);
            start_epoch(seq - 1);
            reset_members(seq - 1);
        }, [] {});
    });
}

// The page replaces what the members hold, so like a joiner's page it is
// taken as of one seq and followed by the events after it: those broadcast
// while the page was read reach the members again after it (every event
// packet sets a state, so applying one twice changes nothing).
void room::reset_members(std::uint64_t base_seq) {
    constexpr std::uint64_t newest = std::numeric_limits<std::uint64_t>::max();
    broadcast(room_reset{id_, epoch_, base_seq});
    // No page to send: the members rejoin, which reads again.
    auto failed = [this] {
        for (const auto& [conn, m] : members_) {
            forget_member(m);
            send_to(m, room_left{id_, leave_reason::unavailable});
            if (m.removed) m.removed(id_);
        }
        members_.clear();
        publish_stats();
    };
    const std::uint64_t page_seq = last_seq_;
    collect_messages_before(page_seq + 1, latest_page_size,
        [this, page_seq, failed](std::vector<message_state> latest, bool has_more) {
            collect_events(page_seq + 1, newest,
                [this, latest = std::move(latest), has_more](std::vector<timeline_item> since_page) {
                    for (const auto& [conn, m] : members_) {
                        send_page(m, history_mode::latest, has_more, latest);
                        send_items(m, since_page);
                    }
                },
                failed);
        },
        failed);
}

// ---- presence and typing -----------------------------------------------------------------------

// The tracker counts each user's connections, so a leave costs the same in
// a room of any size.
void room::member_left(const room_member& m) {
    if (auto offline_at = presence_.disconnected(m.user_id, svc_.now(), svc_.cfg.presence_grace)) {
        stop_typing(m.user_id, m.username);  // their last connection
        schedule_sweep(*offline_at);
    }
}

void room::set_typing(std::uint64_t connection_id, bool active) {
    on_strand([this, connection_id, active] {
        const room_member* m = member(connection_id);
        if (m == nullptr) return;
        if (const member_state* me = person(m->user_id); active && me != nullptr && me->muted) return;  // not shown
        if (svc_.link != nullptr) share_typing(m->user_id, m->username, active);  // the other nodes' members too
        show_typing(m->user_id, m->username, active);
    });
}

void room::show_typing(std::uint64_t user_id, const std::string& username, bool active) {
    if (!active) return stop_typing(user_id, username);
    const auto expiry = svc_.now() + svc_.cfg.typing_ttl;
    if (presence_.typing(user_id, username, expiry))
        broadcast(typing_update{id_, {user_id, username}, true}, true, 0, user_id);
    schedule_sweep(expiry);
}

void room::stop_typing(std::uint64_t user_id, const std::string& username) {
    if (presence_.stopped_typing(user_id)) broadcast(typing_update{id_, {user_id, username}, false}, true, 0, user_id);
}

void room::schedule_sweep(clock::time_point deadline) {
    if (sweep_at_ && *sweep_at_ <= deadline) return;  // an earlier sweep will see this one too
    sweep_at_ = deadline;
    sweep_timer_.expires_at(deadline);
    sweep_timer_.async_wait([this, self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return;  // rescheduled or shutting down
        sweep_at_.reset();
        sweep();
    });
}

void room::sweep_now() {
    on_strand([this] { sweep(); });
}

// Presence changes are told together, as they stand when told: a user who
// came and went in between is named once, by where they are now. A room with
// no more online than a snapshot names tells them in the strand's next turn
// (a connect storm's joins handled in one turn share one packet); a larger
// room gathers them for presence_interval(), so in a storm each member gets
// a bounded number of presence packets, not one per arrival. Arrivals get
// the others of their batch (their own snapshot may predate them; adding
// twice is harmless), but never their own arrival. Presence packets are
// never dropped for a slow reader (they are not ephemeral): a missed one
// would leave its list wrong until it rejoined.
void room::presence_changed(std::uint64_t user_id, std::uint64_t connection_id) {
    presence_changes_.insert(user_id);
    if (connection_id != 0) arrivals_.emplace_back(user_id, connection_id);
    if (presence_.online_count() <= snapshot_people && !presence_partial_) {
        if (presence_flush_posted_) return;
        presence_flush_posted_ = true;
        return on_strand([this] {
            presence_flush_posted_ = false;
            flush_presence();
        });
    }
    if (presence_due_) return;
    presence_due_ = svc_.now() + presence_interval();
    schedule_sweep(*presence_due_);
}

room::clock::duration room::presence_interval() const {
    const auto scaled = bounds::presence_interval_per_person * static_cast<std::int64_t>(presence_.online_count());
    return std::clamp<clock::duration>(scaled, bounds::min_presence_interval, bounds::max_presence_interval);
}

// More changes than a snapshot names become a snapshot; so does the first
// change after a large room became small again, which makes the members'
// lists whole once more.
void room::flush_presence() {
    presence_due_.reset();
    if (presence_changes_.empty()) return;
    const auto online = static_cast<std::uint32_t>(presence_.online_count());
    if (presence_changes_.size() > snapshot_people || (presence_partial_ && online <= snapshot_people)) {
        presence_changes_.clear();
        departed_names_.clear();
        arrivals_.clear();
        presence_update snapshot{id_, presence_change::snapshot, presence_.online(snapshot_people), online};
        presence_partial_ = snapshot.users.size() < online;
        return broadcast(snapshot);
    }
    presence_update joined{id_, presence_change::joined, {}, online};
    presence_update left{id_, presence_change::left, {}, online};
    for (std::uint64_t user_id : presence_changes_) {
        if (const std::string* name = presence_.name_of(user_id))
            joined.users.push_back({user_id, *name});
        else
            left.users.push_back({user_id, departed_names_[user_id]});
    }
    presence_changes_.clear();
    departed_names_.clear();
    const auto arrivals = std::exchange(arrivals_, {});
    if (!joined.users.empty()) {
        std::vector<std::uint64_t> arriving;
        for (const auto& [user, conn] : arrivals) arriving.push_back(conn);
        broadcast(joined, false, arriving);
        // Each arrival: the others of the batch (at most snapshot_people).
        for (const auto& [user, conn] : arrivals) {
            const room_member* m = member(conn);
            if (m == nullptr || joined.users.size() == 1) continue;
            presence_update others = joined;
            std::erase_if(others.users, [user = user](const user_ref& u) { return u.id == user; });
            if (!others.users.empty()) send_to(*m, others);
        }
    }
    if (!left.users.empty()) broadcast(left);
}

void room::sweep() {
    const auto now = svc_.now();
    auto expired = presence_.sweep(now);
    for (const auto& u : expired.stopped_typing) broadcast(typing_update{id_, u, false}, true, 0, u.id);
    for (auto& u : expired.went_offline) {
        departed_names_.insert_or_assign(u.id, std::move(u.name));
        presence_changed(u.id);
    }
    if (presence_due_ && *presence_due_ <= now) flush_presence();
    if (auto next = presence_.next_deadline()) schedule_sweep(*next);
    if (presence_due_) schedule_sweep(*presence_due_);
}

// ---- sending ----------------------------------------------------------------------------------------

// Encoded once, shared by every member it reaches.
shared_packet room::encode_shared(const packet& p) const {
    auto encoded = encode(p);
    if (!encoded) {
        log::error(log::chat, "cannot encode a packet", {{"room", id_}, {"address", settings_.address},
                                                         {"kind", kind_name(kind_of(p))}, {"error", error_name(encoded.error())}});
        return nullptr;
    }
    return make_shared_packet(std::move(*encoded));
}

void room::broadcast(const packet& p, bool ephemeral, std::span<const std::uint64_t> except_connections) {
    std::vector<std::uint64_t> except(except_connections.begin(), except_connections.end());
    std::sort(except.begin(), except.end());
    fan_out(p, {.what = fanout_op::type::broadcast, .ephemeral = ephemeral, .except_connections = std::move(except)});
}

void room::broadcast(const packet& p, bool ephemeral, std::uint64_t except_connection, std::uint64_t except_user) {
    fan_out(p, {.what = fanout_op::type::broadcast, .ephemeral = ephemeral, .connection_id = except_connection,
                .user_id = except_user});
}

// One encoding, one shared buffer, one operation per loop that has members.
void room::fan_out(const packet& p, fanout_op op) {
    if (watermark_owed_ && !op.ephemeral) pay_watermark();
    op.packet = encode_shared(p);
    if (!op.packet) return;
    op.kind = static_cast<std::uint8_t>(kind_of(p));
    net::io_context& here = strand_.get_inner_executor().context();
    for (loop_outbox& box : outboxes_) {
        if (box.members == 0) continue;
        op.foreign = &box.fanout->loop() != &here;
        queue_op(box, op);
    }
}

void room::send_to(const room_member& m, const packet& p, bool ephemeral) {
    if ((m.connection_id & admin_connection_bit) != 0) return answer_admin_packet(m.connection_id, p);
    shared_packet encoded = encode_shared(p);
    if (!encoded) return;
    queue_op(outbox_of(m), {.what = fanout_op::type::unicast, .ephemeral = ephemeral,
                            .kind = static_cast<std::uint8_t>(kind_of(p)), .queue = m.queue,
                            .packet = std::move(encoded)});
}

room::loop_outbox& room::outbox_of(const room_member& m) {
    net::io_context& loop = m.loop != nullptr ? *m.loop : strand_.get_inner_executor().context();
    for (loop_outbox& box : outboxes_)
        if (&box.fanout->loop() == &loop) return box;
    return outboxes_.emplace_back(loop_outbox{std::make_shared<loop_fanout>(loop, svc_.stats), {}, 0});
}

void room::queue_op(loop_outbox& box, fanout_op op) {
    box.ops.push_back(std::move(op));
    if (flush_posted_) return;
    flush_posted_ = true;
    on_strand([this] { flush_outboxes(); });
}

void room::flush_outboxes() {
    flush_posted_ = false;
    for (loop_outbox& box : outboxes_)
        if (!box.ops.empty()) box.fanout->hand_over(std::exchange(box.ops, {}));
}

const room_member& room::add_member(room_member m) {
    loop_outbox& box = outbox_of(m);
    queue_op(box, {.what = fanout_op::type::add, .connection_id = m.connection_id, .user_id = m.user_id, .queue = m.queue});
    auto [it, fresh] = members_.insert_or_assign(m.connection_id, std::move(m));
    if (fresh) ++box.members;
    return it->second;
}

void room::forget_member(const room_member& m) {
    loop_outbox& box = outbox_of(m);
    queue_op(box, {.what = fanout_op::type::remove, .connection_id = m.connection_id});
    --box.members;
}

void room::send_error(const room_member& m, error_code code, packet_kind ref_kind, std::uint64_t ref,
                      std::uint32_t retry_after_ms) {
    const auto c = static_cast<std::uint16_t>(code);
    svc_.stats.count_error(c);
    send_to(m, error_report{c, static_cast<std::uint8_t>(ref_kind), ref, retry_after_ms, std::string(error_description(c))});
}

const room_member* room::member(std::uint64_t connection_id) const {
    if (auto it = members_.find(connection_id); it != members_.end()) return &it->second;
    auto it = admin_actors_.find(connection_id);
    return it == admin_actors_.end() ? nullptr : &it->second.member;
}

// ---- the administrator's console ------------------------------------------------------------------

// An action of the console takes the road a member's request takes (warm-up,
// de-duplication, the message's state, the access rules, recording), as a
// member with no connection: member() finds it among admin_actors_, and
// send_to() turns what the room would send it into its answer. The entry
// leaves once nothing refers to the action any more (the guard), so an
// action whose answer never came still answers, with internal_error.
void room::act_as_admin(protocol::user_ref admin,
                        std::function<void(const room_member&, std::uint64_t client_id, guard)> op, admin_done done) {
    on_strand([this, admin = std::move(admin), op = std::move(op), done = std::move(done)]() mutable {
        const std::uint64_t conn = admin_connection_bit | next_admin_actor_++;
        // Unique per (room, user) like a client's ids, and far above what clients count up from.
        const std::uint64_t client_id = (now_unix_ms() << 10 | (next_admin_actor_ & 0x3FF)) & limits::max_safe_integer;
        room_member m{.connection_id = conn, .user_id = admin.id, .username = admin.name, .admin = true};
        admin_actors_.emplace(conn, admin_actor{std::move(m), std::move(done)});
        guard g = make_guard([this, self = shared_from_this(), conn] {
            on_strand([this, conn] {
                answer_admin(conn, std::optional(error_code::internal_error));
                admin_actors_.erase(conn);
            });
        });
        when_warm([this, conn, client_id, op, g] { op(*member(conn), client_id, g); },
                  [this, conn] { answer_admin(conn, std::optional(error_code::room_unavailable)); });
    });
}

void room::answer_admin(std::uint64_t connection_id, std::optional<error_code> result) {
    auto it = admin_actors_.find(connection_id);
    if (it == admin_actors_.end() || !it->second.done) return;
    std::exchange(it->second.done, {})(result);
}

void room::answer_admin_packet(std::uint64_t connection_id, const packet& p) {
    if (std::holds_alternative<protocol::ack>(p)) return answer_admin(connection_id, std::nullopt);
    if (const auto* e = std::get_if<error_report>(&p)) answer_admin(connection_id, static_cast<error_code>(e->code));
}

void room::delete_message_as_admin(protocol::user_ref admin, std::uint64_t seq, admin_done done) {
    act_as_admin(std::move(admin), [this, seq](const room_member& m, std::uint64_t client_id, guard g) {
        do_change(m, {packet_kind::delete_message, client_id, seq, false, protocol::delete_message{id_, client_id, seq, false}},
                  std::move(g));
    }, std::move(done));
}

void room::close_as_admin(protocol::user_ref admin, admin_done done) {
    act_as_admin(std::move(admin), [this](const room_member& m, std::uint64_t client_id, guard g) {
        if (deleted_) return answer_admin(m.connection_id, std::optional(error_code::no_such_room));
        manage_room req{.room_id = id_, .client_id = client_id, .action = room_action::deleted};
        do_manage(m, req, std::string(), std::move(g));
    }, std::move(done));
}

void room::publish_stats() { members_published_.store(members_.size(), std::memory_order_relaxed); }

}  // namespace parley::server
