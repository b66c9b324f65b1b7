#include "server/batch_writer.hpp"

#include "server/log.hpp"

#include <map>

namespace parley::server {

batch_writer::batch_writer(const std::string& db_path, options opts, metrics& stats, persisted_handler on_persisted)
    : opts_(std::move(opts)),
      stats_(stats),
      on_persisted_(std::move(on_persisted)),
      db_(db_path, database::mode::read_write) {
    insert_room_ = db_.prepare("INSERT INTO rooms(id, name, created_by, created_at) VALUES(?, ?, ?, ?) "
                               "ON CONFLICT DO NOTHING");
    insert_message_ = db_.prepare(
        "INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at, reply_to) "
        "VALUES(?, ?, ?, ?, ?, ?, ?)");
    bump_room_ = db_.prepare("UPDATE rooms SET last_seq = MAX(last_seq, ?), last_message_at = MAX(last_message_at, ?) "
                             "WHERE id = ?");
    edit_message_ = db_.prepare("UPDATE messages SET text = ?, edited_at = ? WHERE room_id = ? AND seq = ?");
    delete_message_ = db_.prepare("UPDATE messages SET text = '', deleted_at = ? WHERE room_id = ? AND seq = ?");
    delete_reactions_ = db_.prepare("DELETE FROM reactions WHERE room_id = ? AND seq = ?");
    add_reaction_ = db_.prepare("INSERT OR IGNORE INTO reactions(room_id, seq, reaction, user_id) VALUES(?, ?, ?, ?)");
    remove_reaction_ = db_.prepare("DELETE FROM reactions WHERE room_id = ? AND seq = ? AND reaction = ? AND user_id = ?");
    stats_.writer_backlog = [this] { return static_cast<std::uint64_t>(backlog()); };
}

batch_writer::~batch_writer() {
    stop();
    stats_.writer_backlog = nullptr;
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

        auto backoff = std::chrono::milliseconds(50);
        const auto give_up_at = clock::now() + opts_.shutdown_patience;
        while (!commit(batch)) {
            lock.lock();
            const bool stopping = stopping_;
            lock.unlock();
            if (stopping && clock::now() >= give_up_at) {
                log::error("writer: giving up at shutdown; ", batch.size(), " events were not stored");
                break;
            }
            std::this_thread::sleep_for(backoff);
            backoff = std::min(backoff * 2, opts_.max_backoff);
        }
        lock.lock();
        in_flight_ = 0;
    }
}

// Returns false after a transient failure (the caller retries the batch).
bool batch_writer::commit(const std::vector<storage_event>& batch) {
    const auto started = clock::now();
    try {
        with_transaction(db_, [&] {
            for (const auto& e : batch) write(e);
        });
    } catch (const sqlite_error& e) {
        stats_.commit_failures.fetch_add(1, std::memory_order_relaxed);
        if (e.transient()) {
            log::warn("writer: commit of ", batch.size(), " events failed, will retry: ", e.what());
            return false;
        }
        log::warn("writer: commit of ", batch.size(), " events failed (", e.what(), "); retrying one by one");
        commit_one_by_one(batch);
        report_watermarks(batch);
        return true;
    }
    stats_.commit_latency.observe(clock::now() - started);
    stats_.commits.fetch_add(1, std::memory_order_relaxed);
    stats_.events_committed.fetch_add(batch.size(), std::memory_order_relaxed);
    report_watermarks(batch);
    return true;
}

void batch_writer::commit_one_by_one(const std::vector<storage_event>& batch) {
    for (const auto& e : batch) {
        for (auto backoff = std::chrono::milliseconds(50);; backoff = std::min(backoff * 2, opts_.max_backoff)) {
            try {
                with_transaction(db_, [&] { write(e); });
                stats_.commits.fetch_add(1, std::memory_order_relaxed);
                stats_.events_committed.fetch_add(1, std::memory_order_relaxed);
                break;
            } catch (const sqlite_error& err) {
                stats_.commit_failures.fetch_add(1, std::memory_order_relaxed);
                if (!err.transient()) {
                    log::error("writer: skipping an event that cannot be stored: ", err.what());
                    break;
                }
                std::this_thread::sleep_for(backoff);
            }
        }
    }
}

void batch_writer::step(statement& s, std::string_view name) {
    statement_use use(s);
    if (opts_.before_statement) opts_.before_statement(db_, name);
    use->run();
}

void batch_writer::write(const storage_event& e) {
    std::visit(
        [this](const auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, events::room_created>) {
                insert_room_.bind_all(ev.room_id, ev.name, ev.created_by, ev.at);
                step(insert_room_, "insert_room");
            } else if constexpr (std::is_same_v<T, events::message_posted>) {
                insert_message_.bind_all(ev.room_id, ev.seq, ev.author_id, ev.client_msg_id, ev.text, ev.sent_at,
                                         ev.reply_to);
                step(insert_message_, "insert_message");
                bump_room_.bind_all(ev.seq, ev.sent_at, ev.room_id);
                step(bump_room_, "bump_room");
            } else if constexpr (std::is_same_v<T, events::message_edited>) {
                edit_message_.bind_all(ev.text, ev.at, ev.room_id, ev.seq);
                step(edit_message_, "edit_message");
            } else if constexpr (std::is_same_v<T, events::message_deleted>) {
                delete_message_.bind_all(ev.at, ev.room_id, ev.seq);
                step(delete_message_, "delete_message");
                delete_reactions_.bind_all(ev.room_id, ev.seq);
                step(delete_reactions_, "delete_reactions");
            } else {
                auto& s = ev.added ? add_reaction_ : remove_reaction_;
                s.bind_all(ev.room_id, ev.seq, static_cast<int>(ev.reaction), ev.user_id);
                step(s, ev.added ? "add_reaction" : "remove_reaction");
            }
        },
        e);
}

void batch_writer::report_watermarks(const std::vector<storage_event>& batch) {
    std::map<std::uint32_t, std::uint64_t> highest;
    for (const auto& e : batch)
        if (const auto* m = std::get_if<events::message_posted>(&e)) highest[m->room_id] = std::max(highest[m->room_id], m->seq);
    if (!on_persisted_) return;
    for (const auto& [room_id, seq] : highest) on_persisted_(room_id, seq);
}

}  // namespace parley::server
