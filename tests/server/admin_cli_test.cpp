// `parley admin ...` as an operator runs it: the real binary, on the data
// directory of a server that is running, with the password on stdin.
#include "server/admin_cli.hpp"

#include "protocol/packets.hpp"
#include "server/net/control_socket.hpp"
#include "server/store/database.hpp"
#include "server/store/migrations.hpp"
#include "tests/support/live_server.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

using namespace parley::testing;
using json = nlohmann::json;

struct cli_result {
    int status = -1;
    std::string out, err;
};

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

struct AdminCli : ::testing::Test {
    temp_dir scratch;

    /// Runs `parley admin ARGS... --data-dir DIR --password-cost min` with `input` on stdin.
    cli_result admin(const std::filesystem::path& data_dir, std::vector<std::string> args,
                     const std::string& input = {}) {
        std::vector<std::string> argv{parley_binary(), "admin"};
        argv.insert(argv.end(), args.begin(), args.end());
        for (const char* a : {"--password-cost", "min"}) argv.push_back(a);
        if (!data_dir.empty()) argv.insert(argv.end(), {"--data-dir", data_dir.string()});
        const auto in = scratch.path() / "stdin", out = scratch.path() / "stdout", err = scratch.path() / "stderr";
        std::ofstream(in) << input;
        std::filesystem::remove(err);
        child_process p(argv, err.string(), in.string(), out.string());
        cli_result r;
        r.status = p.wait();
        r.out = slurp(out);
        r.err = slurp(err);
        return r;
    }
};

int login(std::uint16_t port, const std::string& user, const std::string& password) {
    return http_call(port, "POST", "/api/login", json{{"username", user}, {"password", password}}.dump()).status;
}

TEST_F(AdminCli, ManagesAccountsWhileTheServerRuns) {
    live_server srv({"--registration", "closed"});
    auto made = admin(srv.data_dir(), {"add-user", "ana"}, "a long passphrase\n");
    ASSERT_EQ(made.status, 0) << made.err;
    EXPECT_EQ(made.out, "created ana (admin)\n");  // the first account
    EXPECT_EQ(login(srv.port(), "ana", "a long passphrase"), 200);  // at once, no restart

    EXPECT_EQ(admin(srv.data_dir(), {"add-user", "bob"}, "another passphrase\n").status, 0);
    const std::string bob =
        json::parse(http_call(srv.port(), "POST", "/api/login",
                              json{{"username", "bob"}, {"password", "another passphrase"}}.dump())
                        .body)["token"];
    auto me = [&] {
        return json::parse(http_call(srv.port(), "GET", "/api/me", "", {{"Authorization", "Bearer " + bob}}).body);
    };
    EXPECT_EQ(me()["admin"], false);

    auto grant = admin(srv.data_dir(), {"grant", "bob"});
    EXPECT_EQ(grant.status, 0) << grant.err;
    EXPECT_EQ(me()["admin"], true);  // the running server reads the flag per request
    EXPECT_EQ(admin(srv.data_dir(), {"revoke", "ana"}).status, 0);
    auto last = admin(srv.data_dir(), {"revoke", "bob"});
    EXPECT_EQ(last.status, 1);
    EXPECT_NE(last.err.find("last admin"), std::string::npos) << last.err;
    EXPECT_EQ(me()["admin"], true);

    auto list = admin(srv.data_dir(), {"list"});
    EXPECT_EQ(list.status, 0);
    EXPECT_NE(list.out.find("ana\t-"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("bob\tadmin"), std::string::npos) << list.out;
}

TEST_F(AdminCli, InviteCodesWorkOnARunningServer) {
    live_server srv({"--registration", "invite"});
    auto inv = admin(srv.data_dir(), {"invite", "--uses", "2", "--expires", "1h"});
    ASSERT_EQ(inv.status, 0) << inv.err;
    const auto at = inv.out.find("code:");
    ASSERT_NE(at, std::string::npos) << inv.out;
    const std::string code = inv.out.substr(at + 9, 22);
    EXPECT_NE(inv.out.find("/?invite=" + code), std::string::npos) << inv.out;
    EXPECT_NE(inv.out.find("uses:    2"), std::string::npos) << inv.out;
    for (const char* user : {"ana", "bob", "cy"}) {
        auto res = http_call(srv.port(), "POST", "/api/register",
                             json{{"username", user}, {"password", "correct horse"}, {"invite", code}}.dump());
        EXPECT_EQ(res.status, std::string_view(user) == "cy" ? 403 : 201) << user << ": " << res.body;
    }
}

// The printed link is the one people will open: https:// for a TLS server,
// without the port when it is the scheme's default.
TEST_F(AdminCli, TheInviteLinkFollowsTheServersSchemeAndPort) {
    const auto data = scratch.path() / "links";
    auto https = admin(data, {"invite", "--listen", "0.0.0.0:443", "--tls-cert", "/etc/parley/c.pem", "--tls-key",
                              "/etc/parley/k.pem", "--registration", "invite"});
    ASSERT_EQ(https.status, 0) << https.err;
    EXPECT_NE(https.out.find("link:    https://<this server's address>/?invite="), std::string::npos) << https.out;
    auto plain = admin(data, {"invite", "--listen", "127.0.0.1:8080"});
    ASSERT_EQ(plain.status, 0) << plain.err;
    EXPECT_NE(plain.out.find("link:    http://127.0.0.1:8080/?invite="), std::string::npos) << plain.out;
}

TEST_F(AdminCli, RefusesClearly) {
    live_server srv;
    EXPECT_EQ(admin(srv.data_dir(), {"add-user", "ana"}, "").status, 1);  // no password line
    EXPECT_EQ(admin(srv.data_dir(), {"add-user", "ana"}, "short\n").status, 1);
    EXPECT_EQ(admin(srv.data_dir(), {"add-user", "ana"}, "correct horse\n").status, 0);
    auto taken = admin(srv.data_dir(), {"add-user", "ANA"}, "correct horse\n");
    EXPECT_EQ(taken.status, 1);
    EXPECT_NE(taken.err.find("taken"), std::string::npos) << taken.err;
    auto nobody = admin(srv.data_dir(), {"grant", "nobody"});
    EXPECT_EQ(nobody.status, 1);
    EXPECT_NE(nobody.err.find("no such user"), std::string::npos);
    EXPECT_EQ(admin(srv.data_dir(), {"frobnicate"}).status, 2);
    EXPECT_EQ(admin(srv.data_dir(), {"grant"}).status, 2);
    EXPECT_EQ(admin(srv.data_dir(), {"invite", "--uses", "0"}).status, 2);
    EXPECT_EQ(admin(srv.data_dir(), {"invite", "--expires", "soon"}).status, 2);
    EXPECT_EQ(admin(srv.data_dir(), {"list", "--no-such-flag"}).status, 2);
    auto missing = admin(scratch.path() / "nowhere", {"list"});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("no database"), std::string::npos);
    auto help = admin({}, {"--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("add-user"), std::string::npos);
}

// ---- backup and restore --------------------------------------------------------------------------

/// Runs `parley backup|restore ARGS... --data-dir DIR`.
cli_result maintenance(AdminCli& t, const std::string& command, const std::filesystem::path& data_dir,
                       std::vector<std::string> args) {
    std::vector<std::string> argv{parley_binary(), command};
    argv.insert(argv.end(), args.begin(), args.end());
    if (!data_dir.empty()) argv.insert(argv.end(), {"--data-dir", data_dir.string()});
    const auto out = t.scratch.path() / "stdout", err = t.scratch.path() / "stderr";
    std::filesystem::remove(err);
    child_process p(argv, err.string(), "/dev/null", out.string());
    cli_result r;
    r.status = p.wait();
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

/// One integer from a query on a database file (opened read-only).
std::int64_t query_int(const std::filesystem::path& db_file, const std::string& sql) {
    sqlite3* db = nullptr;
    std::int64_t v = -1;
    if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return v;
}

std::string query_text(const std::filesystem::path& db_file, const std::string& sql) {
    sqlite3* db = nullptr;
    std::string v;
    if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
            v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return v;
}

// A backup taken while messages keep arriving opens, passes the integrity
// check, and holds every message committed before it began.
TEST_F(AdminCli, BackupOfALiveServerUnderWriteLoad) {
    using namespace parley::protocol;
    live_server srv({"--batch-events", "5", "--batch-delay-ms", "20", "--message-rate", "100000/100000"});
    auto ana = srv.connect("ana");
    ana->send(join_room{"lobby", 0});
    const auto room = ana->wait_for<room_joined>().room_id;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> sent{0};
    std::thread writer([&] {
        for (std::uint64_t id = 1; !done && id < 200000; ++id) {
            ana->send(send_message{room, id, 0, "message " + std::to_string(id), false});
            sent = id;
            if (id % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    const auto live_db = srv.data_dir() / "parley.db";
    while (query_int(live_db, "SELECT count(*) FROM messages") < 200)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto committed_before = query_int(live_db, "SELECT max(seq) FROM messages");
    const auto copy = scratch.path() / "copy.db";
    auto made = maintenance(*this, "backup", srv.data_dir(), {copy.string()});
    const auto sent_during = sent.load();
    done = true;
    writer.join();
    ASSERT_EQ(made.status, 0) << made.err;
    EXPECT_NE(made.out.find("wrote " + copy.string()), std::string::npos) << made.out;
    EXPECT_NE(made.out.find("integrity check ok"), std::string::npos) << made.out;
    EXPECT_EQ(query_text(copy, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(query_text(copy, "PRAGMA journal_mode"), "delete");  // one self-contained file
    EXPECT_FALSE(std::filesystem::exists(copy.string() + "-wal"));
    // Every message committed before the backup began is in the copy.
    const std::string up_to = "SELECT count(*) FROM messages WHERE seq <= " + std::to_string(committed_before);
    EXPECT_GT(query_int(copy, up_to), 100);
    EXPECT_EQ(query_int(copy, up_to), query_int(live_db, up_to));
    const auto in_copy = query_int(copy, "SELECT count(*) FROM messages");
    EXPECT_GT(static_cast<std::int64_t>(sent_during), in_copy);  // writing went on meanwhile
    EXPECT_NE(made.out.find(std::to_string(in_copy) + " messages"), std::string::npos) << made.out;

    // A second backup to the same name refuses and leaves the first alone.
    auto again = maintenance(*this, "backup", srv.data_dir(), {copy.string()});
    EXPECT_EQ(again.status, 1);
    EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
    EXPECT_EQ(query_int(copy, "SELECT count(*) FROM messages"), in_copy);
}

TEST_F(AdminCli, RestoreWaitsForTheServerToStopThenSwapsTheBackupIn) {
    using namespace parley::protocol;
    live_server srv;
    auto ana = srv.connect("ana");
    ana->send(join_room{"lobby", 0});
    const auto room = ana->wait_for<room_joined>().room_id;
    std::uint64_t backed_up_seq = 0;
    for (std::uint64_t id = 1; id <= 3; ++id) {
        ana->send(send_message{room, id, 0, "before the backup", false});
        backed_up_seq = ana->wait_for<ack>().seq;
    }
    const auto backup = scratch.path() / "backup.db";
    // The backup holds what was committed: stop nothing, wait for the writer.
    const auto live_db = srv.data_dir() / "parley.db";
    while (query_int(live_db, "SELECT count(*) FROM messages") < 3)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(maintenance(*this, "backup", srv.data_dir(), {backup.string()}).status, 0);
    for (std::uint64_t id = 4; id <= 5; ++id) {
        ana->send(send_message{room, id, 0, "after the backup", false});
        ana->wait_for<ack>();
    }

    auto busy = maintenance(*this, "restore", srv.data_dir(), {backup.string()});
    EXPECT_EQ(busy.status, 1);
    EXPECT_NE(busy.err.find("in use by process " + std::to_string(srv.pid())), std::string::npos) << busy.err;
    EXPECT_NE(busy.err.find("stop it first"), std::string::npos) << busy.err;

    ana.reset();
    ASSERT_EQ(srv.stop(SIGTERM), 0);
    EXPECT_EQ(query_int(live_db, "SELECT count(*) FROM messages"), 5);  // the refusal changed nothing

    // Not a database, or a damaged one: refused, nothing changed.
    const auto junk = scratch.path() / "junk.db";
    std::ofstream(junk) << std::string(8192, 'x');
    auto bad = maintenance(*this, "restore", srv.data_dir(), {junk.string()});
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find("nothing was changed"), std::string::npos) << bad.err;
    EXPECT_EQ(query_int(live_db, "SELECT count(*) FROM messages"), 5);

    auto restored = maintenance(*this, "restore", srv.data_dir(), {backup.string()});
    ASSERT_EQ(restored.status, 0) << restored.err;
    EXPECT_NE(restored.out.find("3 messages"), std::string::npos) << restored.out;
    EXPECT_NE(restored.out.find("kept as "), std::string::npos) << restored.out;
    EXPECT_EQ(query_int(live_db, "SELECT count(*) FROM messages"), 3);
    // The database it replaced is kept whole, its WAL with it.
    std::filesystem::path kept;
    for (const auto& e : std::filesystem::directory_iterator(srv.data_dir()))
        if (e.path().filename().string().starts_with("parley.db.before-restore-") &&
            e.path().extension() != ".db-wal" && e.path().string().find("-wal") == std::string::npos &&
            e.path().string().find("-shm") == std::string::npos)
            kept = e.path();
    ASSERT_FALSE(kept.empty());
    EXPECT_EQ(query_int(kept, "SELECT count(*) FROM messages"), 5);

    // The server starts on the restored database and serves its history.
    srv.restart();
    auto again = srv.connect("ana");
    again->send(join_room{"lobby", 0});
    const auto joined = again->wait_for<room_joined>();
    EXPECT_EQ(joined.last_seq, backed_up_seq);
}

TEST_F(AdminCli, TwoServersNeverShareADataDirectory) {
    live_server srv;
    std::vector<std::string> argv{parley_binary(), "--listen", "127.0.0.1:0", "--data-dir", srv.data_dir().string(),
                                  "--password-cost", "min"};
    const auto err = scratch.path() / "second.err";
    child_process second(argv, err.string(), "/dev/null", "/dev/null");
    EXPECT_EQ(second.wait(), 1);
    EXPECT_NE(slurp(err).find("is in use by process " + std::to_string(srv.pid())), std::string::npos) << slurp(err);
    EXPECT_EQ(http_call(srv.port(), "GET", "/healthz").status, 200);
}


// ---- accounts: reset-password, disable-user, enable-user, list-users, list-rooms -----------------

std::string me_of(std::uint16_t port, const std::string& token) {
    return std::to_string(http_call(port, "GET", "/api/me", "", {{"Authorization", "Bearer " + token}}).status);
}

// With no server: each command acts on the database and says what it did.
TEST_F(AdminCli, ManagesAccountsWithNoServerRunning) {
    const auto dir = scratch.path() / "data";
    ASSERT_EQ(admin(dir, {"add-user", "ana"}, "a long passphrase\n").status, 0);
    ASSERT_EQ(admin(dir, {"add-user", "bob"}, "another passphrase\n").status, 0);
    EXPECT_FALSE(std::filesystem::exists(dir / "parley.sock"));

    auto off = admin(dir, {"disable-user", "bob"});
    ASSERT_EQ(off.status, 0) << off.err;
    EXPECT_NE(off.out.find("disabled bob"), std::string::npos) << off.out;
    auto users = admin(dir, {"list-users"});
    EXPECT_EQ(users.status, 0);
    EXPECT_NE(users.out.find("ana\tadmin\t-\t"), std::string::npos) << users.out;
    EXPECT_NE(users.out.find("bob\t-\tdisabled\t"), std::string::npos) << users.out;
    EXPECT_EQ(admin(dir, {"list"}).out, users.out);  // the old name
    // The last enabled admin is never disabled.
    auto last = admin(dir, {"disable-user", "ana"});
    EXPECT_EQ(last.status, 1);
    EXPECT_NE(last.err.find("last admin"), std::string::npos) << last.err;

    auto on = admin(dir, {"enable-user", "bob"});
    ASSERT_EQ(on.status, 0) << on.err;
    EXPECT_NE(on.out.find("enabled bob"), std::string::npos);
    auto reset = admin(dir, {"reset-password", "bob"}, "a brand new passphrase\n");
    ASSERT_EQ(reset.status, 0) << reset.err;
    EXPECT_NE(reset.out.find("new password set for bob"), std::string::npos) << reset.out;
    EXPECT_EQ(admin(dir, {"reset-password", "bob"}, "short\n").status, 1);
    EXPECT_EQ(admin(dir, {"reset-password", "bob"}, "").status, 1);
    auto nobody = admin(dir, {"disable-user", "nobody"});
    EXPECT_EQ(nobody.status, 1);
    EXPECT_NE(nobody.err.find("nobody: no such user"), std::string::npos) << nobody.err;
    EXPECT_EQ(admin(dir, {"disable-user"}).status, 2);

    // The server that starts afterwards honours all of it.
    live_server srv(dir, {});
    EXPECT_EQ(login(srv.port(), "bob", "another passphrase"), 401);
    EXPECT_EQ(login(srv.port(), "bob", "a brand new passphrase"), 200);
    auto rooms = admin(dir, {"list-rooms"});
    EXPECT_EQ(rooms.status, 0) << rooms.err;
    EXPECT_EQ(rooms.out.find("id\tkind\tname\tmembers"), 0u) << rooms.out;
}

// A disabled user's open WebSocket closes at once; their sessions and
// password stop working; enabling lets them sign in again.
TEST_F(AdminCli, DisableUserThroughARunningServerDisconnectsAtOnce) {
    using namespace parley::protocol;
    live_server srv;
    srv.token("ana");  // the first account: the admin
    auto bob = srv.connect("bob");
    bob->send(join_room{"lobby", 0});
    bob->wait_for<room_joined>();
    const std::string bob_token = srv.token("bob");
    ASSERT_TRUE(std::filesystem::exists(srv.data_dir() / "parley.sock"));
    EXPECT_EQ(std::filesystem::status(srv.data_dir() / "parley.sock").permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

    auto off = admin(srv.data_dir(), {"disable-user", "bob"});
    ASSERT_EQ(off.status, 0) << off.err;
    EXPECT_NE(off.out.find("disabled bob"), std::string::npos) << off.out;
    EXPECT_NE(off.out.find("1 open connection closed"), std::string::npos) << off.out;
    EXPECT_TRUE(bob->wait_closed().has_value());  // closed by the server, without waiting for anything else
    EXPECT_EQ(me_of(srv.port(), bob_token), "401");
    auto refused = http_call(srv.port(), "POST", "/api/login", json{{"username", "bob"}, {"password", "correct horse"}}.dump());
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(refused.body.find("account_disabled"), std::string::npos) << refused.body;
    EXPECT_EQ(login(srv.port(), "bob", "wrong password!"), 401);  // a wrong password learns nothing more

    ASSERT_EQ(admin(srv.data_dir(), {"enable-user", "bob"}).status, 0);
    EXPECT_EQ(login(srv.port(), "bob", "correct horse"), 200);
    EXPECT_EQ(me_of(srv.port(), bob_token), "401");  // the old session stays gone
}

TEST_F(AdminCli, ResetPasswordThroughARunningServerEndsEverySession) {
    using namespace parley::protocol;
    live_server srv;
    srv.token("ana");
    auto bob = srv.connect("bob");
    const std::string bob_token = srv.token("bob");
    auto reset = admin(srv.data_dir(), {"reset-password", "bob"}, "a brand new passphrase\n");
    ASSERT_EQ(reset.status, 0) << reset.err;
    EXPECT_NE(reset.out.find("1 open connection closed"), std::string::npos) << reset.out;
    EXPECT_TRUE(bob->wait_closed().has_value());
    EXPECT_EQ(me_of(srv.port(), bob_token), "401");
    EXPECT_EQ(login(srv.port(), "bob", "correct horse"), 401);
    EXPECT_EQ(login(srv.port(), "bob", "a brand new passphrase"), 200);
    auto bad = admin(srv.data_dir(), {"reset-password", "nobody"}, "a brand new passphrase\n");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find("no such user"), std::string::npos) << bad.err;
}

// A live connection holds the admin flag it signed in with: a grant asks it
// to reconnect (going away, the session kept), and it comes back an admin.
TEST_F(AdminCli, GrantThroughARunningServerRefreshesLiveConnections) {
    live_server srv;
    srv.token("ana");
    auto bob = srv.connect("bob");
    auto grant = admin(srv.data_dir(), {"grant", "bob"});
    ASSERT_EQ(grant.status, 0) << grant.err;
    EXPECT_NE(grant.out.find("bob is now an admin; 1 connection reconnects"), std::string::npos) << grant.out;
    EXPECT_EQ(bob->wait_closed(), 1001);
    EXPECT_EQ(me_of(srv.port(), srv.token("bob")), "200");  // signed in still
}

// The lock is held but nothing answers on the socket: refused, nothing changed.
TEST_F(AdminCli, SaysWhenItCannotReachTheRunningServer) {
    live_server srv;
    srv.token("ana");
    srv.token("bob");
    std::filesystem::remove(srv.data_dir() / "parley.sock");
    auto off = admin(srv.data_dir(), {"disable-user", "bob"});
    EXPECT_EQ(off.status, 1);
    EXPECT_NE(off.err.find("cannot be reached"), std::string::npos) << off.err;
    EXPECT_NE(off.err.find("nothing was changed"), std::string::npos) << off.err;
    EXPECT_EQ(login(srv.port(), "bob", "correct horse"), 200);
    auto users = admin(srv.data_dir(), {"list-users"});  // reading needs no server
    EXPECT_NE(users.out.find("bob\t-\t-\t"), std::string::npos) << users.out;
}

// The control socket answers every malformed request with an error line and does nothing.
TEST_F(AdminCli, ControlSocketRefusesWhatItDoesNotKnow) {
    live_server srv;
    srv.token("ana");
    const auto sock = srv.data_dir() / "parley.sock";
    std::string why;
    for (const std::string& line : {std::string("hello"), std::string(R"({"command":"format-disk","user":"ana"})"),
                                   std::string(R"({"command":"disable-user"})"), std::string(8000, 'x')}) {
        const auto answer = parley::server::call_control_socket(sock, line, why);
        ASSERT_TRUE(answer) << why;
        const auto reply = json::parse(*answer, nullptr, false);
        EXPECT_EQ(reply.value("ok", true), false) << *answer;
    }
    EXPECT_EQ(login(srv.port(), "ana", "correct horse"), 200);
    // And it is gone once the server stops.
    ASSERT_EQ(srv.stop(SIGTERM), 0);
    EXPECT_FALSE(std::filesystem::exists(sock));
}

// `parley admin` upgrades an older database as the server does: a copy of
// it as it was first, and a line on stderr naming it.
TEST_F(AdminCli, BacksUpAnOlderDatabaseBeforeUpgradingIt) {
    const auto data = scratch.path() / "data";
    std::filesystem::create_directories(data);
    {
        parley::server::database db((data / "parley.db").string(), parley::server::database::mode::read_write);
        parley::server::migrate(db, parley::server::embedded_migrations().first(5));
    }
    auto r = admin(data, {"list-users"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::vector<std::string> copies;
    for (const auto& e : std::filesystem::directory_iterator(data))
        if (e.path().filename().string().starts_with("parley.db.before-upgrade-v5-to-v")) copies.push_back(e.path().string());
    ASSERT_EQ(copies.size(), 1u) << r.err;
    EXPECT_NE(r.err.find("backed up the database (schema version 5) to " + copies[0]), std::string::npos) << r.err;
    // Current now: the next command takes no copy.
    r = admin(data, {"list-users"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("backed up"), std::string::npos) << r.err;
}

}  // namespace
