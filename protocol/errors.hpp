// Typed errors of the Parley protocol.
//
// decode_error is what the codec returns for bytes it refuses. error_code is
// what travels in an error packet: the decode errors keep their numbers (1-63)
// and the server adds its own from 100 up. Codes are part of the wire format:
// never renumber, only append.
#pragma once

#include <cstdint>
#include <string_view>

namespace parley::protocol {

enum class decode_error : std::uint8_t {
    truncated = 1,               ///< input ends before the header, payload or checksum does
    bad_magic = 2,               ///< first byte is not 'P' (0x50)
    bad_version = 3,             ///< version byte is not limits::version
    bad_checksum = 4,            ///< CRC32 trailer does not match
    unknown_kind = 5,            ///< kind byte names no packet
    bad_flags = 6,               ///< reserved flag bits set, or flags not allowed for the kind
    field_too_long = 7,          ///< a string is longer than its limit
    bad_utf8 = 8,                ///< a string is not valid UTF-8
    too_large = 9,               ///< packet or payload length over max_packet_bytes
    decompressed_too_large = 10, ///< LZ4 frame inflates past max_payload_bytes
    decompression_failed = 11,   ///< LZ4 frame is malformed
    trailing_bytes = 12,         ///< bytes left after the payload or after the packet
    bad_varint = 13,             ///< integer longer than 10 bytes or not in shortest form
    bad_value = 14,              ///< integer out of range, unknown enum value, bool not 0/1
    too_many_items = 15,         ///< a list has more items than its limit
    unexpected_batch = 16,       ///< a batch inside a batch, or where one packet was expected
    empty_batch = 17,            ///< a batch with no packets
};

/// Number of the highest decode_error, for tables and tests.
inline constexpr std::uint8_t max_decode_error = 17;

enum class error_code : std::uint16_t {
    // 1-63: the decode errors above, same numbers.
    not_authenticated = 100, ///< a chat packet before authentication succeeded
    auth_failed = 101,       ///< unknown, expired or revoked token
    bad_room_name = 102,     ///< room name breaks the naming rules
    not_in_room = 103,       ///< the room id is not joined on this connection
    no_such_message = 104,   ///< no message with that sequence in the room
    forbidden = 105,         ///< not the author (edit/delete)
    rate_limited = 106,      ///< over a rate limit; retry_after_ms says when to retry
    unexpected_kind = 107,   ///< a server-to-client packet sent by a client
    empty_text = 108,        ///< message text empty or only white space
    message_deleted = 109,   ///< edit or reaction on a deleted message
    server_busy = 110,       ///< the storage backlog is full; retry later
    too_many_rooms = 111,    ///< the connection joined too many rooms
    internal_error = 112,    ///< a bug or resource failure in the server
    shutting_down = 113,     ///< the server is stopping; reconnect later
    room_quota = 114,        ///< the user (or the server) created as many rooms as allowed
};

constexpr error_code to_error_code(decode_error e) noexcept {
    return static_cast<error_code>(static_cast<std::uint16_t>(e));
}

/// Stable snake_case name of a decode error ("bad_checksum").
std::string_view error_name(decode_error e) noexcept;

/// Stable snake_case name of any wire error code; "unknown" for codes this
/// build does not know (a newer peer may send them).
std::string_view error_name(std::uint16_t code) noexcept;

/// One-sentence English description of a wire error code.
std::string_view error_description(std::uint16_t code) noexcept;

}  // namespace parley::protocol
