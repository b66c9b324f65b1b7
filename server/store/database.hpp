// The SQLite driver of the SQL interface (server/store/sql.hpp): one class
// per handle, every result code checked in one place and turned into
// sqlite_error.
//
// Connections are opened the way Parley always uses them: WAL journal,
// synchronous=NORMAL (a commit survives a process crash; a power cut may lose
// the last transactions, never corrupt the file), foreign keys on, and a
// busy timeout so a reader or the other writer waits instead of failing.
#pragma once

#include "server/store/sql.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace parley::server {

class sqlite_error : public db_error {
public:
    sqlite_error(int code, const std::string& what);
    int code() const noexcept { return code_; }

private:
    int code_;
};

/// SQLITE_BUSY/LOCKED/FULL/IOERR...: worth retrying later, not a bug.
bool sqlite_transient(int code) noexcept;

class database final : public connection {
public:
    enum class mode { read_write, read_only };

    database(const std::string& path, mode m);
    database(database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    database(const database&) = delete;
    database& operator=(const database&) = delete;
    ~database() override;

    engine kind() const noexcept override { return engine::sqlite; }
    void exec(std::string_view sql) override;
    statement prepare(std::string_view sql) override;
    /// BEGIN IMMEDIATE for writes (SQLite has one writer: exclusive is the
    /// same), a deferred BEGIN for snapshots.
    void begin(transaction t) override;
    void commit() override { exec("COMMIT"); }
    void rollback() noexcept override;
    bool in_transaction() const noexcept override { return sqlite3_get_autocommit(db_) == 0; }
    std::int64_t changes() const override { return sqlite3_changes(db_); }

    std::int64_t user_version();
    sqlite3* handle() const noexcept { return db_; }

private:
    sqlite3* db_ = nullptr;
};

/// Throws sqlite_error for any code but OK, ROW and DONE.
void check_sqlite(int rc, sqlite3* db, std::string_view what);

/// Portable SQL (sql.hpp) in SQLite's spelling: `GREATEST(` becomes `MAX(`.
std::string sqlite_dialect(std::string_view sql);

}  // namespace parley::server
