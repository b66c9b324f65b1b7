// LZ4 frame compression with a hard bound on the decompressed size.
//
// A frame's header may declare any content size, or none, so decompression
// never sizes its buffer from it: output grows on demand and stops with an
// error at the caller's limit. Frames are written without content size,
// block or content checksums (the packet's CRC32 already covers the bytes),
// with independent 64 KiB blocks.
#pragma once

#include "protocol/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace parley::protocol {

/** Compresses `input` into one LZ4 frame at the start of `out`, which grows
 *  as needed and is never shrunk (so a reused buffer is not zero-filled again).
 *  @return the frame's size in bytes (0 only if lz4 failed) */
std::size_t compress_frame(std::span<const std::uint8_t> input, std::vector<std::uint8_t>& out);

/** Decompresses exactly one LZ4 frame that must fill `input` entirely.
 *  @param limit largest acceptable output, in bytes
 *  @return nothing on success (`out` holds the bytes), else
 *          decompressed_too_large, or decompression_failed for a malformed,
 *          truncated or over-long frame (bytes after its end mark) */
std::optional<decode_error> decompress_frame(std::span<const std::uint8_t> input,
                                             std::vector<std::uint8_t>& out,
                                             std::size_t limit);

}  // namespace parley::protocol
