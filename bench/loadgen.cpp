// parley-loadgen: a load generator for Parley and for plain WebSocket relays.
//
//   parley-loadgen --url ws://127.0.0.1:8080 --clients 1000 --rooms 1 --senders 10 --window 8 --duration 10
//
// MODEL
// C clients connect (Parley mode: each registers or logs in a user over HTTP,
// authenticates with its cookie and joins one of R rooms, round-robin). S of
// them send. In rate mode the senders share an aggregate rate and each message
// is stamped with its *scheduled* send time, so a generator that falls behind
// shows up as latency instead of hiding it; in window mode (--window W) each
// sender keeps W messages in flight, a message leaving flight when its own
// echo comes back: that finds saturation throughput.
//
// MEASUREMENT
// Every delivery (a message arriving at any client, its sender included) is
// timed against its stamp, and checked against the sender's sequence: each
// client sees each sender's messages in order, so a smaller sequence than
// expected is a duplicate and a skipped one is lost. After the run the
// generator waits for the last deliveries and counts everything still missing
// as lost. CPU of the generator (getrusage) and of the server (/proc/PID/stat)
// and the server's RSS (/proc/PID/status) are read at the edges of the
// measured window.
//
// RAW MODE (--raw)
// For baseline relays that broadcast every binary message to every client:
// the same stamps travel in a 16-byte binary header instead of a Parley
// packet, and there are no users or rooms.
//
// OUTPUT
// A progress line per second on stderr, a human summary on stderr, and one
// JSON object on stdout.
#include "protocol/codec.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace parley::protocol;

// ---- options ------------------------------------------------------------------------

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    std::size_t clients = 100;
    std::size_t rooms = 1;
    std::size_t senders = 10;
    double rate = 0;         // aggregate messages per second; 0 = window mode
    std::size_t window = 8;  // messages in flight per sender in window mode
    double duration = 10;    // measured seconds
    double warmup = 2;       // seconds of traffic before measuring
    std::size_t text_bytes = 64;
    bool raw = false;
    bool idle = false;       // connect, join, measure memory, send nothing
    bool storm = false;      // measure connection setup rate only
    double history_rate = 0; // history requests per second during the run
    int server_pid = 0;
    std::string user_prefix;
    unsigned threads = 1;
    std::string label;
};

void usage(const char* error = nullptr) {
    if (error) std::cerr << "parley-loadgen: " << error << "\n";
    std::cerr << "usage: parley-loadgen --url ws://HOST:PORT [--clients C] [--rooms R] [--senders S]\n"
                 "         [--rate MSG_PER_S | --window W] [--duration S] [--warmup S] [--text-bytes N]\n"
                 "         [--raw] [--idle] [--storm] [--history-rate N] [--server-pid PID] [--threads N]\n"
                 "         [--user-prefix P] [--label L]\n"
                 "example: parley-loadgen --url ws://127.0.0.1:8080 --clients 1000 --senders 10 --window 8\n";
}

template <class T>
bool parse_number(std::string_view s, T& out) {
    if constexpr (std::is_floating_point_v<T>) {
        try {
            std::size_t used = 0;
            out = static_cast<T>(std::stod(std::string(s), &used));
            return used == s.size();
        } catch (...) {
            return false;
        }
    } else {
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && end == s.data() + s.size();
    }
}

std::optional<options> parse(int argc, char** argv) {
    options o;
    o.user_prefix = "lg" + std::to_string(::getpid());
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view { return i + 1 < argc ? std::string_view(argv[++i]) : std::string_view(); };
        bool ok = true;
        if (a == "--url") {
            std::string_view u = value();
            if (!u.starts_with("ws://")) return usage("--url must be ws://HOST:PORT"), std::nullopt;
            u.remove_prefix(5);
            u = u.substr(0, u.find('/'));
            const auto colon = u.rfind(':');
            o.host = std::string(u.substr(0, colon));
            ok = colon != std::string_view::npos && parse_number(u.substr(colon + 1), o.port);
        } else if (a == "--clients") ok = parse_number(value(), o.clients);
        else if (a == "--rooms") ok = parse_number(value(), o.rooms);
        else if (a == "--senders") ok = parse_number(value(), o.senders);
        else if (a == "--rate") ok = parse_number(value(), o.rate);
        else if (a == "--window") ok = parse_number(value(), o.window);
        else if (a == "--duration") ok = parse_number(value(), o.duration);
        else if (a == "--warmup") ok = parse_number(value(), o.warmup);
        else if (a == "--text-bytes") ok = parse_number(value(), o.text_bytes);
        else if (a == "--history-rate") ok = parse_number(value(), o.history_rate);
        else if (a == "--server-pid") ok = parse_number(value(), o.server_pid);
        else if (a == "--threads") ok = parse_number(value(), o.threads);
        else if (a == "--user-prefix") o.user_prefix = std::string(value());
        else if (a == "--label") o.label = std::string(value());
        else if (a == "--raw") o.raw = true;
        else if (a == "--idle") o.idle = true;
        else if (a == "--storm") o.storm = true;
        else if (a == "--help") return usage(), std::nullopt;
        else return usage(("unknown option " + std::string(a)).c_str()), std::nullopt;
        if (!ok) return usage(("bad value for " + std::string(a)).c_str()), std::nullopt;
    }
    if (o.clients == 0 || o.rooms == 0 || o.rooms > o.clients || o.senders > o.clients || o.threads == 0 ||
        o.text_bytes < 32 || o.text_bytes > limits::max_text_bytes)
        return usage("need 1 <= rooms <= clients, senders <= clients, 32 <= text-bytes <= 4000"), std::nullopt;
    return o;
}

// ---- process figures -------------------------------------------------------------------

double own_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double process_cpu_seconds(int pid) {
    if (pid <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(stat.substr(close + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt
    double utime = 0, stime = 0;
    fields >> utime >> stime;
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::int64_t process_rss_kib(int pid) {
    if (pid <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6));
    return 0;
}

void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

// ---- stamps: what every test message carries ---------------------------------------------

struct stamp {
    std::uint32_t sender = 0;
    std::uint32_t seq = 0;
    std::int64_t scheduled_ns = 0;  // steady clock, this process
};

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

std::string text_with_stamp(const stamp& s, std::size_t size) {
    std::string t = "s" + std::to_string(s.sender) + ":" + std::to_string(s.seq) + ":" + std::to_string(s.scheduled_ns) + "|";
    t.resize(std::max(size, t.size()), 'x');
    return t;
}

std::optional<stamp> stamp_from_text(std::string_view t) {
    if (t.empty() || t[0] != 's') return std::nullopt;
    stamp s;
    const char* p = t.data() + 1;
    const char* end = t.data() + t.size();
    auto r1 = std::from_chars(p, end, s.sender);
    if (r1.ec != std::errc{} || r1.ptr == end || *r1.ptr != ':') return std::nullopt;
    auto r2 = std::from_chars(r1.ptr + 1, end, s.seq);
    if (r2.ec != std::errc{} || r2.ptr == end || *r2.ptr != ':') return std::nullopt;
    auto r3 = std::from_chars(r2.ptr + 1, end, s.scheduled_ns);
    if (r3.ec != std::errc{}) return std::nullopt;
    return s;
}

std::vector<std::uint8_t> raw_frame(const stamp& s, std::size_t size) {
    std::vector<std::uint8_t> b(std::max<std::size_t>(size, 16), 'x');
    std::memcpy(b.data(), &s.sender, 4);
    std::memcpy(b.data() + 4, &s.seq, 4);
    std::memcpy(b.data() + 8, &s.scheduled_ns, 8);
    return b;
}

// ---- the run -------------------------------------------------------------------------------

struct run_state;

class client : public std::enable_shared_from_this<client> {
public:
    client(net::io_context& io, run_state& run, std::uint32_t index);
    void start(std::string cookie);
    void send_stamped(std::uint32_t seq, std::int64_t scheduled_ns);
    void send_history_request();
    void close();

    const std::uint32_t index;
    std::uint32_t room_slot = 0;
    std::uint32_t room_id = 0;
    bool ready = false;
    std::vector<std::uint32_t> next_seq;  // per sender: the sequence expected next
    std::uint32_t in_flight = 0;
    std::uint32_t sent = 0;

private:
    void on_connect(boost::system::error_code ec);
    void on_handshake(boost::system::error_code ec);
    void do_read();
    void on_read(boost::system::error_code ec, std::size_t);
    void handle(const packet& p);
    void deliver(const stamp& s);
    void write(std::shared_ptr<const std::vector<std::uint8_t>> b);
    void do_write();

    run_state& run_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::string cookie_;
    std::deque<std::shared_ptr<const std::vector<std::uint8_t>>> out_;
    bool writing_ = false;
    bool open_ = false;
};

struct run_state {
    options opt;
    net::io_context io;
    std::vector<std::shared_ptr<client>> clients;
    std::vector<std::uint32_t> sender_clients;     // client index of each sender
    std::vector<std::uint32_t> sent_per_sender;     // messages sent (measured or not)
    std::size_t connected = 0, ready = 0, failed = 0;
    bool measuring = false, sending = false;
    std::int64_t measure_from_ns = 0, measure_to_ns = 0;
    // results
    std::uint64_t deliveries = 0, measured_deliveries = 0, duplicates = 0, lost = 0, disconnects = 0;
    std::uint64_t sent_messages = 0, errors = 0, history_replies = 0;
    std::vector<std::uint32_t> latency_us;          // measured deliveries
    std::vector<std::uint32_t> history_latency_us;
    std::int64_t history_sent_ns = 0;
    std::vector<std::string> cookies;

    std::uint32_t members_in_slot(std::uint32_t slot) const {
        const std::size_t c = opt.clients, r = opt.rooms;
        return static_cast<std::uint32_t>(c / r + (slot < c % r ? 1 : 0));
    }
};

client::client(net::io_context& io, run_state& run, std::uint32_t i) : index(i), run_(run), ws_(io) {
    room_slot = static_cast<std::uint32_t>(i % run.opt.rooms);
}

void client::start(std::string cookie) {
    cookie_ = std::move(cookie);
    next_seq.assign(run_.sender_clients.size(), 0);
    auto& stream = beast::get_lowest_layer(ws_);
    stream.expires_after(std::chrono::seconds(30));
    stream.async_connect(tcp::endpoint(net::ip::make_address(run_.opt.host), run_.opt.port),
                         beast::bind_front_handler(&client::on_connect, shared_from_this()));
}

void client::on_connect(boost::system::error_code ec) {
    if (ec) {
        ++run_.failed;
        return;
    }
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    ws_.set_option(websocket::stream_base::decorator([cookie = cookie_](websocket::request_type& req) {
        if (!cookie.empty()) req.set(beast::http::field::cookie, cookie);
    }));
    ws_.binary(true);
    ws_.read_message_max(limits::max_packet_bytes);
    ws_.async_handshake(run_.opt.host + ":" + std::to_string(run_.opt.port), "/ws",
                        beast::bind_front_handler(&client::on_handshake, shared_from_this()));
}

void client::on_handshake(boost::system::error_code ec) {
    if (ec) {
        ++run_.failed;
        return;
    }
    beast::get_lowest_layer(ws_).expires_never();
    open_ = true;
    ++run_.connected;
    if (run_.opt.raw || run_.opt.storm) {
        ready = true;
        ++run_.ready;
    }
    do_read();
}

void client::do_read() { ws_.async_read(buffer_, beast::bind_front_handler(&client::on_read, shared_from_this())); }

void client::on_read(boost::system::error_code ec, std::size_t) {
    if (ec) {
        if (open_) ++run_.disconnects;
        open_ = false;
        return;
    }
    const auto data = buffer_.cdata();
    const std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(data.data()), data.size());
    if (run_.opt.raw) {
        if (bytes.size() >= 16) {
            stamp s;
            std::memcpy(&s.sender, bytes.data(), 4);
            std::memcpy(&s.seq, bytes.data() + 4, 4);
            std::memcpy(&s.scheduled_ns, bytes.data() + 8, 8);
            deliver(s);
        }
    } else if (auto packets = decode_message(bytes)) {
        for (const auto& p : *packets) handle(p);
    } else {
        ++run_.errors;
    }
    buffer_.consume(buffer_.size());
    do_read();
}

void client::handle(const packet& p) {
    if (auto* m = std::get_if<chat_message>(&p)) {
        if (auto s = stamp_from_text(m->message.text)) deliver(*s);
    } else if (auto* w = std::get_if<welcome>(&p)) {
        (void)w;
        auto b = encode(join_room{"loadgen-" + std::to_string(room_slot), 0});
        write(std::make_shared<const std::vector<std::uint8_t>>(std::move(*b)));
    } else if (auto* j = std::get_if<room_joined>(&p)) {
        room_id = j->room_id;
    } else if (auto* h = std::get_if<history_page>(&p)) {
        if (!ready && h->mode != history_mode::older) {
            ready = true;
            ++run_.ready;
        } else if (h->mode == history_mode::older && run_.history_sent_ns != 0) {
            ++run_.history_replies;
            run_.history_latency_us.push_back(static_cast<std::uint32_t>((now_ns() - run_.history_sent_ns) / 1000));
        }
    } else if (std::holds_alternative<error_report>(p)) {
        ++run_.errors;
    }
}

void client::deliver(const stamp& s) {
    if (s.sender >= next_seq.size()) return;
    ++run_.deliveries;
    std::uint32_t& expected = next_seq[s.sender];
    if (s.seq < expected) {
        ++run_.duplicates;
        return;
    }
    run_.lost += s.seq - expected;  // skipped sequences never come: FIFO per sender
    expected = s.seq + 1;
    const std::int64_t now = now_ns();
    if (run_.measuring && s.scheduled_ns >= run_.measure_from_ns) {
        ++run_.measured_deliveries;
        run_.latency_us.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(0, now - s.scheduled_ns) / 1000));
    }
    // A sender's own echo frees a slot of its window.
    if (run_.sender_clients[s.sender] == index && in_flight > 0) {
        --in_flight;
        if (run_.sending && run_.opt.rate == 0) send_stamped(run_.sent_per_sender[s.sender]++, now_ns());
    }
}

void client::send_stamped(std::uint32_t seq, std::int64_t scheduled_ns) {
    const auto sender = static_cast<std::uint32_t>(
        std::find(run_.sender_clients.begin(), run_.sender_clients.end(), index) - run_.sender_clients.begin());
    const stamp s{sender, seq, scheduled_ns};
    std::vector<std::uint8_t> b;
    if (run_.opt.raw) {
        b = raw_frame(s, run_.opt.text_bytes);
    } else {
        b = *encode(send_message{room_id, (std::uint64_t{index} << 32) + seq + 1, 0, text_with_stamp(s, run_.opt.text_bytes), false});
    }
    ++in_flight;
    ++run_.sent_messages;
    write(std::make_shared<const std::vector<std::uint8_t>>(std::move(b)));
}

void client::send_history_request() {
    run_.history_sent_ns = now_ns();
    write(std::make_shared<const std::vector<std::uint8_t>>(*encode(request_history{room_id, 0, 50})));
}

void client::write(std::shared_ptr<const std::vector<std::uint8_t>> b) {
    out_.push_back(std::move(b));
    if (!writing_) do_write();
}

void client::do_write() {
    if (out_.empty() || !open_) {
        writing_ = false;
        return;
    }
    writing_ = true;
    ws_.async_write(net::buffer(*out_.front()), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        self->out_.pop_front();
        if (ec) {
            self->writing_ = false;
            return;
        }
        self->do_write();
    });
}

void client::close() {
    if (!open_) return;
    open_ = false;
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

// ---- phases ----------------------------------------------------------------------------------

/// Runs the io_context until `done()` holds or `timeout` passes.
template <class Pred>
bool run_until(run_state& r, Pred done, std::chrono::milliseconds timeout, const char* phase) {
    const auto deadline = clock_type::now() + timeout;
    auto next_progress = clock_type::now() + std::chrono::seconds(1);
    while (!done()) {
        if (clock_type::now() >= deadline) {
            std::cerr << "\n" << phase << ": timed out\n";
            return false;
        }
        r.io.run_for(std::chrono::milliseconds(20));
        if (clock_type::now() >= next_progress) {
            next_progress += std::chrono::seconds(1);
            std::cerr << "\r" << phase << ": connected " << r.connected << "/" << r.opt.clients << ", ready " << r.ready
                      << ", deliveries " << r.deliveries << ", lost " << r.lost << ", dup " << r.duplicates << "      "
                      << std::flush;
        }
    }
    return true;
}

std::vector<std::string> sign_in_users(const options& o) {
    std::vector<std::string> cookies(o.clients);
    for (std::size_t i = 0; i < o.clients; ++i)
        cookies[i] = "parley_session=" + parley::testing::sign_up(o.port, o.user_prefix + "-" + std::to_string(i), "loadgen password");
    return cookies;
}

double percentile(std::vector<std::uint32_t>& v, double p) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k] / 1000.0;  // milliseconds
}

void schedule_rate_sends(run_state& r, net::steady_timer& timer, std::int64_t start_ns, std::int64_t interval_ns,
                         std::size_t tick) {
    // Each tick sends, for every sender, the messages whose scheduled time has
    // come: scheduled = start + k * interval, whatever the generator's delays.
    const std::int64_t now = now_ns();
    for (std::size_t s = 0; s < r.sender_clients.size(); ++s) {
        auto& c = *r.clients[r.sender_clients[s]];
        const std::int64_t offset = static_cast<std::int64_t>(s) * interval_ns / static_cast<std::int64_t>(r.sender_clients.size());
        while (r.sending) {
            const std::int64_t due = start_ns + offset + static_cast<std::int64_t>(r.sent_per_sender[s]) * interval_ns;
            if (due > now) break;
            c.send_stamped(r.sent_per_sender[s]++, due);
        }
    }
    if (!r.sending) return;
    timer.expires_after(std::chrono::microseconds(500));
    timer.async_wait([&r, &timer, start_ns, interval_ns, tick](boost::system::error_code ec) {
        if (!ec) schedule_rate_sends(r, timer, start_ns, interval_ns, tick + 1);
    });
}

}  // namespace

int main(int argc, char** argv) {
    auto parsed = parse(argc, argv);
    if (!parsed) return 2;
    raise_fd_limit();
    run_state r;
    r.opt = *parsed;
    const options& o = r.opt;

    // Senders: spread over the rooms, one per room first.
    for (std::size_t s = 0; s < o.senders; ++s) r.sender_clients.push_back(static_cast<std::uint32_t>(s % o.clients));
    r.sent_per_sender.assign(o.senders, 0);

    if (!o.raw && !o.storm) {
        std::cerr << "signing in " << o.clients << " users...\n";
        r.cookies = sign_in_users(o);
    } else {
        r.cookies.assign(o.clients, "");
    }
    const std::int64_t rss_before = process_rss_kib(o.server_pid);

    // Connect everyone (at most 256 handshakes in flight).
    const auto connect_started = clock_type::now();
    std::size_t launched = 0;
    r.clients.reserve(o.clients);
    for (std::uint32_t i = 0; i < o.clients; ++i) r.clients.push_back(std::make_shared<client>(r.io, r, i));
    const bool connected = run_until(
        r,
        [&] {
            while (launched < o.clients && launched - r.ready - r.failed < 256) {
                r.clients[launched]->start(r.cookies[launched]);
                ++launched;
            }
            return r.ready + r.failed >= o.clients;
        },
        std::chrono::seconds(120), "connecting");
    const double connect_seconds = std::chrono::duration<double>(clock_type::now() - connect_started).count();
    std::cerr << "\n";
    if (!connected || r.failed > 0) {
        std::cerr << "only " << r.ready << " of " << o.clients << " clients became ready (" << r.failed << " failed)\n";
        return 1;
    }

    nlohmann::ordered_json out;
    out["label"] = o.label;
    out["mode"] = o.raw ? "raw" : "parley";
    out["clients"] = o.clients;
    out["rooms"] = o.rooms;
    out["senders"] = o.senders;

    if (o.storm || o.idle) {
        // Let the server settle, then read its memory.
        run_until(r, [] { return false; }, std::chrono::milliseconds(o.idle ? 3000 : 200), "settling");
        const std::int64_t rss_after = process_rss_kib(o.server_pid);
        out["scenario"] = o.idle ? "idle" : "storm";
        out["connect_seconds"] = connect_seconds;
        out["connections_per_second"] = static_cast<double>(o.clients) / connect_seconds;
        out["server_rss_kib_before"] = rss_before;
        out["server_rss_kib_after"] = rss_after;
        out["server_rss_per_connection_kib"] = static_cast<double>(rss_after - rss_before) / static_cast<double>(o.clients);
        std::cerr << "\n" << o.clients << " connections in " << connect_seconds << " s ("
                  << out["connections_per_second"].get<double>() << "/s); server RSS " << rss_before << " -> " << rss_after
                  << " KiB (" << out["server_rss_per_connection_kib"].get<double>() << " KiB per connection)\n";
        std::cout << out.dump() << std::endl;
        for (auto& c : r.clients) c->close();
        return 0;
    }

    // Traffic: warm-up, then the measured window.
    r.sending = true;
    net::steady_timer timer(r.io);
    const std::int64_t start_ns = now_ns();
    if (o.rate > 0) {
        const double per_sender = o.rate / static_cast<double>(o.senders);
        schedule_rate_sends(r, timer, start_ns, static_cast<std::int64_t>(1e9 / per_sender), 0);
    } else {
        for (std::size_t s = 0; s < o.senders; ++s)
            for (std::size_t w = 0; w < o.window; ++w) r.clients[r.sender_clients[s]]->send_stamped(r.sent_per_sender[s]++, now_ns());
    }
    net::steady_timer history_timer(r.io);
    std::function<void()> next_history = [&] {
        if (o.history_rate <= 0 || !r.sending) return;
        r.clients[(r.history_replies * 7919) % o.clients]->send_history_request();
        history_timer.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(1e6 / o.history_rate)));
        history_timer.async_wait([&](boost::system::error_code ec) {
            if (!ec) next_history();
        });
    };
    next_history();

    const auto warm_until = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.warmup));
    run_until(r, [&] { return clock_type::now() >= warm_until; }, std::chrono::seconds(600), "warm-up");
    r.measuring = true;
    r.measure_from_ns = now_ns();
    const std::uint64_t deliveries_at_start = r.deliveries;
    const double gen_cpu0 = own_cpu_seconds(), srv_cpu0 = process_cpu_seconds(o.server_pid);
    const auto measure_until = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.duration));
    run_until(r, [&] { return clock_type::now() >= measure_until; }, std::chrono::seconds(600), "measuring");
    const double elapsed = static_cast<double>(now_ns() - r.measure_from_ns) / 1e9;
    const std::uint64_t window_deliveries = r.deliveries - deliveries_at_start;
    const double gen_cpu = own_cpu_seconds() - gen_cpu0, srv_cpu = process_cpu_seconds(o.server_pid) - srv_cpu0;
    const std::int64_t rss_after = process_rss_kib(o.server_pid);

    // Stop sending; wait for what is still on its way, then count the rest as lost.
    r.sending = false;
    timer.cancel();
    history_timer.cancel();
    std::uint64_t expected = 0;
    for (std::size_t s = 0; s < o.senders; ++s)
        expected += std::uint64_t{r.sent_per_sender[s]} * r.members_in_slot(r.clients[r.sender_clients[s]]->room_slot);
    if (o.raw) expected = r.sent_messages * o.clients;
    run_until(r, [&] { return r.deliveries - r.duplicates >= expected; }, std::chrono::seconds(30), "draining");
    std::cerr << "\n";
    std::uint64_t missing = 0;
    for (const auto& c : r.clients)
        for (std::size_t s = 0; s < o.senders; ++s)
            if (o.raw || r.clients[r.sender_clients[s]]->room_slot == c->room_slot)
                missing += r.sent_per_sender[s] - c->next_seq[s];
    r.lost += missing;

    out["scenario"] = o.rate > 0 ? "rate" : "saturation";
    out["rate"] = o.rate;
    out["window"] = o.rate > 0 ? 0 : o.window;
    out["seconds"] = elapsed;
    out["messages_sent"] = r.sent_messages;
    out["deliveries_per_second"] = static_cast<double>(window_deliveries) / elapsed;
    out["latency_ms"] = {{"p50", percentile(r.latency_us, 50)},
                         {"p90", percentile(r.latency_us, 90)},
                         {"p99", percentile(r.latency_us, 99)},
                         {"max", r.latency_us.empty() ? 0.0 : *std::max_element(r.latency_us.begin(), r.latency_us.end()) / 1000.0}};
    out["lost"] = r.lost;
    out["duplicated"] = r.duplicates;
    out["disconnects"] = r.disconnects;
    out["errors"] = r.errors;
    out["generator_cpu_seconds"] = gen_cpu;
    out["generator_cpu_share"] = gen_cpu / elapsed;
    out["server_cpu_seconds"] = srv_cpu;
    out["server_cpu_share"] = srv_cpu / elapsed;
    out["server_cpu_us_per_delivery"] = window_deliveries ? srv_cpu * 1e6 / static_cast<double>(window_deliveries) : 0.0;
    out["server_rss_kib"] = rss_after;
    if (o.history_rate > 0)
        out["history_ms"] = {{"requests", r.history_replies},
                             {"p50", percentile(r.history_latency_us, 50)},
                             {"p99", percentile(r.history_latency_us, 99)}};

    std::cerr << (o.label.empty() ? std::string("run") : o.label) << ": " << out["deliveries_per_second"].get<double>()
              << " deliveries/s over " << elapsed << " s; latency ms p50 " << out["latency_ms"]["p50"] << " p90 "
              << out["latency_ms"]["p90"] << " p99 " << out["latency_ms"]["p99"] << " max " << out["latency_ms"]["max"]
              << "; lost " << r.lost << ", duplicated " << r.duplicates << ", disconnects " << r.disconnects
              << "; server CPU " << out["server_cpu_us_per_delivery"].get<double>() << " us/delivery ("
              << out["server_cpu_share"].get<double>() * 100 << "% of a core), generator CPU "
              << out["generator_cpu_share"].get<double>() * 100 << "%\n";
    std::cout << out.dump() << std::endl;
    for (auto& c : r.clients) c->close();
    return (r.lost == 0 && r.duplicates == 0 && r.disconnects == 0) ? 0 : 3;
}
