// The rooms of one server, by address, by id and (direct conversations) by
// their people, and who belongs where.
//
// Rooms are created only through the create functions, which enforce a cap
// per user and one for the server, atomically with the creation; an unknown
// address never creates anything except a public room through create().
// Callers check everything else first (the name, the caller's own limits),
// so a refused request has no side effect. A created room is announced to
// storage (room_created) before any of its events, so the writer's FIFO
// order keeps foreign keys valid.
//
// The registry also keeps, for every user, their row in every room they
// belong to or are invited to (rooms tell it of each change). That is what
// a user's room list is made of, and what a join of a private room is
// checked against first, so that an address of no room and an address the
// user may not join take the same path and get the same answer.
#pragma once

#include "server/chat/room.hpp"
#include "server/core/events.hpp"

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace parley::server {

struct room_summary {
    std::uint32_t id;
    std::string name;
    std::string title;
    std::uint64_t last_seq;
    std::size_t members;
};

/// How many rooms may exist.
struct room_quotas {
    std::size_t max_rooms = 10000;        ///< on the server
    std::size_t max_rooms_per_user = 100; ///< created by one user, ever
};

class room_registry {
public:
    using room_ptr = std::shared_ptr<room>;
    /// A user's room list changed: `entry` is the room as they see it now,
    /// nullopt when it left their list (room `room_id`). Called without locks.
    using list_observer = std::function<void(std::uint64_t user_id, std::uint32_t room_id,
                                             std::optional<protocol::room_entry> entry)>;

    room_registry(boost::asio::io_context& io, room_services services, room_quotas quotas);

    /// Tells `observer` of every change of a user's room list (set before use).
    void on_list_change(list_observer observer) { list_observer_ = std::move(observer); }

    /// Registers rooms found in storage at start-up.
    void load(const std::vector<stored_room>& rooms);
    /// The room at this address (a normalized public name, or a private
    /// one), whoever asks; for what a user may join, use find_for_join.
    room_ptr find(std::string_view address) const;
    room_ptr find(std::uint32_t id) const;
    /// The room at `address` if the user may try to join it: any public
    /// room; a private or direct one only for its members, invitees and
    /// administrators. nullptr otherwise, exactly as for no room.
    room_ptr find_for_join(std::string_view address, std::uint64_t user_id, bool admin) const;

    /** Creates the public room `name` (normalized) for `creator`, who owns
     *  it, or returns it if it exists by now. @return the room, or room_quota
     *  when the creator or the server has no room left (nothing was created) */
    std::variant<room_ptr, protocol::error_code> create(const std::string& name, const protocol::user_ref& creator);
    /** A new private room titled `title`, owned by `creator`. */
    std::variant<room_ptr, protocol::error_code> create_private(const std::string& title, const protocol::user_ref& creator);
    /// The direct conversation of exactly these people, if there is one.
    room_ptr find_direct(std::vector<protocol::user_ref> people) const;
    /** The direct conversation of `people` (the creator among them; 2-8
     *  distinct users), created if new. Direct rooms do not count against
     *  the creator's max_rooms_per_user (callers pace them). */
    std::variant<room_ptr, protocol::error_code> open_direct(std::vector<protocol::user_ref> people,
                                                             std::uint64_t creator);

    /// Public rooms, for the directory.
    std::vector<room_summary> list() const;
    /// The user's rooms and invitations.
    std::vector<protocol::room_entry> rooms_of(std::uint64_t user_id) const;
    /// Rooms in memory.
    std::size_t size() const;
    /// Forwards a persisted watermark from the writer to its room.
    void persisted(std::uint32_t room_id, std::uint64_t seq);
    /// Forwards a voided event from the writer to its room.
    void voided(std::uint32_t room_id, std::uint64_t seq);

    /// A fresh private address: '~' and 22 random base32 characters.
    static std::string new_private_address();

private:
    struct name_hash {
        using is_transparent = void;  // find() by string_view without a copy
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    struct listing {
        room_ptr room;
        room_settings settings;
        std::vector<protocol::user_ref> people;  // direct rooms
    };
    std::variant<room_ptr, protocol::error_code> create_owned(protocol::room_kind kind, const std::string& title,
                                                              const protocol::user_ref& creator);
    /// Registers a new room (mutex held); nullopt if a quota is used up.
    std::optional<room_ptr> add_locked(room_settings settings, std::string direct_key, std::vector<protocol::user_ref> people,
                                       std::uint64_t creator);
    static std::string direct_key_of(std::vector<protocol::user_ref>& people);
    std::optional<protocol::room_entry> entry_locked(std::uint64_t user_id, std::uint32_t room_id) const;
    void member_changed(std::uint32_t room_id, const member_state& row);
    void settings_changed(std::uint32_t room_id, const room_settings& settings);
    bool claim_address(std::uint32_t room_id, const std::string& address);
    void deleted(std::uint32_t room_id);

    boost::asio::io_context& io_;
    room_services svc_;
    const room_quotas quotas_;
    list_observer list_observer_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, room_ptr, name_hash, std::equal_to<>> by_address_;
    std::unordered_map<std::uint32_t, listing> by_id_;
    std::unordered_map<std::string, std::uint32_t> direct_by_key_;
    std::unordered_map<std::uint64_t, std::unordered_map<std::uint32_t, member_state>> rows_by_user_;  // members, invitees
    std::unordered_map<std::uint64_t, std::size_t> created_by_;  // rooms per creator
    std::uint32_t next_id_ = 1;
};

}  // namespace parley::server
