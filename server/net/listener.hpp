// Accepts TCP connections and starts an http_session on each, on its own
// strand, on the next of the event loops (round robin).
#pragma once

#include "server/net/server_context.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <vector>

namespace parley::server {

/// What a listener's connections are for.
enum class listener_role {
    serve,     ///< the server itself: TLS when the context has a certificate
    redirect,  ///< plain HTTP, every request answered with a redirect to https://
};

class listener : public std::enable_shared_from_this<listener> {
public:
    /// Binds and listens at once; throws boost::system::system_error on failure.
    /// @param loops where connections go (the first also accepts them)
    listener(std::vector<boost::asio::io_context*> loops, boost::asio::ip::tcp::endpoint endpoint, server_context& ctx,
             listener_role role = listener_role::serve);

    void run();
    /// Stops accepting (any thread).
    void stop();
    std::uint16_t port() const { return port_; }

private:
    void do_accept();
    void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

    const std::vector<boost::asio::io_context*> loops_;
    std::size_t next_loop_ = 0;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::ip::tcp::acceptor acceptor_;
    server_context& ctx_;
    const listener_role role_;
    std::uint16_t port_ = 0;
};

}  // namespace parley::server
