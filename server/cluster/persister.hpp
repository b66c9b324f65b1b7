// The persister of cluster mode: moves sequenced events from the Redis
// outboxes (sequencer.hpp, parley:{p}:persist) into the store through the
// batch writer, for the partitions whose lease this node holds.
//
// DESIGN
// Rooms are spread over partitions, and each partition has one persister at
// a time: the node holding its lease (parley_lease, renewed every
// renew_every, lost lease_ttl after the last renewal). Every node runs a
// persister; between them they hold every partition, and a node that dies
// or stops answering loses its leases to the others within lease_ttl.
//
// ALGORITHM
// 1. Leases: every renew_every, one parley_lease per partition. A lease
//    newly held is taken over: the consumer group is made sure of, and every
//    entry still pending in the partition (read by an earlier holder and not
//    acknowledged, because it never reported it persisted) is claimed with
//    parley_claim and handed to the writer first.
// 2. Reading: one parley_take for every held partition at once, at once again
//    while entries come, every idle_poll when none did. Reads are fenced by
//    the lease inside Redis (parley.lua), so an earlier holder that was
//    paused or cut off cannot take entries once the lease moved on.
// 3. Each entry's body is decoded (event_codec.hpp) and pushed into the
//    event sink (the batch writer), which writes idempotently.
// 4. When the writer reports a room persisted up to S, the entries of the
//    room up to S are acknowledged and deleted (parley_ack), and the room's
//    persisted watermark in Redis moves to S (parley_persisted, which
//    publishes it to every node's members).
//
// GUARANTEES
// - Nothing is lost: an entry leaves the outbox only after the writer
//   reported it on disk. A node that dies holding entries leaves them
//   pending; the next holder claims them before it reads anything new.
// - Nothing is duplicated: an entry written twice (claimed after its first
//   holder wrote it, or re-read after a lost acknowledgement) finds its
//   (room, seq) stored and changes nothing (batch_writer.hpp).
// - Watermarks hold: a partition's entries reach the writer in outbox order,
//   which is each room's seq order (parley_publish appends both at once),
//   claimed ones before new ones; so a report of S means every seq of the
//   room up to S is on disk.
// - An entry that does not decode, or whose body names another room or seq
//   than its fields, is logged, counted and acknowledged: retrying a body
//   that can never be written would stop its partition for good.
// - Back-pressure: no read while max_unpersisted entries wait for the
//   writer (their backlog refuses new messages anyway).
//
// THREADING
// All state lives on a strand of the executor; public functions may be
// called from any thread (the writer's reports come from its own thread).
// Completions of the two sequencers are posted back to the strand, so the
// persister never runs on the Redis clients' strands.
#pragma once

#include "server/cluster/sequencer.hpp"
#include "server/core/events.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace parley::server::cluster {

/// Each bound says why it is what it is.
struct persister_options {
    std::string node_id;  ///< valid_node_id; also the consumer name
    /// A dead node's partitions wait this long for another persister: long
    /// enough that a Redis round trip stalled by a busy node does not move
    /// them, short enough that persistence resumes within seconds.
    std::chrono::milliseconds lease_ttl{10000};
    /// Renewals come three times per ttl, so two may fail before it lapses.
    std::chrono::milliseconds renew_every{3000};
    /// How long an empty read waits before the next: the batch writer waits
    /// up to its max_delay anyway, so 50 ms adds nothing a user sees and
    /// keeps an idle node at 20 reads per second.
    std::chrono::milliseconds idle_poll{50};
    /// After a failed call (Redis unreachable): the client reconnects by itself.
    std::chrono::milliseconds retry{250};
    /// Entries one read takes from each partition.
    std::size_t take_count = 500;
    /// Entries handed to the writer and not yet reported persisted.
    std::size_t max_unpersisted = 20000;
};

/// Counters for /metrics and tests (read any time; they may lag a little).
struct persister_stats {
    std::size_t held = 0;             ///< partitions whose lease this node holds
    std::size_t unpersisted = 0;      ///< entries handed to the writer, not yet on disk
    std::uint64_t taken = 0;          ///< entries read (new or claimed)
    std::uint64_t claimed = 0;        ///< of which claimed from an earlier holder
    std::uint64_t acknowledged = 0;   ///< entries deleted from outboxes once persisted
    std::uint64_t malformed = 0;      ///< entries dropped because they cannot be written
    std::uint64_t takeovers = 0;      ///< leases newly taken
    std::uint64_t failures = 0;       ///< calls that failed (Redis unreachable, ...)
};

class persister {
public:
    /** @param commands leases, acknowledgements and watermarks
     *  @param reads takes and claims (a client of its own: a large reply
     *         would hold every command behind it)
     *  @param sink where decoded events go (the batch writer); its reports
     *         must come back through persisted()
     *  All three must outlive the persister.
     *  @throws std::invalid_argument for a bad node id or bound */
    persister(boost::asio::any_io_executor executor, sequencer& commands, sequencer& reads, event_sink& sink,
              persister_options options);
    ~persister();  ///< stop()
    persister(const persister&) = delete;
    persister& operator=(const persister&) = delete;

    void start();
    /** Stops reading and gives the leases up at once (their pending entries
     *  are claimed by the next holder and written again, idempotently).
     *  Reports that arrive afterwards are ignored. Idempotent. */
    void stop();

    /// The writer's report: every event of `room` up to `seq` is on disk. Any thread.
    void persisted(std::uint32_t room, std::uint64_t seq);

    persister_stats stats() const;

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace parley::server::cluster
