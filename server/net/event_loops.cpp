#include "server/net/event_loops.hpp"

namespace parley::server {

event_loops::event_loops(unsigned count) {
    // Concurrency hint 1: each loop is run by one thread (other threads only post to it).
    for (unsigned i = 0; i < std::max(1u, count); ++i) loops_.push_back(std::make_unique<boost::asio::io_context>(1));
}

event_loops::~event_loops() {
    stop();
    join();
}

std::vector<boost::asio::io_context*> event_loops::all() {
    std::vector<boost::asio::io_context*> out;
    for (auto& l : loops_) out.push_back(l.get());
    return out;
}

void event_loops::start() {
    for (auto& l : loops_) {
        work_.emplace_back(l->get_executor());
        threads_.emplace_back([io = l.get()] { io->run(); });
    }
}

void event_loops::stop() {
    work_.clear();
    for (auto& l : loops_) l->stop();
}

void event_loops::join() {
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

}  // namespace parley::server
