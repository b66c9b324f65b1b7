#include "server/server.hpp"

#include "server/chat/room_registry.hpp"
#include "server/cluster_node.hpp"
#include "server/core/bounds.hpp"
#include "server/core/clock.hpp"
#include "server/core/log.hpp"
#include "server/net/admin_ops.hpp"
#include "server/net/control_socket.hpp"
#include "server/net/event_loops.hpp"
#include "server/net/listener.hpp"
#include "server/net/server_context.hpp"
#include "server/net/static_files.hpp"
#include "server/net/tls.hpp"
#include "server/net/websocket_session.hpp"
#include "server/store/accounts.hpp"
#include "server/store/backup.hpp"
#include "server/store/batch_writer.hpp"
#include "server/store/migrations.hpp"
#include "server/store/schema_upgrade.hpp"
#include "server/store/storage.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sodium.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace parley::server {
namespace net = boost::asio;
namespace fs = std::filesystem;

namespace {

// Epoch ids are random, so that a database restored from a backup, whose
// counters went back in time, can never hand out an epoch a client already
// knows with other events in it. 53 bits: exact in JavaScript.
std::uint64_t random_epoch() {
    std::uint64_t id = 0;
    while (id == 0) {
        randombytes_buf(&id, sizeof id);
        id &= protocol::limits::max_safe_integer;
    }
    return id;
}

fs::path executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::current_path() : exe.parent_path();
}

// First existing directory among the candidates; the first one if none exists.
fs::path first_existing(std::initializer_list<fs::path> candidates) {
    for (const auto& c : candidates) {
        std::error_code ec;
        if (fs::is_directory(c, ec)) return c;
    }
    return *candidates.begin();
}

std::vector<static_files::mount> client_mounts(const config& cfg) {
    const fs::path exe = executable_dir();  // build/server/ in a source tree, PREFIX/bin installed
    // An installed binary serves its own share/parley/, whatever the
    // working directory holds; a build tree's serves the source tree's.
    const bool installed = running_from_install();
    const fs::path web = !cfg.static_dir.empty() ? fs::path(cfg.static_dir)
                         : installed             ? exe / "../share/parley/web"
                                                 : first_existing({fs::path("web"), exe / "../../web"});
    const fs::path wasm = !cfg.wasm_dir.empty() ? fs::path(cfg.wasm_dir)
                          : installed            ? exe / "../share/parley/wasm"
                                                 : first_existing({exe / "../wasm", fs::path("build/wasm")});
    return {{"/wasm/", wasm.lexically_normal()}, {"/", web.lexically_normal()}};
}

// The registration mode and the sentence that explains it in the log. An
// unset mode follows the listening address: only this machine reaches a
// loopback server, so it is open; anything else could be reached by
// strangers, so it needs invites.
std::string resolve_registration(config& cfg, const net::ip::address& address) {
    if (cfg.registration) return "set by --registration";
    cfg.registration = address.is_loopback() ? registration_mode::open : registration_mode::invite;
    return address.is_loopback() ? "the default on a loopback address"
                                 : "the default on a non-loopback address; --registration open to change it";
}

// 2026-12-04 13:00 UTC
std::string format_utc(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

}  // namespace

struct server::impl {
    explicit impl(config c) : cfg(std::move(c)), loops(thread_count()) {}

    unsigned thread_count() const {
        return cfg.threads != 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
    }

    config cfg;
    std::optional<data_dir_lock> dir_lock;  // held for the server's whole life
    metrics stats;
    event_loops loops;  // connections and rooms live on these
    std::unique_ptr<batch_writer> writer;
    std::unique_ptr<cluster_node> cluster;  // --cluster: after the writer it feeds, before the rooms that use it
    std::unique_ptr<sql_store> store;
    std::unique_ptr<accounts> accts;
    std::unique_ptr<sql_catalog> catalog;  // outlives rooms
    std::unique_ptr<room_registry> rooms;
    std::unique_ptr<static_files> files;
    net::thread_pool blocking{2};
    std::unique_ptr<server_context> ctx;
    std::unique_ptr<tls_credentials> tls;  // with --tls-cert and --tls-key
    std::shared_ptr<listener> acceptor;
    std::shared_ptr<listener> redirector;  // --redirect-http
    std::unique_ptr<control_socket> control;  // `parley admin` acts through it (admin_ops.hpp)
    std::optional<net::steady_timer> session_sweep;
    std::thread stopper;
    std::once_flag stop_once;
    bool started = false;

    void shutdown_in_order();
    void sweep_sessions();
    void start_control_socket();
    void watch_signals(net::signal_set& signals, server& owner);
    void reload();
};

// Without it the server still serves; `parley admin` then says it cannot
// reach the server instead of acting behind its back.
void server::impl::start_control_socket() {
    try {
        control = std::make_unique<control_socket>(loops.at(0), blocking, control_socket_path(cfg.data_dir),
                                                   [this](std::string_view line) { return handle_control_request(line, *ctx); });
    } catch (const std::exception& e) {
        log::warn(log::server, "no control socket, so `parley admin` cannot act through this server", {{"error", e.what()}});
    }
}

// Once a minute, connections whose session expired are signed out, as a
// logout would: a token's lifetime bounds its open sockets too. The same
// sweep writes the log's repeat summaries.
void server::impl::sweep_sessions() {
    session_sweep->expires_after(std::chrono::seconds(60));
    session_sweep->async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        ctx->connections.end_expired(now_ms());
        log::flush_repeats();  // summaries of the minute's suppressed repeats
        sweep_sessions();
    });
}

server::server(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {
    impl& s = *impl_;
    log::set_level(s.cfg.level);
    log::set_format(s.cfg.format);
    fs::create_directories(s.cfg.data_dir);
    // One server per data directory; `parley restore` waits for it to stop.
    std::string holder;
    s.dir_lock = data_dir_lock::try_acquire(s.cfg.data_dir, holder);
    if (!s.dir_lock) throw std::runtime_error(s.cfg.data_dir + " is in use by " + holder + " (another parley server?)");
    store_url path;
    try {
        path = store_url::parse(s.cfg.store_location());
    } catch (const std::invalid_argument& e) {
        throw setup_error(e.what());
    }
    upgrade_store(path);  // an older SQLite schema is backed up beside it first
    batch_writer::options wopts;
    wopts.max_events = s.cfg.batch_max_events;
    wopts.max_delay = s.cfg.batch_max_delay;
    s.writer = std::make_unique<batch_writer>(
        path, wopts, s.stats,
        batch_writer::reports{[&s](std::uint32_t room, std::uint64_t seq) {
                                  s.rooms->persisted(room, seq);
                                  if (s.cluster) s.cluster->persisted(room, seq);
                              },
                              [&s](std::uint32_t room, std::uint64_t seq) {
                                  // In a cluster the event stays in its outbox and is written again.
                                  if (s.cluster)
                                      return log::error(log::store, "a cluster event could not be stored",
                                                        {{"room", room}, {"seq", seq}});
                                  s.rooms->voided(room, seq);
                              }});
    if (s.cfg.clustered()) {
        try {
            s.cluster = std::make_unique<cluster_node>(s.loops.at(0).get_executor(), s.cfg, *s.writer, random_epoch);
        } catch (const std::invalid_argument& e) {
            throw setup_error(e.what());
        }
    }
    s.store = std::make_unique<sql_store>(path, 2);
    const auto address = net::ip::make_address(s.cfg.listen_host);
    const std::string why = resolve_registration(s.cfg, address);
    s.accts = std::make_unique<accounts>(path, s.cfg);
    if (const int purged = s.accts->purge_expired_sessions(); purged > 0)
        log::info(log::store, "purged expired sessions", {{"count", purged}});
    room_services services{s.cfg, s.stats, s.writer.get(), s.store.get()};
    services.new_epoch = random_epoch;
    if (s.cluster) services.link = &s.cluster->link();
    // Rooms stay on disk until first used: nothing about them is read here
    // but the highest id.
    s.catalog = std::make_unique<sql_catalog>(path);
    s.rooms = std::make_unique<room_registry>(s.loops.all(), services, *s.catalog);
    s.files = std::make_unique<static_files>(client_mounts(s.cfg));
    s.ctx = std::make_unique<server_context>(s.cfg, s.stats, *s.accts, *s.rooms, *s.writer, *s.files, s.blocking);
    if (s.cluster) {
        s.cluster->on_connected([&s] { s.rooms->refill_room_ids(); });  // ids for rooms created here
        s.ctx->problems = [&s] { return s.cluster->problems(); };
        s.ctx->cluster_metrics = [&s] { return s.cluster->metrics_text(); };
    }
    // Every connection of a user shows the same room list.
    s.rooms->on_list_change([&s](std::uint64_t user, std::uint32_t room, std::optional<protocol::room_entry> entry) {
        s.ctx->connections.for_user(user, [&](websocket_session& ws) { ws.room_list_changed(room, entry); });
    });
    if (s.cfg.tls()) {
        try {
            s.tls = std::make_unique<tls_credentials>(s.cfg.tls_cert, s.cfg.tls_key);
        } catch (const tls_error& e) {
            throw setup_error(e.what());
        }
        s.ctx->tls = s.tls.get();
        const auto cert = s.tls->certificate();
        log::info(log::server, "TLS: serving a certificate",
                  {{"subject", cert.subject}, {"file", s.cfg.tls_cert}, {"valid_until", format_utc(cert.not_after)}});
        if (cert.not_after < std::chrono::system_clock::now())
            log::warn(log::server, "TLS: the certificate has expired: browsers will refuse it", {{"file", s.cfg.tls_cert}});
    }
    s.acceptor = std::make_shared<listener>(s.loops.all(), net::ip::tcp::endpoint(address, s.cfg.listen_port), *s.ctx);
    s.ctx->tls_port = s.acceptor->port();
    if (!s.cfg.redirect_http.empty()) {
        const auto [host, port] = parse_host_port(s.cfg.redirect_http);
        s.redirector = std::make_shared<listener>(s.loops.all(), net::ip::tcp::endpoint(net::ip::make_address(host), port),
                                                  *s.ctx, listener_role::redirect);
    }
    s.start_control_socket();
    log::info(log::server, "starting (rooms load on first use)", {{"version", PARLEY_VERSION}, {"store", path.describe()}});
    log::info(log::server, "registration", {{"mode", to_string(*s.cfg.registration)}, {"why", why},
                                            {"invites", s.cfg.member_invites ? "members" : "admins"}});
    if (*s.cfg.registration != registration_mode::open && s.accts->count_users() == 0)
        log::info(log::server, "no accounts yet: create the first (an admin) with `parley admin add-user NAME --admin`, "
                               "or make an invite with `parley admin invite`");
}

server::~server() {
    if (impl_->started) {
        stop();
        wait();
    } else {
        impl_->writer->stop();
        impl_->store->stop();
        impl_->blocking.join();
    }
}

void server::start() {
    impl& s = *impl_;
    s.started = true;
    s.writer->start();
    if (s.cluster) {
        s.cluster->start();
        // Rooms created in the first moments need ids from the cluster: a
        // reachable Redis gives them in a round trip or two. Without it the
        // node starts all the same (degraded) and creations are refused until it is back.
        s.loops.start();
        if (!s.rooms->wait_for_room_ids(std::chrono::seconds(2)))
            log::warn(log::server, "no room ids from the cluster yet: new rooms are refused until Redis answers");
    }
    s.acceptor->run();
    if (s.control) s.control->run();
    if (s.redirector) s.redirector->run();
    s.session_sweep.emplace(s.loops.at(0));
    s.sweep_sessions();
    if (!s.cluster) s.loops.start();  // in a cluster: started above
    log::info(log::server, "listening", {{"scheme", s.tls ? "https" : "http"}, {"host", s.cfg.listen_host},
                                         {"port", s.acceptor->port()}, {"event_loops", s.loops.size()}});
    if (s.redirector)
        log::info(log::server, "redirecting plain HTTP to https://",
                  {{"host", parse_host_port(s.cfg.redirect_http).first}, {"port", s.redirector->port()}});
    // Under systemd (Type=notify) `systemctl start` returns now, not before:
    // the port accepts, the database is open, the writer runs. Without
    // NOTIFY_SOCKET this does nothing.
    sd_notifyf(0, "READY=1\nSTATUS=serving on %s:%u\nMAINPID=%lu", s.cfg.listen_host.c_str(),
               static_cast<unsigned>(s.acceptor->port()), static_cast<unsigned long>(::getpid()));
}

void server::stop() {
    impl& s = *impl_;
    std::call_once(s.stop_once, [&s] { s.stopper = std::thread([&s] { s.shutdown_in_order(); }); });
}

void server::impl::shutdown_in_order() {
    sd_notify(0, "STOPPING=1\nSTATUS=draining connections and the writer");
    log::info(log::server, "shutting down: no new connections, closing WebSockets");
    ctx->stopping = true;
    acceptor->stop();
    if (control) control->stop();
    if (redirector) redirector->stop();
    net::post(loops.at(0), [this] { session_sweep->cancel(); });
    ctx->connections.shutdown_all();
    const auto deadline = std::chrono::steady_clock::now() + bounds::drain_timeout;
    while (ctx->connections.size() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    rooms->stop();  // lookups in flight may still create rooms: before the writer
    if (cluster) cluster->stop();  // its leases go to the other nodes at once
    log::info(log::server, "draining the writer", {{"backlog", writer->backlog()}});
    writer->stop();
    store->stop();
    blocking.join();
    loops.stop();
    log::info(log::server, "stopped");
    log::flush_repeats();
}

void server::wait() {
    impl& s = *impl_;
    s.loops.join();
    if (s.stopper.joinable()) s.stopper.join();
}

// SIGINT and SIGTERM stop the server; SIGHUP (systemctl reload) reloads
// what can change while it runs and keeps serving.
void server::impl::watch_signals(net::signal_set& signals, server& owner) {
    signals.async_wait([this, &signals, &owner](boost::system::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            sd_notify(0, "RELOADING=1");
            reload();
            sd_notify(0, "READY=1");
            watch_signals(signals, owner);
            return;
        }
        log::info(log::server, "received signal", {{"signal", sig}});
        owner.stop();
    });
}

// What SIGHUP reloads: the TLS certificate and key. A pair that does not
// load leaves the current one serving.
void server::impl::reload() {
    if (!tls) return log::info(log::server, "SIGHUP: nothing to reload in this configuration");
    if (auto failed = tls->reload())
        return log::error(log::server, "SIGHUP: the new certificate does not load, keeping the current one",
                          {{"error", *failed}});
    const auto cert = tls->certificate();
    log::info(log::server, "SIGHUP: reloaded the certificate, new connections use it",
              {{"subject", cert.subject}, {"file", cfg.tls_cert}, {"valid_until", format_utc(cert.not_after)}});
}

int server::run() {
    start();
    net::signal_set signals(impl_->loops.at(0), SIGINT, SIGTERM, SIGHUP);
    impl_->watch_signals(signals, *this);
    wait();
    return 0;
}

std::uint16_t server::port() const { return impl_->acceptor->port(); }
std::uint16_t server::redirect_port() const { return impl_->redirector ? impl_->redirector->port() : 0; }

}  // namespace parley::server
