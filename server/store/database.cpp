#include "server/store/database.hpp"

#include "server/core/bounds.hpp"
#include "server/store/sql_text.hpp"

namespace parley::server {

bool sqlite_transient(int code) noexcept {
    switch (code & 0xFF) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_READONLY:
        case SQLITE_CANTOPEN:
        case SQLITE_PROTOCOL:
            return true;
        default:
            return false;
    }
}

namespace {

db_error::kind kind_of(int code) {
    if (sqlite_transient(code)) return db_error::kind::transient;
    return (code & 0xFF) == SQLITE_CONSTRAINT ? db_error::kind::constraint : db_error::kind::other;
}

}  // namespace

sqlite_error::sqlite_error(int code, const std::string& what)
    : db_error(kind_of(code), code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY, what),
      code_(code) {}

void check_sqlite(int rc, sqlite3* db, std::string_view what) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    std::string msg(what);
    msg += ": ";
    msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    throw sqlite_error(rc, msg);
}

// ---- statement --------------------------------------------------------------

namespace {

class sqlite_statement final : public statement_backend {
public:
    sqlite_statement(sqlite3* db, std::string_view sql) {
        check_sqlite(sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                        &stmt_, nullptr),
                     db, "prepare");
    }
    sqlite_statement(const sqlite_statement&) = delete;
    sqlite_statement& operator=(const sqlite_statement&) = delete;
    ~sqlite_statement() override { sqlite3_finalize(stmt_); }

    void bind(int index, std::int64_t v) override { check(sqlite3_bind_int64(stmt_, index, v)); }
    void bind(int index, std::string_view v) override {
        check(sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    }
    void bind_blob(int index, const void* data, std::size_t size) override {
        check(sqlite3_bind_blob(stmt_, index, data, static_cast<int>(size), SQLITE_TRANSIENT));
    }
    void bind_null(int index) override { check(sqlite3_bind_null(stmt_, index)); }

    bool step() override {
        const int rc = sqlite3_step(stmt_);
        check_sqlite(rc, sqlite3_db_handle(stmt_), "step");
        return rc == SQLITE_ROW;
    }
    void reset() noexcept override {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    std::int64_t column_int(int col) const override { return sqlite3_column_int64(stmt_, col); }
    std::string column_text(int col) const override {
        const auto* p = sqlite3_column_text(stmt_, col);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
                 : std::string();
    }
    std::string column_blob(int col) const override {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }
    bool column_is_null(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

private:
    void check(int rc) { check_sqlite(rc, sqlite3_db_handle(stmt_), "bind"); }

    sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

// ---- database ---------------------------------------------------------------

database::database(const std::string& path, mode m) {
    const int flags = (m == mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string msg = "open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
        sqlite3_close(db_);
        db_ = nullptr;
        throw sqlite_error(rc, msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, static_cast<int>(bounds::busy_timeout.count()));
    if (m == mode::read_write) {
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=NORMAL");
    }
    exec("PRAGMA foreign_keys=ON");
}

database::~database() { sqlite3_close(db_); }

void database::exec(std::string_view sql) {
    char* err = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = "exec: " + std::string(err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        throw sqlite_error(rc, msg);
    }
}

statement database::prepare(std::string_view sql) {
    return statement(std::make_unique<sqlite_statement>(db_, sqlite_dialect(sql)));
}

void database::begin(transaction t) { exec(t == transaction::snapshot ? "BEGIN" : "BEGIN IMMEDIATE"); }

void database::rollback() noexcept { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

std::int64_t database::user_version() {
    statement s = prepare("PRAGMA user_version");
    s.step();
    return s.column_int(0);
}

std::string sqlite_dialect(std::string_view sql) {
    return rewrite_sql(sql, [](std::string_view word, std::string& out) {
        if (!iequals(word, "GREATEST")) return false;
        out += "MAX";
        return true;
    }, nullptr);
}

}  // namespace parley::server
