// Fuzz target for the payload parsers, behind a valid frame.
//
// Random mutations almost never keep a CRC32 valid, so the raw decoder target
// (decode_fuzzer.cpp) spends its time on the checksum. This one takes the
// first byte as the kind, the second as the flags and the rest as payload,
// frames them with a correct length and CRC, and decodes: every mutation
// reaches the field parsers, the LZ4 path and the batch walker. Same oracle:
// fail cleanly, or round-trip to the same packets.
#include "protocol/codec.hpp"
#include "tests/support/frame_builder.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace parley::protocol;
    if (size < 2) return 0;
    const bytes frame = parley::testing::build_frame({.kind = data[0], .flags = data[1]}, {data + 2, size - 2});
    auto packets = decode_message(frame);
    if (!packets) return 0;
    for (const packet& p : *packets) {
        auto again = encode(p);
        if (!again) std::abort();
        auto back = decode(*again);
        if (!back || !(*back == p)) std::abort();
    }
    return 0;
}
