// One typical packet of every kind, for tests and benchmarks that need
// "a realistic X" rather than a random one.
#pragma once

#include "protocol/packets.hpp"

#include <string>
#include <vector>

namespace parley::testing {

/// 50 bytes of ASCII chat text: the size the compactness bound talks about.
inline const std::string fifty_byte_text = "Hello everyone, the release is out! Grab it today.";

inline protocol::message_record sample_record(std::uint64_t seq, std::string text) {
    protocol::message_record m;
    m.seq = seq;
    m.author_id = 7;
    m.author = "ana";
    m.client_msg_id = 0x1F2E3D4C5B6A7ULL + seq;
    m.sent_at = 1'790'000'000'000ULL + seq * 1000;
    m.text = std::move(text);
    return m;
}

/// A page of `n` messages with realistic text, some reactions, edits and tombstones.
inline protocol::history_page sample_history(std::size_t n) {
    protocol::history_page page;
    page.room_id = 3;
    page.has_more = true;
    for (std::size_t i = 0; i < n; ++i) {
        auto m = sample_record(1000 + i, "message number " + std::to_string(i) + " in a long scroll-back of the lobby");
        if (i % 7 == 0) m.reactions = {{protocol::reaction_kind::like, 3}, {protocol::reaction_kind::heart, 1}};
        if (i % 11 == 0) m.edited_at = m.sent_at + 5000;
        if (i % 13 == 0) {
            m.deleted = true;
            m.deleted_by = m.author_id;
            m.text.clear();
        }
        page.messages.push_back(std::move(m));
    }
    return page;
}

/// ~2 KB of English text: compresses well, like most long chat messages.
inline std::string sample_long_text(std::size_t size = 2000) {
    std::string s;
    while (s.size() < size) s += "The quick brown fox jumps over the lazy dog. ";
    s.resize(size);
    return s;
}

/// A welcome with the rate limits a default server announces.
inline protocol::welcome sample_welcome() {
    using protocol::packet_kind;
    auto k = [](packet_kind kind) { return static_cast<std::uint8_t>(kind); };
    return protocol::welcome{
        7, "ana", "parley/0.2.0", 1'790'000'000'000ULL,
        {{{k(packet_kind::send_message), k(packet_kind::edit_message), k(packet_kind::delete_message),
           k(packet_kind::manage_room)},
          600, 20},
         {{k(packet_kind::set_reaction)}, 600, 30},
         {{k(packet_kind::request_history)}, 1200, 40},
         {{k(packet_kind::join_room), k(packet_kind::create_room), k(packet_kind::open_direct)}, 6, 10}},
        64};
}

/// A room list snapshot: a public room, a private one, a direct conversation
/// and an invitation.
inline protocol::room_list sample_room_list() {
    using namespace protocol;
    room_list list{presence_change::snapshot, {}};
    list.rooms.push_back({3, "lobby", "lobby", room_kind::public_room, room_role::member, false, false, {}, {}, 1200});
    list.rooms.push_back({4, "~k3v7q2mx5tb4ncw6rj2hpa", "release planning", room_kind::private_room, room_role::owner,
                          false, false, {}, {}, 87});
    list.rooms.push_back({5, "~d4zu6w3omy2efq7kbx5sli", "", room_kind::direct, room_role::member, false, false, {},
                          {{7, "ana"}, {8, "bo"}}, 12});
    list.rooms.push_back({6, "~p7rf2nd3vyq6wk4hczm5ue", "design review", room_kind::private_room, room_role::member,
                          false, true, {9, "cy"}, {}, 0});
    return list;
}

/// The people of a room: an owner, a moderator, a muted member, an invitee
/// and a banned user.
inline protocol::room_members sample_room_members() {
    using namespace protocol;
    return room_members{3, presence_change::snapshot,
                        {{{7, "ana"}, membership::member, room_role::owner, false},
                         {{8, "bo"}, membership::member, room_role::moderator, false},
                         {{9, "cy"}, membership::member, room_role::member, true},
                         {{10, "dee"}, membership::invited, room_role::member, false},
                         {{11, "eve"}, membership::banned, room_role::member, false}},
                        5};
}

/// One packet of every kind, in variant order.
inline std::vector<protocol::packet> one_of_each_kind() {
    using namespace protocol;
    return {
        authenticate{"q3Zb8mJr2cYw0Xk9LdPfUeTnHgVs1AiOaB4oE7uRlCy"},
        join_room{"lobby", 0x1A2B3C4D5E6FULL, 12},
        leave_room{3},
        send_message{3, 0x1F2E3D4C5B6A7ULL, 0, fifty_byte_text},
        edit_message{3, 0x2A3B4C5D6E7FULL, 42, "fixed", false},
        delete_message{3, 0x2A3B4C5D6E80ULL, 42, false},
        set_reaction{3, 0x2A3B4C5D6E81ULL, 42, reaction_kind::star, true, false},
        set_typing{3, true},
        request_history{3, 1000, 50},
        ping{9},
        create_room{0x2A3B4C5D6E83ULL, "release planning", room_kind::private_room},
        open_direct{0x2A3B4C5D6E84ULL, {8, 9}},
        manage_room{3, 0x2A3B4C5D6E85ULL, room_action::kicked, 9, room_role::member, room_kind::public_room, "", false},
        decline_invite{6},
        sample_welcome(),
        room_joined{3, "lobby", "lobby", "Everything about the 0.3 release", room_kind::public_room,
                    room_role::member, false, 0x1A2B3C4D5E6FULL, 1200, 1195},
        room_left{3, leave_reason::requested},
        ack{3, 0x1F2E3D4C5B6A7ULL, 1201, 1'790'000'000'123ULL},
        chat_message{3, sample_record(1201, fifty_byte_text)},
        message_edited{3, 1202, 42, "fixed", 1'790'000'005'000ULL},
        message_deleted{3, 1203, 42, 1'790'000'006'000ULL, 7},
        reaction_update{3, 1204, 42, reaction_kind::heart, 2, 8, true},
        typing_update{3, {8, "bo"}, true},
        presence_update{3, presence_change::snapshot, {{7, "ana"}, {8, "bo"}}, 2},
        sample_history(20),
        persisted_watermark{3, 1195},
        error_report{106, 4, 99, 1500, "slow down"},
        pong{9},
        room_reset{3, 0x3C4D5E6F7A8BULL, 1195},
        room_event{3, 1205, 1'790'000'007'000ULL, {7, "ana"}, room_action::topic_set, {}, room_role::member,
                   room_kind::public_room, "Everything about the 0.3 release"},
        sample_room_list(),
        sample_room_members(),
    };
}

}  // namespace parley::testing
