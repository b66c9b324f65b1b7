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

#include <csignal>
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

}  // namespace
