// parley-loadgen: a load generator for Parley and for the peers it is compared with.
//
//   parley-loadgen --url ws://127.0.0.1:8080 --clients 1000 --rooms 1 --senders 10 --window 8 --duration 10 --threads 2
//
// MODEL
// C clients connect (Parley mode: each registers or logs in a user over HTTP,
// authenticates with its cookie and joins one of R rooms, round-robin). S of
// them send: sender s is client s, so the senders spread over the rooms and
// the threads like everyone else. In rate mode the senders share an
// aggregate rate and each message is stamped with its *scheduled* send time,
// so a generator that falls behind shows up as latency instead of hiding it;
// in window mode (--window W) each sender keeps W messages in flight, a
// message leaving flight when its own echo comes back: that finds saturation
// throughput.
//
// THREADS (--threads N)
// Client i lives on shard i % N: an io_context run by one thread of its own,
// which alone touches the shard's clients and writes the shard's figures.
// Everything a client does stays on its shard (a sender's echo, which frees
// its window, comes back to the sender itself), so shards share nothing on
// the hot path but the start of the measured window, written once. The main
// thread only orchestrates: it posts start and stop to every shard, reads
// their counters (single-writer relaxed atomics) for progress and phase
// ends, and merges their latency samples after the threads have stopped, so
// the percentiles are those of one list of every measured delivery, as with
// one thread.
//
// MEASUREMENT
// Every delivery (a message arriving at any client, its sender included) is
// timed against its stamp, and checked against the sender's sequence: each
// client sees each sender's messages in order, so a smaller sequence than
// expected is a duplicate and a skipped one is lost. After the run the
// generator waits for the last deliveries and counts everything still missing
// as lost. CPU of the generator (getrusage, the whole process; and per shard
// thread, so a saturated thread shows even when the process is not) and of
// the server (/proc/PID/stat) and the server's RSS (/proc/PID/status) are read
// at the edges of the measured window.
//
// DECODE
// The generator is not the server: it trusts what it reads. A Parley message
// is walked by its packets' headers alone (no CRC); a chat_message's stamp is
// read in place from its text field; the packets the generator acts on
// (welcome, room_joined, history_page, error_report, and compressed
// chat_messages) are decoded in full, and the rest (acks, watermarks,
// presence) skipped unread.
//
// WIRES OF THE PEERS (for relays that broadcast every message to every client)
//   --raw              the stamp travels in a 16-byte binary header (sender,
//                      seq, scheduled ns; padded to --text-bytes) in a binary
//                      frame of its own (ws_relay.js, beast_relay.cpp);
//   --length-prefixed  the same frames out, but each frame in holds one or
//                      more messages, each after its length as 4 bytes
//                      little-endian (go_hub/main.go joins what is queued);
//   --socketio         Engine.IO v4 / Socket.IO v5 over a WebSocket to
//                      /socket.io/?EIO=4&transport=websocket (socketio_relay.js).
// None of them has users or rooms.
//
// OUTPUT
// A progress line per second on stderr, a human summary on stderr, and one
// JSON object on stdout.
#include "protocol/codec.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <nlohmann/json.hpp>

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
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
using namespace std::chrono_literals;
using namespace parley::protocol;

// ---- options ------------------------------------------------------------------------

/// What the server speaks: Parley's protocol, or one of the peers' wires.
enum class wire_mode { parley, raw, length_prefixed, socketio };

const char* wire_name(wire_mode w) {
    switch (w) {
        case wire_mode::parley: return "parley";
        case wire_mode::raw: return "raw";
        case wire_mode::length_prefixed: return "length-prefixed";
        case wire_mode::socketio: return "socketio";
    }
    return "?";
}

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
    wire_mode wire = wire_mode::parley;
    bool idle = false;       // connect, join, measure memory, send nothing
    bool storm = false;      // measure connection setup rate only
    double history_rate = 0; // history requests per second during the run
    int server_pid = 0;
    std::string user_prefix;
    unsigned threads = 1;    // generator threads, each with its own io_context
    std::string label;

    bool peer() const { return wire != wire_mode::parley; }
};

/// At most this many clients between connect and ready at once (all threads).
constexpr std::size_t max_handshakes_in_flight = 256;
constexpr unsigned max_threads = 64;

void usage(const char* error = nullptr) {
    if (error) std::cerr << "parley-loadgen: " << error << "\n";
    std::cerr << "usage: parley-loadgen --url ws://HOST:PORT [--clients C] [--rooms R] [--senders S]\n"
                 "         [--rate MSG_PER_S | --window W] [--duration S] [--warmup S] [--text-bytes N]\n"
                 "         [--raw | --length-prefixed | --socketio] [--idle] [--storm] [--history-rate N]\n"
                 "         [--server-pid PID] [--threads N] [--user-prefix P] [--label L]\n"
                 "example: parley-loadgen --url ws://127.0.0.1:8080 --clients 1000 --senders 10 --window 8 --threads 2\n";
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

bool parse_url(std::string_view u, options& o) {
    if (!u.starts_with("ws://")) return false;
    u.remove_prefix(5);
    u = u.substr(0, u.find('/'));
    const auto colon = u.rfind(':');
    if (colon == std::string_view::npos) return false;
    o.host = std::string(u.substr(0, colon));
    return parse_number(u.substr(colon + 1), o.port);
}

std::optional<options> parse(int argc, char** argv) {
    options o;
    o.user_prefix = "lg" + std::to_string(::getpid());
    int wires = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view { return i + 1 < argc ? std::string_view(argv[++i]) : std::string_view(); };
        auto set_wire = [&](wire_mode w) { o.wire = w, ++wires; };
        bool ok = true;
        if (a == "--url") ok = parse_url(value(), o);
        else if (a == "--clients") ok = parse_number(value(), o.clients);
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
        else if (a == "--raw") set_wire(wire_mode::raw);
        else if (a == "--length-prefixed") set_wire(wire_mode::length_prefixed);
        else if (a == "--socketio") set_wire(wire_mode::socketio);
        else if (a == "--idle") o.idle = true;
        else if (a == "--storm") o.storm = true;
        else if (a == "--help") return usage(), std::nullopt;
        else return usage(("unknown option " + std::string(a)).c_str()), std::nullopt;
        if (!ok) return usage(("bad value for " + std::string(a)).c_str()), std::nullopt;
    }
    if (wires > 1) return usage("choose one of --raw, --length-prefixed, --socketio"), std::nullopt;
    if (o.clients == 0 || o.rooms == 0 || o.rooms > o.clients || o.senders > o.clients || o.threads == 0 ||
        o.threads > max_threads || o.text_bytes < 32 || o.text_bytes > limits::max_text_bytes)
        return usage("need 1 <= rooms <= clients, senders <= clients, 1 <= threads <= 64, 32 <= text-bytes <= 4000"),
               std::nullopt;
    o.threads = static_cast<unsigned>(std::min<std::size_t>(o.threads, o.clients));
    return o;
}

// ---- process figures -------------------------------------------------------------------

double own_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// CPU seconds of one thread, by the clock pthread_getcpuclockid gave for it.
double thread_cpu_seconds(clockid_t cpu_clock) {
    timespec ts{};
    if (clock_gettime(cpu_clock, &ts) != 0) return 0;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
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

constexpr std::size_t raw_header_bytes = 16;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

// Parley: the stamp as the start of the message text, "s<sender>:<seq>:<ns>|xxx...".
std::string text_with_stamp(const stamp& s, std::size_t size) {
    std::string t = "s";
    t.append(std::to_string(s.sender)).append(":").append(std::to_string(s.seq)).append(":");
    t.append(std::to_string(s.scheduled_ns)).append("|");
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

// Peers: the stamp as a 16-byte binary header (host order: both ends are this process).
std::vector<std::uint8_t> raw_frame(const stamp& s, std::size_t size) {
    std::vector<std::uint8_t> b(std::max(size, raw_header_bytes), 'x');
    std::memcpy(b.data(), &s.sender, 4);
    std::memcpy(b.data() + 4, &s.seq, 4);
    std::memcpy(b.data() + 8, &s.scheduled_ns, 8);
    return b;
}

stamp stamp_from_raw_header(const std::uint8_t* p) {
    stamp s;
    std::memcpy(&s.sender, p, 4);
    std::memcpy(&s.seq, p + 4, 4);
    std::memcpy(&s.scheduled_ns, p + 8, 8);
    return s;
}

// Socket.IO: what a typical chat app does, `socket.emit("m", text)` with a
// string; the text is the hex of the raw header, padded to --text-bytes.
// On the wire: Engine.IO message '4', Socket.IO EVENT '2', the JSON array.
constexpr std::string_view socketio_event_prefix = "42[\"m\",\"";

std::vector<std::uint8_t> socketio_event(const stamp& s, std::size_t size) {
    static constexpr char hex[] = "0123456789abcdef";
    const auto header = raw_frame(s, raw_header_bytes);
    std::vector<std::uint8_t> b(socketio_event_prefix.begin(), socketio_event_prefix.end());
    for (const std::uint8_t byte : header) {
        b.push_back(static_cast<std::uint8_t>(hex[byte >> 4]));
        b.push_back(static_cast<std::uint8_t>(hex[byte & 0xF]));
    }
    b.resize(socketio_event_prefix.size() + std::max(size, 2 * raw_header_bytes), 'x');
    b.push_back('"');
    b.push_back(']');
    return b;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::optional<stamp> stamp_from_socketio_event(std::string_view m) {
    m.remove_prefix(socketio_event_prefix.size());
    if (m.size() < 2 * raw_header_bytes) return std::nullopt;
    std::uint8_t header[raw_header_bytes];
    for (std::size_t i = 0; i < raw_header_bytes; ++i) {
        const int hi = hex_value(m[2 * i]), lo = hex_value(m[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        header[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return stamp_from_raw_header(header);
}

/// Reads payload fields in place for the hot path: varints and strings
/// skipped or viewed with bounds checks, and no other check (UTF-8, ranges,
/// shortest form: the server made them already).
class field_reader {
public:
    explicit field_reader(std::span<const std::uint8_t> in) : in_(in) {}

    bool skip_varints(int count) {
        for (; count > 0; --count) {
            do {
                if (at_ >= in_.size()) return false;
            } while (in_[at_++] & 0x80);
        }
        return true;
    }

    std::optional<std::string_view> read_string() {
        std::size_t length = 0;
        for (unsigned shift = 0;; shift += 7) {
            if (at_ >= in_.size() || shift > 28) return std::nullopt;
            const std::uint8_t byte = in_[at_++];
            length |= std::size_t{byte & 0x7Fu} << shift;
            if ((byte & 0x80) == 0) break;
        }
        if (length > in_.size() - at_) return std::nullopt;
        const std::string_view s(reinterpret_cast<const char*>(in_.data() + at_), length);
        at_ += length;
        return s;
    }

private:
    std::span<const std::uint8_t> in_;
    std::size_t at_ = 0;
};

/// The stamp in an uncompressed chat_message payload: room_id, then the
/// message_record's seq, author_id, author, client_msg_id, sent_at,
/// edited_at, reply_to, deleted, deleted_by and text (docs/protocol.md 10.5, 11.3).
std::optional<stamp> stamp_from_chat_message(std::span<const std::uint8_t> payload) {
    field_reader f(payload);
    if (!f.skip_varints(3) || !f.read_string() || !f.skip_varints(6)) return std::nullopt;
    const auto text = f.read_string();
    return text ? stamp_from_text(*text) : std::nullopt;
}

// ---- shards and clients ------------------------------------------------------------------

/// A count that one thread writes and any thread may read: relaxed loads and
/// stores, no read-modify-write, so the hot path pays nothing for it.
class counter {
public:
    void add(std::uint64_t n = 1) noexcept { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

/// What every shard reads and none changes during traffic, and the start of
/// the measured window, which the main thread sets once.
struct run_config {
    options opt;
    std::vector<std::string> cookies;          // per client; empty for peers and storms
    std::int64_t traffic_start_ns = 0;         // rate mode's schedule starts here
    std::atomic<std::int64_t> measure_from_ns{0};  // 0 until the measured window opens

    std::uint32_t members_in_slot(std::uint32_t slot) const {
        const std::size_t c = opt.clients, r = opt.rooms;
        return static_cast<std::uint32_t>(c / r + (slot < c % r ? 1 : 0));
    }
    std::int64_t rate_interval_ns() const { return static_cast<std::int64_t>(1e9 * static_cast<double>(opt.senders) / opt.rate); }
};

class client;

// A plain socket on the shard's own executor type: no type-erased executor
// and no timer per operation on the hot path (the connect phase has its own
// deadline).
using socket_type = net::basic_stream_socket<tcp, net::io_context::executor_type>;

/// One thread's share of the clients (client i lives on shard i % threads):
/// its io_context, and what its clients count. Only the shard's thread
/// touches its clients and writes its figures; the main thread reads the
/// counters while it runs, and the rest after the thread has stopped.
struct shard {
    shard(const run_config& c, unsigned i) : cfg(c), index(i) {}

    void run_thread();
    void launch_clients();
    void on_client_settled();
    void start_traffic();
    void stop_traffic();
    void send_due_messages();
    void send_history_request();

    const run_config& cfg;
    const unsigned index;
    net::io_context io{1};
    net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
    net::steady_timer rate_timer{io}, history_timer{io};
    std::vector<std::shared_ptr<client>> clients;
    std::vector<client*> senders;  // this shard's senders, in sender order
    std::size_t launched = 0;
    std::uint64_t history_requests = 0;
    bool sending = false;

    counter connected, ready, failed, deliveries, duplicates, lost, disconnects, sent_messages, errors, history_replies;
    std::atomic<std::int64_t> last_settled_ns{0};  // when the last client became ready or failed
    std::vector<std::uint32_t> latency_us;         // measured deliveries
    std::vector<std::uint32_t> history_latency_us;
    std::thread thread;
    clockid_t cpu_clock{};
};

class client : public std::enable_shared_from_this<client> {
public:
    client(shard& home, std::uint32_t i);
    void start();
    void send_next(std::int64_t scheduled_ns);
    void send_history_request();
    void close();

    const std::uint32_t index;  // also the sender number, when index < senders
    const std::uint32_t room_slot;
    std::uint32_t room_id = 0;
    bool ready = false;
    std::vector<std::uint32_t> next_seq;  // per sender: the sequence expected next
    std::uint32_t in_flight = 0;
    std::uint32_t sent = 0;  // as a sender: messages sent, so the next one's sequence

private:
    void on_connect(boost::system::error_code ec);
    void on_handshake(boost::system::error_code ec);
    void do_read();
    void on_read(boost::system::error_code ec, std::size_t);
    void on_parley_message(std::span<const std::uint8_t> bytes);
    void on_parley_packet(const header_view& h, std::span<const std::uint8_t> bytes);
    void handle(const packet& p);
    void on_length_prefixed_message(std::span<const std::uint8_t> bytes);
    void on_socketio_message(std::string_view m);
    void become_ready();
    void fail();
    void deliver(const stamp& s);
    void write_text(std::string_view text);
    void write(std::shared_ptr<const std::vector<std::uint8_t>> b);
    void do_write();

    shard& shard_;
    const options& opt_;
    websocket::stream<socket_type> ws_;
    beast::flat_buffer buffer_;
    std::int64_t read_ns_ = 0;  // when the message being handled was read: its deliveries' arrival
    std::deque<std::shared_ptr<const std::vector<std::uint8_t>>> out_;
    std::deque<std::int64_t> history_sent_ns_;  // requests awaiting their page, oldest first
    bool writing_ = false;
    bool open_ = false;
};

client::client(shard& home, std::uint32_t i)
    : index(i),
      room_slot(static_cast<std::uint32_t>(i % home.cfg.opt.rooms)),
      shard_(home),
      opt_(home.cfg.opt),
      ws_(home.io.get_executor()) {}

void client::start() {
    next_seq.assign(opt_.senders, 0);
    ws_.next_layer().async_connect(tcp::endpoint(net::ip::make_address(opt_.host), opt_.port),
                                   beast::bind_front_handler(&client::on_connect, shared_from_this()));
}

void client::on_connect(boost::system::error_code ec) {
    if (ec) return fail();
    ws_.next_layer().set_option(tcp::no_delay(true));
    ws_.set_option(websocket::stream_base::decorator([cookie = shard_.cfg.cookies[index]](websocket::request_type& req) {
        if (!cookie.empty()) req.set(beast::http::field::cookie, cookie);
    }));
    ws_.binary(opt_.wire != wire_mode::socketio);
    ws_.read_message_max(limits::max_packet_bytes);
    const char* target = opt_.wire == wire_mode::socketio ? "/socket.io/?EIO=4&transport=websocket" : "/ws";
    ws_.async_handshake(opt_.host + ":" + std::to_string(opt_.port), target,
                        beast::bind_front_handler(&client::on_handshake, shared_from_this()));
}

void client::on_handshake(boost::system::error_code ec) {
    if (ec) return fail();
    open_ = true;
    shard_.connected.add();
    // A Parley client is ready once it has joined its room, a Socket.IO one
    // once it has joined the main namespace; the others at once.
    if (opt_.wire == wire_mode::raw || opt_.wire == wire_mode::length_prefixed || (opt_.storm && !opt_.peer()))
        become_ready();
    do_read();
}

void client::become_ready() {
    if (ready) return;
    ready = true;
    shard_.ready.add();
    shard_.on_client_settled();
}

void client::fail() {
    shard_.failed.add();
    shard_.on_client_settled();
}

void client::do_read() { ws_.async_read(buffer_, beast::bind_front_handler(&client::on_read, shared_from_this())); }

void client::on_read(boost::system::error_code ec, std::size_t) {
    if (ec) {
        if (open_) shard_.disconnects.add();
        if (open_ && !ready) fail();
        open_ = false;
        return;
    }
    read_ns_ = now_ns();
    const auto data = buffer_.cdata();
    const std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(data.data()), data.size());
    switch (opt_.wire) {
        case wire_mode::parley: on_parley_message(bytes); break;
        case wire_mode::raw:
            if (bytes.size() >= raw_header_bytes) deliver(stamp_from_raw_header(bytes.data()));
            break;
        case wire_mode::length_prefixed: on_length_prefixed_message(bytes); break;
        case wire_mode::socketio:
            on_socketio_message({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
            break;
    }
    buffer_.consume(buffer_.size());
    do_read();
}

// A single packet or a batch, walked by the packets' headers (docs/protocol.md
// section 7: a batch's payload is complete packets back to back).
void client::on_parley_message(std::span<const std::uint8_t> bytes) {
    auto h = peek_header(bytes);
    if (!h) return shard_.errors.add();
    if (h->kind != packet_kind::batch) return on_parley_packet(*h, bytes);
    auto inner = bytes.subspan(h->header_size, h->payload_size);
    while (!inner.empty()) {
        auto ih = peek_header(inner);
        if (!ih) return shard_.errors.add();
        const std::size_t size = ih->header_size + ih->payload_size + limits::checksum_bytes;
        on_parley_packet(*ih, inner.first(size));
        inner = inner.subspan(size);
    }
}

void client::on_parley_packet(const header_view& h, std::span<const std::uint8_t> bytes) {
    switch (h.kind) {
        case packet_kind::chat_message:
            if (h.flags & flag_compressed) break;  // a long text: decode it in full
            if (auto s = stamp_from_chat_message(bytes.subspan(h.header_size, h.payload_size))) deliver(*s);
            return;
        case packet_kind::welcome:
        case packet_kind::room_joined:
        case packet_kind::history_page:
        case packet_kind::error_report: break;
        default: return;  // acks, watermarks, presence: nothing the generator needs
    }
    if (auto p = decode(bytes)) handle(*p);
    else shard_.errors.add();
}

void client::handle(const packet& p) {
    if (auto* m = std::get_if<chat_message>(&p)) {
        if (auto s = stamp_from_text(m->message.text)) deliver(*s);
    } else if (std::holds_alternative<welcome>(p)) {
        auto b = encode(join_room{"loadgen-" + std::to_string(room_slot), 0});
        write(std::make_shared<const std::vector<std::uint8_t>>(std::move(*b)));
    } else if (auto* j = std::get_if<room_joined>(&p)) {
        room_id = j->room_id;
    } else if (auto* h = std::get_if<history_page>(&p)) {
        if (h->mode != history_mode::older) {
            become_ready();
        } else if (!history_sent_ns_.empty()) {
            shard_.history_replies.add();
            shard_.history_latency_us.push_back(static_cast<std::uint32_t>((now_ns() - history_sent_ns_.front()) / 1000));
            history_sent_ns_.pop_front();
        }
    } else if (std::holds_alternative<error_report>(p)) {
        shard_.errors.add();
    }
}

void client::on_length_prefixed_message(std::span<const std::uint8_t> bytes) {
    while (bytes.size() >= 4) {
        const std::size_t n = std::size_t{bytes[0]} | std::size_t{bytes[1]} << 8 | std::size_t{bytes[2]} << 16 | std::size_t{bytes[3]} << 24;
        if (n < raw_header_bytes || n > bytes.size() - 4) break;
        deliver(stamp_from_raw_header(bytes.data() + 4));
        bytes = bytes.subspan(4 + n);
    }
    if (!bytes.empty()) shard_.errors.add();
}

// Engine.IO v4 over a WebSocket: one packet per frame, its type the first
// character (0 open, 2 ping, 4 message); a message holds a Socket.IO packet,
// its type the second (0 CONNECT, 2 EVENT, 4 CONNECT_ERROR).
void client::on_socketio_message(std::string_view m) {
    if (m.starts_with(socketio_event_prefix)) {
        if (auto s = stamp_from_socketio_event(m)) deliver(*s);
        else shard_.errors.add();
    } else if (m.starts_with('0')) {
        write_text("40");  // the session is open: connect to the main namespace
    } else if (m == "2") {
        write_text("3");
    } else if (m.starts_with("40")) {
        become_ready();
    } else if (m.starts_with("44") || m.starts_with('1')) {
        shard_.errors.add();  // namespace refused, or the session closed
    }
}

void client::deliver(const stamp& s) {
    if (s.sender >= next_seq.size()) return;
    shard_.deliveries.add();
    std::uint32_t& expected = next_seq[s.sender];
    if (s.seq < expected) {
        shard_.duplicates.add();
        return;
    }
    if (s.seq > expected) shard_.lost.add(s.seq - expected);  // skipped sequences never come: FIFO per sender
    expected = s.seq + 1;
    const std::int64_t now = read_ns_;
    const std::int64_t from = shard_.cfg.measure_from_ns.load(std::memory_order_relaxed);
    if (from != 0 && s.scheduled_ns >= from)
        shard_.latency_us.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(0, now - s.scheduled_ns) / 1000));
    // A sender's own echo frees a slot of its window.
    if (s.sender == index && in_flight > 0) {
        --in_flight;
        if (shard_.sending && opt_.rate == 0) send_next(now_ns());
    }
}

void client::send_next(std::int64_t scheduled_ns) {
    const stamp s{index, sent++, scheduled_ns};
    std::vector<std::uint8_t> b;
    switch (opt_.wire) {
        case wire_mode::parley:
            b = *encode(send_message{room_id, (std::uint64_t{index} << 32) + s.seq + 1, 0, text_with_stamp(s, opt_.text_bytes), false});
            break;
        case wire_mode::raw:
        case wire_mode::length_prefixed: b = raw_frame(s, opt_.text_bytes); break;
        case wire_mode::socketio: b = socketio_event(s, opt_.text_bytes); break;
    }
    ++in_flight;
    shard_.sent_messages.add();
    write(std::make_shared<const std::vector<std::uint8_t>>(std::move(b)));
}

void client::send_history_request() {
    history_sent_ns_.push_back(now_ns());
    write(std::make_shared<const std::vector<std::uint8_t>>(*encode(request_history{room_id, 0, 50})));
}

void client::write_text(std::string_view text) {
    write(std::make_shared<const std::vector<std::uint8_t>>(text.begin(), text.end()));
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
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws_.next_layer().close(ignored);
}

void shard::run_thread() {
    thread = std::thread([this] { io.run(); });
    pthread_getcpuclockid(thread.native_handle(), &cpu_clock);
}

// Keeps this shard's share of the handshakes in flight; called at the start
// and whenever a client becomes ready or fails.
void shard::launch_clients() {
    const std::size_t share = std::max<std::size_t>(1, max_handshakes_in_flight / cfg.opt.threads);
    while (launched < clients.size() && launched - ready.get() - failed.get() < share) clients[launched++]->start();
}

void shard::on_client_settled() {
    last_settled_ns.store(now_ns(), std::memory_order_relaxed);
    launch_clients();
}

void shard::start_traffic() {
    sending = true;
    if (cfg.opt.rate > 0) {
        send_due_messages();
    } else {
        for (client* c : senders)
            for (std::size_t w = 0; w < cfg.opt.window; ++w) c->send_next(now_ns());
    }
    if (cfg.opt.history_rate > 0) send_history_request();
}

void shard::stop_traffic() {
    sending = false;
    rate_timer.cancel();
    history_timer.cancel();
}

// Each tick sends, for each of this shard's senders, the messages whose
// scheduled time has come: message k of sender s is due at
// start + s * interval / S + k * interval, whatever the generator's delays.
void shard::send_due_messages() {
    if (!sending) return;
    const std::int64_t interval = cfg.rate_interval_ns(), now = now_ns();
    const auto senders_total = static_cast<std::int64_t>(cfg.opt.senders);
    for (client* c : senders) {
        const std::int64_t offset = static_cast<std::int64_t>(c->index) * interval / senders_total;
        for (;;) {
            const std::int64_t due = cfg.traffic_start_ns + offset + static_cast<std::int64_t>(c->sent) * interval;
            if (due > now) break;
            c->send_next(due);
        }
    }
    rate_timer.expires_after(500us);
    rate_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) send_due_messages();
    });
}

// This shard's part of --history-rate: its threads-th share, from its own clients.
void shard::send_history_request() {
    if (!sending) return;
    clients[(history_requests++ * 7919) % clients.size()]->send_history_request();
    history_timer.expires_after(std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * cfg.opt.threads / cfg.opt.history_rate)));
    history_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) send_history_request();
    });
}

// ---- the run, from the main thread -------------------------------------------------------

using shard_list = std::vector<std::unique_ptr<shard>>;

/// Runs `f(shard&)` on every shard's thread and waits until all have.
template <class F>
void run_on_each(shard_list& shards, F f) {
    std::vector<std::future<void>> done;
    for (auto& s : shards) {
        auto finished = std::make_shared<std::promise<void>>();
        done.push_back(finished->get_future());
        net::post(s->io, [&one = *s, f, finished] {
            f(one);
            finished->set_value();
        });
    }
    for (auto& d : done) d.wait();
}

struct totals {
    std::uint64_t connected = 0, ready = 0, failed = 0, deliveries = 0, duplicates = 0, lost = 0;
};

totals sum(const shard_list& shards) {
    totals t;
    for (const auto& s : shards) {
        t.connected += s->connected.get();
        t.ready += s->ready.get();
        t.failed += s->failed.get();
        t.deliveries += s->deliveries.get();
        t.duplicates += s->duplicates.get();
        t.lost += s->lost.get();
    }
    return t;
}

/// Waits until `done(totals)` holds or `timeout` passes, with a progress line a second.
template <class Pred>
bool wait_until(const shard_list& shards, const options& o, Pred done, std::chrono::milliseconds timeout, const char* phase) {
    const auto deadline = clock_type::now() + timeout;
    auto next_progress = clock_type::now() + 1s;
    for (;;) {
        const totals t = sum(shards);
        if (done(t)) return true;
        if (clock_type::now() >= deadline) {
            std::cerr << "\n" << phase << ": timed out\n";
            return false;
        }
        std::this_thread::sleep_for(5ms);
        if (clock_type::now() >= next_progress) {
            next_progress += 1s;
            std::cerr << "\r" << phase << ": connected " << t.connected << "/" << o.clients << ", ready " << t.ready
                      << ", deliveries " << t.deliveries << ", lost " << t.lost << ", dup " << t.duplicates << "      "
                      << std::flush;
        }
    }
}

void sleep_while_running(const shard_list& shards, const options& o, std::chrono::duration<double> d, const char* phase) {
    const auto until = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(d);
    wait_until(shards, o, [&](const totals&) { return clock_type::now() >= until; }, 600s, phase);
}

/// Registers or logs in every client's user over HTTP, `threads` at a time.
std::vector<std::string> sign_in_users(const options& o) {
    std::vector<std::string> cookies(o.clients);
    std::mutex error_mutex;
    std::string error;
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < o.threads; ++t)
        workers.emplace_back([&, t] {
            try {
                for (std::size_t i = t; i < o.clients; i += o.threads)
                    cookies[i] = "parley_session=" + parley::testing::sign_up(o.port, o.user_prefix + "-" + std::to_string(i), "loadgen password");
            } catch (const std::exception& e) {
                std::lock_guard lock(error_mutex);
                error = e.what();
            }
        });
    for (auto& w : workers) w.join();
    if (!error.empty()) throw std::runtime_error(error);
    return cookies;
}

shard_list make_shards(const run_config& cfg) {
    const options& o = cfg.opt;
    shard_list shards;
    for (unsigned t = 0; t < o.threads; ++t) shards.push_back(std::make_unique<shard>(cfg, t));
    for (std::uint32_t i = 0; i < o.clients; ++i) {
        shard& home = *shards[i % o.threads];
        home.clients.push_back(std::make_shared<client>(home, i));
        if (i < o.senders) home.senders.push_back(home.clients.back().get());
    }
    for (auto& s : shards) s->latency_us.reserve(o.idle || o.storm ? 0 : 1 << 20);
    return shards;
}

/// Stops every shard's thread; afterwards the main thread owns everything.
void stop_shards(shard_list& shards) {
    for (auto& s : shards) {
        s->work.reset();
        s->io.stop();
    }
    for (auto& s : shards) s->thread.join();
}

void close_clients(shard_list& shards) {
    for (auto& s : shards)
        for (auto& c : s->clients) c->close();
}

double percentile(std::vector<std::uint32_t>& v, double p) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k] / 1000.0;  // milliseconds
}

/// CPU of the generator between two readings: the whole process, and its busiest shard thread.
struct generator_cpu {
    double process = 0;
    std::vector<double> threads;

    static generator_cpu read(const shard_list& shards) {
        generator_cpu g{own_cpu_seconds(), {}};
        for (const auto& s : shards) g.threads.push_back(thread_cpu_seconds(s->cpu_clock));
        return g;
    }
    void report_since(const generator_cpu& start, double elapsed, nlohmann::ordered_json& out) const {
        double busiest = 0;
        for (std::size_t i = 0; i < threads.size(); ++i) busiest = std::max(busiest, threads[i] - start.threads[i]);
        out["generator_threads"] = threads.size();
        out["generator_cpu_seconds"] = process - start.process;
        out["generator_cpu_share"] = (process - start.process) / elapsed;  // of one core; up to the thread count
        out["generator_busiest_thread_share"] = busiest / elapsed;
    }
};

std::string generator_summary(const nlohmann::ordered_json& out) {
    std::ostringstream s;
    s << "generator CPU " << out["generator_cpu_share"].get<double>() * 100 << "% of a core over "
      << out["generator_threads"].get<std::size_t>() << " thread(s), busiest thread "
      << out["generator_busiest_thread_share"].get<double>() * 100 << "%";
    return s.str();
}

int report_idle_or_storm(shard_list& shards, const run_config& cfg, std::int64_t rss_before, double server_cpu_before,
                         double connect_seconds, nlohmann::ordered_json& out) {
    const options& o = cfg.opt;
    // Let the server settle (a large room tells presence once per interval,
    // up to 5 s), then read its memory and the CPU the whole storm cost it.
    sleep_while_running(shards, o, o.idle ? 6000ms : 200ms, "settling");
    const std::int64_t rss_after = process_rss_kib(o.server_pid);
    const double server_cpu = process_cpu_seconds(o.server_pid) - server_cpu_before;
    out["scenario"] = o.idle ? "idle" : "storm";
    out["connect_seconds"] = connect_seconds;
    out["connections_per_second"] = static_cast<double>(o.clients) / connect_seconds;
    out["server_rss_kib_before"] = rss_before;
    out["server_rss_kib_after"] = rss_after;
    out["server_rss_per_connection_kib"] = static_cast<double>(rss_after - rss_before) / static_cast<double>(o.clients);
    out["server_cpu_seconds"] = server_cpu;
    out["server_cpu_ms_per_connection"] = server_cpu * 1e3 / static_cast<double>(o.clients);
    std::cerr << "\n" << o.clients << " connections in " << connect_seconds << " s ("
              << out["connections_per_second"].get<double>() << "/s); server RSS " << rss_before << " -> " << rss_after
              << " KiB (" << out["server_rss_per_connection_kib"].get<double>() << " KiB per connection); server CPU "
              << server_cpu << " s (" << out["server_cpu_ms_per_connection"].get<double>()
              << " ms per connection, settling included); while connecting, "
              << generator_summary(out) << "\n";
    std::cout << out.dump() << std::endl;
    stop_shards(shards);
    close_clients(shards);
    return 0;
}

/// Messages every client should have received from every sender in its room.
std::uint64_t expected_deliveries(const shard_list& shards, const run_config& cfg) {
    std::uint64_t expected = 0;
    for (const auto& s : shards)
        for (const client* c : s->senders)
            expected += std::uint64_t{c->sent} * (cfg.opt.peer() ? cfg.opt.clients : cfg.members_in_slot(c->room_slot));
    return expected;
}

/// After the threads stopped: what each client still lacks from each sender of its room.
std::uint64_t missing_deliveries(const shard_list& shards, const run_config& cfg) {
    std::vector<const client*> senders(cfg.opt.senders);
    for (const auto& s : shards)
        for (const client* c : s->senders) senders[c->index] = c;
    std::uint64_t missing = 0;
    for (const auto& s : shards)
        for (const auto& c : s->clients)
            for (const client* from : senders)
                if (cfg.opt.peer() || from->room_slot == c->room_slot) missing += from->sent - c->next_seq[from->index];
    return missing;
}

template <class Member>
std::vector<std::uint32_t> merged(shard_list& shards, Member member) {
    std::vector<std::uint32_t> all;
    for (auto& s : shards) all.insert(all.end(), ((*s).*member).begin(), ((*s).*member).end());
    return all;
}

template <class Member>
std::uint64_t summed(const shard_list& shards, Member member) {
    std::uint64_t n = 0;
    for (const auto& s : shards) n += ((*s).*member).get();
    return n;
}

// One function for the whole traffic run: its phases read and write the
// same window figures, and splitting it would only pass them around.
int run_traffic(shard_list& shards, run_config& cfg, nlohmann::ordered_json& out) {
    const options& o = cfg.opt;
    cfg.traffic_start_ns = now_ns();
    run_on_each(shards, [](shard& s) { s.start_traffic(); });
    sleep_while_running(shards, o, std::chrono::duration<double>(o.warmup), "warm-up");

    cfg.measure_from_ns.store(now_ns(), std::memory_order_relaxed);
    const std::int64_t measure_from = cfg.measure_from_ns.load();
    const std::uint64_t deliveries_at_start = sum(shards).deliveries;
    const generator_cpu gen0 = generator_cpu::read(shards);
    const double srv_cpu0 = process_cpu_seconds(o.server_pid);
    sleep_while_running(shards, o, std::chrono::duration<double>(o.duration), "measuring");
    const double elapsed = static_cast<double>(now_ns() - measure_from) / 1e9;
    const std::uint64_t window_deliveries = sum(shards).deliveries - deliveries_at_start;
    const generator_cpu gen1 = generator_cpu::read(shards);
    const double srv_cpu = process_cpu_seconds(o.server_pid) - srv_cpu0;
    const std::int64_t rss_after = process_rss_kib(o.server_pid);

    // Stop sending; wait for what is still on its way, then count the rest as lost.
    run_on_each(shards, [](shard& s) { s.stop_traffic(); });
    const std::uint64_t expected = expected_deliveries(shards, cfg);
    wait_until(shards, o, [&](const totals& t) { return t.deliveries - t.duplicates >= expected; }, 30s, "draining");
    std::cerr << "\n";
    stop_shards(shards);
    const std::uint64_t lost = summed(shards, &shard::lost) + missing_deliveries(shards, cfg);
    const std::uint64_t duplicates = summed(shards, &shard::duplicates), disconnects = summed(shards, &shard::disconnects);
    auto latency = merged(shards, &shard::latency_us);
    auto history_latency = merged(shards, &shard::history_latency_us);

    out["scenario"] = o.rate > 0 ? "rate" : "saturation";
    out["rate"] = o.rate;
    out["window"] = o.rate > 0 ? 0 : o.window;
    out["seconds"] = elapsed;
    out["messages_sent"] = summed(shards, &shard::sent_messages);
    out["deliveries_expected"] = expected;  // the whole run's, warm-up and drain included
    out["deliveries"] = summed(shards, &shard::deliveries) - duplicates;
    out["deliveries_per_second"] = static_cast<double>(window_deliveries) / elapsed;
    out["latency_ms"] = {{"p50", percentile(latency, 50)},
                         {"p90", percentile(latency, 90)},
                         {"p99", percentile(latency, 99)},
                         {"max", latency.empty() ? 0.0 : *std::max_element(latency.begin(), latency.end()) / 1000.0}};
    out["lost"] = lost;
    out["duplicated"] = duplicates;
    out["disconnects"] = disconnects;
    out["errors"] = summed(shards, &shard::errors);
    gen1.report_since(gen0, elapsed, out);
    out["server_cpu_seconds"] = srv_cpu;
    out["server_cpu_share"] = srv_cpu / elapsed;
    out["server_cpu_us_per_delivery"] = window_deliveries ? srv_cpu * 1e6 / static_cast<double>(window_deliveries) : 0.0;
    out["server_rss_kib"] = rss_after;
    if (o.history_rate > 0)
        out["history_ms"] = {{"requests", summed(shards, &shard::history_replies)},
                             {"p50", percentile(history_latency, 50)},
                             {"p99", percentile(history_latency, 99)}};

    std::cerr << (o.label.empty() ? std::string("run") : o.label) << ": " << out["deliveries_per_second"].get<double>()
              << " deliveries/s over " << elapsed << " s; latency ms p50 " << out["latency_ms"]["p50"] << " p90 "
              << out["latency_ms"]["p90"] << " p99 " << out["latency_ms"]["p99"] << " max " << out["latency_ms"]["max"]
              << "; lost " << lost << ", duplicated " << duplicates << ", disconnects " << disconnects << "; server CPU "
              << out["server_cpu_us_per_delivery"].get<double>() << " us/delivery (" << out["server_cpu_share"].get<double>() * 100
              << "% of a core), " << generator_summary(out) << "\n";
    std::cout << out.dump() << std::endl;
    close_clients(shards);
    return (lost == 0 && duplicates == 0 && disconnects == 0) ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    auto parsed = parse(argc, argv);
    if (!parsed) return 2;
    raise_fd_limit();
    run_config cfg;
    cfg.opt = *parsed;
    const options& o = cfg.opt;

    try {
        if (!o.peer() && !o.storm) {
            std::cerr << "signing in " << o.clients << " users...\n";
            cfg.cookies = sign_in_users(o);
        } else {
            cfg.cookies.assign(o.clients, "");
        }
    } catch (const std::exception& e) {
        std::cerr << "parley-loadgen: " << e.what() << "\n";
        return 1;
    }
    const std::int64_t rss_before = process_rss_kib(o.server_pid);
    const double server_cpu_before = process_cpu_seconds(o.server_pid);

    // Connect everyone, each shard keeping its share of the handshakes in flight.
    shard_list shards = make_shards(cfg);
    for (auto& s : shards) s->run_thread();
    const generator_cpu gen0 = generator_cpu::read(shards);
    const std::int64_t connect_started = now_ns();
    run_on_each(shards, [](shard& s) { s.launch_clients(); });
    const bool connected = wait_until(shards, o, [&](const totals& t) { return t.ready + t.failed >= o.clients; }, 120s, "connecting");
    std::int64_t connect_ended = connect_started;
    for (const auto& s : shards) connect_ended = std::max(connect_ended, s->last_settled_ns.load());
    const double connect_seconds = static_cast<double>(connect_ended - connect_started) / 1e9;
    std::cerr << "\n";
    const totals t = sum(shards);
    if (!connected || t.failed > 0) {
        std::cerr << "only " << t.ready << " of " << o.clients << " clients became ready (" << t.failed << " failed)\n";
        stop_shards(shards);
        return 1;
    }

    nlohmann::ordered_json out;
    out["label"] = o.label;
    out["mode"] = wire_name(o.wire);
    out["clients"] = o.clients;
    out["rooms"] = o.rooms;
    out["senders"] = o.senders;
    if (o.storm || o.idle) {
        generator_cpu::read(shards).report_since(gen0, connect_seconds, out);
        return report_idle_or_storm(shards, cfg, rss_before, server_cpu_before, connect_seconds, out);
    }
    return run_traffic(shards, cfg, out);
}
