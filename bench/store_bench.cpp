// The batch writer against each engine: how many events per second it
// persists flat out, and how far behind it falls at a fixed rate.
//
//   parley-store-bench --store sqlite:/tmp/x.db|postgres:URL [--events N] [--rate R --seconds S]
//                      [--rows-per-insert K]
//
// Flat out: N message events (100 rooms, 200-byte texts) are pushed at once;
// the figure is N over the time until the last watermark arrives. At a rate:
// R events per second for S seconds, paced per millisecond; the lag of an
// event is the time from its push to the watermark that covers it. Prints
// one line of key=value pairs. The store must be empty (a new file or database).
#include "server/core/log.hpp"
#include "server/core/metrics.hpp"
#include "server/store/batch_writer.hpp"
#include "server/store/migrations.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace parley::server;
using clock_type = std::chrono::steady_clock;

constexpr std::uint32_t rooms = 100;

struct args {
    std::string store;
    std::uint64_t events = 200000;
    std::uint64_t rate = 0;
    double seconds = 10;
    std::size_t rows_per_insert = 0;  // the engine's default
};

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--store") a.store = v;
        else if (k == "--events") a.events = std::stoull(v);
        else if (k == "--rate") a.rate = std::stoull(v);
        else if (k == "--seconds") a.seconds = std::stod(v);
        else if (k == "--rows-per-insert") a.rows_per_insert = std::stoull(v);
        else throw std::invalid_argument("unknown argument " + k);
    }
    if (a.store.empty()) throw std::invalid_argument("--store sqlite:PATH|postgres:URL is required");
    return a;
}

void seed(const store_url& store) {
    auto db = store.open(store_url::access::read_write);
    migrate(*db);
    db->exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(1, 'ana', 'ana', 'x', 0)");
    with_transaction(*db, [&] {
        statement room = db->prepare("INSERT INTO rooms(id, name, title, created_by, created_at) VALUES(?, ?, ?, 1, 0)");
        for (std::uint32_t r = 1; r <= rooms; ++r) {
            room.bind_all(r, "room" + std::to_string(r), "Room");
            room.run();
            room.reset();
        }
    });
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) try {
    const args a = parse(argc, argv);
    log::set_level(log_level::warn);
    const store_url store = store_url::parse(a.store);
    seed(store);

    const std::uint64_t total = a.rate ? static_cast<std::uint64_t>(static_cast<double>(a.rate) * a.seconds) : a.events;
    const std::uint64_t per_room = (total + rooms - 1) / rooms;
    // Push times by (room, seq), for the lag of each watermark.
    std::vector<clock_type::time_point> pushed(static_cast<std::size_t>((rooms + 1) * (per_room + 1)));
    std::mutex mutex;
    std::vector<double> lags_ms;
    std::vector<std::uint64_t> watermark(rooms + 1, 0);
    std::atomic<std::uint64_t> covered{0};

    metrics stats;
    batch_writer::options o;  // the server's defaults: 10 events or 5 s, everything waiting at once
    o.max_rows_per_insert = a.rows_per_insert;
    batch_writer w(store, o, stats, batch_writer::reports{[&](std::uint32_t room, std::uint64_t seq) {
        const auto now = clock_type::now();
        std::lock_guard lock(mutex);
        if (seq <= watermark[room]) return;
        covered += seq - watermark[room];
        watermark[room] = seq;
        lags_ms.push_back(std::chrono::duration<double, std::milli>(now - pushed[room * (per_room + 1) + seq]).count());
    }, nullptr});
    w.start();

    const std::string text(200, 'x');
    const auto started = clock_type::now();
    std::size_t max_backlog = 0;
    for (std::uint64_t i = 0; i < total; ++i) {
        if (a.rate) {
            // Pace per millisecond: event i is due at i / rate seconds.
            const auto due = started + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * static_cast<double>(i) /
                                                                                          static_cast<double>(a.rate)));
            if (clock_type::now() < due) {
                max_backlog = std::max(max_backlog, w.backlog());
                std::this_thread::sleep_until(due);
            }
        }
        const auto room = static_cast<std::uint32_t>(i % rooms + 1);
        const std::uint64_t seq = i / rooms + 1;
        {
            std::lock_guard lock(mutex);
            pushed[room * (per_room + 1) + seq] = clock_type::now();
        }
        w.push(events::message_posted{room, seq, 1, i + 1, text, 1000 + i, 0});
    }
    const auto pushed_all = clock_type::now();
    while (covered.load() < total) std::this_thread::sleep_for(std::chrono::microseconds(200));
    const auto done = clock_type::now();
    w.stop();

    const double secs = std::chrono::duration<double>(done - started).count();
    const auto commits = stats.commits.load();
    std::lock_guard lock(mutex);
    std::printf("store=%s events=%llu rate=%llu seconds=%.2f persisted_per_s=%.0f commits=%llu events_per_commit=%.1f "
                "lag_p50_ms=%.1f lag_p99_ms=%.1f lag_max_ms=%.1f max_backlog=%zu push_s=%.2f rows_per_insert=%zu\n",
                store.kind == store_url::engine::sqlite ? "sqlite" : "postgres", static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(a.rate), secs, static_cast<double>(total) / secs,
                static_cast<unsigned long long>(commits),
                commits ? static_cast<double>(total) / static_cast<double>(commits) : 0.0, percentile(lags_ms, 0.5),
                percentile(lags_ms, 0.99), percentile(lags_ms, 1.0), max_backlog,
                std::chrono::duration<double>(pushed_all - started).count(),
                a.rows_per_insert != 0 ? a.rows_per_insert : batch_writer::default_rows_per_insert);
    return 0;
} catch (const std::exception& e) {
    std::cerr << "parley-store-bench: " << e.what() << "\n";
    return 1;
}
