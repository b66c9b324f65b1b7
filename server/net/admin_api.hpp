// The administrator's console: the /admin page and the JSON API under
// /api/admin/ it polls. Every route checks, on the server, for every
// request, that the session is an administrator's: 401 without a session,
// 403 for anyone else (the page too: it is not a plain static file).
//
//   GET    /admin                               -> the page (web/admin.html) | 401 | 403
//   GET    /api/admin/summary                   -> the numbers /metrics shows, as JSON, and recent offenders
//   GET    /api/admin/users                     -> {users: [{id, username, admin, disabled, created_at, connections}]}
//   GET    /api/admin/rooms                     -> {rooms: [rooms in memory with their members]}
//   POST   /api/admin/users/NAME/disable        -> 200 {message} (sessions and live connections end)
//   POST   /api/admin/users/NAME/enable         -> 200 {message}
//   POST   /api/admin/users/NAME/disconnect     -> 200 {message} (live connections close; sessions stay)
//   DELETE /api/admin/rooms/ID/messages/SEQ     -> 200 {message} (a tombstone naming the administrator)
//   DELETE /api/admin/rooms/ID                  -> 200 {message} (the room is deleted; members are told)
//
// Refusals are {"error": code, "message": text}: 404 for an unknown user,
// room or message, 409 for the last admin, 400 for a direct conversation
// (those are not closed), 503 when the room cannot answer now. Handlers
// block: run them on the blocking pool (handle_api does).
#pragma once

#include "server/net/api.hpp"

#include <optional>
#include <string_view>

namespace parley::server {

/// Whether `path` is the console's page.
inline bool is_admin_page(std::string_view path) { return path == "/admin" || path == "/admin.html"; }

/// Answers GET /admin (the page, after the check).
http_response handle_admin_page(const http_request& req, server_context& ctx);

/// Answers a request under /api/admin/.
http_response handle_admin_api(const http_request& req, std::string_view path, server_context& ctx);

}  // namespace parley::server
