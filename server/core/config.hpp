// Settings of the parley server: every knob an operator can turn, with its
// default and the reason for it. Command-line flags win over PARLEY_*
// environment variables, which win over the config file, which wins over
// the defaults.
#pragma once

#include "server/core/bounds.hpp"
#include "server/core/log.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::server {

/// Who may create an account over POST /api/register.
enum class registration_mode {
    open,    ///< anyone who reaches the server
    invite,  ///< only with a valid invite code (parley admin invite, or POST /api/invites)
    closed,  ///< nobody: accounts come from `parley admin add-user`
};

std::string_view to_string(registration_mode m) noexcept;

struct config {
    // ---- network
    std::string listen_host = "127.0.0.1";  ///< loopback by default; --listen 0.0.0.0:8080 to expose
    std::uint16_t listen_port = 8080;
    unsigned threads = 0;                   ///< I/O threads; 0 = hardware concurrency
    std::vector<std::string> allowed_origins;  ///< empty = same origin only ("*" allows any)
    /// Open TCP connections (HTTP and WebSocket) one client address may hold;
    /// more are refused with 503. 64 is a few browsers behind one NAT, far
    /// beyond one user's tabs, and bounds what a single address can pin down
    /// (descriptors, memory). 0: no cap (behind a reverse proxy every
    /// connection comes from the proxy's address).
    std::size_t max_connections_per_address = 64;

    // ---- TLS (both files set: HTTPS and WSS on the listen port)
    std::string tls_cert;  ///< PEM: the certificate, then its chain; reloaded on SIGHUP
    std::string tls_key;   ///< PEM: the private key of the certificate
    std::chrono::seconds tls_handshake_timeout{10};  ///< from accept to the end of the TLS handshake
    /// TLS handshakes one address may have in progress at once: each costs the
    /// server an asymmetric-key operation, so a flood of half-done handshakes
    /// is refused instead of queued.
    std::size_t max_tls_handshakes_per_address = 16;
    /// Also listen for plain HTTP here and answer every request with a
    /// redirect to https:// (empty: no such listener).
    std::string redirect_http;

    bool tls() const { return !tls_cert.empty(); }

    // ---- files
    std::string data_dir = "./data";        ///< holds parley.db
    std::string store;                      ///< --store: sqlite:PATH or postgres:URL; empty: parley.db in data_dir
    /// --cluster: redis://HOST:PORT of the cluster's Redis (empty: a single
    /// node). Needs a PostgreSQL store and --node-id.
    std::string cluster;
    std::string node_id;                    ///< --node-id: this node's name in the cluster
    bool clustered() const { return !cluster.empty(); }
    std::string static_dir;                 ///< the browser client; empty = <exe dir>/../web or ./web
    std::string wasm_dir;                   ///< the wasm build output served at /wasm/; empty = auto

    // ---- accounts
    // Argon2id cost; the default is libsodium's "interactive" level (2 passes,
    // 64 MiB), hashed on the blocking pool so logins never stall chat traffic.
    unsigned password_ops = 2;
    std::size_t password_mem_kib = 64 * 1024;  ///< minimum 8 KiB (--password-cost min, for tests)
    std::chrono::hours session_ttl{24 * 30};   ///< session tokens expire after 30 days
    bool secure_cookies = false;            ///< add `Secure` to the cookie (behind HTTPS; on by itself with TLS)
    /// Unset: `open` on a loopback address (only this machine can reach it),
    /// `invite` otherwise, so an exposed server never lets strangers in by default.
    std::optional<registration_mode> registration;
    bool member_invites = false;            ///< any signed-in member may create invites (default: admins only)

    // ---- chat
    std::size_t room_cache_messages = 500;  ///< recent messages kept per room (answers joins without disk)
    std::size_t max_rooms_per_connection = 64;
    /// Hourly quotas per user (token buckets: the whole hour's worth at once,
    /// then one every 3600/N seconds). Stored rooms bound nothing else.
    std::size_t rooms_per_hour = 20;         ///< new public and private rooms
    std::size_t directs_per_hour = 60;       ///< new direct conversations (opening one that exists is free)
    std::chrono::milliseconds room_idle{120000};  ///< a room nobody uses leaves memory after this
    std::chrono::milliseconds typing_ttl{6000};        ///< typing "on" expires without a refresh
    std::chrono::milliseconds presence_grace{3000};    ///< a reload does not flap presence
    std::size_t max_replay_messages = 1000;  ///< beyond this gap a rejoin gets the latest page instead

    // ---- per-connection bounds (slow consumers are disconnected, not waited for)
    std::size_t max_queue_bytes = 4 * 1024 * 1024;   ///< outgoing bytes waiting for one connection
    std::size_t max_queue_packets = 8192;            ///< outgoing packets waiting for one connection
    std::size_t max_batch_bytes = bounds::max_batch_bytes;  ///< coalesced into one WebSocket message
    /// Time to receive one HTTP request, headers and body (a WebSocket upgrade
    /// request included), and to wait for the next one on a kept-alive
    /// connection: a peer trickling bytes (slowloris) is dropped after it.
    std::chrono::seconds request_timeout{30};
    std::chrono::seconds handshake_timeout{10};      ///< the 101 response and the closing handshake
    std::chrono::seconds idle_timeout{60};           ///< ping after half of it, close after all of it
    std::size_t max_protocol_errors = 20;            ///< malformed packets before the connection is closed

    // ---- rate limits (token buckets: sustained rate per second, burst)
    double message_rate = 10, message_burst = 20;    ///< per user
    double reaction_rate = 10, reaction_burst = 30;  ///< per user
    double typing_rate = 2, typing_burst = 5;        ///< per user
    double auth_rate = 1, auth_burst = 10;           ///< per IP: registrations and logins without a device cookie
    std::size_t login_failures_per_account = 5;      ///< then each attempt waits, doubling (login_guard)
    std::size_t login_failures_per_address = 20;     ///< then the address waits (one forgiven per minute)
    /// Requests repeated before the wait a refusal announced, before the
    /// connection is closed; one is forgiven per rate_violation_forgiven_after.
    /// A client that honours retry_after_ms never commits one.
    std::size_t max_rate_violations = 50;
    std::chrono::milliseconds rate_violation_forgiven_after{10000};

    // ---- storage
    std::size_t batch_max_events = 10;               ///< commit when this many events wait...
    std::chrono::milliseconds batch_max_delay{5000}; ///< ...or the first has waited this long
    std::size_t max_writer_backlog = 100000;         ///< events; beyond it sends get server_busy

    log_level level = log_level::info;
    log_format format = log_format::text;  ///< text lines, or one JSON object per line

    std::string database_path() const { return data_dir + "/parley.db"; }
    /// --store, or the SQLite file in the data directory.
    std::string store_location() const { return store.empty() ? "sqlite:" + database_path() : store; }
};

/// Result of parsing the command line: a config, or a message and an exit code
/// (0 after --help, 2 for bad arguments).
struct parse_outcome {
    std::optional<config> cfg;
    std::string message;
    int exit_code = 0;
};

/**
 * Parses flags, PARLEY_* variables from `environ_lookup` and the config file:
 * --config FILE or PARLEY_CONFIG, else `default_config_file` if it exists
 * (an installed server passes installed_config_file()). --print-config
 * returns the effective settings as the message, exit code 0.
 */
parse_outcome parse_config(int argc, const char* const* argv, const char* (*environ_lookup)(const char*),
                           const std::string& default_config_file = {});

/// The config file an installed server reads by default: parley.conf in the
/// install's system configuration directory (/etc/parley with --prefix /usr).
std::string installed_config_file();

/// True when this binary runs from an installed tree (PREFIX/bin beside
/// PREFIX/share/parley), not from a build directory.
/// HOST:PORT ([V6]:PORT) split; @throws std::invalid_argument naming what is wrong
std::pair<std::string, std::uint16_t> parse_host_port(std::string_view s);

bool running_from_install();

std::string usage_text();

}  // namespace parley::server
