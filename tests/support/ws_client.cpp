#include "tests/support/ws_client.hpp"

#include "server/net/transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <nlohmann/json.hpp>

#include <future>

namespace parley::testing {
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace ssl = net::ssl;
using server::transport;

namespace {

std::mutex tls_mutex;
std::shared_ptr<ssl::context> tls_context;  // null: plain TCP

// A socket to `host` (TLS when use_tls() was called), not yet connected.
transport client_transport(net::io_context& io, const std::string& host) {
    std::shared_ptr<ssl::context> ctx;
    {
        std::lock_guard lock(tls_mutex);
        ctx = tls_context;
    }
    if (!ctx) return transport(tcp::socket(io));
    transport t(tcp::socket(io), ctx);
    SSL_set_tlsext_host_name(t.tls()->native_handle(), host.c_str());  // SNI
    t.tls()->set_verify_callback(ssl::host_name_verification(host));
    return t;
}

}  // namespace

void use_tls(const std::string& ca_file) {
    std::shared_ptr<ssl::context> ctx;
    if (!ca_file.empty()) {
        ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
        ctx->set_verify_mode(ssl::verify_peer);
        ctx->load_verify_file(ca_file);
    }
    std::lock_guard lock(tls_mutex);
    tls_context = std::move(ctx);
}

struct ws_client::impl {
    net::io_context io;
    std::optional<websocket::stream<transport>> ws;
    beast::flat_buffer buffer;
    std::thread thread;
    std::mutex mutex;
    std::condition_variable arrived;
    std::deque<protocol::packet> inbox;
    std::size_t messages = 0;
    std::size_t failures = 0;
    bool open = true;
    bool reading = false;
    std::optional<int> close_code;
    std::string close_reason;
    std::string error;

    void read_loop() {
        reading = true;
        ws->async_read(buffer, [this](boost::system::error_code ec, std::size_t) {
            std::lock_guard lock(mutex);
            if (ec) {
                open = false;
                if (ws->reason().code != websocket::close_code::none) {
                    close_code = static_cast<int>(ws->reason().code);
                    close_reason = std::string(ws->reason().reason.data(), ws->reason().reason.size());
                }
                error = ec.message();
                arrived.notify_all();
                return;
            }
            ++messages;
            auto data = buffer.cdata();
            auto packets = protocol::decode_message({static_cast<const std::uint8_t*>(data.data()), data.size()});
            buffer.consume(buffer.size());
            if (!packets) ++failures;
            else for (auto& p : *packets) inbox.push_back(std::move(p));
            arrived.notify_all();
            net::post(io, [this] { read_loop(); });
        });
    }

    // Runs an asynchronous operation on the client's thread and waits for it.
    template <class F>
    void on_thread(F&& f) {
        auto done = std::make_shared<std::promise<void>>();
        auto finished = done->get_future();
        net::post(io, [f = std::forward<F>(f), done]() mutable {
            f([done](boost::system::error_code) { done->set_value(); });
        });
        if (finished.wait_for(10s) != std::future_status::ready)
            throw std::runtime_error("test client: operation did not complete within 10 s");
    }
};

ws_client::ws_client(ws_options opts) : impl_(std::make_unique<impl>()) {
    tcp::resolver resolver(impl_->io);
    auto& ws = impl_->ws.emplace(client_transport(impl_->io, opts.host));
    auto& socket = beast::get_lowest_layer(ws);
    const tcp::endpoint to = *resolver.resolve(opts.host, std::to_string(opts.port)).begin();
    socket.open(to.protocol());
    if (!opts.from.empty()) socket.bind({net::ip::make_address(opts.from), 0});
    ws.set_option(websocket::stream_base::decorator([headers = opts.headers](websocket::request_type& req) {
        for (const auto& [name, value] : headers) req.set(name, value);
    }));
    ws.read_message_max(opts.read_limit);
    ws.binary(true);

    // Connect, the TLS handshake if any, the WebSocket handshake: 5 s in all.
    websocket::response_type res;
    boost::system::error_code ec;
    std::string step = "connect";
    net::steady_timer watchdog(impl_->io, 5s);
    watchdog.async_wait([&](boost::system::error_code e) {
        if (!e) ws.next_layer().close();
    });
    const auto finish = [&](boost::system::error_code e) {
        ec = e;
        watchdog.cancel();
    };
    const auto upgrade = [&] {
        step = "WebSocket handshake";
        ws.async_handshake(res, opts.host + ":" + std::to_string(opts.port), opts.target, finish);
    };
    socket.async_connect(to, [&](boost::system::error_code e) {
        if (e) return finish(e);
        socket.set_option(tcp::no_delay(true));
        if (!ws.next_layer().is_tls()) return upgrade();
        step = "TLS handshake";
        ws.next_layer().tls()->async_handshake(ssl::stream_base::client, [&](boost::system::error_code e2) {
            if (e2) return finish(e2);
            upgrade();
        });
    });
    impl_->io.run();
    impl_->io.restart();
    if (ec) throw ws_error(step + " failed: " + ec.message(), static_cast<int>(res.result_int()));
    if (opts.read) impl_->read_loop();
    impl_->thread = std::thread([this] {
        auto guard = net::make_work_guard(impl_->io);
        impl_->io.run();
    });
}

ws_client::~ws_client() {
    try {
        close();
    } catch (...) {
    }
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void ws_client::start_reading() {
    net::post(impl_->io, [this] {
        if (!impl_->reading) impl_->read_loop();
    });
}

void ws_client::send(const protocol::packet& p) {
    auto b = protocol::encode(p);
    if (!b) throw std::runtime_error("test client cannot encode packet: " + std::string(protocol::error_name(b.error())));
    send_raw(std::move(*b));
}

void ws_client::send_raw(std::vector<std::uint8_t> bytes) {
    auto owned = std::make_shared<std::vector<std::uint8_t>>(std::move(bytes));
    impl_->on_thread([this, owned](auto done) {
        impl_->ws->binary(true);
        impl_->ws->async_write(net::buffer(*owned), [owned, done](boost::system::error_code ec, std::size_t) { done(ec); });
    });
}

void ws_client::send_fragmented(std::vector<std::uint8_t> message, std::size_t fragment_size, bool ping_between) {
    auto owned = std::make_shared<std::vector<std::uint8_t>>(std::move(message));
    for (std::size_t at = 0;; at += fragment_size) {
        const std::size_t n = std::min(fragment_size, owned->size() - at);
        const bool fin = at + n >= owned->size();
        impl_->on_thread([this, owned, at, n, fin](auto done) {
            impl_->ws->binary(true);
            impl_->ws->async_write_some(fin, net::buffer(owned->data() + at, n),
                                       [owned, done](boost::system::error_code ec, std::size_t) { done(ec); });
        });
        if (fin) return;
        if (ping_between)
            impl_->on_thread([this](auto done) { impl_->ws->async_ping({}, [done](boost::system::error_code ec) { done(ec); }); });
    }
}

void ws_client::send_text(std::string text) {
    auto owned = std::make_shared<std::string>(std::move(text));
    impl_->on_thread([this, owned](auto done) {
        impl_->ws->text(true);
        impl_->ws->async_write(net::buffer(*owned), [this, owned, done](boost::system::error_code ec, std::size_t) {
            impl_->ws->binary(true);
            done(ec);
        });
    });
}

std::optional<protocol::packet> ws_client::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    impl_->arrived.wait_for(lock, timeout, [this] { return !impl_->inbox.empty() || !impl_->open; });
    if (impl_->inbox.empty()) return std::nullopt;
    auto p = std::move(impl_->inbox.front());
    impl_->inbox.pop_front();
    return p;
}

void ws_client::close() {
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->open) return;
    }
    impl_->on_thread([this](auto done) {
        if (!impl_->ws->is_open()) return done({});
        impl_->ws->async_close(websocket::close_code::normal, [done](boost::system::error_code ec) { done(ec); });
    });
    wait_closed(2s);
}

std::optional<int> ws_client::wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    impl_->arrived.wait_for(lock, timeout, [this] { return !impl_->open; });
    if (impl_->open) throw std::runtime_error("connection still open after the timeout");
    return impl_->close_code;
}

bool ws_client::is_open() {
    std::lock_guard lock(impl_->mutex);
    return impl_->open;
}

std::size_t ws_client::messages_received() {
    std::lock_guard lock(impl_->mutex);
    return impl_->messages;
}

std::size_t ws_client::decode_failures() {
    std::lock_guard lock(impl_->mutex);
    return impl_->failures;
}

std::string ws_client::close_note() {
    std::lock_guard lock(impl_->mutex);
    if (impl_->open) return "";
    return " (connection closed: " + impl_->error + (impl_->close_code ? ", code " + std::to_string(*impl_->close_code) : "") +
           (impl_->close_reason.empty() ? "" : ", " + impl_->close_reason) + ")";
}

// ---- HTTP ---------------------------------------------------------------------------

http_result http_call(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body,
                      std::map<std::string, std::string> headers, const std::string& from) {
    net::io_context io;
    transport stream = client_transport(io, "127.0.0.1");
    auto& socket = stream.next_layer();
    socket.open(tcp::v4());
    if (!from.empty()) socket.bind({net::ip::make_address(from), 0});
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    if (auto* tls = stream.tls()) tls->handshake(ssl::stream_base::client);
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (method == "HEAD") parser.skip(true);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    http_result out;
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& field : res) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto& slot = out.headers[name];
        if (!slot.empty()) slot += "\n";
        slot += std::string(field.value());
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    return out;
}

std::string sign_up(std::uint16_t port, const std::string& username, const std::string& password) {
    const std::string body = nlohmann::json{{"username", username}, {"password", password}}.dump();
    auto res = http_call(port, "POST", "/api/register", body);
    if (res.status == 409) res = http_call(port, "POST", "/api/login", body);
    if (res.status != 201 && res.status != 200)
        throw std::runtime_error("sign up of " + username + " failed: " + std::to_string(res.status) + " " + res.body);
    return nlohmann::json::parse(res.body).at("token").get<std::string>();
}

}  // namespace parley::testing
