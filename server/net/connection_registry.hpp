// The live WebSocket sessions of one server, by connection id, with the
// session token each signed in with: what shutdown, sign-out and session
// expiry reach.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley::server {

class websocket_session;

/// Live WebSocket sessions: for shutdown, the connection gauge, and ending
/// every connection of a session that was signed out or expired.
class connection_registry {
public:
    void add(std::uint64_t id, std::weak_ptr<websocket_session> s);
    /// Records who signed in on the connection, with which session token (its hash), until when.
    void bind(std::uint64_t id, std::uint64_t user_id, std::string token_hash, std::int64_t expires_at_ms);
    /// Runs `f` on every live session of the user (without the lock held). Any thread.
    void for_user(std::uint64_t user_id, const std::function<void(websocket_session&)>& f);
    void remove(std::uint64_t id);
    std::size_t size() const;
    /// Asks every session to close with "going away".
    void shutdown_all();
    /// Signs out every connection of the session (logout). Any thread.
    void end_session(const std::string& token_hash);
    /// Signs out every connection whose session expired by `now_ms`.
    void end_expired(std::int64_t now_ms);
    /// Signs out every signed-in connection of the user (disabled, new password, the console). Any thread.
    /// @return how many were asked to close
    std::size_t end_user(std::uint64_t user_id);
    /// Asks every connection of the user to reconnect ("going away"; the session stays). Any thread.
    /// @return how many were asked
    std::size_t reconnect_user(std::uint64_t user_id);
    /// Signed-in connections per user id (the console).
    std::unordered_map<std::uint64_t, std::size_t> counts_by_user() const;

private:
    struct entry {
        std::weak_ptr<websocket_session> session;
        std::uint64_t user_id = 0;
        std::string token_hash;
        std::int64_t expires_at_ms = 0;
    };
    template <class Pred>
    std::size_t sign_out_if(Pred pred);

    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, entry> sessions_;
};

}  // namespace parley::server
