// The parley server: owns the I/O threads, storage, accounts, rooms and the
// listener, and runs their start-up and shutdown in order.
//
// START-UP: open SQLite, apply migrations, load rooms (sequences continue
// from the highest stored), start the writer, bind the port, start threads.
// SIGHUP (systemctl reload) reloads the TLS certificate and key; open
// connections keep theirs.
// SHUTDOWN (SIGINT/SIGTERM or stop()): stop accepting; close every WebSocket
// with "going away" after flushing its queue; wait for them (at most 5 s);
// drain the writer (every queued event is committed); stop the threads.
#pragma once

#include "server/core/config.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>

namespace parley::server {

/// The configuration names something that cannot be used (a TLS certificate
/// or key that does not load): a start-up error like a bad flag, exit code 2.
struct setup_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class server {
public:
    /// Opens storage and binds the listening port; throws on failure.
    explicit server(config cfg);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    void start();
    /// Begins a graceful shutdown; returns at once. Any thread, idempotent.
    void stop();
    /// Blocks until the shutdown has finished.
    void wait();
    /// start(), stop on SIGINT/SIGTERM, wait(); the process exit code.
    int run();

    std::uint16_t port() const;
    /// The port of the --redirect-http listener; 0 without one.
    std::uint16_t redirect_port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace parley::server
