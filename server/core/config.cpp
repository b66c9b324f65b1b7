#include "server/core/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace parley::server {
namespace {

struct option {
    std::string_view name;  // flag without "--"; env var is PARLEY_ + upper-case with '_'
    std::string_view arg;   // placeholder shown in --help; empty for switches
    std::string_view help;
    std::function<void(config&, std::string_view)> apply;
    /// The value as it would be written in a config file; nullopt when it is
    /// automatic (chosen at start-up), with the reason in `automatic`.
    std::function<std::optional<std::string>(const config&)> show;
    std::string_view automatic = {};
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

// A switch: bare on the command line (on), or with a value anywhere.
bool parse_switch(std::string_view s) {
    if (s.empty() || s == "true" || s == "yes" || s == "on" || s == "1") return true;
    if (s == "false" || s == "no" || s == "off" || s == "0") return false;
    throw std::invalid_argument("expected true or false, got '" + std::string(s) + "'");
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

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

void parse_listen(config& c, std::string_view s) { std::tie(c.listen_host, c.listen_port) = parse_host_port(s); }

std::string show_listen(const config& c) {
    const bool v6 = c.listen_host.find(':') != std::string::npos;
    return (v6 ? "[" + c.listen_host + "]" : c.listen_host) + ":" + std::to_string(c.listen_port);
}

// RATE or RATE/BURST, e.g. "10/20": 10 per second sustained, bursts of 20.
void parse_rate(std::string_view s, double& rate, double& burst) {
    const auto slash = s.find('/');
    rate = parse_double(s.substr(0, slash), 0.01, 1e6);
    burst = slash == std::string_view::npos ? rate * 2 : parse_double(s.substr(slash + 1), 1, 1e6);
}

std::string show_rate(double rate, double burst) {
    std::ostringstream out;
    out << rate << "/" << burst;
    return out.str();
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

log_format parse_log_format(std::string_view s) {
    if (s == "text") return log_format::text;
    if (s == "json") return log_format::json;
    throw std::invalid_argument("expected text or json");
}

std::string_view level_name(log_level l) {
    switch (l) {
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warn: return "warn";
        case log_level::error: return "error";
    }
    return "info";
}

std::string password_cost_name(const config& c) {
    if (c.password_ops == 3 && c.password_mem_kib == 256 * 1024) return "moderate";
    if (c.password_ops == 1 && c.password_mem_kib == 8) return "min";
    return "interactive";
}

// Shorthands for the `show` of the common kinds of value.
template <class T>
auto shown(T config::*field) {
    return [field](const config& c) -> std::optional<std::string> {
        if constexpr (std::is_same_v<T, std::string>) return c.*field;
        else if constexpr (std::is_same_v<T, bool>) return std::string(c.*field ? "true" : "false");
        else if constexpr (requires { (c.*field).count(); }) return std::to_string((c.*field).count());
        else return std::to_string(c.*field);
    };
}

template <class T>
auto shown_unless_empty(T config::*field) {
    return [field](const config& c) -> std::optional<std::string> {
        if ((c.*field).empty()) return std::nullopt;
        return shown(field)(c);
    };
}

const std::vector<option>& options() {
    using ms = std::chrono::milliseconds;
    static const std::vector<option> table{
        {"listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8080)", parse_listen,
         [](const config& c) -> std::optional<std::string> { return show_listen(c); }},
        {"threads", "N", "I/O threads (default: number of cores)",
         [](config& c, std::string_view s) { c.threads = parse_number<unsigned>(s, 1, 256); },
         [](const config& c) -> std::optional<std::string> {
             if (c.threads == 0) return std::nullopt;
             return std::to_string(c.threads);
         },
         "one per core"},
        {"data-dir", "DIR", "directory holding parley.db (default ./data)",
         [](config& c, std::string_view s) { c.data_dir = std::string(s); }, shown(&config::data_dir)},
        {"store", "sqlite:PATH|postgres:URL",
         "where rooms, messages and accounts are stored (default sqlite:DATA_DIR/parley.db); "
         "postgres:postgresql://USER@HOST/DB for several nodes",
         [](config& c, std::string_view s) {
             if (!s.starts_with("sqlite:") && !s.starts_with("postgres:") && !s.starts_with("postgresql://"))
                 throw std::invalid_argument("takes sqlite:PATH or postgres:URL");
             c.store = std::string(s);
         },
         shown_unless_empty(&config::store), "sqlite:DATA_DIR/parley.db"},
        {"cluster", "redis://HOST:PORT",
         "run as one node of a cluster sharing rooms through this Redis (needs --store postgres:URL and --node-id)",
         [](config& c, std::string_view s) {
             if (!s.starts_with("redis://")) throw std::invalid_argument("takes redis://HOST:PORT");
             c.cluster = std::string(s);
         },
         shown_unless_empty(&config::cluster), "a single node"},
        {"node-id", "NAME",
         "this node's name in the cluster: 1-48 letters, digits, '-', '_', '.', ':' (the host name will do)",
         [](config& c, std::string_view s) {
             const bool ok = !s.empty() && s.size() <= 48 && std::all_of(s.begin(), s.end(), [](char ch) {
                 return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '-' || ch == '_' || ch == '.' ||
                        ch == ':';
             });
             if (!ok) throw std::invalid_argument("takes 1-48 letters, digits, '-', '_', '.' or ':'");
             c.node_id = std::string(s);
         },
         shown_unless_empty(&config::node_id)},
        {"static-dir", "DIR", "browser client files (default: web/ of the source tree or share/parley/web)",
         [](config& c, std::string_view s) { c.static_dir = std::string(s); }, shown_unless_empty(&config::static_dir),
         "found next to the binary"},
        {"wasm-dir", "DIR", "WebAssembly build served at /wasm/ (default: build/wasm or share/parley/wasm)",
         [](config& c, std::string_view s) { c.wasm_dir = std::string(s); }, shown_unless_empty(&config::wasm_dir),
         "found next to the binary"},
        {"allowed-origins", "LIST", "comma-separated WebSocket origins allowed besides same-origin; * for any",
         [](config& c, std::string_view s) { c.allowed_origins = split(s, ','); },
         [](const config& c) -> std::optional<std::string> {
             if (c.allowed_origins.empty()) return std::nullopt;
             std::string out;
             for (const auto& o : c.allowed_origins) out += (out.empty() ? "" : ",") + o;
             return out;
         },
         "same origin only"},
        {"max-connections-per-address", "N", "open connections one client address may hold; 0: no cap (default 64)",
         [](config& c, std::string_view s) { c.max_connections_per_address = parse_number<std::size_t>(s, 0, 10000000); },
         shown(&config::max_connections_per_address)},
        {"tls-cert", "FILE", "serve HTTPS and WSS with this PEM certificate (chain allowed); needs --tls-key",
         [](config& c, std::string_view s) { c.tls_cert = std::string(s); }, shown_unless_empty(&config::tls_cert)},
        {"tls-key", "FILE", "the PEM private key of --tls-cert (both are reloaded on SIGHUP)",
         [](config& c, std::string_view s) { c.tls_key = std::string(s); }, shown_unless_empty(&config::tls_key)},
        {"tls-handshake-timeout", "S", "time allowed for a TLS handshake (default 10)",
         [](config& c, std::string_view s) { c.tls_handshake_timeout = std::chrono::seconds(parse_number<int>(s, 1, 600)); },
         shown(&config::tls_handshake_timeout)},
        {"max-tls-handshakes-per-address", "N", "TLS handshakes one client address may have in progress (default 16)",
         [](config& c, std::string_view s) { c.max_tls_handshakes_per_address = parse_number<std::size_t>(s, 1, 100000); },
         shown(&config::max_tls_handshakes_per_address)},
        {"redirect-http", "HOST:PORT", "with TLS: also listen for plain HTTP here and redirect it to https://",
         [](config& c, std::string_view s) {
             parse_host_port(s);  // the same HOST:PORT rules as --listen
             c.redirect_http = std::string(s);
         },
         shown_unless_empty(&config::redirect_http)},
        {"password-cost", "LEVEL", "Argon2id cost: interactive (default), moderate, or min (tests, benchmarks)",
         [](config& c, std::string_view s) {
             if (s == "moderate") c.password_ops = 3, c.password_mem_kib = 256 * 1024;
             else if (s == "interactive") c.password_ops = 2, c.password_mem_kib = 64 * 1024;
             else if (s == "min") c.password_ops = 1, c.password_mem_kib = 8;
             else throw std::invalid_argument("expected moderate, interactive or min");
         },
         [](const config& c) -> std::optional<std::string> { return password_cost_name(c); }},
        {"session-ttl-hours", "H", "session token lifetime (default 720)",
         [](config& c, std::string_view s) { c.session_ttl = std::chrono::hours(parse_number<int>(s, 1, 24 * 3650)); },
         shown(&config::session_ttl)},
        {"secure-cookies", "", "mark the session cookie Secure (serve behind HTTPS)",
         [](config& c, std::string_view s) { c.secure_cookies = parse_switch(s); }, shown(&config::secure_cookies)},
        {"registration", "MODE",
         "who may create accounts: open, invite or closed (default: open on loopback, invite otherwise)",
         [](config& c, std::string_view s) { c.registration = parse_registration(s); },
         [](const config& c) -> std::optional<std::string> {
             if (!c.registration) return std::nullopt;
             return std::string(to_string(*c.registration));
         },
         "open on a loopback address, invite otherwise"},
        {"member-invites", "", "let any signed-in member create invites (default: admins only)",
         [](config& c, std::string_view s) { c.member_invites = parse_switch(s); }, shown(&config::member_invites)},
        {"cache-size", "N", "recent messages kept in memory per room (default 500)",
         [](config& c, std::string_view s) { c.room_cache_messages = parse_number<std::size_t>(s, 10, 1000000); },
         shown(&config::room_cache_messages)},
        {"max-rooms", "N", "rooms one connection may join (default 64)",
         [](config& c, std::string_view s) { c.max_rooms_per_connection = parse_number<std::size_t>(s, 1, 100000); },
         shown(&config::max_rooms_per_connection)},
        {"rooms-per-hour", "N", "new public and private rooms one user may create per hour (default 20)",
         [](config& c, std::string_view s) { c.rooms_per_hour = parse_number<std::size_t>(s, 1, 1000000); },
         shown(&config::rooms_per_hour)},
        {"directs-per-hour", "N", "new direct conversations one user may start per hour (default 60)",
         [](config& c, std::string_view s) { c.directs_per_hour = parse_number<std::size_t>(s, 1, 1000000); },
         shown(&config::directs_per_hour)},
        {"room-idle-ms", "MS", "a room nobody uses leaves memory after this (default 120000)",
         [](config& c, std::string_view s) { c.room_idle = ms(parse_number<int>(s, 10, 86400000)); },
         shown(&config::room_idle)},
        {"typing-ttl-ms", "MS", "typing indicator expiry without refresh (default 6000)",
         [](config& c, std::string_view s) { c.typing_ttl = ms(parse_number<int>(s, 100, 600000)); },
         shown(&config::typing_ttl)},
        {"presence-grace-ms", "MS", "delay before a disconnected user shows offline (default 3000)",
         [](config& c, std::string_view s) { c.presence_grace = ms(parse_number<int>(s, 0, 600000)); },
         shown(&config::presence_grace)},
        {"max-replay", "N", "missed messages replayed on rejoin before sending the latest page instead (default 1000)",
         [](config& c, std::string_view s) { c.max_replay_messages = parse_number<std::size_t>(s, 0, 1000000); },
         shown(&config::max_replay_messages)},
        {"queue-bytes", "BYTES", "outgoing bytes queued per connection before it is dropped (default 4194304)",
         [](config& c, std::string_view s) { c.max_queue_bytes = parse_number<std::size_t>(s, 4096, std::size_t{1} << 34); },
         shown(&config::max_queue_bytes)},
        {"queue-packets", "N", "outgoing packets queued per connection before it is dropped (default 8192)",
         [](config& c, std::string_view s) { c.max_queue_packets = parse_number<std::size_t>(s, 4, 10000000); },
         shown(&config::max_queue_packets)},
        {"idle-timeout", "S", "close connections silent this long; pinged at half (default 60)",
         [](config& c, std::string_view s) { c.idle_timeout = std::chrono::seconds(parse_number<int>(s, 2, 86400)); },
         shown(&config::idle_timeout)},
        {"request-timeout", "S", "time allowed to receive one HTTP request, or between kept-alive requests (default 30)",
         [](config& c, std::string_view s) { c.request_timeout = std::chrono::seconds(parse_number<int>(s, 1, 3600)); },
         shown(&config::request_timeout)},
        {"handshake-timeout", "S", "time allowed for the WebSocket handshake (default 10)",
         [](config& c, std::string_view s) { c.handshake_timeout = std::chrono::seconds(parse_number<int>(s, 1, 600)); },
         shown(&config::handshake_timeout)},
        {"max-protocol-errors", "N", "malformed packets tolerated per connection (default 20)",
         [](config& c, std::string_view s) { c.max_protocol_errors = parse_number<std::size_t>(s, 1, 1000000); },
         shown(&config::max_protocol_errors)},
        {"message-rate", "R[/B]", "messages per second per user, burst B (default 10/20)",
         [](config& c, std::string_view s) { parse_rate(s, c.message_rate, c.message_burst); },
         [](const config& c) -> std::optional<std::string> { return show_rate(c.message_rate, c.message_burst); }},
        {"reaction-rate", "R[/B]", "reactions per second per user (default 10/30)",
         [](config& c, std::string_view s) { parse_rate(s, c.reaction_rate, c.reaction_burst); },
         [](const config& c) -> std::optional<std::string> { return show_rate(c.reaction_rate, c.reaction_burst); }},
        {"typing-rate", "R[/B]", "typing updates per second per user (default 2/5)",
         [](config& c, std::string_view s) { parse_rate(s, c.typing_rate, c.typing_burst); },
         [](const config& c) -> std::optional<std::string> { return show_rate(c.typing_rate, c.typing_burst); }},
        {"auth-rate", "R[/B]", "logins and registrations per second per IP (default 1/10)",
         [](config& c, std::string_view s) { parse_rate(s, c.auth_rate, c.auth_burst); },
         [](const config& c) -> std::optional<std::string> { return show_rate(c.auth_rate, c.auth_burst); }},
        {"login-failures-per-account", "N", "failed logins before further attempts on an account must wait (default 5)",
         [](config& c, std::string_view s) { c.login_failures_per_account = parse_number<std::size_t>(s, 1, 100000); },
         shown(&config::login_failures_per_account)},
        {"login-failures-per-address", "N", "failed logins before an address must wait (default 20)",
         [](config& c, std::string_view s) { c.login_failures_per_address = parse_number<std::size_t>(s, 1, 100000); },
         shown(&config::login_failures_per_address)},
        {"batch-events", "N", "commit a batch once this many events wait (default 10)",
         [](config& c, std::string_view s) { c.batch_max_events = parse_number<std::size_t>(s, 1, 1000000); },
         shown(&config::batch_max_events)},
        {"batch-delay-ms", "MS", "...or once the first waiting event is this old (default 5000)",
         [](config& c, std::string_view s) { c.batch_max_delay = ms(parse_number<int>(s, 1, 3600000)); },
         shown(&config::batch_max_delay)},
        {"max-backlog", "N", "events waiting for disk before new messages are refused (default 100000)",
         [](config& c, std::string_view s) { c.max_writer_backlog = parse_number<std::size_t>(s, 10, 100000000); },
         shown(&config::max_writer_backlog)},
        {"log-level", "LEVEL", "debug, info (default), warn or error",
         [](config& c, std::string_view s) { c.level = parse_level(s); },
         [](const config& c) -> std::optional<std::string> { return std::string(level_name(c.level)); }},
        {"log-format", "FORMAT", "text (default): readable lines; json: one object per line",
         [](config& c, std::string_view s) { c.format = parse_log_format(s); },
         [](const config& c) -> std::optional<std::string> { return c.format == log_format::json ? "json" : "text"; }},
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

// A setting that could not be applied: `where` names its source for the message.
struct setting_error : std::invalid_argument {
    setting_error(const std::string& where, const std::string& what) : std::invalid_argument(where + what) {}
};

/// Where each setting came from, by option name; absent = the default.
using origins = std::map<std::string_view, std::string>;

void apply(config& c, origins& from, const option& o, std::string_view value, std::string source,
           const std::string& where) {
    try {
        o.apply(c, value);
    } catch (const std::invalid_argument& e) {
        throw setting_error(where, e.what());
    }
    from[o.name] = std::move(source);
}

// `key = value` lines; `#` starts a comment (at the start of a line, or
// after blank space); blank lines are skipped. Keys are the flag names.
void apply_file(config& c, origins& from, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw setting_error("--config: ", "cannot read " + path + " (" + std::strerror(errno) + ")");
    std::string line;
    std::size_t number = 0, bytes = 0;
    while (std::getline(in, line)) {
        ++number;
        bytes += line.size() + 1;
        const std::string where = path + ":" + std::to_string(number) + ": ";
        if (bytes > bounds::max_config_file_bytes)
            throw setting_error(where, "the file is larger than " + std::to_string(bounds::max_config_file_bytes) + " bytes");
        std::string_view text = line;
        for (std::size_t at = text.find('#'); at != std::string_view::npos; at = text.find('#', at + 1))
            if (at == 0 || text[at - 1] == ' ' || text[at - 1] == '\t') {
                text = text.substr(0, at);
                break;
            }
        text = trim(text);
        if (text.empty()) continue;
        const auto eq = text.find('=');
        if (eq == std::string_view::npos) throw setting_error(where, "expected key = value, got '" + std::string(text) + "'");
        const std::string_view key = trim(text.substr(0, eq));
        const option* o = find_option(key);
        if (!o) throw setting_error(where, "unknown setting '" + std::string(key) + "' (the keys are the flag names of parley --help)");
        apply(c, from, *o, trim(text.substr(eq + 1)), path + ":" + std::to_string(number), where + std::string(key) + ": ");
    }
}

// What one setting implies for another, and the pairs that only work
// together: after every source has applied.
void settle(config& c, origins& from) {
    if (c.tls_cert.empty() != c.tls_key.empty())
        throw setting_error(c.tls_cert.empty() ? "--tls-key: " : "--tls-cert: ",
                            "TLS needs both --tls-cert and --tls-key");
    if (c.clustered()) {
        if (!c.store.starts_with("postgres:") && !c.store.starts_with("postgresql://"))
            throw setting_error("--cluster: ", "the nodes of a cluster share one PostgreSQL store (--store postgres:URL)");
        if (c.node_id.empty()) throw setting_error("--cluster: ", "each node needs a name (--node-id NAME)");
    } else if (!c.node_id.empty()) {
        throw setting_error("--node-id: ", "names a node of a cluster, so it needs --cluster redis://HOST:PORT");
    }
    if (!c.redirect_http.empty() && !c.tls())
        throw setting_error("--redirect-http: ", "redirects to https://, so it needs --tls-cert and --tls-key");
    // Over HTTPS the cookies are Secure unless the operator said otherwise.
    if (c.tls() && !from.contains("secure-cookies")) {
        c.secure_cookies = true;
        from["secure-cookies"] = "automatic: TLS is on";
    }
}

std::string print_config(const config& c, const origins& from, const std::string& file) {
    std::ostringstream out;
    out << "# parley " PARLEY_VERSION ": the effective configuration\n"
        << "# precedence: flags > PARLEY_* environment > config file > defaults\n"
        << "# config file: " << (file.empty() ? "none" : file) << "\n";
    for (const auto& o : options()) {
        const auto it = from.find(o.name);
        const std::string source = it == from.end() ? "default" : it->second;
        if (const auto value = o.show(c)) out << o.name << " = " << *value << "    # " << source << "\n";
        else out << "# " << o.name << " = (" << o.automatic << ")    # " << source << "\n";
    }
    return out.str();
}

}  // namespace

std::pair<std::string, std::uint16_t> parse_host_port(std::string_view s) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) throw std::invalid_argument("expected HOST:PORT, e.g. 0.0.0.0:8080");
    std::string_view host = s.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return {std::string(host), parse_number<std::uint16_t>(s.substr(colon + 1), 0, 65535)};
}

std::string_view to_string(registration_mode m) noexcept {
    switch (m) {
        case registration_mode::open: return "open";
        case registration_mode::invite: return "invite";
        case registration_mode::closed: return "closed";
    }
    return "?";
}

std::string installed_config_file() { return PARLEY_SYSCONFDIR "/parley/parley.conf"; }

bool running_from_install() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return !ec && std::filesystem::is_directory(exe.parent_path() / "../share/parley", ec);
}

std::string usage_text() {
    std::ostringstream out;
    out << "usage: parley [OPTIONS]\n"
        << "       parley admin COMMAND [ARGS] [OPTIONS]   (parley admin --help lists the commands:\n"
        << "       grant, revoke, add-user, invite, list)\n"
        << "       parley backup FILE | parley restore FILE [OPTIONS]\n"
        << "example: parley --listen 0.0.0.0:8080 --data-dir /var/lib/parley\n\n"
        << "Every option can also be set with an environment variable, e.g. PARLEY_LISTEN=0.0.0.0:8080,\n"
        << "or in a config file, one `name = value` per line (listen = 0.0.0.0:8080).\n"
        << "Flags win over the environment, which wins over the file, which wins over the defaults.\n\n"
        << "  --config FILE             read settings from FILE (PARLEY_CONFIG; default when installed:\n"
        << "                            " << installed_config_file() << ", if it exists)\n"
        << "  --print-config            print the effective settings, each with where it came from, and exit\n";
    for (const auto& o : options()) {
        std::string flag = "--" + std::string(o.name) + (o.arg.empty() ? "" : " " + std::string(o.arg));
        out << "  " << flag << std::string(flag.size() < 26 ? 26 - flag.size() : 1, ' ') << o.help << "\n";
    }
    out << "  --help                    show this text\n"
        << "  --version                 print the version\n";
    return out.str();
}

parse_outcome parse_config(int argc, const char* const* argv, const char* (*environ_lookup)(const char*),
                           const std::string& default_config_file) {
    config c;
    origins from;
    std::string file;
    try {
        // First the command line alone: --help, --version, --print-config
        // and --config, and every stray argument, before any setting applies.
        bool print = false;
        bool file_given = false;
        for (int i = 1; i < argc; ++i) {
            const std::string_view arg = argv[i];
            if (arg == "--help" || arg == "-h") return {std::nullopt, usage_text(), 0};
            if (arg == "--version") return {std::nullopt, "parley " PARLEY_VERSION "\n", 0};
            if (arg == "--print-config") print = true;
            else if (arg == "--config" || arg.starts_with("--config=")) {
                if (arg == "--config" && i + 1 >= argc) throw setting_error("--config: ", "needs a value (FILE)");
                file = arg == "--config" ? argv[++i] : std::string(arg.substr(9));
                file_given = true;
            }
        }
        if (!file_given && environ_lookup) {
            if (const char* v = environ_lookup("PARLEY_CONFIG"); v && *v) file = v, file_given = true;
        }
        if (!file_given) {
            std::error_code ec;
            if (!default_config_file.empty() && std::filesystem::is_regular_file(default_config_file, ec))
                file = default_config_file;
        }
        if (!file.empty()) apply_file(c, from, file);
        if (environ_lookup) {
            for (const auto& o : options()) {
                const std::string name = env_name(o.name);
                if (const char* v = environ_lookup(name.c_str()); v && *v)
                    apply(c, from, o, v, "environment " + name, name + ": ");
            }
        }
        for (int i = 1; i < argc; ++i) {
            std::string_view arg = argv[i];
            if (arg == "--print-config" || arg.starts_with("--config=")) continue;
            if (arg == "--config") {
                ++i;
                continue;
            }
            if (!arg.starts_with("--"))
                throw setting_error("", "unexpected argument '" + std::string(arg) +
                                            "' (parley takes options only, each starting with --)");
            arg.remove_prefix(2);
            std::string_view value;
            const auto eq = arg.find('=');
            if (eq != std::string_view::npos) {
                value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
            }
            const std::string flag = "--" + std::string(arg);
            const option* o = find_option(arg);
            if (!o) throw setting_error(flag + ": ", "unknown option");
            if (!o->arg.empty() && eq == std::string_view::npos) {
                if (i + 1 >= argc) throw setting_error(flag + ": ", "needs a value (" + std::string(o->arg) + ")");
                value = argv[++i];
            }
            apply(c, from, *o, value, "flag " + flag, flag + ": ");
        }
        settle(c, from);
        if (print) return {std::nullopt, print_config(c, from, file), 0};
    } catch (const setting_error& e) {
        return {std::nullopt,
                std::string("parley: ") + e.what() + "\n" +
                    "usage: parley [OPTIONS]   (parley --help lists them)\n"
                    "example: parley --listen 0.0.0.0:8080 --data-dir /var/lib/parley\n",
                2};
    }
    return {c, {}, 0};
}

}  // namespace parley::server
