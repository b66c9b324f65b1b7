#include "server/net/admin_ops.hpp"

#include "server/core/bounds.hpp"
#include "server/core/log.hpp"
#include "server/net/connection_registry.hpp"
#include "server/net/server_context.hpp"

#include <nlohmann/json.hpp>

namespace parley::server {
namespace {

admin_outcome refused(std::string_view name, account_error e) {
    return {e, std::string(name) + ": " + std::string(describe(e))};
}

std::string connections_ended(std::size_t n) {
    return n == 1 ? "; 1 open connection closed" : "; " + std::to_string(n) + " open connections closed";
}

}  // namespace

admin_outcome set_user_disabled(accounts& accts, connection_registry* live, std::string_view name, bool disabled) {
    auto result = accts.set_disabled(name, disabled);
    if (auto* e = std::get_if<account_error>(&result)) return refused(name, *e);
    const auto& user = std::get<user_identity>(result);
    if (!disabled) return {std::nullopt, "enabled " + user.username};
    std::string message = "disabled " + user.username + ": signed out everywhere, cannot sign in";
    if (live != nullptr) message += connections_ended(live->end_user(user.id));
    log::info(log::admin, "disabled an account", {{"user", user.username}});
    return {std::nullopt, message};
}

admin_outcome reset_user_password(accounts& accts, connection_registry* live, std::string_view name,
                                  std::string_view password) {
    auto result = accts.reset_password(name, password);
    if (auto* e = std::get_if<account_error>(&result)) return refused(name, *e);
    const auto& user = std::get<user_identity>(result);
    std::string message = "new password set for " + user.username + "; every session of theirs ended";
    if (live != nullptr) message += connections_ended(live->end_user(user.id));
    log::info(log::admin, "reset a password", {{"user", user.username}});
    return {std::nullopt, message};
}

admin_outcome set_user_admin(accounts& accts, connection_registry* live, std::string_view name, bool admin) {
    if (auto e = accts.set_admin(name, admin)) return refused(name, *e);
    const auto user = accts.find_user(name);
    std::string message = (user ? user->username : std::string(name)) + (admin ? " is now an admin" : " is no longer an admin");
    if (live != nullptr && user) {
        const std::size_t n = live->reconnect_user(user->id);
        if (n != 0) message += "; " + std::to_string(n) + (n == 1 ? " connection reconnects" : " connections reconnect") +
                               " with it";
    }
    return {std::nullopt, message};
}

admin_outcome disconnect_user(accounts& accts, connection_registry& live, std::string_view name) {
    const auto user = accts.find_user(name);
    if (!user) return refused(name, account_error::no_such_user);
    const std::size_t n = live.end_user(user->id);
    return {std::nullopt, "closed " + std::to_string(n) + (n == 1 ? " connection of " : " connections of ") +
                              user->username};
}

std::string handle_control_request(std::string_view line, server_context& ctx) {
    using json = nlohmann::json;
    auto answer = [](const admin_outcome& o) { return json{{"ok", !o.error}, {"message", o.message}}.dump(); };
    auto bad = [](std::string_view why) { return json{{"ok", false}, {"message", why}}.dump(); };
    try {
        if (line.size() > bounds::max_control_line) return bad("request too long");
        const json req = json::parse(line, nullptr, false);
        if (!req.is_object() || !req.contains("command") || !req["command"].is_string() || !req.contains("user") ||
            !req["user"].is_string())
            return bad(R"(expected {"command": ..., "user": ...})");
        const auto command = req["command"].get<std::string>();
        const auto user = req["user"].get<std::string>();
        if (command == "disable-user" || command == "enable-user")
            return answer(set_user_disabled(ctx.accts, &ctx.connections, user, command == "disable-user"));
        if (command == "grant" || command == "revoke")
            return answer(set_user_admin(ctx.accts, &ctx.connections, user, command == "grant"));
        if (command == "disconnect") return answer(disconnect_user(ctx.accts, ctx.connections, user));
        if (command == "reset-password") {
            if (!req.contains("password") || !req["password"].is_string()) return bad("reset-password: no password");
            return answer(reset_user_password(ctx.accts, &ctx.connections, user, req["password"].get<std::string>()));
        }
        return bad("unknown command '" + command.substr(0, 64) + "'");
    } catch (const std::exception& e) {
        log::error(log::admin, "control request failed", {{"error", e.what()}});
        return bad("the server failed; try again");
    }
}

}  // namespace parley::server
