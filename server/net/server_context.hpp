// What every connection of one server shares: settings, metrics, services,
// rate limits, and the registry used to close all WebSockets at shutdown.
#pragma once

#include "server/chat/room_registry.hpp"
#include "server/core/bounds.hpp"
#include "server/core/config.hpp"
#include "server/core/metrics.hpp"
#include "server/core/rate_limiter.hpp"
#include "server/net/connection_cap.hpp"
#include "server/net/connection_registry.hpp"
#include "server/net/login_guard.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace boost::asio {
class thread_pool;
}

namespace parley::server {

class accounts;
class event_sink;
class static_files;
class tls_credentials;

struct server_context {
    server_context(const config& c, metrics& m, accounts& a, room_registry& r, const event_sink& w,
                   static_files& f, boost::asio::thread_pool& pool)
        : cfg(c), stats(m), accts(a), rooms(r), writer(w), files(f), blocking(pool),
          message_limits(c.message_rate, c.message_burst),
          reaction_limits(c.reaction_rate, c.reaction_burst),
          typing_limits(c.typing_rate, c.typing_burst),
          auth_limits(c.auth_rate, c.auth_burst),
          logins(login_guard::options{.free_failures = c.login_failures_per_account,
                                      .address_failures = c.login_failures_per_address}),
          room_create_limits(static_cast<double>(c.rooms_per_hour) / 3600, static_cast<double>(c.rooms_per_hour)),
          direct_limits(static_cast<double>(c.directs_per_hour) / 3600, static_cast<double>(c.directs_per_hour)),
          address_slots(c.max_connections_per_address),
          tls_handshakes(c.max_tls_handshakes_per_address) {}

    const config& cfg;
    metrics& stats;
    accounts& accts;
    room_registry& rooms;
    const event_sink& writer;  ///< its backlog, for /healthz and /metrics
    static_files& files;
    boost::asio::thread_pool& blocking;  ///< password hashing and account queries

    rate_limiter message_limits;   ///< per user
    rate_limiter reaction_limits;  ///< per user
    rate_limiter typing_limits;    ///< per user
    rate_limiter auth_limits;      ///< per client address: registrations and untrusted logins
    login_guard logins;            ///< password guessing, per account and per address
    rate_limiter room_create_limits;  ///< per user, hourly: every new room is stored for good
    rate_limiter direct_limits;       ///< per user, hourly: new direct conversations (opening one that exists is free)
    rate_limiter history_limits{bounds::history_rate, bounds::history_burst};  ///< per user: history reads touch the disk

    connection_cap address_slots;  ///< open TCP connections per client address
    connection_cap tls_handshakes;  ///< TLS handshakes in progress per client address
    tls_credentials* tls = nullptr;  ///< the certificate new connections use; null: plain TCP
    std::uint16_t tls_port = 0;       ///< where the redirect listener sends browsers
    connection_registry connections;
    /// Cluster mode (set before the listener starts, or empty): what is
    /// wrong with the services the node needs ("redis unreachable"), for
    /// /healthz, and its counters in Prometheus text, for /metrics.
    std::function<std::vector<std::string>()> problems;
    std::function<std::string()> cluster_metrics;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> next_connection_id{1};
};

}  // namespace parley::server
