// Redis connections on Boost.Asio for cluster mode: redis_client runs
// commands, redis_subscriber receives pub/sub messages. A Redis connection in
// subscribe mode cannot run commands, so a node holds one of each.
//
// DESIGN
// Each object owns one TCP connection at a time and does all its work on a
// strand of the executor it is given; nothing blocks that thread (no
// blocking connect, no blocking DNS: a numeric host is used as is, a name is
// resolved with async_resolve before each attempt). Public functions may be
// called from any thread: they only post to the strand. Every callback runs
// on the strand, never inside the public call that caused it.
//
// CONNECTING
// An attempt is: resolve, TCP connect, then PING answered by +PONG, all
// within connect_timeout. Only then is the connection up and on_connected
// called: a Redis that is stopped (SIGSTOP) still completes TCP handshakes
// from its listen backlog, and one that is loading its data answers
// -LOADING, and neither is up. A failed attempt or a lost connection is
// retried after a back-off: min_backoff, doubled per failure up to
// max_backoff, each delay drawn from [d/2, d] so that nodes which lost the
// same Redis do not return in step; a connection that stayed up for
// max_backoff starts the sequence again at min_backoff.
//
// PIPELINING (redis_client)
// command() encodes its arguments into the connection's output buffer and
// appends its completion to the pending queue. One write is in flight at a
// time and carries everything queued since the previous one started, so a
// burst of commands leaves in one or a few segments. Redis answers the
// commands of one connection in order, one reply each, so each reply
// completes the front of the queue. Commands whose replies do not come one
// per command (SUBSCRIBE and its kin, MONITOR, CLIENT REPLY) are refused.
// A blocking command (BLPOP, XREAD BLOCK) would hold every later reply back:
// give it a connection of its own.
//
// TIMEOUTS (redis_client)
// Every request must be answered within request_timeout of its command()
// call. One timer watches the oldest pending request (they share one
// timeout, so it expires first). When it expires, its reply may still come,
// and skipping it would need to know that it is the next one; instead the
// connection is closed: requests past their deadline fail with timeout,
// the others with disconnected, and the client reconnects. So a late reply
// can never complete the wrong request.
//
// CONNECTION LOSS
// Everything pending fails (disconnected; timeout or protocol for the
// request that caused the close), on_disconnected is called, and the client
// reconnects by itself. While the connection is not up, command() fails at
// once with disconnected: nothing is held across a reconnect, so a request
// is never sent twice by a silent retry, and the commands on_connected
// issues (FUNCTION LOAD, the cluster layer's repairs) run before any later
// command. A request that was sent and then failed (timeout, or
// disconnected with "the redis connection was lost") may still have run in
// Redis: its outcome is unknown, so a command that is retried must be
// idempotent (as a publish keyed by its client message id is).
//
// The subscriber instead re-subscribes to every channel and pattern after a
// reconnect and calls on_connected once Redis has confirmed all of them:
// messages published while it was away are lost (pub/sub is at most once),
// and on_connected is the caller's cue to repair from the log. It also
// sends a PING every ping_interval, so a Redis that stops answering is
// noticed within request_timeout + ping_interval even when no message flows.
//
// BOUNDS
// Requests pending (queued or awaiting their reply) and their argument bytes
// are bounded (max_pending, max_pending_bytes); beyond either, command()
// fails with overloaded instead of queueing. Replies are parsed within
// reply_limits (resp.hpp). The subscriber's channels are the caller's bound.
//
// GUARANTEES
// - Every command()'s completion runs exactly once, on the strand, with the
//   reply or an error. Replies complete requests in the order the commands
//   reached the strand: for the commands of one thread, their command() order.
// - stop() (and the destructor, which calls it) closes the connection and
//   completes with stopped every request still pending when it runs.
//   Completions still run after the destructor returns (the shared state
//   lives until its last handler has run), so they must not capture what
//   dies with the client.
//   Hooks (on_connected, on_message, ...) are not called once stop() has
//   been called (one already running on another thread may still finish).
// - If the io_context is destroyed or never run again, pending completions
//   are destroyed without being called (as every Asio handler is).
#pragma once

#include "server/cluster/resp.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace parley::server::cluster {

/// Why a command has no reply. A Redis error reply is redis_error.
enum class redis_errc : std::uint8_t {
    disconnected = 1,  ///< not connected, or the connection was lost before the reply
    timeout,           ///< no reply within request_timeout (the connection was then closed)
    overloaded,        ///< max_pending or max_pending_bytes reached: refused, never sent
    protocol,          ///< a malformed or unexpected reply (the connection was closed), or a refused command
    redis_error,       ///< Redis answered with an error; message() holds its text
    stopped,           ///< stop() or the destructor came first
};

/// The errc's name ("timeout").
std::string_view to_string(redis_errc e) noexcept;

/// A command's outcome: Redis' reply, or why there is none.
class redis_result {
public:
    redis_result(resp::value reply) : value_(std::move(reply)) {}
    redis_result(redis_errc error, std::string message) : error_(error), message_(std::move(message)) {}

    bool ok() const noexcept { return error_ == redis_errc{}; }
    explicit operator bool() const noexcept { return ok(); }
    /// @throws resp::bad_access unless ok()
    const resp::value& value() const&;
    resp::value& value() &;
    resp::value&& value() &&;
    /// Meaningful only when !ok().
    redis_errc error() const noexcept { return error_; }
    /// Redis' error text ("ERR unknown command 'NOPE'...") or what went wrong.
    const std::string& message() const noexcept { return message_; }

    friend std::ostream& operator<<(std::ostream& out, const redis_result& r);

private:
    redis_errc error_{};
    resp::value value_;
    std::string message_;
};

/// Where Redis is and how hard to try. Each bound says why it is what it is.
struct redis_options {
    /// A numeric address is connected to as is; a name is resolved
    /// asynchronously before each attempt (a Redis that moves is found again).
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    /// Resolve + TCP connect + PING: a local Redis answers in well under 1 ms;
    /// one that takes a second is in no state to serve a chat.
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(1);
    /// From command() to its reply. Parley's scripts are O(1); 2 s means
    /// Redis is stalled, and the reconnect that follows is the cheapest way
    /// to keep replies in step (file comment, TIMEOUTS). Also bounds a
    /// subscriber's unanswered PING.
    std::chrono::milliseconds request_timeout = std::chrono::seconds(2);
    /// Reconnect delays: fast enough that a restart costs a blink, slow
    /// enough that N nodes do not hammer a Redis that is down.
    std::chrono::milliseconds min_backoff = std::chrono::milliseconds(50);
    std::chrono::milliseconds max_backoff = std::chrono::seconds(2);
    /// Requests queued or awaiting a reply: about 2 s of a busy node's
    /// publishes. More would only wait for the timeout.
    std::size_t max_pending = 10000;
    /// Their argument bytes together (a request larger than this is always refused).
    std::size_t max_pending_bytes = std::size_t{64} * 1024 * 1024;
    /// Subscriber only: how often it proves the connection alive with PING.
    std::chrono::milliseconds ping_interval = std::chrono::seconds(1);
    /// What one reply may hold.
    resp::limits reply_limits;
};

namespace detail {
class client_impl;
class subscriber_impl;
}  // namespace detail

/** Runs commands on one pipelined connection (file comment). */
class redis_client {
public:
    using completion = std::function<void(redis_result)>;

    /// Called on the strand; each may be empty.
    struct callbacks {
        /// After each connect or reconnect, once Redis has answered PING.
        std::function<void()> on_connected;
        /// After an up connection was lost (pending requests have failed by then);
        /// the reason is disconnected, timeout or protocol.
        std::function<void(redis_errc reason)> on_disconnected;
        /// Each reply's round trip: from its command() call to the reply.
        std::function<void(std::chrono::nanoseconds)> on_latency;
    };

    /** @throws std::invalid_argument for a zero bound or min_backoff > max_backoff */
    redis_client(boost::asio::any_io_executor executor, redis_options options, callbacks hooks = {});
    redis_client(boost::asio::io_context& io, redis_options options, callbacks hooks = {})
        : redis_client(io.get_executor(), std::move(options), std::move(hooks)) {}
    ~redis_client();  ///< stop()
    redis_client(const redis_client&) = delete;
    redis_client& operator=(const redis_client&) = delete;

    /// Starts connecting (and reconnecting, until stop()). Any thread.
    void start();
    /// Closes the connection; pending requests complete with stopped. Idempotent, any thread.
    void stop();

    /** Sends one command, pipelined behind those before it. Any thread.
     *  @param args the command and its arguments, binary safe (at least one)
     *  @param done runs once on the strand with the reply or the error
     *         (overloaded, disconnected, ... at once when refused); may be empty */
    void command(std::vector<std::string> args, completion done);

private:
    std::shared_ptr<detail::client_impl> impl_;
};

/** Receives pub/sub messages on a connection of its own (file comment). */
class redis_subscriber {
public:
    /// Called on the strand; each may be empty.
    struct callbacks {
        /// A message on a subscribed channel, or on a channel that matches a
        /// subscribed pattern (then `channel` is the channel it was published to).
        std::function<void(std::string_view channel, std::string_view payload)> on_message;
        /// Redis confirmed a subscription (a channel or a pattern), also after each reconnect.
        std::function<void(std::string_view channel_or_pattern)> on_subscribed;
        /// After each connect or reconnect, once every subscription is confirmed:
        /// messages from before may have been missed.
        std::function<void()> on_connected;
        /// After an up connection was lost: disconnected, timeout (PING unanswered) or protocol.
        std::function<void(redis_errc reason)> on_disconnected;
    };

    /** @throws std::invalid_argument for a zero bound or min_backoff > max_backoff */
    redis_subscriber(boost::asio::any_io_executor executor, redis_options options, callbacks hooks);
    redis_subscriber(boost::asio::io_context& io, redis_options options, callbacks hooks)
        : redis_subscriber(io.get_executor(), std::move(options), std::move(hooks)) {}
    ~redis_subscriber();  ///< stop()
    redis_subscriber(const redis_subscriber&) = delete;
    redis_subscriber& operator=(const redis_subscriber&) = delete;

    /// Starts connecting (and reconnecting, until stop()). Any thread.
    void start();
    /// Closes the connection; no callback runs afterwards. Idempotent, any thread.
    void stop();

    /// Adds a channel (kept across reconnects); a no-op if already subscribed. Any thread.
    void subscribe(std::string channel);
    /// Removes a channel; its messages stop at once, even before Redis confirms. Any thread.
    void unsubscribe(std::string channel);
    /// The same for a glob-style pattern (PSUBSCRIBE).
    void psubscribe(std::string pattern);
    void punsubscribe(std::string pattern);

private:
    std::shared_ptr<detail::subscriber_impl> impl_;
};

}  // namespace parley::server::cluster
