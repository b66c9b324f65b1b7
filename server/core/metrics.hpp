// Counters, gauges and histograms of one server, rendered in the Prometheus
// text format at GET /metrics. Everything is a relaxed atomic: updates cost
// one uncontended add on the hot path, and a scrape reads a consistent-enough
// snapshot (each value is exact; values are not read at one instant).
#pragma once

#include "server/core/offender_log.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace parley::server {

/// Cumulative histogram with fixed bucket bounds in seconds.
class histogram {
public:
    static constexpr std::array<double, 14> bounds{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                   0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5};

    void observe(std::chrono::nanoseconds d) noexcept;
    void render(std::string& out, const char* name, const char* help) const;
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    double sum_seconds() const noexcept { return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9; }
    /// The upper bound of the bucket holding quantile `q` (0..1) in seconds; 0 when empty,
    /// +inf above the last bound (what a Prometheus histogram_quantile would say, unsmoothed).
    double quantile(double q) const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_ns_{0};
};

struct metrics {
    using counter = std::atomic<std::uint64_t>;

    // connections
    counter connections_total{0};
    counter http_requests_total{0};
    counter tls_handshakes{0};          ///< completed
    counter tls_handshake_failures{0};  ///< failed or timed out
    counter tls_handshakes_refused{0};  ///< over the per-address cap of handshakes in progress

    // traffic: per packet kind byte, and bytes on the wire (WebSocket payloads)
    std::array<counter, 128> packets_in{};
    std::array<counter, 128> packets_out{};
    counter bytes_in{0};
    counter bytes_out{0};
    counter websocket_writes{0};  ///< WebSocket messages written (a batch counts once)
    counter loop_handoffs{0};     ///< rooms' hand-offs to event loops (chat/fanout.hpp)

    // protocol errors by wire code (decode errors 1-63, server errors 100-163)
    std::array<counter, 64> decode_errors{};
    std::array<counter, 64> request_errors{};
    offender_log offenders;  ///< the addresses behind them, most recent first (the admin console)

    // send queues
    counter ephemeral_drops{0};          ///< typing/presence dropped for a half-full queue
    counter slow_consumer_disconnects{0};
    counter rate_limited{0};

    // chat
    counter messages_total{0};
    counter duplicate_messages{0};       ///< resends answered with the original ack
    histogram broadcast_latency;         ///< packet decoded -> queued for every member

    // storage
    counter events_committed{0};
    counter commits{0};
    counter commit_failures{0};
    histogram commit_latency;

    /// Gauges whose owners keep the count (the registries, the writer): read at scrape time.
    struct gauges {
        std::uint64_t connections = 0;     ///< open WebSocket connections
        std::uint64_t rooms = 0;           ///< rooms in memory
        std::uint64_t room_loads = 0;      ///< rooms loaded from the database since start-up
        std::uint64_t room_evictions = 0;  ///< idle rooms let go since start-up
        std::uint64_t writer_backlog = 0;  ///< events waiting to be committed
        std::int64_t tls_not_after = 0;    ///< the served certificate's expiry, Unix seconds; 0 without TLS
    };

    void count_error(std::uint16_t code) noexcept;
    std::string render(const gauges& now) const;
};

}  // namespace parley::server
