// Every fixed bound of the server, each with its reason, and the invariants
// between them that code relies on, checked at compile time. The bounds of
// the wire format are in protocol/limits.hpp; the knobs an operator turns
// are in config.hpp (their defaults and flag ranges refer to these).
#pragma once

#include "protocol/limits.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace parley::server::bounds {

using namespace std::chrono_literals;

// ---- HTTP ----------------------------------------------------------------------------------------

/// Request line and headers: a browser with a few cookies needs about 2 KiB.
inline constexpr std::size_t max_header_bytes = 16 * 1024;
/// Request bodies: the JSON API takes a username and a password, nothing larger.
inline constexpr std::size_t max_body_bytes = 64 * 1024;
/// After an error response, unread input is drained this long before the
/// close, so the peer reads the response instead of a reset.
inline constexpr auto linger_timeout = 1s;

// ---- connections ---------------------------------------------------------------------------------

/// Packets coalesced into one WebSocket message: large enough that a busy
/// room's burst is one write, small enough that one slow write does not hold
/// a fast reader's next packet for long.
inline constexpr std::size_t max_batch_bytes = 256 * 1024;
/// A batch of up to this many payload bytes is copied into one buffer and
/// sent with one iovec; a larger one is gathered from the shared packets.
inline constexpr std::size_t max_joined_batch_bytes = 64 * 1024;
/// A refusal because the room's disk could not be read: retry after this.
inline constexpr std::uint32_t unavailable_retry_ms = 1000;
/// A refusal because the writer is behind (server_busy): retry after this.
inline constexpr std::uint32_t busy_retry_ms = 1000;
/// History reads per user (sustained per second, burst): each one may touch
/// the disk, and a client scrolls back a page at a time. No flag: a client
/// that honours retry_after_ms never notices it.
inline constexpr double history_rate = 20, history_burst = 40;

// ---- rooms ---------------------------------------------------------------------------------------

/// Messages in the page a joiner gets when it cannot be replayed to: a
/// screenful and some; older ones come with request_history.
inline constexpr std::size_t latest_page_size = 50;
/// Messages older than the cache that stay in memory once an edit or a
/// reaction loaded them (until persisted); beyond it the oldest pin goes.
inline constexpr std::size_t max_pinned_messages = 1000;
/// People a snapshot names (who is online, the member list): what a
/// client's member list shows. A larger room sends the first of them and its
/// totals, so a join costs the same in a room of 200 and of 100,000.
inline constexpr std::size_t snapshot_people = 200;
static_assert(snapshot_people <= protocol::limits::max_presence_users, "a snapshot is one packet");
/// Presence changes in a room with more than snapshot_people online are told
/// together, once per interval: about 0.1 ms per person online, between
/// these bounds (1 s at 10,000), so a member gets a bounded number of
/// presence packets in a connect storm however large the room.
inline constexpr auto min_presence_interval = std::chrono::milliseconds(250);
inline constexpr auto presence_interval_per_person = std::chrono::microseconds(100);
inline constexpr auto max_presence_interval = std::chrono::seconds(5);
/// A persisted watermark waits this long for a broadcast to travel with
/// (the same write to each member, no packet of its own), then goes alone.
inline constexpr auto watermark_delay = std::chrono::milliseconds(100);

// ---- accounts ------------------------------------------------------------------------------------

/// Passwords in bytes: 8 is the least worth hashing; 256 bounds the
/// Argon2id input an unauthenticated request can make the server hash.
inline constexpr std::size_t min_password_bytes = 8;
inline constexpr std::size_t max_password_bytes = 256;
/// Verified session tokens remembered in memory, so reconnects skip SQLite.
/// An entry is under 100 bytes: 10 MB at most.
inline constexpr std::size_t max_cached_sessions = 100000;

// ---- invites -------------------------------------------------------------------------------------

/// Invite codes in random bytes (base64url in the link): 128 bits cannot be
/// guessed, and failed guesses count against the guesser's address anyway.
inline constexpr std::size_t invite_code_bytes = 16;
/// Uses of one invite: 1 by default (one person); 1000 is a whole
/// organisation from one link, more is an open door better left to `open`.
inline constexpr std::int64_t default_invite_uses = 1;
inline constexpr std::int64_t max_invite_uses = 1000;
/// An invite's lifetime: a week by default (time to read the mail), at
/// least a minute (a shorter one expires before the link arrives), at most
/// 90 days (a forgotten link should not stay a key for ever).
inline constexpr auto default_invite_ttl = std::chrono::seconds(7 * 24 * 3600);
inline constexpr auto min_invite_ttl = std::chrono::seconds(60);
inline constexpr auto max_invite_ttl = std::chrono::seconds(90 * 24 * 3600);
/// Usable invites one user may hold at once: every one is a stored row, and
/// a member with --member-invites should not fill the disk with them.
inline constexpr std::size_t max_open_invites_per_user = 100;
/// People one GET /api/users answer lists.
inline constexpr std::size_t max_user_search = 20;
/// Public rooms per page of GET /api/rooms.
inline constexpr std::size_t directory_page = 100;

// ---- configuration -------------------------------------------------------------------------------

/// A config file holds a line per setting: a few KiB. Anything far larger is
/// not a config file (a wrong path, a database).
inline constexpr std::size_t max_config_file_bytes = 1024 * 1024;

// ---- storage -------------------------------------------------------------------------------------

/// How long a SQLite call waits for another connection's lock (a reader
/// checkpointing, the session store) before it reports SQLITE_BUSY.
inline constexpr auto busy_timeout = 5000ms;
/// The writer's back-off between failed commits: doubling from the first to
/// the last, so a full disk is retried often at first and then calmly.
inline constexpr auto first_backoff = 50ms;
inline constexpr auto max_backoff = 5000ms;
/// Epochs a room reads when it warms up: the newest ones. Every load of a
/// room starts one (a restart, or coming back after an idle eviction), and a
/// client whose epoch is older than these gets room_reset and the latest page,
/// which is always safe.
inline constexpr std::size_t max_loaded_epochs = 64;
/// Attempts to store a void in place of an event that cannot be stored,
/// before the room is held as unstorable (the watermark stops below it).
inline constexpr int max_void_attempts = 3;
/// Automatic backups taken before a schema upgrade that stay beside the
/// database (the newest ones): enough to step back over the last few
/// upgrades, few enough that copies of a large database do not fill the disk.
inline constexpr std::size_t max_upgrade_backups = 3;

// ---- the administrator's console and control socket ---------------------------------------------

/// Rooms the console lists (of those in memory, by id): a page a person reads.
inline constexpr std::size_t admin_rooms_listed = 500;
/// Members named per room in the console; the count is always whole.
inline constexpr std::size_t admin_room_members = 100;
/// Recent addresses of protocol offenders kept for the console (a ring).
inline constexpr std::size_t recent_offenders = 16;
/// One request or answer line on the control socket: a command, a name, a password.
inline constexpr std::size_t max_control_line = 4096;
/// A control client that has not sent its line by then is dropped; the CLI
/// waits as long for the answer.
inline constexpr auto control_timeout = 10s;
/// How long an admin action waits for its room's answer before giving up (504).
inline constexpr auto admin_action_timeout = 10s;

// ---- shutdown ------------------------------------------------------------------------------------

/// Connections get this long to flush their queues and close cleanly
/// before the server stops the I/O threads.
inline constexpr auto drain_timeout = 5s;

// ---- invariants ----------------------------------------------------------------------------------

namespace wire = protocol::limits;

// A batch of queued packets is one packet: its envelope cannot fail.
static_assert(max_batch_bytes + wire::max_header_bytes + wire::checksum_bytes <= wire::max_packet_bytes);
static_assert(max_batch_bytes <= wire::max_payload_bytes);
// A latest page is one history_page packet, even of the longest messages.
static_assert(latest_page_size <= wire::max_history_page);
// A registration body holds the longest username and password, every byte
// JSON-escaped as \uXXXX, with room for the field names.
static_assert(max_body_bytes >= 6 * (wire::max_username_bytes + max_password_bytes) + 256);
static_assert(min_password_bytes <= max_password_bytes);
static_assert(default_invite_uses >= 1 && default_invite_uses <= max_invite_uses);
static_assert(min_invite_ttl <= default_invite_ttl && default_invite_ttl <= max_invite_ttl);
static_assert(invite_code_bytes <= 32);  // random_token's buffer
static_assert(first_backoff <= max_backoff);
// Shutdown outlasts the linger of a connection that was just refused.
static_assert(drain_timeout > linger_timeout);

}  // namespace parley::server::bounds
