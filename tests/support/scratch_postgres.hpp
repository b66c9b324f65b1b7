// A PostgreSQL server of the test's own (scripts/pg-scratch.sh in a
// temporary directory), started on first use and stopped when the test
// binary exits; each test takes a fresh database on it.
#pragma once

#include <filesystem>
#include <string>

namespace parley::testing {

class scratch_postgres {
public:
    /// The binary's server, started now if it is not running; null (and
    /// `why` says why) when PostgreSQL is not installed or will not start.
    static scratch_postgres* shared(std::string* why = nullptr);

    /// A new empty database; @return its libpq URL
    std::string fresh_database();
    /// The server's own `parley` database.
    const std::string& url() const { return url_; }
    /// pg-scratch.sh kill / restart / stop+start, for fault tests.
    void kill();
    void restart();
    void start();
    void stop();

    scratch_postgres(const scratch_postgres&) = delete;
    scratch_postgres& operator=(const scratch_postgres&) = delete;
    ~scratch_postgres();

private:
    scratch_postgres() = default;
    /// Runs pg-scratch.sh with `verb`; @return its stdout; throws on failure
    std::string script(const std::string& verb);

    std::filesystem::path root_;  // 0755, holds pg/
    std::string url_;
    int databases_ = 0;
};

}  // namespace parley::testing
