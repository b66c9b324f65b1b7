// The binary form of a storage_event (server/core/events.hpp) in cluster
// mode: the body that parley_publish sequences, that every node applies to
// its replica of the room and that the persister hands to the batch writer.
//
// FORMAT
//   byte     format version (event_codec_version)
//   byte     the event's kind: its index in storage_event
//   fields   the event's fields in declaration order, in the encoding of
//            protocol/wire_archive.hpp (varints, length-prefixed UTF-8,
//            counted lists); optional settings are a bool, then the settings
// A body holds exactly one event: bytes after it are an error.
//
// GUARANTEES
// Decoding never throws and never allocates more than the input justifies:
// every string and list is bounded (the protocol's limits, and
// max_event_rows for the rows of a room event) and checked against the
// bytes left, and every problem is a typed event_decode_error. Anything
// encode_storage_event accepts decodes back to an equal event.
#pragma once

#include "server/core/events.hpp"

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <variant>

namespace parley::server::cluster {

/// Bumped when the layout changes; a node refuses bodies of another version.
inline constexpr std::uint8_t event_codec_version = 1;
/// Rows one room event may carry: a deleted room names every member it had.
inline constexpr std::size_t max_event_rows = 500000;
/// A body: the rows above at ~40 bytes each, with room to spare; far below
/// the 512 MB Redis allows a string.
inline constexpr std::size_t max_event_body_bytes = 32 * 1024 * 1024;

enum class event_decode_errc : std::uint8_t {
    empty = 1,        ///< no bytes at all
    too_large,        ///< more than max_event_body_bytes
    version,          ///< another format version
    unknown_kind,     ///< a kind byte past storage_event's alternatives
    malformed,        ///< a field did not decode (protocol::decode_error in detail)
    trailing_bytes,   ///< bytes after the event
};

std::string_view to_string(event_decode_errc e) noexcept;

struct event_decode_error {
    event_decode_errc code{};
    std::string detail;
    friend std::ostream& operator<<(std::ostream& out, const event_decode_error& e);
};

/** The body of `e`.
 *  @throws std::invalid_argument if a field is outside its bound (a string
 *          longer than the protocol allows, invalid UTF-8): the room built a
 *          wrong event, which is a bug */
std::string encode_storage_event(const storage_event& e);

/// The event in `body`, or why there is none.
std::variant<storage_event, event_decode_error> decode_storage_event(std::string_view body);

}  // namespace parley::server::cluster
