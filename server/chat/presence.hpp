// Who is online in one room and who is typing there.
//
// A user is online while at least one of their connections is a member; when
// the last one leaves, they stay online for a grace period, so a page reload
// does not flap them offline and online. Typing expires by itself unless
// refreshed. The tracker only keeps the state and says what changed; the
// room announces it. Synchronous and clock-free: callers pass time points,
// so unit tests move time by hand.
#pragma once

#include "protocol/packets.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::server {

class presence_tracker {
public:
    using clock = std::chrono::steady_clock;

    /// A connection of the user became a member. @return true if the user
    /// just came online (not when returning within the grace period)
    bool connected(std::uint64_t user_id, const std::string& name);
    /// A connection of the user left; the last one starts the grace period.
    /// @return the time the user goes offline, if this started a grace period
    std::optional<clock::time_point> disconnected(std::uint64_t user_id, clock::time_point now,
                                                  clock::duration grace);

    /// The user types until `expiry`. @return true if they just started
    bool typing(std::uint64_t user_id, const std::string& name, clock::time_point expiry);
    /// @return true if the user was typing (announce that they stopped)
    bool stopped_typing(std::uint64_t user_id);

    struct expired {
        std::vector<protocol::user_ref> stopped_typing;
        std::vector<protocol::user_ref> went_offline;
    };
    /// Ends what expired by `now`.
    expired sweep(clock::time_point now);
    /// The earliest time something expires, if anything will.
    std::optional<clock::time_point> next_deadline() const;

    /// Up to `limit` of those online (including those in their grace
    /// period), for a snapshot: O(limit), whatever the room's size.
    std::vector<protocol::user_ref> online(std::size_t limit) const;
    /// How many are online, grace periods included.
    std::size_t online_count() const noexcept { return online_.size(); }
    bool is_online(std::uint64_t user_id) const { return online_.contains(user_id); }
    /// The name of someone online, or null.
    const std::string* name_of(std::uint64_t user_id) const;
    std::vector<protocol::user_ref> typing_users() const;

private:
    struct presence_entry {
        std::string name;
        int connections = 0;
        std::optional<clock::time_point> offline_at;  // grace period running
    };
    struct typing_entry {
        std::string name;
        clock::time_point expiry;
    };
    std::unordered_map<std::uint64_t, presence_entry> online_;
    std::unordered_map<std::uint64_t, typing_entry> typing_;
};

}  // namespace parley::server
