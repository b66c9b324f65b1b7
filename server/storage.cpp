#include "server/storage.hpp"

#include "server/log.hpp"

#include <boost/asio/post.hpp>

namespace parley::server {

std::vector<stored_room> load_rooms(database& db) {
    std::vector<stored_room> rooms;
    statement s = db.prepare(
        "SELECT id, name, COALESCE((SELECT MAX(seq) FROM messages WHERE messages.room_id = rooms.id), 0), "
        "COALESCE(created_by, 0) FROM rooms ORDER BY id");
    while (s.step())
        rooms.push_back({static_cast<std::uint32_t>(s.column_int(0)), s.column_text(1), s.column_u64(2), s.column_u64(3)});
    return rooms;
}

namespace {

void read_into(statement& messages, statement& reactions, std::uint32_t room_id, std::uint64_t from, std::uint64_t to,
               std::vector<message_state>& out) {
    statement_use m(messages);
    m->bind_all(room_id, from, to);
    while (m->step()) {
        message_state s;
        auto& r = s.record;
        r.seq = m->column_u64(0);
        r.author_id = m->column_u64(1);
        r.author = m->column_text(2);
        r.client_msg_id = m->column_u64(3);
        r.sent_at = m->column_u64(4);
        r.edited_at = m->column_u64(5);
        r.reply_to = m->column_u64(6);
        r.deleted = m->column_int(7) != 0;
        r.text = m->column_text(8);
        out.push_back(std::move(s));
    }
    statement_use r(reactions);
    r->bind_all(room_id, from, to);
    auto it = out.begin();
    while (r->step()) {
        const std::uint64_t seq = r->column_u64(0);
        while (it != out.end() && it->record.seq < seq) ++it;
        if (it == out.end()) break;
        if (it->record.seq == seq)
            it->reactors.emplace_back(static_cast<protocol::reaction_kind>(r->column_int(1)), r->column_u64(2));
    }
}

constexpr const char* select_messages =
    "SELECT m.seq, m.author_id, u.username, m.client_msg_id, m.sent_at, m.edited_at, m.reply_to, m.deleted_at, m.text "
    "FROM messages m JOIN users u ON u.id = m.author_id WHERE m.room_id = ? AND m.seq BETWEEN ? AND ? ORDER BY m.seq";
constexpr const char* select_reactions =
    "SELECT seq, reaction, user_id FROM reactions WHERE room_id = ? AND seq BETWEEN ? AND ? "
    "ORDER BY seq, reaction, user_id";

}  // namespace

std::vector<message_state> read_messages(database& db, std::uint32_t room_id, std::uint64_t from, std::uint64_t to) {
    statement messages = db.prepare(select_messages);
    statement reactions = db.prepare(select_reactions);
    std::vector<message_state> out;
    read_into(messages, reactions, room_id, from, to, out);
    return out;
}

struct sqlite_store::reader {
    explicit reader(const std::string& path)
        : db(path, database::mode::read_only),
          messages(db.prepare(select_messages)),
          reactions(db.prepare(select_reactions)),
          client_message(db.prepare("SELECT room_id, seq, sent_at FROM messages WHERE author_id = ? AND client_msg_id = ?")) {}
    database db;
    statement messages, reactions, client_message;
};

sqlite_store::sqlite_store(std::string db_path, std::size_t threads) : path_(std::move(db_path)), pool_(threads) {}

sqlite_store::~sqlite_store() { stop(); }

void sqlite_store::stop() { pool_.join(); }

template <class F>
void sqlite_store::with_reader(F&& f) {
    boost::asio::post(pool_, [this, f = std::forward<F>(f)]() mutable {
        std::unique_ptr<reader> r;
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                r = std::move(idle_.back());
                idle_.pop_back();
            }
        }
        try {
            if (!r) r = std::make_unique<reader>(path_);
            f(*r);
        } catch (const std::exception& e) {
            log::error("storage read failed: ", e.what());
            f.fail();
            r.reset();  // a broken connection is not reused
        }
        if (r) {
            std::lock_guard lock(mutex_);
            idle_.push_back(std::move(r));
        }
    });
}

void sqlite_store::read_range(std::uint32_t room_id, std::uint64_t from, std::uint64_t to, states_handler done) {
    struct job {
        std::uint32_t room_id;
        std::uint64_t from, to;
        states_handler done;
        void operator()(reader& r) {
            std::vector<message_state> out;
            read_into(r.messages, r.reactions, room_id, from, to, out);
            done(std::move(out));
        }
        void fail() { done({}); }
    };
    with_reader(job{room_id, from, to, std::move(done)});
}

void sqlite_store::find_client_message(std::uint64_t author_id, std::uint64_t client_msg_id,
                                       std::function<void(std::optional<stored_ack>)> done) {
    struct job {
        std::uint64_t author_id, client_msg_id;
        std::function<void(std::optional<stored_ack>)> done;
        void operator()(reader& r) {
            statement_use s(r.client_message);
            s->bind_all(author_id, client_msg_id);
            std::optional<stored_ack> found;
            if (s->step()) found = stored_ack{static_cast<std::uint32_t>(s->column_int(0)), s->column_u64(1), s->column_int(2)};
            done(found);
        }
        void fail() { done(std::nullopt); }
    };
    with_reader(job{author_id, client_msg_id, std::move(done)});
}

}  // namespace parley::server
