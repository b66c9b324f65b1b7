#include "server/chat/send_queue.hpp"

namespace parley::server {

push_result send_queue::push(shared_packet packet, bool ephemeral, bool defer_wake) {
    bool wake = false;
    bool overflow = false;
    {
        std::lock_guard lock(mutex_);
        if (closed_) return push_result::closed;
        const std::size_t size = packet->size();
        const std::size_t count = packets_.size() - head_;
        if (ephemeral && (bytes_ + size > limits_.max_bytes / 2 || count + 1 > limits_.max_packets / 2))
            return push_result::dropped;
        if (bytes_ + size > limits_.max_bytes || count + 1 > limits_.max_packets) {
            closed_ = true;
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
    if (!wake) return push_result::queued;
    if (defer_wake) return push_result::queued_idle;
    wake_(false);
    return push_result::queued;
}

bool send_queue::take(std::vector<shared_packet>& out, std::size_t max_bytes) {
    std::lock_guard lock(mutex_);
    if (head_ == packets_.size()) {
        writer_active_ = false;
        return false;
    }
    std::size_t taken = 0;
    do {
        const std::size_t size = packets_[head_]->size();
        taken += size;
        bytes_ -= size;
        out.push_back(std::move(packets_[head_++]));
    } while (head_ < packets_.size() && taken + packets_[head_]->size() <= max_bytes &&
             out.size() < protocol::limits::max_batch_packets);
    if (head_ == packets_.size()) {
        packets_.clear();
        head_ = 0;
        if (packets_.capacity() > 64) packets_.shrink_to_fit();  // a burst is over: give it back
    } else if (head_ >= 1024 && 2 * head_ >= packets_.size()) {
        packets_.erase(packets_.begin(), packets_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
    writer_active_ = true;
    return true;
}

void send_queue::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

}  // namespace parley::server
