// Stored rooms against start-up and first use (make bench-rooms;
// docs/benchmarks.md).
//
//   parley-many-rooms seed DATA_DIR ROOMS   a database of ROOMS rooms: one in
//       ten public ("room-N", owned by a user), the rest direct conversations
//       of two people each, every pair once ("~" addresses), with their
//       memberships; enough users for that (u1 is the only one who can sign in)
//   parley-many-rooms probe PORT ROOMS [N]  signs in as "u1" and joins N of
//       u1's direct conversations (u1 is in the first ones), each for the
//       first time since start-up; prints the join latency (join_room out,
//       room_joined back)
//   parley-many-rooms members DATA_DIR N PREFIX  one public room,
//       "loadgen-0", whose N members PREFIX-0 .. PREFIX-(N-1) sign in with
//       parley-loadgen's password: the room a reconnect storm of N finds
//       (bench/join_storm.sh), made without N first joins
#include "server/core/config.hpp"
#include "server/store/accounts.hpp"
#include "server/store/database.hpp"
#include "server/store/migrations.hpp"
#include "tests/support/ws_client.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace parley;
using namespace parley::testing;
using clock_type = std::chrono::steady_clock;

namespace {

/// Users needed for `rooms` rooms: every pair of them makes one direct room.
long users_for(long rooms) {
    long n = 2;
    while (n * (n - 1) / 2 < rooms) ++n;
    return std::max<long>(n, 10);
}

/// Room i's address: public rooms are named, direct ones get a '~' address
/// of the real shape (23 bytes).
std::string address_of(long i) {
    if (i % 10 == 0) return "room-" + std::to_string(i);
    std::string digits = std::to_string(i);
    return "~bench" + std::string(17 - digits.size(), 'a') + digits;
}

/// A new database in `dir` whose first user (id 1) can sign in.
server::config new_database(const std::string& dir, const std::string& user, const std::string& password, bool admin) {
    std::filesystem::create_directories(dir);
    server::config cfg;
    cfg.data_dir = dir;
    cfg.password_ops = 1, cfg.password_mem_kib = 8;
    {
        server::database db(cfg.database_path(), server::database::mode::read_write);
        server::migrate(db);
    }
    server::accounts accts(cfg.database_path(), cfg);
    accts.add_user(user, password, admin);
    return cfg;
}

int seed(const std::string& dir, long rooms) {
    const server::config cfg = new_database(dir, "u1", "correct horse", true);
    const long users = users_for(rooms);
    server::database db(cfg.database_path(), server::database::mode::read_write);
    const auto t0 = clock_type::now();
    server::with_transaction(db, [&] {
        auto user = db.prepare("INSERT INTO users(id, username, username_key, password_hash, created_at) "
                               "VALUES(?, ?, ?, 'not a hash: cannot sign in', 1)");
        for (long u = 2; u <= users; ++u) {
            user.bind_all(u, "u" + std::to_string(u), "u" + std::to_string(u));
            user.run();
            user.reset();
        }
        auto room = db.prepare("INSERT INTO rooms(id, name, title, kind, direct_key, created_by, created_at) "
                               "VALUES(?, ?, ?, ?, NULLIF(?, ''), ?, 1)");
        auto member = db.prepare("INSERT INTO memberships(room_id, user_id, state, role) VALUES(?, ?, 0, ?)");
        long a = 1, b = 1;  // the pair of the next direct room
        for (long i = 1; i <= rooms; ++i) {
            const std::string address = address_of(i);
            if (i % 10 == 0) {
                const long owner = 1 + i % users;
                room.bind_all(i, address, address, 0, std::string(), owner);
                room.run();
                room.reset();
                member.bind_all(i, owner, 2);
                member.run();
                member.reset();
                continue;
            }
            if (++b > users) b = ++a + 1;
            room.bind_all(i, address, std::string(), 2, std::to_string(a) + "," + std::to_string(b), a);
            room.run();
            room.reset();
            for (long u : {a, b}) {
                member.bind_all(i, u, 0);
                member.run();
                member.reset();
            }
        }
    });
    std::printf("seeded %ld rooms in %.1f s\n", rooms, std::chrono::duration<double>(clock_type::now() - t0).count());
    return 0;
}

int members(const std::string& dir, long n, const std::string& prefix) {
    const server::config cfg = new_database(dir, prefix + "-0", "loadgen password", false);
    server::database db(cfg.database_path(), server::database::mode::read_write);
    server::with_transaction(db, [&] {
        // One hash for everyone: the same password, and Argon2id's encoded
        // form carries its own salt and parameters.
        auto user = db.prepare("INSERT INTO users(id, username, username_key, password_hash, created_at) "
                               "SELECT ?, ?, ?, password_hash, 1 FROM users WHERE id = 1");
        for (long u = 1; u < n; ++u) {
            const std::string name = prefix + "-" + std::to_string(u);
            user.bind_all(u + 1, name, name);
            user.run();
            user.reset();
        }
        auto room = db.prepare("INSERT INTO rooms(id, name, title, kind, direct_key, created_by, created_at) "
                               "VALUES(1, 'loadgen-0', 'loadgen-0', 0, NULL, 1, 1)");
        room.run();
        auto member = db.prepare("INSERT INTO memberships(room_id, user_id, state, role) VALUES(1, ?, 0, ?)");
        for (long u = 1; u <= n; ++u) {
            member.bind_all(u, u == 1 ? 2 : 0);
            member.run();
            member.reset();
        }
    });
    std::printf("seeded room loadgen-0 with %ld members\n", n);
    return 0;
}

int probe(std::uint16_t port, long rooms, int n) {
    const std::string token = sign_up(port, "u1");
    ws_client c({.port = port, .headers = {{"Cookie", "parley_session=" + token}}});
    c.wait_for<protocol::welcome>();
    c.wait_for<protocol::room_list>();
    std::vector<double> ms;
    // u1 is in the first users-1 direct rooms: spread the probes over them.
    std::vector<long> mine;
    for (long i = 1; i <= rooms && static_cast<long>(mine.size()) < users_for(rooms) - 1; ++i)
        if (i % 10 != 0) mine.push_back(i);
    const std::size_t step = std::max<std::size_t>(1, mine.size() / static_cast<std::size_t>(n));
    for (std::size_t k = 0; k < mine.size() && static_cast<int>(ms.size()) < n; k += step) {
        const long i = mine[k];
        const auto t0 = clock_type::now();
        c.send(protocol::join_room{address_of(i), 0, 0});
        const auto joined = c.wait_for<protocol::room_joined>(10s);
        ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        c.wait_for<protocol::history_page>(10s);
        c.send(protocol::leave_room{joined.room_id});  // stays under --max-rooms
        c.wait_for<protocol::room_left>(10s);
    }
    std::sort(ms.begin(), ms.end());
    if (ms.empty()) return std::fprintf(stderr, "no room probed\n"), 1;
    std::printf("first joins: %zu, median %.2f ms, p90 %.2f ms, max %.2f ms\n", ms.size(), ms[ms.size() / 2],
                ms[ms.size() * 9 / 10], ms.back());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "seed" && argc == 4) return seed(argv[2], std::atol(argv[3]));
    if (cmd == "members" && argc == 5) return members(argv[2], std::atol(argv[3]), argv[4]);
    if (cmd == "probe" && argc >= 4)
        return probe(static_cast<std::uint16_t>(std::atoi(argv[2])), std::atol(argv[3]), argc > 4 ? std::atoi(argv[4]) : 50);
    std::fprintf(stderr, "usage: %s seed DATA_DIR ROOMS | probe PORT ROOMS [N] | members DATA_DIR N PREFIX\n", argv[0]);
    return 2;
}
