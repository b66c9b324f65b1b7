#include "server/net/listener.hpp"

#include "server/core/log.hpp"
#include "server/net/http_session.hpp"
#include "server/net/tls.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

namespace parley::server {
namespace net = boost::asio;
using tcp = net::ip::tcp;

listener::listener(std::vector<net::io_context*> loops, tcp::endpoint endpoint, server_context& ctx, listener_role role)
    : loops_(std::move(loops)), strand_(net::make_strand(*loops_.front())), acceptor_(strand_), ctx_(ctx), role_(role) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
}

void listener::run() { net::dispatch(strand_, boost::beast::bind_front_handler(&listener::do_accept, shared_from_this())); }

void listener::stop() {
    net::post(strand_, [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

void listener::do_accept() {
    // Each connection lives on one loop, which one thread runs: its handlers
    // never run concurrently, with no strand between them and the loop (a
    // strand would cost every handler a lock and a queue, and would make a
    // room's fan-out post each write instead of starting it; fanout.hpp).
    net::io_context& loop = *loops_[next_loop_++ % loops_.size()];
    acceptor_.async_accept(loop.get_executor(), boost::beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
        log::warn(log::net, "accept failed", {{"error", ec}});  // e.g. out of file descriptors: keep serving the others
    } else {
        boost::system::error_code ignored, gone;
        socket.set_option(tcp::no_delay(true), ignored);  // chat packets are small; Nagle would delay them
        const auto peer = socket.remote_endpoint(gone);
        // An empty slot (the address holds its cap, or the peer left already) makes the session answer 503.
        auto slot = gone ? connection_cap::slot{} : ctx_.address_slots.try_acquire(peer.address());
        const bool tls = role_ == listener_role::serve && ctx_.tls;
        transport stream = tls ? transport(std::move(socket), ctx_.tls->current()) : transport(std::move(socket));
        std::make_shared<http_session>(std::move(stream), ctx_, std::move(slot), role_)->run();
    }
    do_accept();
}

}  // namespace parley::server
