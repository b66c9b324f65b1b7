#include "server/send_queue.hpp"

namespace parley::server {

push_result send_queue::push(shared_packet packet, bool ephemeral) {
    bool wake = false;
    bool overflow = false;
    {
        std::lock_guard lock(mutex_);
        if (closed_) return push_result::closed;
        const std::size_t size = packet->size();
        if (ephemeral && (bytes_ + size > limits_.max_bytes / 2 || packets_.size() + 1 > limits_.max_packets / 2))
            return push_result::dropped;
        if (bytes_ + size > limits_.max_bytes || packets_.size() + 1 > limits_.max_packets) {
            closed_ = overflowed_ = true;
            overflow = true;
        } else {
            packets_.push_back(std::move(packet));
            bytes_ += size;
            wake = !writer_active_;
            writer_active_ = true;
        }
    }
    if (overflow) {
        wake_(true);
        return push_result::overflow;
    }
    if (wake) wake_(false);
    return push_result::queued;
}

bool send_queue::take(std::vector<shared_packet>& out, std::size_t max_bytes) {
    std::lock_guard lock(mutex_);
    if (packets_.empty()) {
        writer_active_ = false;
        return false;
    }
    std::size_t taken = 0;
    do {
        taken += packets_.front()->size();
        bytes_ -= packets_.front()->size();
        out.push_back(std::move(packets_.front()));
        packets_.pop_front();
    } while (!packets_.empty() && taken + packets_.front()->size() <= max_bytes &&
             out.size() < protocol::limits::max_batch_packets);
    writer_active_ = true;
    return true;
}

void send_queue::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

bool send_queue::overflowed() const {
    std::lock_guard lock(mutex_);
    return overflowed_;
}

std::size_t send_queue::queued_bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

}  // namespace parley::server
