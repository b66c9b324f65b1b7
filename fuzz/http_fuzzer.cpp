// Fuzz target: HTTP requests, from raw bytes to the response.
//
// INPUT
// Raw bytes of one or more pipelined HTTP/1.1 requests. Each goes through
// beast's request_parser with http_session's bounds (16 KiB of header, 64 KiB
// of body) and, when it parses, through the handlers the server uses:
// handle_api (register, login, logout, me, rooms: JSON bodies, cookies,
// Bearer tokens), static_files::serve (paths, ETags, gzip) and
// origin_allowed for WebSocket upgrades. Before parsing, "$T" in the input
// becomes a live session token of user "ana" and "$D" a device cookie that
// the server signed for her, so the signed-in paths are reached as well.
//
// The dispatch of http_session::route and ::upgrade is repeated here (a few
// lines): it is a private member that needs a socket. Everything it
// dispatches to is the server's own code.
//
// STATE
// One temporary directory per process: a SQLite database (migrated, as at
// start-up), the mounts "/" and "/wasm/", and files beside them that no
// request may reach. Accounts persist between inputs (registrations stay);
// Argon2 runs at its minimum cost and the rate limits are wide open, so
// inputs spend their time in the handlers, not in 429s.
//
// INVARIANTS (a break prints what broke, then traps)
// - Nothing throws out of a handler; every response has a known status and
//   no header value with CR, LF or NUL (no response splitting).
// - A response that says application/json parses as JSON: input is never
//   echoed unescaped.
// - static_files::resolve never names a path outside its mount (checked with
//   lexically_normal/lexically_relative), and no response body is the
//   content of a file outside the mounts.
// - url_decode never yields a NUL and leaves text without '%' unchanged;
//   origin_allowed accepts the same origin and anything under "*".
#include "server/chat/room_registry.hpp"
#include "server/core/log.hpp"
#include "server/net/api.hpp"
#include "server/net/http_session.hpp"
#include "server/net/server_context.hpp"
#include "server/net/static_files.hpp"
#include "server/store/accounts.hpp"
#include "server/store/database.hpp"
#include "server/store/migrations.hpp"
#include "server/store/storage.hpp"

#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
namespace net = boost::asio;
using namespace parley::server;

constexpr std::size_t max_header_bytes = 16 * 1024;  // as http_session.cpp
constexpr std::size_t max_body_bytes = 64 * 1024;
constexpr std::size_t max_requests = 4;               // per input
constexpr std::string_view secret = "SECRET-OUTSIDE-THE-MOUNTS";

[[noreturn]] void broken(const std::string& what) {
    std::fprintf(stderr, "fuzz_http: invariant broken: %s\n", what.c_str());
    __builtin_trap();
}
#define CHECK(cond, what)                                        \
    do {                                                         \
        if (!(cond)) broken(std::string(what) + " [" #cond "]"); \
    } while (0)

void write_file(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

/// The writer as /healthz and /metrics see it: the fuzzed requests store no events.
struct idle_writer final : event_sink {
    void push(storage_event) override {}
    std::size_t backlog() const override { return 0; }
};

/// Everything one server holds, once per process.
struct world {
    fs::path dir;
    config cfg;
    metrics stats;
    net::io_context io;
    std::unique_ptr<accounts> accts;
    std::unique_ptr<sql_catalog> catalog;  // outlives rooms
    std::unique_ptr<room_registry> rooms;
    idle_writer writer;
    std::unique_ptr<static_files> files;
    net::thread_pool blocking{1};
    std::unique_ptr<server_context> ctx;
    std::vector<static_files::mount> mounts;
    std::string token, device;

    world() {
        log::set_level(log_level::error);
        char tmpl[] = "/tmp/parley-fuzz-http-XXXXXX";
        if (mkdtemp(tmpl) == nullptr) std::abort();
        dir = tmpl;
        make_files();
        cfg.data_dir = dir.string();
        cfg.password_ops = 1, cfg.password_mem_kib = 8;  // --password-cost min
        cfg.auth_rate = 1e9, cfg.auth_burst = 1e9;
        cfg.login_failures_per_account = cfg.login_failures_per_address = 1u << 30;
        {
            database db(cfg.database_path(), database::mode::read_write);
            migrate(db);
            // The directory that /api/rooms pages through.
            db.exec("INSERT INTO rooms (id, name, title, kind, created_at, last_seq) VALUES"
                    " (1, 'general', 'general', 0, 0, 5), (2, 'v1.2', 'v1.2', 0, 0, 0),"
                    " (3, 'caf\xc3\xa9', 'caf\xc3\xa9', 0, 0, 7)");
        }
        accts = std::make_unique<accounts>(cfg.database_path(), cfg);
        catalog = std::make_unique<sql_catalog>(cfg.database_path());
        rooms = std::make_unique<room_registry>(io, room_services{cfg, stats}, *catalog);
        files = std::make_unique<static_files>(mounts);
        ctx = std::make_unique<server_context>(cfg, stats, *accts, *rooms, writer, *files, blocking);
        accts->register_user("ana", "correct horse");
        device = accts->issue_device_cookie("ana");
    }
    ~world() {
        blocking.join();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    void make_files() {
        const fs::path web = dir / "web", wasm = dir / "wasm";
        write_file(web / "index.html", "<!doctype html><title>parley</title>\n");
        write_file(web / "app.js", std::string(2000, 'x') + "\n");  // big enough to be gzipped
        write_file(web / "css" / "site.css", "body{}\n");
        write_file(web / "r" / "x.txt", "route\n");
        write_file(wasm / "parley.wasm", std::string("\0asm", 4) + std::string(1500, '\1'));
        // Beside the mounts: a request must never reach these.
        write_file(dir / "secret.txt", std::string(secret));
        write_file(dir / "webx" / "index.html", std::string(secret));
        write_file(dir / "wasm-private" / "k.txt", std::string(secret));
        mounts = {{"/wasm/", wasm}, {"/", web}};
    }

    /// A token that is live now (a fuzzed logout may have revoked the last one).
    const std::string& live_token() {
        if (token.empty() || !accts->find_session(token)) {
            auto s = accts->login("ana", "correct horse");
            if (auto* ok = std::get_if<issued_session>(&s)) token = ok->token;
        }
        return token;
    }
};

world& the_world() {
    static world w;
    return w;
}

std::string substitute(std::string text, world& w) {
    auto replace = [&](std::string_view from, const std::string& to) {
        for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
    };
    if (text.find("$T") != std::string::npos) replace("$T", w.live_token());
    replace("$D", w.device);
    return text;
}

// ---- the dispatch of http_session::route and ::upgrade, without a socket ------------------------
http_response plain(const http_request& req, http::status status, std::string_view type, std::string body) {
    http_response res{status, req.version()};
    res.set(http::field::content_type, type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

http_response route(const http_request& req, world& w) {
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (boost::beast::websocket::is_upgrade(req)) {
        if (path != "/ws") return plain(req, http::status::not_found, "text/plain", "WebSocket endpoint is /ws\n");
        if (!origin_allowed(req[http::field::origin], req[http::field::host], "http", w.cfg.allowed_origins))
            return plain(req, http::status::forbidden, "text/plain", "origin not allowed\n");
        (void)token_of(req);  // what the websocket_session would get
        return plain(req, http::status::switching_protocols, "text/plain", "");
    }
    if (path == "/healthz") {
        const nlohmann::json body{{"status", "ok"}, {"connections", 0}, {"rooms", 3}, {"writer_backlog", 0}};
        return plain(req, http::status::ok, "application/json", body.dump());
    }
    if (path == "/metrics") return plain(req, http::status::ok, "text/plain; version=0.0.4", w.stats.render({.rooms = 3}));
    if (path.starts_with("/api/")) return handle_api(req, "203.0.113.7", *w.ctx);
    return w.files->serve(req);
}

// ---- invariants ---------------------------------------------------------------------------------
bool inside(const fs::path& p, const fs::path& dir) {
    const fs::path rel = p.lexically_normal().lexically_relative(dir.lexically_normal());
    return !rel.empty() && *rel.begin() != ".." && !rel.is_absolute();
}

void check_resolve(std::string_view target, world& w) {
    const auto p = w.files->resolve(target);
    if (!p) return;
    bool ok = false;
    for (const auto& m : w.mounts) ok = ok || inside(*p, m.directory);
    CHECK(ok, "resolve(\"" + std::string(target) + "\") = " + p->string() + ", outside every mount");
}

void check_helpers(const http_request& req) {
    const std::string_view target = req.target();
    if (auto d = url_decode(target)) {
        CHECK(d->find('\0') == std::string::npos, "url_decode produced a NUL");
        if (target.find('%') == std::string_view::npos) CHECK(*d == target, "url_decode changed text without escapes");
    }
    for (std::string_view name : {session_cookie_name, device_cookie_name, std::string_view("theme")})
        CHECK(cookie_of(req, name).find(';') == std::string::npos, "a cookie value ran into the next cookie");
    const std::string_view host = req[http::field::host];
    CHECK(origin_allowed("http://" + std::string(host), host, "http", {}), "the same origin was refused");
    const std::string_view origin = req[http::field::origin];
    if (origin.find("://") != std::string_view::npos)
        CHECK(origin_allowed(origin, host, "http", {"*"}), "an origin was refused under \"*\"");
}

void check_response(const http_request& req, const http_response& res) {
    CHECK(http::obsolete_reason(res.result()) != "<unknown-status>",
          "unknown status " + std::to_string(res.result_int()));
    CHECK(res.result_int() >= 100 && res.result_int() <= 599, "status out of range");
    for (const auto& f : res)
        CHECK(f.value().find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos,
              "header " + std::string(f.name_string()) + " carries CR, LF or NUL");
    CHECK(res.body().find(secret) == std::string::npos,
          "served a file outside the mounts for " + std::string(req.target()));
    if (res[http::field::content_type].starts_with("application/json") && !res.body().empty()) {
        const auto j = nlohmann::json::parse(res.body(), nullptr, false);
        CHECK(!j.is_discarded(), "a JSON response that is not JSON: " + res.body().substr(0, 200));
        if (res.result_int() >= 400) CHECK(j.is_object() && j.contains("error"), "a JSON error without \"error\"");
    }
    std::ostringstream wire;  // it serializes, as async_write will
    wire << res;
}

/// Parses one request from the front of `in`; returns the bytes it used, 0 if it did not parse.
std::size_t handle_one(std::string_view in, world& w) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(max_body_bytes);
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (used < in.size() && !parser.is_done()) {
        const std::size_t n = parser.put(net::buffer(in.data() + used, in.size() - used), ec);
        used += n;
        if (ec == http::error::need_more) break;
        if (ec) return 0;  // the server answers 400 or 413 and closes
        if (n == 0) break;
    }
    if (!parser.is_done()) {
        parser.put_eof(ec);
        if (ec || !parser.is_done()) return 0;  // the peer left mid-request
    }
    const http_request& req = parser.get();
    check_helpers(req);
    check_resolve(req.target(), w);
    http_response res;
    try {
        res = route(req, w);
    } catch (const std::exception& e) {
        broken(std::string("a handler threw: ") + e.what());
    }
    check_response(req, res);
    return used == 0 ? in.size() : used;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    world& w = the_world();
    const std::string input = substitute(std::string(reinterpret_cast<const char*>(data), size), w);
    std::string_view rest = input;
    for (std::size_t i = 0; i < max_requests && !rest.empty(); ++i) {
        const std::size_t used = handle_one(rest, w);
        if (used == 0) break;
        rest.remove_prefix(used);
    }
    return 0;
}
