#include "server/store/database.hpp"
#include "server/store/schema_upgrade.hpp"

#include "server/core/log.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace {

using namespace parley::server;
using parley::testing::temp_dir;
namespace fs = std::filesystem;

// 2026-12-04T14:00:00Z: backups in these tests are named at chosen times.
constexpr std::time_t t0 = 1796392800;

fs::path db_file(const temp_dir& d) { return d.path() / "parley.db"; }

int latest() { return embedded_migrations().back().version; }

// A database at schema `version`, holding one user, one room and two messages.
void make_database(const fs::path& file, std::size_t version) {
    database db(file.string(), database::mode::read_write);
    migrate(db, embedded_migrations().first(version));
    db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(1, 'ana', 'ana', 'x', 1)");
    db.exec("INSERT INTO rooms(id, name, created_by, created_at) VALUES(1, 'lobby', 1, 1)");
    db.exec("INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at) VALUES(1, 1, 1, 9, 'hi', 100)");
    db.exec("INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at) VALUES(1, 2, 1, 10, 'yo', 200)");
}

std::int64_t version_of(const fs::path& file) {
    database db(file.string(), database::mode::read_only);
    return db.user_version();
}

/// The names in `dir` that start with "parley.db.before-upgrade-".
std::set<std::string> upgrade_backups_in(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with("parley.db.before-upgrade-")) out.insert(e.path().filename().string());
    return out;
}

TEST(SchemaUpgrade, BackupNamesSayVersionsAndTime) {
    EXPECT_EQ(upgrade_backup_name("/var/lib/parley/parley.db", 6, 7, t0),
              fs::path("/var/lib/parley/parley.db.before-upgrade-v6-to-v7-20261204T140000Z"));
}

TEST(SchemaUpgrade, AnOlderDatabaseIsBackedUpBeforeItIsMigrated) {
    temp_dir dir;
    make_database(db_file(dir), 5);
    log::set_level(log_level::info);
    ::testing::internal::CaptureStderr();
    const auto report = upgrade_database(db_file(dir), embedded_migrations(), t0);
    const std::string logged = ::testing::internal::GetCapturedStderr();
    log::set_level(log_level::warn);

    EXPECT_EQ(report.from, 5);
    EXPECT_EQ(report.to, latest());
    EXPECT_EQ(version_of(db_file(dir)), latest());
    const fs::path expected = upgrade_backup_name(db_file(dir), 5, latest(), t0);
    ASSERT_EQ(report.backup, expected);
    ASSERT_TRUE(fs::is_regular_file(expected));
    EXPECT_NE(logged.find("backed up the database before upgrading its schema"), std::string::npos) << logged;
    EXPECT_NE(logged.find("database=" + db_file(dir).string()), std::string::npos) << logged;
    EXPECT_NE(logged.find(expected.string()), std::string::npos) << logged;

    // The copy is the database as it was: the old schema, the old rows.
    database copy(expected.string(), database::mode::read_only);
    EXPECT_EQ(copy.user_version(), 5);
    statement s = copy.prepare("SELECT text FROM messages ORDER BY seq");
    std::vector<std::string> texts;
    while (s.step()) texts.push_back(s.column_text(0));
    EXPECT_EQ(texts, (std::vector<std::string>{"hi", "yo"}));
    statement ok = copy.prepare("PRAGMA integrity_check");
    ASSERT_TRUE(ok.step());
    EXPECT_EQ(ok.column_text(0), "ok");
}

TEST(SchemaUpgrade, ANewDatabaseAndACurrentOneGetNoBackup) {
    temp_dir dir;
    const auto created = upgrade_database(db_file(dir), embedded_migrations(), t0);
    EXPECT_EQ(created.from, 0);
    EXPECT_TRUE(created.backup.empty());
    const auto reopened = upgrade_database(db_file(dir), embedded_migrations(), t0 + 60);
    EXPECT_EQ(reopened.from, latest());
    EXPECT_TRUE(reopened.backup.empty());
    EXPECT_TRUE(upgrade_backups_in(dir.path()).empty());
}

// Each upgrade adds one copy; only the newest three stay, and nothing else
// in the directory is touched.
TEST(SchemaUpgrade, OnlyTheNewestThreeAutomaticBackupsRemain) {
    temp_dir dir;
    make_database(db_file(dir), 1);
    const std::vector<std::string> others = {"parley.db.before-restore-20200101T000000Z",
                                             "parley.db.before-upgrade-v1-to-v2-mine", "other.db.before-upgrade-v1-to-v2-20200101T000000Z"};
    for (const auto& name : others) std::ofstream(dir.path() / name) << "keep me";
    const auto all = embedded_migrations();
    ASSERT_GE(all.size(), 5u);
    for (std::size_t v = 2; v <= all.size(); ++v) {
        const auto report = upgrade_database(db_file(dir), all.first(v), t0 + static_cast<std::time_t>(v) * 3600);
        EXPECT_EQ(report.from, static_cast<int>(v) - 1);
        EXPECT_FALSE(report.backup.empty());
    }
    std::set<std::string> expected;
    for (int v = latest() - 3; v < latest(); ++v)
        expected.insert(upgrade_backup_name(db_file(dir), v, v + 1, t0 + static_cast<std::time_t>(v + 1) * 3600)
                            .filename()
                            .string());
    expected.insert("parley.db.before-upgrade-v1-to-v2-mine");
    EXPECT_EQ(upgrade_backups_in(dir.path()), expected);
    for (const auto& name : others) EXPECT_TRUE(fs::exists(dir.path() / name)) << name;
    for (const auto& name : expected)
        if (!name.ends_with("mine")) {
            EXPECT_EQ(version_of(dir.path() / name), std::stoi(name.substr(name.find("-v") + 2)));
        }
}

// Age is the time in the name, not the versions: a backup from a downgrade
// and a second upgrade is still the oldest when its time is.
TEST(SchemaUpgrade, PruningGoesByTheTimeInTheName) {
    temp_dir dir;
    const fs::path db = db_file(dir);
    const fs::path oldest = upgrade_backup_name(db, 6, 7, t0);
    for (const auto& f : {oldest, upgrade_backup_name(db, 1, 2, t0 + 10), upgrade_backup_name(db, 2, 3, t0 + 20),
                          upgrade_backup_name(db, 3, 4, t0 + 30)})
        std::ofstream(f) << "x";
    const auto removed = prune_upgrade_backups(db);
    EXPECT_EQ(removed, std::vector<fs::path>{oldest});
    EXPECT_FALSE(fs::exists(oldest));
    EXPECT_EQ(upgrade_backups_in(dir.path()).size(), 3u);
}

TEST(SchemaUpgrade, AFailedBackupMigratesNothing) {
    temp_dir dir;
    make_database(db_file(dir), 5);
    // The name the backup would take is already used.
    std::ofstream(upgrade_backup_name(db_file(dir), 5, latest(), t0)) << "not a database";
    try {
        upgrade_database(db_file(dir), embedded_migrations(), t0);
        FAIL() << "the database was migrated without a backup";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot back up"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("nothing was migrated"), std::string::npos) << e.what();
    }
    EXPECT_EQ(version_of(db_file(dir)), 5);
}

TEST(SchemaUpgrade, TheServerBacksUpAnOlderDatabaseWhenItStarts) {
    temp_dir dir;
    make_database(db_file(dir), 5);
    { parley::testing::test_server srv(dir.path()); }
    const auto found = upgrade_backups_in(dir.path());
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(found.begin()->starts_with("parley.db.before-upgrade-v5-to-v" + std::to_string(latest()) + "-"))
        << *found.begin();
    EXPECT_EQ(version_of(dir.path() / *found.begin()), 5);
    EXPECT_EQ(version_of(db_file(dir)), latest());
}

// A database that fails the integrity check cannot be backed up: the server
// refuses to start and leaves it at its old version.
TEST(SchemaUpgrade, TheServerRefusesToStartWhenTheBackupFails) {
    temp_dir dir;
    make_database(db_file(dir), 5);
    std::int64_t page_size = 0, root = 0;
    {
        database db(db_file(dir).string(), database::mode::read_write);
        for (int i = 0; i < 200; ++i)
            db.exec("INSERT INTO messages(room_id, seq, author_id, client_msg_id, text, sent_at) VALUES(1, " +
                    std::to_string(10 + i) + ", 1, " + std::to_string(100 + i) + ", '" + std::string(200, 'x') + "', 1)");
        db.exec("PRAGMA journal_mode=DELETE");  // everything in the main file
        statement p = db.prepare("PRAGMA page_size");
        p.step();
        page_size = p.column_int(0);
        statement r = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'messages'");
        ASSERT_TRUE(r.step());
        root = r.column_int(0);
    }
    ASSERT_GT(root, 1);
    {
        std::fstream f(db_file(dir), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp((root - 1) * page_size);
        const std::string garbage(static_cast<std::size_t>(page_size), '\xff');
        f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    try {
        parley::testing::test_server srv(dir.path());
        FAIL() << "the server started on a database it could not back up";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot back up"), std::string::npos) << e.what();
    }
    EXPECT_EQ(version_of(db_file(dir)), 5);
    EXPECT_TRUE(upgrade_backups_in(dir.path()).empty());
}

}  // namespace
