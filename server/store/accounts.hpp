// Accounts and sessions: registration, password checks, session tokens.
//
// Passwords are hashed with Argon2id (libsodium crypto_pwhash_str). Session
// tokens are 256 random bits, given to the client once (cookie and JSON) and
// stored only as their BLAKE2b-256 hash, with an expiry. Every method that
// touches SQLite or hashes a password blocks: call them from the blocking
// thread pool, never from an I/O thread. A small cache of recently verified
// tokens lets reconnects skip the database.
#pragma once

#include "server/core/config.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace parley::server {

struct user_identity {
    std::uint64_t id = 0;
    std::string username;
};

/// A signed-in connection's session: who, and which token (its hash), until when.
struct session_info {
    user_identity user;
    std::string token_hash;
    std::int64_t expires_at_ms = 0;
};

/// A browser that signed in to `account` before (login_guard trusts it).
struct known_device {
    std::string account;  ///< lower-case username
    std::string id;       ///< random, names the device in the guard's counters
};

struct issued_session {
    user_identity user;
    std::string token;  ///< base64url, 43 characters
    std::int64_t expires_at_ms = 0;
};

enum class account_error {
    bad_username,       ///< 1-32 of A-Z a-z 0-9 . _ -, starting with a letter or digit
    bad_password,       ///< 8-256 bytes
    username_taken,
    wrong_credentials,  ///< unknown user or wrong password (deliberately not told apart)
};

std::string_view describe(account_error e) noexcept;

/// Username rules: 1-32 bytes of A-Z a-z 0-9 '.', '_', '-', starting with a letter or digit.
bool is_valid_username(std::string_view name) noexcept;

class accounts {
public:
    accounts(const std::string& db_path, const config& cfg);
    ~accounts();

    std::variant<issued_session, account_error> register_user(std::string_view username, std::string_view password);
    std::variant<issued_session, account_error> login(std::string_view username, std::string_view password);
    /// The user behind a token, if it is known and not expired.
    std::optional<user_identity> find_session(std::string_view token);
    /// The same with the token's hash and expiry, for connections that must end with it.
    std::optional<session_info> find_session_info(std::string_view token);
    /// Deletes the session; @return its token hash (what live connections know it by)
    std::string revoke_session(std::string_view token);

    /// A device cookie value for `username`: `<account>.<device id>.<signature>`.
    std::string issue_device_cookie(std::string_view username);
    /// The device a cookie value names, if the server signed it.
    std::optional<known_device> verify_device_cookie(std::string_view value) const;
    /// Lower-case form of a username (the account key).
    static std::string account_key(std::string_view username);
    /// Deletes expired sessions; returns how many.
    int purge_expired_sessions();

private:
    issued_session create_session(const user_identity& user);
    static std::string hash_token(std::string_view token);

    const config& cfg_;
    std::mutex mutex_;  // one connection, used by one pool thread at a time
    struct sql;         // the connection and its statements (SQLite stays out of this header)
    std::unique_ptr<sql> sql_;
    std::string dummy_hash_;  // verified against for unknown users, so timing does not reveal them
    std::string device_key_;  // signs device cookies; kept in server_secrets
    std::string sign_device(std::string_view account, std::string_view device) const;

    struct cached_session {
        user_identity user;
        std::int64_t expires_at_ms;
    };
    std::unordered_map<std::string, cached_session> cache_;  // by token hash
};

}  // namespace parley::server
