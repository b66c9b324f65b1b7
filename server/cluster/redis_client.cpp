#include "server/cluster/redis_client.hpp"

#include "server/core/log.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <deque>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace parley::server::cluster {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

std::string_view to_string(redis_errc e) noexcept {
    switch (e) {
    case redis_errc::disconnected: return "disconnected";
    case redis_errc::timeout: return "timeout";
    case redis_errc::overloaded: return "overloaded";
    case redis_errc::protocol: return "protocol";
    case redis_errc::redis_error: return "redis_error";
    case redis_errc::stopped: return "stopped";
    }
    return "unknown";
}

const resp::value& redis_result::value() const& {
    if (!ok()) throw resp::bad_access("redis_result: value() of a failed command (" + message_ + ")");
    return value_;
}

resp::value& redis_result::value() & { return const_cast<resp::value&>(std::as_const(*this).value()); }

resp::value&& redis_result::value() && { return std::move(value()); }

std::ostream& operator<<(std::ostream& out, const redis_result& r) {
    if (r.ok()) return out << r.value_;
    return out << to_string(r.error_) << ": " << r.message_;
}

namespace detail {

namespace {

// The log component of cluster mode (a local constant until server/core/log.hpp lists it).
constexpr log::component cluster_log{"cluster"};

void check_options(const redis_options& o) {
    using namespace std::chrono_literals;
    if (o.connect_timeout <= 0ms || o.request_timeout <= 0ms || o.min_backoff <= 0ms || o.ping_interval <= 0ms ||
        o.max_pending == 0 || o.max_pending_bytes == 0)
        throw std::invalid_argument("redis_options: every timeout and bound must be positive");
    if (o.min_backoff > o.max_backoff) throw std::invalid_argument("redis_options: min_backoff > max_backoff");
}

}  // namespace

/**
 * The connection machinery the command client and the subscriber share: one
 * TCP connection to Redis at a time, its handshake, its read loop, its
 * single write in flight, and the reconnects with back-off (the file comment
 * of redis_client.hpp). The derived class sees values and state changes
 * through four virtual functions, all called on the strand.
 *
 * Each attempt gets a fresh `connection`; every handler holds the one it was
 * started for and returns when that is no longer current, so a completion of
 * a closed connection (cancelled reads, late timers) never touches the next.
 */
class redis_link : public std::enable_shared_from_this<redis_link> {
public:
    redis_link(net::any_io_executor ex, redis_options opts, std::string_view role)
        : strand_(net::make_strand(ex)), opts_((check_options(opts), std::move(opts))), role_(role),
          endpoint_(opts_.host + ":" + std::to_string(opts_.port)), resolver_(strand_), retry_timer_(strand_),
          rng_(std::random_device{}()) {}
    virtual ~redis_link() = default;
    redis_link(const redis_link&) = delete;
    redis_link& operator=(const redis_link&) = delete;

    void start() {
        net::post(strand_, [self = shared_from_this()] {
            if (self->state_ == state::idle) self->do_connect();
        });
    }

    void stop() {
        stop_requested_.store(true, std::memory_order_relaxed);
        net::post(strand_, [self = shared_from_this()] {
            if (self->state_ == state::stopped) return;
            self->state_ = state::stopped;
            self->close_connection();
            self->retry_timer_.cancel();
            self->on_stop();
        });
    }

protected:
    using strand_type = net::strand<net::any_io_executor>;

    virtual void on_up() = 0;
    virtual void on_value(resp::value v) = 0;
    /// An up connection was lost; the link reconnects by itself afterwards.
    virtual void on_down(redis_errc reason) = 0;
    virtual void on_stop() = 0;

    bool up() const noexcept { return state_ == state::up; }
    bool stopped() const noexcept { return state_ == state::stopped; }
    /// False once stop() was called (on any thread): hooks are not called from then on.
    bool live() const noexcept { return !stop_requested_.load(std::memory_order_relaxed); }
    /// The bytes the next write carries; flush() starts it.
    std::string& outbox() noexcept { return outbox_; }
    void flush();
    /// Closes the current connection (the derived class found it unusable) and reconnects.
    void drop(redis_errc reason, std::string_view why);
    /// Runs `f` on the strand, with this object alive.
    template <class F>
    void post(F&& f) {
        net::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(); });
    }

    strand_type strand_;
    const redis_options opts_;
    const std::string_view role_;  // "commands", "subscriber": for log lines
    const std::string endpoint_;

private:
    enum class state { idle, connecting, handshaking, up, waiting, stopped };

    struct connection {
        explicit connection(strand_type& s, const resp::limits& l) : socket(s), parser(l) {}
        tcp::socket socket;
        resp::parser parser;
        bool writing = false;
        std::array<char, 64 * 1024> input{};
    };
    using connection_ptr = std::shared_ptr<connection>;

    void do_connect();
    void on_resolve(const connection_ptr& c, boost::system::error_code ec, const tcp::resolver::results_type& results);
    void on_connect(const connection_ptr& c, boost::system::error_code ec);
    void do_read(const connection_ptr& c);
    void on_read(const connection_ptr& c, boost::system::error_code ec, std::size_t n);
    bool on_handshake(const resp::value& v);
    void on_write(const connection_ptr& c, boost::system::error_code ec);
    void fail_attempt(std::string_view why, boost::system::error_code ec = {});
    void lose(redis_errc reason, std::string_view why, boost::system::error_code ec = {});
    void log_failure(std::string_view msg, std::string_view why, boost::system::error_code ec) const;
    void close_connection();
    void schedule_retry();
    steady::duration next_backoff();
    void arm_retry_timer(steady::duration after, void (redis_link::*then)());
    void on_connect_timeout() { fail_attempt("connect timeout"); }

    state state_ = state::idle;
    connection_ptr conn_;
    std::string outbox_;
    tcp::resolver resolver_;
    net::steady_timer retry_timer_;  // the attempt's deadline, then the back-off
    std::uint64_t timer_token_ = 0;  // which arming a timer completion belongs to
    steady::time_point up_since_{};
    unsigned failures_ = 0;  // attempts since the back-off last started again
    std::minstd_rand rng_;
    std::atomic<bool> stop_requested_{false};
};

void redis_link::do_connect() {
    state_ = state::connecting;
    conn_ = std::make_shared<connection>(strand_, opts_.reply_limits);
    arm_retry_timer(opts_.connect_timeout, &redis_link::on_connect_timeout);
    boost::system::error_code ec;
    const auto address = net::ip::make_address(opts_.host, ec);
    if (!ec) {
        const tcp::endpoint to(address, opts_.port);
        conn_->socket.async_connect(to, [self = shared_from_this(), c = conn_](boost::system::error_code e) {
            self->on_connect(c, e);
        });
        return;
    }
    resolver_.async_resolve(opts_.host, std::to_string(opts_.port), tcp::resolver::numeric_service,
                            [self = shared_from_this(), c = conn_](boost::system::error_code e, tcp::resolver::results_type r) {
                                self->on_resolve(c, e, r);
                            });
}

void redis_link::on_resolve(const connection_ptr& c, boost::system::error_code ec, const tcp::resolver::results_type& results) {
    if (c != conn_) return;
    if (ec) return fail_attempt("cannot resolve the host", ec);
    net::async_connect(c->socket, results, [self = shared_from_this(), c](boost::system::error_code e, const tcp::endpoint&) {
        self->on_connect(c, e);
    });
}

// TCP is up; the connection is not until Redis answers the PING.
void redis_link::on_connect(const connection_ptr& c, boost::system::error_code ec) {
    if (c != conn_) return;
    if (ec) return fail_attempt("cannot connect", ec);
    boost::system::error_code ignored;
    c->socket.set_option(tcp::no_delay(true), ignored);
    c->socket.set_option(net::socket_base::keep_alive(true), ignored);
    state_ = state::handshaking;
    outbox_ = "*1\r\n$4\r\nPING\r\n";
    do_read(c);
    flush();
}

void redis_link::do_read(const connection_ptr& c) {
    c->socket.async_read_some(net::buffer(c->input), [self = shared_from_this(), c](boost::system::error_code ec, std::size_t n) {
        self->on_read(c, ec, n);
    });
}

void redis_link::on_read(const connection_ptr& c, boost::system::error_code ec, std::size_t n) {
    if (c != conn_) return;
    if (ec) return lose(redis_errc::disconnected, ec == net::error::eof ? "closed by redis" : "read failed", ec);
    c->parser.feed(std::string_view(c->input.data(), n));
    for (;;) {
        resp::parse_result r = c->parser.next();
        if (r.is_incomplete()) break;
        if (r.failed()) return lose(redis_errc::protocol, r.error().message);
        if (state_ == state::handshaking) {
            if (!on_handshake(*r)) return;
        } else {
            on_value(std::move(*r));
        }
        if (c != conn_) return;  // the value made the derived class drop the connection
    }
    do_read(c);
}

bool redis_link::on_handshake(const resp::value& v) {
    if (!v.is_string() || v.as_string() != "PONG") {
        // -LOADING while Redis reads its data, -NOAUTH, ...: try again later.
        const std::string text = v.is_error() || v.is_string() ? v.as_string() : "not a string";
        log::warn(cluster_log, "redis answered PING with something else",
                  {{"role", role_}, {"redis", endpoint_}, {"reply", text}});
        fail_attempt("handshake failed");
        return false;
    }
    state_ = state::up;
    up_since_ = steady::now();
    ++timer_token_;  // the connect deadline no longer applies
    retry_timer_.cancel();
    log::info(cluster_log, "connected to redis", {{"role", role_}, {"redis", endpoint_}});
    on_up();
    return true;
}

void redis_link::flush() {
    if (!conn_ || conn_->writing || outbox_.empty() || !(state_ == state::up || state_ == state::handshaking)) return;
    conn_->writing = true;
    auto bytes = std::make_shared<std::string>(std::move(outbox_));
    outbox_.clear();
    auto done = [self = shared_from_this(), c = conn_, bytes](boost::system::error_code ec, std::size_t) { self->on_write(c, ec); };
    net::async_write(conn_->socket, net::buffer(*bytes), std::move(done));
}

void redis_link::on_write(const connection_ptr& c, boost::system::error_code ec) {
    if (c != conn_) return;
    c->writing = false;
    if (ec) return lose(redis_errc::disconnected, "write failed", ec);
    flush();
}

void redis_link::drop(redis_errc reason, std::string_view why) {
    if (conn_) lose(reason, why);
}

// An attempt that never came up: nothing was pending on it.
void redis_link::fail_attempt(std::string_view why, boost::system::error_code ec) {
    log_failure("cannot connect to redis", why, ec);
    close_connection();
    schedule_retry();
}

void redis_link::lose(redis_errc reason, std::string_view why, boost::system::error_code ec) {
    if (state_ != state::up) return fail_attempt(why, ec);
    log_failure("lost the redis connection", why, ec);
    // A connection that stayed up for a while ends a flapping streak.
    if (steady::now() - up_since_ >= opts_.max_backoff) failures_ = 0;
    close_connection();
    schedule_retry();
    on_down(reason);
}

void redis_link::log_failure(std::string_view msg, std::string_view why, boost::system::error_code ec) const {
    const std::string error = ec.failed() ? ec.message() : std::string();
    log::warn(cluster_log, msg, {{"role", role_}, {"redis", endpoint_}, {"why", why}, {"error", error}});
}

void redis_link::close_connection() {
    if (conn_) {
        boost::system::error_code ignored;
        conn_->socket.close(ignored);
        conn_.reset();
    }
    resolver_.cancel();
    outbox_.clear();
}

void redis_link::schedule_retry() {
    state_ = state::waiting;
    arm_retry_timer(next_backoff(), &redis_link::do_connect);
}

steady::duration redis_link::next_backoff() {
    const auto shift = std::min(failures_++, 20u);
    const auto ceiling = std::min<steady::duration>(opts_.max_backoff, opts_.min_backoff * (std::int64_t{1} << shift));
    std::uniform_int_distribution<steady::rep> pick(ceiling.count() / 2, ceiling.count());
    return steady::duration(pick(rng_));
}

// One timer serves the attempt's deadline and the back-off; a completion that
// belongs to an earlier arming (it was already queued when the timer was
// re-armed or cancelled) sees another token and does nothing.
void redis_link::arm_retry_timer(steady::duration after, void (redis_link::*then)()) {
    const std::uint64_t token = ++timer_token_;
    retry_timer_.expires_after(after);
    retry_timer_.async_wait([self = shared_from_this(), token, then](boost::system::error_code ec) {
        if (ec || token != self->timer_token_ || self->state_ == state::stopped) return;
        ((*self).*then)();
    });
}

// ---- redis_client --------------------------------------------------------------------------------

namespace {

// Commands after which replies stop coming one per command: the pipeline
// would match them to the wrong requests.
bool breaks_pipeline(const std::vector<std::string>& args) {
    auto is = [](std::string_view a, std::string_view b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                          [](char x, char y) { return std::toupper(static_cast<unsigned char>(x)) == y; });
    };
    const std::string_view name = args.front();
    for (std::string_view c :
         {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR"})
        if (is(name, c)) return true;
    return is(name, "CLIENT") && args.size() > 1 && is(args[1], "REPLY");
}

}  // namespace

class client_impl final : public redis_link {
public:
    client_impl(net::any_io_executor ex, redis_options opts, redis_client::callbacks hooks)
        : redis_link(std::move(ex), std::move(opts), "commands"), hooks_(std::move(hooks)), deadline_timer_(strand_) {}

    void submit(std::vector<std::string> args, redis_client::completion done);

private:
    struct request {
        redis_client::completion done;
        steady::time_point start;
        std::size_t bytes;
    };

    void enqueue(std::vector<std::string> args, request r);
    void refuse(redis_client::completion done, redis_errc e, std::string why);
    void finish(request& r, redis_result result);
    void fail_pending(redis_errc reason);
    void arm_deadline();
    void on_deadline();

    void on_up() override {
        if (hooks_.on_connected && live()) hooks_.on_connected();
    }
    void on_value(resp::value v) override;
    void on_down(redis_errc reason) override;
    void on_stop() override;

    const redis_client::callbacks hooks_;
    std::deque<request> pending_;  // sent or about to be, in order: each reply completes the front
    net::steady_timer deadline_timer_;
    bool deadline_armed_ = false;
    // Counted when command() is called, before the post, so that the bound
    // also covers requests still on their way to the strand.
    std::atomic<std::size_t> count_{0};
    std::atomic<std::size_t> bytes_{0};
};

void client_impl::submit(std::vector<std::string> args, redis_client::completion done) {
    if (args.empty()) return refuse(std::move(done), redis_errc::protocol, "a command needs at least one argument");
    if (breaks_pipeline(args))
        return refuse(std::move(done), redis_errc::protocol,
                      args.front() + " needs a connection of its own (redis_subscriber)");
    std::size_t bytes = 0;
    for (const auto& a : args) bytes += a.size();
    const bool too_many = count_.fetch_add(1, std::memory_order_relaxed) >= opts_.max_pending;
    const bool too_large = bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes > opts_.max_pending_bytes;
    if (too_many || too_large) {
        count_.fetch_sub(1, std::memory_order_relaxed);
        bytes_.fetch_sub(bytes, std::memory_order_relaxed);
        return refuse(std::move(done), redis_errc::overloaded,
                      too_many ? "too many pending requests" : "too many pending bytes");
    }
    request r{std::move(done), steady::now(), bytes};
    post([this, args = std::move(args), r = std::move(r)]() mutable { enqueue(std::move(args), std::move(r)); });
}

void client_impl::refuse(redis_client::completion done, redis_errc e, std::string why) {
    if (!done) return;
    post([done = std::move(done), e, why = std::move(why)]() mutable { done(redis_result(e, std::move(why))); });
}

void client_impl::enqueue(std::vector<std::string> args, request r) {
    if (stopped() || !live()) return finish(r, redis_result(redis_errc::stopped, "the client is stopped"));
    if (!up()) return finish(r, redis_result(redis_errc::disconnected, "not connected to redis"));
    resp::append_command(outbox(), std::span<const std::string>(args));
    pending_.push_back(std::move(r));
    flush();
    arm_deadline();
}

void client_impl::finish(request& r, redis_result result) {
    count_.fetch_sub(1, std::memory_order_relaxed);
    bytes_.fetch_sub(r.bytes, std::memory_order_relaxed);
    if (r.done) std::exchange(r.done, nullptr)(std::move(result));
}

void client_impl::on_value(resp::value v) {
    if (pending_.empty()) return drop(redis_errc::protocol, "a reply without a request");
    request r = std::move(pending_.front());
    pending_.pop_front();
    if (hooks_.on_latency && live()) hooks_.on_latency(steady::now() - r.start);
    if (v.is_error()) {
        std::string text = std::move(v.as_string());
        return finish(r, redis_result(redis_errc::redis_error, std::move(text)));
    }
    finish(r, redis_result(std::move(v)));
}

// Fails every pending request: the oldest with the reason of the close, the
// others with timeout if their own deadline has passed, else disconnected.
// The queue is moved out first: a completion may call command() again.
void client_impl::fail_pending(redis_errc reason) {
    std::deque<request> failing = std::exchange(pending_, {});
    const auto now = steady::now();
    bool first = true;
    for (request& r : failing) {
        redis_errc e = r.start + opts_.request_timeout <= now ? redis_errc::timeout : redis_errc::disconnected;
        if (first || reason == redis_errc::stopped) e = reason;
        first = false;
        finish(r, redis_result(e, e == redis_errc::stopped ? "the client was stopped"
                                  : e == redis_errc::timeout ? "no reply in time; the connection was closed"
                                                             : "the redis connection was lost"));
    }
}

void client_impl::on_down(redis_errc reason) {
    fail_pending(reason);
    if (hooks_.on_disconnected && live()) hooks_.on_disconnected(reason);
}

void client_impl::on_stop() {
    deadline_timer_.cancel();
    fail_pending(redis_errc::stopped);
}

// The oldest request expires first (one timeout for all): the timer waits for
// it, and on expiry either closes the connection or waits for the new oldest.
void client_impl::arm_deadline() {
    if (deadline_armed_ || pending_.empty()) return;
    deadline_armed_ = true;
    deadline_timer_.expires_at(pending_.front().start + opts_.request_timeout);
    deadline_timer_.async_wait([this, self = shared_from_this()](boost::system::error_code) { on_deadline(); });
}

void client_impl::on_deadline() {
    deadline_armed_ = false;
    if (stopped() || pending_.empty()) return;
    if (pending_.front().start + opts_.request_timeout <= steady::now())
        return drop(redis_errc::timeout, "a request timed out");
    arm_deadline();
}

// ---- redis_subscriber ----------------------------------------------------------------------------

class subscriber_impl final : public redis_link {
public:
    subscriber_impl(net::any_io_executor ex, redis_options opts, redis_subscriber::callbacks hooks)
        : redis_link(std::move(ex), std::move(opts), "subscriber"), hooks_(std::move(hooks)), ping_timer_(strand_) {}

    /// (P)SUBSCRIBE or (P)UNSUBSCRIBE one name; `pattern` picks the set.
    void change(std::string name, bool pattern, bool add);

private:
    struct kind {
        std::set<std::string> wanted;      // what to be subscribed to, across reconnects
        std::set<std::string> confirming;  // re-subscribed after the connect, not yet confirmed
        std::string_view subscribe, unsubscribe;
    };

    void send(std::string_view command, const std::vector<std::string_view>& names);
    void resubscribe(kind& k);
    void on_confirmed(kind& k, const std::string& name);
    bool on_push(const std::vector<resp::value>& e);
    void deliver(std::string_view channel, std::string_view payload) {
        if (hooks_.on_message && live()) hooks_.on_message(channel, payload);
    }
    void on_pong() {
        if (!pings_.empty()) pings_.pop_front();
    }
    void arm_ping();
    void on_ping_tick();

    void on_up() override;
    void on_value(resp::value v) override;
    void on_down(redis_errc reason) override;
    void on_stop() override { ping_timer_.cancel(); }

    const redis_subscriber::callbacks hooks_;
    kind channels_{{}, {}, "SUBSCRIBE", "UNSUBSCRIBE"};
    kind patterns_{{}, {}, "PSUBSCRIBE", "PUNSUBSCRIBE"};
    bool resubscribing_ = false;  // on_connected waits for the confirmations
    std::deque<steady::time_point> pings_;  // sent, not yet answered
    net::steady_timer ping_timer_;
    std::uint64_t ping_token_ = 0;
};

void subscriber_impl::change(std::string name, bool pattern, bool add) {
    post([this, name = std::move(name), pattern, add] {
        kind& k = pattern ? patterns_ : channels_;
        if (stopped()) return;
        const bool changed = add ? k.wanted.insert(name).second : k.wanted.erase(name) > 0;
        if (changed && up()) send(add ? k.subscribe : k.unsubscribe, {name});
    });
}

void subscriber_impl::send(std::string_view command, const std::vector<std::string_view>& names) {
    std::vector<std::string_view> args{command};
    args.insert(args.end(), names.begin(), names.end());
    resp::append_command(outbox(), std::span<const std::string_view>(args));
    flush();
}

void subscriber_impl::on_up() {
    pings_.clear();
    arm_ping();
    resubscribing_ = true;
    resubscribe(channels_);
    resubscribe(patterns_);
    if (channels_.confirming.empty() && patterns_.confirming.empty()) {
        resubscribing_ = false;
        if (hooks_.on_connected && live()) hooks_.on_connected();
    }
}

// Everything wanted, a thousand names per command.
void subscriber_impl::resubscribe(kind& k) {
    k.confirming = k.wanted;
    std::vector<std::string_view> names;
    for (const std::string& n : k.wanted) {
        names.push_back(n);
        if (names.size() == 1000) send(k.subscribe, std::exchange(names, {}));
    }
    if (!names.empty()) send(k.subscribe, names);
}

void subscriber_impl::on_confirmed(kind& k, const std::string& name) {
    if (k.wanted.count(name) && hooks_.on_subscribed && live()) hooks_.on_subscribed(name);
    if (!resubscribing_ || !k.confirming.erase(name)) return;
    if (!channels_.confirming.empty() || !patterns_.confirming.empty()) return;
    resubscribing_ = false;
    if (hooks_.on_connected && live()) hooks_.on_connected();
}

void subscriber_impl::on_value(resp::value v) {
    if (v.is_string() && v.as_string() == "PONG") return on_pong();  // PING outside subscribe mode
    if (!v.is_array() || v.elements().empty() || !v.elements()[0].is_string() || !on_push(v.elements())) {
        std::ostringstream text;
        text << v;
        log::warn(cluster_log, "unexpected reply on the redis subscriber",
                  {{"redis", endpoint_}, {"reply", std::string_view(text.str()).substr(0, 200)}});
        drop(redis_errc::protocol, "unexpected reply");
    }
}

// A push is [type, ...]: a message, a pmessage, a (p)subscribe or
// (p)unsubscribe confirmation [type, name, count], or a pong. False for
// anything else (the connection is then dropped).
bool subscriber_impl::on_push(const std::vector<resp::value>& e) {
    const std::string& type = e[0].as_string();
    auto strings = [&](std::size_t n) {
        return e.size() == n && std::all_of(e.begin(), e.end(), [](const resp::value& x) { return x.is_string(); });
    };
    auto confirmation = [&] { return e.size() == 3 && e[1].is_string() && e[2].is_integer(); };
    if (type == "message" && strings(3)) {
        if (channels_.wanted.count(e[1].as_string())) deliver(e[1].as_string(), e[2].as_string());
    } else if (type == "pmessage" && strings(4)) {
        if (patterns_.wanted.count(e[1].as_string())) deliver(e[2].as_string(), e[3].as_string());
    } else if (type == "subscribe" && confirmation()) {
        on_confirmed(channels_, e[1].as_string());
    } else if (type == "psubscribe" && confirmation()) {
        on_confirmed(patterns_, e[1].as_string());
    } else if (type == "pong") {
        on_pong();
    } else if (!((type == "unsubscribe" || type == "punsubscribe") && confirmation())) {
        return false;
    }
    return true;
}

void subscriber_impl::on_down(redis_errc reason) {
    ++ping_token_;
    ping_timer_.cancel();
    pings_.clear();
    resubscribing_ = false;
    channels_.confirming.clear();
    patterns_.confirming.clear();
    if (hooks_.on_disconnected && live()) hooks_.on_disconnected(reason);
}

void subscriber_impl::arm_ping() {
    const std::uint64_t token = ++ping_token_;
    ping_timer_.expires_after(opts_.ping_interval);
    ping_timer_.async_wait([this, self = shared_from_this(), token](boost::system::error_code ec) {
        if (!ec && token == ping_token_ && up()) on_ping_tick();
    });
}

// A PING unanswered for request_timeout means Redis (or the path to it) is
// stuck: a subscriber would otherwise wait for messages forever.
void subscriber_impl::on_ping_tick() {
    if (!pings_.empty() && steady::now() - pings_.front() >= opts_.request_timeout)
        return drop(redis_errc::timeout, "PING unanswered");
    pings_.push_back(steady::now());
    send("PING", {});
    arm_ping();
}

}  // namespace detail

// ---- public wrappers -----------------------------------------------------------------------------

redis_client::redis_client(net::any_io_executor executor, redis_options options, callbacks hooks)
    : impl_(std::make_shared<detail::client_impl>(std::move(executor), std::move(options), std::move(hooks))) {}

redis_client::~redis_client() { stop(); }

void redis_client::start() { impl_->start(); }

void redis_client::stop() { impl_->stop(); }

void redis_client::command(std::vector<std::string> args, completion done) { impl_->submit(std::move(args), std::move(done)); }

redis_subscriber::redis_subscriber(net::any_io_executor executor, redis_options options, callbacks hooks)
    : impl_(std::make_shared<detail::subscriber_impl>(std::move(executor), std::move(options), std::move(hooks))) {}

redis_subscriber::~redis_subscriber() { stop(); }

void redis_subscriber::start() { impl_->start(); }

void redis_subscriber::stop() { impl_->stop(); }

void redis_subscriber::subscribe(std::string channel) { impl_->change(std::move(channel), false, true); }

void redis_subscriber::unsubscribe(std::string channel) { impl_->change(std::move(channel), false, false); }

void redis_subscriber::psubscribe(std::string pattern) { impl_->change(std::move(pattern), true, true); }

void redis_subscriber::punsubscribe(std::string pattern) { impl_->change(std::move(pattern), true, false); }

}  // namespace parley::server::cluster
