// beast-relay: the floor for this stack. A minimal Boost.Beast WebSocket relay
// with no protocol work and no persistence: every binary message a client
// sends is written to every connected client (itself included), each with its
// own write, as a straightforward Beast server does.
//
//   beast-relay PORT [THREADS]
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class session;

struct hub {
    std::mutex mutex;
    std::unordered_set<session*> sessions;
    void broadcast(const std::shared_ptr<const std::string>& message);
};

class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket&& socket, hub& h) : ws_(std::move(socket)), hub_(h) {}
    ~session() {
        std::lock_guard lock(hub_.mutex);
        hub_.sessions.erase(this);
    }

    void run() {
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.binary(true);
        ws_.async_accept([self = shared_from_this()](beast::error_code ec) {
            if (ec) return;
            {
                std::lock_guard lock(self->hub_.mutex);
                self->hub_.sessions.insert(self.get());
            }
            self->do_read();
        });
    }

    // Any thread: queue on this session's strand.
    void send(std::shared_ptr<const std::string> message) {
        net::post(ws_.get_executor(), [self = shared_from_this(), message] {
            self->queue_.push_back(message);
            if (self->queue_.size() == 1) self->do_write();
        });
    }

private:
    void do_read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            auto message = std::make_shared<const std::string>(beast::buffers_to_string(self->buffer_.data()));
            self->buffer_.consume(self->buffer_.size());
            self->hub_.broadcast(message);
            self->do_read();
        });
    }

    void do_write() {
        ws_.async_write(net::buffer(*queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->queue_.pop_front();
            if (!self->queue_.empty()) self->do_write();
        });
    }

    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    hub& hub_;
    std::deque<std::shared_ptr<const std::string>> queue_;
};

void hub::broadcast(const std::shared_ptr<const std::string>& message) {
    std::vector<std::weak_ptr<session>> targets;
    {
        std::lock_guard lock(mutex);
        targets.reserve(sessions.size());
        for (session* s : sessions) targets.push_back(s->weak_from_this());
    }
    for (auto& w : targets)
        if (auto s = w.lock()) s->send(message);
}

void do_accept(tcp::acceptor& acceptor, net::io_context& io, hub& h) {
    acceptor.async_accept(net::make_strand(io), [&](beast::error_code ec, tcp::socket socket) {
        if (!ec) {
            socket.set_option(tcp::no_delay(true));
            std::make_shared<session>(std::move(socket), h)->run();
        }
        do_accept(acceptor, io, h);
    });
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: beast-relay PORT [THREADS]\nexample: beast-relay 9002 1\n";
        return 2;
    }
    const auto port = static_cast<unsigned short>(std::stoi(argv[1]));
    const int threads = argc > 2 ? std::stoi(argv[2]) : 1;
    net::io_context io(threads);
    tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), port});
    hub h;
    do_accept(acceptor, io, h);
    std::cerr << "beast-relay listening on " << port << " with " << threads << " threads\n";
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
}
