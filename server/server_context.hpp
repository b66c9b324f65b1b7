// What every connection of one server shares: settings, metrics, services,
// rate limits, and the registry used to close all WebSockets at shutdown.
#pragma once

#include "server/accounts.hpp"
#include "server/config.hpp"
#include "server/connection_cap.hpp"
#include "server/login_guard.hpp"
#include "server/metrics.hpp"
#include "server/rate_limiter.hpp"
#include "server/room_registry.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace parley::server {

class websocket_session;
class static_files;

/// Live WebSocket sessions: for shutdown, the connection gauge, and ending
/// every connection of a session that was signed out or expired.
class connection_registry {
public:
    void add(std::uint64_t id, std::weak_ptr<websocket_session> s);
    /// Records which session token (its hash) the connection signed in with, until when.
    void bind(std::uint64_t id, std::string token_hash, std::int64_t expires_at_ms);
    void remove(std::uint64_t id);
    std::size_t size() const;
    /// Asks every session to close with "going away".
    void shutdown_all();
    /// Signs out every connection of the session (logout). Any thread.
    void end_session(const std::string& token_hash);
    /// Signs out every connection whose session expired by `now_ms`.
    void end_expired(std::int64_t now_ms);

private:
    struct entry {
        std::weak_ptr<websocket_session> session;
        std::string token_hash;
        std::int64_t expires_at_ms = 0;
    };
    template <class Pred>
    void sign_out_if(Pred pred);

    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, entry> sessions_;
};

struct server_context {
    server_context(const config& c, metrics& m, accounts& a, room_registry& r, static_files& f,
                   boost::asio::thread_pool& pool)
        : cfg(c), stats(m), accts(a), rooms(r), files(f), blocking(pool),
          message_limits(c.message_rate, c.message_burst),
          reaction_limits(c.reaction_rate, c.reaction_burst),
          typing_limits(c.typing_rate, c.typing_burst),
          auth_limits(c.auth_rate, c.auth_burst),
          logins(login_guard::options{.free_failures = c.login_failures_per_account,
                                      .address_failures = c.login_failures_per_address}),
          room_create_limits(c.room_create_rate, c.room_create_burst),
          address_slots(c.max_connections_per_address) {}

    const config& cfg;
    metrics& stats;
    accounts& accts;
    room_registry& rooms;
    static_files& files;
    boost::asio::thread_pool& blocking;  ///< password hashing and account queries

    rate_limiter message_limits;   ///< per user
    rate_limiter reaction_limits;  ///< per user
    rate_limiter typing_limits;    ///< per user
    rate_limiter auth_limits;      ///< per client address: registrations and untrusted logins
    login_guard logins;            ///< password guessing, per account and per address
    rate_limiter room_create_limits;  ///< per user: every new room is stored for good
    static constexpr double history_rate = 20, history_burst = 40;
    rate_limiter history_limits{history_rate, history_burst};  ///< per user: history reads touch the disk

    connection_cap address_slots;  ///< open TCP connections per client address
    connection_registry connections;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> next_connection_id{1};
};

}  // namespace parley::server
