// Accounts and sessions: registration, password checks, session tokens.
//
// Passwords are hashed with Argon2id (libsodium crypto_pwhash_str). Session
// tokens are 256 random bits, given to the client once (cookie and JSON) and
// stored only as their BLAKE2b-256 hash, with an expiry. Every method that
// touches the database or hashes a password blocks: call them from the blocking
// thread pool, never from an I/O thread. A small cache of recently verified
// tokens lets reconnects skip the database.
//
// ROLES AND REGISTRATION
// users.is_admin marks the server's administrators. The first account ever
// created becomes one, decided inside its own INSERT in an exclusive
// transaction (SQLite's write lock; on PostgreSQL an advisory lock every
// Parley process takes), so two racing first registrations, in this process
// or another node, make exactly one admin.
// register_user() follows config::registration: `open` lets anyone in,
// `invite` needs a code whose use is consumed in the same transaction that
// creates the account (so a refused registration consumes nothing and two
// racing registrations on a code's last use make one account), `closed`
// refuses all; add_user() (the CLI) ignores the mode. Invite codes are
// 128 random bits, stored, like tokens, only as their BLAKE2b-256 hash.
// Admin flags are read from the database on every call, never cached, so a change
// made by `parley admin` in another process counts at the next request.
//
// DISABLED ACCOUNTS
// users.disabled_at marks an account an administrator disabled: login
// refuses it (after the password check, so only someone who knows the
// password learns it is disabled), and a session lookup never finds its
// sessions, which set_disabled() also deletes. Ending its live connections
// is the caller's job (server/net/admin_ops.hpp does all of it at once).
#pragma once

#include "server/core/config.hpp"
#include "server/store/sql.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace parley::server {

struct user_identity {
    std::uint64_t id = 0;
    std::string username;
    bool admin = false;  ///< a server administrator (as of sign-in)
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

/// One account as `parley admin list` shows it.
struct user_summary {
    std::uint64_t id = 0;
    std::string username;
    bool admin = false;
    std::int64_t created_at_ms = 0;
    std::int64_t disabled_at_ms = 0;  ///< 0: enabled
};

/// An invite as its creator sees it (the code itself is only known at creation).
struct invite_info {
    std::uint64_t id = 0;
    std::uint64_t created_by = 0;  ///< 0: made with `parley admin invite`
    std::string created_by_name;   ///< empty for those
    std::int64_t created_at_ms = 0;
    std::int64_t expires_at_ms = 0;
    std::int64_t uses = 0;       ///< granted
    std::int64_t uses_left = 0;  ///< 0 once used up or revoked
};

struct issued_invite {
    invite_info info;
    std::string code;  ///< base64url, 22 characters; shown once, stored only as a hash
};

enum class account_error {
    bad_username,       ///< 1-32 of A-Z a-z 0-9 . _ -, starting with a letter or digit
    bad_password,       ///< 8-256 bytes
    username_taken,
    wrong_credentials,  ///< unknown user or wrong password (deliberately not told apart)
    invite_required,    ///< registration is `invite` and no code came along
    invite_invalid,     ///< unknown, expired, revoked or used-up code (not told apart)
    registration_closed,
    no_such_user,
    last_admin,         ///< revoking would leave the server without an admin
    bad_invite_uses,    ///< outside 1..bounds::max_invite_uses
    bad_invite_ttl,     ///< outside bounds::min_invite_ttl..max_invite_ttl
    too_many_invites,   ///< the user holds bounds::max_open_invites_per_user usable ones
    account_disabled,   ///< an administrator disabled the account (told only after a correct password)
};

std::string_view describe(account_error e) noexcept;

/// Username rules: 1-32 bytes of A-Z a-z 0-9 '.', '_', '-', starting with a letter or digit.
bool is_valid_username(std::string_view name) noexcept;

class accounts {
public:
    accounts(const store_url& store, const config& cfg);
    ~accounts();

    /**
     * Creates an account and signs it in, as config::registration allows.
     * @param invite the invite code; needed (and one use consumed) in `invite` mode, ignored otherwise
     */
    std::variant<issued_session, account_error> register_user(std::string_view username, std::string_view password,
                                                              std::string_view invite = {});
    /// Creates an account whatever the registration mode (the CLI); no session.
    std::variant<user_identity, account_error> add_user(std::string_view username, std::string_view password,
                                                        bool admin);
    /** Grants or revokes admin. @return no_such_user, or last_admin when revoking the only one */
    std::optional<account_error> set_admin(std::string_view username, bool admin);
    bool is_admin(std::uint64_t user_id);
    /** Disables (every session of it deleted) or enables an account.
     *  @return the account; no_such_user, or last_admin when disabling the only enabled admin */
    std::variant<user_identity, account_error> set_disabled(std::string_view username, bool disabled);
    /** Sets a new password (8-256 bytes) and deletes every session of the account.
     *  @return the account; bad_password or no_such_user */
    std::variant<user_identity, account_error> reset_password(std::string_view username, std::string_view password);
    /// The account called `username` (any case), if there is one.
    std::optional<user_summary> find_user(std::string_view username);
    /// Up to `limit` accounts whose names start with `prefix` (ignoring case), by name.
    std::vector<user_identity> search_users(std::string_view prefix, std::size_t limit);
    /// The accounts with these ids, in the order asked; unknown ids are left out.
    std::vector<user_identity> find_users(const std::vector<std::uint64_t>& ids);
    /// Every account, oldest first.
    std::vector<user_summary> list_users();
    std::int64_t count_users();

    /**
     * A new invite code.
     * @param created_by the user, or 0 for the CLI (which has no open-invite bound)
     * @param uses 1..bounds::max_invite_uses
     * @param ttl bounds::min_invite_ttl..max_invite_ttl
     */
    std::variant<issued_invite, account_error> create_invite(std::uint64_t created_by, std::int64_t uses,
                                                             std::chrono::seconds ttl);
    /// The invites `user_id` created (every invite if `all`), newest first, usable or not.
    std::vector<invite_info> list_invites(std::uint64_t user_id, bool all);
    /** Ends an invite at once. @return false if there is no such invite of `user_id`'s (or any, if `any`) */
    bool revoke_invite(std::uint64_t id, std::uint64_t user_id, bool any);

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
    std::string hash_password(std::string_view password) const;
    bool is_admin_locked(std::uint64_t user_id);
    void delete_sessions_locked(std::uint64_t user_id);
    std::variant<user_identity, account_error> insert_user(std::string_view username, const std::string& hash,
                                                           bool admin, std::string_view invite);
    static std::string hash_token(std::string_view token);

    const config& cfg_;
    std::mutex mutex_;  // one connection, used by one pool thread at a time
    struct sql;         // the connection and its statements
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
