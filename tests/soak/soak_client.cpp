#include "tests/soak/soak_client.hpp"

#include "protocol/errors.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

namespace parley::soak {
using namespace parley::protocol;
using namespace std::chrono_literals;

namespace {

constexpr auto answer_timeout = 15s;      // room_joined, room_left: a stall beyond this is a violation
constexpr auto drain_timeout = 20s;       // an outbox waiting for its watermark (batches wait up to 5 s)
constexpr std::size_t max_rooms_joined = 5;
constexpr int max_failures = 20;          // exceptions before a client gives up

std::uint64_t client_id_of(const auto& req) {
    return std::visit([](const auto& r) {
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, send_message>) return r.client_msg_id;
        else return r.client_id;
    }, req);
}

packet_kind kind_of_request(const auto& req) {
    return std::visit([](const auto& r) { return std::decay_t<decltype(r)>::kind; }, req);
}

std::string describe(const error_report& e) {
    return std::string(error_name(e.code)) + " for " + std::string(kind_name(static_cast<packet_kind>(e.ref_kind))) +
           " ref " + std::to_string(e.ref) + (e.text.empty() ? "" : " (" + e.text + ")");
}

}  // namespace

soak_client::soak_client(client_setup setup, soak_stats& stats, violation_log& violations)
    : setup_(std::move(setup)), stats_(stats), violations_(violations), rng_(setup_.seed) {}

soak_client::~soak_client() = default;

void soak_client::violation(const std::string& what) {
    violations_.add("client " + std::to_string(setup_.index) + " (" + setup_.username + "): " + what);
}

// ---- running --------------------------------------------------------------------------------

void soak_client::run(clock::time_point until, std::chrono::milliseconds settle) {
    std::vector<std::string> all = setup_.rooms;
    std::shuffle(all.begin(), all.end(), rng_);
    const std::size_t first_rooms = 2 + rng_() % 3;
    rooms_.insert(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(first_rooms, all.size())));
    std::uniform_int_distribution<int> think(100, 600);
    int failures = 0;
    auto guarded = [&](auto&& step) {
        try {
            step();
        } catch (const std::exception& e) {
            violation(std::string("exception: ") + e.what());
            ws_.reset();
            ++failures;
        }
    };
    while (clock::now() < until && failures < max_failures) {
        guarded([&] {
            ensure_connected();
            flush_outbox();
            pump_for(std::chrono::milliseconds(think(rng_)));
            ensure_connected();
            do_operation();
        });
    }
    const auto deadline = clock::now() + settle;
    while (!outbox_.empty() && clock::now() < deadline && failures < max_failures) {
        guarded([&] {
            ensure_connected();
            flush_outbox();
            pump_until([&] { return outbox_.empty(); }, 200ms);
        });
    }
    if (!outbox_.empty())
        violation(std::to_string(outbox_.size()) + " outbox entries never acknowledged and persisted, first client id " +
                  std::to_string(outbox_.begin()->first) + " in room " + outbox_.begin()->second.room);
}

void soak_client::catch_up(const std::map<std::string, std::uint64_t>& last, std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    try {
        if (!ws_ || !ws_->is_open()) return violation("not connected at the end");
        for (const auto& room : rooms_) {
            const std::uint64_t target = last.contains(room) ? last.at(room) : 0;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            pump_until([&] { return views_[room].caught_up_to() >= target; }, std::max(left, 0ms));
            if (!room_ids_.contains(room)) violation("room " + room + " not joined at the end");
            if (views_[room].caught_up_to() != target)
                violation("view of room " + room + " is at event " + std::to_string(views_[room].caught_up_to()) +
                          ", the room at " + std::to_string(target));
        }
        // What had arrived by now is applied too (a replay behind a latest page).
        while (auto p = ws_->next(0ms)) absorb(*p);
    } catch (const std::exception& e) {
        violation(std::string("exception while catching up: ") + e.what());
    }
}

// ---- connection -------------------------------------------------------------------------------

void soak_client::connect() {
    testing::ws_options o;
    o.port = setup_.port;
    o.from = setup_.from;
    o.headers["Cookie"] = "parley_session=" + setup_.token;
    ws_ = std::make_unique<testing::ws_client>(o);
    killed_ = false;
    const auto w = ws_->wait_for<welcome>(answer_timeout);
    user_id_ = w.user_id;
    setup_.budget->configure(w.rate_limits);
    room_ids_.clear();
    watermarks_.clear();
}

// Rejoins from each view's position, then sends the whole outbox again
// (resend=true): the server acknowledges what it had with the original seq.
void soak_client::rejoin_all() {
    for (const auto& room : std::set<std::string>(rooms_))
        if (!join(room)) return;
    for (auto& [cid, e] : outbox_) {
        e.due = true;
        e.not_before = {};
    }
    flush_outbox();
}

void soak_client::ensure_connected() {
    if (ws_ && ws_->is_open()) return;
    if (ws_ && !killed_) {
        const auto code = ws_->wait_closed(0ms);
        violation("the server closed the connection (close code " + (code ? std::to_string(*code) : "none") + ")");
    }
    ws_.reset();
    connect();
    rejoin_all();
}

void soak_client::reconnect_cleanly() {
    ++stats_.reconnects;
    ws_->close();
    ws_.reset();  // what was still in the inbox is lost: the rejoin replays it
    connect();
    rejoin_all();
}

// Sends a message and, before its ack can be read, drops the TCP connection
// without a close frame: the outbox then holds an entry whose fate the
// client cannot know, which is what `resend` is for.
void soak_client::kill_connection() {
    if (!rooms_.empty() && !room_ids_.empty()) do_send();
    ++stats_.kills;
    if (!kill_socket()) return violation("cannot find its own socket to kill");
    killed_ = true;
    ws_->wait_closed(5s);
    ws_.reset();
    connect();
    rejoin_all();
}

// ws_client does not expose its socket; the client's source address is
// unique, so the socket is the descriptor bound to it and connected to the
// server. SO_LINGER 0 turns the final close into a reset, and shutdown()
// ends the client's read loop, so no close frame is ever sent.
bool soak_client::kill_socket() {
    in_addr want{};
    inet_pton(AF_INET, setup_.from.c_str(), &want);
    std::error_code ec;
    for (const auto& fd_entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        int fd = -1;
        try {
            fd = std::stoi(fd_entry.path().filename().string());
        } catch (const std::exception&) {
            continue;
        }
        sockaddr_in local{}, peer{};
        socklen_t n = sizeof local, m = sizeof peer;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) != 0 || local.sin_family != AF_INET) continue;
        if (local.sin_addr.s_addr != want.s_addr) continue;
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &m) != 0 || ntohs(peer.sin_port) != setup_.port) continue;
        const linger abort{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
        ::shutdown(fd, SHUT_RDWR);
        return true;
    }
    return false;
}

// ---- waiting ------------------------------------------------------------------------------------

void soak_client::pump_for(std::chrono::milliseconds d) {
    const auto deadline = clock::now() + d;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left <= 0ms) return;
        auto p = ws_->next(left);
        if (!p) return;  // the time is up, or the connection closed
        absorb(*p);
    }
}

bool soak_client::pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (!done()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left <= 0ms) return false;
        auto p = ws_->next(left);
        if (!p) return done();
        absorb(*p);
    }
    return true;
}

void soak_client::take_token(packet_kind kind) {
    for (;;) {
        const auto wait = setup_.budget->take(kind);
        if (wait == 0ms) return;
        if (ws_ && ws_->is_open()) pump_for(wait);
        else std::this_thread::sleep_for(wait);  // pacing only: nothing to read
    }
}

// ---- packets ------------------------------------------------------------------------------------

template <class T, class... U>
constexpr bool is_one_of = (std::is_same_v<T, U> || ...);

void soak_client::absorb(const packet& p) {
    std::visit([&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, room_joined>) {
            on_joined(x);
        } else if constexpr (std::is_same_v<T, ack>) {
            on_ack(x);
        } else if constexpr (std::is_same_v<T, error_report>) {
            on_error(x);
        } else if constexpr (std::is_same_v<T, persisted_watermark>) {
            const std::string room = room_of(x.room_id);
            if (room.empty()) return;
            watermarks_[room] = std::max(watermarks_[room], x.seq);
            prune(room);
        } else if constexpr (std::is_same_v<T, room_left>) {
            const std::string room = room_of(x.room_id);
            room_ids_.erase(room);
            watermarks_.erase(room);
        } else if constexpr (is_one_of<T, chat_message, message_edited, message_deleted, reaction_update, room_event,
                                       history_page, room_reset>) {
            const std::string room = room_of(x.room_id);
            if (!room.empty()) absorb_room_packet(room, p);
        }
        // welcome, presence, typing and pong change nothing the soak checks
    }, p);
}

void soak_client::absorb_room_packet(const std::string& room, const packet& p) {
    room_view& v = views_[room];
    std::string bad;
    if (auto* m = std::get_if<chat_message>(&p)) bad = v.on_message(*m);
    else if (auto* e = std::get_if<message_edited>(&p)) bad = v.on_edited(*e);
    else if (auto* d = std::get_if<message_deleted>(&p)) bad = v.on_deleted(*d);
    else if (auto* r = std::get_if<reaction_update>(&p)) bad = v.on_reaction(*r);
    else if (auto* ev = std::get_if<room_event>(&p)) bad = v.on_room_event(*ev);
    else if (auto* h = std::get_if<history_page>(&p)) {
        if (h->mode == history_mode::latest) ++stats_.latest_pages;
        bad = v.on_page(*h);
    } else if (auto* reset = std::get_if<room_reset>(&p)) on_reset(room, *reset);
    if (!std::holds_alternative<history_page>(p) && !std::holds_alternative<room_reset>(p)) ++stats_.events;
    if (!bad.empty()) violation("room " + room + ": " + bad);
}

void soak_client::on_joined(const room_joined& j) {
    room_ids_[j.room] = j.room_id;
    watermarks_[j.room] = j.persisted_seq;
    if (auto bad = views_[j.room].on_joined(j); !bad.empty()) violation("room " + j.room + ": " + bad);
    prune(j.room);
}

// The server no longer vouches for events above the base: entries
// acknowledged there are sent again, and their old seq no longer counts.
void soak_client::on_reset(const std::string& room, const room_reset& r) {
    ++stats_.resets;
    views_[room].on_reset(r);
    watermarks_[room] = std::min(watermarks_[room], r.base_seq);
    for (auto& [cid, e] : outbox_) {
        if (e.room != room || !e.acked || e.seq <= r.base_seq) continue;
        e.acked = false;
        e.seq = 0;
        e.due = true;
        e.was_reset = true;
        e.not_before = {};
    }
}

void soak_client::on_ack(const ack& a) {
    ++stats_.acks;
    if (a.seq == 0) ++stats_.noop_acks;
    auto it = outbox_.find(a.client_id);
    auto logged = acked_.find(a.client_id);
    const bool reset = it != outbox_.end() && it->second.was_reset;
    if (logged != acked_.end() && logged->second.seq != a.seq && !reset)
        violation("client id " + std::to_string(a.client_id) + " acknowledged as seq " +
                  std::to_string(logged->second.seq) + " and later as seq " + std::to_string(a.seq));
    if (it == outbox_.end()) {
        if (logged == acked_.end()) violation("ack for unknown client id " + std::to_string(a.client_id));
        return;
    }
    entry& e = it->second;
    e.acked = true;
    e.seq = a.seq;
    e.was_reset = false;
    const auto* m = std::get_if<send_message>(&e.req);
    acked_[a.client_id] = {e.room, kind_of_request(e.req), a.seq, m ? m->text : std::string()};
    if (a.seq == 0) {
        if (m) violation("message " + std::to_string(a.client_id) + " acknowledged with seq 0");
        outbox_.erase(it);
        return;
    }
    prune(e.room);
}

void soak_client::on_error(const error_report& e) {
    const auto code = static_cast<error_code>(e.code);
    if (code == error_code::rate_limited) return violation("refused for rate: " + describe(e));
    auto it = outbox_.find(e.ref);
    const bool outbox_kind = is_client_kind(static_cast<packet_kind>(e.ref_kind)) && it != outbox_.end() &&
                             kind_of_request(it->second.req) == static_cast<packet_kind>(e.ref_kind);
    if (!outbox_kind) return violation("unexpected error " + describe(e));
    if (code == error_code::server_busy || code == error_code::room_unavailable) {
        ++stats_.busy;  // not applied: send again after the announced wait
        it->second.due = true;
        it->second.not_before = clock::now() + std::chrono::milliseconds(e.retry_after_ms);
        return;
    }
    // Another connection of the same user deleted the message meanwhile.
    if (code == error_code::message_deleted) ++stats_.races;
    else violation("refused: " + describe(e));
    outbox_.erase(it);
}

void soak_client::prune(const std::string& room) {
    const std::uint64_t w = watermarks_.contains(room) ? watermarks_.at(room) : 0;
    std::erase_if(outbox_, [&](const auto& kv) {
        const entry& e = kv.second;
        return e.room == room && e.acked && e.seq != 0 && e.seq <= w;
    });
}

std::string soak_client::room_of(std::uint32_t room_id) {
    for (const auto& [name, id] : room_ids_)
        if (id == room_id) return name;
    violation("packet for room id " + std::to_string(room_id) + ", which this connection has not joined");
    return {};
}

// ---- operations -----------------------------------------------------------------------------------

void soak_client::do_operation() {
    // send, edit, delete, react, join, leave, reconnect, kill
    static const std::vector<double> weights{40, 10, 5, 22, 4, 4, 2, 2};
    std::discrete_distribution<int> pick(weights.begin(), weights.end());
    switch (pick(rng_)) {
        case 0: return do_send();
        case 1: return do_edit();
        case 2: return do_delete();
        case 3: return do_react();
        case 4: return do_join();
        case 5: return do_leave();
        case 6: return reconnect_cleanly();
        default: return kill_connection();
    }
}

void soak_client::do_send() {
    const std::string room = pick_joined_room();
    if (room.empty()) return do_join();
    const std::uint64_t reply_to = rng_() % 10 == 0 ? pick_message(room, false) : 0;
    static const char* const words[] = {"hello", "ok", "lunch?", "ship it", "ünïcødé ✓", "see #42", "brb"};
    const std::string text = setup_.username + " c" + std::to_string(setup_.index) + " #" + std::to_string(++texts_) +
                             " " + words[rng_() % std::size(words)];
    ++stats_.sends;
    submit(room, send_message{0, next_client_id(), reply_to, text, false});
}

void soak_client::do_edit() {
    const std::string room = pick_joined_room();
    const std::uint64_t seq = room.empty() ? 0 : pick_message(room, true);
    if (seq == 0) return do_send();
    ++stats_.edits;
    submit(room, edit_message{0, next_client_id(), seq, "edited by c" + std::to_string(setup_.index) + " #" +
                                                            std::to_string(++texts_), false});
}

void soak_client::do_delete() {
    const std::string room = pick_joined_room();
    const std::uint64_t seq = room.empty() ? 0 : pick_message(room, true);
    if (seq == 0) return do_send();
    ++stats_.deletes;
    submit(room, delete_message{0, next_client_id(), seq, false});
}

void soak_client::do_react() {
    const std::string room = pick_joined_room();
    const std::uint64_t seq = room.empty() ? 0 : pick_message(room, false);
    if (seq == 0) return do_send();
    ++stats_.reactions;
    const auto reaction = static_cast<reaction_kind>(rng_() % reaction_kind_count);
    submit(room, set_reaction{0, next_client_id(), seq, reaction, rng_() % 3 != 0, false});
}

void soak_client::do_join() {
    std::vector<std::string> candidates;
    for (const auto& r : setup_.rooms)
        if (!rooms_.contains(r)) candidates.push_back(r);
    if (candidates.empty() || rooms_.size() >= max_rooms_joined) return do_leave();
    const std::string room = candidates[rng_() % candidates.size()];
    ++stats_.joins;
    rooms_.insert(room);  // a reconnect meanwhile joins it too
    join(room);
}

// A clean leave first waits for the room's outbox to be persisted: the
// watermark that confirms an entry only reaches members.
void soak_client::do_leave() {
    if (rooms_.size() <= 1) return do_join();
    auto it = rooms_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rng_() % rooms_.size()));
    const std::string room = *it;
    if (!settle_room(room, drain_timeout)) {
        if (ws_->is_open()) violation("outbox of room " + room + " did not drain before leaving");
        return;
    }
    ++stats_.leaves;
    ws_->send(leave_room{room_ids_.at(room)});
    if (!pump_until([&] { return !room_ids_.contains(room); }, answer_timeout)) {
        if (ws_->is_open()) violation("no room_left for " + room);
        return;
    }
    rooms_.erase(room);
}

bool soak_client::join(const std::string& room) {
    take_token(packet_kind::join_room);
    const room_view& v = views_[room];
    ws_->send(join_room{room, v.epoch(), v.since()});
    if (pump_until([&] { return room_ids_.contains(room); }, answer_timeout)) return true;
    if (ws_->is_open()) violation("no room_joined for " + room);
    return false;
}

void soak_client::submit(const std::string& room, request req) {
    take_token(kind_of_request(req));
    const std::uint64_t cid = client_id_of(req);
    entry& e = outbox_[cid];
    e.room = room;
    e.req = std::move(req);
    transmit(cid, e, false);
}

void soak_client::transmit(std::uint64_t, entry& e, bool resend) {
    auto id = room_ids_.find(e.room);
    if (id == room_ids_.end()) {
        e.due = true;  // sent once the room is joined again
        return;
    }
    std::visit([&](auto& r) {
        r.room_id = id->second;
        r.resend = resend;
    }, e.req);
    e.due = false;
    if (resend) ++stats_.resends;
    std::visit([&](const auto& r) { ws_->send(r); }, e.req);
}

// Entries due again are sent as tokens allow; the rest wait for the next round.
void soak_client::flush_outbox() {
    if (!ws_ || !ws_->is_open()) return;
    const auto now = clock::now();
    for (auto& [cid, e] : outbox_) {
        if (!e.due || e.not_before > now || !room_ids_.contains(e.room)) continue;
        if (setup_.budget->take(kind_of_request(e.req)) != 0ms) return;
        transmit(cid, e, true);
    }
}

bool soak_client::settle_room(const std::string& room, std::chrono::milliseconds timeout) {
    auto pending = [&] {
        return std::any_of(outbox_.begin(), outbox_.end(), [&](const auto& kv) { return kv.second.room == room; });
    };
    const auto deadline = clock::now() + timeout;
    while (pending()) {
        if (clock::now() >= deadline || !ws_->is_open()) return false;
        flush_outbox();
        pump_until([&] { return !pending(); }, 200ms);
    }
    return true;
}

std::string soak_client::pick_joined_room() {
    if (room_ids_.empty()) return {};
    auto it = room_ids_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rng_() % room_ids_.size()));
    return it->first;
}

// Mostly one of the newest 100 messages (in the server's cache); one time
// in ten any message the view holds, which may have to be read from disk.
std::uint64_t soak_client::pick_message(const std::string& room, bool own) {
    const auto& msgs = views_[room].messages();
    const bool deep = rng_() % 10 == 0;
    std::vector<std::uint64_t> candidates;
    std::size_t scanned = 0;
    for (auto it = msgs.rbegin(); it != msgs.rend() && (deep || scanned < 100); ++it, ++scanned) {
        if (it->second.deleted || (own && it->second.author_id != user_id_)) continue;
        candidates.push_back(it->first);
    }
    return candidates.empty() ? 0 : candidates[rng_() % candidates.size()];
}

}  // namespace parley::soak
