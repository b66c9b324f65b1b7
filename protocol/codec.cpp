#include "protocol/codec.hpp"

#include "protocol/checksum.hpp"
#include "protocol/compression.hpp"
#include "protocol/wire_archive.hpp"

#include <utility>

namespace parley::protocol {
namespace {

// ---- framing ---------------------------------------------------------------

std::size_t write_header(std::uint8_t* out, packet_kind kind, std::uint8_t flags, std::size_t payload_size) {
    std::size_t n = 0;
    out[n++] = magic;
    out[n++] = limits::version;
    out[n++] = static_cast<std::uint8_t>(kind);
    out[n++] = flags;
    while (payload_size >= 0x80) {
        out[n++] = static_cast<std::uint8_t>(payload_size | 0x80);
        payload_size >>= 7;
    }
    out[n++] = static_cast<std::uint8_t>(payload_size);
    return n;
}

void store_le32(std::uint8_t* out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint32_t load_le32(const std::uint8_t* in) {
    return std::uint32_t{in[0]} | std::uint32_t{in[1]} << 8 | std::uint32_t{in[2]} << 16 |
           std::uint32_t{in[3]} << 24;
}

/// How many leading bytes of a packet its CRC covers: everything before the
/// trailer, except for a batch, whose payload consists of packets that carry
/// their own CRCs; its CRC covers its header. (So a sender can wrap shared,
/// already-encoded packets in a batch without reading them again.)
std::size_t checksummed_bytes(packet_kind kind, std::size_t header_size, std::size_t payload_size) {
    return kind == packet_kind::batch ? header_size : header_size + payload_size;
}

/// Appends header, payload and CRC to `out`.
std::optional<decode_error> append_frame(bytes& out, packet_kind kind, std::uint8_t flags,
                                         std::span<const std::uint8_t> payload) {
    std::uint8_t header[limits::max_header_bytes];
    if (payload.size() > limits::max_packet_bytes) return decode_error::too_large;
    const std::size_t header_size = write_header(header, kind, flags, payload.size());
    const std::size_t total = header_size + payload.size() + limits::checksum_bytes;
    if (total > limits::max_packet_bytes) return decode_error::too_large;

    const std::size_t start = out.size();
    out.resize(start + total);
    std::uint8_t* p = out.data() + start;
    std::copy_n(header, header_size, p);
    std::copy(payload.begin(), payload.end(), p + header_size);
    const std::uint32_t crc = crc32_of({p, checksummed_bytes(kind, header_size, payload.size())});
    store_le32(p + header_size + payload.size(), crc);
    return std::nullopt;
}

/// A packet whose header, length and CRC have been checked.
struct frame {
    packet_kind kind;
    std::uint8_t flags;
    std::span<const std::uint8_t> payload;
    std::size_t size;  // header + payload + CRC
};

result<frame> read_frame(std::span<const std::uint8_t> input) {
    auto header = peek_header(input);
    if (!header) return header.error();
    const std::size_t body_end = header->header_size + header->payload_size;
    const std::size_t covered = checksummed_bytes(header->kind, header->header_size, header->payload_size);
    if (load_le32(input.data() + body_end) != crc32_of(input.first(covered))) return decode_error::bad_checksum;
    if (!is_packet_kind(static_cast<std::uint8_t>(header->kind)) && header->kind != packet_kind::batch)
        return decode_error::unknown_kind;
    const bool compressed = (header->flags & flag_compressed) != 0;
    if ((header->flags & ~flag_compressed) != 0 || (compressed && header->kind == packet_kind::batch))
        return decode_error::bad_flags;
    return frame{header->kind, header->flags, input.subspan(header->header_size, header->payload_size),
                 body_end + limits::checksum_bytes};
}

// ---- payloads --------------------------------------------------------------

template <class T>
result<packet> parse_payload(std::span<const std::uint8_t> payload) {
    T value{};
    wire::input_archive ar(payload.data(), payload.size());
    ar(value);
    if (auto e = ar.error()) return *e;
    if (ar.remaining() != 0) return decode_error::trailing_bytes;
    return packet{std::in_place_type<T>, std::move(value)};
}

using parse_fn = result<packet> (*)(std::span<const std::uint8_t>);

// Kind byte -> parser of that packet's payload; null for bytes that name no packet.
constexpr std::array<parse_fn, 256> make_parsers() {
    std::array<parse_fn, 256> table{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((table[static_cast<std::size_t>(std::variant_alternative_t<I, packet>::kind)] =
              &parse_payload<std::variant_alternative_t<I, packet>>),
         ...);
    }(std::make_index_sequence<std::variant_size_v<packet>>{});
    return table;
}
constexpr std::array<parse_fn, 256> parsers = make_parsers();

result<packet> parse_frame(const frame& f) {
    const parse_fn parse = parsers[static_cast<std::size_t>(f.kind)];
    if ((f.flags & flag_compressed) == 0) return parse(f.payload);
    thread_local bytes inflated;
    if (auto e = decompress_frame(f.payload, inflated, limits::max_payload_bytes)) return *e;
    return parse(inflated);
}

result<std::vector<packet>> parse_batch(std::span<const std::uint8_t> payload) {
    if (payload.empty()) return decode_error::empty_batch;
    std::vector<packet> packets;
    while (!payload.empty()) {
        if (packets.size() == limits::max_batch_packets) return decode_error::too_many_items;
        auto inner = read_frame(payload);
        if (!inner) return inner.error();
        if (inner->kind == packet_kind::batch) return decode_error::unexpected_batch;
        auto p = parse_frame(*inner);
        if (!p) return p.error();
        packets.push_back(std::move(*p));
        payload = payload.subspan(inner->size);
    }
    return packets;
}

result<frame> read_whole_frame(std::span<const std::uint8_t> input) {
    if (input.size() > limits::max_packet_bytes) return decode_error::too_large;
    auto f = read_frame(input);
    if (!f) return f;
    if (f->size != input.size()) return decode_error::trailing_bytes;
    return f;
}

}  // namespace

// ---- public API ------------------------------------------------------------

std::optional<decode_error> encode_append(bytes& out, const packet& p, const encode_options& options) {
    thread_local bytes payload;
    thread_local bytes packed;
    payload.clear();
    std::optional<decode_error> error;
    std::visit(
        [&]<class T>(const T& alt) {
            wire::output_archive ar(payload);
            ar(const_cast<T&>(alt));  // cereal's archives take non-const; nothing is modified
            error = ar.error();
        },
        p);
    if (error) return error;
    if (payload.size() > limits::max_payload_bytes) return decode_error::too_large;

    std::span<const std::uint8_t> body = payload;
    std::uint8_t flags = 0;
    if (payload.size() >= options.compress_threshold) {
        const std::size_t packed_size = compress_frame(payload, packed);
        if (packed_size != 0 && packed_size < payload.size()) {
            body = std::span<const std::uint8_t>(packed).first(packed_size);
            flags = flag_compressed;
        }
    }
    return append_frame(out, kind_of(p), flags, body);
}

result<bytes> encode(const packet& p, const encode_options& options) {
    bytes out;
    if (auto e = encode_append(out, p, options)) return *e;
    return out;
}

result<packet> decode(std::span<const std::uint8_t> input) {
    auto f = read_whole_frame(input);
    if (!f) return f.error();
    if (f->kind == packet_kind::batch) return decode_error::unexpected_batch;
    return parse_frame(*f);
}

result<std::vector<packet>> decode_message(std::span<const std::uint8_t> input) {
    auto f = read_whole_frame(input);
    if (!f) return f.error();
    if (f->kind == packet_kind::batch) return parse_batch(f->payload);
    auto p = parse_frame(*f);
    if (!p) return p.error();
    std::vector<packet> one;
    one.push_back(std::move(*p));
    return one;
}

result<bytes> encode_batch(std::span<const packet> packets, const encode_options& options) {
    if (packets.empty()) return decode_error::empty_batch;
    if (packets.size() > limits::max_batch_packets) return decode_error::too_many_items;
    bytes inner;
    for (const packet& p : packets)
        if (auto e = encode_append(inner, p, options)) return *e;
    bytes out;
    if (auto e = append_frame(out, packet_kind::batch, 0, inner)) return *e;
    return out;
}

result<batch_envelope> make_batch_envelope(std::span<const std::span<const std::uint8_t>> packets) {
    std::size_t payload_size = 0;
    for (auto p : packets) payload_size += p.size();
    return make_batch_envelope(packets.size(), payload_size);
}

result<batch_envelope> make_batch_envelope(std::size_t packet_count, std::size_t payload_size) {
    if (packet_count == 0) return decode_error::empty_batch;
    if (packet_count > limits::max_batch_packets) return decode_error::too_many_items;
    if (payload_size > limits::max_packet_bytes) return decode_error::too_large;

    batch_envelope env;
    env.header_size = write_header(env.header.data(), packet_kind::batch, 0, payload_size);
    if (env.header_size + payload_size + limits::checksum_bytes > limits::max_packet_bytes)
        return decode_error::too_large;
    store_le32(env.trailer.data(), crc32_of(env.header_bytes()));
    return env;
}

result<header_view> peek_header(std::span<const std::uint8_t> input) {
    if (input.empty()) return decode_error::truncated;
    if (input[0] != magic) return decode_error::bad_magic;
    if (input.size() < 2) return decode_error::truncated;
    if (input[1] != limits::version) return decode_error::bad_version;

    // Payload length: varint at offset 4, at most 3 bytes for max_packet_bytes.
    std::size_t length = 0;
    std::size_t at = 4;
    for (unsigned shift = 0;; shift += 7, ++at) {
        if (at >= input.size()) return decode_error::truncated;
        if (at == limits::max_header_bytes) return decode_error::too_large;
        const std::uint8_t byte = input[at];
        length |= std::size_t{byte & 0x7Fu} << shift;
        if ((byte & 0x80) == 0) {
            if (byte == 0 && shift != 0) return decode_error::bad_varint;
            break;
        }
    }
    const std::size_t header_size = at + 1;
    if (length > limits::max_packet_bytes) return decode_error::too_large;
    if (input.size() - header_size < length + limits::checksum_bytes) return decode_error::truncated;
    return header_view{static_cast<packet_kind>(input[2]), input[3], length, header_size};
}

}  // namespace parley::protocol
