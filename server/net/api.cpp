#include "server/net/api.hpp"

#include "server/core/log.hpp"
#include "server/store/accounts.hpp"

#include <nlohmann/json.hpp>

namespace parley::server {
namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

http_response make_json(const http_request& req, http::status status, const json& body) {
    http_response res{status, req.version()};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = body.dump();
    res.prepare_payload();
    return res;
}

http_response make_error(const http_request& req, http::status status, std::string_view code, std::string_view message) {
    return make_json(req, status, {{"error", code}, {"message", message}});
}

std::string session_cookie(const config& cfg, const std::string& token, std::int64_t max_age_s) {
    std::string c = std::string(session_cookie_name) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                    std::to_string(max_age_s);
    if (cfg.secure_cookies) c += "; Secure";
    return c;
}

http_response session_response(const http_request& req, http::status status, const issued_session& s,
                               const config& cfg) {
    auto res = make_json(req, status,
                         {{"user", {{"id", s.user.id}, {"username", s.user.username}}},
                          {"token", s.token},
                          {"expires_at", s.expires_at_ms}});
    res.set(http::field::set_cookie,
            session_cookie(cfg, s.token, std::chrono::duration_cast<std::chrono::seconds>(cfg.session_ttl).count()));
    return res;
}

http::status status_of(account_error e) {
    switch (e) {
        case account_error::bad_username:
        case account_error::bad_password: return http::status::bad_request;
        case account_error::username_taken: return http::status::conflict;
        case account_error::wrong_credentials: return http::status::unauthorized;
    }
    return http::status::bad_request;
}

std::string_view code_of(account_error e) {
    switch (e) {
        case account_error::bad_username: return "bad_username";
        case account_error::bad_password: return "bad_password";
        case account_error::username_taken: return "username_taken";
        case account_error::wrong_credentials: return "wrong_credentials";
    }
    return "error";
}

http_response too_many(const http_request& req, std::chrono::milliseconds wait) {
    auto res = make_error(req, http::status::too_many_requests, "rate_limited", "too many attempts; retry later");
    res.set(http::field::retry_after, std::to_string((wait.count() + 999) / 1000));
    return res;
}

struct credentials {
    std::string username, password;
};

/// The JSON body {"username": ..., "password": ...}, or the response refusing it.
std::variant<credentials, http_response> read_credentials(const http_request& req) {
    if (req[http::field::content_type].find("application/json") == std::string_view::npos)
        return make_error(req, http::status::unsupported_media_type, "bad_request", "send application/json");
    const json body = json::parse(req.body(), nullptr, false);
    if (!body.is_object() || !body.contains("username") || !body.contains("password") ||
        !body["username"].is_string() || !body["password"].is_string())
        return make_error(req, http::status::bad_request, "bad_request", R"(expected {"username": ..., "password": ...})");
    return credentials{body["username"].get<std::string>(), body["password"].get<std::string>()};
}

/// A signed-in answer: the session, plus a device cookie that lets this
/// browser past the guessing limits of later logins to the same account.
http_response signed_in(const http_request& req, http::status status, const issued_session& s, server_context& ctx) {
    auto res = session_response(req, status, s, ctx.cfg);
    std::string device = std::string(device_cookie_name) + "=" + ctx.accts.issue_device_cookie(s.user.username) +
                         "; Path=/api/; HttpOnly; SameSite=Strict; Max-Age=31536000";
    if (ctx.cfg.secure_cookies) device += "; Secure";
    res.insert(http::field::set_cookie, device);
    return res;
}

http_response register_endpoint(const http_request& req, const std::string& client, server_context& ctx) {
    if (auto wait = ctx.auth_limits.acquire(client)) return too_many(req, *wait);
    auto body = read_credentials(req);
    if (auto* refused = std::get_if<http_response>(&body)) return std::move(*refused);
    const auto& c = std::get<credentials>(body);
    auto result = ctx.accts.register_user(c.username, c.password);
    if (auto* err = std::get_if<account_error>(&result)) return make_error(req, status_of(*err), code_of(*err), describe(*err));
    return signed_in(req, http::status::created, std::get<issued_session>(result), ctx);
}

// Logins go through the login guard: per-account and per-address failure
// limits, which a device cookie for the same account skips (login_guard.hpp).
// Untrusted attempts also count against the address's request rate, which
// bounds the password-hashing work one address can cause.
http_response login_endpoint(const http_request& req, const std::string& client, server_context& ctx) {
    auto body = read_credentials(req);
    if (auto* refused = std::get_if<http_response>(&body)) return std::move(*refused);
    const auto& c = std::get<credentials>(body);
    const std::string account = accounts::account_key(c.username);
    const auto device = ctx.accts.verify_device_cookie(cookie_of(req, device_cookie_name));
    const std::string device_id = device && device->account == account ? device->id : std::string();
    const login_guard::attempt attempt{client, account, device_id};
    const auto now = login_guard::clock::now();
    if (const auto wait = ctx.logins.check(attempt, now); wait.count() > 0) return too_many(req, wait);
    if (device_id.empty())
        if (auto wait = ctx.auth_limits.acquire(client)) return too_many(req, *wait);
    auto result = ctx.accts.login(c.username, c.password);
    if (auto* err = std::get_if<account_error>(&result)) {
        if (*err == account_error::wrong_credentials) ctx.logins.failed(attempt, now);
        return make_error(req, status_of(*err), code_of(*err), describe(*err));
    }
    ctx.logins.succeeded(attempt, now);
    return signed_in(req, http::status::ok, std::get<issued_session>(result), ctx);
}

http_response method_not_allowed(const http_request& req, std::string_view allow) {
    auto res = make_error(req, http::status::method_not_allowed, "method_not_allowed", "method not allowed");
    res.set(http::field::allow, allow);
    return res;
}

http_response route(const http_request& req, const std::string& client, server_context& ctx) {
    const std::string_view path = req.target().substr(0, req.target().find('?'));
    const bool post = req.method() == http::verb::post;
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;

    if (path == "/api/register") {
        if (!post) return method_not_allowed(req, "POST");
        return register_endpoint(req, client, ctx);
    }
    if (path == "/api/login") {
        if (!post) return method_not_allowed(req, "POST");
        return login_endpoint(req, client, ctx);
    }
    if (path == "/api/logout") {
        if (!post) return method_not_allowed(req, "POST");
        // The session ends everywhere at once: its open WebSockets are closed too.
        if (const std::string token = token_of(req); !token.empty())
            ctx.connections.end_session(ctx.accts.revoke_session(token));
        http_response res{http::status::no_content, req.version()};
        res.keep_alive(req.keep_alive());
        res.set(http::field::set_cookie, session_cookie(ctx.cfg, "", 0));
        return res;
    }
    if (path == "/api/me" || path == "/api/rooms") {
        if (!get) return method_not_allowed(req, "GET");
        const auto user = ctx.accts.find_session(token_of(req));
        if (!user) return make_error(req, http::status::unauthorized, "not_authenticated", "sign in first");
        if (path == "/api/me") return make_json(req, http::status::ok, {{"id", user->id}, {"username", user->username}});
        json rooms = json::array();
        for (const auto& r : ctx.rooms.list())
            rooms.push_back({{"id", r.id}, {"name", r.name}, {"last_seq", r.last_seq}, {"online", r.members}});
        return make_json(req, http::status::ok, {{"rooms", rooms}});
    }
    return make_error(req, http::status::not_found, "not_found", "no such endpoint");
}

}  // namespace

std::string cookie_of(const http_request& req, std::string_view name) {
    const std::string_view cookies = req[http::field::cookie];
    std::size_t pos = 0;
    while (pos < cookies.size()) {
        std::size_t end = cookies.find(';', pos);
        if (end == std::string_view::npos) end = cookies.size();
        std::string_view part = cookies.substr(pos, end - pos);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        if (part.starts_with(name) && part.size() > name.size() && part[name.size()] == '=')
            return std::string(part.substr(name.size() + 1));
        pos = end + 1;
    }
    return {};
}

std::string token_of(const http_request& req) {
    if (std::string token = cookie_of(req, session_cookie_name); !token.empty()) return token;
    const std::string_view auth = req[http::field::authorization];
    if (auth.starts_with("Bearer ")) return std::string(auth.substr(7));
    return {};
}

http_response handle_api(const http_request& req, const std::string& client_address, server_context& ctx) {
    try {
        return route(req, client_address, ctx);
    } catch (const std::exception& e) {
        log::error("api ", req.target(), ": ", e.what());
        return make_error(req, http::status::internal_server_error, "internal_error", "the server failed; try again");
    }
}

}  // namespace parley::server
