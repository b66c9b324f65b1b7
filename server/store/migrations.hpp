// Schema migrations: the numbered files in sql/, embedded at build time and
// applied at start-up, each in its own transaction that also records its
// number in PRAGMA user_version. A database newer than this build is refused.
#pragma once

#include "server/store/database.hpp"

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

/** Applies the migrations above the database's user_version.
 *  @return the resulting schema version
 *  @throws std::runtime_error if the database is newer than `all` knows,
 *          sqlite_error if a migration fails (its transaction is rolled back) */
int migrate(database& db, std::span<const migration> all = embedded_migrations());

}  // namespace parley::server
