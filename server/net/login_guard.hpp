// Slows down password guessing without locking real users out.
//
// DESIGN
// A guesser either aims many guesses at one account (from one address or
// from many) or spreads them over many accounts from one address. Counting
// failures per address alone stops neither the first (more addresses) nor
// spares the real users who share the guesser's address. So:
//
//   - Per account: after `free_failures` failed attempts, each further
//     attempt on that account must wait, doubling from 1 s up to 15 min, and
//     the count decays by one every `decay` without a failure. This bounds
//     guesses per account whatever the number of addresses.
//   - Per address: failed attempts drain a bucket of `address_failures`
//     tokens, refilled one per `decay`; an empty bucket refuses further
//     attempts from that address.
//   - A trusted device (a browser that signed in to this very account
//     before, proven by a device cookie the server signed) skips both: a
//     guesser cannot lock it out. It has its own, small failure budget, so a
//     stolen device cookie is no guessing licence either.
//
// This follows OWASP's "device cookies" scheme. Everything is in memory and
// driven by time points the caller passes, so it is tested without sleeping.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley::server {

class login_guard {
public:
    using clock = std::chrono::steady_clock;

    struct options {
        std::size_t free_failures = 5;       ///< per account, before attempts must wait
        std::size_t address_failures = 20;   ///< per address, bucket size
        std::size_t device_failures = 10;    ///< per trusted device, before it counts as untrusted
        std::chrono::seconds decay{60};      ///< one failure is forgiven per this long
        std::chrono::seconds max_wait{15 * 60};
    };

    /// Who is trying: the address, the account (lower-case name) and, when a
    /// valid device cookie for that account came along, the device's id.
    /// An attempt without an account (a registration's invite code) counts
    /// against its address only.
    struct attempt {
        std::string_view address;
        std::string_view account;
        std::string_view device;  ///< empty: not a trusted device
    };

    explicit login_guard(options o) : opts_(o) {}

    /** @return zero if the attempt may go ahead, else how long until it may */
    std::chrono::milliseconds check(const attempt& a, clock::time_point now);
    void failed(const attempt& a, clock::time_point now);
    /// A success clears the account's and the device's failures.
    void succeeded(const attempt& a, clock::time_point now);

private:
    struct counter {
        double failures = 0;     // decays by one per opts_.decay
        clock::time_point last;  // of the last failure
    };
    double decayed(counter& c, clock::time_point now) const;
    bool trusted(const attempt& a, clock::time_point now);
    void forget_idle(clock::time_point now);

    const options opts_;
    std::mutex mutex_;
    std::unordered_map<std::string, counter> accounts_, addresses_, devices_;
    clock::time_point last_sweep_{};
};

}  // namespace parley::server
