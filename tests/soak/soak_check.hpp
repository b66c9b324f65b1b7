// The soak's final check: the database, read after the server stopped,
// against what every client saw and was told.
//
// ## The database alone
// - Each room's timeline is dense: messages and changes together hold every
//   seq from 1 to the room's last exactly once, and no seq is a void.
// - No duplicate: one message per (room, author, client id), and no message
//   stored without its client id (the soak never reuses one).
//
// ## Each client's views (rooms it is in at the end, caught up)
// - No phantom: every message of the view is in the database at its seq,
//   with the same author, client id, text, edit time, deleted state and
//   reaction totals.
// - No gap: every message the database holds from the view's complete_from
//   on is in the view. (Event order, gaps and duplicates as they arrived
//   were checked live by room_view.)
//
// ## Each client's acknowledgements
// Every change acknowledged with a seq is in the database once, at that seq,
// by that user with that client id; a message's text is what was sent
// unless it was edited or deleted since.
#pragma once

#include "tests/soak/soak_client.hpp"
#include "tests/soak/soak_world.hpp"

#include <filesystem>
#include <memory>
#include <vector>

namespace parley::soak {

struct check_counts {
    std::uint64_t rooms = 0, messages = 0, changes = 0, views = 0, view_messages = 0, acked = 0;
};

check_counts check_database(const std::filesystem::path& db_path,
                            const std::vector<std::unique_ptr<soak_client>>& clients, violation_log& violations);

}  // namespace parley::soak
