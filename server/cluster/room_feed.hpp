// A node's view of one room's sequenced events in cluster mode: whatever
// reaches the node (the reply to its own publish, the room's channel, a read
// of the room's log) goes in; each event of the room comes out once, in seq
// order, with no gap. Pure logic: no I/O, no clock of its own, no thread;
// its owner (room_link) feeds it, asks it what to read, and passes what
// comes out to the room.
//
// DESIGN
// Redis pub/sub is at most once and a node's own publish replies travel on
// another connection than its channel messages, so events come late, twice
// or not at all. The feed keeps the room's position (epoch, applied) and a
// bounded buffer of events above applied+1. An event that fills the next
// slot goes out with every buffered one that follows it; one above it waits
// in the buffer. A hole (something buffered, or a top seen above applied)
// that is still open after hole_grace asks for a read of the log after
// applied (repair_after()); the owner reads and offers what it got, and
// when the log no longer holds applied+1 (trimmed, reseeded), the feed asks
// for the store instead (on_behind).
//
// EPOCHS
// A reseed publishes R (base, epoch) on the channel before any event of the
// new epoch, so on the channel an epoch's events never follow the next
// epoch's R. An event of an epoch the feed has not seen yet (its R was
// lost, or the node's own publish reply overtook the channel) waits in the
// buffer until the epoch is known: by R, or by a read, which says what the
// room's epoch is (epoch_seen). Events of an epoch that was replaced are
// dropped. When the epoch changes, the room drops what it holds above the
// new base (on_reset); without the base (a read only tells the epoch), the
// last persisted seq the feed knew is used: it is never above the real base
// (a reseed starts at or above what PostgreSQL holds), so the room drops
// at most a little more than it must, and reads it again.
//
// BOUNDS
// The buffer holds at most max_buffered events: more is a node far behind,
// which the log read catches up faster than pub/sub would; the excess is
// dropped (and read again). Epochs remembered as replaced: max_old_epochs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace parley::server::cluster {

struct feed_options {
    /// How long a hole may wait for pub/sub before the log is read: events
    /// of one room from two nodes may cross by a round trip or two.
    std::chrono::milliseconds hole_grace{100};
    /// A read that brought nothing new is repeated no sooner than this.
    std::chrono::milliseconds repair_backoff{250};
    std::size_t max_buffered = 4096;
    std::size_t max_old_epochs = 16;
};

/// One sequenced event, as the feed hands it on: its body is an encoded
/// storage_event (event_codec.hpp), not decoded here.
struct feed_event {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
    std::string body;
};

/// What the feed asks of its owner; each runs inside the call that caused it.
struct feed_actions {
    /// The next event, in order.
    std::function<void(const feed_event&)> deliver;
    /// The room's epoch is now `epoch` from `base`: drop what is held above base.
    std::function<void(std::uint64_t base, std::uint64_t epoch)> reset;
    /// Every event up to seq is in PostgreSQL.
    std::function<void(std::uint64_t seq)> persisted;
    /// The log no longer holds what follows `after`: read (after, upto] from
    /// the store, deliver it, then call caught_up(upto).
    std::function<void(std::uint64_t after, std::uint64_t upto)> behind;
};

class room_feed {
public:
    using clock = std::chrono::steady_clock;

    /** Starts at (epoch, applied): the room holds every event up to applied
     *  of this epoch (what it read from the store and the log). */
    room_feed(std::uint64_t epoch, std::uint64_t applied, feed_actions actions, feed_options options = {});

    std::uint64_t epoch() const noexcept { return epoch_; }
    std::uint64_t applied() const noexcept { return applied_; }
    std::uint64_t persisted() const noexcept { return persisted_; }
    std::size_t buffered() const noexcept { return buffer_.size(); }
    /// Waiting for the store (behind() was called, caught_up() not yet).
    bool waiting_for_store() const noexcept { return store_wait_.has_value(); }

    // ---- what arrives -----------------------------------------------------
    /// An event (M on the channel, a publish reply, a log entry).
    void offer(feed_event e, clock::time_point now);
    /// The persisted watermark moved (W).
    void watermark(std::uint64_t seq, std::uint64_t epoch);
    /// The room was reseeded (R).
    void reset(std::uint64_t base, std::uint64_t epoch, clock::time_point now);
    /** What a read of the room's meta says: its epoch and top. A top above
     *  applied opens a hole; another epoch is a reset whose base the feed
     *  must guess (file comment, EPOCHS). */
    void epoch_seen(std::uint64_t epoch, std::uint64_t top, std::uint64_t persisted, clock::time_point now);
    /** A log read after `after` came back: call epoch_seen with its meta
     *  and offer its entries first. `covers`: read_result::covers(after);
     *  `first_in_log`: its oldest seq (0: the log is empty). */
    void read_done(std::uint64_t after, bool covers, std::uint64_t first_in_log, clock::time_point now);
    /// The read asked for could not be made (Redis unreachable): ask again later.
    void read_failed(clock::time_point now);
    /// The room delivered (after, upto] from the store (after behind()).
    void caught_up(std::uint64_t upto, clock::time_point now);

    // ---- what the owner should do -----------------------------------------
    /// If a log read is due now: the seq to read after. At most one read
    /// is asked for until read_done.
    std::optional<std::uint64_t> repair_after(clock::time_point now);
    /// When the next repair may be due (the owner arms a timer), if any.
    std::optional<clock::time_point> next_check() const;

private:
    void drain(clock::time_point now);
    bool hole() const noexcept;
    void open_hole(clock::time_point now);
    void report_persisted();
    void change_epoch(std::uint64_t base, std::uint64_t epoch);
    bool replaced(std::uint64_t epoch) const;

    feed_actions act_;
    feed_options opt_;
    std::uint64_t epoch_;
    std::uint64_t applied_;
    std::uint64_t persisted_ = 0;  // the watermark of this epoch, as W and reads said
    std::uint64_t reported_ = 0;   // what persisted() was last told: persisted_, capped at applied_
    std::uint64_t top_seen_ = 0;  // the highest top a read or an event showed, of this epoch
    std::map<std::uint64_t, feed_event> buffer_;  // this epoch's events above applied_+1
    std::map<std::uint64_t, std::map<std::uint64_t, feed_event>> future_;  // unknown epochs' events
    std::size_t future_count_ = 0;
    std::deque<std::uint64_t> old_epochs_;
    std::optional<clock::time_point> hole_since_;
    std::optional<clock::time_point> read_not_before_;
    bool reading_ = false;
    std::optional<std::uint64_t> store_wait_;  // behind() asked for up to this
};

}  // namespace parley::server::cluster
