// The rooms of one server, by name and by id.
//
// Rooms are created only through create(), which enforces a cap per user and
// one for the server, atomically with the creation; an unknown id or name
// never creates anything. Callers check everything else first (the name, the
// caller's own limits), so a refused join has no side effect. A created room
// is announced to storage (room_created) before any of its messages, so the
// writer's FIFO order keeps foreign keys valid.
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

/// Room names: 1-64 bytes of a-z 0-9 '.', '_', '-', starting with a letter or
/// digit; upper case is folded, so "Lobby" and "lobby" are one room.
std::optional<std::string> normalize_room_name(std::string_view name);

struct room_summary {
    std::uint32_t id;
    std::string name;
    std::uint64_t last_seq;
    std::size_t members;
};

/// How many rooms may exist.
struct room_quotas {
    std::size_t max_rooms = 10000;        ///< on the server
    std::size_t max_rooms_per_user = 100; ///< created by one user, ever (rooms are never deleted yet)
};

class room_registry {
public:
    room_registry(boost::asio::io_context& io, room_services services, room_quotas quotas);

    /// Registers rooms found in storage at start-up.
    void load(const std::vector<stored_room>& rooms);
    /// The room with this (normalized) name, if it exists.
    std::shared_ptr<room> find(std::string_view name) const;
    /** Creates the room `name` (normalized) for `creator`, or returns it if it
     *  exists by now. @return the room, or room_quota when the creator or the
     *  server has no room left (then nothing was created) */
    std::variant<std::shared_ptr<room>, protocol::error_code> create(const std::string& name, std::uint64_t creator);
    std::shared_ptr<room> find(std::uint32_t id) const;
    std::vector<room_summary> list() const;
    /// Rooms in memory.
    std::size_t size() const;
    /// Forwards a persisted watermark from the writer to its room.
    void persisted(std::uint32_t room_id, std::uint64_t seq);
    /// Forwards a voided event from the writer to its room.
    void voided(std::uint32_t room_id, std::uint64_t seq);

private:
    struct name_hash {
        using is_transparent = void;  // find() by string_view without a copy
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };

    boost::asio::io_context& io_;
    room_services svc_;
    const room_quotas quotas_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<room>, name_hash, std::equal_to<>> by_name_;
    std::unordered_map<std::uint32_t, std::shared_ptr<room>> by_id_;
    std::unordered_map<std::uint64_t, std::size_t> created_by_;  // rooms per creator
    std::uint32_t next_id_ = 1;
};

}  // namespace parley::server
