#include "server/chat/fanout.hpp"

#include <boost/asio/dispatch.hpp>

#include <algorithm>

namespace parley::server {

loop_fanout::loop_fanout(boost::asio::io_context& loop, metrics& stats)
    : loop_(&loop), stats_(stats) {}

void loop_fanout::hand_over(std::vector<fanout_op> ops) {
    stats_.loop_handoffs.fetch_add(1, std::memory_order_relaxed);
    boost::asio::dispatch(loop_->get_executor(), [self = shared_from_this(), ops = std::move(ops)]() mutable {
        for (auto& op : ops) self->apply(op);
        // Every queue this hand-off found idle starts its write now, once,
        // with everything the hand-off put in it: one send per member per
        // hand-off (inline: the session is on this loop).
        for (auto& q : self->to_wake_) q->wake();
        self->to_wake_.clear();
        if (self->dropped_ != 0) self->stats_.ephemeral_drops.fetch_add(self->dropped_, std::memory_order_relaxed);
        if (self->overflowed_ != 0)
            self->stats_.slow_consumer_disconnects.fetch_add(self->overflowed_, std::memory_order_relaxed);
        self->dropped_ = self->overflowed_ = 0;
    });
}

void loop_fanout::apply(fanout_op& op) {
    switch (op.what) {
        case fanout_op::type::add:
            if (auto [it, fresh] = at_.try_emplace(op.connection_id, members_.size()); fresh)
                members_.push_back({op.connection_id, op.user_id, std::move(op.queue)});
            else
                members_[it->second] = {op.connection_id, op.user_id, std::move(op.queue)};
            return;
        case fanout_op::type::remove: {
            auto it = at_.find(op.connection_id);
            if (it == at_.end()) return;
            const std::size_t i = it->second;
            at_.erase(it);
            if (i + 1 != members_.size()) {
                members_[i] = std::move(members_.back());
                at_[members_[i].connection_id] = i;
            }
            members_.pop_back();
            if (members_.empty()) members_.shrink_to_fit();
            return;
        }
        case fanout_op::type::unicast:
            push(op.queue, op.packet, op.ephemeral);
            stats_.packets_out[op.kind].fetch_add(1, std::memory_order_relaxed);
            return;
        case fanout_op::type::broadcast: {
            std::uint64_t sent = 0;
            const auto& except = op.except_connections;
            if (op.foreign && members_.size() > 1) op.packet = make_shared_packet(*op.packet);
            for (const target& t : members_) {
                if (t.connection_id == op.connection_id || (op.user_id != 0 && t.user_id == op.user_id)) continue;
                if (!except.empty() && std::binary_search(except.begin(), except.end(), t.connection_id))
                    continue;
                push(t.queue, op.packet, op.ephemeral);
                ++sent;
            }
            if (sent != 0) stats_.packets_out[op.kind].fetch_add(sent, std::memory_order_relaxed);
            return;
        }
    }
}

void loop_fanout::push(const std::shared_ptr<send_queue>& q, const shared_packet& p, bool ephemeral) {
    switch (q->push(p, ephemeral, true)) {
        case push_result::queued_idle: to_wake_.push_back(q); break;
        case push_result::dropped: ++dropped_; break;
        case push_result::overflow: ++overflowed_; break;
        case push_result::queued:
        case push_result::closed: break;
    }
}

}  // namespace parley::server
