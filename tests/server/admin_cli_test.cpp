// `parley admin ...` as an operator runs it: the real binary, on the data
// directory of a server that is running, with the password on stdin.
#include "server/admin_cli.hpp"

#include "tests/support/live_server.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

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

}  // namespace
