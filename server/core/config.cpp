#include "server/core/config.hpp"

#include <charconv>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace parley::server {
namespace {

struct option {
    std::string_view name;  // flag without "--"; env var is PARLEY_ + upper-case with '_'
    std::string_view arg;   // placeholder shown in --help; empty for switches
    std::string_view help;
    std::function<void(config&, std::string_view)> apply;
};

template <class T>
T parse_number(std::string_view s, T lo, T hi) {
    T v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) {
        std::ostringstream msg;
        msg << "expected a number from " << lo << " to " << hi << ", got '" << s << "'";
        throw std::invalid_argument(msg.str());
    }
    return v;
}

double parse_double(std::string_view s, double lo, double hi) {
    // from_chars for double is available in libstdc++ 11+.
    return parse_number<double>(s, lo, hi);
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    while (!s.empty()) {
        const auto at = s.find(sep);
        std::string_view part = s.substr(0, at);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
        if (!part.empty()) out.emplace_back(part);
        if (at == std::string_view::npos) break;
        s.remove_prefix(at + 1);
    }
    return out;
}

void parse_listen(config& c, std::string_view s) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) throw std::invalid_argument("expected HOST:PORT, e.g. 0.0.0.0:8080");
    std::string_view host = s.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    c.listen_host = std::string(host);
    c.listen_port = parse_number<std::uint16_t>(s.substr(colon + 1), 0, 65535);
}

// RATE or RATE/BURST, e.g. "10/20": 10 per second sustained, bursts of 20.
void parse_rate(std::string_view s, double& rate, double& burst) {
    const auto slash = s.find('/');
    rate = parse_double(s.substr(0, slash), 0.01, 1e6);
    burst = slash == std::string_view::npos ? rate * 2 : parse_double(s.substr(slash + 1), 1, 1e6);
}

registration_mode parse_registration(std::string_view s) {
    if (s == "open") return registration_mode::open;
    if (s == "invite") return registration_mode::invite;
    if (s == "closed") return registration_mode::closed;
    throw std::invalid_argument("expected open, invite or closed");
}

log_level parse_level(std::string_view s) {
    if (s == "debug") return log_level::debug;
    if (s == "info") return log_level::info;
    if (s == "warn") return log_level::warn;
    if (s == "error") return log_level::error;
    throw std::invalid_argument("expected debug, info, warn or error");
}

const std::vector<option>& options() {
    using ms = std::chrono::milliseconds;
    static const std::vector<option> table{
        {"listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8080)", parse_listen},
        {"threads", "N", "I/O threads (default: number of cores)",
         [](config& c, std::string_view s) { c.threads = parse_number<unsigned>(s, 1, 256); }},
        {"data-dir", "DIR", "directory holding parley.db (default ./data)",
         [](config& c, std::string_view s) { c.data_dir = std::string(s); }},
        {"static-dir", "DIR", "browser client files (default: web/ next to the build)",
         [](config& c, std::string_view s) { c.static_dir = std::string(s); }},
        {"wasm-dir", "DIR", "WebAssembly build served at /wasm/ (default: build/wasm)",
         [](config& c, std::string_view s) { c.wasm_dir = std::string(s); }},
        {"allowed-origins", "LIST", "comma-separated WebSocket origins allowed besides same-origin; * for any",
         [](config& c, std::string_view s) { c.allowed_origins = split(s, ','); }},
        {"max-connections-per-address", "N", "open connections one client address may hold; 0: no cap (default 64)",
         [](config& c, std::string_view s) { c.max_connections_per_address = parse_number<std::size_t>(s, 0, 10000000); }},
        {"password-cost", "LEVEL", "Argon2id cost: interactive (default), moderate, or min (tests, benchmarks)",
         [](config& c, std::string_view s) {
             if (s == "moderate") c.password_ops = 3, c.password_mem_kib = 256 * 1024;
             else if (s == "interactive") c.password_ops = 2, c.password_mem_kib = 64 * 1024;
             else if (s == "min") c.password_ops = 1, c.password_mem_kib = 8;
             else throw std::invalid_argument("expected moderate, interactive or min");
         }},
        {"session-ttl-hours", "H", "session token lifetime (default 720)",
         [](config& c, std::string_view s) { c.session_ttl = std::chrono::hours(parse_number<int>(s, 1, 24 * 3650)); }},
        {"secure-cookies", "", "mark the session cookie Secure (serve behind HTTPS)",
         [](config& c, std::string_view) { c.secure_cookies = true; }},
        {"registration", "MODE",
         "who may create accounts: open, invite or closed (default: open on loopback, invite otherwise)",
         [](config& c, std::string_view s) { c.registration = parse_registration(s); }},
        {"member-invites", "", "let any signed-in member create invites (default: admins only)",
         [](config& c, std::string_view) { c.member_invites = true; }},
        {"cache-size", "N", "recent messages kept in memory per room (default 500)",
         [](config& c, std::string_view s) { c.room_cache_messages = parse_number<std::size_t>(s, 10, 1000000); }},
        {"max-rooms", "N", "rooms one connection may join (default 64)",
         [](config& c, std::string_view s) { c.max_rooms_per_connection = parse_number<std::size_t>(s, 1, 100000); }},
        {"rooms-per-hour", "N", "new public and private rooms one user may create per hour (default 20)",
         [](config& c, std::string_view s) { c.rooms_per_hour = parse_number<std::size_t>(s, 1, 1000000); }},
        {"directs-per-hour", "N", "new direct conversations one user may start per hour (default 60)",
         [](config& c, std::string_view s) { c.directs_per_hour = parse_number<std::size_t>(s, 1, 1000000); }},
        {"room-idle-ms", "MS", "a room nobody uses leaves memory after this (default 120000)",
         [](config& c, std::string_view s) { c.room_idle = ms(parse_number<int>(s, 10, 86400000)); }},
        {"typing-ttl-ms", "MS", "typing indicator expiry without refresh (default 6000)",
         [](config& c, std::string_view s) { c.typing_ttl = ms(parse_number<int>(s, 100, 600000)); }},
        {"presence-grace-ms", "MS", "delay before a disconnected user shows offline (default 3000)",
         [](config& c, std::string_view s) { c.presence_grace = ms(parse_number<int>(s, 0, 600000)); }},
        {"max-replay", "N", "missed messages replayed on rejoin before sending the latest page instead (default 1000)",
         [](config& c, std::string_view s) { c.max_replay_messages = parse_number<std::size_t>(s, 0, 1000000); }},
        {"queue-bytes", "BYTES", "outgoing bytes queued per connection before it is dropped (default 4194304)",
         [](config& c, std::string_view s) { c.max_queue_bytes = parse_number<std::size_t>(s, 4096, std::size_t{1} << 34); }},
        {"queue-packets", "N", "outgoing packets queued per connection before it is dropped (default 8192)",
         [](config& c, std::string_view s) { c.max_queue_packets = parse_number<std::size_t>(s, 4, 10000000); }},
        {"idle-timeout", "S", "close connections silent this long; pinged at half (default 60)",
         [](config& c, std::string_view s) { c.idle_timeout = std::chrono::seconds(parse_number<int>(s, 2, 86400)); }},
        {"request-timeout", "S", "time allowed to receive one HTTP request, or between kept-alive requests (default 30)",
         [](config& c, std::string_view s) { c.request_timeout = std::chrono::seconds(parse_number<int>(s, 1, 3600)); }},
        {"handshake-timeout", "S", "time allowed for the WebSocket handshake (default 10)",
         [](config& c, std::string_view s) { c.handshake_timeout = std::chrono::seconds(parse_number<int>(s, 1, 600)); }},
        {"max-protocol-errors", "N", "malformed packets tolerated per connection (default 20)",
         [](config& c, std::string_view s) { c.max_protocol_errors = parse_number<std::size_t>(s, 1, 1000000); }},
        {"message-rate", "R[/B]", "messages per second per user, burst B (default 10/20)",
         [](config& c, std::string_view s) { parse_rate(s, c.message_rate, c.message_burst); }},
        {"reaction-rate", "R[/B]", "reactions per second per user (default 10/30)",
         [](config& c, std::string_view s) { parse_rate(s, c.reaction_rate, c.reaction_burst); }},
        {"typing-rate", "R[/B]", "typing updates per second per user (default 2/5)",
         [](config& c, std::string_view s) { parse_rate(s, c.typing_rate, c.typing_burst); }},
        {"auth-rate", "R[/B]", "logins and registrations per second per IP (default 1/10)",
         [](config& c, std::string_view s) { parse_rate(s, c.auth_rate, c.auth_burst); }},
        {"login-failures-per-account", "N", "failed logins before further attempts on an account must wait (default 5)",
         [](config& c, std::string_view s) { c.login_failures_per_account = parse_number<std::size_t>(s, 1, 100000); }},
        {"login-failures-per-address", "N", "failed logins before an address must wait (default 20)",
         [](config& c, std::string_view s) { c.login_failures_per_address = parse_number<std::size_t>(s, 1, 100000); }},
        {"batch-events", "N", "commit a batch once this many events wait (default 10)",
         [](config& c, std::string_view s) { c.batch_max_events = parse_number<std::size_t>(s, 1, 1000000); }},
        {"batch-delay-ms", "MS", "...or once the first waiting event is this old (default 5000)",
         [](config& c, std::string_view s) { c.batch_max_delay = ms(parse_number<int>(s, 1, 3600000)); }},
        {"max-backlog", "N", "events waiting for disk before new messages are refused (default 100000)",
         [](config& c, std::string_view s) { c.max_writer_backlog = parse_number<std::size_t>(s, 10, 100000000); }},
        {"log-level", "LEVEL", "debug, info (default), warn or error",
         [](config& c, std::string_view s) { c.level = parse_level(s); }},
    };
    return table;
}

std::string env_name(std::string_view flag) {
    std::string name = "PARLEY_";
    for (char ch : flag) name.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    return name;
}

const option* find_option(std::string_view name) {
    for (const auto& o : options())
        if (o.name == name) return &o;
    return nullptr;
}

}  // namespace

std::string_view to_string(registration_mode m) noexcept {
    switch (m) {
        case registration_mode::open: return "open";
        case registration_mode::invite: return "invite";
        case registration_mode::closed: return "closed";
    }
    return "?";
}

std::string usage_text() {
    std::ostringstream out;
    out << "usage: parley [OPTIONS]\n"
        << "       parley admin COMMAND [ARGS] [OPTIONS]   (parley admin --help lists the commands:\n"
        << "       grant, revoke, add-user, invite, list)\n"
        << "example: parley --listen 0.0.0.0:8080 --data-dir /var/lib/parley\n\n"
        << "Every option can also be set with an environment variable, e.g. PARLEY_LISTEN=0.0.0.0:8080.\n\n";
    for (const auto& o : options()) {
        std::string flag = "--" + std::string(o.name) + (o.arg.empty() ? "" : " " + std::string(o.arg));
        out << "  " << flag << std::string(flag.size() < 26 ? 26 - flag.size() : 1, ' ') << o.help << "\n";
    }
    out << "  --help                    show this text\n"
        << "  --version                 print the version\n";
    return out.str();
}

parse_outcome parse_config(int argc, const char* const* argv, const char* (*environ_lookup)(const char*)) {
    config c;
    std::string current;
    try {
        if (environ_lookup) {
            for (const auto& o : options()) {
                current = env_name(o.name);
                if (const char* v = environ_lookup(current.c_str()); v && *v) o.apply(c, v);
            }
        }
        for (int i = 1; i < argc; ++i) {
            std::string_view arg = argv[i];
            current.clear();  // a bad argument is named by itself, not by the last option read
            if (arg == "--help" || arg == "-h") return {std::nullopt, usage_text(), 0};
            if (arg == "--version") return {std::nullopt, "parley " PARLEY_VERSION "\n", 0};
            if (!arg.starts_with("--"))
                throw std::invalid_argument("unexpected argument '" + std::string(arg) +
                                            "' (parley takes options only, each starting with --)");
            arg.remove_prefix(2);
            std::string_view value;
            const auto eq = arg.find('=');
            if (eq != std::string_view::npos) {
                value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
            }
            current = "--" + std::string(arg);
            const option* o = find_option(arg);
            if (!o) throw std::invalid_argument("unknown option");
            if (!o->arg.empty() && eq == std::string_view::npos) {
                if (i + 1 >= argc) throw std::invalid_argument("needs a value (" + std::string(o->arg) + ")");
                value = argv[++i];
            }
            o->apply(c, value);
        }
    } catch (const std::invalid_argument& e) {
        return {std::nullopt,
                "parley: " + (current.empty() ? "" : current + ": ") + e.what() + "\n" +
                    "usage: parley [OPTIONS]   (parley --help lists them)\n"
                    "example: parley --listen 0.0.0.0:8080 --data-dir /var/lib/parley\n",
                2};
    }
    return {c, {}, 0};
}

}  // namespace parley::server
