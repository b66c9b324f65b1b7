// LZ4 frames that Parley's encoder never writes but a decoder must handle:
// frames whose header carries a content size, true or not.
#pragma once

#include "protocol/codec.hpp"
#include "tests/support/frame_builder.hpp"

#include <lz4frame.h>

#include <cstdint>
#include <span>
#include <vector>

namespace parley::testing {

/** An LZ4 frame of `input` whose header declares `declared` bytes of content.
 *  lz4 writes the header (with a correct header checksum), the blocks and the
 *  end mark; only its closing size check, which a lying size fails, is
 *  skipped. @return the frame, or nothing if lz4 refused the preferences */
inline std::vector<std::uint8_t> frame_declaring(std::span<const std::uint8_t> input, std::uint64_t declared) {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.contentSize = declared;
    LZ4F_cctx* ctx = nullptr;
    if (LZ4F_isError(LZ4F_createCompressionContext(&ctx, LZ4F_VERSION))) return {};
    std::vector<std::uint8_t> out(LZ4F_compressBound(input.size(), &prefs) + LZ4F_HEADER_SIZE_MAX + 8);
    std::size_t n = 0;
    bool ok = true;
    auto step = [&](std::size_t written) {
        ok = ok && !LZ4F_isError(written);
        if (ok) n += written;
    };
    step(LZ4F_compressBegin(ctx, out.data(), out.size(), &prefs));
    if (ok) step(LZ4F_compressUpdate(ctx, out.data() + n, out.size() - n, input.data(), input.size(), nullptr));
    if (ok) step(LZ4F_flush(ctx, out.data() + n, out.size() - n, nullptr));
    LZ4F_freeCompressionContext(ctx);
    if (!ok) return {};
    out.resize(n);
    out.insert(out.end(), {0, 0, 0, 0});  // end mark
    return out;
}

/** `p` as a compressed packet whose LZ4 frame declares its content size, off
 *  by `lie` bytes (0: a valid frame Parley's encoder does not write, but any
 *  decoder must accept); empty if `p` does not encode. */
inline std::vector<std::uint8_t> compressed_declaring_size(const protocol::packet& p, std::int64_t lie = 0) {
    auto plain = protocol::encode(p, {.compress_threshold = SIZE_MAX});
    if (!plain) return {};
    auto header = protocol::peek_header(*plain);
    if (!header) return {};
    const auto payload = std::span(*plain).subspan(header->header_size, header->payload_size);
    return build_frame(header->kind, frame_declaring(payload, static_cast<std::uint64_t>(static_cast<std::int64_t>(payload.size()) + lie)), protocol::flag_compressed);
}

}  // namespace parley::testing
