// The parts of `parley admin` that depend on whether a server runs: acting
// through it (its control socket, net/control_socket.hpp) when it holds the
// data directory, and the read-only room listing.
//
// WHY THROUGH THE SERVER
// A disabled account must lose its open connections at once, and only the
// server that holds them can close them. So while a server holds the data
// directory's lock, the commands whose effect must reach live connections
// (disable-user, enable-user, reset-password, grant, revoke) are sent to it
// and it does them (net/admin_ops.hpp, the same functions as the admin
// API). When the lock is held but the socket does not answer, the command
// refuses and changes nothing: acting on the database alone would leave
// the server's connections and caches behind.
#pragma once

#include "server/store/sql.hpp"

#include "server/core/config.hpp"
#include "server/store/backup.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace parley::server {

/// Milliseconds since the epoch as 2026-12-04T14:00:00Z; "-" for 0 (never).
std::string format_utc_ms(std::int64_t ms);

/// Where a command that must reach live connections runs.
struct admin_route {
    /// Held when no server runs: the command acts on the database, and no server starts meanwhile.
    std::optional<data_dir_lock> lock;
    /// The exit code when the command was sent to the running server (or could not be).
    std::optional<int> status;
};

/** Sends `request` (admin_ops.hpp's JSON line) to the server holding
 *  `cfg.data_dir`, printing its answer; or takes the lock when there is none.
 *  @return lock set: act on the database; status set: done (0) or refused (1) */
admin_route route_admin_command(const config& cfg, const std::string& request, std::ostream& out, std::ostream& err);

/// `parley admin list-rooms`: every room not deleted, by id: id, kind, address, members, messages, last message.
void print_rooms(const store_url& store, std::ostream& out);

}  // namespace parley::server
