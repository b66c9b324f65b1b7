// Backups of the live database and restores into a stopped server's data
// directory (`parley backup FILE`, `parley restore FILE`).
//
// A backup is SQLite's online backup API run in one step over a read
// transaction of the source: a consistent snapshot of every transaction
// committed before it began, while the server goes on writing (WAL mode
// lets writers continue beside a reader). It works from the server's
// process or from any other. The copy is written beside its destination,
// switched to a single self-contained file (no -wal), checked with
// PRAGMA integrity_check, flushed to disk and only then renamed into place,
// so FILE either does not exist or is a whole, checked database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>

namespace parley::server {

/// What a backup wrote, or what a file to restore holds.
struct database_summary {
    std::uintmax_t bytes = 0;
    int schema_version = 0;
    std::int64_t users = 0;
    std::int64_t rooms = 0;
    std::int64_t messages = 0;
};

/// Why a backup or a restore did nothing. Each leaves every file as it was.
struct backup_failure {
    std::string message;
};

/** Copies the database at `source` to `destination`, which must not exist.
 *  @return the copy's summary, or why nothing was written */
std::variant<database_summary, backup_failure> backup_database(const std::filesystem::path& source,
                                                               const std::filesystem::path& destination);

/** Checks that `file` is a Parley database this build can open: readable,
 *  integrity_check ok, schema version at most `newest_schema`. */
std::variant<database_summary, backup_failure> check_database(const std::filesystem::path& file, int newest_schema);

/// The data directory's lock: held by a running server for its whole life
/// (an flock on DIR/parley.lock, released by the kernel when the process
/// ends, however it ends), so that a second server or a restore cannot open
/// the same directory beside it.
class data_dir_lock {
public:
    /// Takes the lock, or says who holds it ("process 1234") through `holder`.
    static std::optional<data_dir_lock> try_acquire(const std::filesystem::path& data_dir, std::string& holder);
    data_dir_lock(data_dir_lock&& other) noexcept;
    data_dir_lock& operator=(data_dir_lock&& other) noexcept;
    ~data_dir_lock();

private:
    explicit data_dir_lock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

/** Replaces the database of `data_dir` with `file`, which check_database
 *  accepted: the current database (with its -wal and -shm) is kept as
 *  parley.db.before-restore-TIMESTAMP, the new one copied in beside it,
 *  flushed and renamed into place. The caller holds the data_dir_lock.
 *  @return the name the old database was kept under (empty if there was none) */
std::variant<std::filesystem::path, backup_failure> restore_database(const std::filesystem::path& file,
                                                                     const std::filesystem::path& data_dir);

}  // namespace parley::server
