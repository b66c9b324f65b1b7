// Accounts on a real SQLite file: the first admin, registration modes and
// invite codes (expiry, uses, the racing last use), the admin flag.
#include "server/store/accounts.hpp"

#include "server/store/database.hpp"
#include "server/store/migrations.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

using namespace parley::server;
using parley::testing::temp_dir;
using namespace std::chrono_literals;

struct store : ::testing::Test {
    temp_dir dir;
    std::string path = (dir.path() / "parley.db").string();
    config cfg = parley::testing::test_config(dir.path());

    store() {
        database db(path, database::mode::read_write);
        migrate(db);
    }
    std::int64_t count(const std::string& sql) {
        database db(path, database::mode::read_write);
        statement s = db.prepare(sql);
        s.step();
        return s.column_int(0);
    }
    // Makes an invite's expiry lie in the past, as time passing would.
    void expire(std::uint64_t invite) {
        database db(path, database::mode::read_write);
        db.exec("UPDATE invites SET expires_at = 1 WHERE id = " + std::to_string(invite));
    }
};

TEST_F(store, TheFirstAccountIsTheOnlyAutomaticAdmin) {
    accounts a(path, cfg);
    auto ana = std::get<issued_session>(a.register_user("ana", "correct horse"));
    auto bob = std::get<issued_session>(a.register_user("bob", "correct horse"));
    EXPECT_TRUE(a.is_admin(ana.user.id));
    EXPECT_FALSE(a.is_admin(bob.user.id));
}

// Two servers (or a server and the CLI) on one database, each with its own
// connection, registering the very first accounts at once: one admin.
TEST_F(store, RacingFirstRegistrationsMakeExactlyOneAdmin) {
    for (int round = 0; round < 5; ++round) {
        temp_dir d;
        const std::string p = (d.path() / "parley.db").string();
        {
            database db(p, database::mode::read_write);
            migrate(db);
        }
        std::vector<std::unique_ptr<accounts>> conns;
        for (int i = 0; i < 4; ++i) conns.push_back(std::make_unique<accounts>(p, cfg));
        std::atomic<int> ready{0};
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < 4; ++i)
            threads.emplace_back([&, i] {
                ++ready;
                while (ready < 4) std::this_thread::yield();
                ASSERT_TRUE(std::holds_alternative<issued_session>(
                    conns[i]->register_user("user" + std::to_string(i), "correct horse")));
            });
        for (auto& t : threads) t.join();
        database db(p, database::mode::read_write);
        statement s = db.prepare("SELECT COUNT(*), SUM(is_admin) FROM users");
        s.step();
        EXPECT_EQ(s.column_int(0), 4);
        EXPECT_EQ(s.column_int(1), 1) << "round " << round;
    }
}

TEST_F(store, ClosedModeRefusesRegistrationButNotAddUser) {
    cfg.registration = registration_mode::closed;
    accounts a(path, cfg);
    EXPECT_EQ(std::get<account_error>(a.register_user("ana", "correct horse")), account_error::registration_closed);
    EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 0);
    auto ana = std::get<user_identity>(a.add_user("ana", "correct horse", false));
    EXPECT_TRUE(a.is_admin(ana.id));  // still the first account
    auto bob = std::get<user_identity>(a.add_user("bob", "correct horse", true));
    EXPECT_TRUE(a.is_admin(bob.id));
    EXPECT_EQ(std::get<account_error>(a.add_user("BOB", "correct horse", false)), account_error::username_taken);
    EXPECT_TRUE(std::holds_alternative<issued_session>(a.login("bob", "correct horse")));
}

TEST_F(store, InviteModeNeedsAValidCode) {
    cfg.registration = registration_mode::invite;
    accounts a(path, cfg);
    EXPECT_EQ(std::get<account_error>(a.register_user("ana", "correct horse")), account_error::invite_required);
    EXPECT_EQ(std::get<account_error>(a.register_user("ana", "correct horse", "made-up-code")),
              account_error::invite_invalid);
    EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 0);
    auto inv = std::get<issued_invite>(a.create_invite(0, 1, 3600s));
    EXPECT_EQ(inv.code.size(), 22u);
    EXPECT_TRUE(std::holds_alternative<issued_session>(a.register_user("ana", "correct horse", inv.code)));
    // Only the code's hash is stored.
    EXPECT_EQ(count("SELECT COUNT(*) FROM invites WHERE instr(code_hash, '" + inv.code + "') > 0"), 0);
}

TEST_F(store, AnInviteHasNUses) {
    cfg.registration = registration_mode::invite;
    accounts a(path, cfg);
    auto inv = std::get<issued_invite>(a.create_invite(0, 3, 3600s));
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(std::holds_alternative<issued_session>(
            a.register_user("user" + std::to_string(i), "correct horse", inv.code)));
    EXPECT_EQ(std::get<account_error>(a.register_user("late", "correct horse", inv.code)),
              account_error::invite_invalid);
    EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 3);
    EXPECT_EQ(count("SELECT uses_left FROM invites"), 0);
}

TEST_F(store, AnExpiredOrRevokedInviteLetsNobodyIn) {
    cfg.registration = registration_mode::invite;
    accounts a(path, cfg);
    auto old = std::get<issued_invite>(a.create_invite(0, 5, 3600s));
    expire(old.info.id);
    EXPECT_EQ(std::get<account_error>(a.register_user("ana", "correct horse", old.code)), account_error::invite_invalid);
    auto revoked = std::get<issued_invite>(a.create_invite(0, 5, 3600s));
    EXPECT_TRUE(a.revoke_invite(revoked.info.id, 0, true));
    EXPECT_EQ(std::get<account_error>(a.register_user("ana", "correct horse", revoked.code)),
              account_error::invite_invalid);
    EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 0);
    EXPECT_EQ(count("SELECT SUM(uses_left) FROM invites"), 10);  // refusals consumed nothing
}

TEST_F(store, ARefusedRegistrationConsumesNoUse) {
    cfg.registration = registration_mode::invite;
    accounts a(path, cfg);
    auto first = std::get<issued_invite>(a.create_invite(0, 1, 3600s));
    ASSERT_TRUE(std::holds_alternative<issued_session>(a.register_user("ana", "correct horse", first.code)));
    auto inv = std::get<issued_invite>(a.create_invite(0, 1, 3600s));
    EXPECT_EQ(std::get<account_error>(a.register_user("ANA", "correct horse", inv.code)), account_error::username_taken);
    EXPECT_EQ(std::get<account_error>(a.register_user("bob", "short", inv.code)), account_error::bad_password);
    EXPECT_TRUE(std::holds_alternative<issued_session>(a.register_user("bob", "correct horse", inv.code)));
}

// Two connections race for the last use of one code: exactly one account.
TEST_F(store, RacingRegistrationsOnTheLastUseMakeOneAccount) {
    cfg.registration = registration_mode::invite;
    for (int round = 0; round < 5; ++round) {
        std::vector<std::unique_ptr<accounts>> conns;
        for (int i = 0; i < 4; ++i) conns.push_back(std::make_unique<accounts>(path, cfg));
        const auto inv = std::get<issued_invite>(conns[0]->create_invite(0, 1, 3600s));
        std::atomic<int> ready{0}, made{0}, refused{0};
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < 4; ++i)
            threads.emplace_back([&, i] {
                ++ready;
                while (ready < 4) std::this_thread::yield();
                auto r = conns[i]->register_user("r" + std::to_string(round) + "u" + std::to_string(i), "correct horse",
                                                 inv.code);
                if (std::holds_alternative<issued_session>(r)) ++made;
                else if (std::get<account_error>(r) == account_error::invite_invalid) ++refused;
            });
        for (auto& t : threads) t.join();
        EXPECT_EQ(made, 1) << "round " << round;
        EXPECT_EQ(refused, 3);
    }
    EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 5);
}

TEST_F(store, InvitesAreBounded) {
    accounts a(path, cfg);
    auto ana = std::get<issued_session>(a.register_user("ana", "correct horse"));
    EXPECT_EQ(std::get<account_error>(a.create_invite(ana.user.id, 0, 3600s)), account_error::bad_invite_uses);
    EXPECT_EQ(std::get<account_error>(a.create_invite(ana.user.id, 1001, 3600s)), account_error::bad_invite_uses);
    EXPECT_EQ(std::get<account_error>(a.create_invite(ana.user.id, 1, 59s)), account_error::bad_invite_ttl);
    EXPECT_EQ(std::get<account_error>(a.create_invite(ana.user.id, 1, 91 * 24h)), account_error::bad_invite_ttl);
    for (std::size_t i = 0; i < parley::server::bounds::max_open_invites_per_user; ++i)
        ASSERT_TRUE(std::holds_alternative<issued_invite>(a.create_invite(ana.user.id, 1, 3600s)));
    EXPECT_EQ(std::get<account_error>(a.create_invite(ana.user.id, 1, 3600s)), account_error::too_many_invites);
}

TEST_F(store, InvitesAreListedAndRevokedByTheirCreator) {
    accounts a(path, cfg);
    auto ana = std::get<issued_session>(a.register_user("ana", "correct horse"));
    auto bob = std::get<issued_session>(a.register_user("bob", "correct horse"));
    auto of_ana = std::get<issued_invite>(a.create_invite(ana.user.id, 2, 3600s));
    std::get<issued_invite>(a.create_invite(bob.user.id, 1, 3600s));
    ASSERT_EQ(a.list_invites(ana.user.id, false).size(), 1u);
    EXPECT_EQ(a.list_invites(ana.user.id, false)[0].created_by_name, "ana");
    EXPECT_EQ(a.list_invites(ana.user.id, true).size(), 2u);
    EXPECT_FALSE(a.revoke_invite(of_ana.info.id, bob.user.id, false));
    EXPECT_TRUE(a.revoke_invite(of_ana.info.id, ana.user.id, false));
    EXPECT_EQ(a.list_invites(ana.user.id, false)[0].uses_left, 0);
}

TEST_F(store, TheLastAdminCannotBeRevoked) {
    accounts a(path, cfg);
    auto ana = std::get<issued_session>(a.register_user("ana", "correct horse"));
    std::get<issued_session>(a.register_user("bob", "correct horse"));
    EXPECT_EQ(a.set_admin("ana", false), account_error::last_admin);
    EXPECT_EQ(a.set_admin("nobody", true), account_error::no_such_user);
    EXPECT_EQ(a.set_admin("Bob", true), std::nullopt);
    EXPECT_EQ(a.set_admin("ana", false), std::nullopt);
    EXPECT_FALSE(a.is_admin(ana.user.id));
    EXPECT_EQ(a.set_admin("bob", false), account_error::last_admin);
    EXPECT_EQ(a.set_admin("ana", false), std::nullopt);  // not an admin: nothing to refuse
    const auto users = a.list_users();
    ASSERT_EQ(users.size(), 2u);
    EXPECT_FALSE(users[0].admin);
    EXPECT_TRUE(users[1].admin);
}

// A disabled account cannot sign in, and no session of it is found, cached or
// not; the right password is needed to learn that it is disabled.
TEST_F(store, ADisabledAccountHasNoSessionsAndCannotSignIn) {
    accounts a(path, cfg);
    std::get<issued_session>(a.register_user("ana", "correct horse"));
    auto bob = std::get<issued_session>(a.register_user("bob", "correct horse"));
    ASSERT_TRUE(a.find_session(bob.token));  // cached now
    auto off = a.set_disabled("BOB", true);
    ASSERT_TRUE(std::holds_alternative<user_identity>(off));
    EXPECT_EQ(std::get<user_identity>(off).id, bob.user.id);
    EXPECT_FALSE(a.find_session(bob.token));
    EXPECT_FALSE(accounts(path, cfg).find_session(bob.token));  // nor from the database
    EXPECT_EQ(count("SELECT COUNT(*) FROM sessions WHERE user_id = " + std::to_string(bob.user.id)), 0);
    EXPECT_EQ(std::get<account_error>(a.login("bob", "correct horse")), account_error::account_disabled);
    EXPECT_EQ(std::get<account_error>(a.login("bob", "not the password")), account_error::wrong_credentials);
    EXPECT_NE(a.list_users()[1].disabled_at_ms, 0);
    EXPECT_TRUE(std::holds_alternative<user_identity>(a.set_disabled("bob", true)));  // already so
    EXPECT_EQ(std::get<account_error>(a.set_disabled("nobody", true)), account_error::no_such_user);
    EXPECT_EQ(std::get<account_error>(a.set_disabled("ana", true)), account_error::last_admin);
    ASSERT_TRUE(std::holds_alternative<user_identity>(a.set_disabled("bob", false)));
    EXPECT_TRUE(std::holds_alternative<issued_session>(a.login("bob", "correct horse")));
    EXPECT_EQ(a.list_users()[1].disabled_at_ms, 0);
}

TEST_F(store, ResettingAPasswordEndsEverySession) {
    accounts a(path, cfg);
    auto bob = std::get<issued_session>(a.register_user("bob", "correct horse"));
    EXPECT_EQ(std::get<account_error>(a.reset_password("bob", "short")), account_error::bad_password);
    EXPECT_TRUE(a.find_session(bob.token));  // a refusal changes nothing
    EXPECT_EQ(std::get<account_error>(a.reset_password("nobody", "a new passphrase")), account_error::no_such_user);
    ASSERT_TRUE(std::holds_alternative<user_identity>(a.reset_password("Bob", "a new passphrase")));
    EXPECT_FALSE(a.find_session(bob.token));
    EXPECT_EQ(std::get<account_error>(a.login("bob", "correct horse")), account_error::wrong_credentials);
    EXPECT_TRUE(std::holds_alternative<issued_session>(a.login("bob", "a new passphrase")));
}

// A database from before roles: its oldest account becomes the admin.
TEST(AccessMigration, TheOldestAccountOfAnExistingDatabaseBecomesAdmin) {
    temp_dir dir;
    database db((dir.path() / "parley.db").string(), database::mode::read_write);
    const auto all = embedded_migrations();
    migrate(db, all.first(4));
    db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(1, 'new', 'new', 'x', 300)");
    db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(2, 'old', 'old', 'x', 100)");
    db.exec("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES(3, 'mid', 'mid', 'x', 200)");
    migrate(db);
    statement s = db.prepare("SELECT username FROM users WHERE is_admin = 1");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.column_text(0), "old");
    EXPECT_FALSE(s.step());
}

TEST(AccessMigration, AnEmptyDatabaseHasNoAdminUntilItsFirstAccount) {
    temp_dir dir;
    database db((dir.path() / "parley.db").string(), database::mode::read_write);
    migrate(db, embedded_migrations().first(4));
    migrate(db);
    statement s = db.prepare("SELECT COUNT(*) FROM users");
    s.step();
    EXPECT_EQ(s.column_int(0), 0);
}

}  // namespace
