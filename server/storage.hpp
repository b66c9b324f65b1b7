// The read side of storage: history, replays, resend checks and start-up
// loading, on read-only SQLite connections that never block the writer (WAL
// lets readers and one writer work at once) or the I/O threads (reads run on
// their own small thread pool).
#pragma once

#include "server/database.hpp"
#include "server/events.hpp"

#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace parley::server {

struct stored_room {
    std::uint32_t id = 0;
    std::string name;
    std::uint64_t last_seq = 0;
    std::uint64_t created_by = 0;  ///< 0: nobody (created by the server)
};

/// Every room with its highest stored sequence (start-up: sequences continue from there).
std::vector<stored_room> load_rooms(database& db);

/// Reads one range of messages with their reactions (used by the store and by tests).
std::vector<message_state> read_messages(database& db, std::uint32_t room_id, std::uint64_t from, std::uint64_t to);

class sqlite_store final : public message_store {
public:
    sqlite_store(std::string db_path, std::size_t threads);
    ~sqlite_store() override;

    void read_range(std::uint32_t room_id, std::uint64_t from, std::uint64_t to, states_handler done) override;
    void find_client_message(std::uint64_t author_id, std::uint64_t client_msg_id,
                             std::function<void(std::optional<stored_ack>)> done) override;
    /// Finishes queued reads and joins the threads.
    void stop();

private:
    struct reader;
    template <class F>
    void with_reader(F&& f);

    const std::string path_;
    boost::asio::thread_pool pool_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<reader>> idle_;
};

}  // namespace parley::server
