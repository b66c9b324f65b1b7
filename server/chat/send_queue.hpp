// The outgoing queue of one WebSocket connection.
//
// DESIGN
// Rooms on any thread push encoded packets; the connection's strand takes
// them out and writes them. A room holds a member's queue, not the member
// itself (the room owns its membership, not its members). Every broadcast
// packet is one immutable buffer shared by all queues that hold it.
//
// ALGORITHM
// push() appends under a short mutex. The first push into an idle queue calls
// the waker, which posts one write to the connection's strand; pushes that
// arrive while that write is being prepared or is in flight only append. The
// writer then takes everything waiting (up to a byte budget) in FIFO order and
// sends it as one WebSocket message: a batch. Under load that turns N small
// sends into one, which is where the throughput comes from.
//
// BOUNDS
// Past half of either bound, ephemeral packets (typing)
// are dropped: they are stale a moment later anyway. Past the bound the queue
// closes itself and calls the waker with overflow = true; the connection then
// closes with "try again later" and the client recovers on reconnect. A slow
// consumer never slows down a room: push() never blocks on I/O.
#pragma once

#include "protocol/codec.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace parley::server {

/// One encoded packet, shared read-only between every queue it is in.
using shared_packet = std::shared_ptr<const protocol::bytes>;

inline shared_packet make_shared_packet(protocol::bytes b) {
    return std::make_shared<const protocol::bytes>(std::move(b));
}

struct queue_limits {
    std::size_t max_bytes = 4 * 1024 * 1024;
    std::size_t max_packets = 8192;
};

/// queued_idle: queued into an idle queue whose writer the caller must start
/// with wake() (only when push was asked to leave that to the caller).
enum class push_result { queued, queued_idle, dropped, overflow, closed };

class send_queue {
public:
    /// Called outside the lock when the queue needs its writer: with false when
    /// it went from idle to non-empty, with true once when it overflowed.
    using waker = std::function<void(bool overflow)>;

    send_queue(queue_limits limits, waker wake) : limits_(limits), wake_(std::move(wake)) {}

    /** Appends a packet. Thread-safe, never blocks on I/O.
     *  @param ephemeral droppable when the queue is half full (typing)
     *  @param defer_wake an idle queue's writer is not started here: the
     *         caller gets queued_idle and calls wake() once it has pushed the
     *         rest of its burst, so that the first write carries all of it */
    push_result push(shared_packet packet, bool ephemeral = false, bool defer_wake = false);
    /// Starts the writer after a push that returned queued_idle.
    void wake() { wake_(false); }

    /** Writer side: moves the oldest packets (at least one, then while their
     *  total stays within `max_bytes`) into `out`, in order.
     *  @return false, and marks the queue idle, when nothing is waiting */
    bool take(std::vector<shared_packet>& out, std::size_t max_bytes);

    /// Refuses every later push (the connection is closing).
    void close();

private:
    const queue_limits limits_;
    const waker wake_;
    mutable std::mutex mutex_;
    // FIFO as a vector and a read index: an idle queue holds no memory (a
    // std::deque allocates a block up front), and draining resets it.
    std::vector<shared_packet> packets_;
    std::size_t head_ = 0;
    std::size_t bytes_ = 0;
    bool writer_active_ = false;  // a write is scheduled or in flight
    bool closed_ = false;
};

}  // namespace parley::server
