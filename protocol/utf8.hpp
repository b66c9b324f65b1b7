// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates,
// nothing above U+10FFFF. Every string the codec reads or writes passes here.
#pragma once

#include <string_view>

namespace parley::protocol {

/** @return true if `text` is well-formed UTF-8. Runs in O(n); ASCII runs are
 *  checked eight bytes at a time. */
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace parley::protocol
