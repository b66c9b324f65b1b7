// One HTTP connection: reads requests (bounded header and body sizes, and
// --request-timeout for each), routes them, and hands WebSocket upgrades of
// /ws to a websocket_session.
//
// TLS: on a TLS listener the session first does the TLS handshake, under
// --tls-handshake-timeout and with at most --max-tls-handshakes-per-address
// of them in progress per address (more are closed at once); then the same
// HTTP as over TCP, with HSTS on every response.
//
// Refusals: a connection over its address's cap is answered 503 before its
// request is read (over TLS it is closed: a refusal is not worth a
// handshake); a request that does not parse gets 400, a too large one 413;
// each then closes. On a redirect listener every request is answered with
// a redirect to the same path over https://.
//
// Routing: /healthz and /metrics are answered inline; /api/ runs on the
// blocking pool (it hashes passwords and queries SQLite); everything else is
// a static file. Upgrades are refused with 403 when the Origin header is not
// allowed (cross-site WebSocket hijacking).
#pragma once

#include "server/net/api.hpp"
#include "server/net/listener.hpp"
#include "server/net/server_context.hpp"
#include "server/net/transport.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <memory>
#include <optional>

namespace parley::server {

class http_session : public std::enable_shared_from_this<http_session> {
public:
    /// `slot` counts the connection against its address's cap; an empty one: refuse it (503).
    http_session(transport&& stream, server_context& ctx, connection_cap::slot slot, listener_role role);
    void run();

private:
    /// Closes the connection unless the next step comes within `d`.
    void arm(std::chrono::steady_clock::duration d);
    void handshake();
    void on_handshake(boost::system::error_code ec);
    void refuse_crowded();
    void do_read();
    void on_read(boost::system::error_code ec, std::size_t bytes);
    void route(http_request req);
    /// The gauges of /healthz and /metrics, from the parts that keep them.
    metrics::gauges gauges() const;
    void upgrade(http_request req);
    void refuse(boost::beast::http::status status, std::string_view why);
    void send(http_response res);
    void redirect(const http_request& req);
    void on_write(bool keep_alive, boost::system::error_code ec, std::size_t bytes);
    /// Remembers the method and path (never the query: tokens may ride there) of the request just read.
    void note_request();
    /// The access line of the response just written: method, path, status, bytes, duration, remote.
    void log_access(std::size_t bytes) const;
    void do_close();
    void do_drain();
    void on_drain(boost::system::error_code ec, std::size_t bytes);

    transport stream_;
    boost::asio::steady_timer deadline_;
    boost::beast::flat_buffer buffer_;
    server_context& ctx_;
    const listener_role role_;
    std::string remote_;
    connection_cap::slot slot_;  // moves to the websocket_session on upgrade
    connection_cap::slot handshake_slot_;  // held while the TLS handshake is in progress
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    std::shared_ptr<http_response> response_;  // alive until its write completes
    struct {
        std::string method = "-", path = "-";
        std::chrono::steady_clock::time_point start;
    } request_;  // what the access line names; "-" before a request could be read
};

/// True when `origin` may open a WebSocket on a server reached as
/// `scheme://host`: the same origin (scheme included, case and default port
/// ignored) or one of `allowed` ("*" allows any).
bool origin_allowed(std::string_view origin, std::string_view host, std::string_view scheme,
                    const std::vector<std::string>& allowed);

/// Where a plain-HTTP request for `target` at `host` (its Host header) is
/// sent on the HTTPS port `https_port`: https://host[:port]target; nullopt
/// when the Host header is not a plain host name or address (nothing else
/// may reach a Location header).
std::optional<std::string> https_location(std::string_view host, std::string_view target, std::uint16_t https_port);

}  // namespace parley::server
