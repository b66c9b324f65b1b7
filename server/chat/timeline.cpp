#include "server/chat/timeline.hpp"

#include <algorithm>

namespace parley::server {

void timeline::load(std::uint64_t next_seq, event_page recent) {
    events_.clear();
    messages_.clear();
    pinned_.clear();
    by_client_.clear();
    first_ = next_seq - recent.events.size();
    persisted_ = next_seq - 1;
    for (auto& m : recent.messages) messages_.emplace(m.record.seq, std::move(m));
    for (auto& ev : recent.events) {
        index(ev);
        events_.push_back(std::move(ev));
    }
}

void timeline::index(const timeline_event& ev) {
    if (ev.client_id != 0 && ev.what != timeline_event::type::voided)
        by_client_[{ev.user_id, ev.client_id}] = {ev.seq, ev.at};
}

void timeline::append(timeline_event ev, std::optional<message_state> posted) {
    if (posted) messages_.insert_or_assign(ev.seq, std::move(*posted));
    index(ev);
    events_.push_back(std::move(ev));
}

const timeline_event* timeline::event(std::uint64_t seq) const {
    return covers(seq) ? &events_[seq - first_] : nullptr;
}

message_state* timeline::message(std::uint64_t seq) {
    auto it = messages_.find(seq);
    return it == messages_.end() ? nullptr : &it->second;
}

message_state& timeline::pin(message_state s) {
    const std::uint64_t seq = s.record.seq;
    auto [it, fresh] = messages_.try_emplace(seq, std::move(s));
    if (fresh && seq < first_) {
        pinned_.push_back(seq);
        unpin_stored();
    }
    return it->second;
}

std::optional<stored_ack> timeline::find(std::uint64_t user_id, std::uint64_t client_id) const {
    auto it = by_client_.find({user_id, client_id});
    if (it == by_client_.end()) return std::nullopt;
    return it->second;
}

std::vector<const message_state*> timeline::messages_before(std::uint64_t before, std::size_t limit) const {
    std::vector<const message_state*> out;
    if (events_.empty() || before <= first_) return out;
    for (std::uint64_t seq = std::min(before - 1, last()); seq >= first_ && out.size() < limit; --seq) {
        const timeline_event& ev = events_[seq - first_];
        if (ev.what != timeline_event::type::posted) continue;
        if (auto it = messages_.find(seq); it != messages_.end()) out.push_back(&it->second);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

// An event leaves the window once it is stored and the window is over its
// size. A message leaving with it stays pinned while a change to it is not
// stored yet, since storage would answer with its older state.
void timeline::trim(std::uint64_t persisted) {
    persisted_ = std::max(persisted_, persisted);
    while (events_.size() > cache_events_ && events_.front().seq <= persisted_) {
        const timeline_event& ev = events_.front();
        if (ev.client_id != 0) {
            auto it = by_client_.find({ev.user_id, ev.client_id});
            if (it != by_client_.end() && it->second.seq == ev.seq) by_client_.erase(it);
        }
        if (ev.what == timeline_event::type::posted) {
            auto it = messages_.find(ev.seq);
            if (it != messages_.end() && it->second.changed_seq > persisted_) pinned_.push_back(ev.seq);
            else if (it != messages_.end()) messages_.erase(it);
        }
        events_.pop_front();
        ++first_;
    }
    unpin_stored();
}

// Pinned messages whose every change is stored may go back to storage: the
// oldest pins first, once more than max_pinned_ are held. A pin with a change
// still unstored is kept whatever the count (the writer's backlog bounds them).
void timeline::unpin_stored() {
    std::size_t over = pinned_.size() > max_pinned_ ? pinned_.size() - max_pinned_ : 0;
    for (auto it = pinned_.begin(); it != pinned_.end() && over > 0;) {
        auto m = messages_.find(*it);
        if (m != messages_.end() && m->second.changed_seq > persisted_) {
            ++it;
            continue;
        }
        if (m != messages_.end()) messages_.erase(m);
        it = pinned_.erase(it);
        --over;
    }
}

void timeline::void_event(std::uint64_t seq) {
    if (!covers(seq)) return;
    timeline_event& ev = events_[seq - first_];
    if (ev.client_id != 0) {
        auto it = by_client_.find({ev.user_id, ev.client_id});
        if (it != by_client_.end() && it->second.seq == seq) by_client_.erase(it);
    }
    if (ev.what == timeline_event::type::posted) messages_.erase(seq);
    ev = timeline_event{.seq = seq, .what = timeline_event::type::voided, .at = ev.at};
}

}  // namespace parley::server
