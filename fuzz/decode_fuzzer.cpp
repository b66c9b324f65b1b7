// Fuzz target for the protocol decoder.
//
// Any input must either fail with a decode_error or decode to packets that
// encode again and decode to the same packets (no crash, no leak, no UB, no
// accepted input that the encoder cannot reproduce).
#include "protocol/codec.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace parley::protocol;
    auto packets = decode_message({data, size});
    if (!packets) return 0;
    for (const packet& p : *packets) {
        auto again = encode(p);
        if (!again) std::abort();  // accepted on input, refused on output
        auto back = decode(*again);
        if (!back || !(*back == p)) std::abort();  // round trip changed the packet
    }
    return 0;
}
