// The server as systemd runs it: the readiness protocol of Type=notify
// (READY=1 once it serves, RELOADING=1/READY=1 around a SIGHUP, STOPPING=1 on
// SIGTERM), spoken to a NOTIFY_SOCKET the test listens on, and the unit file
// of packaging/ as systemd-analyze reads it.
#include "tests/support/live_server.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <vector>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

using namespace parley::testing;

/// A datagram socket standing in for systemd's notification socket.
class notify_socket {
public:
    explicit notify_socket(const std::filesystem::path& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ADD_FAILURE() << "bind " << path;
    }
    ~notify_socket() {
        ::close(fd_);
        std::filesystem::remove(path_);
    }
    /// The next notification, or "" after `timeout_ms`.
    std::string next(int timeout_ms = 15000) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) != 1) return {};
        char buf[4096];
        const auto n = ::recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

TEST(Service, TellsSystemdWhenItServesReloadsAndStops) {
    temp_dir dir;
    notify_socket notify(dir.path() / "notify");
    ::setenv("NOTIFY_SOCKET", (dir.path() / "notify").c_str(), 1);
    live_server srv;  // inherits NOTIFY_SOCKET
    ::unsetenv("NOTIFY_SOCKET");

    const std::string ready = notify.next();
    EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
    EXPECT_NE(ready.find("MAINPID=" + std::to_string(srv.pid())), std::string::npos) << ready;
    EXPECT_NE(ready.find("STATUS=serving on 127.0.0.1:" + std::to_string(srv.port())), std::string::npos) << ready;
    // READY=1 came after the port accepts: by now /healthz answers (live_server waited for it too).
    EXPECT_EQ(http_call(srv.port(), "GET", "/healthz").status, 200);

    // systemctl reload: SIGHUP keeps it serving, and says so.
    ::kill(srv.pid(), SIGHUP);
    EXPECT_EQ(notify.next(), "RELOADING=1");
    EXPECT_EQ(notify.next(), "READY=1");
    EXPECT_EQ(http_call(srv.port(), "GET", "/healthz").status, 200);
    ::kill(srv.pid(), SIGHUP);  // and again: the handler is re-armed
    EXPECT_EQ(notify.next(), "RELOADING=1");
    EXPECT_EQ(notify.next(), "READY=1");

    EXPECT_EQ(srv.stop(SIGTERM), 0);
    const std::string stopping = notify.next(1000);
    EXPECT_NE(stopping.find("STOPPING=1"), std::string::npos) << stopping;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// The unit parses, names only what exists, and its sandbox rates "OK" in
// systemd's own exposure score (below 2.0 of 10).
TEST(Service, TheUnitFileIsValidAndHardened) {
    if (std::system("command -v systemd-analyze >/dev/null 2>&1") != 0) GTEST_SKIP() << "no systemd-analyze";
    temp_dir dir;
    const char* source = std::getenv("PARLEY_SOURCE_DIR");  // set by CTest
    ASSERT_NE(source, nullptr);
    std::string unit = slurp(std::filesystem::path(source) / "packaging/parley.service");
    ASSERT_NE(unit.find("Type=notify"), std::string::npos);
    for (const char* line : {"ProtectSystem=strict", "ReadWritePaths=/var/lib/parley", "NoNewPrivileges=yes",
                             "PrivateTmp=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "Restart=on-failure",
                             "ExecReload=/bin/kill -HUP $MAINPID", "User=parley"})
        EXPECT_NE(unit.find(std::string("\n") + line + "\n"), std::string::npos) << line;
    // Run it against this build's binary; the man page is checked where it is installed.
    const auto at = unit.find("/usr/bin/parley");
    ASSERT_NE(at, std::string::npos);
    unit.replace(at, std::string("/usr/bin/parley").size(), parley_binary());
    const auto doc = unit.find("Documentation=");
    unit.erase(doc, unit.find('\n', doc) + 1 - doc);
    const auto path = dir.path() / "parley.service";
    std::ofstream(path) << unit;
    const auto out = dir.path() / "out";
    const std::string verify = "systemd-analyze verify " + path.string() + " >" + out.string() + " 2>&1";
    EXPECT_EQ(std::system(verify.c_str()), 0) << slurp(out);
    const std::string security =
        "systemd-analyze security --offline=yes " + path.string() + " >" + out.string() + " 2>&1";
    ASSERT_EQ(std::system(security.c_str()), 0) << slurp(out);
    const std::string report = slurp(out);
    const auto level = report.find("Overall exposure level for parley.service: ");
    ASSERT_NE(level, std::string::npos) << report;
    const double exposure = std::strtod(report.c_str() + level + 44, nullptr);
    EXPECT_LT(exposure, 2.0) << report.substr(level);
}

// The daily backup: both units parse, the timer names the service, and the
// service's own command, run as systemd would run it (against this build's
// binary and a temporary data directory), takes a checked copy of a live
// server's database and prunes only old copies.
TEST(Service, TheBackupTimerAndItsCommandWork) {
    const char* source = std::getenv("PARLEY_SOURCE_DIR");
    ASSERT_NE(source, nullptr);
    temp_dir dir;
    live_server srv;
    srv.token("ana");  // something to back up
    const auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
        for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
        return s;
    };
    const auto conf = dir.path() / "parley.conf";
    std::ofstream(conf) << "data-dir = " << srv.data_dir().string() << "\n";
    std::string unit = slurp(std::filesystem::path(source) / "packaging/parley-backup.service");
    unit = replace_all(unit, "/var/lib/parley", srv.data_dir().string());
    unit = replace_all(unit, "/usr/bin/parley", parley_binary());
    unit = replace_all(unit, "/etc/parley/parley.conf", conf.string());
    const auto doc = unit.find("Documentation=");
    unit.erase(doc, unit.find('\n', doc) + 1 - doc);
    const auto service = dir.path() / "parley-backup.service";
    std::ofstream(service) << unit;
    std::string timer = slurp(std::filesystem::path(source) / "packaging/parley-backup.timer");
    ASSERT_NE(timer.find("\nOnCalendar=daily\n"), std::string::npos);
    ASSERT_NE(timer.find("\nWantedBy=timers.target\n"), std::string::npos);
    const auto timer_doc = timer.find("Documentation=");
    timer.erase(timer_doc, timer.find('\n', timer_doc) + 1 - timer_doc);
    std::ofstream(dir.path() / "parley-backup.timer") << timer;
    if (std::system("command -v systemd-analyze >/dev/null 2>&1") == 0) {
        const auto out = dir.path() / "out";
        const std::string verify = "cd " + dir.path().string() + " && systemd-analyze verify parley-backup.service " +
                                   "parley-backup.timer >" + out.string() + " 2>&1";
        EXPECT_EQ(std::system(verify.c_str()), 0) << slurp(out);
    }

    // ExecStart= and ExecStartPost= as systemd runs them: %% is a literal %.
    const auto command = [&](const std::string& key) {
        const auto at = unit.find("\n" + key + "=");
        std::string line = unit.substr(at + key.size() + 2, unit.find('\n', at + 1) - at - key.size() - 2);
        return replace_all(line, "%%", "%");
    };
    const auto backups = srv.data_dir() / "backups";
    std::filesystem::create_directories(backups);
    const auto stale = backups / "parley-20200101T000000Z.db";
    std::ofstream(stale) << "old";
    std::filesystem::last_write_time(stale, std::filesystem::file_time_type::clock::now() - std::chrono::hours(24 * 30));
    const auto other = backups / "notes.txt";
    std::ofstream(other) << "not a backup";
    std::filesystem::last_write_time(other, std::filesystem::file_time_type::clock::now() - std::chrono::hours(24 * 30));

    ASSERT_EQ(std::system(command("ExecStart").c_str()), 0) << command("ExecStart");
    std::string post = command("ExecStartPost");
    post = replace_all(post, "-name parley-*.db", "-name 'parley-*.db'");  // systemd passes the pattern unexpanded
    ASSERT_EQ(std::system(post.c_str()), 0) << post;
    std::vector<std::filesystem::path> copies;
    for (const auto& e : std::filesystem::directory_iterator(backups))
        if (e.path().filename().string().starts_with("parley-")) copies.push_back(e.path());
    ASSERT_EQ(copies.size(), 1u) << "the old copy is pruned and today's is there";
    EXPECT_TRUE(std::filesystem::exists(other)) << "only parley-*.db files are pruned";
    const std::string check = "sqlite3 -readonly " + copies[0].string() + " 'PRAGMA integrity_check; SELECT count(*) FROM users;'";
    FILE* p = ::popen(check.c_str(), "r");
    char buf[256] = {};
    std::string got;
    while (std::fgets(buf, sizeof buf, p)) got += buf;
    ::pclose(p);
    EXPECT_EQ(got, "ok\n1\n");
}

}  // namespace
