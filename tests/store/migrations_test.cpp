#include "server/store/database.hpp"
#include "server/store/migrations.hpp"

#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <array>

namespace {

using namespace parley::server;
using parley::testing::temp_dir;

std::string db_path(const temp_dir& d) { return (d.path() / "parley.db").string(); }

std::vector<std::string> columns(database& db, const std::string& table) {
    std::vector<std::string> out;
    statement s = db.prepare("SELECT name FROM pragma_table_info('" + table + "')");
    while (s.step()) out.push_back(s.column_text(0));
    return out;
}

TEST(Migrations, FromEmptyToLatest) {
    temp_dir dir;
    database db(db_path(dir), database::mode::read_write);
    const auto all = embedded_migrations();
    ASSERT_GE(all.size(), 2u);
    EXPECT_EQ(migrate(db), all.back().version);
    EXPECT_EQ(db.user_version(), all.back().version);
    for (const char* table : {"users", "sessions", "rooms", "messages", "reactions"})
        EXPECT_FALSE(columns(db, table).empty()) << table;
    EXPECT_EQ(migrate(db), all.back().version);  // idempotent
}

TEST(Migrations, FromEachEarlierVersionKeepingData) {
    const auto all = embedded_migrations();
    for (std::size_t from = 1; from < all.size(); ++from) {
        temp_dir dir;
        database db(db_path(dir), database::mode::read_write);
        migrate(db, all.first(from));
        ASSERT_EQ(db.user_version(), static_cast<std::int64_t>(from));
        db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(1, 'ana', 'ana', 'x', 1)");
        db.exec("INSERT INTO rooms(id, name, created_by, created_at) VALUES(1, 'lobby', 1, 1)");
        db.exec("INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at) VALUES(1, 1, 1, 9, 'hi', 100)");
        db.exec("INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at) VALUES(1, 2, 1, 10, 'yo', 200)");
        migrate(db);
        EXPECT_EQ(db.user_version(), all.back().version);
        statement s = db.prepare("SELECT COUNT(*) FROM messages");
        s.step();
        EXPECT_EQ(s.column_int(0), 2);
        // Version 2 back-fills the room's activity from messages written before it.
        if (from < 2) {
            statement r = db.prepare("SELECT last_seq, last_message_at FROM rooms WHERE id = 1");
            ASSERT_TRUE(r.step());
            EXPECT_EQ(r.column_int(0), 2);
            EXPECT_EQ(r.column_int(1), 200);
        }
    }
}

// Version 6: rooms from before it are public, their creators own them and
// everyone who wrote in one is a member; deleted messages name their author
// as who deleted them.
TEST(Migrations, EarlierRoomsBecomePublicWithTheirCreatorsAndWritersAsMembers) {
    const auto all = embedded_migrations();
    temp_dir dir;
    database db(db_path(dir), database::mode::read_write);
    migrate(db, all.first(5));
    for (int u = 1; u <= 3; ++u)
        db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(" + std::to_string(u) +
                ", 'u" + std::to_string(u) + "', 'u" + std::to_string(u) + "', 'x', 1)");
    db.exec("INSERT INTO rooms(id, name, created_by, created_at) VALUES(1, 'lobby', 1, 1)");
    db.exec("INSERT INTO rooms(id, name, created_by, created_at) VALUES(2, 'quiet', NULL, 1)");
    db.exec("INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at) VALUES(1, 1, 1, 9, 'hi', 100)");
    db.exec("INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at, deleted_at) "
            "VALUES(1, 2, 2, 10, '', 200, 300)");
    db.exec("INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at) VALUES(1, 3, 2, 11, 'yo', 400)");
    migrate(db);
    statement rooms = db.prepare("SELECT id, kind, title FROM rooms ORDER BY id");
    for (const auto& [id, title] : {std::pair{1, "lobby"}, std::pair{2, "quiet"}}) {
        ASSERT_TRUE(rooms.step());
        EXPECT_EQ(rooms.column_int(0), id);
        EXPECT_EQ(rooms.column_int(1), 0) << "public";
        EXPECT_EQ(rooms.column_text(2), title);
    }
    statement m = db.prepare("SELECT room_id, user_id, state, role FROM memberships ORDER BY room_id, user_id");
    std::vector<std::array<std::int64_t, 4>> rows;
    while (m.step()) rows.push_back({m.column_int(0), m.column_int(1), m.column_int(2), m.column_int(3)});
    EXPECT_EQ(rows, (std::vector<std::array<std::int64_t, 4>>{{1, 1, 0, 2}, {1, 2, 0, 0}}))
        << "u1 owns lobby, u2 wrote in it, u3 did neither; quiet has nobody";
    statement d = db.prepare("SELECT deleted_by FROM messages WHERE room_id = 1 AND seq = 2");
    ASSERT_TRUE(d.step());
    EXPECT_EQ(d.column_int(0), 2);
}

TEST(Migrations, NewerDatabaseIsRefusedWithAClearMessage) {
    temp_dir dir;
    database db(db_path(dir), database::mode::read_write);
    migrate(db);
    db.exec("PRAGMA user_version = 99");
    try {
        migrate(db);
        FAIL() << "a newer database was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer than this parley"), std::string::npos) << e.what();
    }
    EXPECT_EQ(db.user_version(), 99);
}

TEST(Migrations, AFailingMigrationRollsBackEntirely) {
    temp_dir dir;
    database db(db_path(dir), database::mode::read_write);
    const migration broken[] = {
        {1, "001_ok.sql", "CREATE TABLE a(x INTEGER);"},
        {2, "002_broken.sql", "CREATE TABLE b(y INTEGER); INSERT INTO nowhere VALUES(1);"},
    };
    EXPECT_THROW(migrate(db, broken), sqlite_error);
    EXPECT_EQ(db.user_version(), 1);       // the first one stays applied
    EXPECT_TRUE(columns(db, "b").empty());  // nothing of the second one remains
}

TEST(Migrations, ServerRefusesToStartOnANewerDatabase) {
    temp_dir dir;
    {
        database db(db_path(dir), database::mode::read_write);
        db.exec("PRAGMA user_version = 42");
    }
    EXPECT_THROW(parley::testing::test_server srv(dir.path()), std::runtime_error);
}

TEST(Migrations, DatabaseIsOpenedInWalModeWithForeignKeys) {
    temp_dir dir;
    database db(db_path(dir), database::mode::read_write);
    statement j = db.prepare("PRAGMA journal_mode");
    j.step();
    EXPECT_EQ(j.column_text(0), "wal");
    statement f = db.prepare("PRAGMA foreign_keys");
    f.step();
    EXPECT_EQ(f.column_int(0), 1);
    statement s = db.prepare("PRAGMA synchronous");
    s.step();
    EXPECT_EQ(s.column_int(0), 1);  // NORMAL
}

}  // namespace
