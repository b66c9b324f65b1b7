#include "server/store/storage.hpp"

#include "server/core/bounds.hpp"
#include "server/core/log.hpp"
#include "server/store/database.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace parley::server {

namespace {

/// An integer column as an enum of `E`, or `fallback` if out of range.
template <class E>
E enum_column(statement& s, int column, E fallback) {
    const auto v = s.column_int(column);
    return v >= 0 && v < protocol::enum_count(E{}) ? static_cast<E>(v) : fallback;
}

member_status status_column(statement& s, int column) {
    const auto v = s.column_int(column);
    return v >= 0 && v <= 3 ? static_cast<member_status>(v) : member_status::gone;
}

/// A read transaction: the statements inside see one snapshot of the database.
class read_snapshot {
public:
    explicit read_snapshot(connection& db) : db_(db) { db_.begin(connection::transaction::snapshot); }
    ~read_snapshot() {
        try {
            db_.commit();
        } catch (const db_error&) {
            db_.rollback();  // nothing was written; the next read starts afresh
        }
    }
    read_snapshot(const read_snapshot&) = delete;
    read_snapshot& operator=(const read_snapshot&) = delete;

private:
    connection& db_;
};

constexpr const char* room_columns =
    "SELECT id, name, title, topic, kind, COALESCE(direct_key, ''), COALESCE(created_by, 0) FROM rooms ";
constexpr const char* last_seq_of_room =
    "GREATEST(COALESCE((SELECT MAX(seq) FROM messages WHERE messages.room_id = r.id), 0), "
    "COALESCE((SELECT MAX(seq) FROM changes WHERE changes.room_id = r.id), 0))";

}  // namespace

struct sql_catalog::sql {
    explicit sql(const store_url& store) : sql(store.open(store_url::access::read_only)) {}
    explicit sql(std::unique_ptr<connection> c)
        : owned(std::move(c)),
          db(*owned),
          by_address(db.prepare(std::string(room_columns) + "WHERE name = ? AND deleted_at = 0")),
          by_id(db.prepare(std::string(room_columns) + "WHERE id = ? AND deleted_at = 0")),
          by_direct(db.prepare(std::string(room_columns) + "WHERE direct_key = ? AND deleted_at = 0")),
          row(db.prepare("SELECT m.user_id, u.username, m.state, m.role, m.muted, m.invited_by, m.seq "
                         "FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.room_id = ? AND m.user_id = ?")),
          people(db.prepare("SELECT m.user_id, u.username, m.state, m.role, m.muted, m.invited_by, m.seq "
                            "FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.room_id = ?")),
          last_seq(db.prepare(std::string("SELECT ") + last_seq_of_room + " FROM rooms r WHERE r.id = ?")),
          entries(db.prepare(std::string("SELECT r.id, r.name, r.title, r.kind, m.role, m.muted, m.state, m.invited_by, "
                                         "COALESCE(i.username, ''), ") +
                             last_seq_of_room +
                             " FROM memberships m JOIN rooms r ON r.id = m.room_id "
                             "LEFT JOIN users i ON i.id = m.invited_by "
                             "WHERE m.user_id = ? AND m.state IN (0, 1) AND r.deleted_at = 0 ORDER BY r.id")),
          direct_people(db.prepare("SELECT p.room_id, p.user_id, u.username FROM memberships m "
                                   "JOIN rooms r ON r.id = m.room_id AND r.kind = 2 AND r.deleted_at = 0 "
                                   "JOIN memberships p ON p.room_id = m.room_id AND p.state = 0 "
                                   "JOIN users u ON u.id = p.user_id "
                                   "WHERE m.user_id = ? AND m.state IN (0, 1) ORDER BY p.room_id, p.user_id")),
          directory(db.prepare(std::string("SELECT r.id, r.name, r.title, ") + last_seq_of_room +
                               ", (SELECT COUNT(*) FROM memberships m WHERE m.room_id = r.id AND m.state = 0) "
                               "FROM rooms r WHERE r.kind = 0 AND r.deleted_at = 0 AND r.name > ? "
                               "ORDER BY r.name LIMIT ?")),
          max_id(db.prepare("SELECT COALESCE(MAX(id), 0) FROM rooms")) {}

    std::unique_ptr<connection> owned;
    connection& db;
    statement by_address, by_id, by_direct, row, people, last_seq, entries, direct_people, directory, max_id;
};

namespace {

member_state member_from_row(statement& s) {
    return {s.column_u64(0), s.column_text(1), status_column(s, 2), enum_column(s, 3, protocol::room_role::member),
            s.column_int(4) != 0, s.column_u64(5), s.column_u64(6)};
}

}  // namespace

sql_catalog::sql_catalog(const store_url& store) : sql_(std::make_unique<sql>(store)) {}
sql_catalog::~sql_catalog() = default;

std::optional<catalog_hit> sql_catalog::find(
    const room_key& key, std::uint64_t user_id, const std::function<bool(const stored_room&, const member_state*)>& load) {
    std::lock_guard lock(mutex_);
    read_snapshot snapshot(sql_->db);
    std::optional<catalog_hit> hit;
    {
        statement& s = key.what == room_key::by::address ? sql_->by_address
                       : key.what == room_key::by::id    ? sql_->by_id
                                                         : sql_->by_direct;
        statement_use q(s);
        if (key.what == room_key::by::id) q->bind_all(key.id);
        else q->bind_all(key.text);
        if (q->step()) {
            hit.emplace();
            stored_room& r = hit->room;
            r.id = static_cast<std::uint32_t>(q->column_int(0));
            r.settings = {q->column_text(1), q->column_text(2), q->column_text(3),
                          enum_column(*q, 4, protocol::room_kind::private_room)};
            r.direct_key = q->column_text(5);
            r.created_by = q->column_u64(6);
        }
    }
    {
        // Asked even when there is no room (of id 0, which none has): a miss
        // costs what a refusal does.
        statement_use q(sql_->row);
        q->bind_all(hit ? hit->room.id : 0u, user_id);
        if (q->step() && hit) hit->row = member_from_row(*q);
    }
    if (!hit || !load(hit->room, hit->row ? &*hit->row : nullptr)) return hit;
    {
        statement_use q(sql_->people);
        q->bind_all(hit->room.id);
        while (q->step()) hit->room.people.push_back(member_from_row(*q));
    }
    {
        statement_use q(sql_->last_seq);
        q->bind_all(hit->room.id);
        if (q->step()) hit->room.last_seq = q->column_u64(0);
    }
    hit->complete = true;
    return hit;
}

std::vector<protocol::room_entry> sql_catalog::rooms_of(std::uint64_t user_id) {
    std::lock_guard lock(mutex_);
    read_snapshot snapshot(sql_->db);
    std::vector<protocol::room_entry> out;
    {
        statement_use q(sql_->entries);
        q->bind_all(user_id);
        while (q->step()) {
            protocol::room_entry e{static_cast<std::uint32_t>(q->column_int(0)), q->column_text(1), q->column_text(2),
                                   enum_column(*q, 3, protocol::room_kind::private_room),
                                   enum_column(*q, 4, protocol::room_role::member), q->column_int(5) != 0,
                                   status_column(*q, 6) == member_status::invited};
            if (e.invited && q->column_u64(7) != 0) e.invited_by = {q->column_u64(7), q->column_text(8)};
            e.last_seq = q->column_u64(9);
            out.push_back(std::move(e));
        }
    }
    statement_use q(sql_->direct_people);
    q->bind_all(user_id);
    auto e = out.begin();
    while (q->step()) {
        const auto room_id = static_cast<std::uint32_t>(q->column_int(0));
        while (e != out.end() && e->room_id < room_id) ++e;
        if (e == out.end()) break;
        if (e->room_id == room_id) e->people.push_back({q->column_u64(1), q->column_text(2)});
    }
    return out;
}

std::vector<directory_entry> sql_catalog::public_rooms(std::string_view after, std::size_t limit) {
    std::lock_guard lock(mutex_);
    read_snapshot snapshot(sql_->db);
    std::vector<directory_entry> out;
    statement_use q(sql_->directory);
    q->bind_all(after, static_cast<std::int64_t>(limit));
    while (q->step())
        out.push_back({static_cast<std::uint32_t>(q->column_int(0)), q->column_text(1), q->column_text(2), q->column_u64(3),
                       static_cast<std::size_t>(q->column_int(4)), 0});
    return out;
}

std::uint32_t sql_catalog::max_room_id() {
    std::lock_guard lock(mutex_);
    statement_use q(sql_->max_id);
    return q->step() ? static_cast<std::uint32_t>(q->column_int(0)) : 0;
}

namespace {

constexpr const char* message_columns =
    "SELECT m.seq, m.author_id, u.username, m.client_msg_id, m.sent_at, m.edited_at, m.reply_to, m.deleted_at, m.text, "
    "m.deleted_by "
    "FROM messages m JOIN users u ON u.id = m.author_id ";

message_state message_from_row(statement& s) {
    message_state state;
    auto& r = state.record;
    r.seq = s.column_u64(0);
    r.author_id = s.column_u64(1);
    r.author = s.column_text(2);
    r.client_msg_id = s.column_u64(3);
    r.sent_at = s.column_u64(4);
    r.edited_at = s.column_u64(5);
    r.reply_to = s.column_u64(6);
    r.deleted = s.column_int(7) != 0;
    r.text = s.column_text(8);
    r.deleted_by = s.column_u64(9);
    return state;
}

timeline_event change_from_row(statement& s) {
    timeline_event ev;
    ev.seq = s.column_u64(0);
    switch (s.column_int(1)) {
        case 1: ev.what = timeline_event::type::edited; break;
        case 2: ev.what = timeline_event::type::deleted; break;
        case 3: ev.what = timeline_event::type::reacted; break;
        case 5: ev.what = timeline_event::type::room; break;
        default: ev.what = timeline_event::type::voided; break;
    }
    ev.user_id = s.column_u64(2);
    ev.client_id = s.column_u64(3);
    ev.message_seq = s.column_u64(4);
    ev.text = s.column_text(5);
    ev.reaction = enum_column(s, 6, protocol::reaction_kind::like);
    ev.added = s.column_int(7) != 0;
    ev.count = static_cast<std::uint32_t>(s.column_int(8));
    ev.at = s.column_u64(9);
    ev.target_id = s.column_u64(10);
    ev.action = enum_column(s, 11, protocol::room_action::joined);
    ev.role = enum_column(s, 12, protocol::room_role::member);
    ev.room_kind = enum_column(s, 13, protocol::room_kind::private_room);
    return ev;
}

// Integers in both engines are signed: "up to the end" is its largest one.
std::uint64_t clamp_seq(std::uint64_t seq) {
    return std::min<std::uint64_t>(seq, static_cast<std::uint64_t>(INT64_MAX));
}

}  // namespace

timeline_reader::timeline_reader(connection& db, const step_fault* faults)
    : faults_(faults),
      messages_in_range_(db.prepare(std::string(message_columns) + "WHERE m.room_id = ? AND m.seq BETWEEN ? AND ? ORDER BY m.seq")),
      messages_before_(db.prepare(std::string(message_columns) + "WHERE m.room_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?")),
      reactions_(db.prepare("SELECT seq, reaction, user_id FROM reactions WHERE room_id = ? AND seq BETWEEN ? AND ? "
                            "ORDER BY seq, reaction, user_id")),
      changes_(db.prepare("SELECT seq, kind, user_id, client_id, message_seq, text, reaction, added, count, at, "
                          "target_id, action, role, room_kind "
                          "FROM changes WHERE room_id = ? AND seq BETWEEN ? AND ? ORDER BY seq")),
      client_op_(db.prepare("SELECT seq, sent_at FROM messages WHERE room_id = ?1 AND author_id = ?2 AND client_msg_id = ?3 "
                            "UNION ALL SELECT seq, at FROM changes WHERE room_id = ?1 AND user_id = ?2 AND client_id = ?3 "
                            "LIMIT 1")),
      epochs_(db.prepare("SELECT epoch, base_seq FROM room_epochs WHERE room_id = ? ORDER BY id DESC LIMIT ?")) {}

bool timeline_reader::step(statement& s, std::string_view name) {
    if (faults_ != nullptr && *faults_) check_sqlite((*faults_)(name), nullptr, name);
    return s.step();
}

void timeline_reader::add_reactions(std::uint32_t room_id, std::vector<message_state>& messages) {
    if (messages.empty()) return;
    statement_use r(reactions_);
    r->bind_all(room_id, messages.front().record.seq, messages.back().record.seq);
    auto it = messages.begin();
    while (step(*r, "reactions")) {
        const std::uint64_t seq = r->column_u64(0);
        while (it != messages.end() && it->record.seq < seq) ++it;
        if (it == messages.end()) break;
        if (it->record.seq == seq)
            it->reactors.emplace_back(static_cast<protocol::reaction_kind>(r->column_int(1)), r->column_u64(2));
    }
}

event_page timeline_reader::events(std::uint32_t room_id, std::uint64_t from, std::uint64_t to) {
    to = clamp_seq(to);
    event_page page;
    {
        statement_use m(messages_in_range_);
        m->bind_all(room_id, from, to);
        while (step(*m, "messages_in_range")) page.messages.push_back(message_from_row(*m));
    }
    add_reactions(room_id, page.messages);
    std::vector<timeline_event> changes;
    {
        statement_use c(changes_);
        c->bind_all(room_id, from, to);
        while (step(*c, "changes")) changes.push_back(change_from_row(*c));
    }
    // Merge the two by seq, filling holes with voids.
    auto m = page.messages.begin();
    auto c = changes.begin();
    for (std::uint64_t seq = from; m != page.messages.end() || c != changes.end(); ++seq) {
        if (m != page.messages.end() && m->record.seq == seq) {
            page.events.push_back({.seq = seq, .what = timeline_event::type::posted, .user_id = m->record.author_id,
                                   .client_id = m->record.client_msg_id, .at = m->record.sent_at});
            ++m;
        } else if (c != changes.end() && c->seq == seq) {
            page.events.push_back(std::move(*c));
            ++c;
        } else {
            page.events.push_back({.seq = seq, .what = timeline_event::type::voided});
        }
    }
    return page;
}

std::vector<message_state> timeline_reader::messages_before(std::uint32_t room_id, std::uint64_t before,
                                                            std::size_t limit) {
    std::vector<message_state> out;
    {
        statement_use m(messages_before_);
        m->bind_all(room_id, clamp_seq(before), static_cast<std::int64_t>(limit));
        while (step(*m, "messages_before")) out.push_back(message_from_row(*m));
    }
    std::reverse(out.begin(), out.end());
    add_reactions(room_id, out);
    return out;
}

std::optional<stored_ack> timeline_reader::client_op(std::uint32_t room_id, std::uint64_t user_id,
                                                     std::uint64_t client_id) {
    statement_use s(client_op_);
    s->bind_all(room_id, user_id, client_id);
    if (!step(*s, "client_op")) return std::nullopt;
    return stored_ack{s->column_u64(0), s->column_u64(1)};
}

std::vector<epoch_record> timeline_reader::epochs(std::uint32_t room_id) {
    std::vector<epoch_record> out;
    statement_use s(epochs_);
    s->bind_all(room_id, static_cast<std::int64_t>(bounds::max_loaded_epochs));
    while (step(*s, "epochs")) out.push_back({s->column_u64(0), s->column_u64(1)});
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
}

struct sql_store::reader {
    reader(const store_url& store, const timeline_reader::step_fault* faults)
        : db(store.open(store_url::access::read_only)), reads(*db, faults) {}
    std::unique_ptr<connection> db;
    timeline_reader reads;
};

sql_store::sql_store(store_url store, std::size_t threads) : store_(std::move(store)), pool_(threads) {}

sql_store::~sql_store() { stop(); }

void sql_store::stop() { pool_.join(); }

template <class T, class Read>
void sql_store::run(std::string_view name, Read read, handler<T> done) {
    boost::asio::post(pool_, [this, name, read = std::move(read), done = std::move(done)]() mutable {
        std::unique_ptr<reader> r;
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                r = std::move(idle_.back());
                idle_.pop_back();
            }
        }
        read_result<T> result;
        try {
            if (before_read) before_read(name);
            if (!r) r = std::make_unique<reader>(store_, &step_fault_hook);
            result.value = read(r->reads);
            result.ok = true;
        } catch (const std::exception& e) {
            log::error(log::store, "storage read failed", {{"read", name}, {"error", e.what()}});
            r.reset();  // a connection that failed is not reused
        }
        if (r) {
            std::lock_guard lock(mutex_);
            idle_.push_back(std::move(r));
        }
        done(std::move(result));
    });
}

void sql_store::read_events(std::uint32_t room_id, std::uint64_t from, std::uint64_t to, handler<event_page> done) {
    run<event_page>("events", [=](timeline_reader& r) { return r.events(room_id, from, to); }, std::move(done));
}

void sql_store::read_messages_before(std::uint32_t room_id, std::uint64_t before, std::size_t limit,
                                        handler<std::vector<message_state>> done) {
    run<std::vector<message_state>>(
        "messages_before", [=](timeline_reader& r) { return r.messages_before(room_id, before, limit); }, std::move(done));
}

void sql_store::find_client_op(std::uint32_t room_id, std::uint64_t user_id, std::uint64_t client_id,
                                  handler<std::optional<stored_ack>> done) {
    run<std::optional<stored_ack>>(
        "client_op", [=](timeline_reader& r) { return r.client_op(room_id, user_id, client_id); }, std::move(done));
}

void sql_store::read_snapshot(std::uint32_t room_id, std::uint64_t from, handler<room_snapshot> done) {
    run<room_snapshot>("snapshot", [=](timeline_reader& r) {
        return room_snapshot{r.epochs(room_id), r.events(room_id, from, UINT64_MAX)};
    }, std::move(done));
}

}  // namespace parley::server
