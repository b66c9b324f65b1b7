// A chat room: its members, its sequence of events and its epochs; it
// dispatches every request of its members to the parts that keep the state
// (timeline.hpp: recent events and messages; presence.hpp: who is online and
// typing) and sends the results.
//
// THREADING
// All state lives on the room's strand. Public methods may be called from any
// thread; they post to the strand and return. Replies and broadcasts go into
// members' send queues, which never block, so a room never waits for a
// socket. Storage reads run on storage threads and come back to the strand.
//
// ORDER
// Everything one member receives from a room is queued from the room's
// strand and handed to the member's event loop in that order (fanout.hpp),
// so it arrives in the order the room decided it: an event before its ack,
// a join's replay before live traffic.
//
// MEMBERSHIP
// The room keeps a row for everyone it ever had to do with (member_state:
// member, invitee, banned, gone) and decides on its strand, for every
// request, whether its sender may make it (access.hpp has the rules). A
// connection is in members_ only while its user is a member; removing a
// member (kick, ban, leave, deletion) removes every connection of theirs
// at once, before anything else is broadcast, and tells each why.
// Membership and settings change only through room events, sequenced and
// stored like messages; the registry hears of each change (it keeps who
// belongs where, for room lists and for joins of private rooms).
//
// SEQUENCES AND EPOCHS
// Every change (message, edit, deletion, reaction) takes the next seq and is
// broadcast before it is stored. When the room first becomes usable in a
// process it starts a new epoch whose base is the last stored seq: a crash
// may have lost events above it that clients saw, and their numbers are
// given out again. A client rejoins with (epoch, last seq seen); the room
// replays what it missed when its position is still valid, and otherwise
// sends room_reset (drop what you hold above base) and the latest page. The
// same happens live when an event could not be stored (voided).
#pragma once

#include "server/chat/access.hpp"
#include "server/chat/fanout.hpp"
#include "server/chat/presence.hpp"
#include "server/chat/send_queue.hpp"
#include "server/chat/timeline.hpp"
#include "server/core/config.hpp"
#include "server/core/events.hpp"
#include "server/core/metrics.hpp"
#include "server/core/replication.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace parley::server {

/// Public room names: 1-64 bytes of a-z 0-9 '.', '_', '-', starting with a
/// letter or digit; upper case is folded, so "Lobby" and "lobby" are one
/// room. (Private and direct rooms' addresses start with '~', which no
/// name can.)
std::optional<std::string> normalize_room_name(std::string_view name);

class room;

/// What a room needs to reach one connection.
struct room_member {
    std::uint64_t connection_id = 0;
    std::uint64_t user_id = 0;
    std::string username;
    std::shared_ptr<send_queue> queue;
    bool admin = false;  ///< a server administrator
    /// The event loop the connection lives on (null: the room's own).
    boost::asio::io_context* loop = nullptr;
    /// Called (on the room's strand) when the room drops this connection by
    /// itself: a refused join, a kick, a ban, a leave, a deletion. Never when
    /// the connection asked (leave()).
    std::function<void(std::uint32_t room_id)> removed;
};

/// What the room tells its registry (any of these may be empty).
struct room_observer {
    /// A user's row changed (on the room's strand, after the event is recorded).
    std::function<void(std::uint32_t room_id, const member_state&)> member_changed;
    /// The room's settings changed.
    std::function<void(std::uint32_t room_id, const room_settings&)> settings_changed;
    /// Takes `address` for the room, if free (kind_set to public). Synchronous.
    std::function<bool(std::uint32_t room_id, const std::string& address)> claim_address;
    /// A fresh private address ('~' and 22 base32 characters).
    std::function<std::string()> new_address;
    /// The room was deleted.
    std::function<void(std::uint32_t room_id)> deleted;
    /// The room has been idle for cfg.room_idle (no lease, no connection,
    /// everything stored): let it go? True if it is out of memory now.
    std::function<bool(std::uint32_t room_id, const room* which)> idle;
};

struct room_services {
    const config& cfg;
    metrics& stats;
    event_sink* sink = nullptr;      ///< may be null (nothing persisted)
    message_store* store = nullptr;  ///< may be null (memory only)
    /// Cluster mode: changes are ordered through the link and applied as
    /// they come back (room_cluster.cpp); the persister writes them, not
    /// the room. Null: the room orders its own changes.
    room_link* link = nullptr;
    /// Time for presence and typing; tests move it by hand (and call sweep_now()).
    std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
    /// A fresh epoch id: random, not 0, at most 2^53-1.
    std::function<std::uint64_t()> new_epoch;
    room_observer observer;
};

/// A room as it is loaded or created.
struct room_init {
    std::uint32_t id = 0;
    room_settings settings;
    std::uint64_t last_seq = 0;        ///< highest sequence already stored
    std::vector<member_state> people;  ///< its rows
};

class room : public std::enable_shared_from_this<room>, public room_replica {
public:
    using clock = std::chrono::steady_clock;
    using executor = boost::asio::strand<boost::asio::io_context::executor_type>;
    /// Runs once a request is answered (acknowledged or refused), on the strand.
    using done_handler = std::function<void()>;

    room(boost::asio::io_context& io, room_services services, room_init init);

    std::uint32_t id() const noexcept { return id_; }

    // ---- leases (room_registry) ----------------------------------------------
    /// A lease of the room was handed out: it stays in memory.
    void pin() noexcept { pins_.fetch_add(1, std::memory_order_relaxed); }
    /// A lease ended; the last one lets the room count as idle.
    void unpin();
    bool pinned() const noexcept { return pins_.load(std::memory_order_relaxed) != 0; }

    // ---- membership (any thread) ---------------------------------------------
    /// Makes `people` members (a new room's creator, a direct conversation's
    /// people), each with a `joined` event by `actor`.
    void add_members(std::vector<member_state> people, std::uint64_t actor);

    // ---- requests from connections (any thread) ----------------------------
    /// Joins if the member's user may (a refusal is no_such_room for rooms
    /// that are not public, so it tells nothing; `removed` is called).
    void join(room_member member, std::uint64_t epoch, std::uint64_t since_seq);
    /// A change of membership or settings. @param target_name the name of
    /// req.user_id, for invitations of people the room has no row for
    void manage(std::uint64_t connection_id, protocol::manage_room req, std::string target_name,
                done_handler done = {});
    /// The user declines their invitation (errors go to `who`'s queue).
    void decline(room_member who);
    /// @param reply send room_left to the member (false when its connection is gone)
    void leave(std::uint64_t connection_id, bool reply);
    void post_message(std::uint64_t connection_id, protocol::send_message msg, clock::time_point received_at,
                      done_handler done = {});
    void edit_message(std::uint64_t connection_id, protocol::edit_message req, done_handler done = {});
    void delete_message(std::uint64_t connection_id, protocol::delete_message req, done_handler done = {});
    void set_reaction(std::uint64_t connection_id, protocol::set_reaction req, done_handler done = {});
    void set_typing(std::uint64_t connection_id, bool active);
    void request_history(std::uint64_t connection_id, protocol::request_history req);

    // ---- a server administrator's console (any thread) ------------------------
    /// How an administrator's action ended: nullopt done (or already so), else why not.
    using admin_done = std::function<void(std::optional<protocol::error_code>)>;
    /** Deletes message `seq` as `admin`, a server administrator who need not
     *  be in the room, by the same road as a member's delete_message: the
     *  tombstone names them. `done` runs once, on the room's strand. */
    void delete_message_as_admin(protocol::user_ref admin, std::uint64_t seq, admin_done done);
    /** Deletes the room as `admin`, as its owner's manage_room `deleted` would:
     *  every member is removed and told why. Direct conversations refuse (bad_request). */
    void close_as_admin(protocol::user_ref admin, admin_done done);

    // ---- from storage --------------------------------------------------------
    /// Every event up to `seq` is on disk: tell members, let the cache shrink.
    void persisted(std::uint64_t seq);
    /// Event `seq` could not be stored and is void: a new epoch starts below it.
    void voided(std::uint64_t seq);

    // ---- from the cluster (room_replica; any thread) --------------------------
    void replicated(replicated_event e) override;
    void reseeded(std::uint64_t base, std::uint64_t epoch) override;
    void replica_persisted(std::uint64_t seq) override { persisted(seq); }
    void fell_behind(std::uint64_t after, std::uint64_t upto) override;
    void shared(std::string_view body) override;

    /// Ends expired typing and presence now (the timer does this by itself;
    /// tests with a hand-moved clock call it).
    void sweep_now();

    /// Snapshot for GET /api/rooms (read without the strand; may lag slightly).
    std::uint64_t last_seq_approx() const noexcept { return last_seq_published_.load(std::memory_order_relaxed); }
    std::size_t members_approx() const noexcept { return members_published_.load(std::memory_order_relaxed); }

private:
    using guard = std::shared_ptr<void>;
    /// A change as the room applies it: its request kind, client id, target.
    struct change_request {
        protocol::packet_kind kind;
        std::uint64_t client_id;
        std::uint64_t message_seq;
        bool resend;
        protocol::packet packet;
    };
    struct timeline_item {
        timeline_event event;
        std::optional<message_state> message;  ///< posted events: the message now
    };
    using items_handler = std::function<void(std::vector<timeline_item>)>;
    using messages_handler = std::function<void(std::vector<message_state>, bool has_more)>;
    struct join_plan {
        bool latest = false;                     ///< send the latest page (else replay)
        std::optional<std::uint64_t> reset_base; ///< send room_reset with this base first
    };

    template <class F>
    void on_strand(F&& f);
    /// Runs `op` once the room is usable; `unavailable` if it cannot be made so now.
    void when_warm(std::function<void()> op, std::function<void()> unavailable);
    void start_warming();
    void become_warm(room_snapshot snapshot);
    void finish_warming();
    void start_epoch(std::uint64_t base_seq);
    /// Runs `op` with the connection's membership; defers it while the
    /// connection's join is still loading, drops it if the connection left.
    void when_member(std::uint64_t connection_id, std::function<void(const room_member&)> op);
    /// What a refusal refers to: the request's kind and its id (client id, or seq).
    struct request_ref {
        protocol::packet_kind kind;
        std::uint64_t id;
    };
    /// Runs `op` on the strand, once the room is warm, with the connection's
    /// membership; room_unavailable for `ref` if the room cannot be warmed now.
    void serve(std::uint64_t connection_id, request_ref ref, std::function<void(const room_member&)> op);
    guard make_guard(done_handler done);

    // joining
    join_plan plan_join(std::uint64_t epoch, std::uint64_t since_seq) const;
    /// Checks that the member may join, then joins (on the strand).
    void decide_join(room_member m, std::uint64_t epoch, std::uint64_t since_seq);
    void start_join(room_member m, std::uint64_t epoch, std::uint64_t since_seq);
    void finish_join(room_member m, const join_plan& plan, const std::vector<timeline_item>& replay,
                     const std::vector<message_state>& latest, bool has_more);
    void refuse_join(std::uint64_t connection_id, const room_member& m);

    // changes
    void do_post(const room_member& m, protocol::send_message msg, clock::time_point received_at, guard g);
    void accept_message(const room_member& m, protocol::send_message msg, clock::time_point received_at,
                        std::function<void()> redo);
    void submit_change(std::uint64_t connection_id, change_request req, done_handler done);
    void do_change(const room_member& m, change_request req, guard g);
    /// If the user's change with client_id is known (in memory, or on disk
    /// for a resend), acks it and returns true; `retry` runs once storage said it is not.
    bool answer_duplicate(const room_member& m, protocol::packet_kind kind, std::uint64_t client_id, bool resend,
                          std::function<void()> retry, guard g);
    void decide_change(const room_member& m, const change_request& req, const message_state& s,
                       const std::function<void()>& redo);
    /// What a decision does next when it goes through the cluster (each may be empty).
    struct commit_hooks {
        std::function<void()> redo;    ///< decide again: the room moved on before it was sequenced
        std::function<void()> done;    ///< it was sequenced (and applied), or had been before
        std::function<void()> failed;  ///< the cluster could not be reached (an origin is told by the room)
    };
    /** A decided change (seq last_seq_ + 1): alone, applied at once; in a
     *  cluster, proposed at (epoch_, last_seq_) and applied when it comes
     *  back, `origin` acknowledged then (room_cluster.cpp). */
    void commit(storage_event e, const room_member* origin, request_ref ref, commit_hooks hooks,
                bool announce_rows = true);
    /// Runs the decisions that waited for the proposal in flight (or for the room to catch up).
    void pump_decisions();
    void attach_to_cluster();
    void apply_replicated(replicated_event e);
    /// The replica cannot go on from what it holds (a reseed, a gap only the
    /// store has): its members are told to rejoin, and it warms again from
    /// the store. @param base the highest seq it may keep
    void go_cold(std::uint64_t base);
    /** Makes a decided change happen from its event alone: the state, the
     *  broadcast, `origin`'s ack (null: nobody asked), the writer, the cache,
     *  and what follows (removals, the registry; `announce_rows` false: a
     *  joiner's row is told after its room_joined). The event's seq is last_seq_ + 1. */
    void apply(storage_event e, const room_member* origin, bool announce_rows = true);
    void apply_one(events::message_posted e, const room_member* origin, bool);
    void apply_one(events::message_edited e, const room_member* origin, bool);
    void apply_one(events::message_deleted e, const room_member* origin, bool);
    void apply_one(events::reaction_set e, const room_member* origin, bool);
    void apply_one(events::room_changed e, const room_member* origin, bool announce_rows);  // room_access.cpp
    void apply_one(const events::room_created&, const room_member*, bool);
    void apply_one(const events::epoch_started&, const room_member*, bool);
    /// @param m the member to acknowledge; null for events nobody asked for
    void record(const room_member* m, timeline_event ev, std::optional<message_state> posted,
                const protocol::packet& broadcast_packet, storage_event stored);
    /// Runs `op` with the message's state, loading and pinning it if it is older than the cache.
    void with_message(const room_member& m, protocol::packet_kind kind, std::uint64_t ref, std::uint64_t seq,
                      std::function<void(const room_member&, message_state&)> op);
    void ack(const room_member& m, std::uint64_t client_id, std::uint64_t seq, unix_ms at);

    // reading
    void collect_events(std::uint64_t from, std::uint64_t to, items_handler done, std::function<void()> failed);
    void collect_messages_before(std::uint64_t before, std::size_t limit, messages_handler done,
                                 std::function<void()> failed);
    void send_page(const room_member& m, protocol::history_mode mode, bool has_more,
                   const std::vector<message_state>& states);
    void send_items(const room_member& m, const std::vector<timeline_item>& items);
    void reset_members(std::uint64_t base_seq);

    // membership (room_access.cpp)
    access::actor actor_of(const room_member& m) const;
    member_state* person(std::uint64_t user_id);
    const member_state* person(std::uint64_t user_id) const;
    protocol::user_ref user_of(std::uint64_t user_id) const;
    /// The user becomes a member (a first join, or add_members). @param announce
    /// tell the registry now (a joiner's is told after its room_joined)
    void admit(std::uint64_t user_id, const std::string& username, std::uint64_t actor, bool announce = true,
               commit_hooks hooks = {});
    /// Tells the registry of a changed row.
    void announce(const member_state& row);
    void do_manage(const room_member& m, const protocol::manage_room& req, const std::string& target_name, guard g);
    /// What a room event changed, as it was before: how to take it back if
    /// it cannot be stored.
    struct before_event {
        std::vector<member_state> rows;
        std::optional<room_settings> settings;
    };
    /// Event `seq`, a room event, is void: what it changed goes back to how it
    /// was, unless a later event changed it again.
    void take_back(std::uint64_t seq);
    /// Drops every connection of `user_id`, telling each `reason`.
    void remove_user(std::uint64_t user_id, protocol::leave_reason reason);
    void send_people(const room_member& m);
    /// The room's people as a snapshot: the first snapshot_people of them and the total.
    protocol::room_members people_snapshot() const;
    std::optional<protocol::packet> event_packet(const timeline_event& ev, const message_state* msg,
                                                 std::uint64_t viewer) const;

    /// persisted_seq_ moved: the members are told, with the next broadcast or alone.
    void owe_watermark();
    void pay_watermark();

    // idleness
    /// Nothing holds the room: no lease, no connection, nothing unstored.
    bool idle_now() const;
    /// Arms the idle timer if the room is idle (on the strand).
    void check_idle();

    // presence and typing
    /// The user came online (on `connection_id`) or went offline (0): the
    /// members are told with the other changes of the same moment (flush_presence).
    void presence_changed(std::uint64_t user_id, std::uint64_t connection_id = 0);
    /// Tells the members every presence change not yet told, as they stand now.
    void flush_presence();
    /// How long a large room gathers presence changes before telling them.
    clock::duration presence_interval() const;
    void member_left(const room_member& m);
    void stop_typing(std::uint64_t user_id, const std::string& username);
    /// The user started or stopped typing: the members here are told (expiring after typing_ttl).
    void show_typing(std::uint64_t user_id, const std::string& username, bool active);
    /// Tells the room's replicas on the other nodes (room_cluster.cpp).
    void share_typing(std::uint64_t user_id, const std::string& username, bool active);
    /// Makes sure the sweep timer fires by `deadline` (O(1); the sweep itself scans).
    void schedule_sweep(clock::time_point deadline);
    void sweep();

    // sending (fanout.hpp)
    /// Queues `p` for every member but `except_connection` and every connection of `except_user`.
    void broadcast(const protocol::packet& p, bool ephemeral = false, std::uint64_t except_connection = 0,
                   std::uint64_t except_user = 0);
    /// Queues `p` for every member but these connections (a few).
    void broadcast(const protocol::packet& p, bool ephemeral, std::span<const std::uint64_t> except_connections);
    void send_to(const room_member& m, const protocol::packet& p, bool ephemeral = false);
    /// `op` (a broadcast) with `p`, for every loop that has members.
    void fan_out(const protocol::packet& p, fanout_op op);
    /// Null (and logged) if `p` cannot be encoded.
    shared_packet encode_shared(const protocol::packet& p) const;
    /// What the room sends one event loop in this turn of its strand.
    struct loop_outbox {
        std::shared_ptr<loop_fanout> fanout;
        std::vector<fanout_op> ops;
        std::size_t members = 0;  ///< members_ on this loop
    };
    loop_outbox& outbox_of(const room_member& m);
    void queue_op(loop_outbox& box, fanout_op op);
    /// Hands every loop what was queued for it (posted once per turn by queue_op).
    void flush_outboxes();
    /// members_ and the loops change together.
    const room_member& add_member(room_member m);
    void forget_member(const room_member& m);
    void send_error(const room_member& m, protocol::error_code code, protocol::packet_kind ref_kind, std::uint64_t ref,
                    std::uint32_t retry_after_ms = 0);
    const room_member* member(std::uint64_t connection_id) const;
    void publish_stats();

    // the administrator's console (room.cpp): an action runs as a member that
    // has no connection; what the room would send it is its answer instead
    struct admin_actor {
        room_member member;
        admin_done done;  ///< empty once called
    };
    static constexpr std::uint64_t admin_connection_bit = std::uint64_t{1} << 63;  ///< real connection ids never have it
    void act_as_admin(protocol::user_ref admin, std::function<void(const room_member&, std::uint64_t client_id, guard)> op,
                      admin_done done);
    void answer_admin(std::uint64_t connection_id, std::optional<protocol::error_code> result);
    void answer_admin_packet(std::uint64_t connection_id, const protocol::packet& p);

    executor strand_;
    room_services svc_;
    const std::uint32_t id_;
    room_settings settings_;
    bool deleted_ = false;
    std::uint64_t settings_seq_ = 0;  // the room event that set settings_
    std::unordered_map<std::uint64_t, member_state> people_;  // by user id
    std::map<std::uint64_t, before_event> unstored_;  // room events not yet on disk, by seq
    std::uint64_t last_seq_;
    std::uint64_t persisted_seq_;
    std::uint64_t epoch_ = 0;
    std::vector<epoch_record> epochs_;  // oldest first; the last is epoch_
    timeline timeline_;
    presence_tracker presence_;
    boost::asio::steady_timer sweep_timer_;
    std::optional<clock::time_point> sweep_at_;
    std::unordered_set<std::uint64_t> presence_changes_;  // users whose presence the members were not told yet
    std::unordered_map<std::uint64_t, std::string> departed_names_;  // of those among them who went offline
    std::vector<std::pair<std::uint64_t, std::uint64_t>> arrivals_;  // (user, connection) of those who came online
    std::optional<clock::time_point> presence_due_;      // when a large room tells them
    bool presence_flush_posted_ = false;                 // a small room tells them in the next turn
    bool presence_partial_ = false;  // a member may hold a presence list that names only some of those online
    mutable std::optional<std::pair<std::uint64_t, std::uint32_t>> people_total_;  // (as of last_seq_, count)
    boost::asio::steady_timer watermark_timer_;
    bool watermark_owed_ = false;  // persisted_seq_ moved; the members get it with the next broadcast
    bool watermark_armed_ = false;  // watermark_timer_ is waiting
    boost::asio::steady_timer idle_timer_;
    std::atomic<std::size_t> pins_{0};
    bool evicted_ = false;

    bool warm_ = false;
    bool warming_ = false;
    std::vector<std::pair<std::function<void()>, std::function<void()>>> waiting_for_warm_;  // op, unavailable

    // cluster mode (room_cluster.cpp)
    bool proposing_ = false;                        // a proposal is in flight
    std::deque<std::function<void()>> decisions_;   // to decide again once it is done
    std::uint64_t catch_up_to_ = 0;                 // a stale proposal's top: decide again from there

    std::unordered_map<std::uint64_t, room_member> members_;  // by connection id
    std::unordered_map<std::uint64_t, admin_actor> admin_actors_;  // console actions in progress, by pseudo connection id
    std::uint64_t next_admin_actor_ = 1;
    std::vector<loop_outbox> outboxes_;                         // one per loop the room reached
    bool flush_posted_ = false;
    std::unordered_map<std::uint64_t, std::vector<std::function<void()>>> joining_;  // deferred requests

    std::atomic<std::uint64_t> last_seq_published_{0};
    std::atomic<std::size_t> members_published_{0};
};

template <class F>
void room::on_strand(F&& f) {
    boost::asio::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(); });
}

}  // namespace parley::server
