// What an administrator does to an account, in one place for every road to
// it: `parley admin` on a stopped server's database, the control socket of a
// running server (control_socket.hpp), and the admin API (admin_api.hpp).
//
// Each operation changes the database first (accounts.hpp: one transaction,
// the session cache dropped) and then, when it runs inside the server, signs
// out the account's live WebSocket connections through the registry, so a
// disabled account or a replaced password stops working at once, not at the
// next reconnect. A refused operation changes nothing.
//
// The control socket speaks one JSON object per line each way:
//   {"command": "disable-user" | "enable-user" | "reset-password" | "grant" | "revoke" | "disconnect",
//    "user": NAME, "password"?: TEXT}
//   -> {"ok": true, "message": TEXT} | {"ok": false, "message": TEXT}
// A line longer than bounds::max_control_line, or anything that is not such
// an object, gets {"ok": false, ...} and nothing happens.
#pragma once

#include "server/store/accounts.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace parley::server {

class connection_registry;
struct server_context;

/// How an operation ended: `message` says what was done, or why nothing was.
struct admin_outcome {
    std::optional<account_error> error;  ///< nullopt: done
    std::string message;
};

/** Disables (sessions deleted, live connections signed out) or enables `name`.
 *  @param live the running server's connections; null outside a server */
admin_outcome set_user_disabled(accounts& accts, connection_registry* live, std::string_view name, bool disabled);
/// A new password (8-256 bytes) for `name`; every session and live connection of theirs ends.
admin_outcome reset_user_password(accounts& accts, connection_registry* live, std::string_view name,
                                  std::string_view password);
/** Grants or revokes admin (never from the last admin). A live connection
 *  holds the flag it signed in with, so the user's connections are asked to
 *  reconnect ("going away", as at a restart: the session stays), and come
 *  back with the new flag. @param live null outside a server */
admin_outcome set_user_admin(accounts& accts, connection_registry* live, std::string_view name, bool admin);
/// Signs out every live connection of `name` (their sessions stay: a client may reconnect).
admin_outcome disconnect_user(accounts& accts, connection_registry& live, std::string_view name);

/** Answers one control-socket request line (see above); blocks (SQLite,
 *  password hashing): call it on the blocking pool. Never throws. */
std::string handle_control_request(std::string_view line, server_context& ctx);

}  // namespace parley::server
