// The packets of the Parley protocol, as plain structs.
//
// Each struct names its kind and lists its fields once, in wire order, in a
// static `fields(self, visit)` function. The codec, the JSON conversion used
// by tests and tools, and the WebAssembly bindings all walk that one list, so
// a field added here appears everywhere at once. A field is visited as
//   visit("name", member)        integers, bools, enums, nested structs
//   visit("name", member, max)   max bytes of a string, items of a list, or
//                                the largest value of an integer
// docs/protocol.md is the byte-level specification of what this produces.
#pragma once

#include "protocol/limits.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parley::protocol {

/// Packet kinds. 0x01-0x3F travel from clients to the server, 0x40-0x7E from
/// the server to clients, 0x7F is the batch container.
enum class packet_kind : std::uint8_t {
    authenticate = 0x01,
    join_room = 0x02,
    leave_room = 0x03,
    send_message = 0x04,
    edit_message = 0x05,
    delete_message = 0x06,
    toggle_reaction = 0x07,
    set_typing = 0x08,
    request_history = 0x09,
    ping = 0x0A,

    welcome = 0x40,
    room_joined = 0x41,
    room_left = 0x42,
    message_ack = 0x43,
    chat_message = 0x44,
    message_edited = 0x45,
    message_deleted = 0x46,
    reaction_update = 0x47,
    typing_update = 0x48,
    presence_update = 0x49,
    history_page = 0x4A,
    persisted_watermark = 0x4B,
    error_report = 0x4C,
    pong = 0x4D,

    batch = 0x7F,
};

constexpr bool is_client_kind(packet_kind k) noexcept {
    return static_cast<std::uint8_t>(k) >= 0x01 && static_cast<std::uint8_t>(k) < 0x40;
}

enum class reaction_kind : std::uint8_t { like = 0, dislike = 1, heart = 2, star = 3, laugh = 4, party = 5 };
inline constexpr std::uint8_t reaction_kind_count = 6;
constexpr std::uint8_t enum_count(reaction_kind) noexcept { return reaction_kind_count; }

/// What a presence packet says about its users.
enum class presence_change : std::uint8_t { snapshot = 0, joined = 1, left = 2 };
constexpr std::uint8_t enum_count(presence_change) noexcept { return 3; }

/// Why a history page was sent.
enum class history_mode : std::uint8_t {
    older = 0,   ///< answer to request_history: messages before `before_seq`
    latest = 1,  ///< the newest messages of the room; replaces what the client had
    replay = 2,  ///< newer messages continuing what the client has (missed since its
                 ///< `since_seq`, or the rest of a multi-page answer), oldest first: append
};
constexpr std::uint8_t enum_count(history_mode) noexcept { return 3; }

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
        v("text", s.text, limits::max_text_bytes);
        v("reactions", s.reactions, limits::max_reactions_per_message);
        v("my_reactions", s.my_reactions, std::uint8_t{(1u << reaction_kind_count) - 1});
    }
    friend bool operator==(const message_record&, const message_record&) = default;
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

/// Join (creating on first use) a room. since_seq is the last sequence the
/// client saw in it (0: none), so the server can replay what was missed.
struct join_room {
    static constexpr packet_kind kind = packet_kind::join_room;
    std::string room;
    std::uint64_t since_seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room", s.room, limits::max_room_name_bytes);
        v("since_seq", s.since_seq);
    }
    friend bool operator==(const join_room&, const join_room&) = default;
};

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

struct edit_message {
    static constexpr packet_kind kind = packet_kind::edit_message;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::string text;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("text", s.text, limits::max_text_bytes);
    }
    friend bool operator==(const edit_message&, const edit_message&) = default;
};

struct delete_message {
    static constexpr packet_kind kind = packet_kind::delete_message;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
    }
    friend bool operator==(const delete_message&, const delete_message&) = default;
};

/// Adds the reaction if the user has not made it on that message, else removes it.
struct toggle_reaction {
    static constexpr packet_kind kind = packet_kind::toggle_reaction;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    reaction_kind reaction = reaction_kind::like;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("reaction", s.reaction);
    }
    friend bool operator==(const toggle_reaction&, const toggle_reaction&) = default;
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

/// Application-level keep-alive for clients that cannot send WebSocket pings.
struct ping {
    static constexpr packet_kind kind = packet_kind::ping;
    std::uint64_t nonce = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) { v("nonce", s.nonce); }
    friend bool operator==(const ping&, const ping&) = default;
};

// ---- server to client -----------------------------------------------------

struct welcome {
    static constexpr packet_kind kind = packet_kind::welcome;
    std::uint64_t user_id = 0;
    std::string username;
    std::string server_version;
    std::uint64_t server_time = 0;  ///< ms since the epoch, for clock skew

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("user_id", s.user_id);
        v("username", s.username, limits::max_username_bytes);
        v("server_version", s.server_version, limits::max_version_text_bytes);
        v("server_time", s.server_time);
    }
    friend bool operator==(const welcome&, const welcome&) = default;
};

/// The room is joined; room_id names it in every later packet of this
/// connection. last_seq is the newest message, persisted_seq the newest one
/// on disk.
struct room_joined {
    static constexpr packet_kind kind = packet_kind::room_joined;
    std::uint32_t room_id = 0;
    std::string room;
    std::uint64_t last_seq = 0;
    std::uint64_t persisted_seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("room", s.room, limits::max_room_name_bytes);
        v("last_seq", s.last_seq);
        v("persisted_seq", s.persisted_seq);
    }
    friend bool operator==(const room_joined&, const room_joined&) = default;
};

struct room_left {
    static constexpr packet_kind kind = packet_kind::room_left;
    std::uint32_t room_id = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) { v("room_id", s.room_id); }
    friend bool operator==(const room_left&, const room_left&) = default;
};

/// The message with client_msg_id is accepted as `seq` (sent again for a
/// duplicate, with the original values).
struct message_ack {
    static constexpr packet_kind kind = packet_kind::message_ack;
    std::uint32_t room_id = 0;
    std::uint64_t client_msg_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t sent_at = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("client_msg_id", s.client_msg_id);
        v("seq", s.seq);
        v("sent_at", s.sent_at);
    }
    friend bool operator==(const message_ack&, const message_ack&) = default;
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

struct message_edited {
    static constexpr packet_kind kind = packet_kind::message_edited;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::string text;
    std::uint64_t edited_at = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("text", s.text, limits::max_text_bytes);
        v("edited_at", s.edited_at);
    }
    friend bool operator==(const message_edited&, const message_edited&) = default;
};

struct message_deleted {
    static constexpr packet_kind kind = packet_kind::message_deleted;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t deleted_at = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("deleted_at", s.deleted_at);
    }
    friend bool operator==(const message_deleted&, const message_deleted&) = default;
};

/// user_id added (or removed) `reaction` on message `seq`; count is the new total.
struct reaction_update {
    static constexpr packet_kind kind = packet_kind::reaction_update;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    reaction_kind reaction = reaction_kind::like;
    std::uint32_t count = 0;
    std::uint64_t user_id = 0;
    bool added = false;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
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

/// Who is online in a room: the full list on join (snapshot: replaces the
/// client's list; a list longer than max_presence_users continues in `joined`
/// packets), then changes as they happen.
struct presence_update {
    static constexpr packet_kind kind = packet_kind::presence_update;
    std::uint32_t room_id = 0;
    presence_change change = presence_change::snapshot;
    std::vector<user_ref> users;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("change", s.change);
        v("users", s.users, limits::max_presence_users);
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

/// Every message of the room up to `seq` is on disk.
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

using packet = std::variant<
    authenticate, join_room, leave_room, send_message, edit_message, delete_message,
    toggle_reaction, set_typing, request_history, ping,
    welcome, room_joined, room_left, message_ack, chat_message, message_edited,
    message_deleted, reaction_update, typing_update, presence_update, history_page,
    persisted_watermark, error_report, pong>;

inline packet_kind kind_of(const packet& p) noexcept {
    return std::visit([](const auto& alt) { return std::decay_t<decltype(alt)>::kind; }, p);
}

/// snake_case name of a kind ("send_message"), "batch", or "" if unknown.
std::string_view kind_name(packet_kind k) noexcept;
/// Kind for a name; nullopt for names of no packet (batch included).
std::optional<packet_kind> kind_from_name(std::string_view name) noexcept;
/// True for the 24 packet kinds (batch excluded).
bool is_packet_kind(std::uint8_t byte) noexcept;

std::string_view reaction_name(reaction_kind r) noexcept;
std::optional<reaction_kind> reaction_from_name(std::string_view name) noexcept;
std::string_view presence_change_name(presence_change c) noexcept;
std::optional<presence_change> presence_change_from_name(std::string_view name) noexcept;
std::string_view history_mode_name(history_mode m) noexcept;
std::optional<history_mode> history_mode_from_name(std::string_view name) noexcept;

}  // namespace parley::protocol
