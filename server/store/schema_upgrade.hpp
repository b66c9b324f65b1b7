// Opening a database for use: migrate it to this build's schema, and when
// that changes an existing database, keep a copy of it as it was first.
//
// Format. The copy sits beside the database and says what it holds and
// when it was taken:
//
//     parley.db.before-upgrade-v6-to-v7-20261204T140000Z
//
// (schema version 6, taken before migrating to 7, at 14:00:00 UTC). It is a
// whole, checked database (backup_database: online backup API, integrity
// check, fsync), restorable with `parley restore`.
//
// Algorithm. Read the schema version. A new database (version 0) has
// nothing to lose and a current one nothing to migrate: neither is copied.
// Otherwise back up, delete all but the newest max_upgrade_backups copies
// (by the time in their names; only files named as above), then migrate.
//
// Guarantees. No migration runs on a database that could not be copied: a
// failed backup throws before anything changed, and the server refuses to
// start. Pruning never touches a file that does not match the pattern, such
// as an operator's own backups or parley.db.before-restore-*.
#pragma once

#include "server/core/bounds.hpp"
#include "server/store/migrations.hpp"

#include <ctime>
#include <filesystem>
#include <span>
#include <vector>

namespace parley::server {

/// What upgrade_database found and did.
struct upgrade_report {
    int from = 0;                   ///< schema version found (0: a new database)
    int to = 0;                     ///< schema version now
    std::filesystem::path backup;   ///< the copy taken before migrating; empty if none
    std::vector<std::filesystem::path> removed;  ///< older automatic copies deleted
};

/** Opens (creating if missing) the database `file` and migrates it to the
 *  newest of `all`; an existing database at an older version is backed up
 *  beside it first, and one line says so in the log.
 *  @param now the time written in the backup's name
 *  @throws std::runtime_error if the backup fails (nothing was migrated) or
 *          the database is newer than `all`; sqlite_error if a migration fails */
upgrade_report upgrade_database(const std::filesystem::path& file,
                                std::span<const migration> all = embedded_migrations(),
                                std::time_t now = std::time(nullptr));

/// FILE.before-upgrade-vFROM-to-vTO-YYYYMMDDTHHMMSSZ, the time in UTC.
/** The same for any store: a SQLite file as above; PostgreSQL is migrated in
 *  place (its backups are the operator's pg_dump), safe with several nodes
 *  starting at once (migrations.hpp). */
upgrade_report upgrade_store(const store_url& store);

std::filesystem::path upgrade_backup_name(const std::filesystem::path& file, int from, int to, std::time_t when);

/** Deletes the automatic upgrade backups of `file` (the files named as
 *  upgrade_backup_name makes them, beside it) but the newest `keep`, by the
 *  time in their names.
 *  @return the files deleted */
std::vector<std::filesystem::path> prune_upgrade_backups(const std::filesystem::path& file,
                                                         std::size_t keep = bounds::max_upgrade_backups);

}  // namespace parley::server
