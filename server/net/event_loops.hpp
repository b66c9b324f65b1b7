// The server's event loops: one io_context per I/O thread, each run by
// exactly that thread.
//
// DESIGN
// A connection is placed on one loop when it is accepted (round robin) and
// stays there; a room on the loop its id selects. Everything of one
// connection (its reads, its writes, its send queue) happens on its loop's
// thread, so its state and its queue's lock are never shared with another
// core; a room reaches the connections of another loop once per turn
// (chat/fanout.hpp), not once per member. With N = 1 this is the single
// io_context of a one-threaded server.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace parley::server {

class event_loops {
public:
    explicit event_loops(unsigned count);
    ~event_loops();

    unsigned size() const noexcept { return static_cast<unsigned>(loops_.size()); }
    boost::asio::io_context& at(unsigned i) { return *loops_[i]; }
    /// Every loop, for those that spread work over them.
    std::vector<boost::asio::io_context*> all();

    /// Starts one thread per loop; they run until stop().
    void start();
    /// Lets the loops end (any thread); handlers still queued are dropped.
    void stop();
    /// Waits for the threads.
    void join();

private:
    using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
    std::vector<guard> work_;
    std::vector<std::thread> threads_;
};

}  // namespace parley::server
