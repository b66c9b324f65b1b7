// How a room shares its timeline with the other nodes in cluster mode. The
// room (chat layer) and the cluster (Redis) know each other only through
// these two interfaces, as rooms and storage know each other through
// events.hpp.
//
// THE MODEL
// Every node with members of a room holds a replica of it: the same people,
// settings and recent events, built by applying the room's events in seq
// order. A node decides a change on its replica (access rules, the message's
// state), stamps it with the next seq and proposes it with the position it
// decided at (epoch, top). The sequencer appends it only if the room is
// still there (a compare-and-append), so an event is always decided on the
// state it follows and every replica can apply it as it is, without
// deciding again. A proposal that lost the race (another node's event came
// first) changes nothing: the node catches up and decides again.
//
// The link hands each replica every event of the room once, in seq order,
// its own included (the proposal's completion comes after the event was
// applied), and tells it when the epoch changes, when events are persisted,
// and when what it missed is only in the store.
#pragma once

#include "server/core/events.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::server {

/// One event of a room as the cluster ordered it. `event` is empty when its
/// body could not be decoded (a node of another version): the seq is taken
/// all the same, by nothing the replica can show.
struct replicated_event {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
    std::optional<storage_event> event;
};

/// What a room's replica hears from the link. Called on the link's strand,
/// in order; the room posts each to its own.
class room_replica {
public:
    virtual ~room_replica() = default;
    /// The next event of the room.
    virtual void replicated(replicated_event e) = 0;
    /// The room was reseeded: epoch `epoch` starts after `base`, and what
    /// the replica holds above base is void.
    virtual void reseeded(std::uint64_t base, std::uint64_t epoch) = 0;
    /// Every event up to `seq` is in the store.
    virtual void replica_persisted(std::uint64_t seq) = 0;
    /** What follows `after`, up to `upto`, is no longer in the cluster's log:
     *  read it from the store, apply it, then call room_link::caught_up. */
    virtual void fell_behind(std::uint64_t after, std::uint64_t upto) = 0;
    /// Typing or presence from another node (not sequenced, not stored).
    virtual void shared(std::string_view body) = 0;
};

/// Where a replica starts: the room's epoch and top in the cluster. `seeded`
/// when this node started the epoch (it records epoch_started in the store).
struct replica_start {
    std::uint64_t epoch = 0;
    std::uint64_t base = 0;  ///< seeded: the epoch's base
    bool seeded = false;
};

enum class proposal_status : std::uint8_t {
    committed,    ///< sequenced as seq (and applied already)
    duplicate,    ///< the (user, client id) was sequenced before: its original seq and epoch
    stale,        ///< the room moved on (another event came first, or a new epoch): decide again
    unavailable,  ///< the cluster could not be reached; nothing is known to have happened
};

struct proposal_result {
    proposal_status status = proposal_status::unavailable;
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
};

/// The cluster side (cluster/room_link.hpp). Any thread; completions run on the link's strand.
class room_link {
public:
    virtual ~room_link() = default;
    /** Follows room `room` for `replica`, which holds the store's events up
     *  to `stored_top` after `stored_epochs` epochs. A room the cluster does
     *  not know, or knows with fewer events than the store, is seeded with
     *  `new_epoch` at stored_top. `done` gets nullopt when the cluster cannot
     *  be reached (try again later); the events after stored_top come through
     *  the replica afterwards. */
    virtual void attach(std::uint32_t room, std::uint64_t stored_top, std::uint64_t stored_epochs,
                        std::uint64_t new_epoch, std::weak_ptr<room_replica> replica,
                        std::function<void(std::optional<replica_start>)> done) = 0;
    /// Stops following the room.
    virtual void detach(std::uint32_t room) = 0;
    /** Proposes `event` (its seq must be top+1) decided at (epoch, top).
     *  @param client_id 0: never deduplicated */
    virtual void propose(std::uint32_t room, std::uint64_t epoch, std::uint64_t top, std::uint64_t user_id,
                         std::uint64_t client_id, const storage_event& event,
                         std::function<void(proposal_result)> done) = 0;
    /// The replica applied the store's events up to `upto` (after fell_behind).
    virtual void caught_up(std::uint32_t room, std::uint64_t upto) = 0;
    /// Sends typing or presence to the room's replicas on the other nodes.
    virtual void share(std::uint32_t room, std::string body) = 0;
    /** Reserves `count` room ids that no node was given before, none below
     *  `floor`: rooms created on any node never share an id. `done` gets the
     *  first, or nullopt when the cluster cannot be reached. */
    virtual void reserve_room_ids(std::uint32_t floor, std::uint32_t count,
                                  std::function<void(std::optional<std::uint32_t>)> done) = 0;
};

}  // namespace parley::server
