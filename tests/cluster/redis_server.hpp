// A real redis-server for black-box tests (the way Redis' own tests speak
// the wire protocol to a real server): started from /usr/bin on a loopback
// port that was free, in a fresh temporary directory, with no persistence
// (--save "" --appendonly no) unless redis_server_options::append_only asks
// for an AOF, in the foreground so that the test owns the
// process and can stop, kill, freeze (SIGSTOP) and thaw it, and start it
// again on the same port. The destructor kills it and removes the directory.
//
// Blocking calls, for the test thread only: start() waits until the server
// answers PING, call() runs one command on a fresh connection.
//
// tests/support/process.hpp is not reused: it lives in parley::test_net,
// which links the whole server, and its child_process cannot be restarted.
#pragma once

#include "server/cluster/resp.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace parley::testing {

struct redis_server_options {
    /// appendonly yes with appendfsync always: every write is on disk before
    /// its reply, so a restart after kill() finds all of it (functions too).
    bool append_only = false;
};

class redis_server {
public:
    /// /usr/bin/redis-server (PARLEY_REDIS_SERVER overrides it).
    static std::string binary();
    /// The binary exists: tests GTEST_SKIP() without it.
    static bool available();

    /** Starts a server and waits until it answers PING.
     *  @throws std::runtime_error (with the server's log) if it does not within 10 s */
    explicit redis_server(redis_server_options options = {});
    ~redis_server();  ///< SIGKILL if running, then removes the directory
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    const std::filesystem::path& dir() const noexcept { return dir_; }
    bool running() const noexcept { return pid_ > 0; }

    /// SIGTERM and wait for the exit (SIGKILL after 10 s).
    void stop();
    /// SIGKILL and wait for the exit.
    void kill();
    /// SIGSTOP: the process stays, its sockets stay open, nothing is answered.
    void pause();
    /// SIGCONT.
    void resume();
    /// Starts it again on the same port and directory (after stop() or kill()).
    void start();

    /** One command on a fresh connection.
     *  @throws std::runtime_error if the server cannot be reached or does not answer in time */
    server::cluster::resp::value call(const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;

    /// What the server wrote to its log so far (for failure messages).
    std::string log() const;

private:
    void spawn();
    void wait_ready();
    int wait_exit(std::chrono::milliseconds timeout);

    redis_server_options options_;
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace parley::testing
