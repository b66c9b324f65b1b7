#include "server/net/admin_api.hpp"

#include "protocol/errors.hpp"
#include "server/core/bounds.hpp"
#include "server/core/log.hpp"
#include "server/net/admin_ops.hpp"
#include "server/net/static_files.hpp"
#include "server/store/accounts.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <future>
#include <memory>

namespace parley::server {
namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

/// The administrator behind the request, or the refusal (401 or 403).
std::variant<user_identity, http_response> require_admin(const http_request& req, server_context& ctx) {
    auto user = ctx.accts.find_session(token_of(req));
    if (!user) return make_error(req, http::status::unauthorized, "not_authenticated", "sign in first");
    if (!ctx.accts.is_admin(user->id))
        return make_error(req, http::status::forbidden, "forbidden", "only administrators may use the console");
    return std::move(*user);
}

template <class Counters>
void add_errors(json& out, const Counters& counters, std::uint16_t base) {
    for (std::size_t i = 0; i < counters.size(); ++i)
        if (const auto n = counters[i].load(std::memory_order_relaxed); n != 0) {
            const auto code = static_cast<std::uint16_t>(base + i);
            out.push_back({{"code", code}, {"name", protocol::error_name(code)}, {"count", n}});
        }
}

// The numbers of /metrics (the same counters, read the same way).
json summary_json(server_context& ctx) {
    const metrics& m = ctx.stats;
    auto load = [](const metrics::counter& c) { return c.load(std::memory_order_relaxed); };
    json errors = json::array();
    add_errors(errors, m.decode_errors, 0);
    add_errors(errors, m.request_errors, 100);
    json offenders = json::array();
    for (const auto& o : m.offenders.recent())
        offenders.push_back({{"address", o.address}, {"count", o.count}, {"last_at", o.last_ms}});
    const auto latency = [](const histogram& h) {
        return json{{"count", h.count()}, {"sum_s", h.sum_seconds()}, {"p50_s", h.quantile(0.5)},
                    {"p99_s", h.quantile(0.99)}};
    };
    return {{"connections", ctx.connections.size()},
            {"connections_total", load(m.connections_total)},
            {"rooms", ctx.rooms.size()},
            {"room_loads", ctx.rooms.loads()},
            {"room_evictions", ctx.rooms.evictions()},
            {"messages_total", load(m.messages_total)},
            {"http_requests_total", load(m.http_requests_total)},
            {"writer_backlog", ctx.writer.backlog()},
            {"events_committed", load(m.events_committed)},
            {"commits", load(m.commits)},
            {"commit_failures", load(m.commit_failures)},
            {"commit_latency", latency(m.commit_latency)},
            {"broadcast_latency", latency(m.broadcast_latency)},
            {"slow_consumer_disconnects", load(m.slow_consumer_disconnects)},
            {"rate_limited", load(m.rate_limited)},
            {"ephemeral_drops", load(m.ephemeral_drops)},
            {"protocol_errors", errors},
            {"recent_offenders", offenders},
            {"stopping", ctx.stopping.load()}};
}

json users_json(server_context& ctx) {
    const auto online = ctx.connections.counts_by_user();
    json users = json::array();
    for (const auto& u : ctx.accts.list_users()) {
        const auto it = online.find(u.id);
        users.push_back({{"id", u.id}, {"username", u.username}, {"admin", u.admin}, {"disabled", u.disabled_at_ms != 0},
                         {"created_at", u.created_at_ms}, {"disabled_at", u.disabled_at_ms},
                         {"connections", it == online.end() ? 0 : it->second}});
    }
    return {{"users", users}};
}

json rooms_json(server_context& ctx) {
    json rooms = json::array();
    for (const auto& r : ctx.rooms.loaded(bounds::admin_rooms_listed)) {
        json members = json::array();
        for (const auto& m : r.members) members.push_back(m.name);
        const auto kind = static_cast<std::size_t>(r.settings.kind);
        rooms.push_back({{"id", r.id}, {"kind", protocol::detail::room_kind_names[kind < 3 ? kind : 0]},
                         {"address", r.settings.address}, {"title", r.settings.title}, {"last_seq", r.last_seq},
                         {"connections", r.connections}, {"member_count", r.member_count}, {"members", members},
                         {"closed", r.deleted}});
    }
    return {{"rooms", rooms}, {"in_memory", ctx.rooms.size()}};
}

http::status status_of(account_error e) {
    if (e == account_error::no_such_user) return http::status::not_found;
    if (e == account_error::last_admin) return http::status::conflict;
    return http::status::bad_request;
}

http_response user_action(const http_request& req, std::string_view name, std::string_view action,
                          server_context& ctx) {
    if (req.method() != http::verb::post) return make_error(req, http::status::method_not_allowed, "method_not_allowed", "use POST");
    admin_outcome o;
    if (action == "disable" || action == "enable") o = set_user_disabled(ctx.accts, &ctx.connections, name, action == "disable");
    else if (action == "disconnect") o = disconnect_user(ctx.accts, ctx.connections, name);
    else return make_error(req, http::status::not_found, "not_found", "no such action");
    if (o.error) return make_error(req, status_of(*o.error), "refused", o.message);
    return make_json(req, http::status::ok, {{"message", o.message}});
}

std::optional<std::uint64_t> parse_id(std::string_view digits) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || n == 0) return std::nullopt;
    return n;
}

http_response room_refusal(const http_request& req, protocol::error_code code) {
    using protocol::error_code;
    const auto c = static_cast<std::uint16_t>(code);
    http::status status = http::status::internal_server_error;
    if (code == error_code::no_such_room || code == error_code::no_such_message) status = http::status::not_found;
    else if (code == error_code::bad_request) status = http::status::bad_request;
    else if (code == error_code::forbidden || code == error_code::not_allowed) status = http::status::forbidden;
    else if (code == error_code::room_unavailable || code == error_code::server_busy) status = http::status::service_unavailable;
    return make_error(req, status, protocol::error_name(c), protocol::error_description(c));
}

// Opens the room (loading it if need be) and runs the action on it; waits
// for the room's answer, at most bounds::admin_action_timeout.
http_response room_action(const http_request& req, std::uint32_t room_id, std::uint64_t seq, const user_identity& admin,
                          server_context& ctx) {
    using result = std::optional<protocol::error_code>;
    auto answer = std::make_shared<std::promise<result>>();
    auto got = answer->get_future();
    const protocol::user_ref who{admin.id, admin.username};
    room_key key{room_key::by::id, {}, room_id};
    ctx.rooms.open(key, admin.id, true, [answer, who, seq](room_registry::outcome o) {
        if (auto* e = std::get_if<protocol::error_code>(&o)) return answer->set_value(*e);
        auto r = std::get<room_registry::room_ptr>(o);
        if (!r) return answer->set_value(protocol::error_code::no_such_room);
        // The lease lives until the room answers.
        auto done = [answer, r](result res) { answer->set_value(res); };
        if (seq != 0) r->delete_message_as_admin(who, seq, done);
        else r->close_as_admin(who, done);
    });
    if (got.wait_for(bounds::admin_action_timeout) != std::future_status::ready)
        return make_error(req, http::status::gateway_timeout, "timeout", "the room did not answer in time; try again");
    if (const auto refused = got.get()) return room_refusal(req, *refused);
    if (seq != 0) log::info(log::admin, "deleted a message", {{"user", admin.username}, {"room", room_id}, {"seq", seq}});
    else log::info(log::admin, "closed a room", {{"user", admin.username}, {"room", room_id}});
    const std::string message = seq != 0 ? "deleted message " + std::to_string(seq) + " of room " + std::to_string(room_id)
                                         : "closed room " + std::to_string(room_id);
    return make_json(req, http::status::ok, {{"message", message}});
}

// /api/admin/rooms/ID or /api/admin/rooms/ID/messages/SEQ
http_response room_route(const http_request& req, std::string_view rest, const user_identity& admin,
                         server_context& ctx) {
    if (req.method() != http::verb::delete_)
        return make_error(req, http::status::method_not_allowed, "method_not_allowed", "use DELETE");
    const auto slash = rest.find('/');
    const auto room_id = parse_id(rest.substr(0, slash));
    if (!room_id || *room_id > 0xFFFFFFFFu) return make_error(req, http::status::not_found, "not_found", "no such room");
    std::uint64_t seq = 0;
    if (slash != std::string_view::npos) {
        constexpr std::string_view messages = "/messages/";
        const auto tail = rest.substr(slash);
        const auto parsed = tail.starts_with(messages) ? parse_id(tail.substr(messages.size())) : std::nullopt;
        if (!parsed) return make_error(req, http::status::not_found, "not_found", "no such message");
        seq = *parsed;
    }
    return room_action(req, static_cast<std::uint32_t>(*room_id), seq, admin, ctx);
}

}  // namespace

http_response handle_admin_page(const http_request& req, server_context& ctx) {
    auto page = [&](http::status status, std::string_view text) {
        http_response res{status, req.version()};
        res.set(http::field::content_type, "text/html; charset=utf-8");
        res.set(http::field::cache_control, "no-store");
        res.keep_alive(req.keep_alive());
        res.body() = "<!doctype html><meta charset=utf-8><title>Parley admin</title><p>" + std::string(text) +
                     " <a href=\"/\">Back to Parley</a></p>\n";
        res.prepare_payload();
        return res;
    };
    if (req.method() != http::verb::get && req.method() != http::verb::head)
        return make_error(req, http::status::method_not_allowed, "method_not_allowed", "use GET");
    const auto user = ctx.accts.find_session(token_of(req));
    if (!user) return page(http::status::unauthorized, "Sign in as an administrator first.");
    if (!ctx.accts.is_admin(user->id)) return page(http::status::forbidden, "Only administrators may open this page.");
    http_request file = req;
    file.target("/admin.html");
    auto res = ctx.files.serve(file);
    res.set(http::field::cache_control, "no-store");
    return res;
}

http_response handle_admin_api(const http_request& req, std::string_view path, server_context& ctx) {
    auto who = require_admin(req, ctx);
    if (auto* refused = std::get_if<http_response>(&who)) return std::move(*refused);
    const auto& admin = std::get<user_identity>(who);
    const bool get = req.method() == http::verb::get;
    constexpr std::string_view users = "/api/admin/users/", rooms = "/api/admin/rooms/";
    if (path == "/api/admin/summary" && get) return make_json(req, http::status::ok, summary_json(ctx));
    if (path == "/api/admin/users" && get) return make_json(req, http::status::ok, users_json(ctx));
    if (path == "/api/admin/rooms" && get) return make_json(req, http::status::ok, rooms_json(ctx));
    if (path.starts_with(users)) {
        const auto rest = path.substr(users.size());
        const auto slash = rest.find('/');
        if (slash == std::string_view::npos) return make_error(req, http::status::not_found, "not_found", "no such action");
        const auto name = url_decode(rest.substr(0, slash));
        if (!name) return make_error(req, http::status::not_found, "not_found", "no such user");
        return user_action(req, *name, rest.substr(slash + 1), ctx);
    }
    if (path.starts_with(rooms)) return room_route(req, path.substr(rooms.size()), admin, ctx);
    return make_error(req, http::status::not_found, "not_found", "no such endpoint");
}

}  // namespace parley::server
