// The JSON API under /api/: accounts, invites and the room list.
//
//   POST /api/register  {"username", "password", "invite"?} -> 201 {user, token, expires_at} + session cookie
//                        | 403 invite_required / invite_invalid / registration_closed (nothing created)
//   POST /api/login     {"username", "password"} -> 200 {user, token, expires_at} + session cookie
//   POST /api/logout                               -> 204, token revoked (its WebSockets closed), cookie cleared
//   GET  /api/me                                   -> 200 {id, username, admin, can_invite} | 401
//   GET  /api/registration                         -> 200 {mode: "open" | "invite" | "closed"} (public)
//   POST /api/invites   {"uses"?, "expires_in_s"?}  -> 201 {id, code, link, uses, uses_left, expires_at, ...}
//   GET  /api/invites                              -> 200 {invites: [...]} (admins: all; members: their own)
//   DELETE /api/invites/ID                         -> 204 | 404
//   GET  /api/rooms[?after=NAME]                   -> 200 {rooms: [{id, name, title, last_seq, members, online}], next} | 401
//
// The invite endpoints answer 401 without a session and 403 unless the user
// is an admin or the server runs with --member-invites.
//
// The token comes from the `parley_session` cookie (browsers) or an
// `Authorization: Bearer` header (other clients). Errors are JSON
// {"error": code, "message": text} with a fitting status; rate-limited
// requests get 429 with Retry-After. A signed-in answer also sets the
// `parley_device` cookie, which lets that browser past the guessing limits
// of later logins to the same account (login_guard.hpp). Handlers block (password hashing,
// SQLite): run them on the blocking pool.
#pragma once

#include "server/net/server_context.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace parley::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

inline constexpr std::string_view session_cookie_name = "parley_session";
inline constexpr std::string_view device_cookie_name = "parley_device";

/// A JSON answer (no-store; invalid UTF-8 replaced, never thrown on).
http_response make_json(const http_request& req, boost::beast::http::status status, const nlohmann::json& body);
/// A JSON error answer: {"error": code, "message": message}.
http_response make_error(const http_request& req, boost::beast::http::status status, std::string_view code,
                         std::string_view message);

/** Handles one /api/ request; never throws. */
http_response handle_api(const http_request& req, const std::string& client_address, server_context& ctx);

/// The value of cookie `name`; empty if absent.
std::string cookie_of(const http_request& req, std::string_view name);

/// The session token of a request: cookie first, then a Bearer header; empty if none.
std::string token_of(const http_request& req);

}  // namespace parley::server
