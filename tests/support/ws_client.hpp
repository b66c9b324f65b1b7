// A WebSocket client for tests and tools, speaking Parley's protocol.
//
// It runs its own io_context on a background thread: a read loop decodes
// every incoming message (batches flattened) into an inbox the caller waits
// on with a timeout, and writes are posted to that thread and awaited. So a
// test never blocks forever and never touches the stream from two threads.
#pragma once

#include "protocol/codec.hpp"

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace parley::testing {

using namespace std::chrono_literals;

struct ws_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string from;  ///< loopback source address (any of 127.0.0.0/8); empty: the kernel's choice
    std::string target = "/ws";
    std::map<std::string, std::string> headers;  ///< e.g. Cookie, Origin
    std::size_t read_limit = 64 * 1024 * 1024;
    bool read = true;  ///< false: never read (a slow consumer)
};

/// Thrown when a connection or handshake fails; carries the HTTP status of a refused upgrade.
struct ws_error : std::runtime_error {
    ws_error(const std::string& what, int status) : std::runtime_error(what), http_status(status) {}
    int http_status;
};

class ws_client {
public:
    explicit ws_client(ws_options opts);
    ~ws_client();
    ws_client(const ws_client&) = delete;
    ws_client& operator=(const ws_client&) = delete;

    /// Encodes and sends one packet; waits until it is written.
    void send(const protocol::packet& p);
    /// Sends raw bytes as one binary message.
    void send_raw(std::vector<std::uint8_t> bytes);
    /// Sends `message` as one binary message split into frames of at most
    /// `fragment_size` bytes (RFC 6455 continuation frames), with a ping
    /// between the fragments if asked; waits until all are written.
    void send_fragmented(std::vector<std::uint8_t> message, std::size_t fragment_size, bool ping_between = false);
    /// Sends a text message (not part of the protocol).
    void send_text(std::string text);

    /// The next packet, or nullopt after `timeout` (or once the connection closed).
    std::optional<protocol::packet> next(std::chrono::milliseconds timeout = 3s);

    /// The next packet of type T satisfying `pred`, skipping other packets.
    /// @throws std::runtime_error on timeout, naming what was skipped
    template <class T, class Pred>
        requires std::predicate<Pred&, const T&>
    T wait_for(Pred pred, std::chrono::milliseconds timeout = 3s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::string skipped;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            auto p = next(std::max(left, 0ms));
            if (!p) throw std::runtime_error("timed out waiting for " + std::string(protocol::kind_name(T::kind)) +
                                             "; skipped: [" + skipped + "]" + close_note());
            if (auto* t = std::get_if<T>(&*p); t && pred(*t)) return *t;
            skipped += std::string(protocol::kind_name(protocol::kind_of(*p))) + " ";
        }
    }
    template <class T>
    T wait_for(std::chrono::milliseconds timeout = 3s) {
        return wait_for<T>([](const T&) { return true; }, timeout);
    }

    /// True if no packet of type T arrives within `window` (others are consumed).
    template <class T>
    bool none_of_type(std::chrono::milliseconds window) {
        const auto deadline = std::chrono::steady_clock::now() + window;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) return true;
            auto p = next(left);
            if (!p) return true;
            if (std::holds_alternative<T>(*p)) return false;
        }
    }

    /// Closes with a normal close frame and waits for the read loop to end.
    void close();
    /// Waits until the server closes the connection; its close code, if any.
    std::optional<int> wait_closed(std::chrono::milliseconds timeout = 5s);
    bool is_open();
    /// Messages received, WebSocket messages (a batch counts once).
    std::size_t messages_received();
    /// Decode failures of incoming messages (a correct server sends none).
    std::size_t decode_failures();
    /// Begins reading (for a client created with read = false).
    void start_reading();

private:
    struct impl;
    std::string close_note();
    std::unique_ptr<impl> impl_;
};

// ---- HTTP ------------------------------------------------------------------------

struct http_result {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  ///< lower-case names; repeated ones joined by "\n"
};

/** One HTTP/1.1 request on a fresh connection, from loopback address `from`
 *  (any of 127.0.0.0/8; empty: the kernel's choice). */
http_result http_call(std::uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body = {}, std::map<std::string, std::string> headers = {},
                      const std::string& from = {});

/** From now on ws_client and http_call speak TLS (to a server started with
 *  --tls-cert), trusting only the certificates in `ca_file` and checking the
 *  host name; an empty `ca_file` goes back to plain TCP. Any thread. */
void use_tls(const std::string& ca_file);

/** Registers (or, if taken, logs in) a user with a fixed password; returns its session token. */
std::string sign_up(std::uint16_t port, const std::string& username, const std::string& password = "correct horse");

}  // namespace parley::testing
