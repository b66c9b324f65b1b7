#include "server/cluster/room_feed.hpp"

#include <algorithm>
#include <utility>

namespace parley::server::cluster {

room_feed::room_feed(std::uint64_t epoch, std::uint64_t applied, feed_actions actions, feed_options options)
    : act_(std::move(actions)), opt_(options), epoch_(epoch), applied_(applied), top_seen_(applied) {}

bool room_feed::hole() const noexcept { return !buffer_.empty() || !future_.empty() || top_seen_ > applied_; }

void room_feed::open_hole(clock::time_point now) {
    if (!hole_since_) hole_since_ = now;
}

bool room_feed::replaced(std::uint64_t epoch) const {
    return std::find(old_epochs_.begin(), old_epochs_.end(), epoch) != old_epochs_.end();
}

void room_feed::offer(feed_event e, clock::time_point now) {
    if (e.epoch == epoch_) {
        if (e.seq <= applied_) return;  // had it: an echo, a second source, a repair's overlap
        top_seen_ = std::max(top_seen_, e.seq);
        if (e.seq == applied_ + 1 && !store_wait_) {
            applied_ = e.seq;
            if (act_.deliver) act_.deliver(e);
            return drain(now);
        }
        if (buffer_.size() < opt_.max_buffered) buffer_.emplace(e.seq, std::move(e));
        return open_hole(now);
    }
    if (replaced(e.epoch)) return;
    // An epoch not known yet: it waits for its R or for a read to say it is the room's.
    if (future_count_ < opt_.max_buffered && future_[e.epoch].emplace(e.seq, std::move(e)).second) ++future_count_;
    open_hole(now);
}

void room_feed::drain(clock::time_point now) {
    if (!store_wait_) {
        for (auto it = buffer_.begin(); it != buffer_.end() && it->first <= applied_ + 1;) {
            if (it->first == applied_ + 1) {
                applied_ = it->first;
                if (act_.deliver) act_.deliver(it->second);
            }
            it = buffer_.erase(it);
        }
    }
    report_persisted();
    if (!hole()) {
        hole_since_.reset();
        read_not_before_.reset();
    } else {
        open_hole(now);
    }
}

void room_feed::report_persisted() {
    const std::uint64_t now_known = std::min(persisted_, applied_);
    if (now_known <= reported_) return;
    reported_ = now_known;
    if (act_.persisted) act_.persisted(now_known);
}

void room_feed::watermark(std::uint64_t seq, std::uint64_t epoch) {
    if (epoch != epoch_ || seq <= persisted_) return;  // another epoch's: a read will tell this one's
    persisted_ = seq;
    report_persisted();
}

void room_feed::change_epoch(std::uint64_t base, std::uint64_t epoch) {
    old_epochs_.push_back(epoch_);
    if (old_epochs_.size() > opt_.max_old_epochs) old_epochs_.pop_front();
    epoch_ = epoch;
    buffer_.clear();  // all of the replaced epoch
    applied_ = std::min(applied_, base);
    top_seen_ = std::max(applied_, base);
    // What is at or below base is the same in both epochs and in the store.
    persisted_ = base;
    reported_ = std::min(reported_, base);
    if (act_.reset) act_.reset(base, epoch);
    if (applied_ < base) {
        // The room is behind the base, whose events the new epoch's log no
        // longer holds (a reseed empties it): they are in the store.
        store_wait_ = base;
        if (act_.behind) act_.behind(applied_, base);
    }
    if (auto it = future_.find(epoch); it != future_.end()) {
        future_count_ -= it->second.size();
        for (auto& [seq, e] : it->second)
            if (seq > applied_) buffer_.emplace(seq, std::move(e));
        future_.erase(it);
    }
    // Events of epochs older than the new one that were still waiting are void.
    for (auto it = future_.begin(); it != future_.end();) {
        if (replaced(it->first)) {
            future_count_ -= it->second.size();
            it = future_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [seq, e] : buffer_) top_seen_ = std::max(top_seen_, seq);
}

void room_feed::reset(std::uint64_t base, std::uint64_t epoch, clock::time_point now) {
    if (epoch == epoch_ || replaced(epoch)) return;  // said twice, or an older reseed than the one we follow
    change_epoch(base, epoch);
    drain(now);
}

void room_feed::epoch_seen(std::uint64_t epoch, std::uint64_t top, std::uint64_t persisted, clock::time_point now) {
    if (replaced(epoch)) return;  // a read from before the reseed we know of
    if (epoch != epoch_) change_epoch(std::min(persisted_, top), epoch);  // its R was lost: guess low
    top_seen_ = std::max(top_seen_, top);
    if (persisted > persisted_) persisted_ = std::min(persisted, top);
    drain(now);
}

void room_feed::read_done(std::uint64_t after, bool covers, std::uint64_t first_in_log, clock::time_point now) {
    reading_ = false;
    if (!covers && after == applied_ && top_seen_ > applied_ && !store_wait_) {
        // The log starts above applied+1 (trimmed) or is empty: the rest of the hole is in the store.
        const std::uint64_t upto = first_in_log != 0 ? first_in_log - 1 : top_seen_;
        store_wait_ = upto;
        if (act_.behind) act_.behind(applied_, upto);
        return;
    }
    drain(now);
    if (hole()) read_not_before_ = now + opt_.repair_backoff;
}

void room_feed::read_failed(clock::time_point now) {
    reading_ = false;
    read_not_before_ = now + opt_.repair_backoff;
}

void room_feed::caught_up(std::uint64_t upto, clock::time_point now) {
    if (!store_wait_) return;
    applied_ = std::max(applied_, upto);
    top_seen_ = std::max(top_seen_, applied_);
    store_wait_.reset();
    drain(now);
}

std::optional<std::uint64_t> room_feed::repair_after(clock::time_point now) {
    const auto due = next_check();
    if (!due || *due > now) return std::nullopt;
    reading_ = true;
    return applied_;
}

std::optional<room_feed::clock::time_point> room_feed::next_check() const {
    if (reading_ || store_wait_ || !hole() || !hole_since_) return std::nullopt;
    auto due = *hole_since_ + opt_.hole_grace;
    if (read_not_before_) due = std::max(due, *read_not_before_);
    return due;
}

}  // namespace parley::server::cluster
