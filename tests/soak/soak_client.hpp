// One simulated user's connection, as the browser keeps it, driven by a
// seeded PRNG: it sends, edits, deletes, reacts, joins and leaves rooms,
// reconnects cleanly, and now and then kills its TCP connection.
//
// ## Outbox
// Every change it asks for (message, edit, deletion, reaction) carries a
// client id and stays in the outbox until it is acknowledged with seq 0
// (nothing changed) or a persisted_watermark of its room covers its seq.
// After a reconnect and after a room_reset (for entries acknowledged above
// the base) the entry is sent again with resend=true. Every acknowledgement
// is logged; one client id acknowledged with two different seqs (without a
// reset between) is a violation, and the final check looks each logged seq
// up in the database.
//
// ## Views
// A room_view per room, fed from room_joined, room_reset, history pages and
// the events, replayed or live (room_view.hpp checks order, gaps and
// duplicates). A view outlives leaving its room: a later join resumes from
// its position.
//
// ## Pacing
// Think times are a pump of the inbox (packets are handled while waiting);
// requests wait for a token of the user's rate_budget the same way. Waits
// for an answer (room_joined, room_left, an outbox draining) wait on the
// packets, with a timeout that makes a stall a violation.
#pragma once

#include "tests/soak/rate_budget.hpp"
#include "tests/soak/room_view.hpp"
#include "tests/soak/soak_world.hpp"
#include "tests/support/ws_client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace parley::soak {

struct client_setup {
    int index = 0;
    std::string username;
    std::string token;     ///< session token (sent as the cookie)
    std::string from;      ///< loopback source address, unique per client (to find its socket)
    std::uint16_t port = 0;
    std::vector<std::string> rooms;  ///< every room of the soak
    rate_budget* budget = nullptr;
    std::uint64_t seed = 0;
};

/// An acknowledged change, as the final check looks it up.
struct acked_change {
    std::string room;
    protocol::packet_kind kind{};
    std::uint64_t seq = 0;  ///< 0: it changed nothing
    std::string text;       ///< for a message: what was sent
};

class soak_client {
public:
    using clock = std::chrono::steady_clock;

    soak_client(client_setup setup, soak_stats& stats, violation_log& violations);
    ~soak_client();

    /// Connects, joins 2-4 rooms, runs operations until `until`, then waits
    /// (up to `settle`) for its outbox to drain. Never throws.
    void run(clock::time_point until, std::chrono::milliseconds settle);
    /// Waits until every room it is in shows event `last[room]`.
    void catch_up(const std::map<std::string, std::uint64_t>& last, std::chrono::milliseconds timeout);

    const std::string& username() const { return setup_.username; }
    int index() const { return setup_.index; }
    std::uint64_t user_id() const { return user_id_; }
    const std::set<std::string>& rooms() const { return rooms_; }
    const std::map<std::string, room_view>& views() const { return views_; }
    const std::map<std::uint64_t, acked_change>& acked() const { return acked_; }

private:
    using request = std::variant<protocol::send_message, protocol::edit_message, protocol::delete_message,
                                 protocol::set_reaction>;
    struct entry {
        std::string room;
        request req;
        std::uint64_t seq = 0;
        bool acked = false;
        bool due = false;       // to be sent again (with resend=true)
        bool was_reset = false;  // its seq was taken back by a room_reset
        clock::time_point not_before{};
    };

    // ---- connection
    void connect();
    void rejoin_all();
    void reconnect_cleanly();
    void kill_connection();
    void ensure_connected();
    bool kill_socket();

    // ---- waiting
    void pump_for(std::chrono::milliseconds d);
    bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
    void take_token(protocol::packet_kind kind);

    // ---- packets
    void absorb(const protocol::packet& p);
    void absorb_room_packet(const std::string& room, const protocol::packet& p);
    void on_joined(const protocol::room_joined& j);
    void on_reset(const std::string& room, const protocol::room_reset& r);
    void on_ack(const protocol::ack& a);
    void on_error(const protocol::error_report& e);
    void prune(const std::string& room);
    std::string room_of(std::uint32_t room_id);
    void violation(const std::string& what);

    // ---- operations
    void do_operation();
    void do_send();
    void do_edit();
    void do_delete();
    void do_react();
    void do_join();
    void do_leave();
    bool join(const std::string& room);
    void submit(const std::string& room, request req);
    void transmit(std::uint64_t client_id, entry& e, bool resend);
    void flush_outbox();
    bool settle_room(const std::string& room, std::chrono::milliseconds timeout);
    std::string pick_joined_room();
    std::uint64_t pick_message(const std::string& room, bool own);
    std::uint64_t next_client_id() { return (static_cast<std::uint64_t>(setup_.index) + 1) << 32 | ++ids_; }

    client_setup setup_;
    soak_stats& stats_;
    violation_log& violations_;
    std::mt19937_64 rng_;
    std::unique_ptr<testing::ws_client> ws_;
    bool killed_ = false;  // ws_ was closed by us without a close frame
    std::uint64_t user_id_ = 0;
    std::uint64_t ids_ = 0;
    std::uint64_t texts_ = 0;

    std::set<std::string> rooms_;                     // rooms it means to be in
    std::map<std::string, std::uint32_t> room_ids_;  // joined on this connection
    std::map<std::string, std::uint64_t> watermarks_;
    std::set<std::string> leaving_;
    std::map<std::string, room_view> views_;
    std::map<std::uint64_t, entry> outbox_;  // by client id
    std::map<std::uint64_t, acked_change> acked_;
};

}  // namespace parley::soak
