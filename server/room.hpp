// A chat room: its members, its sequence numbers, its recent messages, and
// who is online and typing in it.
//
// THREADING
// All state lives on the room's strand. Public methods may be called from any
// thread; they post to the strand and return. Replies and broadcasts go into
// members' send queues, which never block, so a room never waits for a
// socket. Storage reads (history older than the cache, messages touched
// after they left the cache, resend checks) run on storage threads and come
// back to the strand.
//
// ORDER
// Everything one member receives from a room is queued from the room's
// strand, so it arrives in the order the room decided it: a message before
// its ack, a join's replay before live traffic.
//
// MEMORY
// The cache holds the newest messages (config::room_cache_messages), never
// evicting one that is not yet on disk; together with storage it covers every
// sequence number from 1 up, without gaps. Messages older than the cache that
// someone edits, deletes or reacts to are "pinned" in memory, so a later read
// sees the change even before the writer has committed it.
#pragma once

#include "server/config.hpp"
#include "server/events.hpp"
#include "server/metrics.hpp"
#include "server/send_queue.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

namespace parley::server {

/// What a room needs to reach one connection.
struct room_member {
    std::uint64_t connection_id = 0;
    std::uint64_t user_id = 0;
    std::string username;
    std::shared_ptr<send_queue> queue;
};

struct room_services {
    const config& cfg;
    metrics& stats;
    event_sink* sink = nullptr;     ///< may be null (nothing persisted)
    message_store* store = nullptr; ///< may be null (memory only)
};

class room : public std::enable_shared_from_this<room> {
public:
    using clock = std::chrono::steady_clock;
    using executor = boost::asio::strand<boost::asio::io_context::executor_type>;

    /// @param last_seq highest sequence already stored (the next message gets last_seq + 1)
    room(boost::asio::io_context& io, room_services services, std::uint32_t id, std::string name,
         std::uint64_t last_seq);

    std::uint32_t id() const noexcept { return id_; }
    const std::string& name() const noexcept { return name_; }

    // ---- requests from connections (any thread) ----------------------------
    void join(room_member member, std::uint64_t since_seq);
    /// @param reply send room_left to the member (false when its connection is gone)
    void leave(std::uint64_t connection_id, bool reply);
    /// @param done called on the room's strand once the message is acked or refused
    void post_message(std::uint64_t connection_id, protocol::send_message msg, clock::time_point received_at,
                      std::function<void()> done = {});
    void edit_message(std::uint64_t connection_id, protocol::edit_message msg);
    void delete_message(std::uint64_t connection_id, protocol::delete_message msg);
    void toggle_reaction(std::uint64_t connection_id, protocol::toggle_reaction msg);
    void set_typing(std::uint64_t connection_id, bool active);
    void request_history(std::uint64_t connection_id, protocol::request_history req);

    // ---- from storage --------------------------------------------------------
    /// Every message up to `seq` is on disk: tell members, let the cache shrink.
    void persisted(std::uint64_t seq);

    /// Snapshot for GET /api/rooms (read without the strand; may lag slightly).
    std::uint64_t last_seq_approx() const noexcept { return last_seq_published_.load(std::memory_order_relaxed); }
    std::size_t members_approx() const noexcept { return members_published_.load(std::memory_order_relaxed); }

private:
    struct presence_entry {
        std::string username;
        int connections = 0;
        std::optional<clock::time_point> offline_at;  // grace period running
    };
    using states_handler = std::function<void(std::vector<message_state>)>;

    template <class F>
    void on_strand(F&& f);
    void when_warm(std::function<void()> op);
    /// Runs `op` with the connection's membership; defers it while the
    /// connection's join is still loading, drops it if the connection left.
    void when_member(std::uint64_t connection_id, std::function<void(const room_member&)> op);
    void start_warming();

    // messages
    void do_post(std::uint64_t connection_id, protocol::send_message msg, clock::time_point received_at,
                 std::shared_ptr<void> guard);
    void accept_message(const room_member& m, protocol::send_message msg, clock::time_point received_at);
    void ack(const room_member& m, std::uint64_t client_msg_id, std::uint64_t seq, std::int64_t sent_at);
    void apply_edit(const room_member& m, std::uint64_t seq, std::string text);
    void apply_delete(const room_member& m, std::uint64_t seq);
    void apply_reaction(const room_member& m, std::uint64_t seq, protocol::reaction_kind r);
    /// Runs `op` with the message's state, loading and pinning it if it is older than the cache.
    void with_message(const room_member& m, std::uint8_t request_kind, std::uint64_t seq,
                      std::function<void(const room_member&, message_state&)> op);
    message_state* find_in_memory(std::uint64_t seq);

    // reading
    void collect(std::uint64_t from, std::uint64_t to, states_handler done);
    /// Sends states as history pages of at most max_history_page messages; the
    /// first page has `mode`, later ones `replay` (they continue it).
    void send_pages(const room_member& m, protocol::history_mode mode, bool has_more,
                    const std::vector<message_state>& states);
    void pin(message_state state);
    void finish_join(room_member member, protocol::history_mode mode, std::vector<message_state> states);
    void trim_cache();

    // presence and typing
    void add_presence(const room_member& m);
    void remove_presence(std::uint64_t user_id);
    void clear_typing(std::uint64_t user_id, const std::string& username);
    /// Makes sure the sweep timer fires by `deadline` (O(1); the sweep itself scans).
    void schedule_sweep(clock::time_point deadline);
    void sweep();

    // sending
    /// Queues `p` for every member but `except_connection` and every connection of `except_user`.
    void broadcast(const protocol::packet& p, bool ephemeral = false, std::uint64_t except_connection = 0,
                   std::uint64_t except_user = 0);
    void send_to(const room_member& m, const protocol::packet& p, bool ephemeral = false);
    void deliver(const room_member& m, const shared_packet& packet, bool ephemeral);
    void send_error(const room_member& m, protocol::error_code code, std::uint8_t ref_kind, std::uint64_t ref,
                    std::uint32_t retry_after_ms = 0);
    const room_member* member(std::uint64_t connection_id) const;
    void publish_stats();

    executor strand_;
    room_services svc_;
    const std::uint32_t id_;
    const std::string name_;
    std::uint64_t last_seq_;
    std::uint64_t persisted_seq_;
    boost::asio::steady_timer sweep_timer_;
    std::optional<clock::time_point> sweep_at_;

    bool warm_ = false;
    bool warming_ = false;
    std::vector<std::function<void()>> waiting_for_warm_;

    std::unordered_map<std::uint64_t, room_member> members_;     // by connection id
    std::unordered_map<std::uint64_t, std::vector<std::function<void()>>> joining_;  // deferred requests
    std::unordered_map<std::uint64_t, presence_entry> online_;   // by user id
    struct typing_entry {
        clock::time_point expiry;
        std::string username;
    };
    std::unordered_map<std::uint64_t, typing_entry> typing_;       // by user id
    std::deque<message_state> cache_;                            // ascending
    std::uint64_t cache_first_ = 1;                              // the cache covers [cache_first_, last_seq_]
    std::map<std::uint64_t, message_state> pinned_;              // older than the cache, recently changed
    std::deque<std::uint64_t> pin_order_;

    struct dedup_key {
        std::uint64_t user_id, client_msg_id;
        bool operator==(const dedup_key&) const = default;
    };
    struct dedup_hash {
        std::size_t operator()(const dedup_key& k) const noexcept {
            return std::hash<std::uint64_t>{}(k.user_id * 0x9E3779B97F4A7C15ULL ^ k.client_msg_id);
        }
    };
    std::unordered_map<dedup_key, stored_ack, dedup_hash> recent_ids_;  // messages in the cache

    std::atomic<std::uint64_t> last_seq_published_{0};
    std::atomic<std::size_t> members_published_{0};
};

}  // namespace parley::server
