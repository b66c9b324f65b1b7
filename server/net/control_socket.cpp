#include "server/net/control_socket.hpp"

#include "server/core/bounds.hpp"
#include "server/core/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <stdexcept>

namespace parley::server {
namespace net = boost::asio;
using local = net::local::stream_protocol;

std::filesystem::path control_socket_path(const std::filesystem::path& data_dir) { return data_dir / "parley.sock"; }

struct control_socket::state : std::enable_shared_from_this<control_socket::state> {
    state(net::io_context& io, net::thread_pool& p, std::filesystem::path f, handler h)
        : acceptor(io), pool(p), file(std::move(f)), handle(std::move(h)) {}

    local::acceptor acceptor;
    net::thread_pool& pool;
    std::filesystem::path file;
    handler handle;
    bool stopped = false;

    void do_accept();
};

namespace {

/// One client: a line in, a line out, then the socket closes.
struct control_connection : std::enable_shared_from_this<control_connection> {
    control_connection(local::socket s, net::thread_pool& p, const control_socket::handler& h)
        : socket(std::move(s)), timer(socket.get_executor()), pool(p), handle(h) {}

    local::socket socket;
    net::steady_timer timer;
    net::streambuf buffer{bounds::max_control_line + 1};
    net::thread_pool& pool;
    control_socket::handler handle;  // a copy: the server may stop meanwhile
    std::string answer;

    void run() {
        timer.expires_after(bounds::control_timeout);
        timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->socket.close();
        });
        net::async_read_until(socket, buffer, '\n', [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    void on_read(boost::system::error_code ec, std::size_t n) {
        if (ec == net::error::not_found) return reply(R"({"ok":false,"message":"request too long"})");
        if (ec) return;  // the client left, or the deadline closed it
        std::string line(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(n - 1));
        net::post(pool, [self = shared_from_this(), line = std::move(line)] {
            std::string out = self->handle(line);
            net::post(self->socket.get_executor(), [self, out = std::move(out)]() mutable { self->reply(std::move(out)); });
        });
    }

    void reply(std::string text) {
        answer = std::move(text) + "\n";
        net::async_write(socket, net::buffer(answer), [self = shared_from_this()](boost::system::error_code, std::size_t) {
            boost::system::error_code ignored;
            self->socket.shutdown(local::socket::shutdown_both, ignored);
            self->socket.close(ignored);
            self->timer.cancel();
        });
    }
};

}  // namespace

void control_socket::state::do_accept() {
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, local::socket s) {
        if (ec) {
            if (ec != net::error::operation_aborted) log::warn(log::admin, "control socket: accept failed", {{"error", ec}});
            if (self->stopped || ec == net::error::operation_aborted) return;
        } else {
            std::make_shared<control_connection>(std::move(s), self->pool, self->handle)->run();
        }
        self->do_accept();
    });
}

control_socket::control_socket(net::io_context& io, net::thread_pool& pool, std::filesystem::path path, handler handle)
    : state_(std::make_shared<state>(io, pool, std::move(path), std::move(handle))) {
    if (state_->file.string().size() >= sizeof(sockaddr_un::sun_path))
        throw std::runtime_error("the path " + state_->file.string() + " is too long for a Unix socket");
    std::error_code ec;
    std::filesystem::remove(state_->file, ec);  // stale: we hold the data directory's lock
    // Created 0600 at once (no moment where others could connect), then
    // checked: the umask only takes bits away.
    const mode_t before = ::umask(0177);
    boost::system::error_code bec;
    state_->acceptor.open(local(), bec);
    if (!bec) state_->acceptor.bind(local::endpoint(state_->file.string()), bec);
    ::umask(before);
    if (!bec) state_->acceptor.listen(net::socket_base::max_listen_connections, bec);
    if (bec) throw std::runtime_error("control socket " + state_->file.string() + ": " + bec.message());
    ::chmod(state_->file.c_str(), 0600);
}

control_socket::~control_socket() { stop(); }

void control_socket::run() {
    net::post(state_->acceptor.get_executor(), [s = state_] { s->do_accept(); });
}

void control_socket::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    net::post(state_->acceptor.get_executor(), [s = state_] {
        boost::system::error_code ignored;
        s->acceptor.close(ignored);
    });
    std::error_code ec;
    std::filesystem::remove(state_->file, ec);
}

std::optional<std::string> call_control_socket(const std::filesystem::path& path, std::string_view request,
                                               std::string& error) {
    net::io_context io;
    local::socket s(io);
    boost::system::error_code ec;
    s.connect(local::endpoint(path.string()), ec);
    if (ec) {
        error = path.string() + ": " + ec.message();
        return std::nullopt;
    }
    // Blocking calls with a deadline on each: the answer may take a password hash.
    const timeval tv{static_cast<time_t>(bounds::control_timeout.count()), 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const std::string line = std::string(request) + "\n";
    net::write(s, net::buffer(line), ec);
    net::streambuf buffer(bounds::max_control_line + 1);
    std::size_t n = 0;
    if (!ec) n = net::read_until(s, buffer, '\n', ec);
    if (ec || n == 0) {
        error = "no answer from " + path.string() + (ec ? ": " + ec.message() : std::string());
        return std::nullopt;
    }
    return std::string(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(n - 1));
}

}  // namespace parley::server
