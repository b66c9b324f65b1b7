// How long a refused join takes, for an address of no room and for the
// address of a private room the user may not join, interleaved in one run
// against one server (make bench-access; docs/benchmarks.md). The two must
// not be told apart by time: same medians and tails, within the noise.
//
//   parley-join-refusal PORT [ROUNDS]
//
// It registers two users, makes one private room as the first, then the
// second asks for both addresses in turn, ROUNDS times each, and prints the
// percentiles of the round trip (join_room sent, error_report received).
#include "tests/support/ws_client.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace parley::testing;
using namespace parley::protocol;
using clock_type = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::unique_ptr<ws_client> signed_in(std::uint16_t port, const std::string& name) {
    const std::string token = sign_up(port, name);
    auto c = std::make_unique<ws_client>(ws_options{.port = port, .headers = {{"Cookie", "parley_session=" + token}}});
    c->wait_for<welcome>();
    c->wait_for<room_list>();
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PORT [ROUNDS]\n", argv[0]);
        return 2;
    }
    const auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 2000;
    const std::string suffix = std::to_string(clock_type::now().time_since_epoch().count() % 1000000);
    auto owner = signed_in(port, "jr-owner-" + suffix);
    owner->send(create_room{1, "timing", room_kind::private_room});
    const std::string secret = owner->wait_for<room_joined>().room;
    const std::string none = "~" + std::string(22, 'q');  // no room has it (addresses are random)
    auto stranger = signed_in(port, "jr-stranger-" + suffix);

    std::vector<double> t_none, t_secret;
    for (int i = 0; i < rounds * 2; ++i) {
        const bool ask_secret = (i % 2) == 1;
        const auto t0 = clock_type::now();
        stranger->send(join_room{ask_secret ? secret : none, 0, 0});
        const auto e = stranger->wait_for<error_report>();
        const double us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
        if (e.code != static_cast<std::uint16_t>(error_code::no_such_room)) {
            std::fprintf(stderr, "unexpected error %u\n", e.code);
            return 1;
        }
        (ask_secret ? t_secret : t_none).push_back(us);
    }
    std::printf("join refusals, %d of each, interleaved (round trip over loopback, microseconds)\n", rounds);
    std::printf("%-22s %8s %8s %8s\n", "address", "p50", "p90", "p99");
    for (auto [name, v] : {std::pair{"no such room", &t_none}, std::pair{"private, not a member", &t_secret}})
        std::printf("%-22s %8.1f %8.1f %8.1f\n", name, percentile(*v, 0.5), percentile(*v, 0.9), percentile(*v, 0.99));
    std::printf("ratio of medians (private / none): %.3f\n", percentile(t_secret, 0.5) / percentile(t_none, 0.5));
    return 0;
}
