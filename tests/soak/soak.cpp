// parley-soak: the real parley binary under a long, mixed, seeded load, then
// its memory and its database judged against what every client saw.
//
// ## Scenario
// --clients connections (default 40) of users u00.. (the first ones have
// two connections each) in --rooms rooms (default 8). Each client runs on
// its own thread with its own PRNG, seeded from --seed and its index: it
// sends, edits and deletes its messages, sets reactions on and off, joins
// and leaves rooms, reconnects cleanly and kills its TCP connection, with
// random think times, inside the rate limits welcome announced
// (soak_client.hpp). What it does depends on the seed; when it does it
// depends on the machine, so the checks never depend on timing.
//
// ## Phases
// 1. Load for --seconds; the server's RSS is read every 5 s.
// 2. Settle: every client waits until its outbox is acknowledged and
//    persisted. Then nothing changes any more: a probe reads each room's
//    last seq (and that the whole of it is persisted), and every client
//    waits until its views show that seq.
// 3. SIGTERM: the server drains its writer and must exit with status 0.
// 4. Checks (soak_check.hpp) and the memory rule (check_memory); a summary.
//    Any violation makes the exit status 1, each one printed.
#include "tests/soak/soak_check.hpp"
#include "tests/soak/soak_client.hpp"
#include "tests/support/live_server.hpp"

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

namespace {

using namespace parley;
using namespace parley::soak;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct options {
    int seconds = 600;
    std::uint64_t seed = 0;
    int clients = 40;
    int rooms = 8;
};

constexpr auto sample_every = 5s;
constexpr auto settle_time = 60s;
constexpr auto catch_up_time = 30s;

int usage(const std::string& why) {
    std::cerr << why << "\nusage: parley-soak [--seconds N] [--seed S] [--clients N] [--rooms N]\n"
              << "example: parley-soak --seconds 60 --seed 42\n";
    return 2;
}

std::optional<options> parse(int argc, char** argv) {
    options o;
    o.seed = std::random_device{}();
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return std::nullopt;
        const std::string v = argv[++i];
        try {
            if (a == "--seconds") o.seconds = std::stoi(v);
            else if (a == "--seed") o.seed = std::stoull(v);
            else if (a == "--clients") o.clients = std::stoi(v);
            else if (a == "--rooms") o.rooms = std::stoi(v);
            else return std::nullopt;
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    if (o.seconds < 1 || o.clients < 1 || o.clients > 250 || o.rooms < 1) return std::nullopt;
    return o;
}

double rss_mib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
    return 0;
}

/// Reads the server's RSS every 5 s on its own thread, until stopped.
class rss_sampler {
public:
    explicit rss_sampler(int pid) : pid_(pid), started_(clock_type::now()) {
        thread_ = std::thread([this] { loop(); });
    }
    ~rss_sampler() { stop(); }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }
    const std::vector<double>& samples() const { return samples_; }

private:
    void loop() {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, sample_every, [this] { return stopping_; })) {
            const double mib = rss_mib(pid_);
            samples_.push_back(mib);
            const auto t = std::chrono::duration_cast<std::chrono::seconds>(clock_type::now() - started_).count();
            std::cout << "rss t=" << std::setw(4) << t << "s " << std::fixed << std::setprecision(1) << mib << " MiB"
                      << std::endl;
        }
    }
    int pid_;
    clock_type::time_point started_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::vector<double> samples_;
    std::thread thread_;
};

// Memory must be flat after warm-up, judged by the share of the run, not by
// the clock. The samples fall in thirds: the first is warm-up (room caches,
// SQLite's page cache and the allocator's arenas filling), the middle one is
// the reference, and the maximum of the last may exceed the middle's maximum
// by at most 30 % plus 8 MiB. A leak grows in proportion to the work done,
// so it shows as "last above middle" by what leaked in a third of the run,
// whatever the run's length; 30 % absorbs allocator noise and bounded
// caches that are still filling (8 rooms x 500 messages is well under 8 MiB),
// and 8 MiB keeps a small process from failing on a few pages.
void check_memory(const std::vector<double>& s, violation_log& v) {
    if (s.size() < 6) {
        std::cout << "memory: " << s.size() << " samples, too few to judge (6 needed)\n";
        return;
    }
    const std::size_t third = s.size() / 3;
    const double middle = *std::max_element(s.begin() + static_cast<std::ptrdiff_t>(third),
                                            s.begin() + static_cast<std::ptrdiff_t>(2 * third));
    const double last = *std::max_element(s.begin() + static_cast<std::ptrdiff_t>(2 * third), s.end());
    const double bound = 1.3 * middle + 8;
    std::cout << std::fixed << std::setprecision(1) << "memory: max RSS middle third " << middle << " MiB, last third "
              << last << " MiB, bound " << bound << " MiB\n";
    if (last > bound) {
        std::ostringstream m;
        m << std::fixed << std::setprecision(1) << "memory grows: max RSS of the last third " << last
          << " MiB exceeds 1.3 x " << middle << " + 8 MiB = " << bound << " MiB";
        v.add(m.str());
    }
}

struct probe_result {
    std::map<std::string, std::uint64_t> last;
};

// After the settle phase nothing changes any more: a fresh connection reads
// each room's last seq, and all of it must already be on disk.
probe_result probe_rooms(testing::live_server& srv, const std::vector<std::string>& rooms, violation_log& v) {
    probe_result r;
    testing::ws_options o;
    o.port = srv.port();
    o.headers["Cookie"] = "parley_session=" + srv.token("soak-probe");
    testing::ws_client c(o);
    c.wait_for<protocol::welcome>(10s);
    for (const auto& room : rooms) {
        c.send(protocol::join_room{room, 0, 0});
        const auto j = c.wait_for<protocol::room_joined>([&](const auto& x) { return x.room == room; }, 15s);
        r.last[room] = j.last_seq;
        if (j.persisted_seq != j.last_seq)
            v.add("room " + room + ": persisted_seq " + std::to_string(j.persisted_seq) + " < last_seq " +
                  std::to_string(j.last_seq) + " after every outbox was confirmed");
    }
    return r;
}

std::vector<std::unique_ptr<soak_client>> make_clients(testing::live_server& srv, const options& o,
                                                       const std::vector<std::string>& rooms,
                                                       std::map<std::string, rate_budget>& budgets, soak_stats& stats,
                                                       violation_log& v) {
    // Two connections for the first users: users = clients * 0.7 (28 of 40).
    const int users = std::max(1, o.clients * 7 / 10);
    std::vector<std::unique_ptr<soak_client>> clients;
    for (int i = 0; i < o.clients; ++i) {
        client_setup s;
        s.index = i;
        std::ostringstream name;
        name << "u" << std::setw(2) << std::setfill('0') << (i % users);
        s.username = name.str();
        s.token = srv.token(s.username);  // registered here, on one thread
        s.from = "127.0.1." + std::to_string(i + 1);
        s.port = srv.port();
        s.rooms = rooms;
        s.budget = &budgets[s.username];
        std::seed_seq seq{o.seed, static_cast<std::uint64_t>(i)};
        std::mt19937_64 mix(seq);
        s.seed = mix();
        clients.push_back(std::make_unique<soak_client>(std::move(s), stats, v));
    }
    return clients;
}

// The server logs at level warn: each line is worth a look, though only
// the checks decide. Prints how many there were and the first few.
void print_server_log(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::cout << "server log: " << lines.size() << " warning/error line(s)\n";
    for (std::size_t i = 0; i < lines.size() && i < 5; ++i) std::cout << "  " << lines[i] << "\n";
}

void print_summary(const soak_stats& s, const check_counts& n, const std::vector<double>& rss, double start_rss,
                   double seconds, std::size_t violations) {
    std::cout << std::fixed << std::setprecision(1) << "\n== soak summary (" << seconds << " s)\n"
              << "operations: sends " << s.sends << ", edits " << s.edits << ", deletes " << s.deletes
              << ", reactions " << s.reactions << ", joins " << s.joins << ", leaves " << s.leaves << "\n"
              << "connections: clean reconnects " << s.reconnects << ", abrupt kills " << s.kills << ", resends "
              << s.resends << ", resets " << s.resets << ", latest pages " << s.latest_pages << "\n"
              << "answers: acks " << s.acks << " (" << s.noop_acks << " changed nothing), events applied " << s.events
              << ", races (message deleted meanwhile) " << s.races << ", busy retries " << s.busy << "\n"
              << "database: rooms " << n.rooms << ", messages " << n.messages << ", changes " << n.changes
              << "; checked " << n.views << " views (" << n.view_messages << " messages), " << n.acked
              << " acknowledged changes\n"
              << "server RSS: before load " << start_rss << " MiB, first sample " << (rss.empty() ? 0 : rss.front())
              << " MiB, last " << (rss.empty() ? 0 : rss.back()) << " MiB, max "
              << (rss.empty() ? 0 : *std::max_element(rss.begin(), rss.end())) << " MiB\n"
              << (violations == 0 ? "PASS" : "FAIL: " + std::to_string(violations) + " violation(s)") << std::endl;
}

int run(const options& o) {
    std::cout << "parley-soak: seed " << o.seed << ", " << o.seconds << " s, " << o.clients << " clients, " << o.rooms
              << " rooms (rerun with --seed " << o.seed << ")" << std::endl;
    // Registrations come from one address, and every client may create rooms.
    testing::live_server srv({"--auth-rate", "1000/1000", "--rooms-per-hour", "100000"});
    std::vector<std::string> rooms;
    for (int i = 0; i < o.rooms; ++i) rooms.push_back("soak-" + std::to_string(i));
    soak_stats stats;
    violation_log violations;
    std::map<std::string, rate_budget> budgets;
    auto clients = make_clients(srv, o, rooms, budgets, stats, violations);
    const double start_rss = rss_mib(srv.pid());

    const auto started = clock_type::now();
    const auto until = started + std::chrono::seconds(o.seconds);
    rss_sampler sampler(srv.pid());
    std::vector<std::thread> threads;
    for (auto& c : clients) threads.emplace_back([&c, until] { c->run(until, settle_time); });
    for (auto& t : threads) t.join();
    sampler.stop();
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();

    try {
        const auto probe = probe_rooms(srv, rooms, violations);
        for (auto& c : clients) c->catch_up(probe.last, catch_up_time);
    } catch (const std::exception& e) {
        violations.add(std::string("probe failed: ") + e.what());
    }
    const int status = srv.stop(SIGTERM);
    if (status != 0) violations.add("the server exited with status " + std::to_string(status) + " after SIGTERM");
    check_counts counts;
    try {
        counts = check_database(srv.data_dir() / "parley.db", clients, violations);
    } catch (const std::exception& e) {
        violations.add(std::string("database check failed: ") + e.what());
    }
    check_memory(sampler.samples(), violations);
    print_server_log(srv.log_path());
    print_summary(stats, counts, sampler.samples(), start_rss, seconds, violations.count());
    const auto all = violations.all();
    for (std::size_t i = 0; i < all.size() && i < 200; ++i) std::cout << "violation: " << all[i] << "\n";
    if (!all.empty()) {  // the data directory goes away with srv: keep its log
        std::error_code ec;
        std::filesystem::copy_file(srv.log_path(), "parley-soak-server.log",
                                   std::filesystem::copy_options::overwrite_existing, ec);
        std::cout << "server log copied to " << (std::filesystem::current_path() / "parley-soak-server.log") << "\n";
    }
    return all.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const auto o = parse(argc, argv);
    if (!o) return usage("parley-soak: bad arguments");
    try {
        return run(*o);
    } catch (const std::exception& e) {
        std::cerr << "parley-soak: " << e.what() << std::endl;
        return 1;
    }
}
