// The members a room has on one event loop, and the hand-off that reaches them.
//
// DESIGN
// Connections live on event loops (server/net/event_loops.hpp), one thread
// each; a room lives on one of them and its members on any. A room never
// touches another loop's connections itself: everything it sends in one turn
// of its strand is collected per loop (an outbox) and handed over in one post
// per loop, where a loop_fanout applies it to the members it holds there. So a
// broadcast to n members on k loops costs k cross-thread hand-offs, not n, and
// the pushes into the members' send queues happen on the thread that also
// writes them: no lock or cache line is shared per member between threads.
//
// ORDER
// Joins and leaves travel the same way (add and remove operations), in the
// same sequence as what is sent, so a member gets exactly what the room sent
// between its join and its leave, in the room's order, like before.
//
// COST
// The outbox is flushed by a post to the room's own strand the first time
// something is queued in a turn; what the strand does before that post runs
// (a burst of messages queues many) shares the hand-off. A flush to the loop
// the room runs on is dispatched, which runs it at once.
#pragma once

#include "server/chat/send_queue.hpp"
#include "server/core/metrics.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace parley::server {

/// One thing a room asks of a loop.
struct fanout_op {
    enum class type : std::uint8_t {
        add,        ///< connection_id of user_id joined, with its queue
        remove,     ///< connection_id left
        broadcast,  ///< packet to every member but except_connection(s) and except_user's connections
        unicast,    ///< packet to queue
    };
    type what;
    bool ephemeral = false;
    std::uint8_t kind = 0;  ///< the packet's kind, for packets_out
    std::uint64_t connection_id = 0;
    std::uint64_t user_id = 0;
    std::shared_ptr<send_queue> queue;
    shared_packet packet;
    std::vector<std::uint64_t> except_connections;  ///< broadcast: not to these (sorted)
    /// broadcast: the packet was made on another loop; the fan-out shares a
    /// copy of its own, so the n reference counts stay on this loop's core
    bool foreign = false;
};

/// One room's members on one loop. Its state is touched only by the loop's
/// thread: a loop is run by exactly one thread (event_loops), so its
/// executor serializes without a strand. (A strand would belong to the
/// loop's io_context, and a room, held by handlers of another loop, may
/// outlive that io_context at shutdown.)
class loop_fanout : public std::enable_shared_from_this<loop_fanout> {
public:
    loop_fanout(boost::asio::io_context& loop, metrics& stats);

    boost::asio::io_context& loop() const noexcept { return *loop_; }

    /// Hands `ops` to the loop (any thread; the caller keeps the order).
    void hand_over(std::vector<fanout_op> ops);

private:
    struct target {
        std::uint64_t connection_id;
        std::uint64_t user_id;
        std::shared_ptr<send_queue> queue;
    };
    void apply(fanout_op& op);
    void push(const std::shared_ptr<send_queue>& q, const shared_packet& p, bool ephemeral);

    boost::asio::io_context* loop_;
    metrics& stats_;
    std::vector<target> members_;                         // broadcast order: dense
    std::unordered_map<std::uint64_t, std::size_t> at_;  // connection id -> index in members_
    std::uint64_t dropped_ = 0, overflowed_ = 0;          // counted per hand-off
    std::vector<std::shared_ptr<send_queue>> to_wake_;   // found idle in this hand-off (held: a remove may drop a member)
};

}  // namespace parley::server
