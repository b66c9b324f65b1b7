// Encode/decode cost of typical packets, beside the same fields as JSON.
//
//   make bench-protocol
//
// Three shapes: a 50-byte chat message (the common case), a 2 KB message
// (compressed on the wire) and a history page of 50 messages (compressed).
// The JSON side converts the same struct to and from nlohmann::json text, so
// both columns include building and reading the C++ struct. The `wire_bytes`
// counter is the size on the wire.
#include "protocol/codec.hpp"
#include "tests/support/packet_json.hpp"
#include "tests/support/sample_packets.hpp"

#include <benchmark/benchmark.h>

namespace {

using namespace parley::protocol;
using namespace parley::testing;

packet small_text() { return send_message{3, 0x1F2E3D4C5B6A7ULL, 0, fifty_byte_text}; }
packet long_text() { return send_message{3, 0x1F2E3D4C5B6A7ULL, 0, sample_long_text(2000)}; }
packet history_50() { return sample_history(50); }

template <packet (*Make)()>
void encode_binary(benchmark::State& state) {
    const packet p = Make();
    std::size_t size = 0;
    for (auto _ : state) {
        auto b = encode(p);
        size = b->size();
        benchmark::DoNotOptimize(b);
    }
    state.counters["wire_bytes"] = static_cast<double>(size);
}

template <packet (*Make)()>
void decode_binary(benchmark::State& state) {
    const bytes b = *encode(Make());
    for (auto _ : state) {
        auto p = decode(b);
        benchmark::DoNotOptimize(p);
    }
    state.counters["wire_bytes"] = static_cast<double>(b.size());
}

template <packet (*Make)()>
void encode_json(benchmark::State& state) {
    const packet p = Make();
    std::size_t size = 0;
    for (auto _ : state) {
        std::string s = packet_to_json(p).dump();
        size = s.size();
        benchmark::DoNotOptimize(s);
    }
    state.counters["wire_bytes"] = static_cast<double>(size);
}

template <packet (*Make)()>
void decode_json(benchmark::State& state) {
    const std::string s = packet_to_json(Make()).dump();
    for (auto _ : state) {
        auto p = packet_from_json(nlohmann::ordered_json::parse(s));
        benchmark::DoNotOptimize(p);
    }
    state.counters["wire_bytes"] = static_cast<double>(s.size());
}

}  // namespace

BENCHMARK(encode_binary<small_text>)->Name("encode/binary/text_50B");
BENCHMARK(encode_json<small_text>)->Name("encode/json/text_50B");
BENCHMARK(decode_binary<small_text>)->Name("decode/binary/text_50B");
BENCHMARK(decode_json<small_text>)->Name("decode/json/text_50B");
BENCHMARK(encode_binary<long_text>)->Name("encode/binary/text_2KB");
BENCHMARK(encode_json<long_text>)->Name("encode/json/text_2KB");
BENCHMARK(decode_binary<long_text>)->Name("decode/binary/text_2KB");
BENCHMARK(decode_json<long_text>)->Name("decode/json/text_2KB");
BENCHMARK(encode_binary<history_50>)->Name("encode/binary/history_50");
BENCHMARK(encode_json<history_50>)->Name("encode/json/history_50");
BENCHMARK(decode_binary<history_50>)->Name("decode/binary/history_50");
BENCHMARK(decode_json<history_50>)->Name("decode/json/history_50");

BENCHMARK_MAIN();
