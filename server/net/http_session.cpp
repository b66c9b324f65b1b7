#include "server/net/http_session.hpp"

#include "server/core/bounds.hpp"
#include "server/core/log.hpp"
#include "server/net/static_files.hpp"
#include "server/net/websocket_session.hpp"
#include "server/store/accounts.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <nlohmann/json.hpp>

namespace parley::server {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

http_response plain(const http_request& req, http::status status, std::string_view content_type, std::string body) {
    http_response res{status, req.version()};
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

}  // namespace

namespace {

// scheme://host[:port] in lower case, without the scheme's default port, so
// that "http://Chat.Example:80" and "http://chat.example" compare equal.
std::string canonical_origin(std::string_view scheme, std::string_view authority) {
    std::string out;
    for (char c : std::string(scheme) + "://" + std::string(authority))
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    const std::string_view default_port = scheme == "https" ? ":443" : ":80";
    if (out.ends_with(default_port)) out.resize(out.size() - default_port.size());
    return out;
}

}  // namespace

bool origin_allowed(std::string_view origin, std::string_view host, std::string_view scheme,
                    const std::vector<std::string>& allowed) {
    if (origin.empty()) return true;  // not a browser: nothing to hijack
    const auto sep = origin.find("://");
    if (sep == std::string_view::npos) return false;  // "null" (sandboxed pages, files) and other opaque origins
    const std::string given = canonical_origin(origin.substr(0, sep), origin.substr(sep + 3));
    for (const auto& a : allowed) {
        if (a == "*") return true;
        const auto a_sep = a.find("://");
        if (a_sep != std::string::npos && canonical_origin(a.substr(0, a_sep), a.substr(a_sep + 3)) == given) return true;
    }
    // Same origin: the scheme this server speaks and the Host it was asked for.
    return given == canonical_origin(scheme, host);
}

http_session::http_session(net::ip::tcp::socket&& socket, server_context& ctx, connection_cap::slot slot)
    : stream_(std::move(socket)), ctx_(ctx), slot_(std::move(slot)) {
    boost::system::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    remote_ = ec ? "unknown" : ep.address().to_string();
}

void http_session::run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(slot_ ? &http_session::do_read : &http_session::refuse_crowded,
                                                                    shared_from_this()));
}

// The peer's address holds max_connections_per_address already: answered
// before its request is read, so a flood costs one small write per connection.
void http_session::refuse_crowded() {
    log::debug("refused a connection from ", remote_, ": too many connections from this address");
    refuse(http::status::service_unavailable, "too many connections from your address\n");
}

void http_session::do_read() {
    parser_.emplace();
    parser_->header_limit(bounds::max_header_bytes);
    parser_->body_limit(bounds::max_body_bytes);
    // One deadline for the whole request, headers and body: a peer trickling
    // bytes (slowloris) cannot hold the connection past it.
    stream_.expires_after(ctx_.cfg.request_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(boost::system::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::body_limit || ec == http::error::header_limit)
        return refuse(http::status::payload_too_large, "request too large\n");
    if (ec == http::error::partial_message) return;  // the peer left mid-request
    if (ec && ec.category() == make_error_code(http::error::bad_target).category())
        return refuse(http::status::bad_request, "malformed request\n");
    if (ec) return;  // timeout or reset: drop the connection
    ctx_.stats.http_requests_total.fetch_add(1, std::memory_order_relaxed);
    http_request req = parser_->release();
    if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
    route(std::move(req));
}

metrics::gauges http_session::gauges() const {
    return {.connections = ctx_.connections.size(),
            .rooms = ctx_.rooms.size(),
            .room_loads = ctx_.rooms.loads(),
            .room_evictions = ctx_.rooms.evictions(),
            .writer_backlog = ctx_.writer.backlog()};
}

void http_session::route(http_request req) {
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz") {
        const metrics::gauges now = gauges();
        const nlohmann::json body{{"status", ctx_.stopping ? "stopping" : "ok"},
                                  {"connections", now.connections},
                                  {"rooms", now.rooms},
                                  {"writer_backlog", now.writer_backlog}};
        return send(plain(req, ctx_.stopping ? http::status::service_unavailable : http::status::ok,
                          "application/json", body.dump()));
    }
    if (path == "/metrics") return send(plain(req, http::status::ok, "text/plain; version=0.0.4", ctx_.stats.render(gauges())));
    if (path.starts_with("/api/")) {
        net::post(ctx_.blocking, [self = shared_from_this(), req = std::move(req)] {
            auto res = handle_api(req, self->remote_, self->ctx_);
            net::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable { self->send(std::move(res)); });
        });
        return;
    }
    send(ctx_.files.serve(req));
}

void http_session::upgrade(http_request req) {
    const std::string_view path = req.target().substr(0, req.target().find('?'));
    if (path != "/ws") return send(plain(req, http::status::not_found, "text/plain", "WebSocket endpoint is /ws\n"));
    if (!origin_allowed(req[http::field::origin], req[http::field::host], "http", ctx_.cfg.allowed_origins)) {
        log::info("refused WebSocket from ", remote_, " with origin ", req[http::field::origin]);
        auto res = plain(req, http::status::forbidden, "text/plain", "origin not allowed\n");
        res.keep_alive(false);
        return send(std::move(res));
    }
    if (ctx_.stopping) return send(plain(req, http::status::service_unavailable, "text/plain", "shutting down\n"));
    std::string token = token_of(req);
    stream_.expires_never();
    std::make_shared<websocket_session>(stream_.release_socket(), ctx_, remote_, std::move(slot_))
        ->run(std::move(req), std::move(token));
}

// For a request that could not be read (or was not read at all): an
// HTTP/1.1 answer, then the connection closes.
void http_session::refuse(http::status status, std::string_view why) {
    auto res = plain(http_request{}, status, "text/plain", std::string(why));
    res.keep_alive(false);
    send(std::move(res));
}

void http_session::send(http_response res) {
    if (ctx_.stopping) res.keep_alive(false);
    res.set(http::field::server, "parley/" PARLEY_VERSION);
    const bool keep_alive = res.keep_alive();
    stream_.expires_after(ctx_.cfg.request_timeout);  // its own deadline: a peer that does not read it is dropped
    response_ = std::make_shared<http_response>(std::move(res));
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&http_session::on_write, shared_from_this(), keep_alive));
}

void http_session::on_write(bool keep_alive, boost::system::error_code ec, std::size_t) {
    response_.reset();
    if (ec) return;
    if (!keep_alive) return do_close();
    do_read();
}

// Our FIN follows the last response; then whatever the peer still sends is
// read and dropped until it closes too, for at most bounds::linger_timeout. Closing
// with unread bytes would make the kernel send a reset, which can destroy the
// response before the peer reads it (a refusal sent before the request was
// read, above all; RFC 9112, section 9.6).
void http_session::do_close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    if (ec) return;
    stream_.expires_after(bounds::linger_timeout);
    do_drain();
}

void http_session::do_drain() {
    stream_.async_read_some(buffer_.prepare(1024), beast::bind_front_handler(&http_session::on_drain, shared_from_this()));
}

void http_session::on_drain(boost::system::error_code ec, std::size_t) {
    if (!ec) do_drain();  // EOF, the linger deadline or a reset ends it
}

}  // namespace parley::server
