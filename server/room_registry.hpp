// The rooms of one server, by name and by id.
//
// Rooms are created only through open(), which enforces the naming rules and
// a cap on their number; an unknown id never creates anything. A created room
// is announced to storage (room_created) before any of its messages, so the
// writer's FIFO order keeps foreign keys valid.
#pragma once

#include "server/room.hpp"
#include "server/storage.hpp"

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

class room_registry {
public:
    room_registry(boost::asio::io_context& io, room_services services, std::size_t max_rooms);

    /// Registers rooms found in storage at start-up.
    void load(const std::vector<stored_room>& rooms);
    /// The room called `name`, created on first use.
    std::variant<std::shared_ptr<room>, protocol::error_code> open(std::string_view name, std::uint64_t creator);
    std::shared_ptr<room> find(std::uint32_t id) const;
    std::vector<room_summary> list() const;
    /// Forwards a persisted watermark from the writer to its room.
    void persisted(std::uint32_t room_id, std::uint64_t seq);

private:
    boost::asio::io_context& io_;
    room_services svc_;
    const std::size_t max_rooms_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<room>> by_name_;
    std::unordered_map<std::uint32_t, std::shared_ptr<room>> by_id_;
    std::uint32_t next_id_ = 1;
};

}  // namespace parley::server
