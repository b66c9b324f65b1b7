#include "server/room.hpp"

#include "server/clock.hpp"
#include "server/log.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace parley::server {
namespace net = boost::asio;
using namespace parley::protocol;

namespace {

constexpr std::uint64_t latest_page_size = 50;
constexpr std::size_t max_pinned_messages = 1000;
constexpr std::uint64_t up_to_now = UINT64_MAX;

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

room::room(net::io_context& io, room_services services, std::uint32_t id, std::string name, std::uint64_t last_seq)
    : strand_(net::make_strand(io)),
      svc_(services),
      id_(id),
      name_(std::move(name)),
      last_seq_(last_seq),
      persisted_seq_(last_seq),
      sweep_timer_(strand_),
      cache_first_(last_seq + 1) {
    last_seq_published_ = last_seq;
}

template <class F>
void room::on_strand(F&& f) {
    net::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(); });
}

// ---- warming: the cache of a room loaded from disk fills on first use ---------

void room::when_warm(std::function<void()> op) {
    if (warm_) return op();
    waiting_for_warm_.push_back(std::move(op));
    start_warming();
}

void room::start_warming() {
    if (warming_) return;
    warming_ = true;
    auto become_warm = [this](std::vector<message_state> states) {
        cache_.assign(std::make_move_iterator(states.begin()), std::make_move_iterator(states.end()));
        for (const auto& s : cache_)
            recent_ids_[{s.record.author_id, s.record.client_msg_id}] = {id_, s.record.seq, static_cast<std::int64_t>(s.record.sent_at)};
        warm_ = true;
        auto waiting = std::move(waiting_for_warm_);
        for (auto& op : waiting) op();
    };
    if (svc_.store == nullptr || last_seq_ == 0) return become_warm({});
    const std::uint64_t n = svc_.cfg.room_cache_messages;
    cache_first_ = last_seq_ > n ? last_seq_ - n + 1 : 1;
    svc_.store->read_range(id_, cache_first_, last_seq_, [this, self = shared_from_this(), become_warm](auto states) {
        on_strand([become_warm, states = std::move(states)]() mutable { become_warm(std::move(states)); });
    });
}

void room::when_member(std::uint64_t connection_id, std::function<void(const room_member&)> op) {
    if (const room_member* m = member(connection_id)) return op(*m);
    if (auto it = joining_.find(connection_id); it != joining_.end())
        it->second.push_back([this, connection_id, op = std::move(op)] { when_member(connection_id, op); });
    // Otherwise the connection left (or never joined) while the request was in flight: drop it.
}

// ---- joining and leaving ------------------------------------------------------

void room::join(room_member m, std::uint64_t since_seq) {
    on_strand([this, m = std::move(m), since_seq]() mutable {
        joining_.try_emplace(m.connection_id);
        when_warm([this, m = std::move(m), since_seq]() mutable {
            std::uint64_t from;
            history_mode mode;
            if (since_seq == 0 || since_seq > last_seq_ || last_seq_ - since_seq > svc_.cfg.max_replay_messages) {
                // Fresh, from the future (storage was reset) or too far behind: start over.
                mode = history_mode::latest;
                from = last_seq_ > latest_page_size ? last_seq_ - latest_page_size + 1 : 1;
            } else {
                mode = history_mode::replay;
                from = since_seq + 1;
            }
            collect(from, up_to_now, [this, m = std::move(m), mode](std::vector<message_state> states) mutable {
                finish_join(std::move(m), mode, std::move(states));
            });
        });
    });
}

void room::finish_join(room_member m, history_mode mode, std::vector<message_state> states) {
    auto deferred = std::move(joining_[m.connection_id]);
    joining_.erase(m.connection_id);
    const bool rejoin = members_.contains(m.connection_id);
    const room_member& added = members_.insert_or_assign(m.connection_id, std::move(m)).first->second;
    if (!rejoin) add_presence(added);
    publish_stats();

    send_to(added, room_joined{id_, name_, last_seq_, persisted_seq_});
    // The snapshot replaces the client's list; a room too large for one packet
    // continues it with `joined` packets, which add to it.
    presence_update snapshot{id_, presence_change::snapshot, {}};
    for (const auto& [user_id, p] : online_) {
        snapshot.users.push_back({user_id, p.username});
        if (snapshot.users.size() == limits::max_presence_users) {
            send_to(added, snapshot);
            snapshot.users.clear();
            snapshot.change = presence_change::joined;
        }
    }
    if (!snapshot.users.empty() || snapshot.change == presence_change::snapshot) send_to(added, snapshot);
    const bool has_more = !states.empty() && states.front().record.seq > 1;
    if (mode == history_mode::latest || !states.empty()) send_pages(added, mode, has_more, states);
    for (const auto& [user_id, t] : typing_)
        if (user_id != added.user_id) send_to(added, typing_update{id_, {user_id, t.username}, true}, true);
    for (auto& op : deferred) op();
}

void room::leave(std::uint64_t connection_id, bool reply) {
    on_strand([this, connection_id, reply] {
        joining_.erase(connection_id);
        auto it = members_.find(connection_id);
        if (it == members_.end()) return;
        const room_member m = std::move(it->second);
        members_.erase(it);
        publish_stats();
        const bool last_connection = std::none_of(members_.begin(), members_.end(),
                                                  [&](const auto& e) { return e.second.user_id == m.user_id; });
        if (last_connection) clear_typing(m.user_id, m.username);
        remove_presence(m.user_id);
        if (reply) send_to(m, room_left{id_});
    });
}

// ---- messages ------------------------------------------------------------------

void room::post_message(std::uint64_t connection_id, send_message msg, clock::time_point received_at,
                        std::function<void()> done) {
    // `done` runs when the last copy of this guard is gone: after the message
    // was acked or refused, however many asynchronous steps that took.
    std::shared_ptr<void> guard(nullptr, [done = std::move(done)](void*) {
        if (done) done();
    });
    on_strand([this, connection_id, msg = std::move(msg), received_at, guard = std::move(guard)]() mutable {
        when_warm([this, connection_id, msg = std::move(msg), received_at, guard = std::move(guard)]() mutable {
            do_post(connection_id, std::move(msg), received_at, std::move(guard));
        });
    });
}

void room::do_post(std::uint64_t connection_id, send_message msg, clock::time_point received_at,
                   std::shared_ptr<void> guard) {
    const room_member* m = member(connection_id);
    if (m == nullptr) {
        // Joining: try again once the join has finished.
        if (auto it = joining_.find(connection_id); it != joining_.end())
            it->second.push_back([this, connection_id, msg, received_at, guard]() mutable {
                do_post(connection_id, std::move(msg), received_at, std::move(guard));
            });
        return;
    }
    const auto kind = static_cast<std::uint8_t>(packet_kind::send_message);
    if (is_blank(msg.text)) return send_error(*m, error_code::empty_text, kind, msg.client_msg_id);
    if (msg.reply_to > last_seq_) return send_error(*m, error_code::no_such_message, kind, msg.client_msg_id);
    if (auto it = recent_ids_.find({m->user_id, msg.client_msg_id}); it != recent_ids_.end()) {
        svc_.stats.duplicate_messages.fetch_add(1, std::memory_order_relaxed);
        return ack(*m, msg.client_msg_id, it->second.seq, it->second.sent_at);
    }
    if (msg.resend && svc_.store != nullptr) {
        // Possibly stored before a restart: look on disk, then decide here.
        svc_.store->find_client_message(m->user_id, msg.client_msg_id,
            [this, self = shared_from_this(), connection_id, msg, received_at, guard](std::optional<stored_ack> found) mutable {
                on_strand([this, connection_id, msg = std::move(msg), received_at, found, guard = std::move(guard)]() mutable {
                    const room_member* mm = member(connection_id);
                    if (mm == nullptr) return;
                    if (found) {
                        svc_.stats.duplicate_messages.fetch_add(1, std::memory_order_relaxed);
                        return ack(*mm, msg.client_msg_id, found->seq, found->sent_at);
                    }
                    msg.resend = false;  // not stored: a first delivery after all
                    do_post(connection_id, std::move(msg), received_at, std::move(guard));
                });
            });
        return;
    }
    if (svc_.sink != nullptr && svc_.sink->backlog() >= svc_.cfg.max_writer_backlog)
        return send_error(*m, error_code::server_busy, kind, msg.client_msg_id, 1000);
    accept_message(*m, std::move(msg), received_at);
}

void room::accept_message(const room_member& m, send_message msg, clock::time_point received_at) {
    message_state state;
    message_record& r = state.record;
    r.seq = ++last_seq_;
    r.author_id = m.user_id;
    r.author = m.username;
    r.client_msg_id = msg.client_msg_id;
    r.sent_at = static_cast<std::uint64_t>(now_ms());
    r.reply_to = msg.reply_to;
    r.text = std::move(msg.text);
    last_seq_published_.store(last_seq_, std::memory_order_relaxed);

    broadcast(chat_message{id_, r});  // broadcast first: latency is not bound to disk
    svc_.stats.broadcast_latency.observe(clock::now() - received_at);
    svc_.stats.messages_total.fetch_add(1, std::memory_order_relaxed);
    ack(m, r.client_msg_id, r.seq, static_cast<std::int64_t>(r.sent_at));  // counted before the sender hears of it
    if (svc_.sink != nullptr)
        svc_.sink->push(events::message_posted{id_, r.seq, r.author_id, r.client_msg_id, r.text,
                                               static_cast<std::int64_t>(r.sent_at), r.reply_to});
    recent_ids_[{r.author_id, r.client_msg_id}] = {id_, r.seq, static_cast<std::int64_t>(r.sent_at)};
    if (typing_.contains(m.user_id)) clear_typing(m.user_id, m.username);
    cache_.push_back(std::move(state));
    trim_cache();
}

void room::ack(const room_member& m, std::uint64_t client_msg_id, std::uint64_t seq, std::int64_t sent_at) {
    send_to(m, message_ack{id_, client_msg_id, seq, static_cast<std::uint64_t>(sent_at)});
}

message_state* room::find_in_memory(std::uint64_t seq) {
    if (seq >= cache_first_) {
        auto it = std::lower_bound(cache_.begin(), cache_.end(), seq,
                                   [](const message_state& s, std::uint64_t v) { return s.record.seq < v; });
        return it != cache_.end() && it->record.seq == seq ? &*it : nullptr;
    }
    auto it = pinned_.find(seq);
    return it != pinned_.end() ? &it->second : nullptr;
}

void room::pin(message_state state) {
    const std::uint64_t seq = state.record.seq;
    if (!pinned_.emplace(seq, std::move(state)).second) return;
    pin_order_.push_back(seq);
    if (pin_order_.size() > max_pinned_messages) {
        pinned_.erase(pin_order_.front());
        pin_order_.pop_front();
    }
}

void room::with_message(const room_member& m, std::uint8_t request_kind, std::uint64_t seq,
                        std::function<void(const room_member&, message_state&)> op) {
    if (seq == 0 || seq > last_seq_) return send_error(m, error_code::no_such_message, request_kind, seq);
    if (message_state* s = find_in_memory(seq)) return op(m, *s);
    if (svc_.store == nullptr) return send_error(m, error_code::no_such_message, request_kind, seq);
    svc_.store->read_range(id_, seq, seq, [this, self = shared_from_this(), conn = m.connection_id, request_kind, seq,
                                           op = std::move(op)](std::vector<message_state> states) mutable {
        on_strand([this, conn, request_kind, seq, op = std::move(op), states = std::move(states)]() mutable {
            const room_member* mm = member(conn);
            if (mm == nullptr) return;
            if (find_in_memory(seq) == nullptr) {
                if (states.empty()) return send_error(*mm, error_code::no_such_message, request_kind, seq);
                pin(std::move(states.front()));
            }
            op(*mm, *find_in_memory(seq));
        });
    });
}

void room::edit_message(std::uint64_t connection_id, protocol::edit_message msg) {
    on_strand([this, connection_id, msg = std::move(msg)]() mutable {
        when_warm([this, connection_id, msg = std::move(msg)]() mutable {
            when_member(connection_id, [this, msg = std::move(msg)](const room_member& m) mutable {
                apply_edit(m, msg.seq, std::move(msg.text));
            });
        });
    });
}

void room::apply_edit(const room_member& m, std::uint64_t seq, std::string text) {
    const auto kind = static_cast<std::uint8_t>(packet_kind::edit_message);
    if (is_blank(text)) return send_error(m, error_code::empty_text, kind, seq);
    with_message(m, kind, seq, [this, text = std::move(text), kind](const room_member& mm, message_state& s) {
        if (s.record.author_id != mm.user_id) return send_error(mm, error_code::forbidden, kind, s.record.seq);
        if (s.record.deleted) return send_error(mm, error_code::message_deleted, kind, s.record.seq);
        s.record.text = text;
        s.record.edited_at = static_cast<std::uint64_t>(now_ms());
        broadcast(message_edited{id_, s.record.seq, s.record.text, s.record.edited_at});
        if (svc_.sink != nullptr)
            svc_.sink->push(events::message_edited{id_, s.record.seq, s.record.text, static_cast<std::int64_t>(s.record.edited_at)});
    });
}

void room::delete_message(std::uint64_t connection_id, protocol::delete_message msg) {
    on_strand([this, connection_id, msg] {
        when_warm([this, connection_id, msg] {
            when_member(connection_id, [this, msg](const room_member& m) { apply_delete(m, msg.seq); });
        });
    });
}

void room::apply_delete(const room_member& m, std::uint64_t seq) {
    const auto kind = static_cast<std::uint8_t>(packet_kind::delete_message);
    with_message(m, kind, seq, [this, kind](const room_member& mm, message_state& s) {
        if (s.record.author_id != mm.user_id) return send_error(mm, error_code::forbidden, kind, s.record.seq);
        if (s.record.deleted) return;  // already gone: deleting twice is not an error
        const auto at = static_cast<std::uint64_t>(now_ms());
        s.record.deleted = true;
        s.record.text.clear();
        s.reactors.clear();
        broadcast(message_deleted{id_, s.record.seq, at});
        if (svc_.sink != nullptr) svc_.sink->push(events::message_deleted{id_, s.record.seq, static_cast<std::int64_t>(at)});
    });
}

void room::toggle_reaction(std::uint64_t connection_id, protocol::toggle_reaction msg) {
    on_strand([this, connection_id, msg] {
        when_warm([this, connection_id, msg] {
            when_member(connection_id, [this, msg](const room_member& m) { apply_reaction(m, msg.seq, msg.reaction); });
        });
    });
}

void room::apply_reaction(const room_member& m, std::uint64_t seq, reaction_kind r) {
    const auto kind = static_cast<std::uint8_t>(packet_kind::toggle_reaction);
    with_message(m, kind, seq, [this, r, kind](const room_member& mm, message_state& s) {
        if (s.record.deleted) return send_error(mm, error_code::message_deleted, kind, s.record.seq);
        const std::pair<reaction_kind, std::uint64_t> mine{r, mm.user_id};
        auto it = std::find(s.reactors.begin(), s.reactors.end(), mine);
        const bool added = it == s.reactors.end();
        if (added) s.reactors.push_back(mine);
        else s.reactors.erase(it);
        const auto count = static_cast<std::uint32_t>(
            std::count_if(s.reactors.begin(), s.reactors.end(), [r](const auto& e) { return e.first == r; }));
        broadcast(reaction_update{id_, s.record.seq, r, count, mm.user_id, added});
        if (svc_.sink != nullptr) svc_.sink->push(events::reaction_changed{id_, s.record.seq, mm.user_id, r, added});
    });
}

// ---- history ---------------------------------------------------------------------

void room::request_history(std::uint64_t connection_id, protocol::request_history req) {
    on_strand([this, connection_id, req] {
        when_warm([this, connection_id, req] {
            when_member(connection_id, [this, req](const room_member& m) {
                const std::uint64_t before = req.before_seq == 0 || req.before_seq > last_seq_ ? last_seq_ + 1 : req.before_seq;
                const std::uint64_t limit = std::clamp<std::uint64_t>(req.limit, 1, limits::max_history_page);
                const std::uint64_t from = before > limit ? before - limit : 1;
                if (before <= 1) return send_pages(m, history_mode::older, false, {});
                collect(from, before - 1, [this, conn = m.connection_id, from](std::vector<message_state> states) {
                    if (const room_member* mm = member(conn)) send_pages(*mm, history_mode::older, from > 1, states);
                });
            });
        });
    });
}

void room::collect(std::uint64_t from, std::uint64_t to, states_handler done) {
    auto from_cache = [this](std::uint64_t lo, std::uint64_t hi, std::vector<message_state>& out) {
        auto it = std::lower_bound(cache_.begin(), cache_.end(), lo,
                                   [](const message_state& s, std::uint64_t v) { return s.record.seq < v; });
        for (; it != cache_.end() && it->record.seq <= hi; ++it) out.push_back(*it);
    };
    if (from >= cache_first_ || svc_.store == nullptr) {
        std::vector<message_state> out;
        from_cache(from, std::min(to, last_seq_), out);
        return done(std::move(out));
    }
    // The older part is on disk (the cache never drops a message before it is).
    const std::uint64_t disk_to = std::min(to, cache_first_ - 1);
    svc_.store->read_range(id_, from, disk_to, [this, self = shared_from_this(), to, disk_to, done = std::move(done),
                                                 from_cache](std::vector<message_state> disk) mutable {
        on_strand([this, to, disk_to, done = std::move(done), from_cache, disk = std::move(disk)]() mutable {
            for (auto& s : disk)
                if (auto it = pinned_.find(s.record.seq); it != pinned_.end()) s = it->second;  // fresher
            if (to <= disk_to) return done(std::move(disk));
            if (cache_first_ > disk_to + 1) {
                // The cache moved on while we read: the hole is on disk by now.
                return collect(disk_to + 1, to, [disk = std::move(disk), done = std::move(done)](auto rest) mutable {
                    disk.insert(disk.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
                    done(std::move(disk));
                });
            }
            from_cache(disk_to + 1, std::min(to, last_seq_), disk);
            done(std::move(disk));
        });
    });
}

void room::send_pages(const room_member& m, history_mode mode, bool has_more, const std::vector<message_state>& states) {
    std::size_t i = 0;
    do {
        history_page page{id_, mode, has_more, {}};
        for (; i < states.size() && page.messages.size() < limits::max_history_page; ++i)
            page.messages.push_back(view_of(states[i], m.user_id));
        send_to(m, page);
        mode = history_mode::replay;  // later pages continue the first: append them
        has_more = true;              // the earlier pages are older messages
    } while (i < states.size());
}

void room::persisted(std::uint64_t seq) {
    on_strand([this, seq] {
        if (seq <= persisted_seq_) return;
        persisted_seq_ = std::min(seq, last_seq_);
        broadcast(persisted_watermark{id_, persisted_seq_});
        trim_cache();
    });
}

void room::trim_cache() {
    while (cache_.size() > svc_.cfg.room_cache_messages && cache_.front().record.seq <= persisted_seq_) {
        const auto& r = cache_.front().record;
        recent_ids_.erase({r.author_id, r.client_msg_id});
        cache_first_ = r.seq + 1;
        cache_.pop_front();
    }
}

// ---- presence and typing -----------------------------------------------------------

void room::add_presence(const room_member& m) {
    presence_entry& p = online_[m.user_id];
    p.username = m.username;
    if (++p.connections > 1) return;
    if (p.offline_at) {  // back within the grace period: nobody saw them leave
        p.offline_at.reset();
        return;
    }
    broadcast(presence_update{id_, presence_change::joined, {{m.user_id, m.username}}}, true, m.connection_id);
}

void room::remove_presence(std::uint64_t user_id) {
    auto it = online_.find(user_id);
    if (it == online_.end() || --it->second.connections > 0) return;
    it->second.offline_at = clock::now() + svc_.cfg.presence_grace;
    schedule_sweep(*it->second.offline_at);
}

void room::set_typing(std::uint64_t connection_id, bool active) {
    on_strand([this, connection_id, active] {
        const room_member* m = member(connection_id);
        if (m == nullptr) return;
        if (!active) return clear_typing(m->user_id, m->username);
        const bool was_typing = typing_.contains(m->user_id);
        const auto expiry = clock::now() + svc_.cfg.typing_ttl;
        typing_.insert_or_assign(m->user_id, typing_entry{expiry, m->username});
        if (!was_typing) broadcast(typing_update{id_, {m->user_id, m->username}, true}, true, 0, m->user_id);
        schedule_sweep(expiry);
    });
}

void room::clear_typing(std::uint64_t user_id, const std::string& username) {
    if (typing_.erase(user_id) == 0) return;
    broadcast(typing_update{id_, {user_id, username}, false}, true, 0, user_id);
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

void room::sweep() {
    const auto now = clock::now();
    std::optional<clock::time_point> next;
    auto later = [&](clock::time_point t) { next = next ? std::min(*next, t) : t; };
    for (auto it = typing_.begin(); it != typing_.end();) {
        if (it->second.expiry > now) {
            later(it->second.expiry);
            ++it;
            continue;
        }
        const user_ref stopped{it->first, std::move(it->second.username)};
        it = typing_.erase(it);
        broadcast(typing_update{id_, stopped, false}, true, 0, stopped.id);
    }
    for (auto it = online_.begin(); it != online_.end();) {
        if (!it->second.offline_at || *it->second.offline_at > now) {
            if (it->second.offline_at) later(*it->second.offline_at);
            ++it;
            continue;
        }
        const user_ref gone{it->first, it->second.username};
        it = online_.erase(it);
        broadcast(presence_update{id_, presence_change::left, {gone}}, true);
    }
    if (next) schedule_sweep(*next);
}

// ---- sending -------------------------------------------------------------------------

void room::broadcast(const packet& p, bool ephemeral, std::uint64_t except_connection, std::uint64_t except_user) {
    auto encoded = encode(p);
    if (!encoded) {
        log::error("room ", name_, ": cannot encode ", kind_name(kind_of(p)), ": ", error_name(encoded.error()));
        return;
    }
    const shared_packet shared = make_shared_packet(std::move(*encoded));  // encoded once for every member
    std::uint64_t sent = 0;
    for (const auto& [id, m] : members_) {
        if (id == except_connection || (except_user != 0 && m.user_id == except_user)) continue;
        deliver(m, shared, ephemeral);
        ++sent;
    }
    svc_.stats.packets_out[static_cast<std::size_t>(kind_of(p))].fetch_add(sent, std::memory_order_relaxed);
}

void room::send_to(const room_member& m, const packet& p, bool ephemeral) {
    auto encoded = encode(p);
    if (!encoded) {
        log::error("room ", name_, ": cannot encode ", kind_name(kind_of(p)), ": ", error_name(encoded.error()));
        return;
    }
    deliver(m, make_shared_packet(std::move(*encoded)), ephemeral);
    svc_.stats.packets_out[static_cast<std::size_t>(kind_of(p))].fetch_add(1, std::memory_order_relaxed);
}

void room::deliver(const room_member& m, const shared_packet& packet, bool ephemeral) {
    switch (m.queue->push(packet, ephemeral)) {
        case push_result::dropped: svc_.stats.ephemeral_drops.fetch_add(1, std::memory_order_relaxed); break;
        case push_result::overflow: svc_.stats.slow_consumer_disconnects.fetch_add(1, std::memory_order_relaxed); break;
        case push_result::queued:
        case push_result::closed: break;
    }
}

void room::send_error(const room_member& m, error_code code, std::uint8_t ref_kind, std::uint64_t ref,
                      std::uint32_t retry_after_ms) {
    const auto c = static_cast<std::uint16_t>(code);
    svc_.stats.count_error(c);
    send_to(m, error_report{c, ref_kind, ref, retry_after_ms, std::string(error_description(c))});
}

const room_member* room::member(std::uint64_t connection_id) const {
    auto it = members_.find(connection_id);
    return it == members_.end() ? nullptr : &it->second;
}

void room::publish_stats() { members_published_.store(members_.size(), std::memory_order_relaxed); }

}  // namespace parley::server
