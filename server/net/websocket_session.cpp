#include "server/net/websocket_session.hpp"

#include "server/net/batch_buffers.hpp"

#include "server/core/clock.hpp"
#include "server/core/log.hpp"
#include "server/store/accounts.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket.hpp>

namespace parley::server {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using namespace parley::protocol;

namespace {

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
// Spelled out: clang 14 (the fuzz build) has no aggregate deduction.
template <class... F>
overloaded(F...) -> overloaded<F...>;

/// A packet of an earlier Parley version (1 .. version-1). Its sender cannot
/// read our packets, so an error packet would tell it nothing.
bool from_an_earlier_version(std::span<const std::uint8_t> message) {
    return message.size() >= 2 && message[0] == protocol::magic && message[1] >= 1 && message[1] < limits::version;
}

bool is_expected_close(boost::system::error_code ec) {
    return ec == websocket::error::closed || ec == net::error::operation_aborted || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == beast::error::timeout;
}

}  // namespace

websocket_session::websocket_session(transport&& stream, server_context& ctx, std::string remote, connection_cap::slot slot)
    : ws_(std::move(stream)),
      loop_(&static_cast<net::io_context&>(net::query(ws_.get_executor(), net::execution::context))),
      ctx_(ctx),
      remote_(std::move(remote)),
      id_(ctx.next_connection_id++),
      slot_(std::move(slot)),
      discipline_(ctx.cfg.max_rate_violations, ctx.cfg.rate_violation_forgiven_after) {}

websocket_session::~websocket_session() { end(); }

void websocket_session::run(beast::http::request<beast::http::string_body> req, std::string cookie_token) {
    // The queue's waker may fire on any thread, and only while the session is
    // alive. On the session's loop it starts the write inline (dispatch); from
    // elsewhere it posts. An overflow always posts: it closes the connection,
    // which must not happen in the middle of a room's fan-out.
    queue_ = std::make_shared<send_queue>(
        queue_limits{ctx_.cfg.max_queue_bytes, ctx_.cfg.max_queue_packets},
        [weak = weak_from_this()](bool overflow) {
            auto self = weak.lock();
            if (!self) return;
            if (overflow) return net::post(self->ws_.get_executor(), [self] { self->on_overflow(); });
            net::dispatch(self->ws_.get_executor(), [self] { self->do_write(); });
        });

    websocket::stream_base::timeout timeouts{ctx_.cfg.handshake_timeout, ctx_.cfg.idle_timeout, true};
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "parley/" PARLEY_VERSION); }));
    websocket::permessage_deflate no_deflate;  // payloads are LZ4-compressed where it pays
    no_deflate.server_enable = no_deflate.client_enable = false;
    ws_.set_option(no_deflate);
    ws_.read_message_max(limits::max_client_packet_bytes);
    ws_.auto_fragment(false);
    ws_.binary(true);

    ws_.async_accept(req, [self = shared_from_this(), token = std::move(cookie_token)](boost::system::error_code ec) {
        self->on_accept(ec);
        if (!ec && !token.empty()) self->authenticate(token);
        else if (!ec) self->resume();
    });
}

void websocket_session::on_accept(boost::system::error_code ec) {
    if (ec) {
        log::debug(log::ws, "handshake failed", {{"conn", id_}, {"remote", remote_}, {"error", ec}});
        return end();
    }
    log::debug(log::ws, "opened", {{"conn", id_}, {"remote", remote_}});
    phase_ = phase::open;
    ctx_.connections.add(id_, weak_from_this());
    ctx_.stats.connections_total.fetch_add(1, std::memory_order_relaxed);
    if (ctx_.stopping) shutdown();
}

// ---- authentication -----------------------------------------------------------

void websocket_session::authenticate(std::string token) {
    read_paused_ = true;  // packets after this one wait for the answer
    net::post(ctx_.blocking, [self = shared_from_this(), token = std::move(token)] {
        std::optional<session_info> session;
        try {
            session = self->ctx_.accts.find_session_info(token);
        } catch (const std::exception& e) {
            log::error(log::ws, "session lookup failed", {{"conn", self->id_}, {"error", e.what()}});
        }
        net::post(self->ws_.get_executor(), [self, session = std::move(session), token = std::move(token)]() mutable {
            self->on_authenticated(std::move(session), std::move(token));
        });
    });
}

// A logout, a disable or a password reset that ran between the lookup and
// bind() found no connection of this session to end, and the lookup had
// found it valid. Looked up once more after bind(): a revocation either
// came before this second lookup, which then fails, or after bind(), which
// the revocation's sign-out reaches.
void websocket_session::recheck_session(std::string token) {
    net::post(ctx_.blocking, [self = shared_from_this(), token = std::move(token)] {
        bool valid = true;
        try {
            valid = self->ctx_.accts.find_session_info(token).has_value();
        } catch (const std::exception& e) {
            log::error(log::ws, "session lookup failed", {{"conn", self->id_}, {"error", e.what()}});
        }
        if (!valid) self->sign_out();
    });
}

void websocket_session::on_authenticated(std::optional<session_info> session, std::string token) {
    if (session) {
        user_ = std::move(session->user);
        // From now on a logout or the expiry of this session ends the connection.
        ctx_.connections.bind(id_, user_->id, std::move(session->token_hash), session->expires_at_ms);
        recheck_session(std::move(token));
        log::info(log::ws, "signed in", {{"conn", id_}, {"user", user_->username}, {"remote", remote_}});
        send_welcome();
        return send_room_list();  // reading resumes once it is sent
    } else {
        send_error(error_code::auth_failed, packet_kind::authenticate, 0);
        count_protocol_error();
    }
    read_paused_ = false;
    resume();
}

// The welcome also announces every limit this client must respect, so a
// client can pace itself instead of learning them from refusals.
void websocket_session::send_welcome() {
    auto k = [](packet_kind kind) { return static_cast<std::uint8_t>(kind); };
    auto per_minute = [](double rate) { return static_cast<std::uint32_t>(rate * 60 + 0.5); };
    auto whole = [](double burst) { return static_cast<std::uint32_t>(burst); };
    auto hourly = [](std::size_t n) { return static_cast<double>(n) / 3600; };
    const config& c = ctx_.cfg;
    std::vector<rate_limit> limits_{
        {{k(packet_kind::send_message), k(packet_kind::edit_message), k(packet_kind::delete_message),
          k(packet_kind::manage_room)},
         per_minute(c.message_rate), whole(c.message_burst)},
        {{k(packet_kind::set_reaction)}, per_minute(c.reaction_rate), whole(c.reaction_burst)},
        {{k(packet_kind::set_typing)}, per_minute(c.typing_rate), whole(c.typing_burst)},
        {{k(packet_kind::request_history)}, per_minute(bounds::history_rate), whole(bounds::history_burst)},
        // The hourly quotas: the burst is the hour's worth; per_minute rounds
        // (to 0 below one every two minutes), retry_after_ms is exact.
        // Joins draw on the first only when they create a room.
        {{k(packet_kind::join_room), k(packet_kind::create_room)}, per_minute(hourly(c.rooms_per_hour)),
         static_cast<std::uint32_t>(c.rooms_per_hour)},
        // Only a conversation that does not exist yet draws on it.
        {{k(packet_kind::open_direct)}, per_minute(hourly(c.directs_per_hour)),
         static_cast<std::uint32_t>(c.directs_per_hour)},
    };
    send(welcome{user_->id, user_->username, "parley/" PARLEY_VERSION, now_unix_ms(), std::move(limits_),
                 static_cast<std::uint32_t>(c.max_rooms_per_connection)});
}

// ---- reading ----------------------------------------------------------------------

void websocket_session::do_read() {
    if (reading_ || read_paused_ || !pending_.empty() || phase_ >= phase::closing) return;
    reading_ = true;
    ws_.async_read_some(net::buffer(probe_), beast::bind_front_handler(&websocket_session::on_probe, shared_from_this()));
}

void websocket_session::on_probe(boost::system::error_code ec, std::size_t bytes) {
    if (ec) return on_read(ec, bytes);
    if (ws_.got_text()) return refuse_text();
    if (ws_.is_message_done()) {
        reading_ = false;
        ctx_.stats.bytes_in.fetch_add(bytes, std::memory_order_relaxed);
        handle_message({probe_.data(), bytes});
        return resume();
    }
    // Longer than the probe: keep its start and read the rest of the message.
    buffer_.commit(net::buffer_copy(buffer_.prepare(bytes), net::buffer(probe_.data(), bytes)));
    ws_.async_read(buffer_, beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
}

void websocket_session::on_read(boost::system::error_code ec, std::size_t) {
    reading_ = false;
    if (ec) {
        if (ec == websocket::error::message_too_big) ctx_.stats.count_error(static_cast<std::uint16_t>(decode_error::too_large));
        if (!is_expected_close(ec))
            log::debug(log::ws, "read failed", {{"conn", id_}, {"user", user_name()}, {"remote", remote_}, {"error", ec}});
        return end();
    }
    auto data = buffer_.cdata();
    ctx_.stats.bytes_in.fetch_add(data.size(), std::memory_order_relaxed);
    handle_message({static_cast<const std::uint8_t*>(data.data()), data.size()});
    buffer_.consume(buffer_.size());
    buffer_.shrink_to_fit();
    resume();
}

// The protocol is binary only (docs/protocol.md, section 2): a text frame is
// answered with close code 1003, "unsupported data", without reading it.
void websocket_session::refuse_text() {
    reading_ = false;
    ctx_.stats.count_error(static_cast<std::uint16_t>(error_code::unexpected_kind));
    do_close({websocket::close_code::unknown_data, "binary frames only"});
}

void websocket_session::handle_message(std::span<const std::uint8_t> message) {
    auto packets = decode_message(message);
    if (!packets && packets.error() == decode_error::bad_version && from_an_earlier_version(message)) {
        // An old client (a browser tab open across an upgrade) cannot read
        // our error packets: the close reason is what it and its user see.
        ctx_.stats.count_error(static_cast<std::uint16_t>(decode_error::bad_version));
        return do_close({websocket::close_code::protocol_error,
                         "Parley protocol version " + std::to_string(limits::version) + " required; reload the page"});
    }
    if (!packets) {
        send_error(to_error_code(packets.error()), packet_kind{0}, 0);
        return count_protocol_error();
    }
    pending_.assign(std::make_move_iterator(packets->begin()), std::make_move_iterator(packets->end()));
}

// The packets of one message are handled one at a time, in order, exactly as
// if each had come alone: a packet that must wait (authentication, a resend's
// disk check) holds back the rest of its batch as well as the next read.
// Nothing new is read while packets are pending, so at most one message's
// packets (max_batch_packets) wait here.
void websocket_session::resume() {
    while (!pending_.empty() && !read_paused_ && phase_ != phase::ended) {
        protocol::packet p = std::move(pending_.front());
        pending_.pop_front();
        handle(p);
    }
    if (pending_.empty()) do_read();
}

void websocket_session::handle(packet& p) {
    const packet_kind kind = kind_of(p);
    ctx_.stats.packets_in[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
    if (phase_ >= phase::closing) return;  // what follows a close is not answered
    if (!is_client_kind(kind)) {
        send_error(error_code::unexpected_kind, kind, 0);
        return count_protocol_error();
    }
    if (!user_) {
        if (auto* a = std::get_if<protocol::authenticate>(&p)) return authenticate(std::move(a->token));
        if (auto* q = std::get_if<protocol::ping>(&p)) return send(pong{q->nonce});
        send_error(error_code::not_authenticated, kind, 0);
        return count_protocol_error();
    }
    std::visit(overloaded{
                   [&](protocol::authenticate&) { send_welcome(); },
                   [&](join_room& j) { handle_join(j); },
                   [&](create_room& c) { handle_create(c); },
                   [&](open_direct& o) { handle_open_direct(o); },
                   [&](manage_room& m) { handle_manage(m); },
                   [&](decline_invite& d) { handle_decline(d); },
                   [&](leave_room& l) { handle_leave(l); },
                   [&](send_message& m) { handle_send(m); },
                   [&](protocol::ping& q) { send(pong{q.nonce}); },
                   [&](edit_message& m) { handle_room_request(p, m.room_id); },
                   [&](delete_message& m) { handle_room_request(p, m.room_id); },
                   [&](set_reaction& m) { handle_room_request(p, m.room_id); },
                   [&](set_typing& m) { handle_room_request(p, m.room_id); },
                   [&](request_history& m) { handle_room_request(p, m.room_id); },
                   [&](auto&) {},  // server-to-client kinds were refused above
               },
               p);
}

// Every check that can refuse the join runs before anything is created: the
// address, the registry's lookup, this connection's room count, then (for a
// new public room) the creator's hourly quota. A private address is never
// created by a join; one of no room and one the user may not join get the
// same no_such_room, after the same lookup.
void websocket_session::handle_join(const join_room& j) {
    const bool private_address = j.room.starts_with('~');
    auto address = private_address ? std::optional<std::string>(j.room) : normalize_room_name(j.room);
    if (!address) return send_error(error_code::bad_room_name, packet_kind::join_room, 0);
    const std::uint64_t epoch = j.epoch, since = j.since_seq;
    room_key key{room_key::by::address, *address};
    ctx_.rooms.open(std::move(key), user_->id, user_->admin,
                    after_lookup([this, address = std::move(*address), private_address, epoch, since](outcome o) {
        auto* found = std::get_if<room_ptr>(&o);
        if (found == nullptr) return refuse(std::get<error_code>(o), packet_kind::join_room, 0);
        const bool here = *found && rooms_.contains((*found)->id());
        if (!here && rooms_.size() >= ctx_.cfg.max_rooms_per_connection)
            return send_error(error_code::too_many_rooms, packet_kind::join_room, 0);
        if (*found) return enter(std::move(*found), epoch, since);
        if (private_address) return send_error(error_code::no_such_room, packet_kind::join_room, 0);
        if (!allow(ctx_.room_create_limits, retry_discipline::limit::rooms, packet_kind::join_room, 0,
                   error_code::room_quota))
            return;
        ctx_.rooms.create(address, {user_->id, user_->username}, false,
                          after_lookup([this, epoch, since](outcome created) {
            enter_or_refuse(std::move(created), packet_kind::join_room, 0, epoch, since);
        }));
    }));
}

room_registry::outcome_handler websocket_session::after_lookup(std::function<void(outcome)> then) {
    read_paused_ = true;
    return [self = shared_from_this(), then = std::move(then)](outcome o) mutable {
        net::post(self->ws_.get_executor(), [self, then = std::move(then), o = std::move(o)]() mutable {
            self->read_paused_ = false;
            if (self->phase_ != phase::open) return;
            then(std::move(o));
            self->resume();
        });
    };
}

void websocket_session::refuse(error_code code, packet_kind kind, std::uint64_t ref) {
    send_error(code, kind, ref, code == error_code::room_unavailable ? bounds::unavailable_retry_ms : 0);
}

void websocket_session::enter_or_refuse(outcome o, packet_kind kind, std::uint64_t ref, std::uint64_t epoch,
                                        std::uint64_t since_seq) {
    if (auto* r = std::get_if<room_ptr>(&o); r && *r) return enter(std::move(*r), epoch, since_seq);
    refuse(std::holds_alternative<error_code>(o) ? std::get<error_code>(o) : error_code::internal_error, kind, ref);
}

room_member websocket_session::as_member(std::uint64_t generation) {
    auto removed = [weak = weak_from_this(), generation](std::uint32_t room_id) {
        auto self = weak.lock();
        if (!self) return;
        net::post(self->ws_.get_executor(), [self, room_id, generation] {
            auto it = self->rooms_.find(room_id);
            if (it != self->rooms_.end() && it->second.generation == generation) self->rooms_.erase(it);
        });
    };
    return room_member{id_, user_->id, user_->username, queue_, user_->admin, loop_, std::move(removed)};
}

void websocket_session::enter(std::shared_ptr<room> r, std::uint64_t epoch, std::uint64_t since_seq) {
    const std::uint64_t generation = ++joins_;
    const std::uint32_t id = r->id();
    r->join(as_member(generation), epoch, since_seq);
    rooms_[id] = {std::move(r), generation};
}

// A public room's name must be free (joining an existing one is join_room);
// a private room's title may be anything but blank, since its address is
// its own. The name is looked up before the quota is drawn on, so a name
// that is taken costs nothing.
void websocket_session::handle_create(const create_room& c) {
    const auto ref = c.client_id;
    if (rooms_.size() >= ctx_.cfg.max_rooms_per_connection) return refuse(error_code::too_many_rooms, packet_kind::create_room, ref);
    if (c.type == room_kind::direct) return refuse(error_code::bad_request, packet_kind::create_room, ref);
    std::optional<std::string> title;
    if (c.type == room_kind::public_room) {
        title = normalize_room_name(c.name);
    } else if (!std::all_of(c.name.begin(), c.name.end(), [](char ch) { return ch == ' '; })) {
        title = c.name;
    }
    if (!title) return refuse(error_code::bad_room_name, packet_kind::create_room, ref);
    const protocol::user_ref me{user_->id, user_->username};
    if (c.type != room_kind::public_room) {
        if (!allow(ctx_.room_create_limits, retry_discipline::limit::rooms, packet_kind::create_room, ref,
                   error_code::room_quota))
            return;
        auto created = ctx_.rooms.create_private(*title, me);
        if (!created) return refuse(error_code::room_unavailable, packet_kind::create_room, ref);
        return enter(std::move(created), 0, 0);
    }
    room_key key{room_key::by::address, *title};
    ctx_.rooms.open(std::move(key), user_->id, user_->admin, after_lookup([this, name = *title, me, ref](outcome o) {
        auto* found = std::get_if<room_ptr>(&o);
        if (found == nullptr) return refuse(std::get<error_code>(o), packet_kind::create_room, ref);
        if (*found) return refuse(error_code::room_name_taken, packet_kind::create_room, ref);
        if (!allow(ctx_.room_create_limits, retry_discipline::limit::rooms, packet_kind::create_room, ref,
                   error_code::room_quota))
            return;
        ctx_.rooms.create(name, me, true, after_lookup([this, ref](outcome created) {
            enter_or_refuse(std::move(created), packet_kind::create_room, ref, 0, 0);
        }));
    }));
}

// The people are looked up first (off the I/O thread); packets after this
// one wait, as for authentication, so the client's order holds. An existing
// conversation is free; a new one draws on the hourly quota.
void websocket_session::handle_open_direct(const open_direct& o) {
    const auto refuse_now = [this, ref = o.client_id](error_code code) { refuse(code, packet_kind::open_direct, ref); };
    std::vector<std::uint64_t> others;
    for (auto id : o.user_ids)
        if (id != user_->id && std::find(others.begin(), others.end(), id) == others.end()) others.push_back(id);
    if (others.empty()) return refuse_now(error_code::bad_request);
    if (rooms_.size() >= ctx_.cfg.max_rooms_per_connection) return refuse_now(error_code::too_many_rooms);
    read_paused_ = true;
    net::post(ctx_.blocking, [self = shared_from_this(), others = std::move(others), ref = o.client_id] {
        std::optional<std::vector<user_identity>> found;
        try {
            found = self->ctx_.accts.find_users(others);
        } catch (const std::exception& e) {
            log::error(log::ws, "user lookup failed", {{"conn", self->id_}, {"error", e.what()}});
        }
        net::post(self->ws_.get_executor(), [self, found = std::move(found), wanted = others.size(), ref] {
            self->read_paused_ = false;
            if (self->phase_ != phase::open) return;
            if (!found || found->size() != wanted) {
                self->refuse(found ? error_code::no_such_user : error_code::internal_error, packet_kind::open_direct, ref);
                return self->resume();
            }
            std::vector<protocol::user_ref> people{{self->user_->id, self->user_->username}};
            for (const auto& u : *found) people.push_back({u.id, u.username});
            room_key key{room_key::by::direct, room_registry::direct_key_of(people)};
            self->ctx_.rooms.open(std::move(key), self->user_->id, self->user_->admin,
                                  self->after_lookup([s = self.get(), people = std::move(people), ref](outcome answer) mutable {
                auto* existing = std::get_if<room_ptr>(&answer);
                if (existing == nullptr) return s->refuse(std::get<error_code>(answer), packet_kind::open_direct, ref);
                if (*existing) return s->enter(std::move(*existing), 0, 0);
                if (!s->allow(s->ctx_.direct_limits, retry_discipline::limit::rooms, packet_kind::open_direct, ref,
                              error_code::room_quota))
                    return;
                s->ctx_.rooms.open_direct(std::move(people), s->user_->id, s->after_lookup([s, ref](outcome opened) {
                    s->enter_or_refuse(std::move(opened), packet_kind::open_direct, ref, 0, 0);
                }));
            }));
            self->resume();
        });
    });
}

// An invitation may name someone the room has never seen: their name is
// looked up first, with later packets held back meanwhile.
void websocket_session::handle_manage(manage_room& m) {
    auto r = joined_room(m.room_id, packet_kind::manage_room);
    if (!r || !allow(ctx_.message_limits, retry_discipline::limit::messages, packet_kind::manage_room, m.client_id))
        return;
    if (m.action != room_action::invited) {
        auto done = hold_until_answered(m.resend);
        return r->manage(id_, std::move(m), {}, std::move(done));
    }
    read_paused_ = true;
    net::post(ctx_.blocking, [self = shared_from_this(), r = std::move(r), m = std::move(m)]() mutable {
        std::optional<std::vector<user_identity>> found;
        try {
            found = self->ctx_.accts.find_users({m.user_id});
        } catch (const std::exception& e) {
            log::error(log::ws, "user lookup failed", {{"conn", self->id_}, {"error", e.what()}});
        }
        net::post(self->ws_.get_executor(), [self, r = std::move(r), m = std::move(m), found = std::move(found)]() mutable {
            self->read_paused_ = false;
            if (self->phase_ != phase::open) return;
            if (!found || found->empty()) {
                self->send_error(found ? error_code::no_such_user : error_code::internal_error, packet_kind::manage_room,
                                 m.client_id);
                return self->resume();
            }
            std::string name = found->front().username;
            const bool resend = m.resend;
            r->manage(self->id_, std::move(m), std::move(name), self->hold_until_answered(resend));
            self->resume();
        });
    });
}

// An invitation may be to a room that is not in memory: the lookup finds it
// for its invitee (and for no one else, by id).
void websocket_session::handle_decline(const decline_invite& d) {
    room_key key{room_key::by::id, {}, d.room_id};
    ctx_.rooms.open(std::move(key), user_->id, user_->admin, after_lookup([this, id = d.room_id](outcome o) {
        auto* r = std::get_if<room_ptr>(&o);
        if (r == nullptr) return refuse(std::get<error_code>(o), packet_kind::decline_invite, id);
        if (!*r) return send_error(error_code::no_such_room, packet_kind::decline_invite, id);
        (*r)->decline(as_member(0));
    }));
}

// The snapshot is sent under the registry's mutex, so no live change of the
// list falls between it and what it shows; reading waits for it, so it comes
// right after welcome, before any answer to what the client sends next.
void websocket_session::send_room_list() {
    auto resume_reading = after_lookup([](outcome) {});
    ctx_.rooms.rooms_of(user_->id, [self = shared_from_this(), resume_reading = std::move(resume_reading)](
                                       std::optional<std::vector<room_entry>> rooms) {
        if (!rooms) {
            self->refuse(error_code::room_unavailable, packet_kind::authenticate, 0);
        } else {
            room_list list{presence_change::snapshot, {}};
            for (auto& e : *rooms) {
                list.rooms.push_back(std::move(e));
                if (list.rooms.size() == limits::max_room_list) {
                    self->send(list);
                    list.rooms.clear();
                    list.change = presence_change::joined;
                }
            }
            if (!list.rooms.empty() || list.change == presence_change::snapshot) self->send(list);
        }
        resume_reading(room_ptr{});
    });
}

void websocket_session::room_list_changed(std::uint32_t room_id, const std::optional<room_entry>& entry) {
    room_list list{entry ? presence_change::joined : presence_change::left, {}};
    list.rooms.push_back(entry ? *entry : room_entry{.room_id = room_id});
    send(list);  // the queue takes packets from any thread
}

void websocket_session::handle_leave(const leave_room& l) {
    auto it = rooms_.find(l.room_id);
    if (it == rooms_.end()) return send_error(error_code::not_in_room, packet_kind::leave_room, l.room_id);
    it->second.room->leave(id_, true);
    rooms_.erase(it);
}

// A resend may wait for a disk lookup: later packets are held back (reading
// pauses, and so does the rest of a batch) so that the client's changes keep
// their order. No read is pending meanwhile, so the returned callback is what
// keeps the session alive: it holds a strong reference.
room::done_handler websocket_session::hold_until_answered(bool resend) {
    if (!resend) return {};
    read_paused_ = true;
    return [self = shared_from_this()] {
        net::post(self->ws_.get_executor(), [self] {
            self->read_paused_ = false;
            self->resume();
        });
    };
}

void websocket_session::handle_send(send_message& m) {
    auto r = joined_room(m.room_id, packet_kind::send_message);
    if (!r || !allow(ctx_.message_limits, retry_discipline::limit::messages, packet_kind::send_message, m.client_msg_id))
        return;
    auto done = hold_until_answered(m.resend);
    r->post_message(id_, std::move(m), room::clock::now(), std::move(done));
}

void websocket_session::handle_room_request(packet& p, std::uint32_t room_id) {
    const packet_kind kind = kind_of(p);
    auto r = joined_room(room_id, kind);
    if (!r) return;
    using limit = retry_discipline::limit;
    if (auto* e = std::get_if<edit_message>(&p)) {
        if (allow(ctx_.message_limits, limit::messages, kind, e->client_id))
            r->edit_message(id_, std::move(*e), hold_until_answered(e->resend));
    } else if (auto* d = std::get_if<delete_message>(&p)) {
        if (allow(ctx_.message_limits, limit::messages, kind, d->client_id))
            r->delete_message(id_, *d, hold_until_answered(d->resend));
    } else if (auto* t = std::get_if<set_reaction>(&p)) {
        if (allow(ctx_.reaction_limits, limit::reactions, kind, t->client_id))
            r->set_reaction(id_, *t, hold_until_answered(t->resend));
    } else if (auto* s = std::get_if<set_typing>(&p)) {
        // Typing refreshes over the limit are dropped without an error packet.
        if (!s->active || !ctx_.typing_limits.acquire(user_->id)) r->set_typing(id_, s->active);
    } else if (auto* h = std::get_if<request_history>(&p)) {
        if (allow(ctx_.history_limits, limit::history, kind, h->before_seq)) r->request_history(id_, *h);
    }
}

std::shared_ptr<room> websocket_session::joined_room(std::uint32_t room_id, packet_kind kind) {
    auto it = rooms_.find(room_id);
    if (it != rooms_.end()) return it->second.room;
    send_error(error_code::not_in_room, kind, room_id);
    return nullptr;
}

bool websocket_session::allow(rate_limiter& limiter, retry_discipline::limit which, packet_kind kind,
                              std::uint64_t ref, error_code refusal) {
    const auto now = rate_limiter::clock::now();
    const auto wait = limiter.acquire(user_->id, now);
    if (!wait) return true;
    ctx_.stats.rate_limited.fetch_add(1, std::memory_order_relaxed);
    send_error(refusal, kind, ref, static_cast<std::uint32_t>(wait->count()));
    if (discipline_.refused(which, now, *wait)) do_close({websocket::close_code::policy_error, "too many requests"});
    return false;
}

void websocket_session::count_protocol_error() {
    ctx_.stats.offenders.note(remote_, now_ms());  // for the admin console
    if (++protocol_errors_ > ctx_.cfg.max_protocol_errors)
        do_close({websocket::close_code::policy_error, "too many malformed packets"});
}

// ---- writing ------------------------------------------------------------------------

void websocket_session::send(const packet& p) {
    auto encoded = encode(p);
    if (!encoded) {
        log::error(log::ws, "cannot encode a packet", {{"conn", id_}, {"user", user_name()}, {"kind", kind_name(kind_of(p))},
                                                       {"error", error_name(encoded.error())}});
        return;
    }
    ctx_.stats.packets_out[static_cast<std::size_t>(kind_of(p))].fetch_add(1, std::memory_order_relaxed);
    queue_->push(make_shared_packet(std::move(*encoded)));
}

void websocket_session::send_error(error_code code, packet_kind kind, std::uint64_t ref, std::uint32_t retry_after_ms) {
    const auto c = static_cast<std::uint16_t>(code);
    ctx_.stats.count_error(c);
    send(error_report{c, static_cast<std::uint8_t>(kind), ref, retry_after_ms, std::string(error_description(c))});
}

void websocket_session::do_write() {
    if (write_in_flight_ || (phase_ != phase::open && phase_ != phase::draining)) return;
    writing_.clear();
    if (!queue_->take(writing_, ctx_.cfg.max_batch_bytes)) {
        // Idle: give back what a burst needed (a few entries stay, so that
        // the next single packet allocates nothing; an idle connection
        // holds no joined batch).
        if (writing_.capacity() > 16) writing_.shrink_to_fit();
        if (joined_.capacity() != 0) joined_ = {};
        if (phase_ == phase::draining) send_close(drain_reason_);
        return;
    }
    write_in_flight_ = true;
    auto on_done = beast::bind_front_handler(&websocket_session::on_write, shared_from_this());
    if (writing_.size() == 1) return ws_.async_write(net::buffer(*writing_.front()), std::move(on_done));

    // Several packets waited: one batch message. The envelope needs only
    // their sizes. Small packets (a busy room's messages, 70-200 bytes each)
    // are joined into one buffer: copying them costs less than walking a
    // gathered buffer sequence, and one iovec makes one sendmsg where a
    // gather of hundreds of buffers takes one per 64. Larger batches (history
    // pages) are gathered from the shared buffers without copying.
    std::size_t payload_size = 0;
    for (const auto& p : writing_) payload_size += p->size();
    envelope_ = *make_batch_envelope(writing_.size(), payload_size);  // cannot fail: take() bounds both
    if (payload_size <= bounds::max_joined_batch_bytes) {
        joined_.clear();
        joined_.reserve(envelope_.header_size + payload_size + envelope_.trailer.size());
        const auto header = envelope_.header_bytes();
        joined_.insert(joined_.end(), header.begin(), header.end());
        for (const auto& p : writing_) joined_.insert(joined_.end(), p->begin(), p->end());
        joined_.insert(joined_.end(), envelope_.trailer.begin(), envelope_.trailer.end());
        writing_.clear();  // the shared packets are let go here, on the loop that took them
        return ws_.async_write(net::buffer(joined_), std::move(on_done));
    }
    ws_.async_write(batch_buffers(envelope_, writing_), std::move(on_done));
}

void websocket_session::on_write(boost::system::error_code ec, std::size_t bytes) {
    write_in_flight_ = false;
    writing_.clear();
    if (ec) {
        if (!is_expected_close(ec))
            log::debug(log::ws, "write failed", {{"conn", id_}, {"user", user_name()}, {"remote", remote_}, {"error", ec}});
        return end();
    }
    ctx_.stats.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
    ctx_.stats.websocket_writes.fetch_add(1, std::memory_order_relaxed);
    do_write();
}

void websocket_session::on_overflow() {
    log::info(log::ws, "send queue full, disconnecting a slow consumer",
              {{"conn", id_}, {"user", user_name()}, {"remote", remote_}});
    if (write_in_flight_) {
        // The peer is not reading: no close frame would get through either.
        ws_.next_layer().close();
        return;
    }
    // What is queued is what the peer could not keep up with: close at once.
    queue_->close();
    send_close({websocket::close_code::try_again_later, "slow consumer: reconnect and resync"});
}

void websocket_session::sign_out() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
        if (!self->user_ || self->phase_ == phase::ended) return;
        self->send_error(error_code::auth_failed, packet_kind{0}, 0);
        self->do_close({websocket::close_code::policy_error, "signed out"});
    });
}

void websocket_session::shutdown() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
        if (self->phase_ == phase::handshake) {
            self->ws_.next_layer().close();
            return;
        }
        if (self->phase_ >= phase::closing) return;
        self->phase_ = phase::draining;
        self->drain_reason_ = websocket::close_reason(websocket::close_code::going_away, "server shutting down");
        self->queue_->close();
        self->do_write();  // flushes what is queued, then closes
    });
}

// Closing for a reason of ours: what is queued (the error reports that say
// why, above all) is written first, then the close frame. The queue takes
// nothing new meanwhile, so the flush is bounded.
void websocket_session::do_close(websocket::close_reason reason) {
    if (phase_ != phase::open) return;
    phase_ = phase::draining;
    drain_reason_ = reason;
    queue_->close();
    do_write();  // writes what waits (after the write in flight), then sends the close
}

void websocket_session::send_close(websocket::close_reason reason) {
    if (phase_ >= phase::closing) return;
    phase_ = phase::closing;
    queue_->close();
    ws_.async_close(reason, [self = shared_from_this()](boost::system::error_code) {
        if (!self->reading_) self->end();  // a pending read ends the session when the close completes
    });
}

void websocket_session::end() {
    if (phase_ == phase::ended) return;
    const bool accepted = phase_ != phase::handshake;
    phase_ = phase::ended;
    if (queue_) queue_->close();
    for (auto& [id, r] : rooms_) r.room->leave(id_, false);
    rooms_.clear();
    if (!accepted) return;
    ctx_.connections.remove(id_);
    log::info(log::ws, "closed", {{"conn", id_}, {"user", user_name()}, {"remote", remote_}});
}

}  // namespace parley::server
