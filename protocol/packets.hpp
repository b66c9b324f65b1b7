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
#include "protocol/vocabulary.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

enum class reaction_kind : std::uint8_t { like = 0, dislike = 1, heart = 2, star = 3, laugh = 4, party = 5 };
inline constexpr std::uint8_t reaction_kind_count = 6;
constexpr std::uint8_t enum_count(reaction_kind) noexcept { return reaction_kind_count; }

/// What a presence packet says about its users.
enum class presence_change : std::uint8_t { snapshot = 0, joined = 1, left = 2 };
constexpr std::uint8_t enum_count(presence_change) noexcept { return 3; }

/// Why a history page was sent.
enum class history_mode : std::uint8_t {
    older = 0,   ///< answer to request_history: messages before `before_seq`
    latest = 1,  ///< the newest messages of the room as of some seq, followed by
                 ///< the events after it; replaces what the client had
};
constexpr std::uint8_t enum_count(history_mode) noexcept { return 2; }

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

// ---- client to server -----------------------------------------------------

/// Sign in on an open connection with a session token from the HTTP API.
struct authenticate {
    static constexpr packet_kind kind = packet_kind::authenticate;
    std::string token;

    template <class Self, class V>
    static void fields(Self& s, V&& v) { v("token", s.token, limits::max_token_bytes); }
    friend bool operator==(const authenticate&, const authenticate&) = default;
};

/// Join (creating on first use) a room. (epoch, since_seq) is the position
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
/// connection. epoch names the room's current run of sequence numbers,
/// last_seq its newest event, persisted_seq the newest one on disk.
struct room_joined {
    static constexpr packet_kind kind = packet_kind::room_joined;
    std::uint32_t room_id = 0;
    std::string room;
    std::uint64_t epoch = 0;
    std::uint64_t last_seq = 0;
    std::uint64_t persisted_seq = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("room", s.room, limits::max_room_name_bytes);
        v("epoch", s.epoch);
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

/// Event `seq`: message `message_seq` was deleted (a tombstone stays).
struct message_deleted {
    static constexpr packet_kind kind = packet_kind::message_deleted;
    std::uint32_t room_id = 0;
    std::uint64_t seq = 0;
    std::uint64_t message_seq = 0;
    std::uint64_t deleted_at = 0;

    template <class Self, class V>
    static void fields(Self& s, V&& v) {
        v("room_id", s.room_id);
        v("seq", s.seq);
        v("message_seq", s.message_seq);
        v("deleted_at", s.deleted_at);
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

std::string_view reaction_name(reaction_kind r) noexcept;
std::optional<reaction_kind> reaction_from_name(std::string_view name) noexcept;
std::string_view presence_change_name(presence_change c) noexcept;
std::optional<presence_change> presence_change_from_name(std::string_view name) noexcept;
std::string_view history_mode_name(history_mode m) noexcept;
std::optional<history_mode> history_mode_from_name(std::string_view name) noexcept;

}  // namespace parley::protocol
