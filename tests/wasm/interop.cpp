// parley-interop: the native side of the wasm interoperability tests.
//
//   parley-interop generate COUNT SEED   random messages, natively encoded
//   parley-interop decode                hex lines in, decoded JSON lines out
//
// `generate` prints COUNT JSON lines {"batch": bool, "hex": "...", "packets":
// [...]}, the shape of tests/vectors/packets.json: random valid packets from
// packet_generator (every fifth line a batch of two to six), with the bytes
// the native codec gives them. The wasm module must decode each hex to the
// same packets and encode the packets to the same hex.
//
// `decode` reads one hex message per line and answers each with a JSON line:
// {"packets": [...]} or {"error": "bad_checksum"}. The tests feed it what the
// wasm module encoded, and the malformed inputs the wasm module refused, so
// both directions and the error paths are compared byte for byte.
#include "protocol/codec.hpp"
#include "tests/support/packet_json.hpp"
#include "tests/support/random_packets.hpp"

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

using namespace parley::protocol;
using json = nlohmann::ordered_json;

std::string to_hex(std::span<const std::uint8_t> b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (auto c : b) {
        s.push_back(digits[c >> 4]);
        s.push_back(digits[c & 15]);
    }
    return s;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<bytes> from_hex(const std::string& hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    bytes b;
    b.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        b.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    return b;
}

json packets_to_json(const std::vector<packet>& packets) {
    json list = json::array();
    for (const auto& p : packets) list.push_back(parley::testing::packet_to_json(p));
    return list;
}

int generate(std::size_t count, std::uint64_t seed) {
    parley::testing::packet_generator gen(seed);
    for (std::size_t i = 0; i < count; ++i) {
        const bool batch = i % 5 == 4;
        std::vector<packet> packets;
        const std::size_t n = batch ? 2 + gen.rng()() % 5 : 1;
        for (std::size_t k = 0; k < n; ++k) packets.push_back(gen.any());
        auto wire = batch ? encode_batch(packets) : encode(packets.front());
        if (!wire) {
            std::cerr << "parley-interop: a generated packet failed to encode: " << error_name(wire.error()) << "\n";
            return 1;
        }
        json line = json::object();
        line["batch"] = batch;
        line["hex"] = to_hex(*wire);
        line["packets"] = packets_to_json(packets);
        std::cout << line.dump() << "\n";
    }
    return 0;
}

int decode_lines() {
    std::string line;
    while (std::getline(std::cin, line)) {
        auto input = from_hex(line);
        if (!input) {
            std::cerr << "parley-interop: not hex: " << line.substr(0, 40) << "\n";
            return 1;
        }
        auto decoded = decode_message(*input);
        json out = json::object();
        if (decoded) out["packets"] = packets_to_json(*decoded);
        else out["error"] = std::string(error_name(decoded.error()));
        std::cout << out.dump() << "\n";
    }
    return 0;
}

int usage() {
    std::cerr << "usage: parley-interop generate COUNT SEED | parley-interop decode\n"
                 "example: parley-interop generate 100 42 | head -1\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "generate" && argc == 4)
        return generate(std::strtoull(argv[2], nullptr, 10), std::strtoull(argv[3], nullptr, 10));
    if (command == "decode" && argc == 2) return decode_lines();
    return usage();
}
