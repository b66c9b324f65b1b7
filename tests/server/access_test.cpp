// Registration modes and the invites API of a live server, over loopback:
// each mode, each refusal (which creates and consumes nothing), and who may
// create, list and revoke invites.
#include "server/net/api.hpp"

#include "server/store/accounts.hpp"
#include "server/store/database.hpp"
#include "tests/support/test_server.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace {

using namespace parley::testing;
using parley::server::registration_mode;
using json = nlohmann::json;

std::string registration(const std::string& user, const std::string& invite = {}) {
    json body{{"username", user}, {"password", "correct horse"}};
    if (!invite.empty()) body["invite"] = invite;
    return body.dump();
}

std::map<std::string, std::string> bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::int64_t count(const test_server& srv, const std::string& sql) {
    parley::server::database db((srv.data_dir() / "parley.db").string(), parley::server::database::mode::read_write);
    auto s = db.prepare(sql);
    s.step();
    return s.column_int(0);
}

auto with_mode(registration_mode m, bool member_invites = false) {
    return [=](parley::server::config& cfg) {
        cfg.registration = m;
        cfg.member_invites = member_invites;
    };
}

TEST(Registration, LoopbackDefaultsToOpenAndTheFirstAccountIsAdmin) {
    test_server srv;
    auto mode = http_call(srv.port(), "GET", "/api/registration");
    ASSERT_EQ(mode.status, 200);
    EXPECT_EQ(json::parse(mode.body)["mode"], "open");
    const std::string ana = sign_up(srv.port(), "ana");
    const std::string bob = sign_up(srv.port(), "bob");
    auto me = json::parse(http_call(srv.port(), "GET", "/api/me", "", bearer(ana)).body);
    EXPECT_EQ(me["admin"], true);
    EXPECT_EQ(me["can_invite"], true);
    me = json::parse(http_call(srv.port(), "GET", "/api/me", "", bearer(bob)).body);
    EXPECT_EQ(me["admin"], false);
    EXPECT_EQ(me["can_invite"], false);
}

TEST(Registration, ANonLoopbackAddressDefaultsToInvite) {
    // 0.0.0.0 also answers on loopback, so the test can reach it.
    test_server srv([](auto& cfg) { cfg.listen_host = "0.0.0.0"; });
    EXPECT_EQ(json::parse(http_call(srv.port(), "GET", "/api/registration").body)["mode"], "invite");
    auto res = http_call(srv.port(), "POST", "/api/register", registration("ana"));
    EXPECT_EQ(res.status, 403);
    EXPECT_EQ(json::parse(res.body)["error"], "invite_required");
}

TEST(Registration, ClosedRefusesEveryoneAndCreatesNothing) {
    test_server srv(with_mode(registration_mode::closed));
    EXPECT_EQ(json::parse(http_call(srv.port(), "GET", "/api/registration").body)["mode"], "closed");
    auto res = http_call(srv.port(), "POST", "/api/register", registration("ana"));
    EXPECT_EQ(res.status, 403);
    const auto body = json::parse(res.body);
    EXPECT_EQ(body["error"], "registration_closed");
    EXPECT_NE(body["message"].get<std::string>().find("registration is closed"), std::string::npos);
    EXPECT_TRUE(res.headers["set-cookie"].empty());
    EXPECT_EQ(count(srv, "SELECT COUNT(*) FROM users"), 0);
}

// An admin in invite mode comes from the CLI's add-user, here through the
// store as the CLI does it; the CLI itself is tested in admin_cli_test.
std::string make_admin(test_server& srv) {
    {
        auto cfg = test_config(srv.data_dir());
        parley::server::accounts a((srv.data_dir() / "parley.db").string(), cfg);
        a.add_user("root", "correct horse", true);
    }
    auto res = http_call(srv.port(), "POST", "/api/login", json{{"username", "root"}, {"password", "correct horse"}}.dump());
    return json::parse(res.body)["token"];
}

std::string create_invite(test_server& srv, const std::string& token, json body = json::object()) {
    auto res = http_call(srv.port(), "POST", "/api/invites", body.dump(), bearer(token));
    EXPECT_EQ(res.status, 201) << res.body;
    return json::parse(res.body).value("code", "");
}

TEST(Registration, InviteModeNeedsAValidCodeAndRefusalsCostNothing) {
    test_server srv(with_mode(registration_mode::invite));
    const std::string root = make_admin(srv);
    const std::string code = create_invite(srv, root);

    auto none = http_call(srv.port(), "POST", "/api/register", registration("ana"));
    EXPECT_EQ(none.status, 403);
    EXPECT_EQ(json::parse(none.body)["error"], "invite_required");
    EXPECT_NE(json::parse(none.body)["message"].get<std::string>().find("registration needs an invite"), std::string::npos);
    auto bad = http_call(srv.port(), "POST", "/api/register", registration("ana", "not-a-real-code"));
    EXPECT_EQ(bad.status, 403);
    EXPECT_EQ(json::parse(bad.body)["error"], "invite_invalid");
    EXPECT_NE(json::parse(bad.body)["message"].get<std::string>().find("invite expired or used up"), std::string::npos);
    auto taken = http_call(srv.port(), "POST", "/api/register", registration("ROOT", code));
    EXPECT_EQ(taken.status, 409);
    EXPECT_EQ(count(srv, "SELECT COUNT(*) FROM users"), 1);
    EXPECT_EQ(count(srv, "SELECT uses_left FROM invites"), 1);  // nothing consumed

    auto ok = http_call(srv.port(), "POST", "/api/register", registration("ana", code));
    EXPECT_EQ(ok.status, 201) << ok.body;
    auto again = http_call(srv.port(), "POST", "/api/register", registration("bob", code));
    EXPECT_EQ(again.status, 403);
    EXPECT_EQ(json::parse(again.body)["error"], "invite_invalid");
    EXPECT_EQ(count(srv, "SELECT COUNT(*) FROM users"), 2);
}

// An invite of N uses lets exactly N people in; one whose time is up lets
// nobody in (its expiry is moved into the past in the database, as an hour
// passing would), and neither refusal consumes or creates anything.
TEST(Registration, InvitesRunOutAndExpire) {
    test_server srv(with_mode(registration_mode::invite));
    const std::string root = make_admin(srv);
    auto made = http_call(srv.port(), "POST", "/api/invites", json{{"uses", 2}, {"expires_in_s", 3600}}.dump(), bearer(root));
    ASSERT_EQ(made.status, 201) << made.body;
    const std::string twice = json::parse(made.body)["code"];
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", registration("ana", twice)).status, 201);
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", registration("bob", twice)).status, 201);
    auto third = http_call(srv.port(), "POST", "/api/register", registration("cy", twice));
    EXPECT_EQ(third.status, 403);
    EXPECT_EQ(json::parse(third.body)["error"], "invite_invalid");

    const std::string later = create_invite(srv, root);
    parley::server::database((srv.data_dir() / "parley.db").string(), parley::server::database::mode::read_write)
        .exec("UPDATE invites SET expires_at = 1 WHERE uses_left > 0");
    auto late = http_call(srv.port(), "POST", "/api/register", registration("dee", later));
    EXPECT_EQ(late.status, 403);
    EXPECT_EQ(json::parse(late.body)["error"], "invite_invalid");
    EXPECT_EQ(count(srv, "SELECT COUNT(*) FROM users"), 3);  // root, ana, bob
    EXPECT_EQ(count(srv, "SELECT uses_left FROM invites WHERE uses_left > 0"), 1);
}

TEST(Registration, BadInviteCodesCountAsFailedAttemptsOfTheAddress) {
    test_server srv([](auto& cfg) {
        cfg.registration = registration_mode::invite;
        cfg.login_failures_per_address = 3;
    });
    int refused = 0, limited = 0;
    for (int i = 0; i < 6; ++i) {
        auto res = http_call(srv.port(), "POST", "/api/register", registration("ana", "guess" + std::to_string(i)));
        refused += res.status == 403;
        limited += res.status == 429;
    }
    EXPECT_EQ(refused, 3);
    EXPECT_EQ(limited, 3);
}

TEST(Invites, OnlyAdminsMayUseTheApiByDefault) {
    test_server srv;
    const std::string root = sign_up(srv.port(), "root");  // the first account: admin
    const std::string member = sign_up(srv.port(), "member");
    for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"POST", "/api/invites"}, {"GET", "/api/invites"}, {"DELETE", "/api/invites/1"}}) {
        const std::string body = method == "POST" ? "{}" : "";
        EXPECT_EQ(http_call(srv.port(), method, target, body).status, 401) << method;
        EXPECT_EQ(http_call(srv.port(), method, target, body, bearer("forged-token")).status, 401) << method;
        EXPECT_EQ(http_call(srv.port(), method, target, body, bearer(member)).status, 403) << method;
    }
    EXPECT_EQ(count(srv, "SELECT COUNT(*) FROM invites"), 0);

    auto made = http_call(srv.port(), "POST", "/api/invites", json{{"uses", 3}, {"expires_in_s", 3600}}.dump(), bearer(root));
    ASSERT_EQ(made.status, 201) << made.body;
    const auto inv = json::parse(made.body);
    EXPECT_EQ(inv["uses"], 3);
    EXPECT_EQ(inv["link"], "/?invite=" + inv["code"].get<std::string>());
    auto list = json::parse(http_call(srv.port(), "GET", "/api/invites", "", bearer(root)).body)["invites"];
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["id"], inv["id"]);
    EXPECT_FALSE(list[0].contains("code"));  // shown once, at creation
    const std::string one = "/api/invites/" + std::to_string(inv["id"].get<std::uint64_t>());
    EXPECT_EQ(http_call(srv.port(), "DELETE", one, "", bearer(member)).status, 403);
    EXPECT_EQ(http_call(srv.port(), "DELETE", one, "", bearer(root)).status, 204);
    EXPECT_EQ(http_call(srv.port(), "DELETE", one, "", bearer(root)).status, 404);
    EXPECT_EQ(http_call(srv.port(), "DELETE", "/api/invites/abc", "", bearer(root)).status, 404);
}

TEST(Invites, RequestsAreBounded) {
    test_server srv;
    const std::string root = sign_up(srv.port(), "root");
    for (const json& body : {json{{"uses", 0}}, json{{"uses", 1001}}, json{{"uses", "3"}}, json{{"expires_in_s", 59}},
                             json{{"expires_in_s", 91 * 86400}}, json{{"uses", 1.5}}}) {
        auto res = http_call(srv.port(), "POST", "/api/invites", body.dump(), bearer(root));
        EXPECT_EQ(res.status, 400) << body.dump();
    }
    EXPECT_EQ(count(srv, "SELECT COUNT(*) FROM invites"), 0);
    auto dflt = json::parse(http_call(srv.port(), "POST", "/api/invites", "{}", bearer(root)).body);
    EXPECT_EQ(dflt["uses"], 1);
    EXPECT_EQ(dflt["expires_at"].get<std::int64_t>() - dflt["created_at"].get<std::int64_t>(), 7 * 86400 * 1000LL);
}

TEST(Invites, MemberInvitesLetMembersInviteAndRevokeOnlyTheirOwn) {
    test_server srv(with_mode(registration_mode::invite, true));
    const std::string root = make_admin(srv);
    const std::string ana = [&] {
        auto res = http_call(srv.port(), "POST", "/api/register", registration("ana", create_invite(srv, root)));
        return json::parse(res.body)["token"].get<std::string>();
    }();
    EXPECT_EQ(json::parse(http_call(srv.port(), "GET", "/api/me", "", bearer(ana)).body)["can_invite"], true);
    const std::string code = create_invite(srv, ana);
    ASSERT_FALSE(code.empty());
    auto mine = json::parse(http_call(srv.port(), "GET", "/api/invites", "", bearer(ana)).body)["invites"];
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0]["created_by"], "ana");
    // The admin's invites are not the member's to see or revoke; the admin sees all.
    EXPECT_EQ(json::parse(http_call(srv.port(), "GET", "/api/invites", "", bearer(root)).body)["invites"].size(), 2u);
    auto roots = json::parse(http_call(srv.port(), "GET", "/api/invites", "", bearer(root)).body)["invites"];
    const auto of_root = roots[1]["id"].get<std::uint64_t>();
    EXPECT_EQ(http_call(srv.port(), "DELETE", "/api/invites/" + std::to_string(of_root), "", bearer(ana)).status, 404);
    EXPECT_EQ(http_call(srv.port(), "POST", "/api/register", registration("bob", code)).status, 201);
}

}  // namespace
