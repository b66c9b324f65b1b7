// The real `parley` binary as a child process: a free loopback port, its own
// temporary data directory (or one the test keeps across restarts), the
// minimum password cost, and its log in the data directory. Black-box suites
// (hostile clients, crashes, soak) talk to it only over the network and read
// its database afterwards.
#pragma once

#include "tests/support/process.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace parley::testing {

class live_server {
public:
    /// Starts parley with `extra_args` after the test defaults; waits until healthy.
    explicit live_server(std::vector<std::string> extra_args = {});
    /// The same on an existing data directory (kept by the caller).
    live_server(const std::filesystem::path& data_dir, std::vector<std::string> extra_args);
    ~live_server();

    std::uint16_t port() const { return port_; }
    const std::filesystem::path& data_dir() const { return dir_; }
    std::string log_path() const { return (dir_ / "server.log").string(); }

    /// Sends `sig`; for SIGKILL/SIGTERM also waits for the exit and returns its status.
    int stop(int sig);
    /// Starts the binary again on the same port and data directory.
    void restart();
    bool running() const { return process_ != nullptr; }
    /// The server's process id (for /proc/<pid>/status), -1 while stopped.
    int pid() const { return process_ ? process_->pid() : -1; }

    /// A client authenticated (by cookie) as `username`, registered on first use.
    std::unique_ptr<ws_client> connect(const std::string& username, ws_options opts = {});
    /// The session token of `username` (registered on first use).
    std::string token(const std::string& username);

private:
    void start();

    std::unique_ptr<temp_dir> owned_;
    std::filesystem::path dir_;
    std::vector<std::string> args_;
    std::uint16_t port_ = 0;
    std::unique_ptr<child_process> process_;
    std::map<std::string, std::string> tokens_;
};

}  // namespace parley::testing
