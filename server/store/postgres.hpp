// The PostgreSQL driver of the SQL interface (server/store/sql.hpp), on
// libpq's synchronous calls: it runs only on the store's own threads (the
// batch writer, the reader pool, accounts on the blocking pool), never on an
// I/O thread.
//
// Statements are prepared on the server the first time they run on a
// connection, and prepared again after a reconnect. Parameters and results
// travel in text form, so the server infers every parameter's type from the
// statement, as SQLite's affinity does.
//
// A lost connection is a transient db_error. Outside a transaction the next
// call reconnects; inside one, every call fails until the caller rolls back
// (the server has ended that transaction), so a retry starts over cleanly.
#pragma once

#include "server/store/sql.hpp"

#include <cstdint>
#include <string>
#include <string_view>

struct pg_conn;

namespace parley::server {

class pg_error : public db_error {
public:
    /// @param sqlstate the five-character SQLSTATE, or empty when the connection itself failed
    pg_error(std::string sqlstate, const std::string& what);
    const std::string& sqlstate() const noexcept { return sqlstate_; }

private:
    std::string sqlstate_;
};

class pg_connection final : public connection {
public:
    /// @param conninfo a libpq URL (postgresql://...) or keyword=value string
    pg_connection(const std::string& conninfo, store_url::access a);
    pg_connection(const pg_connection&) = delete;
    pg_connection& operator=(const pg_connection&) = delete;
    ~pg_connection() override;

    engine kind() const noexcept override { return engine::postgres; }
    void exec(std::string_view sql) override;
    statement prepare(std::string_view sql) override;
    /// BEGIN; `exclusive` also takes one advisory lock that every Parley
    /// process shares; `snapshot` is REPEATABLE READ READ ONLY.
    void begin(transaction t) override;
    void commit() override;
    void rollback() noexcept override;
    bool in_transaction() const noexcept override { return in_transaction_; }
    std::int64_t changes() const override { return changes_; }

    /// The open libpq connection, reconnecting first if it was lost outside
    /// a transaction. @throws pg_error (transient) when that fails
    pg_conn* live();
    /// Counts reconnects: a statement prepared under an older one prepares again.
    std::uint64_t generation() const noexcept { return generation_; }
    void set_changes(std::int64_t n) noexcept { changes_ = n; }
    std::string next_statement_name();

private:
    void connect();

    std::string conninfo_;
    store_url::access access_;
    pg_conn* conn_ = nullptr;
    std::uint64_t generation_ = 0;
    std::uint64_t statements_ = 0;
    std::int64_t changes_ = 0;
    bool in_transaction_ = false;
};

/// Portable SQL (sql.hpp) in PostgreSQL's spelling: `?N` becomes `$N`.
/// @param params set to the number of parameters the statement takes
std::string postgres_dialect(std::string_view sql, int* params = nullptr);

}  // namespace parley::server
