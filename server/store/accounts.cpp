#include "server/store/accounts.hpp"

#include "server/core/bounds.hpp"
#include "server/core/clock.hpp"
#include "server/core/log.hpp"
#include "server/store/database.hpp"

#include <sodium.h>

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
std::string load_or_create_secret(database& db, std::string_view name) {
    statement find = db.prepare("SELECT value FROM server_secrets WHERE name = ?");
    find.bind_all(name);
    if (find.step()) return find.column_blob(0);
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    statement insert = db.prepare("INSERT INTO server_secrets(name, value) VALUES(?, ?)");
    insert.bind(1, name);
    insert.bind_blob(2, raw, sizeof raw);
    insert.run();
    return std::string(reinterpret_cast<const char*>(raw), sizeof raw);
}

}  // namespace

std::string_view describe(account_error e) noexcept {
    switch (e) {
        case account_error::bad_username:
            return "usernames are 1-32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";
        case account_error::bad_password: return "passwords are 8-256 bytes long";
        case account_error::username_taken: return "that username is taken";
        case account_error::wrong_credentials: return "wrong username or password";
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
    explicit sql(const std::string& path) : db(path, database::mode::read_write) {}
    database db;
    statement insert_user, find_user, insert_session, find_session, delete_session, purge_sessions;
};

accounts::accounts(const std::string& db_path, const config& cfg)
    : cfg_(cfg), sql_(std::make_unique<sql>(db_path)) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    sql_->insert_user = sql_->db.prepare(
        "INSERT INTO users(username, username_key, password_hash, created_at) VALUES(?, ?, ?, ?)");
    sql_->find_user = sql_->db.prepare("SELECT id, username, password_hash FROM users WHERE username_key = ?");
    sql_->insert_session = sql_->db.prepare("INSERT INTO sessions(token_hash, user_id, created_at, expires_at) VALUES(?, ?, ?, ?)");
    sql_->find_session = sql_->db.prepare(
        "SELECT u.id, u.username, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = ? AND s.expires_at > ?");
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

std::variant<issued_session, account_error> accounts::register_user(std::string_view username,
                                                                    std::string_view password) {
    if (!is_valid_username(username)) return account_error::bad_username;
    if (password.size() < min_password_bytes || password.size() > max_password_bytes) return account_error::bad_password;

    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password.data(), password.size(), cfg_.password_ops, cfg_.password_mem_kib * 1024) != 0)
        throw std::runtime_error("password hashing failed (out of memory?)");

    std::lock_guard lock(mutex_);
    statement_use insert(sql_->insert_user);
    insert->bind_all(username, lower(username), std::string_view(hash), now_ms());
    try {
        insert->run();
    } catch (const sqlite_error& e) {
        if ((e.code() & 0xFF) == SQLITE_CONSTRAINT) return account_error::username_taken;
        throw;
    }
    return create_session({static_cast<std::uint64_t>(sql_->db.last_insert_rowid()), std::string(username)});
}

std::variant<issued_session, account_error> accounts::login(std::string_view username, std::string_view password) {
    std::optional<user_identity> user;
    std::string stored_hash = dummy_hash_;
    if (is_valid_username(username) && password.size() <= max_password_bytes) {
        std::lock_guard lock(mutex_);
        statement_use find(sql_->find_user);
        find->bind_all(lower(username));
        if (find->step()) {
            user = user_identity{find->column_u64(0), find->column_text(1)};
            stored_hash = find->column_text(2);
        }
    }
    // Verify even for unknown users so the response time does not tell them apart.
    const bool ok = crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) == 0;
    if (!user || !ok) return account_error::wrong_credentials;
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
    session_info info{{find->column_u64(0), find->column_text(1)}, h, find->column_int(2)};
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
