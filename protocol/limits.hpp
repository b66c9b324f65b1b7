// Every bound of the Parley wire protocol, in one place.
//
// The decoder enforces each of these before it allocates or copies, so a
// hostile peer can never make it do more work than the size of its input
// (and, for compressed payloads, max_payload_bytes) allows. The server's
// own bounds live in server/core/bounds.hpp, its knobs in server/core/config.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::protocol::limits {

/// Wire format version carried in every header; a decoder refuses others.
/// Version 2: room epochs, every change a sequenced and acknowledged event,
/// announced rate limits. Version 3: room kinds, membership, roles and
/// moderation. Version 4: presence and member lists carry their room's
/// totals, so a large room's lists need not name everyone.
inline constexpr std::uint8_t version = 4;

/// Largest encoded packet (one WebSocket message), header and checksum
/// included. A full history page of long messages fits; nothing legitimate
/// comes close.
inline constexpr std::size_t max_packet_bytes = 1024 * 1024;

/// Largest packet a client may send. Client packets are small (a message is at
/// most max_text_bytes); the server's WebSocket read limit is this value.
inline constexpr std::size_t max_client_packet_bytes = 16 * 1024;

/// Largest payload after decompression. LZ4 frames may declare any content
/// size (or none), so the decoder stops at this bound instead of trusting it.
inline constexpr std::size_t max_payload_bytes = 1024 * 1024;

/// Payloads of at least this many bytes are compressed, and only kept
/// compressed when that makes them smaller. Below it LZ4's frame overhead
/// (15 bytes) eats the gain.
inline constexpr std::size_t compress_threshold = 256;

/// Chat message text, in UTF-8 bytes (not characters).
inline constexpr std::size_t max_text_bytes = 4000;

/// Usernames: 1-32 bytes. The server narrows the alphabet further.
inline constexpr std::size_t max_username_bytes = 32;

/// Room names: 1-64 bytes. The server narrows the alphabet further.
inline constexpr std::size_t max_room_name_bytes = 64;

/// A room's topic (and the text of manage_room and room_event).
inline constexpr std::size_t max_topic_bytes = 512;

/// People in a direct conversation, the sender included.
inline constexpr std::size_t max_direct_people = 8;

/// Rooms in one room_list packet; a longer list is split.
inline constexpr std::size_t max_room_list = 500;

/// Session token as sent in the authenticate packet (43 bytes of base64url
/// for 256 random bits; room to grow).
inline constexpr std::size_t max_token_bytes = 128;

/// Free text of an error packet and the server version string.
inline constexpr std::size_t max_error_text_bytes = 256;
inline constexpr std::size_t max_version_text_bytes = 64;

/// Messages in one history page (history requests ask for at most this many).
inline constexpr std::size_t max_history_page = 100;

/// Users in one presence packet. A snapshot of a larger room is split.
inline constexpr std::size_t max_presence_users = 1000;

/// Distinct reaction counts attached to one message (one per reaction kind).
inline constexpr std::size_t max_reactions_per_message = 16;

/// Rate limits announced in one welcome, and packet kinds sharing one of them.
inline constexpr std::size_t max_rate_limits = 16;
inline constexpr std::size_t max_limit_kinds = 8;

/// Packets inside one batch packet.
inline constexpr std::size_t max_batch_packets = 1024;

/// Largest header: magic, version, kind, flags and a varint length of a
/// payload up to max_packet_bytes (3 bytes).
inline constexpr std::size_t max_header_bytes = 4 + 3;

/// CRC32 trailer.
inline constexpr std::size_t checksum_bytes = 4;

/// Largest integer a JavaScript number holds exactly (2^53 - 1). Sequence
/// numbers, ids and timestamps stay below it so the browser never rounds.
inline constexpr std::uint64_t max_safe_integer = (std::uint64_t{1} << 53) - 1;

}  // namespace parley::protocol::limits
