// Hand-built packets for tests and vector generation: any header bytes, any
// payload, with a correct CRC unless asked otherwise. This is how tests reach
// every decode error on purpose.
#pragma once

#include "protocol/checksum.hpp"
#include "protocol/codec.hpp"

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

namespace parley::testing {

using protocol::bytes;

struct frame_spec {
    std::uint8_t magic = protocol::magic;
    std::uint8_t version = protocol::limits::version;
    std::uint8_t kind = 0;
    std::uint8_t flags = 0;
};

inline void append_varint(bytes& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(v));
}

inline void append_text(bytes& out, std::string_view s) {
    append_varint(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

/** Header + payload + CRC32 trailer, exactly as the codec lays them out (a
 *  batch's CRC covers its header only). */
inline bytes build_frame(frame_spec spec, std::span<const std::uint8_t> payload) {
    bytes out{spec.magic, spec.version, spec.kind, spec.flags};
    append_varint(out, payload.size());
    const std::size_t header_size = out.size();
    out.insert(out.end(), payload.begin(), payload.end());
    const bool batch = spec.kind == static_cast<std::uint8_t>(protocol::packet_kind::batch);
    const std::uint32_t crc = protocol::crc32_of(std::span(out).first(batch ? header_size : out.size()));
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
    return out;
}

inline bytes build_frame(protocol::packet_kind kind, std::span<const std::uint8_t> payload, std::uint8_t flags = 0) {
    return build_frame(frame_spec{.kind = static_cast<std::uint8_t>(kind), .flags = flags}, payload);
}

}  // namespace parley::testing
