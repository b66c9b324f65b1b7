#include "server/net/api.hpp"

#include "server/core/log.hpp"
#include "server/net/admin_api.hpp"
#include "server/net/static_files.hpp"
#include "server/store/accounts.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace parley::server {
namespace http = boost::beast::http;
using json = nlohmann::json;

http_response make_json(const http_request& req, http::status status, const json& body) {
    http_response res{status, req.version()};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
    res.prepare_payload();
    return res;
}

http_response make_error(const http_request& req, http::status status, std::string_view code, std::string_view message) {
    return make_json(req, status, {{"error", code}, {"message", message}});
}

namespace {

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
        case account_error::invite_required:
        case account_error::invite_invalid:
        case account_error::registration_closed:
        case account_error::account_disabled: return http::status::forbidden;
        case account_error::no_such_user: return http::status::not_found;
        case account_error::last_admin:
        case account_error::too_many_invites: return http::status::conflict;
        case account_error::bad_invite_uses:
        case account_error::bad_invite_ttl: return http::status::bad_request;
    }
    return http::status::bad_request;
}

std::string_view code_of(account_error e) {
    switch (e) {
        case account_error::bad_username: return "bad_username";
        case account_error::bad_password: return "bad_password";
        case account_error::username_taken: return "username_taken";
        case account_error::wrong_credentials: return "wrong_credentials";
        case account_error::invite_required: return "invite_required";
        case account_error::invite_invalid: return "invite_invalid";
        case account_error::registration_closed: return "registration_closed";
        case account_error::no_such_user: return "no_such_user";
        case account_error::last_admin: return "last_admin";
        case account_error::bad_invite_uses: return "bad_invite_uses";
        case account_error::bad_invite_ttl: return "bad_invite_ttl";
        case account_error::too_many_invites: return "too_many_invites";
        case account_error::account_disabled: return "account_disabled";
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
    std::string invite;  ///< registration only; empty if none came
};

/// A JSON object body, or the response refusing it.
std::variant<json, http_response> read_json(const http_request& req) {
    if (req[http::field::content_type].find("application/json") == std::string_view::npos)
        return make_error(req, http::status::unsupported_media_type, "bad_request", "send application/json");
    json body = json::parse(req.body(), nullptr, false);
    if (!body.is_object()) return make_error(req, http::status::bad_request, "bad_request", "expected a JSON object");
    return body;
}

/// The JSON body {"username": ..., "password": ..., "invite"?: ...}, or the response refusing it.
std::variant<credentials, http_response> read_credentials(const http_request& req) {
    auto parsed = read_json(req);
    if (auto* refused = std::get_if<http_response>(&parsed)) return std::move(*refused);
    const json& body = std::get<json>(parsed);
    if (!body.contains("username") || !body.contains("password") || !body["username"].is_string() ||
        !body["password"].is_string() || (body.contains("invite") && !body["invite"].is_string()))
        return make_error(req, http::status::bad_request, "bad_request", R"(expected {"username": ..., "password": ...})");
    return credentials{body["username"].get<std::string>(), body["password"].get<std::string>(),
                       body.value("invite", std::string())};
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

http_response method_not_allowed(const http_request& req, std::string_view allow) {
    auto res = make_error(req, http::status::method_not_allowed, "method_not_allowed", "method not allowed");
    res.set(http::field::allow, allow);
    return res;
}

// Every registration counts against the address's request rate; a bad
// invite code also counts as a failed sign-in of that address in the login
// guard, so codes are guessed no faster than passwords.
http_response register_endpoint(const http_request& req, const std::string& client, server_context& ctx) {
    if (auto wait = ctx.auth_limits.acquire(client)) return too_many(req, *wait);
    auto body = read_credentials(req);
    if (auto* refused = std::get_if<http_response>(&body)) return std::move(*refused);
    const auto& c = std::get<credentials>(body);
    const login_guard::attempt attempt{client, {}, {}};
    const auto now = login_guard::clock::now();
    if (const auto wait = ctx.logins.check(attempt, now); wait.count() > 0) return too_many(req, wait);
    auto result = ctx.accts.register_user(c.username, c.password, c.invite);
    if (auto* err = std::get_if<account_error>(&result)) {
        if (*err == account_error::invite_invalid) ctx.logins.failed(attempt, now);
        return make_error(req, status_of(*err), code_of(*err), describe(*err));
    }
    return signed_in(req, http::status::created, std::get<issued_session>(result), ctx);
}

json invite_json(const invite_info& i) {
    return {{"id", i.id},          {"created_by", i.created_by_name}, {"created_at", i.created_at_ms},
            {"expires_at", i.expires_at_ms}, {"uses", i.uses},        {"uses_left", i.uses_left}};
}

/// An integer field of `body` within [lo, hi], `fallback` if absent; nullopt if it is anything else.
std::optional<std::int64_t> bounded_field(const json& body, const char* name, std::int64_t fallback, std::int64_t lo,
                                          std::int64_t hi) {
    if (!body.contains(name)) return fallback;
    const json& v = body[name];
    if (!v.is_number_integer()) return std::nullopt;
    const auto n = v.get<std::int64_t>();
    if (n < lo || n > hi) return std::nullopt;
    return n;
}

http_response create_invite_endpoint(const http_request& req, const user_identity& user, server_context& ctx) {
    auto parsed = read_json(req);
    if (auto* refused = std::get_if<http_response>(&parsed)) return std::move(*refused);
    const json& body = std::get<json>(parsed);
    const auto uses = bounded_field(body, "uses", bounds::default_invite_uses, 1, bounds::max_invite_uses);
    if (!uses) return make_error(req, http::status::bad_request, "bad_invite_uses", describe(account_error::bad_invite_uses));
    const auto ttl = bounded_field(body, "expires_in_s", bounds::default_invite_ttl.count(),
                                   bounds::min_invite_ttl.count(), bounds::max_invite_ttl.count());
    if (!ttl) return make_error(req, http::status::bad_request, "bad_invite_ttl", describe(account_error::bad_invite_ttl));
    auto result = ctx.accts.create_invite(user.id, *uses, std::chrono::seconds(*ttl));
    if (auto* err = std::get_if<account_error>(&result)) return make_error(req, status_of(*err), code_of(*err), describe(*err));
    auto& inv = std::get<issued_invite>(result);
    inv.info.created_by_name = user.username;
    json out = invite_json(inv.info);
    out["code"] = inv.code;
    out["link"] = "/?invite=" + inv.code;  // the code is base64url: nothing to escape
    return make_json(req, http::status::created, out);
}

/// The decoded value of `name` in the target's query string ("" if absent).
std::string query_parameter(std::string_view target, std::string_view name) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return {};
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) != name) continue;
        if (eq == std::string_view::npos) return {};
        std::string value(pair.substr(eq + 1));
        std::replace(value.begin(), value.end(), '+', ' ');
        return url_decode(value).value_or("");
    }
    return {};
}

// GET /api/users?q=PREFIX: people to start a conversation with or invite,
// by name prefix (at most bounds::max_user_search). Signed-in users only:
// the names of a server's people are not public.
http_response users_route(const http_request& req, server_context& ctx) {
    if (req.method() != http::verb::get) return method_not_allowed(req, "GET");
    const auto user = ctx.accts.find_session(token_of(req));
    if (!user) return make_error(req, http::status::unauthorized, "not_authenticated", "sign in first");
    const std::string_view target = req.target();
    const auto q = query_parameter(target, "q");
    json users = json::array();
    for (const auto& u : ctx.accts.search_users(q, bounds::max_user_search))
        users.push_back({{"id", u.id}, {"username", u.username}});
    return make_json(req, http::status::ok, {{"users", users}});
}

// /api/invites and /api/invites/ID: admins (or, with --member-invites,
// every member) create, list and revoke invites. Admins list and revoke
// every invite; members only their own.
http_response invites_route(const http_request& req, std::string_view path, server_context& ctx) {
    const auto user = ctx.accts.find_session(token_of(req));
    if (!user) return make_error(req, http::status::unauthorized, "not_authenticated", "sign in first");
    const bool admin = ctx.accts.is_admin(user->id);
    if (!admin && !ctx.cfg.member_invites)
        return make_error(req, http::status::forbidden, "forbidden", "only admins may invite people to this server");
    if (path == "/api/invites") {
        if (req.method() == http::verb::post) return create_invite_endpoint(req, *user, ctx);
        if (req.method() != http::verb::get) return method_not_allowed(req, "GET, POST");
        json list = json::array();
        for (const auto& i : ctx.accts.list_invites(user->id, admin)) list.push_back(invite_json(i));
        return make_json(req, http::status::ok, {{"invites", list}});
    }
    if (req.method() != http::verb::delete_) return method_not_allowed(req, "DELETE");
    std::uint64_t id = 0;
    const std::string_view digits = path.substr(std::string_view("/api/invites/").size());
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc{} || end != digits.data() + digits.size() || !ctx.accts.revoke_invite(id, user->id, admin))
        return make_error(req, http::status::not_found, "not_found", "no such invite");
    http_response res{http::status::no_content, req.version()};
    res.keep_alive(req.keep_alive());
    return res;
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

// GET /api/rooms[?after=NAME]: the public rooms, by name, a page at a time
// (bounds::directory_page); `next` is the `after` of the next page, null
// after the last. Rooms not in memory come from the database, so the
// directory is complete whether or not anyone is in them.
http_response directory_route(const http_request& req, server_context& ctx) {
    const std::string after = query_parameter(req.target(), "after");
    std::vector<directory_entry> page;
    try {
        page = ctx.rooms.list(after, bounds::directory_page + 1);
    } catch (const std::exception& e) {
        log::error(log::api, "room directory read failed", {{"error", e.what()}});
        return make_error(req, http::status::service_unavailable, "unavailable", "the directory cannot be read now");
    }
    const bool more = page.size() > bounds::directory_page;
    if (more) page.resize(bounds::directory_page);
    json rooms = json::array();
    for (const auto& r : page)
        rooms.push_back({{"id", r.id}, {"name", r.name}, {"title", r.title}, {"last_seq", r.last_seq},
                         {"members", r.members}, {"online", r.online}});
    return make_json(req, http::status::ok, {{"rooms", rooms}, {"next", more ? json(page.back().name) : json(nullptr)}});
}

http_response route(const http_request& req, const std::string& client, server_context& ctx) {
    const std::string_view path = req.target().substr(0, req.target().find('?'));
    const bool post = req.method() == http::verb::post;
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;

    if (is_admin_page(path)) return handle_admin_page(req, ctx);
    if (path.starts_with("/api/admin/")) return handle_admin_api(req, path, ctx);
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
    if (path == "/api/registration") {
        if (!get) return method_not_allowed(req, "GET");
        const auto mode = ctx.cfg.registration.value_or(registration_mode::open);
        return make_json(req, http::status::ok, {{"mode", to_string(mode)}});
    }
    if (path == "/api/invites" || path.starts_with("/api/invites/")) return invites_route(req, path, ctx);
    if (path == "/api/users") return users_route(req, ctx);
    if (path == "/api/me" || path == "/api/rooms") {
        if (!get) return method_not_allowed(req, "GET");
        const auto user = ctx.accts.find_session(token_of(req));
        if (!user) return make_error(req, http::status::unauthorized, "not_authenticated", "sign in first");
        if (path == "/api/me") {
            const bool admin = ctx.accts.is_admin(user->id);
            return make_json(req, http::status::ok,
                             {{"id", user->id}, {"username", user->username}, {"admin", admin},
                              {"can_invite", admin || ctx.cfg.member_invites}});
        }
        return directory_route(req, ctx);
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
        const std::string_view target = req.target();  // its path only: tokens may ride in the query
        log::error(log::api, "request failed",
                   {{"path", target.substr(0, target.find('?'))}, {"remote", client_address}, {"error", e.what()}});
        return make_error(req, http::status::internal_server_error, "internal_error", "the server failed; try again");
    }
}

}  // namespace parley::server
