// One HTTP connection: reads requests (bounded header and body sizes, and
// --request-timeout for each), routes them, and hands WebSocket upgrades of
// /ws to a websocket_session.
//
// Refusals: a connection over its address's cap is answered 503 before its
// request is read; a request that does not parse gets 400, a too large one
// 413; each then closes.
//
// Routing: /healthz and /metrics are answered inline; /api/ runs on the
// blocking pool (it hashes passwords and queries SQLite); everything else is
// a static file. Upgrades are refused with 403 when the Origin header is not
// allowed (cross-site WebSocket hijacking).
#pragma once

#include "server/net/api.hpp"
#include "server/net/server_context.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include <memory>
#include <optional>

namespace parley::server {

class http_session : public std::enable_shared_from_this<http_session> {
public:
    /// `slot` counts the connection against its address's cap; an empty one: refuse it (503).
    http_session(boost::asio::ip::tcp::socket&& socket, server_context& ctx, connection_cap::slot slot);
    void run();

private:
    void refuse_crowded();
    void do_read();
    void on_read(boost::system::error_code ec, std::size_t bytes);
    void route(http_request req);
    /// The gauges of /healthz and /metrics, from the parts that keep them.
    metrics::gauges gauges() const;
    void upgrade(http_request req);
    void refuse(boost::beast::http::status status, std::string_view why);
    void send(http_response res);
    void on_write(bool keep_alive, boost::system::error_code ec, std::size_t bytes);
    void do_close();
    void do_drain();
    void on_drain(boost::system::error_code ec, std::size_t bytes);

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    server_context& ctx_;
    std::string remote_;
    connection_cap::slot slot_;  // moves to the websocket_session on upgrade
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    std::shared_ptr<http_response> response_;  // alive until its write completes
};

/// True when `origin` may open a WebSocket on a server reached as
/// `scheme://host`: the same origin (scheme included, case and default port
/// ignored) or one of `allowed` ("*" allows any).
bool origin_allowed(std::string_view origin, std::string_view host, std::string_view scheme,
                    const std::vector<std::string>& allowed);

}  // namespace parley::server
