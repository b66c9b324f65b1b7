#include "server/store/database.hpp"
#include "server/store/backup.hpp"

#include "server/store/migrations.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <atomic>
#include <cstring>

namespace {

using namespace parley::server;
using parley::testing::temp_dir;

// Counts the integrity checks run on any connection opened while it lives:
// an auto extension puts a statement trace on every new connection.
class integrity_check_counter {
public:
    integrity_check_counter() {
        count_ = 0;
        sqlite3_auto_extension(reinterpret_cast<void (*)()>(&on_open));
    }
    ~integrity_check_counter() { sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(&on_open)); }
    int count() const { return count_; }

private:
    static int on_open(sqlite3* db, char**, const void*) {
        sqlite3_trace_v2(db, SQLITE_TRACE_STMT, &on_statement, nullptr);
        return SQLITE_OK;
    }
    static int on_statement(unsigned, void*, void*, void* sql) {
        if (std::strstr(static_cast<const char*>(sql), "integrity_check")) ++count_;
        return 0;
    }
    static inline std::atomic<int> count_{0};
};

// The copy is checked once, and the summary describes the file written.
TEST(Backup, ChecksTheCopyOnce) {
    temp_dir dir;
    const auto source = dir.path() / "parley.db";
    {
        database db(source.string(), database::mode::read_write);
        migrate(db);
        db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(1, 'ana', 'ana', 'x', 1)");
    }
    const auto destination = dir.path() / "copy.db";
    integrity_check_counter checks;
    auto made = backup_database(source, destination);
    ASSERT_TRUE(std::holds_alternative<database_summary>(made)) << std::get<backup_failure>(made).message;
    EXPECT_EQ(checks.count(), 1);
    const auto& summary = std::get<database_summary>(made);
    EXPECT_EQ(summary.users, 1);
    EXPECT_EQ(summary.schema_version, embedded_migrations().back().version);
    EXPECT_EQ(summary.bytes, std::filesystem::file_size(destination));
    EXPECT_FALSE(std::filesystem::exists(destination.string() + ".partial"));
}

}  // namespace
