#include "server/store/database.hpp"

#include "server/core/bounds.hpp"

namespace parley::server {

bool sqlite_error::transient() const noexcept {
    switch (code_ & 0xFF) {
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

void check_sqlite(int rc, sqlite3* db, std::string_view what) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    std::string msg(what);
    msg += ": ";
    msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    throw sqlite_error(rc, msg);
}

// ---- statement --------------------------------------------------------------

statement::statement(sqlite3* db, std::string_view sql) {
    check_sqlite(sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                                    nullptr),
                 db, "prepare");
}

statement& statement::operator=(statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(stmt_);
        stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
}

statement::~statement() { sqlite3_finalize(stmt_); }

void statement::bind(int index, std::int64_t v) {
    check_sqlite(sqlite3_bind_int64(stmt_, index, v), sqlite3_db_handle(stmt_), "bind");
}

void statement::bind(int index, std::string_view v) {
    check_sqlite(sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT),
                 sqlite3_db_handle(stmt_), "bind");
}

void statement::bind_blob(int index, const void* data, std::size_t size) {
    check_sqlite(sqlite3_bind_blob(stmt_, index, data, static_cast<int>(size), SQLITE_TRANSIENT),
                 sqlite3_db_handle(stmt_), "bind");
}

void statement::bind(int index, std::nullptr_t) {
    check_sqlite(sqlite3_bind_null(stmt_, index), sqlite3_db_handle(stmt_), "bind");
}

bool statement::step() {
    const int rc = sqlite3_step(stmt_);
    check_sqlite(rc, sqlite3_db_handle(stmt_), "step");
    return rc == SQLITE_ROW;
}

void statement::run() {
    while (step()) {
    }
}

void statement::reset() noexcept {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string statement::column_text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
}

std::string statement::column_blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}


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

std::int64_t database::user_version() {
    statement s = prepare("PRAGMA user_version");
    s.step();
    return s.column_int(0);
}

}  // namespace parley::server
