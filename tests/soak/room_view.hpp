// What one soak connection knows of one room: the messages it was shown, in
// the state its events left them, and its position in the room's timeline.
//
// ## Position
// Every change of a room is an event with a dense seq (messages, edits,
// deletions, reactions). A view holds `pos`, the last event it applied, and
// accepts only pos + 1 next: a smaller seq is a duplicate delivery, a larger
// one a gap, and both are violations. It rejoins with (epoch, since()).
//
// ## The latest page
// A join without a usable position is answered with a `latest` page (the
// newest messages as of some seq P that the client is not told), then the
// events after P, then live events. The page replaces the view; the view
// then "floats": the first event after it must lie above the page's newest
// message and at most one above room_joined.last_seq, and fixes `pos`.
// Until then the view rejoins from the page's newest message, which replays
// events it may already reflect: every event carries absolute values (new
// text, deleted, a reaction's total), so applying one twice is harmless.
//
// ## Completeness
// `complete_from` is the lowest seq from which the view holds every message
// of the room: the first message of its latest page (1 if that page had no
// older messages). The final check compares that range with the database.
//
// The class is clock-free and does no I/O: the client feeds it packets.
#pragma once

#include "protocol/packets.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace parley::soak {

struct view_message {
    std::uint64_t author_id = 0;
    std::uint64_t client_msg_id = 0;
    std::uint64_t edited_at = 0;
    std::string text;
    bool deleted = false;
    std::array<std::uint32_t, protocol::reaction_kind_count> reactions{};  ///< totals per kind
};

class room_view {
public:
    /** Applies one packet of this room. @return a violation, or empty. */
    std::string on_joined(const protocol::room_joined& j);
    std::string on_reset(const protocol::room_reset& r);
    std::string on_page(const protocol::history_page& p);
    std::string on_message(const protocol::chat_message& m);
    std::string on_edited(const protocol::message_edited& e);
    std::string on_deleted(const protocol::message_deleted& d);
    std::string on_reaction(const protocol::reaction_update& r);
    /// A membership or settings event: it takes its seq like the others.
    std::string on_room_event(const protocol::room_event& e);

    std::uint64_t epoch() const { return epoch_; }
    /// The seq to rejoin with: the last event applied (see "The latest page").
    std::uint64_t since() const { return floating_ ? page_max_ : pos_; }
    /// The newest event this view is known to hold, once its inbox is drained.
    std::uint64_t caught_up_to() const { return floating_ ? joined_last_ : pos_; }
    std::uint64_t complete_from() const { return complete_from_; }
    const std::map<std::uint64_t, view_message>& messages() const { return messages_; }
    int resets() const { return resets_; }

private:
    std::string advance(std::uint64_t seq, bool& apply);
    view_message* target(std::uint64_t message_seq, std::string& violation);

    std::map<std::uint64_t, view_message> messages_;  // by seq
    std::uint64_t epoch_ = 0;
    std::uint64_t pos_ = 0;
    std::uint64_t joined_last_ = 0;
    std::uint64_t page_max_ = 0;
    std::uint64_t complete_from_ = 1;
    bool joining_ = false;   // room_joined seen, its page (if any) not yet
    bool floating_ = false;  // a latest page seen, no event after it yet
    int resets_ = 0;
};

}  // namespace parley::soak
