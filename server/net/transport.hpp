// A connection's byte stream: a TCP socket, or TLS over one, chosen at run
// time.
//
// One type for both, so the HTTP and WebSocket sessions (the heaviest Beast
// code) are compiled once, not once per stream type; the cost is a branch
// per read and write. A plain connection pays nothing else: the TLS state
// (an OpenSSL session and Asio's two 17 KiB record buffers) is allocated
// only for a TLS connection.
//
// The type meets Beast's AsyncStream and SyncStream requirements, and its
// next_layer() is the TCP socket, so beast::get_lowest_layer() reaches the
// socket for timeouts and closing. teardown()/async_teardown() end a
// WebSocket's connection: a TLS close_notify first when there is TLS.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <memory>

namespace parley::server {

class transport {
public:
    using tcp_socket = boost::asio::ip::tcp::socket;
    using tls_stream = boost::asio::ssl::stream<tcp_socket>;
    using executor_type = tcp_socket::executor_type;
    using next_layer_type = tcp_socket;
    using lowest_layer_type = tcp_socket;

    /// Plain TCP.
    explicit transport(tcp_socket&& socket) : plain_(std::move(socket)) {}
    /// TLS over `socket` with `context`'s certificate and settings; the
    /// handshake is still to be done. The context stays alive as long as the
    /// connection, so a reload can replace it meanwhile.
    transport(tcp_socket&& socket, std::shared_ptr<boost::asio::ssl::context> context)
        : plain_(socket.get_executor()), context_(std::move(context)),
          tls_(std::make_unique<tls_stream>(std::move(socket), *context_)) {}

    transport(transport&&) noexcept = default;
    transport& operator=(transport&&) noexcept = default;

    bool is_tls() const noexcept { return tls_ != nullptr; }
    executor_type get_executor() noexcept { return plain_.get_executor(); }
    tcp_socket& next_layer() noexcept { return tls_ ? tls_->next_layer() : plain_; }
    const tcp_socket& next_layer() const noexcept { return tls_ ? tls_->next_layer() : plain_; }
    tcp_socket& lowest_layer() noexcept { return next_layer(); }
    tls_stream* tls() noexcept { return tls_.get(); }

    /// Closes the socket at once (no TLS close_notify): pending operations
    /// end with operation_aborted.
    void close() noexcept {
        boost::system::error_code ignored;
        next_layer().close(ignored);
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (tls_) tls_->async_read_some(b, std::move(handler));
                else plain_.async_read_some(b, std::move(handler));
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                if (tls_) tls_->async_write_some(b, std::move(handler));
                else plain_.async_write_some(b, std::move(handler));
            },
            token, buffers);
    }

    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
        return tls_ ? tls_->read_some(buffers, ec) : plain_.read_some(buffers, ec);
    }
    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers) {
        return tls_ ? tls_->read_some(buffers) : plain_.read_some(buffers);
    }
    template <class ConstBuffers>
    std::size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
        return tls_ ? tls_->write_some(buffers, ec) : plain_.write_some(buffers, ec);
    }
    template <class ConstBuffers>
    std::size_t write_some(const ConstBuffers& buffers) {
        return tls_ ? tls_->write_some(buffers) : plain_.write_some(buffers);
    }

private:
    tcp_socket plain_;  // the socket of a plain connection; for TLS only its executor
    std::shared_ptr<boost::asio::ssl::context> context_;
    std::unique_ptr<tls_stream> tls_;
};

// WebSocket teardown (found by argument-dependent lookup): TLS ends with its
// close_notify, then the socket as TCP would.
inline void teardown(boost::beast::role_type role, transport& t, boost::system::error_code& ec) {
    if (auto* tls = t.tls()) boost::beast::teardown(role, *tls, ec);
    else boost::beast::websocket::teardown(role, t.next_layer(), ec);
}

template <class Handler>
void async_teardown(boost::beast::role_type role, transport& t, Handler&& handler) {
    if (auto* tls = t.tls()) boost::beast::async_teardown(role, *tls, std::forward<Handler>(handler));
    else boost::beast::websocket::async_teardown(role, t.next_layer(), std::forward<Handler>(handler));
}

}  // namespace parley::server
