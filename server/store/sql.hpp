// One SQL interface over two engines: SQLite (one node, the default) and
// PostgreSQL (any number of nodes). Everything above this header (the batch
// writer, the timeline reads, the room catalog, accounts, migrations) is
// written once, against `connection` and `statement`.
//
// PORTABLE SQL
// Statements are written once, in the subset both engines run, and each
// driver rewrites the two spellings that differ, outside string literals:
// - parameters are `?` (the next number) or `?N`; PostgreSQL gets `$N`;
// - `GREATEST(a, b)` is two-argument; SQLite gets its scalar `MAX(a, b)`.
// Beyond that: no `INSERT OR ...` (use `ON CONFLICT ... DO NOTHING/UPDATE`,
// which both run), no boolean-valued columns or parameters (flags are
// integers 0/1: write `? != 0`, `CASE WHEN ... THEN 1 ELSE 0 END`), new ids
// come back with `RETURNING id`, and a parameter whose type the statement
// does not fix (a bare `SELECT ?`) is cast: `CAST(? AS BIGINT)`.
//
// ERRORS
// Every failure is a db_error that says whether it is worth retrying (the
// database is busy, full, restarting or unreachable) or a constraint held
// (a unique key), whatever the engine.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace parley::server {

class db_error : public std::runtime_error {
public:
    enum class kind : std::uint8_t {
        transient,   ///< busy, locked, full, I/O, connection lost: retry later
        constraint,  ///< a UNIQUE, FOREIGN KEY, NOT NULL or CHECK constraint refused the row
        other,       ///< anything else: a bug, or a schema that does not match
    };
    db_error(kind k, bool unique, const std::string& what) : std::runtime_error(what), kind_(k), unique_(unique) {}

    bool transient() const noexcept { return kind_ == kind::transient; }
    bool constraint() const noexcept { return kind_ == kind::constraint; }
    /// A UNIQUE or PRIMARY KEY constraint, in particular.
    bool unique_violation() const noexcept { return unique_; }

private:
    kind kind_;
    bool unique_;
};

/// What a driver does for a statement; `statement` is the handle code uses.
class statement_backend {
public:
    virtual ~statement_backend() = default;
    virtual void bind(int index, std::int64_t v) = 0;
    virtual void bind(int index, std::string_view text) = 0;
    virtual void bind_blob(int index, const void* data, std::size_t size) = 0;
    virtual void bind_null(int index) = 0;
    /// Executes on the first call after a reset; @return true while a row is available
    virtual bool step() = 0;
    virtual void reset() noexcept = 0;
    virtual std::int64_t column_int(int col) const = 0;
    virtual std::string column_text(int col) const = 0;
    virtual std::string column_blob(int col) const = 0;
    virtual bool column_is_null(int col) const = 0;
};

class statement {
public:
    statement() = default;
    explicit statement(std::unique_ptr<statement_backend> impl) : impl_(std::move(impl)) {}

    /// Binds parameters 1..n in order (integers, strings, nullptr).
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
    void bind(int index, std::int64_t v) { impl_->bind(index, v); }
    void bind(int index, long long v) { bind(index, static_cast<std::int64_t>(v)); }
    void bind(int index, std::uint64_t v) { bind(index, static_cast<std::int64_t>(v)); }
    void bind(int index, std::uint32_t v) { bind(index, static_cast<std::int64_t>(v)); }
    void bind(int index, int v) { bind(index, static_cast<std::int64_t>(v)); }
    void bind(int index, bool v) { bind(index, std::int64_t{v ? 1 : 0}); }
    void bind(int index, std::string_view v) { impl_->bind(index, v); }
    void bind(int index, const std::string& v) { bind(index, std::string_view(v)); }
    void bind(int index, const char* v) { bind(index, std::string_view(v)); }
    void bind_blob(int index, const void* data, std::size_t size) { impl_->bind_blob(index, data, size); }
    void bind(int index, std::nullptr_t) { impl_->bind_null(index); }

    /// @return true when a row is available, false when done.
    bool step() { return impl_->step(); }
    /// Runs to completion (for statements that return no rows).
    void run() {
        while (step()) {
        }
    }
    /// Resets for the next execution and clears bindings.
    void reset() noexcept { impl_->reset(); }

    std::int64_t column_int(int col) const { return impl_->column_int(col); }
    std::uint64_t column_u64(int col) const { return static_cast<std::uint64_t>(column_int(col)); }
    std::string column_text(int col) const { return impl_->column_text(col); }
    std::string column_blob(int col) const { return impl_->column_blob(col); }
    bool column_is_null(int col) const { return impl_->column_is_null(col); }

    explicit operator bool() const noexcept { return impl_ != nullptr; }

private:
    std::unique_ptr<statement_backend> impl_;
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

/// One connection to one database, used by one thread at a time.
class connection {
public:
    enum class engine : std::uint8_t { sqlite, postgres };
    enum class transaction : std::uint8_t {
        write,      ///< a read-write transaction
        exclusive,  ///< read-write, and no other exclusive one of any process runs at once
        snapshot,   ///< read-only; every statement inside sees the same state
    };

    virtual ~connection() = default;
    virtual engine kind() const noexcept = 0;
    /// Runs SQL text without parameters (one statement or several).
    virtual void exec(std::string_view sql) = 0;
    /// A prepared statement from portable SQL (see the top of this file).
    virtual statement prepare(std::string_view sql) = 0;
    virtual void begin(transaction t) = 0;
    virtual void commit() = 0;
    virtual void rollback() noexcept = 0;
    virtual bool in_transaction() const noexcept = 0;
    /// Rows the last INSERT, UPDATE or DELETE changed.
    virtual std::int64_t changes() const = 0;
};

/// Runs `body` inside a transaction, rolling back if it throws.
template <class F>
void with_transaction(connection& db, F&& body, connection::transaction t = connection::transaction::write) {
    db.begin(t);
    try {
        body();
        db.commit();
    } catch (...) {
        if (db.in_transaction()) db.rollback();
        throw;
    }
}

/// Where the store lives: `sqlite:PATH` or `postgres:URL` (--store).
struct store_url {
    using engine = connection::engine;
    enum class access : std::uint8_t { read_write, read_only };

    engine kind = engine::sqlite;
    std::string target;  ///< the file, or the libpq connection string

    store_url() = default;
    /// A SQLite file (tests and tools that only ever know a path).
    store_url(std::string sqlite_path) : target(std::move(sqlite_path)) {}  // NOLINT(google-explicit-constructor)
    store_url(engine k, std::string t) : kind(k), target(std::move(t)) {}

    /// Parses `sqlite:PATH`, `postgres:URL`, `postgresql://...`; @throws std::invalid_argument
    static store_url parse(std::string_view text);
    /// The form an operator reads in logs: a PostgreSQL password is masked.
    std::string describe() const;
    std::unique_ptr<connection> open(access a) const;
};

}  // namespace parley::server
