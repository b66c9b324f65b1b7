// The parley server: owns the I/O threads, storage, accounts, rooms and the
// listener, and runs their start-up and shutdown in order.
//
// START-UP: open SQLite, apply migrations, load rooms (sequences continue
// from the highest stored), start the writer, bind the port, start threads.
// SHUTDOWN (SIGINT/SIGTERM or stop()): stop accepting; close every WebSocket
// with "going away" after flushing its queue; wait for them (at most 5 s);
// drain the writer (every queued event is committed); stop the threads.
#pragma once

#include "server/core/config.hpp"

#include <cstdint>
#include <memory>

namespace parley::server {

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

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace parley::server
