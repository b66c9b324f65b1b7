// The cluster side of room replication (core/replication.hpp): one per
// node, for every room the node holds a replica of. It subscribes to the
// rooms' channels, proposes events through the sequencer (parley_publish
// fenced by epoch and top), and feeds each room's room_feed from the
// publish replies, the channel and log reads, so that each replica gets
// every event once, in order.
//
// ATTACHING A ROOM
// 1. SUBSCRIBE to the room's channel and wait for Redis to confirm it:
//    from then on nothing published is missed by the channel.
// 2. Read the room's meta and its log after the store's top (parley_read).
//    What the channel brought meanwhile waits and is merged afterwards (the
//    feed drops what the read already gave).
// 3. A room Redis does not know (NOSEED: new, or Redis lost its data) or
//    knows with a top below the store's (Redis came back with older data)
//    is seeded: a new epoch at the store's top, with a gen above every
//    epoch the store and Redis had, so concurrent seeds agree on one. A
//    seed that loses (KEPT) reads again.
//
// KEEPING UP
// - Holes: a feed with a hole asks for a log read after its grace; one
//   timer serves every room (the earliest next_check).
// - Positioning: every position_every, and at once after the subscriber
//   reconnected (pub/sub lost whatever came meanwhile), one pipelined read
//   of every attached room's meta: a top above what the replica holds opens
//   a hole; another epoch is a reset; a room gone from Redis is reseeded at
//   the highest seq known persisted.
// - A proposal refused as stale tells the feed the room's top and epoch,
//   which opens the hole that brings the events that came first.
//
// THREADING
// All state lives on a strand; public functions post to it. Replicas are
// called on it (room_replica says they post to their own strand). The
// subscriber's and the sequencer's callbacks are posted back to it.
#pragma once

#include "server/cluster/redis_client.hpp"
#include "server/cluster/room_feed.hpp"
#include "server/cluster/sequencer.hpp"
#include "server/core/replication.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace parley::server::cluster {

struct room_link_options {
    std::string node_id;  ///< valid_node_id; names this node's T payloads
    /// How often every room's meta is read to catch what pub/sub lost
    /// silently: a quiet room's missed event shows within this.
    std::chrono::milliseconds position_every{2000};
    /// An attach that is not done by then (the subscriber cannot reach
    /// Redis, a read is stuck) fails, and the room answers "unavailable,
    /// retry" rather than holding its joiners.
    std::chrono::milliseconds attach_timeout{3000};
    /// Epochs for rooms found gone from Redis while attached (random, 1..2^53-1).
    std::function<std::uint64_t()> new_epoch;
    feed_options feed;
};

/// Counters for /metrics (read any time; they may lag a little).
struct room_link_stats {
    std::size_t rooms = 0;             ///< attached
    std::uint64_t proposed = 0;        ///< proposals sent
    std::uint64_t stale = 0;           ///< of which refused because the room had moved on
    std::uint64_t from_channel = 0;    ///< events that reached this node first through the channel
    std::uint64_t repairs = 0;         ///< log reads that filled holes
    std::uint64_t behind = 0;          ///< times a replica had to read the store
    std::uint64_t epoch_changes = 0;   ///< resets seen (reseeds)
    std::uint64_t seeds = 0;           ///< epochs this node started
    std::uint64_t undecodable = 0;     ///< events whose body did not decode
    std::uint64_t failures = 0;        ///< calls that failed (Redis unreachable, ...)
};

class redis_room_link final : public room_link {
public:
    /** @param commands publishes, reads, seeds; must outlive the link
     *  @param subscriber_options where the link's own subscriber connects
     *  @throws std::invalid_argument for a bad node id or bound */
    redis_room_link(boost::asio::any_io_executor executor, sequencer& commands, redis_options subscriber_options,
                    room_link_options options);
    ~redis_room_link() override;  ///< stop()

    void start();
    /// Stops the subscriber and every timer; replicas hear nothing more. Idempotent.
    void stop();

    void attach(std::uint32_t room, std::uint64_t stored_top, std::uint64_t stored_epochs, std::uint64_t new_epoch,
                std::weak_ptr<room_replica> replica, std::function<void(std::optional<replica_start>)> done) override;
    void detach(std::uint32_t room) override;
    void propose(std::uint32_t room, std::uint64_t epoch, std::uint64_t top, std::uint64_t user_id,
                 std::uint64_t client_id, const storage_event& event, std::function<void(proposal_result)> done) override;
    void caught_up(std::uint32_t room, std::uint64_t upto) override;
    void share(std::uint32_t room, std::string body) override;
    void reserve_room_ids(std::uint32_t floor, std::uint32_t count,
                          std::function<void(std::optional<std::uint32_t>)> done) override;

    room_link_stats stats() const;

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace parley::server::cluster
