// The running server's control socket: how `parley admin` acts through the
// server that holds the data directory, so that what it changes reaches live
// connections at once (a disabled user is disconnected, not just refused at
// the next sign-in).
//
// FORMAT
// A Unix stream socket at DATA_DIR/parley.sock, mode 0600 (only the server's
// own user, or root, may connect: the same people who may open the database).
// The client sends one line, the server answers one line and closes. A line
// is at most bounds::max_control_line bytes; what it says is the caller's
// business (admin_ops.hpp: one JSON object each way).
//
// LIFECYCLE
// The server holds the data directory's lock (backup.hpp) before it binds,
// so a socket file already there belongs to no live server: it is replaced.
// The file is removed when the server stops. A client that sends nothing for
// bounds::control_timeout is dropped. Requests run on the blocking pool, one
// per connection.
//
// Asio local sockets only, no Beast: this translation unit stays light.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/thread_pool.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::server {

/// The control socket's file in a data directory.
std::filesystem::path control_socket_path(const std::filesystem::path& data_dir);

class control_socket {
public:
    /// Answers one request line (without its newline); runs on `pool`.
    using handler = std::function<std::string(std::string_view request)>;

    /** Binds `path` (replacing a stale file), mode 0600.
     *  @throws std::runtime_error when it cannot (the path is too long for a Unix socket, say) */
    control_socket(boost::asio::io_context& io, boost::asio::thread_pool& pool, std::filesystem::path path,
                   handler handle);
    ~control_socket();

    /// Starts accepting.
    void run();
    /// Stops accepting and removes the file (connections in progress finish). Idempotent.
    void stop();

private:
    struct state;
    std::shared_ptr<state> state_;
};

/** One request to the control socket at `path`: sends `request` and a
 *  newline, waits up to bounds::control_timeout for the answer line.
 *  @return the answer; nullopt (and why in `error`) when the socket cannot be reached */
std::optional<std::string> call_control_socket(const std::filesystem::path& path, std::string_view request,
                                               std::string& error);

}  // namespace parley::server
