#include "server/store/batch_writer.hpp"

#include "server/core/bounds.hpp"
#include "server/core/log.hpp"
#include "server/store/database.hpp"

#include <algorithm>
#include <map>

namespace parley::server {

batch_writer::batch_writer(const store_url& store, options opts, metrics& stats, reports to)
    : opts_(std::move(opts)), stats_(stats), to_(std::move(to)), db_(store.open(store_url::access::read_write)) {
    connection& db = *db_;
    stored_ = db.prepare(
        "SELECT 1 FROM messages WHERE room_id = ?1 AND seq = ?2 UNION ALL SELECT 1 FROM changes WHERE room_id = ?1 AND seq = ?2");
    insert_room_ = db.prepare(
        "INSERT INTO rooms(id, name, title, topic, kind, direct_key, created_by, created_at) "
        "VALUES(?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, 0), ?) ON CONFLICT DO NOTHING");
    insert_epoch_ = db.prepare(
        "INSERT INTO room_epochs(room_id, epoch, base_seq, started_at) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING");
    insert_message_ = db.prepare(
        "INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at, reply_to) "
        "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    bump_room_ = db.prepare("UPDATE rooms SET last_seq = GREATEST(last_seq, ?), last_message_at = GREATEST(last_message_at, ?) "
                             "WHERE id = ?");
    edit_message_ = db.prepare("UPDATE messages SET text = ?, edited_at = ? WHERE room_id = ? AND seq = ?");
    delete_message_ = db.prepare(
        "UPDATE messages SET text = '', deleted_at = ?, deleted_by = ? WHERE room_id = ? AND seq = ?");
    delete_reactions_ = db.prepare("DELETE FROM reactions WHERE room_id = ? AND seq = ?");
    add_reaction_ = db.prepare("INSERT INTO reactions(room_id, seq, reaction, user_id) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING");
    remove_reaction_ = db.prepare("DELETE FROM reactions WHERE room_id = ? AND seq = ? AND reaction = ? AND user_id = ?");
    insert_change_ = db.prepare(
        "INSERT INTO changes(room_id, seq, kind, user_id, client_id, message_seq, text, reaction, added, count, at) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    insert_room_event_ = db.prepare(
        "INSERT INTO changes(room_id, seq, kind, user_id, client_id, target_id, action, role, room_kind, text, at) "
        "VALUES(?, ?, 5, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    upsert_member_ = db.prepare(
        "INSERT INTO memberships(room_id, user_id, state, role, muted, invited_by, seq) VALUES(?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(room_id, user_id) DO UPDATE SET state = excluded.state, role = excluded.role, "
        "muted = excluded.muted, invited_by = excluded.invited_by, seq = excluded.seq");
    update_room_ = db.prepare("UPDATE rooms SET name = ?, title = ?, topic = ?, kind = ? WHERE id = ?");
    // A deleted room frees its address and its people's key.
    delete_room_ = db.prepare(
        "UPDATE rooms SET deleted_at = ?, name = '~deleted.' || id, direct_key = NULL WHERE id = ?");
    // A void takes the seq unless a row holds it already (then that row stands).
    insert_void_ = db.prepare(
        "INSERT INTO changes(room_id, seq, kind) SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT), 4 "
        "WHERE NOT EXISTS (SELECT 1 FROM messages WHERE room_id = ?1 AND seq = ?2) ON CONFLICT DO NOTHING");
    // Chunks of max, max/4, max/16, ... 1 rows: a run of n messages takes at
    // most n/max + 3 statements per smaller size.
    const std::size_t most = opts_.max_rows_per_insert != 0 ? opts_.max_rows_per_insert : default_rows_per_insert;
    for (std::size_t rows = most;; rows = std::max<std::size_t>(rows / 4, 1)) {
        std::string sql = "INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at, reply_to) VALUES ";
        for (std::size_t i = 0; i < rows; ++i) sql += i == 0 ? "(?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?)";
        sql += " ON CONFLICT DO NOTHING RETURNING room_id, seq";
        insert_messages_.push_back({rows, db.prepare(sql)});
        if (rows == 1) break;
    }
}

batch_writer::~batch_writer() {
    stop();
}

void batch_writer::start() { thread_ = std::thread([this] { run(); }); }

void batch_writer::push(storage_event e) {
    {
        std::lock_guard lock(mutex_);
        const bool first = !oldest_;
        if (first) oldest_ = opts_.now();
        queue_.push_back(std::move(e));
        // Wake the writer to start the delay for a first event, or to commit a
        // full batch; in between it is already waiting for the deadline.
        if (!first && queue_.size() < opts_.max_events) return;
    }
    wake_.notify_one();
}

std::size_t batch_writer::backlog() const {
    std::lock_guard lock(mutex_);
    return queue_.size() + in_flight_;
}

void batch_writer::poke() { wake_.notify_one(); }

void batch_writer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    else run();  // never started: drain here (returns at once when nothing is queued)
}

bool batch_writer::due(std::unique_lock<std::mutex>&) const {
    if (queue_.empty()) return false;
    return stopping_ || queue_.size() >= opts_.max_events || opts_.now() >= *oldest_ + opts_.max_delay;
}

void batch_writer::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        while (!due(lock)) {
            if (stopping_ && queue_.empty()) return;
            if (queue_.empty()) wake_.wait(lock);
            else wake_.wait_for(lock, *oldest_ + opts_.max_delay - opts_.now());
        }
        std::vector<storage_event> batch(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
        queue_.clear();
        oldest_.reset();
        in_flight_ = batch.size();
        lock.unlock();

        auto backoff = std::chrono::milliseconds(bounds::first_backoff);
        const auto give_up_at = clock::now() + opts_.shutdown_patience;
        while (!commit(batch)) {
            lock.lock();
            const bool stopping = stopping_;
            lock.unlock();
            if (stopping && clock::now() >= give_up_at) {
                log::error(log::writer, "giving up at shutdown; events were not stored", {{"events", batch.size()}});
                break;
            }
            std::this_thread::sleep_for(backoff);
            backoff = std::min(backoff * 2, opts_.max_backoff);
        }
        lock.lock();
        in_flight_ = 0;
    }
}

template <class F>
void batch_writer::transact(F&& body) {
    bumps_.clear();  // a failed attempt may have left some
    with_transaction(*db_, [&] {
        writing_ = nullptr;
        fail_if_injected("begin");
        body();
        writing_ = nullptr;
        write_bumps();
        fail_if_injected("commit");
    });
}

// Once per room and transaction: PostgreSQL keeps every version of a row a
// transaction updates, so bumping a room per event would make a batch of n
// events cost n^2 / rooms.
void batch_writer::bump(std::uint32_t room_id, std::uint64_t seq, unix_ms at) {
    auto& b = bumps_[room_id];
    b.first = std::max(b.first, seq);
    b.second = std::max(b.second, at);
}

void batch_writer::write_bumps() {
    for (const auto& [room_id, b] : bumps_) {
        bump_room_.bind_all(b.first, b.second, room_id);
        step(bump_room_, "bump_room");
    }
    bumps_.clear();
}

void batch_writer::fail_if_injected(std::string_view call) {
    if (opts_.fault_hook) check_sqlite(opts_.fault_hook(call, writing_), nullptr, call);
}

// Returns false after a transient failure (the caller retries the batch).
bool batch_writer::commit(const std::vector<storage_event>& batch) {
    const auto started = clock::now();
    voided_.clear();
    try {
        transact([&] { write_all(batch); });
    } catch (const db_error& e) {
        stats_.commit_failures.fetch_add(1, std::memory_order_relaxed);
        if (e.transient()) {
            log::warn(log::writer, "commit failed, will retry", {{"events", batch.size()}, {"error", e.what()}});
            return false;
        }
        log::warn(log::writer, "commit failed; retrying one by one", {{"events", batch.size()}, {"error", e.what()}});
        commit_one_by_one(batch);
        report(batch);
        return true;
    }
    stats_.commit_latency.observe(clock::now() - started);
    stats_.commits.fetch_add(1, std::memory_order_relaxed);
    stats_.events_committed.fetch_add(batch.size(), std::memory_order_relaxed);
    report(batch);
    return true;
}

template <class F>
bool batch_writer::commit_alone(F&& body) {
    for (auto backoff = std::chrono::milliseconds(bounds::first_backoff);; backoff = std::min(backoff * 2, opts_.max_backoff)) {
        try {
            transact(body);
            stats_.commits.fetch_add(1, std::memory_order_relaxed);
            return true;
        } catch (const db_error& err) {
            stats_.commit_failures.fetch_add(1, std::memory_order_relaxed);
            if (!err.transient()) {
                log::error(log::writer, "commit of one event failed", {{"error", err.what()}});
                return false;
            }
            std::this_thread::sleep_for(backoff);
        }
    }
}

// One event per transaction. An event that fails for good twice is logged;
// if it had a seq, a void row takes its place (retried like any write, since
// the watermark may not pass it otherwise) and the room is told.
//
// A void can fail for good too: when its room has no row (the room's creation
// failed for good), every event of the room fails its foreign key, and so
// does the void. Retrying that forever would stop the writer for every room
// and hang stop(); instead, after max_void_attempts, the room's watermark is
// held below that seq for good (report() caps it), and the room is told.
void batch_writer::commit_one_by_one(const std::vector<storage_event>& batch) {
    for (const auto& e : batch) {
        // Twice: a failure that does not repeat (at BEGIN or COMMIT, say) was
        // not the event's fault, and must not cost it.
        const std::span<const storage_event> alone(&e, 1);
        if (commit_alone([&] { write_all(alone); }) || commit_alone([&] { write_all(alone); })) {
            stats_.events_committed.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        const auto seq = sequence_of(e);
        if (!seq) {
            log::error(log::writer, "an event without a seq could not be stored and is dropped");
            continue;
        }
        log::error(log::writer, "an event could not be stored; storing a void", {{"room", seq->first}, {"seq", seq->second}});
        if (!store_void(seq->first, seq->second)) {
            log::error(log::writer, "cannot store a void; the room's watermark stays below it",
                       {{"room", seq->first}, {"seq", seq->second}});
            unstorable_.try_emplace(seq->first, seq->second);
        }
        voided_.push_back(*seq);
    }
}

bool batch_writer::store_void(std::uint32_t room_id, std::uint64_t seq) {
    // Three tries tell a failure that repeats (a constraint) from a passing one.
    using bounds::max_void_attempts;
    for (int attempt = 1;; ++attempt) {
        if (commit_alone([&] { write_void(room_id, seq); })) return true;
        if (attempt == max_void_attempts) return false;
        std::this_thread::sleep_for(opts_.max_backoff);
    }
}

void batch_writer::before(std::string_view name) {
    if (opts_.before_statement) opts_.before_statement(*db_, name);
    fail_if_injected(name);
}

void batch_writer::step(statement& s, std::string_view name) {
    statement_use use(s);
    before(name);
    use->run();
}

void batch_writer::write_void(std::uint32_t room_id, std::uint64_t seq) {
    writing_ = nullptr;
    insert_void_.bind_all(room_id, seq);
    step(insert_void_, "insert_void");
}

bool batch_writer::stored(std::uint32_t room_id, std::uint64_t seq) {
    statement_use q(stored_);
    q->bind_all(room_id, seq);
    return q->step();
}

template <class Rebind>
bool batch_writer::insert_once(statement& s, std::string_view name, std::uint32_t room_id, std::uint64_t seq,
                               Rebind again) {
    step(s, name);
    if (db_->changes() != 0) return true;
    if (stored(room_id, seq)) return false;
    log::warn(log::writer, "an event reuses a client id of its author; stored without it", {{"room", room_id}, {"seq", seq}});
    again();
    step(s, name);
    return true;
}

// Messages are most of every batch, and nothing else in a batch depends on
// a message but the events after it: a run of consecutive messages is
// written together before the next other event.
void batch_writer::write_all(std::span<const storage_event> batch) {
    run_.clear();
    for (const auto& e : batch) {
        if (std::holds_alternative<events::message_posted>(e)) {
            run_.push_back(&e);
            continue;
        }
        write_messages(run_);
        run_.clear();
        write(e);
    }
    write_messages(run_);
    run_.clear();
}

// Each chunk is one INSERT ... ON CONFLICT DO NOTHING RETURNING of its rows:
// a row not returned is either stored already (a batch written again: it
// stands) or reuses a client id its author already used in the room, which
// means the client sent a message again with resend=false. Everyone saw it
// as a new message, so it is stored as one, without the id.
void batch_writer::write_messages(std::span<const storage_event* const> run) {
    constexpr int columns = 7;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> added;
    while (!run.empty()) {
        auto& chunk = *std::find_if(insert_messages_.begin(), insert_messages_.end(),
                                    [&](const bulk_insert& b) { return b.rows <= run.size(); });
        const auto rows = run.first(chunk.rows);
        run = run.subspan(chunk.rows);
        writing_ = rows.front();  // fault_hook: a chunk fails as its first event
        added.clear();
        {
            statement_use use(chunk.stmt);
            int param = 1;
            for (const storage_event* e : rows) {
                const auto& m = std::get<events::message_posted>(*e);
                use->bind_all_from(param, m.room_id, m.seq, m.author_id, m.client_msg_id, m.text, m.sent_at, m.reply_to);
                param += columns;
            }
            before("insert_message");
            while (use->step()) added.emplace_back(static_cast<std::uint32_t>(use->column_int(0)), use->column_u64(1));
        }
        std::sort(added.begin(), added.end());
        for (const storage_event* e : rows) {
            const auto& m = std::get<events::message_posted>(*e);
            if (!std::binary_search(added.begin(), added.end(), std::pair{m.room_id, m.seq})) {
                writing_ = e;
                if (stored(m.room_id, m.seq)) continue;
                log::warn(log::writer, "an event reuses a client id of its author; stored without it",
                          {{"room", m.room_id}, {"seq", m.seq}});
                insert_message_.bind_all(m.room_id, m.seq, m.author_id, std::uint64_t{0}, m.text, m.sent_at, m.reply_to);
                step(insert_message_, "insert_message");
            }
            bump(m.room_id, m.seq, m.sent_at);
        }
    }
}

// Each change's own row goes first: written again, it finds its row stored
// and applies nothing, so a replayed edit cannot undo a later one.
void batch_writer::write(const storage_event& e) {
    using namespace events;
    writing_ = &e;
    auto change = [this](auto room, auto seq, int kind, auto user, auto client, auto target, std::string_view text,
                         int reaction, bool added, std::uint32_t count, unix_ms at) {
        insert_change_.bind_all(room, seq, kind, user, client, target, text, reaction, added ? 1 : 0, count, at);
        return insert_once(insert_change_, "insert_change", room, seq, [&] {
            insert_change_.bind_all(room, seq, kind, user, std::uint64_t{0}, target, text, reaction, added ? 1 : 0,
                                    count, at);
        });
    };
    std::visit(
        [&](const auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, room_created>) {
                const room_settings& s = ev.settings;
                insert_room_.bind_all(ev.room_id, s.address, s.title, s.topic, static_cast<int>(s.kind), ev.direct_key,
                                      ev.created_by, ev.at);
                step(insert_room_, "insert_room");
            } else if constexpr (std::is_same_v<T, epoch_started>) {
                insert_epoch_.bind_all(ev.room_id, ev.epoch, ev.base_seq, ev.at);
                step(insert_epoch_, "insert_epoch");
            } else if constexpr (std::is_same_v<T, message_posted>) {
                const storage_event* one[] = {&e};
                write_messages(one);
            } else if constexpr (std::is_same_v<T, message_edited>) {
                if (!change(ev.room_id, ev.seq, 1, ev.user_id, ev.client_id, ev.message_seq, ev.text, 0, false, 0, ev.at))
                    return;
                edit_message_.bind_all(ev.text, ev.at, ev.room_id, ev.message_seq);
                step(edit_message_, "edit_message");
            } else if constexpr (std::is_same_v<T, message_deleted>) {
                if (!change(ev.room_id, ev.seq, 2, ev.user_id, ev.client_id, ev.message_seq, "", 0, false, 0, ev.at))
                    return;
                delete_message_.bind_all(ev.at, ev.user_id, ev.room_id, ev.message_seq);
                step(delete_message_, "delete_message");
                delete_reactions_.bind_all(ev.room_id, ev.message_seq);
                step(delete_reactions_, "delete_reactions");
            } else if constexpr (std::is_same_v<T, room_changed>) {
                write_room_event(ev);
            } else {
                if (!change(ev.room_id, ev.seq, 3, ev.user_id, ev.client_id, ev.message_seq, "",
                            static_cast<int>(ev.reaction), ev.added, ev.count, ev.at))
                    return;
                auto& s = ev.added ? add_reaction_ : remove_reaction_;
                s.bind_all(ev.room_id, ev.message_seq, static_cast<int>(ev.reaction), ev.user_id);
                step(s, ev.added ? "add_reaction" : "remove_reaction");
            }
        },
        e);
}

// The event, the membership rows it changed and the room's settings, in
// one transaction with the rest of the batch: a reader never sees a
// membership without the event that made it.
void batch_writer::write_room_event(const events::room_changed& ev) {
    auto bind = [&](std::uint64_t client_id) {
        insert_room_event_.bind_all(ev.room_id, ev.seq, ev.actor_id, client_id, ev.target_id, static_cast<int>(ev.action),
                                    static_cast<int>(ev.role), static_cast<int>(ev.kind), ev.text, ev.at);
    };
    bind(ev.client_id);
    if (!insert_once(insert_room_event_, "insert_room_event", ev.room_id, ev.seq, [&] { bind(0); })) return;
    for (const member_state& m : ev.members) {
        upsert_member_.bind_all(ev.room_id, m.user_id, static_cast<int>(m.status), static_cast<int>(m.role),
                                m.muted ? 1 : 0, m.invited_by, ev.seq);
        step(upsert_member_, "upsert_member");
    }
    if (ev.action == protocol::room_action::deleted) {
        delete_room_.bind_all(ev.at, ev.room_id);
        step(delete_room_, "delete_room");
    } else if (ev.settings) {
        const room_settings& s = *ev.settings;
        update_room_.bind_all(s.address, s.title, s.topic, static_cast<int>(s.kind), ev.room_id);
        step(update_room_, "update_room");
    }
    bump(ev.room_id, ev.seq, 0);
}

// Voids first, then watermarks: a room resets its members before any
// watermark covers the void, so no outbox entry is taken for saved.
void batch_writer::report(const std::vector<storage_event>& batch) {
    if (to_.voided)
        for (const auto& [room_id, seq] : voided_) to_.voided(room_id, seq);
    voided_.clear();
    std::map<std::uint32_t, std::uint64_t> highest;
    for (const auto& e : batch)
        if (const auto seq = sequence_of(e)) highest[seq->first] = std::max(highest[seq->first], seq->second);
    if (!to_.persisted) return;
    for (auto [room_id, seq] : highest) {
        if (auto hole = unstorable_.find(room_id); hole != unstorable_.end()) seq = std::min(seq, hole->second - 1);
        if (seq != 0) to_.persisted(room_id, seq);
    }
}

}  // namespace parley::server
