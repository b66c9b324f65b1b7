// Fuzz target: decoding must not depend on anything an earlier input did.
//
// Inputs are framed as in payload_fuzzer.cpp (kind, flags, then a payload
// given a valid length and CRC), so mutations reach the field parsers and
// the LZ4 path. After every input, a fixed set of reference messages (one
// packet of every kind, a compressed message, and a compressed message whose
// LZ4 frame declares its content size) must decode exactly as they did
// before the first input. State that survives a call (a reused decompression
// context, a parser's scratch) shows up here as a reference that changes.
#include "protocol/codec.hpp"
#include "tests/support/frame_builder.hpp"
#include "tests/support/lz4_frames.hpp"
#include "tests/support/sample_packets.hpp"

#include <cstdlib>
#include <vector>

namespace {

using namespace parley::protocol;

struct reference {
    bytes message;
    result<std::vector<packet>> decoded;
};

std::vector<reference> make_references() {
    std::vector<bytes> messages;
    for (const packet& p : parley::testing::one_of_each_kind()) messages.push_back(*encode(p));
    const std::string long_text = parley::testing::sample_long_text(3000);
    messages.push_back(*encode(send_message{3, 77, 0, long_text}));  // compressed, no content size
    messages.push_back(parley::testing::compressed_declaring_size(send_message{3, 78, 0, long_text}));
    std::vector<reference> refs;
    for (auto& m : messages) refs.push_back({m, decode_message(m)});
    return refs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<reference> refs = make_references();
    if (size >= 2) {
        const bytes frame = parley::testing::build_frame({.kind = data[0], .flags = data[1]}, {data + 2, size - 2});
        (void)decode_message(frame);
    }
    for (const auto& r : refs) {
        const auto again = decode_message(r.message);
        if (again.has_value() != r.decoded.has_value()) std::abort();
        if (again.has_value() ? !(*again == *r.decoded) : again.error() != r.decoded.error()) std::abort();
    }
    return 0;
}
