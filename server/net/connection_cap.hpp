// Open connections per client address, and the cap on them.
//
// Every TCP connection, HTTP or WebSocket, holds one slot of its peer's
// address from accept to close (the http_session's slot moves into the
// websocket_session on upgrade). A connection that would exceed the cap gets
// no slot and is refused with 503, so one address cannot pin down the
// server's descriptors and memory while connections from every other address
// are served as usual. Synchronous and clock-free, so a unit test drives it
// directly; safe to use from any thread.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

namespace parley::server {

class connection_cap {
    struct counts;

public:
    /// One connection's place in its address's count, given back on destruction.
    /// It keeps the counts alive, so a session may outlive the server context
    /// (handlers destroyed with the io_context at exit).
    class slot {
    public:
        slot() = default;
        slot(slot&& other) noexcept = default;
        slot& operator=(slot&& other) noexcept;
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        ~slot();
        /// False for the empty slot of a refused connection.
        explicit operator bool() const { return counts_ != nullptr; }

    private:
        friend class connection_cap;
        slot(std::shared_ptr<counts> c, boost::asio::ip::address address) : counts_(std::move(c)), address_(address) {}
        void release();
        std::shared_ptr<counts> counts_;
        boost::asio::ip::address address_;
    };

    /** @param max_per_address open connections one address may hold; 0: no cap */
    explicit connection_cap(std::size_t max_per_address);

    /** A slot for one more connection from `address` (an IPv4-mapped IPv6
     *  address counts as its IPv4 address).
     *  @return the slot, or an empty one if `address` holds max_per_address already */
    slot try_acquire(boost::asio::ip::address address);

    /// Connections `address` holds now.
    std::size_t open_from(boost::asio::ip::address address) const;

private:
    struct counts {
        // A constructor, not an aggregate: make_shared<counts>(max) needs
        // parenthesized aggregate init, which clang 14 (the fuzz build) lacks.
        explicit counts(std::size_t max_per_address) : max(max_per_address) {}
        const std::size_t max;
        std::mutex mutex;
        std::map<boost::asio::ip::address, std::size_t> open;  // addresses with at least one connection
    };
    std::shared_ptr<counts> counts_;
};

}  // namespace parley::server
