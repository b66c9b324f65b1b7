// Storage without a disk, for unit tests of rooms.
//
// fake_store is a message_store over maps that hold what "the disk" has, as
// the batch writer would have committed it. Its reads can be told to fail
// (the next N reads report ok = false) or to wait (they queue until the test
// completes them by hand), so a test can hold a join "in flight" and do
// something else meanwhile. A read computes its answer when it completes, as
// a storage thread would when it gets to it; reads that do not wait are
// posted to the io_context, like a storage thread posting its answer back.
//
// fake_sink is the event_sink: it records every event a room pushes, and
// commit() stores them in the fake_store and reports, per room, the highest
// seq now on disk, like batch_writer's `persisted` report. Nothing is stored
// or reported before the test says so.
//
// Everything runs on the test's one thread: no locks.
#pragma once

#include "server/core/events.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace parley::testing {

/// What the disk holds of one room.
struct fake_room_data {
    std::vector<server::epoch_record> epochs;
    std::map<std::uint64_t, server::timeline_event> events;    // by seq
    std::map<std::uint64_t, server::message_state> messages;   // by the seq that posted them
    std::map<std::pair<std::uint64_t, std::uint64_t>, server::stored_ack> client_ops;  // (user, client id)

    std::uint64_t last_seq() const { return events.empty() ? 0 : events.rbegin()->first; }
};

/// Rows making users 1..n members of a room (named "user<id>"): rooms of
/// unit tests whose joins should take no seq.
inline std::vector<server::member_state> members_up_to(std::uint64_t n) {
    std::vector<server::member_state> people;
    for (std::uint64_t u = 1; u <= n; ++u) people.push_back({u, "user" + std::to_string(u), server::member_status::member});
    return people;
}

class fake_store final : public server::message_store {
public:
    explicit fake_store(boost::asio::io_context& io) : io_(io) {}

    // ---- faults --------------------------------------------------------------------------------
    /// The next `n` reads fail.
    void fail_next_reads(int n) { fail_next_ = n; }
    /// While on, reads wait until complete_held().
    void hold_reads(bool on) { hold_ = on; }
    std::size_t held() const { return held_.size(); }
    /// Completes every waiting read, oldest first (their answers reflect the disk now).
    void complete_held() {
        auto waiting = std::move(held_);
        held_.clear();
        for (auto& read : waiting) read();
    }
    /// The name of every read asked for, in order ("snapshot", "events", ...).
    const std::vector<std::string>& reads() const { return reads_; }

    // ---- contents ------------------------------------------------------------------------------
    /// Author names (events carry ids only; the real store joins the users table).
    std::map<std::uint64_t, std::string> usernames;
    fake_room_data& room(std::uint32_t id) { return rooms_[id]; }

    /// Stores one event as the writer commits it.
    void apply(const server::storage_event& e) {
        std::visit([this](const auto& ev) { apply_one(ev); }, e);
    }

    // ---- message_store -------------------------------------------------------------------------
    void read_events(std::uint32_t room_id, std::uint64_t from, std::uint64_t to,
                     handler<server::event_page> done) override {
        run<server::event_page>("events", [=, this] { return events_of(room_id, from, to); }, std::move(done));
    }
    void read_messages_before(std::uint32_t room_id, std::uint64_t before, std::size_t limit,
                              handler<std::vector<server::message_state>> done) override {
        run<std::vector<server::message_state>>("messages_before", [=, this] {
            std::vector<server::message_state> out;
            const auto& msgs = rooms_[room_id].messages;
            for (auto it = msgs.lower_bound(before); it != msgs.begin() && out.size() < limit;) out.push_back((--it)->second);
            std::reverse(out.begin(), out.end());
            return out;
        }, std::move(done));
    }
    void find_client_op(std::uint32_t room_id, std::uint64_t user_id, std::uint64_t client_id,
                        handler<std::optional<server::stored_ack>> done) override {
        run<std::optional<server::stored_ack>>("client_op", [=, this] {
            const auto& ops = rooms_[room_id].client_ops;
            auto it = ops.find({user_id, client_id});
            return it == ops.end() ? std::nullopt : std::optional(it->second);
        }, std::move(done));
    }
    void read_snapshot(std::uint32_t room_id, std::uint64_t from, handler<server::room_snapshot> done) override {
        run<server::room_snapshot>("snapshot", [=, this] {
            return server::room_snapshot{rooms_[room_id].epochs,
                                         events_of(room_id, from, std::numeric_limits<std::uint64_t>::max())};
        }, std::move(done));
    }

private:
    template <class T, class Read>
    void run(std::string name, Read read, handler<T> done) {
        reads_.push_back(std::move(name));
        const bool fail = fail_next_ > 0;
        if (fail) --fail_next_;
        auto complete = [fail, read = std::move(read), done = std::move(done)] {
            if (fail) return done(server::read_result<T>{false, {}});
            done(server::read_result<T>{true, read()});
        };
        if (hold_) held_.push_back(std::move(complete));
        else boost::asio::post(io_, std::move(complete));
    }

    /// Events [from, to] up to the last stored one, dense (a hole reads as a
    /// void, as the real store answers), with the messages they posted.
    server::event_page events_of(std::uint32_t room_id, std::uint64_t from, std::uint64_t to) {
        const fake_room_data& r = rooms_[room_id];
        server::event_page page;
        for (std::uint64_t seq = from; seq <= std::min(to, r.last_seq()); ++seq) {
            auto ev = r.events.find(seq);
            page.events.push_back(ev != r.events.end()
                                      ? ev->second
                                      : server::timeline_event{.seq = seq, .what = server::timeline_event::type::voided});
            if (auto m = r.messages.find(seq); m != r.messages.end()) page.messages.push_back(m->second);
        }
        return page;
    }

    void note_op(fake_room_data& r, std::uint64_t user, std::uint64_t client_id, std::uint64_t seq, server::unix_ms at) {
        if (client_id != 0) r.client_ops[{user, client_id}] = {seq, at};
    }

    void apply_one(const server::events::room_created&) {}
    void apply_one(const server::events::room_changed& e) {
        fake_room_data& r = rooms_[e.room_id];
        r.events[e.seq] = {.seq = e.seq, .what = server::timeline_event::type::room, .user_id = e.actor_id,
                           .client_id = e.client_id, .at = e.at, .text = e.text, .action = e.action,
                           .target_id = e.target_id, .role = e.role, .room_kind = e.kind};
        note_op(r, e.actor_id, e.client_id, e.seq, e.at);
    }
    void apply_one(const server::events::epoch_started& e) { rooms_[e.room_id].epochs.push_back({e.epoch, e.base_seq}); }
    void apply_one(const server::events::message_posted& e) {
        fake_room_data& r = rooms_[e.room_id];
        server::message_state s;
        s.record.seq = e.seq;
        s.record.author_id = e.author_id;
        s.record.author = usernames[e.author_id];
        s.record.client_msg_id = e.client_msg_id;
        s.record.sent_at = e.sent_at;
        s.record.reply_to = e.reply_to;
        s.record.text = e.text;
        r.messages[e.seq] = std::move(s);
        r.events[e.seq] = {.seq = e.seq, .what = server::timeline_event::type::posted, .user_id = e.author_id,
                           .client_id = e.client_msg_id, .at = e.sent_at};
        note_op(r, e.author_id, e.client_msg_id, e.seq, e.sent_at);
    }
    void apply_one(const server::events::message_edited& e) {
        fake_room_data& r = rooms_[e.room_id];
        server::message_state& s = r.messages[e.message_seq];
        s.record.text = e.text;
        s.record.edited_at = e.at;
        s.changed_seq = e.seq;
        r.events[e.seq] = {.seq = e.seq, .what = server::timeline_event::type::edited, .user_id = e.user_id,
                           .client_id = e.client_id, .at = e.at, .message_seq = e.message_seq, .text = e.text};
        note_op(r, e.user_id, e.client_id, e.seq, e.at);
    }
    void apply_one(const server::events::message_deleted& e) {
        fake_room_data& r = rooms_[e.room_id];
        server::message_state& s = r.messages[e.message_seq];
        s.record.deleted = true;
        s.record.text.clear();
        s.reactors.clear();
        s.changed_seq = e.seq;
        r.events[e.seq] = {.seq = e.seq, .what = server::timeline_event::type::deleted, .user_id = e.user_id,
                           .client_id = e.client_id, .at = e.at, .message_seq = e.message_seq};
        note_op(r, e.user_id, e.client_id, e.seq, e.at);
    }
    void apply_one(const server::events::reaction_set& e) {
        fake_room_data& r = rooms_[e.room_id];
        server::message_state& s = r.messages[e.message_seq];
        const std::pair mine{e.reaction, e.user_id};
        std::erase(s.reactors, mine);
        if (e.added) s.reactors.push_back(mine);
        s.changed_seq = e.seq;
        r.events[e.seq] = {.seq = e.seq, .what = server::timeline_event::type::reacted, .user_id = e.user_id,
                           .client_id = e.client_id, .at = e.at, .message_seq = e.message_seq,
                           .reaction = e.reaction, .added = e.added, .count = e.count};
        note_op(r, e.user_id, e.client_id, e.seq, e.at);
    }

    boost::asio::io_context& io_;
    std::map<std::uint32_t, fake_room_data> rooms_;
    int fail_next_ = 0;
    bool hold_ = false;
    std::deque<std::function<void()>> held_;
    std::vector<std::string> reads_;
};

class fake_sink final : public server::event_sink {
public:
    explicit fake_sink(fake_store& disk) : disk_(disk) {}

    void push(server::storage_event e) override { pushed_.push_back(std::move(e)); }
    std::size_t backlog() const override { return pushed_.size() - committed_; }

    /// Called after a commit with each room's highest seq on disk (batch_writer's `persisted`).
    std::function<void(std::uint32_t room_id, std::uint64_t seq)> on_persisted;

    /// Stores the oldest `n` uncommitted events (all by default), then reports.
    void commit(std::size_t n = std::numeric_limits<std::size_t>::max()) {
        std::map<std::uint32_t, std::uint64_t> stored;
        for (; committed_ < pushed_.size() && n > 0; ++committed_, --n) {
            disk_.apply(pushed_[committed_]);
            if (auto s = server::sequence_of(pushed_[committed_])) stored[s->first] = std::max(stored[s->first], s->second);
        }
        for (auto [room_id, seq] : stored) {
            reported_[room_id] = std::max(reported_[room_id], seq);
            if (on_persisted) on_persisted(room_id, seq);
        }
    }

    /// Every event pushed, committed or not, in order.
    const std::vector<server::storage_event>& pushed() const { return pushed_; }
    /// The highest seq reported persisted for the room (0: none yet).
    std::uint64_t reported(std::uint32_t room_id) const {
        auto it = reported_.find(room_id);
        return it == reported_.end() ? 0 : it->second;
    }

private:
    fake_store& disk_;
    std::vector<server::storage_event> pushed_;
    std::size_t committed_ = 0;
    std::map<std::uint32_t, std::uint64_t> reported_;
};

}  // namespace parley::testing
