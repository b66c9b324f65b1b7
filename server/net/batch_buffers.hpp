// The buffers of one coalesced write: a batch envelope's header, the shared
// packets, and the envelope's trailer, as a ConstBufferSequence.
//
// Beast copies a buffer sequence into each write operation; this view copies
// as two pointers, where a std::vector<const_buffer> would allocate on every
// write.
#pragma once

#include "protocol/codec.hpp"
#include "server/chat/send_queue.hpp"

#include <boost/asio/buffer.hpp>

#include <iterator>
#include <vector>

namespace parley::server {

class batch_buffers {
public:
    using value_type = boost::asio::const_buffer;

    class const_iterator {
    public:
        using iterator_category = std::bidirectional_iterator_tag;
        using value_type = boost::asio::const_buffer;
        using difference_type = std::ptrdiff_t;
        using pointer = const value_type*;
        using reference = value_type;

        const_iterator() = default;
        const_iterator(const batch_buffers* owner, std::size_t at) : owner_(owner), at_(at) {}

        value_type operator*() const { return owner_->at(at_); }
        const_iterator& operator++() { ++at_; return *this; }
        const_iterator operator++(int) { auto copy = *this; ++at_; return copy; }
        const_iterator& operator--() { --at_; return *this; }
        const_iterator operator--(int) { auto copy = *this; --at_; return copy; }
        bool operator==(const const_iterator& other) const { return at_ == other.at_; }

    private:
        const batch_buffers* owner_ = nullptr;
        std::size_t at_ = 0;
    };

    batch_buffers(const protocol::batch_envelope& envelope, const std::vector<shared_packet>& packets)
        : envelope_(&envelope), packets_(&packets) {}

    const_iterator begin() const { return {this, 0}; }
    const_iterator end() const { return {this, packets_->size() + 2}; }

private:
    // Position 0 is the header, 1..n the packets, n+1 the trailer.
    value_type at(std::size_t i) const {
        if (i == 0) return {envelope_->header.data(), envelope_->header_size};
        if (i <= packets_->size()) {
            const auto& p = *(*packets_)[i - 1];
            return {p.data(), p.size()};
        }
        return {envelope_->trailer.data(), envelope_->trailer.size()};
    }

    const protocol::batch_envelope* envelope_;
    const std::vector<shared_packet>* packets_;
};

}  // namespace parley::server
