#include "tests/cluster/redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace parley::testing {

namespace resp = server::cluster::resp;
using namespace std::chrono_literals;

namespace {

/// A socket fd that closes itself.
class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

std::uint16_t pick_free_port() {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (s.get() < 0 || ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("redis_server: no free loopback port");
    return ntohs(a.sin_port);
}

std::filesystem::path make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-redis-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("redis_server: cannot create a temporary directory");
    return pattern;
}

void set_timeout(int fd, std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

std::string redis_server::binary() {
    const char* over = std::getenv("PARLEY_REDIS_SERVER");
    return over && *over ? over : "/usr/bin/redis-server";
}

bool redis_server::available() { return ::access(binary().c_str(), X_OK) == 0; }

redis_server::redis_server(redis_server_options options) : options_(options), dir_(make_temp_dir()) {
    // The port was free a moment ago; another process may take it meanwhile,
    // so a server that cannot bind gets two more ports to try.
    for (int attempt = 0;; ++attempt) {
        port_ = pick_free_port();
        try {
            start();
            return;
        } catch (const std::exception&) {
            if (running()) kill();
            if (attempt == 2) {
                std::error_code ignored;
                std::filesystem::remove_all(dir_, ignored);
                throw;
            }
        }
    }
}

redis_server::~redis_server() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait_exit(10s);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void redis_server::start() {
    if (running()) throw std::logic_error("redis_server: already running");
    spawn();
    wait_ready();
}

void redis_server::spawn() {
    std::vector<std::string> argv{binary(), "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                  "--dir", dir_.string(), "--save", "",
                                  "--appendonly", options_.append_only ? "yes" : "no",
                                  "--daemonize", "no", "--loglevel", "warning"};
    if (options_.append_only) {
        argv.push_back("--appendfsync");
        argv.push_back("always");
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string log_path = (dir_ / "redis.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // The test's own sockets (a client's connection) must not live on in the server.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("redis_server: cannot start " + argv[0]);
    }
}

void redis_server::wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("redis_server: redis-server exited at start:\n" + log());
        }
        try {
            if (call({"PING"}, 200ms) == resp::value::simple_string("PONG")) return;
        } catch (const std::runtime_error&) {
        }
        std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error("redis_server: no PONG within 10 s:\n" + log());
}

int redis_server::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() >= deadline) return -1;
        std::this_thread::sleep_for(5ms);
    }
}

void redis_server::stop() {
    if (!running()) return;
    ::kill(pid_, SIGCONT);  // a paused server cannot act on SIGTERM
    ::kill(pid_, SIGTERM);
    if (wait_exit(10s) < 0) kill();
}

void redis_server::kill() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
}

void redis_server::pause() {
    if (running()) ::kill(pid_, SIGSTOP);
}

void redis_server::resume() {
    if (running()) ::kill(pid_, SIGCONT);
}

resp::value redis_server::call(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
    fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0) throw std::runtime_error("redis_server: socket() failed");
    set_timeout(s.get(), timeout);
    const sockaddr_in a = loopback(port_);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("redis_server: cannot connect to port " + std::to_string(port_));
    std::string out;
    resp::append_command(out, std::span<const std::string>(args));
    for (std::size_t sent = 0; sent < out.size();) {
        const ssize_t n = ::send(s.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) throw std::runtime_error("redis_server: send failed");
        sent += static_cast<std::size_t>(n);
    }
    resp::parser parser;
    char buffer[16 * 1024];
    for (;;) {
        resp::parse_result r = parser.next();
        if (r) return std::move(*r);
        if (r.failed()) throw std::runtime_error("redis_server: bad reply: " + r.error().message);
        const ssize_t n = ::recv(s.get(), buffer, sizeof buffer, 0);
        if (n <= 0) throw std::runtime_error(n == 0 ? "redis_server: connection closed" : "redis_server: no reply in time");
        parser.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
}

std::string redis_server::log() const {
    std::ifstream in(dir_ / "redis.log");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace parley::testing
