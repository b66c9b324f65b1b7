// One WebSocket connection: authentication, packet dispatch, and the write
// path of its send queue.
//
// THREADING
// Everything runs on the connection's event loop (the executor of its
// socket), which exactly one thread runs, so the loop serialises the
// session's handlers without a strand. Other threads reach it only through
// its send_queue (rooms) or by posting (shutdown), never by touching the
// stream.
//
// WRITE PATH
// Exactly one write is in flight at a time. A push into an idle queue on the
// session's own loop (a room's fan-out, the session's own replies) starts the
// write at once: dispatch runs do_write inline, and Asio tries the send right
// away, so an idle connection's delivery is one non-blocking send with no
// post in between. From another thread the push posts. When a write completes, the session
// takes everything that queued up meanwhile and sends it as one WebSocket
// message: the packet itself if there is one, else a batch packet whose
// envelope (header and CRC) is computed here and whose contents are the
// shared, already-encoded packets: joined into one buffer when they are small
// (up to bounds::max_joined_batch_bytes), gathered without copying otherwise.
//
// ERRORS
// Each malformed or refused packet gets an error packet; the connection
// survives occasional errors and is closed (policy error) after
// config::max_protocol_errors of them or config::max_rate_violations
// rate-limited requests. Leaving rooms happens in one place, end(), which
// every path out of the session goes through.
#pragma once

#include "server/chat/send_queue.hpp"
#include "server/net/server_context.hpp"
#include "server/net/transport.hpp"
#include "server/store/accounts.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::server {

class websocket_session : public std::enable_shared_from_this<websocket_session> {
public:
    /// `slot` is the connection's place in its address's count, held until the session is destroyed.
    websocket_session(transport&& stream, server_context& ctx, std::string remote, connection_cap::slot slot);
    ~websocket_session();

    /// Accepts the upgrade request; `cookie_token` authenticates at once if valid.
    void run(boost::beast::http::request<boost::beast::http::string_body> req, std::string cookie_token);
    /// Closes with "going away" after flushing what is queued. Any thread.
    void shutdown();
    /// The session was signed out or expired: says so (auth_failed) and closes. Any thread.
    void sign_out();
    /// The user's room list changed (room_list with `joined`, or `left` when
    /// `entry` is empty). Any thread.
    void room_list_changed(std::uint32_t room_id, const std::optional<protocol::room_entry>& entry);

private:
    void on_accept(boost::system::error_code ec);
    void authenticate(std::string token);
    void on_authenticated(std::optional<session_info> session, std::string token);
    /// The session looked up again once bound (a revocation may have run in between).
    void recheck_session(std::string token);
    void do_read();
    void on_probe(boost::system::error_code ec, std::size_t bytes);
    void on_read(boost::system::error_code ec, std::size_t bytes);
    void handle_message(std::span<const std::uint8_t> message);
    void resume();
    void refuse_text();
    void handle(protocol::packet& p);
    void handle_join(const protocol::join_room& p);
    void handle_create(const protocol::create_room& p);
    void handle_open_direct(const protocol::open_direct& p);
    void handle_manage(protocol::manage_room& p);
    void handle_decline(const protocol::decline_invite& p);
    using outcome = room_registry::outcome;
    using room_ptr = room_registry::room_ptr;
    /// Holds reading back until the registry answers; `then` gets the answer
    /// on this session's executor, if the connection is still open.
    room_registry::outcome_handler after_lookup(std::function<void(outcome)> then);
    /// An error answer; room_unavailable carries a retry hint.
    void refuse(protocol::error_code code, protocol::packet_kind kind, std::uint64_t ref);
    /// Joins the room of `o`, or refuses with its error (no room: internal_error).
    void enter_or_refuse(outcome o, protocol::packet_kind kind, std::uint64_t ref, std::uint64_t epoch,
                         std::uint64_t since_seq);
    /// Joins `r` on this connection (after every check).
    void enter(std::shared_ptr<room> r, std::uint64_t epoch, std::uint64_t since_seq);
    /// This connection as a room sees it; `generation` names the join.
    room_member as_member(std::uint64_t generation);
    void send_room_list();
    void handle_leave(const protocol::leave_room& p);
    void handle_send(protocol::send_message& p);
    room::done_handler hold_until_answered(bool resend);
    void send_welcome();
    void handle_room_request(protocol::packet& p, std::uint32_t room_id);
    std::shared_ptr<room> joined_room(std::uint32_t room_id, protocol::packet_kind kind);
    /// Takes a token, or refuses with `refusal` and the wait (rate_limited
    /// for rates; room_quota for the hourly quotas).
    bool allow(rate_limiter& limiter, retry_discipline::limit which, protocol::packet_kind kind, std::uint64_t ref,
               protocol::error_code refusal = protocol::error_code::rate_limited);

    void send(const protocol::packet& p);
    void send_error(protocol::error_code code, protocol::packet_kind kind, std::uint64_t ref,
                    std::uint32_t retry_after_ms = 0);
    void count_protocol_error();
    void on_overflow();
    void do_write();
    void on_write(boost::system::error_code ec, std::size_t bytes);
    void do_close(boost::beast::websocket::close_reason reason);
    void send_close(boost::beast::websocket::close_reason reason);
    void end();

    // A plain socket (or TLS over one) underneath: the websocket stream has
    // its own timeouts, and every byte per connection counts when idle
    // connections number thousands.
    boost::beast::websocket::stream<transport> ws_;
    boost::asio::io_context* loop_;  // the event loop the socket lives on
    // Reading: an idle connection waits on a small read into probe_ (Beast's
    // whole-message read would hold a 1.5 KiB buffer per idle connection);
    // a message longer than the probe is finished into buffer_, which is
    // released again afterwards.
    std::array<std::uint8_t, 128> probe_;
    boost::beast::flat_buffer buffer_;
    server_context& ctx_;
    const std::string remote_;
    const std::uint64_t id_;
    connection_cap::slot slot_;
    std::shared_ptr<send_queue> queue_;

    std::deque<protocol::packet> pending_;  // decoded, not yet handled (one message's packets)
    std::optional<user_identity> user_;
    std::string_view user_name() const { return user_ ? std::string_view(user_->username) : std::string_view(); }
    struct joined {
        std::shared_ptr<parley::server::room> room;
        std::uint64_t generation = 0;  ///< which join: a removal of an earlier one leaves a later one be
    };
    std::unordered_map<std::uint32_t, joined> rooms_;
    std::uint64_t joins_ = 0;
    std::size_t protocol_errors_ = 0;
    retry_discipline discipline_;

    /// Where the connection is in its life; it only moves forward.
    enum class phase : std::uint8_t {
        handshake,  ///< the upgrade is being accepted
        open,       ///< reading and writing
        draining,   ///< writing what is queued, then the close frame with drain_reason_
        closing,    ///< the close frame is out; a pending read sees the closing handshake end
        ended,      ///< rooms left, gone from the registry
    };
    phase phase_ = phase::handshake;
    boost::beast::websocket::close_reason drain_reason_;

    std::vector<shared_packet> writing_;  // the packets of the write in flight
    std::vector<std::uint8_t> joined_;    // or its batch, joined into one buffer (small packets)
    protocol::batch_envelope envelope_;
    bool write_in_flight_ = false;
    bool reading_ = false;
    bool read_paused_ = false;  // waiting for authentication or a resend check
};

}  // namespace parley::server
