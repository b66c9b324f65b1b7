// Encoding and decoding of Parley packets: the library's public API.
//
// PACKET FORMAT (docs/protocol.md has the full specification)
//
//   offset  size   field
//   0       1      magic 0x50 ('P')
//   1       1      version (limits::version)
//   2       1      kind (packet_kind)
//   3       1      flags: bit 0 = payload is one LZ4 frame; others reserved, 0
//   4       1-3    payload length n, LEB128 varint
//   ..      n      payload (the packet's fields, see wire_archive.hpp)
//   ..      4      CRC32 of every byte above, little-endian
//
// A WebSocket message holds exactly one packet. A batch (kind 0x7F, never
// compressed) carries several packets: its payload is their complete
// encodings, back to back, each with its own header and CRC; the batch's own
// CRC covers only its header, since its contents are already covered.
//
// ALGORITHM
// encode: serialize the fields into a per-thread scratch buffer; if the
// payload reaches the compression threshold, LZ4-frame it and keep the frame
// only if it is smaller; then write header, payload and CRC into one
// exactly-sized buffer.
// decode: check magic, version and length before anything else, verify the
// CRC over the bytes as sent (so corrupt input never reaches LZ4), then
// decompress with a hard output limit and parse the fields with bounds.
//
// GUARANTEES
// decode never throws and never reads, allocates or inflates more than its
// input and the limits in limits.hpp allow; every failure is a decode_error.
// encode refuses what decode would refuse (too-long strings, bad UTF-8, values
// out of range), so decode(encode(p)) == p for every packet encode accepts,
// and encoding is deterministic: equal packets give equal bytes.
#pragma once

#include "protocol/errors.hpp"
#include "protocol/limits.hpp"
#include "protocol/packets.hpp"
#include "protocol/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace parley::protocol {

using bytes = std::vector<std::uint8_t>;

inline constexpr std::uint8_t magic = 0x50;  // 'P'
inline constexpr std::uint8_t flag_compressed = 0x01;

struct encode_options {
    /// Payloads at least this long are LZ4-compressed when that shrinks them.
    /// SIZE_MAX disables compression.
    std::size_t compress_threshold = limits::compress_threshold;
};

/** Encodes one packet.
 *  @return the packet's bytes (at most limits::max_packet_bytes), or the error
 *          decode would report for it: field_too_long, bad_utf8, bad_value,
 *          too_many_items or too_large. */
result<bytes> encode(const packet& p, const encode_options& options = {});

/** Encodes one packet and appends it to `out`; on error `out` is unchanged. */
std::optional<decode_error> encode_append(bytes& out, const packet& p, const encode_options& options = {});

/** Decodes one packet that fills `input` exactly. A batch is refused with
 *  unexpected_batch: use decode_message for anything a peer sends. */
result<packet> decode(std::span<const std::uint8_t> input);

/** Decodes one WebSocket message: a single packet, or a batch, whose packets
 *  come back in order (at most limits::max_batch_packets). */
result<std::vector<packet>> decode_message(std::span<const std::uint8_t> input);

/** Encodes packets as one batch packet (one packet still gets a batch). */
result<bytes> encode_batch(std::span<const packet> packets, const encode_options& options = {});

/// Header and CRC trailer that turn already-encoded packets into a batch, so
/// a sender can gather header, packets and trailer into one write without
/// copying the packets, or even reading them: only their sizes matter.
struct batch_envelope {
    std::array<std::uint8_t, limits::max_header_bytes> header{};
    std::size_t header_size = 0;
    std::array<std::uint8_t, limits::checksum_bytes> trailer{};

    std::span<const std::uint8_t> header_bytes() const noexcept { return {header.data(), header_size}; }
};

/** Builds the envelope of a batch of encoded packets (each a complete, valid,
 *  non-batch packet; not re-checked). Fails with empty_batch, too_many_items
 *  or too_large. */
result<batch_envelope> make_batch_envelope(std::span<const std::span<const std::uint8_t>> packets);

/** The same from the packets' count and total size alone. */
result<batch_envelope> make_batch_envelope(std::size_t packet_count, std::size_t payload_size);

/// What the fixed part of a header says, for routing and metrics before (or
/// without) a full decode.
struct header_view {
    packet_kind kind;
    std::uint8_t flags;
    std::size_t payload_size;
    std::size_t header_size;
};

/** Parses and checks the header at the start of `input` (magic, version,
 *  length, and that the whole packet is present); does not verify the CRC. */
result<header_view> peek_header(std::span<const std::uint8_t> input);

}  // namespace parley::protocol
