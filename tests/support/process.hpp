// Child processes for tests that need a real `parley` binary (crash and
// conformance tests): spawn, signal, wait; plus a free loopback port.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace parley::testing {

class child_process {
public:
    /// Starts `argv[0]` with the arguments; stderr goes to `log_path` if given,
    /// stdin comes from `stdin_path` and stdout goes to `stdout_path` if given.
    explicit child_process(std::vector<std::string> argv, const std::string& log_path = {},
                           const std::string& stdin_path = {}, const std::string& stdout_path = {});
    ~child_process();  // SIGKILL if still running
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    void signal(int sig);
    /// Waits for the exit; returns the exit status (128 + signal if killed), -1 on timeout.
    int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    int pid() const { return pid_; }

private:
    int pid_ = -1;
    bool reaped_ = false;
};

/// A loopback port that was free a moment ago.
std::uint16_t free_port();

/// Polls GET /healthz until it answers 200; false after the timeout.
bool wait_healthy(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(15));

/// build/server/parley, from PARLEY_BINARY_DIR (set by CTest).
std::string parley_binary();

}  // namespace parley::testing
