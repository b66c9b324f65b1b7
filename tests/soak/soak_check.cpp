#include "tests/soak/soak_check.hpp"

#include "server/store/database.hpp"

#include <map>
#include <set>
#include <tuple>

namespace parley::soak {
using parley::server::database;
using parley::server::statement;
using protocol::packet_kind;

namespace {

struct db_message {
    std::uint64_t author_id = 0, client_msg_id = 0, edited_at = 0;
    std::string text;
    bool deleted = false;
    std::array<std::uint32_t, protocol::reaction_kind_count> reactions{};
};

struct db_change {
    int kind = 0;
    std::uint64_t user_id = 0, client_id = 0;
};

struct db_room {
    std::uint32_t id = 0;
    std::map<std::uint64_t, db_message> messages;  // by seq
    std::map<std::uint64_t, db_change> changes;    // by seq
};

struct db_snapshot {
    std::map<std::string, db_room> rooms;  // by name
    std::map<std::tuple<std::uint32_t, std::uint64_t, std::uint64_t>, int> message_ids;  // (room, author, cmid)
};

db_snapshot load(database& db) {
    db_snapshot s;
    std::map<std::uint32_t, db_room*> by_id;
    for (statement q = db.prepare("SELECT id, name FROM rooms"); q.step();) {
        db_room& r = s.rooms[q.column_text(1)];
        r.id = static_cast<std::uint32_t>(q.column_int(0));
        by_id[r.id] = &r;
    }
    for (statement q = db.prepare("SELECT room_id, seq, author_id, client_msg_id, text, edited_at, deleted_at FROM messages");
         q.step();) {
        const auto room = static_cast<std::uint32_t>(q.column_int(0));
        by_id.at(room)->messages[q.column_u64(1)] = {q.column_u64(2), q.column_u64(3), q.column_u64(5),
                                                     q.column_text(4), q.column_int(6) != 0, {}};
        ++s.message_ids[{room, q.column_u64(2), q.column_u64(3)}];
    }
    for (statement q = db.prepare("SELECT room_id, seq, reaction, COUNT(*) FROM reactions GROUP BY 1, 2, 3"); q.step();) {
        auto& m = by_id.at(static_cast<std::uint32_t>(q.column_int(0)))->messages[q.column_u64(1)];
        m.reactions.at(static_cast<std::size_t>(q.column_int(2))) = static_cast<std::uint32_t>(q.column_int(3));
    }
    for (statement q = db.prepare("SELECT room_id, seq, kind, user_id, client_id FROM changes"); q.step();)
        by_id.at(static_cast<std::uint32_t>(q.column_int(0)))->changes[q.column_u64(1)] = {
            static_cast<int>(q.column_int(2)), q.column_u64(3), q.column_u64(4)};
    return s;
}

void check_timelines(const db_snapshot& s, violation_log& v) {
    for (const auto& [name, r] : s.rooms) {
        std::uint64_t last = 0;
        if (!r.messages.empty()) last = r.messages.rbegin()->first;
        if (!r.changes.empty()) last = std::max(last, r.changes.rbegin()->first);
        for (std::uint64_t seq = 1; seq <= last; ++seq) {
            const bool message = r.messages.contains(seq);
            const auto change = r.changes.find(seq);
            if (message && change != r.changes.end())
                v.add("database: room " + name + " seq " + std::to_string(seq) + " is both a message and a change");
            else if (!message && change == r.changes.end())
                v.add("database: room " + name + " has no event at seq " + std::to_string(seq));
            else if (change != r.changes.end() && change->second.kind == 4)
                v.add("database: room " + name + " seq " + std::to_string(seq) + " is a void");
        }
    }
    for (const auto& [key, n] : s.message_ids) {
        const auto& [room, author, cmid] = key;
        if (cmid == 0) v.add("database: room " + std::to_string(room) + " holds " + std::to_string(n) +
                             " message(s) of user " + std::to_string(author) + " stored without a client id");
        else if (n > 1) v.add("database: message with client id " + std::to_string(cmid) + " of user " +
                              std::to_string(author) + " stored " + std::to_string(n) + " times");
    }
}

std::string differences(const view_message& seen, const db_message& stored) {
    std::string d;
    if (seen.author_id != stored.author_id) d += " author";
    if (seen.client_msg_id != stored.client_msg_id) d += " client id";
    if (seen.deleted != stored.deleted) d += seen.deleted ? " deleted (not on disk)" : " not deleted (deleted on disk)";
    if (seen.text != stored.text) d += " text '" + seen.text + "' vs '" + stored.text + "'";
    if (seen.edited_at != stored.edited_at) d += " edited_at";
    if (!seen.deleted && seen.reactions != stored.reactions) d += " reactions";
    return d;
}

void check_view(const soak_client& c, const std::string& room, const room_view& view, const db_room& stored,
                violation_log& v, check_counts& n) {
    const std::string who = "client " + std::to_string(c.index()) + " room " + room + ": ";
    ++n.views;
    for (const auto& [seq, seen] : view.messages()) {
        ++n.view_messages;
        auto it = stored.messages.find(seq);
        if (it == stored.messages.end()) {
            v.add(who + "phantom: message " + std::to_string(seq) + " '" + seen.text + "' is not in the database");
            continue;
        }
        if (auto d = differences(seen, it->second); !d.empty())
            v.add(who + "message " + std::to_string(seq) + " differs from the database:" + d);
    }
    for (auto it = stored.messages.lower_bound(view.complete_from()); it != stored.messages.end(); ++it)
        if (!view.messages().contains(it->first))
            v.add(who + "gap: message " + std::to_string(it->first) + " is in the database, not in the view (complete from " +
                  std::to_string(view.complete_from()) + ")");
}

void check_acked(const soak_client& c, const db_snapshot& s, violation_log& v, check_counts& n) {
    const std::string who = "client " + std::to_string(c.index()) + ": ";
    for (const auto& [cid, a] : c.acked()) {
        if (a.seq == 0) continue;
        ++n.acked;
        const db_room& r = s.rooms.at(a.room);
        const std::string what = who + std::string(protocol::kind_name(a.kind)) + " " + std::to_string(cid) +
                                 " (ack seq " + std::to_string(a.seq) + " in " + a.room + ")";
        if (a.kind == packet_kind::send_message) {
            auto count = s.message_ids.find({r.id, c.user_id(), cid});
            auto m = r.messages.find(a.seq);
            if (count == s.message_ids.end()) v.add(what + " is not in the database");
            else if (count->second != 1) v.add(what + " is in the database " + std::to_string(count->second) + " times");
            else if (m == r.messages.end() || m->second.client_msg_id != cid || m->second.author_id != c.user_id())
                v.add(what + " is in the database at another seq");
            else if (!m->second.deleted && m->second.edited_at == 0 && m->second.text != a.text)
                v.add(what + " has text '" + m->second.text + "' on disk, sent '" + a.text + "'");
            continue;
        }
        auto ch = r.changes.find(a.seq);
        if (ch == r.changes.end() || ch->second.client_id != cid || ch->second.user_id != c.user_id())
            v.add(what + " is not in the database at its seq");
    }
}

}  // namespace

check_counts check_database(const std::filesystem::path& db_path,
                            const std::vector<std::unique_ptr<soak_client>>& clients, violation_log& violations) {
    database db(db_path.string(), database::mode::read_only);
    const db_snapshot s = load(db);
    check_counts n;
    n.rooms = s.rooms.size();
    for (const auto& [name, r] : s.rooms) {
        n.messages += r.messages.size();
        n.changes += r.changes.size();
    }
    check_timelines(s, violations);
    for (const auto& c : clients) {
        for (const auto& room : c->rooms()) {
            auto stored = s.rooms.find(room);
            if (stored == s.rooms.end()) {
                violations.add("client " + std::to_string(c->index()) + ": room " + room + " is not in the database");
                continue;
            }
            check_view(*c, room, c->views().at(room), stored->second, violations, n);
        }
        check_acked(*c, s, violations, n);
    }
    return n;
}

}  // namespace parley::soak
