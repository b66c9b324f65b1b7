#include "server/store/accounts.hpp"

#include "server/core/bounds.hpp"
#include "server/core/clock.hpp"
#include "server/core/log.hpp"
#include "server/store/database.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace parley::server {
namespace {

using bounds::max_cached_sessions, bounds::max_password_bytes, bounds::min_password_bytes;

bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string to_base64url(const unsigned char* data, std::size_t n);

std::string random_token(std::size_t bytes = 32) {
    unsigned char raw[32];
    randombytes_buf(raw, bytes);
    return to_base64url(raw, bytes);
}

std::string to_base64url(const unsigned char* data, std::size_t n) {
    std::string text(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(text.data(), text.size(), data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    text.resize(text.size() - 1);  // the terminating NUL
    return text;
}

// A 32-byte secret kept in the database: created once, the same after restarts.
// Nodes starting at once on one PostgreSQL each offer one; the first stands.
std::string load_or_create_secret(connection& db, std::string_view name) {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    statement insert = db.prepare("INSERT INTO server_secrets(name, value) VALUES(?, ?) ON CONFLICT DO NOTHING");
    insert.bind(1, name);
    insert.bind_blob(2, raw, sizeof raw);
    insert.run();
    statement find = db.prepare("SELECT value FROM server_secrets WHERE name = ?");
    find.bind_all(name);
    if (!find.step()) throw std::runtime_error("server secret " + std::string(name) + " is missing");
    return find.column_blob(0);
}

}  // namespace

std::string_view describe(account_error e) noexcept {
    switch (e) {
        case account_error::bad_username:
            return "usernames are 1-32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";
        case account_error::bad_password: return "passwords are 8-256 bytes long";
        case account_error::username_taken: return "that username is taken";
        case account_error::wrong_credentials: return "wrong username or password";
        case account_error::invite_required: return "registration needs an invite; ask someone on this server for one";
        case account_error::invite_invalid: return "invite expired or used up; ask for a new one";
        case account_error::registration_closed:
            return "registration is closed; an administrator creates accounts with `parley admin add-user`";
        case account_error::no_such_user: return "no such user";
        case account_error::last_admin: return "that is the last admin; grant admin to someone else first";
        case account_error::bad_invite_uses: return "an invite has 1-1000 uses";
        case account_error::bad_invite_ttl: return "an invite expires after 1 minute to 90 days";
        case account_error::too_many_invites: return "too many usable invites; revoke some first";
        case account_error::account_disabled: return "this account is disabled; ask an administrator";
    }
    return "account error";
}

bool is_valid_username(std::string_view name) noexcept {
    if (name.empty() || name.size() > 32) return false;
    if (!std::isalnum(static_cast<unsigned char>(name.front()))) return false;
    for (char c : name)
        if (!is_name_char(c)) return false;
    return true;
}

struct accounts::sql {
    explicit sql(const store_url& store) : owned(store.open(store_url::access::read_write)), db(*owned) {}
    std::unique_ptr<connection> owned;
    connection& db;
    statement insert_user, find_user, insert_session, find_session, delete_session, purge_sessions;
    statement find_user_by_id, search_users, consume_invite, find_admin, count_admins, set_admin, list_users, insert_invite, count_open_invites,
        list_invites, revoke_invite;
};

namespace {

// Thrown inside a transaction to roll it back with a refusal, not a failure.
struct refusal {
    account_error error;
};

}  // namespace

accounts::accounts(const store_url& store, const config& cfg)
    : cfg_(cfg), sql_(std::make_unique<sql>(store)) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    // The first account is an admin: decided inside its own INSERT, in an
    // exclusive transaction; a taken name inserts nothing and returns no id.
    sql_->insert_user = sql_->db.prepare(
        "INSERT INTO users(username, username_key, password_hash, created_at, is_admin) "
        "VALUES(?, ?, ?, ?, CASE WHEN ? != 0 OR NOT EXISTS (SELECT 1 FROM users) THEN 1 ELSE 0 END) "
        "ON CONFLICT DO NOTHING RETURNING id");
    sql_->consume_invite = sql_->db.prepare(
        "UPDATE invites SET uses_left = uses_left - 1 "
        "WHERE code_hash = ? AND uses_left > 0 AND revoked_at = 0 AND expires_at > ?");
    sql_->find_admin = sql_->db.prepare("SELECT is_admin FROM users WHERE id = ?");
    sql_->count_admins = sql_->db.prepare("SELECT COUNT(*) FROM users WHERE is_admin != 0");
    // A range of the unique index: names are ASCII, so every key with the
    // prefix sorts below prefix + 0x7F.
    sql_->search_users = sql_->db.prepare(
        "SELECT id, username, is_admin FROM users WHERE username_key >= ?1 AND username_key < ?2 "
        "ORDER BY username_key LIMIT ?3");
    sql_->find_user_by_id = sql_->db.prepare("SELECT id, username, is_admin FROM users WHERE id = ?");
    sql_->set_admin = sql_->db.prepare("UPDATE users SET is_admin = ? WHERE username_key = ?");
    sql_->list_users =
        sql_->db.prepare("SELECT id, username, is_admin, created_at, disabled_at FROM users ORDER BY created_at, id");
    sql_->insert_invite = sql_->db.prepare(
        "INSERT INTO invites(code_hash, created_by, created_at, expires_at, uses, uses_left) VALUES(?, ?, ?, ?, ?, ?) RETURNING id");
    sql_->count_open_invites = sql_->db.prepare(
        "SELECT COUNT(*) FROM invites WHERE created_by = ? AND uses_left > 0 AND revoked_at = 0 AND expires_at > ?");
    sql_->list_invites = sql_->db.prepare(
        "SELECT i.id, COALESCE(i.created_by, 0), COALESCE(u.username, ''), i.created_at, i.expires_at, i.uses, "
        "CASE WHEN i.revoked_at != 0 THEN 0 ELSE i.uses_left END "
        "FROM invites i LEFT JOIN users u ON u.id = i.created_by WHERE ? != 0 OR i.created_by = ? ORDER BY i.id DESC");
    sql_->revoke_invite = sql_->db.prepare(
        "UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at = 0 AND (? != 0 OR created_by = ?)");
    sql_->find_user =
        sql_->db.prepare("SELECT id, username, password_hash, is_admin, created_at, disabled_at FROM users WHERE username_key = ?");
    sql_->insert_session = sql_->db.prepare("INSERT INTO sessions(token_hash, user_id, created_at, expires_at) VALUES(?, ?, ?, ?)");
    sql_->find_session = sql_->db.prepare(
        "SELECT u.id, u.username, s.expires_at, u.is_admin FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at = 0");
    sql_->delete_session = sql_->db.prepare("DELETE FROM sessions WHERE token_hash = ?");
    sql_->purge_sessions = sql_->db.prepare("DELETE FROM sessions WHERE expires_at <= ?");

    char hash[crypto_pwhash_STRBYTES];
    const std::string dummy = "parley-timing-equaliser";
    if (crypto_pwhash_str(hash, dummy.data(), dummy.size(), cfg_.password_ops, cfg_.password_mem_kib * 1024) != 0)
        throw std::runtime_error("password hashing failed (out of memory?)");
    dummy_hash_ = hash;
    device_key_ = load_or_create_secret(sql_->db, "device_key");
}

accounts::~accounts() = default;

// Refusals that need no work come first: a closed server or a missing code
// costs no password hash. The invite is checked where it is consumed.
std::variant<issued_session, account_error> accounts::register_user(std::string_view username,
                                                                    std::string_view password,
                                                                    std::string_view invite) {
    const auto mode = cfg_.registration.value_or(registration_mode::open);
    if (mode == registration_mode::closed) return account_error::registration_closed;
    if (mode == registration_mode::invite && invite.empty()) return account_error::invite_required;
    if (!is_valid_username(username)) return account_error::bad_username;
    if (password.size() < min_password_bytes || password.size() > max_password_bytes) return account_error::bad_password;
    auto user = insert_user(username, hash_password(password), false, mode == registration_mode::invite ? invite : std::string_view());
    if (auto* err = std::get_if<account_error>(&user)) return *err;
    std::lock_guard lock(mutex_);
    return create_session(std::get<user_identity>(user));
}

std::variant<user_identity, account_error> accounts::add_user(std::string_view username, std::string_view password,
                                                            bool admin) {
    if (!is_valid_username(username)) return account_error::bad_username;
    if (password.size() < min_password_bytes || password.size() > max_password_bytes) return account_error::bad_password;
    return insert_user(username, hash_password(password), admin, {});
}

std::string accounts::hash_password(std::string_view password) const {
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password.data(), password.size(), cfg_.password_ops, cfg_.password_mem_kib * 1024) != 0)
        throw std::runtime_error("password hashing failed (out of memory?)");
    return std::string(hash);
}

// One transaction: the invite's use and the account stand or fall together.
std::variant<user_identity, account_error> accounts::insert_user(std::string_view username, const std::string& hash,
                                                               bool admin, std::string_view invite) {
    std::lock_guard lock(mutex_);
    user_identity user;
    try {
        with_transaction(sql_->db, [&] {
            if (!invite.empty()) {
                const std::string h = hash_token(invite);
                statement_use consume(sql_->consume_invite);
                consume->bind_blob(1, h.data(), h.size());
                consume->bind(2, now_ms());
                consume->run();
                if (sql_->db.changes() != 1) throw refusal{account_error::invite_invalid};
            }
            statement_use insert(sql_->insert_user);
            insert->bind_all(username, lower(username), hash, now_ms(), admin ? 1 : 0);
            if (!insert->step()) throw refusal{account_error::username_taken};
            user = {insert->column_u64(0), std::string(username)};
        }, connection::transaction::exclusive);
    } catch (const refusal& r) {
        return r.error;
    }
    return user;
}

std::vector<user_identity> accounts::search_users(std::string_view prefix, std::size_t limit) {
    std::vector<user_identity> out;
    if (prefix.size() > 32 || !std::all_of(prefix.begin(), prefix.end(), [](unsigned char c) { return c < 0x7F; }))
        return out;  // no name has it
    const std::string low = lower(prefix);
    std::lock_guard lock(mutex_);
    statement_use find(sql_->search_users);
    find->bind_all(low, low + "\x7f", static_cast<std::int64_t>(limit));
    while (find->step()) out.push_back({find->column_u64(0), find->column_text(1), find->column_int(2) != 0});
    return out;
}

std::vector<user_identity> accounts::find_users(const std::vector<std::uint64_t>& ids) {
    std::vector<user_identity> out;
    std::lock_guard lock(mutex_);
    for (const auto id : ids) {
        statement_use find(sql_->find_user_by_id);
        find->bind_all(id);
        if (find->step()) out.push_back({find->column_u64(0), find->column_text(1), find->column_int(2) != 0});
    }
    return out;
}

std::optional<account_error> accounts::set_admin(std::string_view username, bool admin) {
    std::lock_guard lock(mutex_);
    std::optional<account_error> result;
    try {
        with_transaction(sql_->db, [&] {
            if (!admin) {
                statement_use count(sql_->count_admins);
                count->step();
                const auto admins = count->column_int(0);
                statement_use find(sql_->find_user);
                find->bind_all(lower(username));
                if (find->step() && admins <= 1 && is_admin_locked(find->column_u64(0)))
                    throw refusal{account_error::last_admin};
            }
            statement_use update(sql_->set_admin);
            update->bind_all(admin ? 1 : 0, lower(username));
            update->run();
            if (sql_->db.changes() == 0) throw refusal{account_error::no_such_user};
        }, connection::transaction::exclusive);
        cache_.clear();  // cached sessions carry the admin flag
    } catch (const refusal& r) {
        result = r.error;
    }
    return result;
}

bool accounts::is_admin(std::uint64_t user_id) {
    std::lock_guard lock(mutex_);
    return is_admin_locked(user_id);
}

bool accounts::is_admin_locked(std::uint64_t user_id) {
    statement_use find(sql_->find_admin);
    find->bind_all(user_id);
    return find->step() && find->column_int(0) != 0;
}

std::vector<user_summary> accounts::list_users() {
    std::lock_guard lock(mutex_);
    std::vector<user_summary> out;
    statement_use list(sql_->list_users);
    while (list->step())
        out.push_back({list->column_u64(0), list->column_text(1), list->column_int(2) != 0, list->column_int(3),
                       list->column_int(4)});
    return out;
}

std::optional<user_summary> accounts::find_user(std::string_view username) {
    if (!is_valid_username(username)) return std::nullopt;
    std::lock_guard lock(mutex_);
    statement_use find(sql_->find_user);
    find->bind_all(lower(username));
    if (!find->step()) return std::nullopt;
    return user_summary{find->column_u64(0), find->column_text(1), find->column_int(3) != 0, find->column_int(4),
                        find->column_int(5)};
}

// One transaction: the flag and the deletion of the account's sessions. The
// session cache is dropped whole (it is keyed by token, not by user), so no
// cached session of the account is found after this returns.
std::variant<user_identity, account_error> accounts::set_disabled(std::string_view username, bool disabled) {
    std::lock_guard lock(mutex_);
    user_identity user;
    try {
        with_transaction(sql_->db, [&] {
            statement_use find(sql_->find_user);
            find->bind_all(lower(username));
            if (!find->step()) throw refusal{account_error::no_such_user};
            user = {find->column_u64(0), find->column_text(1), find->column_int(3) != 0};
            const bool was_disabled = find->column_int(5) != 0;
            if (disabled && !was_disabled && user.admin) {
                statement others = sql_->db.prepare(
                    "SELECT COUNT(*) FROM users WHERE is_admin != 0 AND disabled_at = 0 AND id != ?");
                others.bind_all(user.id);
                others.step();
                if (others.column_int(0) == 0) throw refusal{account_error::last_admin};
            }
            if (disabled == was_disabled) return;  // already so: nothing to change, nothing to end
            statement update = sql_->db.prepare("UPDATE users SET disabled_at = ? WHERE id = ?");
            update.bind_all(disabled ? now_ms() : std::int64_t{0}, user.id);
            update.run();
            if (disabled) delete_sessions_locked(user.id);
        }, connection::transaction::exclusive);
    } catch (const refusal& r) {
        return r.error;
    }
    cache_.clear();
    return user;
}

std::variant<user_identity, account_error> accounts::reset_password(std::string_view username,
                                                                   std::string_view password) {
    if (password.size() < min_password_bytes || password.size() > max_password_bytes) return account_error::bad_password;
    if (!is_valid_username(username)) return account_error::no_such_user;
    const std::string hash = hash_password(password);  // before the lock: it is the slow part
    std::lock_guard lock(mutex_);
    user_identity user;
    try {
        with_transaction(sql_->db, [&] {
            statement_use find(sql_->find_user);
            find->bind_all(lower(username));
            if (!find->step()) throw refusal{account_error::no_such_user};
            user = {find->column_u64(0), find->column_text(1), find->column_int(3) != 0};
            statement update = sql_->db.prepare("UPDATE users SET password_hash = ? WHERE id = ?");
            update.bind_all(hash, user.id);
            update.run();
            delete_sessions_locked(user.id);
        }, connection::transaction::exclusive);
    } catch (const refusal& r) {
        return r.error;
    }
    cache_.clear();
    return user;
}

void accounts::delete_sessions_locked(std::uint64_t user_id) {
    statement del = sql_->db.prepare("DELETE FROM sessions WHERE user_id = ?");
    del.bind_all(user_id);
    del.run();
}

std::int64_t accounts::count_users() {
    std::lock_guard lock(mutex_);
    statement count = sql_->db.prepare("SELECT COUNT(*) FROM users");
    count.step();
    return count.column_int(0);
}

std::variant<issued_invite, account_error> accounts::create_invite(std::uint64_t created_by, std::int64_t uses,
                                                                 std::chrono::seconds ttl) {
    if (uses < 1 || uses > bounds::max_invite_uses) return account_error::bad_invite_uses;
    if (ttl < bounds::min_invite_ttl || ttl > bounds::max_invite_ttl) return account_error::bad_invite_ttl;
    issued_invite inv;
    inv.code = random_token(bounds::invite_code_bytes);
    const std::string h = hash_token(inv.code);
    const std::int64_t now = now_ms();
    inv.info = {0, created_by, {}, now, now + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count(),
                uses, uses};
    std::lock_guard lock(mutex_);
    try {
        with_transaction(sql_->db, [&] {
            if (created_by != 0) {
                statement_use count(sql_->count_open_invites);
                count->bind_all(created_by, now);
                count->step();
                if (static_cast<std::size_t>(count->column_int(0)) >= bounds::max_open_invites_per_user)
                    throw refusal{account_error::too_many_invites};
            }
            statement_use insert(sql_->insert_invite);
            insert->bind_blob(1, h.data(), h.size());
            if (created_by != 0) insert->bind(2, created_by);
            else insert->bind(2, nullptr);
            insert->bind_all_from(3, now, inv.info.expires_at_ms, uses, uses);
            if (!insert->step()) throw db_error(db_error::kind::other, false, "insert invite: no id came back");
            inv.info.id = insert->column_u64(0);
        }, connection::transaction::exclusive);
    } catch (const refusal& r) {
        return r.error;
    }
    return inv;
}

std::vector<invite_info> accounts::list_invites(std::uint64_t user_id, bool all) {
    std::lock_guard lock(mutex_);
    std::vector<invite_info> out;
    statement_use list(sql_->list_invites);
    list->bind_all(all ? 1 : 0, user_id);
    while (list->step())
        out.push_back({list->column_u64(0), list->column_u64(1), list->column_text(2), list->column_int(3),
                       list->column_int(4), list->column_int(5), list->column_int(6)});
    return out;
}

bool accounts::revoke_invite(std::uint64_t id, std::uint64_t user_id, bool any) {
    std::lock_guard lock(mutex_);
    statement_use revoke(sql_->revoke_invite);
    revoke->bind_all(now_ms(), id, any ? 1 : 0, user_id);
    revoke->run();
    return sql_->db.changes() == 1;
}

std::variant<issued_session, account_error> accounts::login(std::string_view username, std::string_view password) {
    std::optional<user_identity> user;
    std::string stored_hash = dummy_hash_;
    bool disabled = false;
    if (is_valid_username(username) && password.size() <= max_password_bytes) {
        std::lock_guard lock(mutex_);
        statement_use find(sql_->find_user);
        find->bind_all(lower(username));
        if (find->step()) {
            user = user_identity{find->column_u64(0), find->column_text(1)};
            stored_hash = find->column_text(2);
            disabled = find->column_int(5) != 0;
        }
    }
    // Verify even for unknown users so the response time does not tell them apart.
    const bool ok = crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) == 0;
    if (!user || !ok) return account_error::wrong_credentials;
    if (disabled) return account_error::account_disabled;
    std::lock_guard lock(mutex_);
    return create_session(*user);
}

issued_session accounts::create_session(const user_identity& user) {
    issued_session s{user, random_token(), now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.session_ttl).count()};
    const std::string h = hash_token(s.token);
    statement_use insert(sql_->insert_session);
    insert->bind_blob(1, h.data(), h.size());
    insert->bind_all_from(2, user.id, now_ms(), s.expires_at_ms);
    insert->run();
    if (cache_.size() >= max_cached_sessions) cache_.clear();
    cache_[h] = {user, s.expires_at_ms};
    return s;
}

std::optional<user_identity> accounts::find_session(std::string_view token) {
    auto info = find_session_info(token);
    if (!info) return std::nullopt;
    return std::move(info->user);
}

std::optional<session_info> accounts::find_session_info(std::string_view token) {
    if (token.empty() || token.size() > 128) return std::nullopt;
    const std::string h = hash_token(token);
    const std::int64_t now = now_ms();
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(h); it != cache_.end()) {
        if (it->second.expires_at_ms > now) return session_info{it->second.user, h, it->second.expires_at_ms};
        cache_.erase(it);
        return std::nullopt;
    }
    statement_use find(sql_->find_session);
    find->bind_blob(1, h.data(), h.size());
    find->bind(2, now);
    if (!find->step()) return std::nullopt;
    session_info info{{find->column_u64(0), find->column_text(1), find->column_int(3) != 0}, h, find->column_int(2)};
    if (cache_.size() >= max_cached_sessions) cache_.clear();
    cache_[h] = {info.user, info.expires_at_ms};
    return info;
}

std::string accounts::revoke_session(std::string_view token) {
    const std::string h = hash_token(token);
    std::lock_guard lock(mutex_);
    cache_.erase(h);
    statement_use del(sql_->delete_session);
    del->bind_blob(1, h.data(), h.size());
    del->run();
    return h;
}

std::string accounts::account_key(std::string_view username) { return lower(username); }

std::string accounts::sign_device(std::string_view account, std::string_view device) const {
    const std::string message = std::string(account) + "." + std::string(device);
    unsigned char mac[crypto_generichash_BYTES];
    crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(device_key_.data()), device_key_.size());
    return to_base64url(mac, sizeof mac);
}

std::string accounts::issue_device_cookie(std::string_view username) {
    const std::string account = lower(username);
    const std::string device = random_token(16);
    return account + "." + device + "." + sign_device(account, device);
}

// The value is split from the right: the device id and the signature are
// base64url (no dots); the account may contain dots.
std::optional<known_device> accounts::verify_device_cookie(std::string_view value) const {
    if (value.size() > 200) return std::nullopt;
    const auto last = value.rfind('.');
    if (last == std::string_view::npos || last == 0) return std::nullopt;
    const auto middle = value.rfind('.', last - 1);
    if (middle == std::string_view::npos || middle == 0) return std::nullopt;
    known_device d{std::string(value.substr(0, middle)), std::string(value.substr(middle + 1, last - middle - 1))};
    const std::string expected = sign_device(d.account, d.id);
    const std::string_view given = value.substr(last + 1);
    if (given.size() != expected.size() || sodium_memcmp(given.data(), expected.data(), expected.size()) != 0)
        return std::nullopt;
    return d;
}

int accounts::purge_expired_sessions() {
    std::lock_guard lock(mutex_);
    statement_use purge(sql_->purge_sessions);
    purge->bind(1, now_ms());
    purge->run();
    return sql_->db.changes();
}

std::string accounts::hash_token(std::string_view token) {
    unsigned char out[crypto_generichash_BYTES];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr, 0);
    return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

}  // namespace parley::server
