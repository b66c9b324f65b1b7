// Schema migrations: the numbered files in sql/ (SQLite) and sql/postgres/
// (PostgreSQL), embedded at build time and applied at start-up, each in its
// own transaction that also records its number: SQLite's PRAGMA
// user_version, PostgreSQL's parley_schema table. Both engines count the same
// versions: sql/postgres/ starts with 008_init.sql, the whole schema as of
// SQLite migration 8, and every later migration comes as a pair with one
// number. A database newer than this build is refused.
//
// Several nodes may start on one PostgreSQL at once: each migration runs in
// an exclusive transaction (one advisory lock for every Parley process) that
// reads the version again first, so each is applied exactly once.
#pragma once

#include "server/store/sql.hpp"

#include <span>
#include <string_view>

namespace parley::server {

struct migration {
    int version;
    std::string_view name;
    std::string_view sql;
};

/// Every migration in sql/, in order (generated source).
std::span<const migration> embedded_migrations();
/// Every migration in sql/postgres/, in order (generated source).
std::span<const migration> embedded_postgres_migrations();
/// The engine's migrations.
std::span<const migration> embedded_migrations(connection::engine e);

/// The version the database records (0 for an empty one).
int schema_version(connection& db);

/** Applies the migrations above the database's version.
 *  @return the resulting schema version
 *  @throws std::runtime_error if the database is newer than `all` knows,
 *          db_error if a migration fails (its transaction is rolled back) */
int migrate(connection& db, std::span<const migration> all);
/// The same with the engine's own migrations.
int migrate(connection& db);

}  // namespace parley::server
