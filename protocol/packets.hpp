// The packets of the Parley protocol, as plain structs.
//
// Each struct names its kind and lists its fields once, in wire order, in a
// static `fields(self, visit)` function. The codec, the JSON conversion used
// by tests and tools, and the WebAssembly bindings all walk that one list, so
// a field added here appears everywhere at once. A field is visited as
//   visit("name", member)        integers, bools, enums, nested structs
//   visit("name", member, max)   max bytes of a string, items of a list, or
//                                the largest value of an integer
// The names are what JSON and the WebAssembly API call the fields; "type"
// is taken there (it names the packet's kind), so a room_kind member `type`
// is visited as "room_type".
// docs/protocol.md is the byte-level specification of what this produces.
#pragma once

#include "protocol/limits.hpp"
#include "protocol/vocabulary.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace parley::protocol {

/// Packet kinds (vocabulary.hpp lists them with their bytes). 0x01-0x3F
/// travel from clients to the server, 0x40-0x7E from the server to clients,
/// 0x7F is the batch container.
enum class packet_kind : std::uint8_t {
#define PARLEY_ENUMERATOR(name, byte) name = byte,
    PARLEY_PACKET_KINDS(PARLEY_ENUMERATOR)
#undef PARLEY_ENUMERATOR
    batch = 0x7F,
};

constexpr bool is_client_kind(packet_kind k) noexcept {
    return static_cast<std::uint8_t>(k) >= 0x01 && static_cast<std::uint8_t>(k) < 0x40;
}

// Every enumeration lists its names once, in value order: enum_names(E{})
// is what the codec checks values against (a value past the end is
// bad_value), what JSON vectors and the WebAssembly API spell, and what the
// spec's tables are checked against.

enum class reaction_kind : std::uint8_t { like = 0, dislike = 1, heart = 2, star = 3, laugh = 4, party = 5 };
inline constexpr std::uint8_t reaction_kind_count = 6;

/// What a presence, room-list or member-list packet says about its items.
enum class presence_change : std::uint8_t {
    snapshot = 0,  ///< the full list: replaces the client's (continued by `joined` packets if long)
    joined = 1,    ///< these items are added (or, in lists of rooms and members, updated)
    left = 2,      ///< these items are removed
};

/// Why a history page was sent.
enum class history_mode : std::uint8_t {
    older = 0,   ///< answer to request_history: messages before `before_seq`
    latest = 1,  ///< the newest messages of the room as of some seq, followed by
                 ///< the events after it; replaces what the client had
};

/// Who may find and join a room.
enum class room_kind : std::uint8_t {
    public_room = 0,   ///< "public": listed in the directory; anyone signed in may join
    private_room = 1,  ///< "private": unlisted; joined only by invitation
    direct = 2,        ///< "direct": a conversation of 2-8 people, fixed by who they are
};

/// A member's role in one room.
enum class room_role : std::uint8_t { member = 0, moderator = 1, owner = 2 };

/// Where a user stands with a room (member lists).
enum class membership : std::uint8_t { member = 0, invited = 1, banned = 2 };

/// A change of a room's membership or settings: what manage_room asks for
/// and what a room_event records. `joined` and `declined` come only from
/// joining and decline_invite.
enum class room_action : std::uint8_t {
    joined = 0,          ///< target became a member (actor: who invited them, or target)
    left = 1,            ///< target left the room
    invited = 2,         ///< actor invited target
    declined = 3,        ///< target declined an invitation
    kicked = 4,          ///< actor removed target (a private room needs a new invitation)
    banned = 5,          ///< actor removed target for good
    unbanned = 6,        ///< actor lifted target's ban
    muted = 7,           ///< target may read but not send, react or type
    unmuted = 8,
    role_set = 9,        ///< target's role is now `role` (member or moderator)
    ownership_given = 10,  ///< actor (the owner) made target the owner; actor is a moderator now
    title_set = 11,      ///< the room's title is now `text`
    topic_set = 12,      ///< the room's topic is now `text`
    kind_set = 13,       ///< the room is now of `type` (public or private)
    deleted = 14,        ///< actor (the owner) deleted the room
};

/// Why a connection is no longer in a room (room_left).
enum class leave_reason : std::uint8_t {
    requested = 0,    ///< this connection asked (leave_room)
    unavailable = 1,  ///< the server cannot serve the room right now: join again later
    left = 2,         ///< the user left the room (from this or another connection)
    kicked = 3,
    banned = 4,
    deleted = 5,      ///< the room was deleted
};

namespace detail {
inline constexpr std::string_view reaction_kind_names[] = {"like", "dislike", "heart", "star", "laugh", "party"};
inline constexpr std::string_view presence_change_names[] = {"snapshot", "joined", "left"};
inline constexpr std::string_view history_mode_names[] = {"older", "latest"};
inline constexpr std::string_view room_kind_names[] = {"public", "private", "direct"};
inline constexpr std::string_view room_role_names[] = {"member", "moderator", "owner"};
inline constexpr std::string_view membership_names[] = {"member", "invited", "banned"};
inline constexpr std::string_view room_action_names[] = {
    "joined", "left", "invited", "declined", "kicked", "banned", "unbanned", "muted",
    "unmuted", "role_set", "ownership_given", "title_set", "topic_set", "kind_set", "deleted"};
inline constexpr std::string_view leave_reason_names[] = {"requested", "unavailable", "left", "kicked", "banned",
                                                          "deleted"};
}  // namespace detail

constexpr std::span<const std::string_view> enum_names(reaction_kind) noexcept { return detail::reaction_kind_names; }
constexpr std::span<const std::string_view> enum_names(presence_change) noexcept { return detail::presence_change_names; }
constexpr std::span<const std::string_view> enum_names(history_mode) noexcept { return detail::history_mode_names; }
constexpr std::span<const std::string_view> enum_names(room_kind) noexcept { return detail::room_kind_names; }
constexpr std::span<const std::string_view> enum_names(room_role) noexcept { return detail::room_role_names; }
constexpr std::span<const std::string_view> enum_names(membership) noexcept { return detail::membership_names; }
constexpr std::span<const std::string_view> enum_names(room_action) noexcept { return detail::room_action_names; }
constexpr std::span<const std::string_view> enum_names(leave_reason) noexcept { return detail::leave_reason_names; }

template <class E>
concept named_enum = std::is_enum_v<E> && requires(E e) { enum_names(e); };

/// How many values E has; values are 0 .. count-1.
template <named_enum E>
constexpr std::uint8_t enum_count(E e) noexcept { return static_cast<std::uint8_t>(enum_names(e).size()); }
static_assert(enum_count(reaction_kind{}) == reaction_kind_count);

/// The snake_case name of a value, "" for a value past the end.
template <named_enum E>
constexpr std::string_view enum_name(E e) noexcept {
    const auto names = enum_names(e);
    const auto i = static_cast<std::size_t>(e);
    return i < names.size() ? names[i] : std::string_view{};
}

template <named_enum E>
constexpr std::optional<E> enum_from_name(std::string_view name) noexcept {
    const auto names = enum_names(E{});
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return static_cast<E>(i);
    return std::nullopt;
}

// ---- shared records -------------------------------------------------------

struct user_ref {
    std::uint64_t id = 0;
    std::string name;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("id", s.id);
        v("name", s.name, limits::max_username_bytes);
    }
    friend bool operator==(const user_ref&, const user_ref&) = default;
};

struct reaction_count {
    reaction_kind reaction = reaction_kind::like;
    std::uint32_t count = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("reaction", s.reaction);
        v("count", s.count);
    }
    friend bool operator==(const reaction_count&, const reaction_count&) = default;
};

/// One chat message as clients display it. Timestamps are milliseconds since
/// the Unix epoch; 0 means "never" (edited_at) or "none" (reply_to).
struct message_record {
    std::uint64_t seq = 0;
    std::uint64_t author_id = 0;
    std::string author;
    std::uint64_t client_msg_id = 0;
    std::uint64_t sent_at = 0;
    std::uint64_t edited_at = 0;
    std::uint64_t reply_to = 0;
    bool deleted = false;  ///< tombstone: text is empty
    std::uint64_t deleted_by = 0;  ///< tombstone: who deleted it (the author, a moderator or an admin)
    std::string text;
    std::vector<reaction_count> reactions;  ///< non-zero counts only
    std::uint8_t my_reactions = 0;          ///< bit r set: the recipient reacted with r

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("seq", s.seq);
        v("author_id", s.author_id);
        v("author", s.author, limits::max_username_bytes);
        v("client_msg_id", s.client_msg_id);
        v("sent_at", s.sent_at);
        v("edited_at", s.edited_at);
        v("reply_to", s.reply_to);
        v("deleted", s.deleted);
        v("deleted_by", s.deleted_by);
        v("text", s.text, limits::max_text_bytes);
        v("reactions", s.reactions, limits::max_reactions_per_message);
        v("my_reactions", s.my_reactions, std::uint8_t{(1u << reaction_kind_count) - 1});
    }
    friend bool operator==(const message_record&, const message_record&) = default;
};

/// A rate limit a client must respect: requests of `kinds` share one token
/// bucket of `burst` tokens, refilled at `per_minute`. A refused request
/// (rate_limited) must not be repeated before its retry_after_ms.
struct rate_limit {
    std::vector<std::uint8_t> kinds;  ///< packet kinds drawing on this bucket
    std::uint32_t per_minute = 0;
    std::uint32_t burst = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("kinds", s.kinds, limits::max_limit_kinds);
        v("per_minute", s.per_minute);
        v("burst", s.burst);
    }
    friend bool operator==(const rate_limit&, const rate_limit&) = default;
};

/// One room of the signed-in user, as their room list shows it: the rooms
/// they belong to and those they are invited to.
struct room_entry {
    std::uint32_t room_id = 0;
    std::string address;  ///< what join_room takes
    std::string title;    ///< shown name; empty for direct conversations
    room_kind type = room_kind::public_room;
    room_role role = room_role::member;
    bool muted = false;
    bool invited = false;     ///< an invitation, not yet accepted (join) or declined
    user_ref invited_by;      ///< invitations: who invited
    std::vector<user_ref> people;  ///< direct conversations: everyone in it
    std::uint64_t last_seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("address", s.address, limits::max_room_name_bytes);
        v("title", s.title, limits::max_room_name_bytes);
        v("room_type", s.type);
        v("role", s.role);
        v("muted", s.muted);
        v("invited", s.invited);
        v("invited_by", s.invited_by);
        v("people", s.people, limits::max_direct_people);
        v("last_seq", s.last_seq);
    }
    friend bool operator==(const room_entry&, const room_entry&) = default;
};

/// One person a room knows: a member (with role), an invitee or a banned user.
struct member_entry {
    user_ref user;
    membership state = membership::member;
    room_role role = room_role::member;
    bool muted = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("user", s.user);
        v("state", s.state);
        v("role", s.role);
        v("muted", s.muted);
    }
    friend bool operator==(const member_entry&, const member_entry&) = default;
};

// ---- client to server -----------------------------------------------------

/// Sign in on an open connection with a session token from the HTTP API.
struct authenticate {
    static constexpr packet_kind kind = packet_kind::authenticate;
    std::string token;

    template <class Self, class V>
    static void fields(Self& s, V&& v) { v("token", s.token, limits::max_token_bytes); }
    friend bool operator==(const authenticate&, const authenticate&) = default;
};

/// Join a room by its address. A public room may be joined by anyone signed
/// in, a private or direct one by its members and invitees; for every other
/// address (none such, or no access) the answer is the same no_such_room.
/// Rooms are made with create_room and open_direct. (epoch, since_seq) is the position
/// the client holds: the last event it saw, in the epoch it saw it in (0, 0:
/// none), so the server can replay exactly what was missed, or tell the
/// client to drop what it can no longer vouch for.
struct join_room {
    static constexpr packet_kind kind = packet_kind::join_room;
    std::string room;
    std::uint64_t epoch = 0;
    std::uint64_t since_seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room", s.room, limits::max_room_name_bytes);
        v("epoch", s.epoch);
        v("since_seq", s.since_seq);
    }
    friend bool operator==(const join_room&, const join_room&) = default;
};

/// Stop receiving the room on this connection (closing a view of it); the
/// user stays a member. Leaving the room itself is manage_room `left`.
struct leave_room {
    static constexpr packet_kind kind = packet_kind::leave_room;
    std::uint32_t room_id = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) { v("room_id", s.room_id); }
    friend bool operator==(const leave_room&, const leave_room&) = default;
};

/// A new message. client_msg_id is chosen by the client and unique per user;
/// resending it is safe (the server acknowledges the original again).
/// `resend` marks a message the client may have sent before (it was in its
/// outbox across a disconnect): only then does the server look for a
/// duplicate on disk, so first attempts never wait for storage.
struct send_message {
    static constexpr packet_kind kind = packet_kind::send_message;
    std::uint32_t room_id = 0;
    std::uint64_t client_msg_id = 0;
    std::uint64_t reply_to = 0;  ///< sequence of the quoted message, 0: none
    std::string text;
    bool resend = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("client_msg_id", s.client_msg_id);
        v("reply_to", s.reply_to);
        v("text", s.text, limits::max_text_bytes);
        v("resend", s.resend);
    }
    friend bool operator==(const send_message&, const send_message&) = default;
};

/// Every change a client asks for carries a client_id, chosen by the client
/// and unique per user and room (for send_message it is the client_msg_id):
/// the server acknowledges it with `ack`, and a change sent again with the
/// same id (`resend`: it may have been sent before a disconnect) is
/// acknowledged with the original instead of being applied twice.

/// Replace the text of one's message.
struct edit_message {
    static constexpr packet_kind kind = packet_kind::edit_message;
    std::uint32_t room_id = 0;
    std::uint64_t client_id = 0;
    std::uint64_t message_seq = 0;
    std::string text;
    bool resend = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("client_id", s.client_id);
        v("message_seq", s.message_seq);
        v("text", s.text, limits::max_text_bytes);
        v("resend", s.resend);
    }
    friend bool operator==(const edit_message&, const edit_message&) = default;
};

struct delete_message {
    static constexpr packet_kind kind = packet_kind::delete_message;
    std::uint32_t room_id = 0;
    std::uint64_t client_id = 0;
    std::uint64_t message_seq = 0;
    bool resend = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("client_id", s.client_id);
        v("message_seq", s.message_seq);
        v("resend", s.resend);
    }
    friend bool operator==(const delete_message&, const delete_message&) = default;
};

/// Puts the user's reaction on a message (on) or takes it off (off). Setting
/// what is already so changes nothing (acknowledged with seq 0).
struct set_reaction {
    static constexpr packet_kind kind = packet_kind::set_reaction;
    std::uint32_t room_id = 0;
    std::uint64_t client_id = 0;
    std::uint64_t message_seq = 0;
    reaction_kind reaction = reaction_kind::like;
    bool on = false;
    bool resend = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("client_id", s.client_id);
        v("message_seq", s.message_seq);
        v("reaction", s.reaction);
        v("on", s.on);
        v("resend", s.resend);
    }
    friend bool operator==(const set_reaction&, const set_reaction&) = default;
};

/// Typing on/off. The server expires "on" by itself after a few seconds.
struct set_typing {
    static constexpr packet_kind kind = packet_kind::set_typing;
    std::uint32_t room_id = 0;
    bool active = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("active", s.active);
    }
    friend bool operator==(const set_typing&, const set_typing&) = default;
};

/// Ask for up to `limit` messages older than before_seq (0: the newest).
struct request_history {
    static constexpr packet_kind kind = packet_kind::request_history;
    std::uint32_t room_id = 0;
    std::uint64_t before_seq = 0;
    std::uint16_t limit = 50;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("before_seq", s.before_seq);
        v("limit", s.limit, static_cast<std::uint16_t>(limits::max_history_page));
    }
    friend bool operator==(const request_history&, const request_history&) = default;
};

/// Create a public or private room and join it (room_joined follows; errors
/// name client_id). A public room's address is `name`, which must be free;
/// a private room gets an address of its own, so its title can be anything
/// and reveals nothing. The creator is the owner.
struct create_room {
    static constexpr packet_kind kind = packet_kind::create_room;
    std::uint64_t client_id = 0;
    std::string name;
    room_kind type = room_kind::public_room;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("client_id", s.client_id);
        v("name", s.name, limits::max_room_name_bytes);
        v("room_type", s.type);
    }
    friend bool operator==(const create_room&, const create_room&) = default;
};

/// Open (creating on first use) the direct conversation of the sender and
/// `user_ids` (1-7 other people), and join it. The same set of people always
/// gets the same conversation.
struct open_direct {
    static constexpr packet_kind kind = packet_kind::open_direct;
    std::uint64_t client_id = 0;
    std::vector<std::uint64_t> user_ids;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("client_id", s.client_id);
        v("user_ids", s.user_ids, limits::max_direct_people - 1);
    }
    friend bool operator==(const open_direct&, const open_direct&) = default;
};

/// A change of the room's membership or settings by a joined member (see
/// room_action; `joined` and `declined` are not asked for this way). The
/// fields an action does not use are ignored: user_id for the actions on a
/// person, role for role_set, type for kind_set, text for title_set and
/// topic_set. Acknowledged like every change (ack with the event's seq).
struct manage_room {
    static constexpr packet_kind kind = packet_kind::manage_room;
    std::uint32_t room_id = 0;
    std::uint64_t client_id = 0;
    room_action action = room_action::invited;
    std::uint64_t user_id = 0;
    room_role role = room_role::member;
    room_kind type = room_kind::public_room;
    std::string text;
    bool resend = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("client_id", s.client_id);
        v("action", s.action);
        v("user_id", s.user_id);
        v("role", s.role);
        v("room_type", s.type);
        v("text", s.text, limits::max_topic_bytes);
        v("resend", s.resend);
    }
    friend bool operator==(const manage_room&, const manage_room&) = default;
};

/// Decline the invitation to room `room_id` (from the room list). Accepting
/// is joining it.
struct decline_invite {
    static constexpr packet_kind kind = packet_kind::decline_invite;
    std::uint32_t room_id = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) { v("room_id", s.room_id); }
    friend bool operator==(const decline_invite&, const decline_invite&) = default;
};

/// Application-level keep-alive for clients that cannot send WebSocket pings.
struct ping {
    static constexpr packet_kind kind = packet_kind::ping;
    std::uint64_t nonce = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) { v("nonce", s.nonce); }
    friend bool operator==(const ping&, const ping&) = default;
};

// ---- server to client -----------------------------------------------------

/// Signed in. Also announces the limits this client must respect.
struct welcome {
    static constexpr packet_kind kind = packet_kind::welcome;
    std::uint64_t user_id = 0;
    std::string username;
    std::string server_version;
    std::uint64_t server_time = 0;  ///< ms since the epoch, for clock skew
    std::vector<rate_limit> rate_limits;
    std::uint32_t max_rooms = 0;    ///< rooms one connection may join

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("user_id", s.user_id);
        v("username", s.username, limits::max_username_bytes);
        v("server_version", s.server_version, limits::max_version_text_bytes);
        v("server_time", s.server_time);
        v("rate_limits", s.rate_limits, limits::max_rate_limits);
        v("max_rooms", s.max_rooms);
    }
    friend bool operator==(const welcome&, const welcome&) = default;
};

/// The room is joined; room_id names it in every later packet of this
/// connection. `room` is its address; title, topic and type are its
/// settings now, role and muted the user's standing in it (room_events
/// change them later). epoch names the room's current run of sequence
/// numbers, last_seq its newest event, persisted_seq the newest one on disk.
struct room_joined {
    static constexpr packet_kind kind = packet_kind::room_joined;
    std::uint32_t room_id = 0;
    std::string room;
    std::string title;
    std::string topic;
    room_kind type = room_kind::public_room;
    room_role role = room_role::member;
    bool muted = false;
    std::uint64_t epoch = 0;
    std::uint64_t last_seq = 0;
    std::uint64_t persisted_seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("room", s.room, limits::max_room_name_bytes);
        v("title", s.title, limits::max_room_name_bytes);
        v("topic", s.topic, limits::max_topic_bytes);
        v("room_type", s.type);
        v("role", s.role);
        v("muted", s.muted);
        v("epoch", s.epoch);
        v("last_seq", s.last_seq);
        v("persisted_seq", s.persisted_seq);
    }
    friend bool operator==(const room_joined&, const room_joined&) = default;
};

/// This connection no longer receives the room, for `reason`.
struct room_left {
    static constexpr packet_kind kind = packet_kind::room_left;
    std::uint32_t room_id = 0;
    leave_reason reason = leave_reason::requested;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("reason", s.reason);
    }
    friend bool operator==(const room_left&, const room_left&) = default;
};

/// The change the client asked for with client_id is event `seq` of the
/// room (sent again for a duplicate, with the original values); seq 0: it
/// changed nothing (already so), so there is nothing to wait for.
struct ack {
    static constexpr packet_kind kind = packet_kind::ack;
    std::uint32_t room_id = 0;
    std::uint64_t client_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t at = 0;  ///< server time of the event, ms since the epoch

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("client_id", s.client_id);
        v("seq", s.seq);
        v("at", s.at);
    }
    friend bool operator==(const ack&, const ack&) = default;
};

/// A new message, broadcast to every member of the room (its author included).
struct chat_message {
    static constexpr packet_kind kind = packet_kind::chat_message;
    std::uint32_t room_id = 0;
    message_record message;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("message", s.message);
    }
    friend bool operator==(const chat_message&, const chat_message&) = default;
};

/// Event `seq`: message `message_seq` has a new text.
struct message_edited {
    static constexpr packet_kind kind = packet_kind::message_edited;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t message_seq = 0;
    std::string text;
    std::uint64_t edited_at = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("message_seq", s.message_seq);
        v("text", s.text, limits::max_text_bytes);
        v("edited_at", s.edited_at);
    }
    friend bool operator==(const message_edited&, const message_edited&) = default;
};

/// Event `seq`: message `message_seq` was deleted by user `by` (a tombstone stays).
struct message_deleted {
    static constexpr packet_kind kind = packet_kind::message_deleted;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t message_seq = 0;
    std::uint64_t deleted_at = 0;
    std::uint64_t by = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("message_seq", s.message_seq);
        v("deleted_at", s.deleted_at);
        v("by", s.by);
    }
    friend bool operator==(const message_deleted&, const message_deleted&) = default;
};

/// Event `seq`: user_id put (added) or took off `reaction` on message
/// `message_seq`; count is the message's total of that reaction after it.
struct reaction_update {
    static constexpr packet_kind kind = packet_kind::reaction_update;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t message_seq = 0;
    reaction_kind reaction = reaction_kind::like;
    std::uint32_t count = 0;
    std::uint64_t user_id = 0;
    bool added = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("message_seq", s.message_seq);
        v("reaction", s.reaction);
        v("count", s.count);
        v("user_id", s.user_id);
        v("added", s.added);
    }
    friend bool operator==(const reaction_update&, const reaction_update&) = default;
};

struct typing_update {
    static constexpr packet_kind kind = packet_kind::typing_update;
    std::uint32_t room_id = 0;
    user_ref user;
    bool active = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("user", s.user);
        v("active", s.active);
    }
    friend bool operator==(const typing_update&, const typing_update&) = default;
};

/// Who is online in a room: a list on join (snapshot: replaces the client's
/// list; in a large room only the first of those online), then changes.
/// `online` is how many users are online in the room after this packet,
/// whether or not the lists name them all.
struct presence_update {
    static constexpr packet_kind kind = packet_kind::presence_update;
    std::uint32_t room_id = 0;
    presence_change change = presence_change::snapshot;
    std::vector<user_ref> users;
    std::uint32_t online = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("change", s.change);
        v("users", s.users, limits::max_presence_users);
        v("online", s.online);
    }
    friend bool operator==(const presence_update&, const presence_update&) = default;
};

/// Messages in ascending sequence order. has_more: messages older than the
/// first one of this page exist (scroll-back can continue).
struct history_page {
    static constexpr packet_kind kind = packet_kind::history_page;
    std::uint32_t room_id = 0;
    history_mode mode = history_mode::older;
    bool has_more = false;
    std::vector<message_record> messages;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("mode", s.mode);
        v("has_more", s.has_more);
        v("messages", s.messages, limits::max_history_page);
    }
    friend bool operator==(const history_page&, const history_page&) = default;
};

/// Every event of the room up to `seq` (in the current epoch) is on disk.
struct persisted_watermark {
    static constexpr packet_kind kind = packet_kind::persisted_watermark;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
    }
    friend bool operator==(const persisted_watermark&, const persisted_watermark&) = default;
};

/// A request failed. ref_kind/ref name the request: its packet kind and its
/// client_msg_id, seq or room id (0 when there is none).
struct error_report {
    static constexpr packet_kind kind = packet_kind::error_report;
    std::uint16_t code = 0;  ///< an error_code; unknown codes are kept as numbers
    std::uint8_t ref_kind = 0;
    std::uint64_t ref = 0;
    std::uint32_t retry_after_ms = 0;  ///< for rate_limited and server_busy
    std::string text;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("code", s.code);
        v("ref_kind", s.ref_kind);
        v("ref", s.ref);
        v("retry_after_ms", s.retry_after_ms);
        v("text", s.text, limits::max_error_text_bytes);
    }
    friend bool operator==(const error_report&, const error_report&) = default;
};

struct pong {
    static constexpr packet_kind kind = packet_kind::pong;
    std::uint64_t nonce = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) { v("nonce", s.nonce); }
    friend bool operator==(const pong&, const pong&) = default;
};

/// The server cannot vouch for events above base_seq that this client may
/// hold (they were never stored and their numbers may be given to other
/// events): the client drops everything it holds of the room above base_seq
/// (a `latest` history page follows), takes `epoch` as the room's epoch, and
/// sends again every outbox entry acknowledged with a seq above base_seq.
struct room_reset {
    static constexpr packet_kind kind = packet_kind::room_reset;
    std::uint32_t room_id = 0;
    std::uint64_t epoch = 0;
    std::uint64_t base_seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("epoch", s.epoch);
        v("base_seq", s.base_seq);
    }
    friend bool operator==(const room_reset&, const room_reset&) = default;
};

/// Event `seq`: a change of the room's membership or settings (room_action
/// says which; the fields it does not use are zero or empty).
struct room_event {
    static constexpr packet_kind kind = packet_kind::room_event;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t at = 0;
    user_ref actor;
    room_action action = room_action::joined;
    user_ref target;
    room_role role = room_role::member;
    room_kind type = room_kind::public_room;
    std::string text;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("at", s.at);
        v("actor", s.actor);
        v("action", s.action);
        v("target", s.target);
        v("role", s.role);
        v("room_type", s.type);
        v("text", s.text, limits::max_topic_bytes);
    }
    friend bool operator==(const room_event&, const room_event&) = default;
};

/// The user's rooms and invitations: the full list after welcome (snapshot;
/// a longer list continues in `joined` packets), then changes as they
/// happen on any of the user's connections (`joined`: added or updated,
/// `left`: removed; only room_id is meaningful then).
struct room_list {
    static constexpr packet_kind kind = packet_kind::room_list;
    presence_change change = presence_change::snapshot;
    std::vector<room_entry> rooms;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("change", s.change);
        v("rooms", s.rooms, limits::max_room_list);
    }
    friend bool operator==(const room_list&, const room_list&) = default;
};

/// The people of a joined room: its members with their roles, its invitees
/// and banned users. Sent after room_joined as a snapshot (in a large room,
/// the first of them); room_events tell the changes after it. `total` is how
/// many people the room's whole list holds.
struct room_members {
    static constexpr packet_kind kind = packet_kind::room_members;
    std::uint32_t room_id = 0;
    presence_change change = presence_change::snapshot;
    std::vector<member_entry> members;
    std::uint32_t total = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("change", s.change);
        v("members", s.members, limits::max_presence_users);
        v("total", s.total);
    }
    friend bool operator==(const room_members&, const room_members&) = default;
};

namespace detail {
template <class Ignored, class... Packets>
struct variant_of {
    using type = std::variant<Packets...>;
};
}  // namespace detail

/// Every packet, in the order of vocabulary.hpp (whose list each X item
/// turns into ", name"; the leading void soaks up the first comma).
#define PARLEY_ALTERNATIVE(name, byte) , name
using packet = detail::variant_of<void PARLEY_PACKET_KINDS(PARLEY_ALTERNATIVE)>::type;
#undef PARLEY_ALTERNATIVE

inline packet_kind kind_of(const packet& p) noexcept {
    return std::visit([](const auto& alt) { return std::decay_t<decltype(alt)>::kind; }, p);
}

/// snake_case name of a kind ("send_message"), "batch", or "" if unknown.
std::string_view kind_name(packet_kind k) noexcept;
/// Kind for a name; nullopt for names of no packet (batch included).
std::optional<packet_kind> kind_from_name(std::string_view name) noexcept;
/// True for the packet kinds (batch excluded); a table lookup.
bool is_packet_kind(std::uint8_t byte) noexcept;

}  // namespace parley::protocol
