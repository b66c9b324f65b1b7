#include "server/net/http_session.hpp"

#include "server/core/bounds.hpp"
#include "server/core/log.hpp"
#include "server/net/admin_api.hpp"
#include "server/net/static_files.hpp"
#include "server/net/tls.hpp"
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

http_session::http_session(transport&& stream, server_context& ctx, connection_cap::slot slot, listener_role role)
    : stream_(std::move(stream)), deadline_(stream_.get_executor()), ctx_(ctx), role_(role), slot_(std::move(slot)) {
    boost::system::error_code ec;
    const auto ep = stream_.next_layer().remote_endpoint(ec);
    remote_ = ec ? "unknown" : ep.address().to_string();
}

void http_session::run() {
    auto first = !slot_ ? &http_session::refuse_crowded : stream_.is_tls() ? &http_session::handshake : &http_session::do_read;
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(first, shared_from_this()));
}

// Every step of the session runs under a deadline; when it passes, the
// socket is closed and the step in progress fails. The timer holds no
// reference: a session whose last operation ended goes away with it.
void http_session::arm(std::chrono::steady_clock::duration d) {
    deadline_.expires_after(d);
    deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (ec) return;  // re-armed or cancelled
        if (auto self = weak.lock()) self->stream_.close();
    });
}

void http_session::handshake() {
    boost::system::error_code gone;
    const auto peer = stream_.next_layer().remote_endpoint(gone);
    if (!gone) handshake_slot_ = ctx_.tls_handshakes.try_acquire(peer.address());
    if (!handshake_slot_) {
        ctx_.stats.tls_handshakes_refused.fetch_add(1, std::memory_order_relaxed);
        log::debug(log::net, "closed a connection: too many TLS handshakes in progress from this address",
                   {{"remote", remote_}});
        return stream_.close();
    }
    arm(ctx_.cfg.tls_handshake_timeout);
    stream_.tls()->async_handshake(boost::asio::ssl::stream_base::server,
                                   beast::bind_front_handler(&http_session::on_handshake, shared_from_this()));
}

void http_session::on_handshake(boost::system::error_code ec) {
    handshake_slot_ = {};
    if (ec) {
        ctx_.stats.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
        log::debug(log::net, "TLS handshake failed", {{"remote", remote_}, {"error", ec}});
        return stream_.close();
    }
    ctx_.stats.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
    do_read();
}

// The peer's address holds max_connections_per_address already: answered
// before its request is read, so a flood costs one small write per connection.
void http_session::refuse_crowded() {
    log::debug(log::net, "refused a connection: too many from this address", {{"remote", remote_}});
    note_request();
    if (stream_.is_tls()) return stream_.close();  // an answer would cost a handshake first
    refuse(http::status::service_unavailable, "too many connections from your address\n");
}

void http_session::do_read() {
    parser_.emplace();
    parser_->header_limit(bounds::max_header_bytes);
    parser_->body_limit(bounds::max_body_bytes);
    // One deadline for the whole request, headers and body: a peer trickling
    // bytes (slowloris) cannot hold the connection past it.
    arm(ctx_.cfg.request_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(boost::system::error_code ec, std::size_t) {
    note_request();
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
            .writer_backlog = ctx_.writer.backlog(),
            .tls_not_after = ctx_.tls ? std::chrono::duration_cast<std::chrono::seconds>(
                                            ctx_.tls->certificate().not_after.time_since_epoch()).count()
                                      : 0};
}

void http_session::route(http_request req) {
    if (role_ == listener_role::redirect) return redirect(req);
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz") {
        // Degraded (503, so a load balancer moves clients to a healthy
        // node): a service the node cannot serve rooms without is out of reach.
        const metrics::gauges now = gauges();
        const std::vector<std::string> problems = ctx_.problems ? ctx_.problems() : std::vector<std::string>{};
        const char* status = ctx_.stopping ? "stopping" : problems.empty() ? "ok" : "degraded";
        nlohmann::json body{{"status", status},
                            {"connections", now.connections},
                            {"rooms", now.rooms},
                            {"writer_backlog", now.writer_backlog}};
        if (!problems.empty()) body["problems"] = problems;
        const bool healthy = !ctx_.stopping && problems.empty();
        return send(plain(req, healthy ? http::status::ok : http::status::service_unavailable, "application/json",
                          body.dump()));
    }
    if (path == "/metrics") {
        std::string text = ctx_.stats.render(gauges());
        if (ctx_.cluster_metrics) text += ctx_.cluster_metrics();
        return send(plain(req, http::status::ok, "text/plain; version=0.0.4", std::move(text)));
    }
    if (path.starts_with("/api/") || is_admin_page(path)) {  // the console's page is checked like its API
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
    if (role_ == listener_role::redirect) return redirect(req);
    const std::string_view scheme = stream_.is_tls() ? "https" : "http";
    if (!origin_allowed(req[http::field::origin], req[http::field::host], scheme, ctx_.cfg.allowed_origins)) {
        log::info(log::http, "refused WebSocket: origin not allowed",
                  {{"remote", remote_}, {"origin", req[http::field::origin]}});
        auto res = plain(req, http::status::forbidden, "text/plain", "origin not allowed\n");
        res.keep_alive(false);
        return send(std::move(res));
    }
    if (ctx_.stopping) return send(plain(req, http::status::service_unavailable, "text/plain", "shutting down\n"));
    std::string token = token_of(req);
    deadline_.cancel();  // the WebSocket keeps its own time
    std::make_shared<websocket_session>(std::move(stream_), ctx_, remote_, std::move(slot_))
        ->run(std::move(req), std::move(token));
}

std::optional<std::string> https_location(std::string_view host, std::string_view target, std::uint16_t https_port) {
    // host or host:port, where host is a name, an IPv4 address or [IPv6].
    std::string_view name = host;
    if (name.starts_with('[')) {
        const auto close = name.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view rest = name.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return std::nullopt;
        name = name.substr(0, close + 1);
        for (char c : name.substr(1, name.size() - 2))
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return std::nullopt;
    } else {
        name = name.substr(0, name.find(':'));
        for (char c : name)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return std::nullopt;
    }
    if (name.empty() || name.size() > 253) return std::nullopt;
    if (target.empty() || target.front() != '/') target = "/";
    for (char c : target)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;  // nothing that splits a header
    std::string out = "https://" + std::string(name);
    if (https_port != 443) out += ":" + std::to_string(https_port);
    out += target;
    return out;
}

// The redirect listener: the same path over HTTPS. 301 for GET and HEAD;
// 308 for the rest, which keeps the method and body.
void http_session::redirect(const http_request& req) {
    const auto location = https_location(req[http::field::host], req.target(), ctx_.tls_port);
    if (!location) return send(plain(req, http::status::bad_request, "text/plain", "missing or malformed Host header\n"));
    const bool safe = req.method() == http::verb::get || req.method() == http::verb::head;
    auto res = plain(req, safe ? http::status::moved_permanently : http::status::permanent_redirect, "text/plain",
                     "this server speaks HTTPS: " + *location + "\n");
    res.set(http::field::location, *location);
    send(std::move(res));
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
    // Over HTTPS, browsers are told to use nothing else for this host for a year.
    if (stream_.is_tls()) res.set(http::field::strict_transport_security, "max-age=31536000");
    const bool keep_alive = res.keep_alive();
    arm(ctx_.cfg.request_timeout);  // its own deadline: a peer that does not read it is dropped
    response_ = std::make_shared<http_response>(std::move(res));
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&http_session::on_write, shared_from_this(), keep_alive));
}

void http_session::on_write(bool keep_alive, boost::system::error_code ec, std::size_t bytes) {
    log_access(bytes);
    response_.reset();
    if (ec) return;
    if (!keep_alive) return do_close();
    do_read();
}

void http_session::note_request() {
    request_.start = std::chrono::steady_clock::now();
    const bool known = parser_ && parser_->is_header_done();
    request_.method = known ? std::string(parser_->get().method_string()) : "-";
    const std::string_view target = known ? parser_->get().target() : "-";
    request_.path = target.substr(0, target.find('?'));
}

void http_session::log_access(std::size_t bytes) const {
    if (!log::enabled(log_level::info) || !response_) return;
    const auto took = std::chrono::steady_clock::now() - request_.start;
    const double ms = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()) / 1000;
    log::info(log::http, "request", {{"method", request_.method}, {"path", request_.path},
                                      {"status", response_->result_int()}, {"bytes", bytes},
                                      {"ms", ms}, {"remote", remote_}});
}

// Our FIN follows the last response; then whatever the peer still sends is
// read and dropped until it closes too, for at most bounds::linger_timeout. Closing
// with unread bytes would make the kernel send a reset, which can destroy the
// response before the peer reads it (a refusal sent before the request was
// read, above all; RFC 9112, section 9.6).
//
// Over TLS the close_notify alert comes first and the peer's is awaited, in
// the same bounded time; then the socket closes.
void http_session::do_close() {
    arm(bounds::linger_timeout);
    if (auto* tls = stream_.tls()) {
        return tls->async_shutdown([self = shared_from_this()](boost::system::error_code) { self->stream_.close(); });
    }
    boost::system::error_code ec;
    stream_.next_layer().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    if (ec) return;
    do_drain();
}

void http_session::do_drain() {
    stream_.next_layer().async_read_some(buffer_.prepare(1024),
                                         beast::bind_front_handler(&http_session::on_drain, shared_from_this()));
}

void http_session::on_drain(boost::system::error_code ec, std::size_t) {
    if (!ec) do_drain();  // EOF, the linger deadline or a reset ends it
}

}  // namespace parley::server
