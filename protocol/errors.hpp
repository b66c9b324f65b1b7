// Typed errors of the Parley protocol.
//
// decode_error is what the codec returns for bytes it refuses. error_code is
// what travels in an error packet: the decode errors keep their numbers (1-63)
// and the server adds its own from 100 up. Codes are part of the wire format:
// never renumber, only append.
#pragma once

#include "protocol/vocabulary.hpp"

#include <cstdint>
#include <string_view>

namespace parley::protocol {

enum class decode_error : std::uint8_t {
#define PARLEY_ENUMERATOR(name, number, description) name = number,
    PARLEY_DECODE_ERRORS(PARLEY_ENUMERATOR)
#undef PARLEY_ENUMERATOR
};

/// Number of the highest decode_error, for tables and tests.
inline constexpr std::uint8_t max_decode_error = 17;

/// What travels in an error packet: the decode errors keep their numbers
/// (1-63) and the server adds its own from 100 up (vocabulary.hpp).
enum class error_code : std::uint16_t {
#define PARLEY_ENUMERATOR(name, number, description) name = number,
    PARLEY_SERVER_ERRORS(PARLEY_ENUMERATOR)
#undef PARLEY_ENUMERATOR
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
