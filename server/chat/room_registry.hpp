// The rooms of one server: which are in memory, and how one is found,
// loaded, created and let go.
//
// ROOMS LIVE ON DISK
// The catalog (room_catalog: the rooms and memberships tables) is the list of
// rooms; memory holds only the rooms in use. A lookup (a join, an invite to
// decline, a direct conversation to open) of a room that is not in memory,
// or that the user may not open, is one catalog read on the registry's read
// threads: the room at the key and the asking user's row in
// it, and when the user may open the room and it is not in memory, its people
// and last seq as well. The answer is then laid over memory under the
// registry's mutex:
// - a room in memory is authoritative (the writer lags up to a batch behind):
//   what the catalog says of it is ignored, and its membership decides;
// - a room not in memory is exactly as the catalog says, since a room leaves
//   memory only once everything it did is on disk;
// - a read that overlapped an eviction may be stale for the evicted room and
//   is read again.
// So nothing is loaded at start-up, and the number of stored rooms bounds
// neither start-up time nor memory.
//
// LEASES AND EVICTION
// Every room handed out is a lease: a pointer that pins the room in memory
// while any copy of it lives (sessions keep theirs while joined). A room with
// no lease, no connection and nothing unstored arms an idle timer; when it
// fires the room asks to be evicted, and the registry lets it go if it is
// still unpinned. Pins are taken only under the mutex, so a room that is
// evicted has no lease anywhere.
//
// ACCESS
// A lookup finds a public room for anyone, and a private or direct one only
// for its members, invitees and administrators: otherwise the answer is the
// same as for no room, after the same reads. (A room in memory that the user
// may open is answered without a read: being fast for those who may open it
// tells nobody else anything.) The room decides again on its strand (access
// may change meanwhile).
//
// Creation is paced per user by the callers (hourly quotas); a created room
// is announced to storage (room_created) before any of its events, so the
// writer's FIFO order keeps foreign keys valid.
#pragma once

#include "server/chat/room.hpp"
#include "server/core/events.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <mutex>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <tuple>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace parley::server {

/// A room in memory as the administrator's console shows it.
struct loaded_room {
    std::uint32_t id = 0;
    room_settings settings;
    std::uint64_t last_seq = 0;           ///< approximate (read off the strand)
    std::size_t connections = 0;          ///< joined connections, approximate
    std::size_t member_count = 0;         ///< people with the member status
    std::vector<protocol::user_ref> members;  ///< the first bounds::admin_room_members of them, by name
    bool deleted = false;                 ///< closed, in memory until its events are stored
};

class room_registry {
public:
    using room_ptr = std::shared_ptr<room>;
    /// A lookup's answer: a leased room, nullptr for none (or none this user
    /// may open), or an error (storage failed; a quota; a name taken).
    using outcome = std::variant<room_ptr, protocol::error_code>;
    /// Gets a lookup's answer, on one of the registry's read threads.
    using outcome_handler = std::function<void(outcome)>;
    /// A user's room list changed: `entry` is the room as they see it now,
    /// nullopt when it left their list (room `room_id`). Called without locks.
    using list_observer = std::function<void(std::uint64_t user_id, std::uint32_t room_id,
                                             std::optional<protocol::room_entry> entry)>;

    /// @param loops the event loops rooms are spread over (by id; they
    /// outlive the registry)
    /// @param catalog the stored rooms (outlives the registry); rooms stay
    /// in memory for services.cfg.room_idle after their last use
    room_registry(std::vector<boost::asio::io_context*> loops, room_services services, room_catalog& catalog);
    room_registry(boost::asio::io_context& io, room_services services, room_catalog& catalog)
        : room_registry(std::vector{&io}, std::move(services), catalog) {}
    ~room_registry();

    /// Tells `observer` of every change of a user's room list (set before use).
    void on_list_change(list_observer observer) { list_observer_ = std::move(observer); }

    /// The room at `key` if the user may open it (see ACCESS), loaded if need be.
    void open(room_key key, std::uint64_t user_id, bool admin, outcome_handler done);
    /** Creates the public room `name` (normalized) owned by `creator`. An
     *  existing room of that name is the answer unless `must_be_new`
     *  (then room_name_taken). */
    void create(std::string name, protocol::user_ref creator, bool must_be_new, outcome_handler done);
    /// A new private room titled `title`, owned by `creator` (synchronous);
    /// null in a cluster while no room id is at hand (room_unavailable).
    room_ptr create_private(const std::string& title, const protocol::user_ref& creator);
    /** Cluster mode: makes sure a block of room ids is at hand (or on its
     *  way). The server calls it whenever Redis (re)connects; creating rooms
     *  calls it as the block runs low. Ids come from the cluster, so rooms
     *  created on different nodes never share one. */
    void refill_room_ids();
    /// Waits up to `limit` for the first block (start-up in cluster mode). @return true if ids are at hand
    bool wait_for_room_ids(std::chrono::milliseconds limit);
    /** The direct conversation of `people` (the creator among them; 2-8
     *  distinct users), created if new. */
    void open_direct(std::vector<protocol::user_ref> people, std::uint64_t creator, outcome_handler done);
    /// The key of a direct conversation of exactly these people.
    static std::string direct_key_of(std::vector<protocol::user_ref> people);

    /** The user's rooms and invitations; `done` runs under the registry's
     *  mutex, so no change of the list can be told between this snapshot and
     *  what `done` does with it (send it; never call back into the registry).
     *  nullopt when storage failed. */
    void rooms_of(std::uint64_t user_id, std::function<void(std::optional<std::vector<protocol::room_entry>>)> done);
    /** Public rooms named after `after`, by name, at most `limit` (blocking:
     *  call off the I/O threads; throws on a storage failure). */
    std::vector<directory_entry> list(std::string_view after, std::size_t limit);

    /// Rooms in memory.
    std::size_t size() const;
    /// The first `limit` rooms in memory, by id, with their members (the console).
    std::vector<loaded_room> loaded(std::size_t limit) const;
    /// Rooms loaded from storage and evicted since start-up.
    std::uint64_t loads() const noexcept { return loads_.load(std::memory_order_relaxed); }
    std::uint64_t evictions() const noexcept { return evictions_.load(std::memory_order_relaxed); }
    /// Whether room `id` is in memory (tests).
    bool in_memory(std::uint32_t id) const;
    /// Forwards a persisted watermark from the writer to its room.
    void persisted(std::uint32_t room_id, std::uint64_t seq);
    /// Forwards a voided event from the writer to its room.
    void voided(std::uint32_t room_id, std::uint64_t seq);
    /// Waits for lookups in flight (shutdown).
    void stop();

    /// A fresh private address: '~' and 22 random base32 characters.
    static std::string new_private_address();

private:
    struct name_hash {
        using is_transparent = void;  // find() by string_view without a copy
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    /// A room in memory.
    struct listing {
        std::shared_ptr<parley::server::room> room;
        room_settings settings;
        std::string direct_key;
        std::vector<protocol::user_ref> people;  ///< direct rooms: their members
        std::unordered_set<std::uint64_t> users; ///< users with a row in rows_by_user_
        bool deleted = false;                    ///< gone for everyone; in memory until its events are stored
    };
    /// Under the mutex, with the catalog's answer: the outcome to give.
    using decide_fn = std::function<outcome(const std::optional<catalog_hit>& hit, room_ptr found)>;

    /// Reads `key` from the catalog, lays the answer over memory and calls
    /// `decide` under the mutex with the room the user may open (or null).
    void lookup(room_key key, std::uint64_t user_id, bool admin, decide_fn decide, outcome_handler done);
    /// The room at `key` the user may open, given the catalog's answer (mutex held).
    room_ptr resolve_locked(const room_key& key, const std::optional<catalog_hit>& hit, std::uint64_t user_id,
                            bool admin);
    listing* loaded_locked(const room_key& key);
    bool may_open_locked(const listing& l, const room_key& key, std::uint64_t user_id, bool admin) const;
    room_ptr lease_locked(listing& l);
    /// Puts a room from storage in memory (mutex held).
    listing& load_locked(const stored_room& stored);
    /// A new room (mutex held); null when no id is at hand (cluster mode).
    listing* add_locked(room_settings settings, std::string direct_key, std::vector<protocol::user_ref> people,
                        std::uint64_t creator);
    std::string fresh_address_locked() const;
    void set_row_locked(listing& l, std::uint32_t room_id, const member_state& row);
    std::optional<protocol::room_entry> entry_locked(std::uint64_t user_id, std::uint32_t room_id) const;
    void member_changed(std::uint32_t room_id, const member_state& row);
    void settings_changed(std::uint32_t room_id, const room_settings& settings);
    bool claim_address(std::uint32_t room_id, const std::string& address);
    void deleted(std::uint32_t room_id);
    bool evict(std::uint32_t room_id, const room* which);
    room_ptr find_locked_by_id(std::uint32_t id) const;

    boost::asio::io_context& loop_of(std::uint32_t room_id) const { return *loops_[room_id % loops_.size()]; }

    const std::vector<boost::asio::io_context*> loops_;
    room_services svc_;
    room_catalog& catalog_;
    boost::asio::thread_pool reads_{2};
    list_observer list_observer_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::uint32_t, name_hash, std::equal_to<>> by_address_;  // live rooms
    std::unordered_map<std::uint32_t, listing> by_id_;                                       // every room in memory
    std::unordered_map<std::string, std::uint32_t> direct_by_key_;                           // live direct rooms
    std::unordered_map<std::uint64_t, std::unordered_map<std::uint32_t, member_state>> rows_by_user_;  // members, invitees
    std::uint32_t next_id_ = 1;  // alone: the next id; in a cluster: above every id seen (the reservations' floor)
    /// Cluster mode: block_size ids reserved at a time, [ids_next_, ids_end_)
    /// at hand and one spare block; a refill is asked for at half a block.
    static constexpr std::uint32_t id_block = 64;
    std::uint32_t ids_next_ = 0, ids_end_ = 0;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> spare_ids_;
    bool reserving_ = false;
    std::condition_variable ids_arrived_;
    void refill_locked();
    std::atomic<std::uint64_t> loads_{0};
    std::atomic<std::uint64_t> evictions_{0};  // also what tells a read it overlapped one
};

}  // namespace parley::server
