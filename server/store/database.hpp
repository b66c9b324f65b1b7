// A thin RAII layer over SQLite: one class per handle, every result code
// checked in one place and turned into sqlite_error.
//
// Connections are opened the way Parley always uses them: WAL journal,
// synchronous=NORMAL (a commit survives a process crash; a power cut may lose
// the last transactions, never corrupt the file), foreign keys on, and a
// busy timeout so a reader or the other writer waits instead of failing.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace parley::server {

class sqlite_error : public std::runtime_error {
public:
    sqlite_error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    int code() const noexcept { return code_; }
    /// SQLITE_BUSY/LOCKED/FULL/IOERR...: worth retrying later, not a bug.
    bool transient() const noexcept;

private:
    int code_;
};

class statement {
public:
    statement() = default;
    statement(sqlite3* db, std::string_view sql);
    statement(statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
    statement& operator=(statement&& other) noexcept;
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    ~statement();

    /// Binds parameters 1..n in order (integers, strings, blobs as std::span, nullptr).
    template <class... Args>
    statement& bind_all(const Args&... args) {
        return bind_all_from(1, args...);
    }
    /// Binds parameters first, first+1, ... in order.
    template <class... Args>
    statement& bind_all_from(int first, const Args&... args) {
        int i = first - 1;
        (bind(++i, args), ...);
        return *this;
    }
    void bind(int index, std::int64_t v);
    void bind(int index, long long v) { bind(index, static_cast<std::int64_t>(v)); }
    void bind(int index, std::uint64_t v) { bind(index, static_cast<std::int64_t>(v)); }
    void bind(int index, std::uint32_t v) { bind(index, static_cast<std::int64_t>(v)); }
    void bind(int index, int v) { bind(index, static_cast<std::int64_t>(v)); }
    void bind(int index, std::string_view v);
    void bind(int index, const std::string& v) { bind(index, std::string_view(v)); }
    void bind(int index, const char* v) { bind(index, std::string_view(v)); }
    void bind_blob(int index, const void* data, std::size_t size);
    void bind(int index, std::nullptr_t);

    /// @return true when a row is available, false when done.
    bool step();
    /// Runs to completion (for statements that return no rows).
    void run();
    /// Resets for the next execution and clears bindings.
    void reset() noexcept;

    std::int64_t column_int(int col) const;
    std::uint64_t column_u64(int col) const { return static_cast<std::uint64_t>(column_int(col)); }
    std::string column_text(int col) const;
    std::string column_blob(int col) const;

private:
    sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when the scope ends, whatever happened in it.
class statement_use {
public:
    explicit statement_use(statement& s) : s_(s) {}
    ~statement_use() { s_.reset(); }
    statement* operator->() { return &s_; }
    statement& operator*() { return s_; }
    statement_use(const statement_use&) = delete;
    statement_use& operator=(const statement_use&) = delete;

private:
    statement& s_;
};

class database {
public:
    enum class mode { read_write, read_only };

    database(const std::string& path, mode m);
    database(database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    database(const database&) = delete;
    database& operator=(const database&) = delete;
    ~database();

    void exec(std::string_view sql);
    statement prepare(std::string_view sql) { return statement(db_, sql); }
    std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
    int changes() const { return sqlite3_changes(db_); }
    std::int64_t user_version();
    sqlite3* handle() const noexcept { return db_; }

private:
    sqlite3* db_ = nullptr;
};

/// Throws sqlite_error for any code but OK, ROW and DONE.
void check_sqlite(int rc, sqlite3* db, std::string_view what);

/// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back if it throws.
template <class F>
void with_transaction(database& db, F&& body) {
    db.exec("BEGIN IMMEDIATE");
    try {
        body();
        db.exec("COMMIT");
    } catch (...) {
        if (!sqlite3_get_autocommit(db.handle())) sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

}  // namespace parley::server
