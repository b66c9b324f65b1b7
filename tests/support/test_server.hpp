// An in-process parley server on an ephemeral loopback port, with its own
// temporary data directory and the minimum password-hashing cost.
#pragma once

#include "server/core/config.hpp"
#include "server/server.hpp"
#include "tests/support/ws_client.hpp"

#include <filesystem>
#include <functional>
#include <memory>

namespace parley::testing {

/// A fresh temporary directory, removed (with its contents) on destruction.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// Settings for tests: port 0, minimum password cost, quiet log, generous limits.
server::config test_config(const std::filesystem::path& data_dir);

class test_server {
public:
    /// `adjust` may change settings before the server starts.
    explicit test_server(std::function<void(server::config&)> adjust = {});
    /// Reuses an existing data directory (restart tests).
    test_server(const std::filesystem::path& data_dir, std::function<void(server::config&)> adjust = {});
    ~test_server();

    std::uint16_t port() const { return server_->port(); }
    const std::filesystem::path& data_dir() const { return data_dir_; }
    /// Graceful stop (as on SIGTERM); waits for it to finish.
    void stop();

    /// A connected client authenticated as `username` (registered on first use).
    std::unique_ptr<ws_client> connect(const std::string& username);
    /// Same, joined to `room`; returns the room id through `room_id` and drains the join replies.
    std::unique_ptr<ws_client> join(const std::string& username, const std::string& room, std::uint32_t& room_id);

private:
    std::unique_ptr<temp_dir> owned_dir_;
    std::filesystem::path data_dir_;
    std::unique_ptr<server::server> server_;
    bool stopped_ = false;
};

}  // namespace parley::testing
