#include "server/store/backup.hpp"

#include "server/store/database.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>

namespace parley::server {
namespace {

namespace fs = std::filesystem;

backup_failure failure(std::string message) { return backup_failure{std::move(message)}; }

std::string errno_text() { return std::strerror(errno); }

// Flushes a file, or a directory's entries, to disk.
bool sync_path(const fs::path& p, bool directory) {
    const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

std::int64_t count_rows(database& db, std::string_view table) {
    auto s = db.prepare("SELECT count(*) FROM " + std::string(table));
    s.step();
    return s.column_int(0);
}

// integrity_check, then the counts an operator recognises.
std::variant<database_summary, backup_failure> summarize(database& db, const fs::path& file) {
    auto check = db.prepare("PRAGMA integrity_check");
    std::string verdict;
    while (check.step()) {
        if (!verdict.empty()) verdict += "; ";
        verdict += check.column_text(0);
        if (verdict.size() > 500) break;
    }
    if (verdict != "ok") return failure(file.string() + " fails the integrity check: " + verdict);
    database_summary s;
    s.schema_version = static_cast<int>(db.user_version());
    if (s.schema_version > 0) {
        s.users = count_rows(db, "users");
        s.rooms = count_rows(db, "rooms");
        s.messages = count_rows(db, "messages");
    }
    std::error_code ec;
    s.bytes = fs::file_size(file, ec);
    return s;
}

std::string timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
    return text;
}

}  // namespace

std::variant<database_summary, backup_failure> backup_database(const fs::path& source, const fs::path& destination) {
    std::error_code ec;
    if (!fs::is_regular_file(source, ec)) return failure("no database at " + source.string());
    if (fs::exists(destination, ec)) return failure(destination.string() + " exists; remove it or name another file");
    const fs::path partial = destination.string() + ".partial";
    fs::remove(partial, ec);
    database_summary summary;
    try {
        {
            database from(source.string(), database::mode::read_only);
            sqlite3* to = nullptr;
            if (sqlite3_open_v2(partial.c_str(), &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
                const std::string why = to ? sqlite3_errmsg(to) : "out of memory";
                sqlite3_close(to);
                return failure("cannot create " + partial.string() + ": " + why);
            }
            // One step copies every page under one read transaction: a
            // snapshot. A writer checkpointing at the same moment can make
            // the source busy for an instant; try again a few times.
            int rc = SQLITE_OK;
            for (int attempt = 0; attempt < 50; ++attempt) {
                sqlite3_backup* b = sqlite3_backup_init(to, "main", from.handle(), "main");
                if (!b) break;
                rc = sqlite3_backup_step(b, -1);
                sqlite3_backup_finish(b);
                if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            const int status = sqlite3_errcode(to);
            if (rc != SQLITE_DONE || (status != SQLITE_OK && status != SQLITE_DONE)) {
                const std::string why = rc != SQLITE_DONE ? sqlite3_errstr(rc) : sqlite3_errmsg(to);
                sqlite3_close(to);
                fs::remove(partial, ec);
                return failure("backup of " + source.string() + " failed: " + why);
            }
            // The copy keeps the source's WAL flag; make it one self-contained file.
            sqlite3_exec(to, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr);
            sqlite3_close(to);
        }
        // The one integrity check: the bytes checked here are the bytes
        // that get the destination's name (a hard link, below).
        database copy(partial.string(), database::mode::read_only);
        auto checked = summarize(copy, partial);
        if (auto* failed = std::get_if<backup_failure>(&checked)) {
            fs::remove(partial, ec);
            return *failed;
        }
        summary = std::get<database_summary>(checked);
    } catch (const std::exception& e) {
        fs::remove(partial, ec);
        return failure(std::string("backup failed: ") + e.what());
    }
    if (!sync_path(partial, false)) {
        fs::remove(partial, ec);
        return failure("cannot flush " + partial.string() + ": " + errno_text());
    }
    // link() instead of rename(): it fails if the destination appeared meanwhile.
    if (::link(partial.c_str(), destination.c_str()) != 0) {
        const std::string why = errno_text();
        fs::remove(partial, ec);
        return failure("cannot create " + destination.string() + ": " + why);
    }
    fs::remove(partial, ec);
    sync_path(destination.parent_path().empty() ? fs::path(".") : destination.parent_path(), true);
    return summary;
}

std::variant<database_summary, backup_failure> check_database(const fs::path& file, int newest_schema) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) return failure(file.string() + " is not a file");
    try {
        database db(file.string(), database::mode::read_only);
        auto s = summarize(db, file);
        if (auto* ok = std::get_if<database_summary>(&s)) {
            if (ok->schema_version == 0) return failure(file.string() + " is not a Parley database (no schema)");
            if (ok->schema_version > newest_schema)
                return failure(file.string() + " has schema version " + std::to_string(ok->schema_version) +
                               ", newer than this build's " + std::to_string(newest_schema) + "; use a newer parley");
        }
        return s;
    } catch (const std::exception& e) {
        return failure(file.string() + " is not a readable database: " + e.what());
    }
}

std::optional<data_dir_lock> data_dir_lock::try_acquire(const fs::path& data_dir, std::string& holder) {
    const fs::path path = data_dir / "parley.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        holder = "cannot open " + path.string() + ": " + errno_text();
        return std::nullopt;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char text[32] = {};
        const auto n = ::pread(fd, text, sizeof text - 1, 0);
        std::string pid(text, n > 0 ? static_cast<std::size_t>(n) : 0);
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        holder = pid.empty() ? "another process" : "process " + pid;
        ::close(fd);
        return std::nullopt;
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        // The pid is only for messages; the lock itself is held.
    }
    return data_dir_lock(fd);
}

data_dir_lock::data_dir_lock(data_dir_lock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

data_dir_lock& data_dir_lock::operator=(data_dir_lock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

data_dir_lock::~data_dir_lock() {
    if (fd_ >= 0) ::close(fd_);
}

std::variant<fs::path, backup_failure> restore_database(const fs::path& file, const fs::path& data_dir) {
    std::error_code ec;
    const fs::path live = data_dir / "parley.db";
    const fs::path incoming = data_dir / "parley.db.restoring";
    fs::remove(incoming, ec);
    fs::copy_file(file, incoming, ec);
    if (ec) return failure("cannot copy " + file.string() + " into " + data_dir.string() + ": " + ec.message());
    if (!sync_path(incoming, false)) {
        fs::remove(incoming, ec);
        return failure("cannot flush " + incoming.string() + ": " + errno_text());
    }
    fs::path kept;
    if (fs::exists(live, ec)) {
        kept = data_dir / ("parley.db.before-restore-" + timestamp());
        // The WAL holds committed transactions: it goes with its database.
        for (const char* suffix : {"", "-wal", "-shm"}) {
            const fs::path from = live.string() + suffix;
            if (!fs::exists(from, ec)) continue;
            fs::rename(from, kept.string() + suffix, ec);
            if (ec) {
                const std::string why = ec.message();
                // Put back what moved: the directory stays as it was.
                for (const char* back : {"", "-wal", "-shm"})
                    if (fs::exists(kept.string() + back)) fs::rename(kept.string() + back, live.string() + back, ec);
                fs::remove(incoming, ec);
                return failure("cannot move " + from.string() + " aside: " + why);
            }
        }
    }
    fs::rename(incoming, live, ec);
    if (ec) return failure("cannot rename " + incoming.string() + ": " + ec.message() + " (the old database is " +
                           kept.string() + ")");
    sync_path(data_dir, true);
    return kept;
}

}  // namespace parley::server
