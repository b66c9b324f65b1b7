#include "protocol/compression.hpp"

#include <lz4frame.h>

#include <algorithm>
#include <memory>

namespace parley::protocol {
namespace {

// A decompression context holds state of the frame it last read (the declared
// content size, the stage, checksums), and lz4's reset does not clear all of
// it: a context that read a frame with a content size keeps counting it down
// on the next frame. So every frame gets a context of its own, created here
// and freed on every path out; decoding never depends on an earlier input.
// The cost is a small allocation plus lz4's block buffers, paid only by
// compressed packets (payloads of 256 bytes and more).
struct dctx_deleter {
    void operator()(LZ4F_dctx* ctx) const noexcept { LZ4F_freeDecompressionContext(ctx); }
};
using unique_dctx = std::unique_ptr<LZ4F_dctx, dctx_deleter>;

unique_dctx make_dctx() {
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) return nullptr;
    return unique_dctx(raw);
}

LZ4F_preferences_t frame_preferences() {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs.frameInfo.contentSize = 0;
    prefs.compressionLevel = 0;  // fast mode: chat text is small, latency matters
    return prefs;
}

}  // namespace

std::size_t compress_frame(std::span<const std::uint8_t> input, std::vector<std::uint8_t>& out) {
    const LZ4F_preferences_t prefs = frame_preferences();
    const std::size_t bound = LZ4F_compressFrameBound(input.size(), &prefs);
    if (out.size() < bound) out.resize(bound);
    const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), input.data(), input.size(), &prefs);
    // With a bound-sized destination the only failure is a bug in lz4 usage.
    return LZ4F_isError(n) ? 0 : n;
}

std::optional<decode_error> decompress_frame(std::span<const std::uint8_t> input,
                                             std::vector<std::uint8_t>& out,
                                             std::size_t limit) {
    const unique_dctx owned = make_dctx();
    LZ4F_dctx* ctx = owned.get();
    if (ctx == nullptr) return decode_error::decompression_failed;

    // One byte of headroom past the limit tells "exactly at the limit" from
    // "would exceed it" without a second pass.
    const std::size_t cap = limit + 1;
    out.resize(std::min(cap, std::max<std::size_t>(input.size() * 4, 256)));
    std::size_t produced = 0;
    const std::uint8_t* src = input.data();
    std::size_t src_left = input.size();

    for (;;) {
        std::size_t dst_size = out.size() - produced;
        std::size_t src_size = src_left;
        const std::size_t hint = LZ4F_decompress(ctx, out.data() + produced, &dst_size, src, &src_size, nullptr);
        if (LZ4F_isError(hint)) return decode_error::decompression_failed;
        produced += dst_size;
        src += src_size;
        src_left -= src_size;
        if (produced > limit) return decode_error::decompressed_too_large;
        if (hint == 0) {  // frame complete
            // Bytes after the end mark: depending on buffering lz4 may already
            // have taken them as the start of another frame, so both cases get
            // the same answer.
            if (src_left != 0) return decode_error::decompression_failed;
            out.resize(produced);
            return std::nullopt;
        }
        if (produced == out.size()) {
            out.resize(std::min(cap, out.size() * 2));
        } else if (src_left == 0 || (dst_size == 0 && src_size == 0)) {
            return decode_error::decompression_failed;  // frame cut short, or no progress
        }
    }
}

}  // namespace parley::protocol
