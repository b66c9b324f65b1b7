#include "server/core/metrics.hpp"

#include "protocol/errors.hpp"
#include "protocol/packets.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>
#include <iterator>
#include <string_view>
#include <vector>

#ifndef PARLEY_COMMIT
#define PARLEY_COMMIT "unknown"
#endif

namespace parley::server {
namespace {

void append_format(std::string& out, const char* fmt, auto... args) {
    char line[256];
    const int n = std::snprintf(line, sizeof line, fmt, args...);
    if (n > 0) out.append(line, static_cast<std::size_t>(std::min<int>(n, sizeof line - 1)));
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    append_format(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void scalar(std::string& out, const char* name, const char* type, const char* help, auto value) {
    header(out, name, type, help);
    append_format(out, "%s %llu\n", name, static_cast<unsigned long long>(value));
}

void by_kind(std::string& out, const char* name, const char* help, const std::array<metrics::counter, 128>& values) {
    header(out, name, "counter", help);
    for (std::size_t k = 0; k < values.size(); ++k) {
        const auto v = values[k].load(std::memory_order_relaxed);
        const auto kind = protocol::kind_name(static_cast<protocol::packet_kind>(k));
        if (v != 0 && !kind.empty())
            append_format(out, "%s{kind=\"%.*s\"} %llu\n", name, static_cast<int>(kind.size()), kind.data(),
                          static_cast<unsigned long long>(v));
    }
}

void by_code(std::string& out, const std::array<metrics::counter, 64>& values, std::uint16_t base) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto v = values[i].load(std::memory_order_relaxed);
        if (v == 0) continue;
        const auto name = protocol::error_name(static_cast<std::uint16_t>(base + i));
        append_format(out, "parley_protocol_errors_total{code=\"%u\",name=\"%.*s\"} %llu\n",
                      static_cast<unsigned>(base + i), static_cast<int>(name.size()), name.data(),
                      static_cast<unsigned long long>(v));
    }
}

void gauge_double(std::string& out, const char* name, const char* type, const char* help, double value) {
    header(out, name, type, help);
    append_format(out, "%s %.6f\n", name, value);
}

// The process collector's standard metrics, read from /proc/self at scrape
// time (the names and meanings of Prometheus' client libraries).
void render_process(std::string& out) {
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // The fields after the command name, which is in parentheses and may hold spaces.
    const auto close = stat.rfind(')');
    if (close != std::string::npos) {
        std::istringstream fields(stat.substr(close + 2));
        std::vector<std::string> f{std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
        // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
        auto field = [&](std::size_t n) { return n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0.0; };
        gauge_double(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                     (field(14) + field(15)) / tick);
        std::ifstream proc_stat("/proc/stat");
        double boot = 0;
        for (std::string line; std::getline(proc_stat, line);)
            if (line.starts_with("btime ")) boot = std::strtod(line.c_str() + 6, nullptr);
        gauge_double(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
                     boot + field(22) / tick);
        gauge_double(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", field(23));
        gauge_double(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", field(24) * page);
    }
    std::error_code ec;
    std::size_t fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec))
        ++fds;
    scalar(out, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0)
        scalar(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", limit.rlim_cur);
}

}  // namespace

void histogram::observe(std::chrono::nanoseconds d) noexcept {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count()), std::memory_order_relaxed);
}

double histogram::quantile(double q) const noexcept {
    const std::uint64_t total = count();
    if (total == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.5);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        if (cumulative >= rank && cumulative != 0) return bounds[i];
    }
    return std::numeric_limits<double>::infinity();
}

void histogram::render(std::string& out, const char* name, const char* help) const {
    header(out, name, "histogram", help);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        append_format(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], static_cast<unsigned long long>(cumulative));
    }
    cumulative += buckets_[bounds.size()].load(std::memory_order_relaxed);
    append_format(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, static_cast<unsigned long long>(cumulative));
    append_format(out, "%s_sum %.9f\n", name, static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
    append_format(out, "%s_count %llu\n", name, static_cast<unsigned long long>(count_.load(std::memory_order_relaxed)));
}

void metrics::count_error(std::uint16_t code) noexcept {
    if (code < 64) decode_errors[code].fetch_add(1, std::memory_order_relaxed);
    else if (code >= 100 && code < 164) request_errors[code - 100].fetch_add(1, std::memory_order_relaxed);
}

std::string metrics::render(const gauges& now) const {
    std::string out;
    out.reserve(8192);
    scalar(out, "parley_connections", "gauge", "Open WebSocket connections.", now.connections);
    scalar(out, "parley_connections_total", "counter", "WebSocket connections accepted.", connections_total.load());
    scalar(out, "parley_http_requests_total", "counter", "HTTP requests served.", http_requests_total.load());
    if (now.tls_not_after != 0) {
        scalar(out, "parley_tls_handshakes_total", "counter", "TLS handshakes completed.", tls_handshakes.load());
        scalar(out, "parley_tls_handshake_failures_total", "counter", "TLS handshakes that failed or timed out.",
               tls_handshake_failures.load());
        scalar(out, "parley_tls_handshakes_refused_total", "counter",
               "Connections closed because their address had too many TLS handshakes in progress.",
               tls_handshakes_refused.load());
        scalar(out, "parley_tls_certificate_expiry_timestamp_seconds", "gauge",
               "When the served certificate expires (Unix time).", now.tls_not_after);
    }
    scalar(out, "parley_rooms", "gauge", "Rooms in memory.", now.rooms);
    scalar(out, "parley_room_loads_total", "counter", "Rooms loaded from the database on first use.", now.room_loads);
    scalar(out, "parley_room_evictions_total", "counter", "Idle rooms that left memory.", now.room_evictions);
    by_kind(out, "parley_packets_in_total", "Packets received, by kind.", packets_in);
    by_kind(out, "parley_packets_out_total", "Packets queued for sending, by kind.", packets_out);
    scalar(out, "parley_bytes_in_total", "counter", "WebSocket payload bytes received.", bytes_in.load());
    scalar(out, "parley_bytes_out_total", "counter", "WebSocket payload bytes sent.", bytes_out.load());
    scalar(out, "parley_websocket_writes_total", "counter", "WebSocket messages written (a coalesced batch counts once).",
           websocket_writes.load());
    scalar(out, "parley_loop_handoffs_total", "counter",
           "What rooms sent, handed to event loops: one per loop per turn of a room, however many members.",
           loop_handoffs.load());
    header(out, "parley_protocol_errors_total", "counter", "Error packets sent, by code.");
    by_code(out, decode_errors, 0);
    by_code(out, request_errors, 100);
    scalar(out, "parley_queue_drops_total", "counter", "Ephemeral packets dropped for a half-full send queue.",
           ephemeral_drops.load());
    scalar(out, "parley_slow_consumer_disconnects_total", "counter", "Connections closed for a full send queue.",
           slow_consumer_disconnects.load());
    scalar(out, "parley_rate_limited_total", "counter", "Requests refused by a rate limit.", rate_limited.load());
    scalar(out, "parley_messages_total", "counter", "Chat messages accepted.", messages_total.load());
    scalar(out, "parley_duplicate_messages_total", "counter", "Resent messages answered with their original ack.",
           duplicate_messages.load());
    broadcast_latency.render(out, "parley_broadcast_latency_seconds", "From decoding a message to queueing it for every member.");
    scalar(out, "parley_writer_backlog", "gauge", "Events waiting to be committed to SQLite.", now.writer_backlog);
    scalar(out, "parley_events_committed_total", "counter", "Events committed to SQLite.", events_committed.load());
    scalar(out, "parley_commits_total", "counter", "SQLite batch transactions committed.", commits.load());
    scalar(out, "parley_commit_failures_total", "counter", "SQLite batch commits that failed and were retried.",
           commit_failures.load());
    commit_latency.render(out, "parley_commit_latency_seconds", "Duration of one batch transaction.");
    header(out, "parley_build_info", "gauge", "The running build: always 1, with its version and commit as labels.");
    append_format(out, "parley_build_info{version=\"%s\",commit=\"%s\"} 1\n", PARLEY_VERSION, PARLEY_COMMIT);
    render_process(out);
    return out;
}

}  // namespace parley::server
