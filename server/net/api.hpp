// The JSON API under /api/: accounts and the room list.
//
//   POST /api/register  {"username", "password"} -> 201 {user, token, expires_at} + session cookie
//   POST /api/login     {"username", "password"} -> 200 {user, token, expires_at} + session cookie
//   POST /api/logout                               -> 204, token revoked (its WebSockets closed), cookie cleared
//   GET  /api/me                                   -> 200 {id, username} | 401
//   GET  /api/rooms                                -> 200 {rooms: [{id, name, last_seq, online}]} | 401
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
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace parley::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

inline constexpr std::string_view session_cookie_name = "parley_session";
inline constexpr std::string_view device_cookie_name = "parley_device";

/** Handles one /api/ request; never throws. */
http_response handle_api(const http_request& req, const std::string& client_address, server_context& ctx);

/// The value of cookie `name`; empty if absent.
std::string cookie_of(const http_request& req, std::string_view name);

/// The session token of a request: cookie first, then a Bearer header; empty if none.
std::string token_of(const http_request& req);

}  // namespace parley::server
