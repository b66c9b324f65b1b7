#include "server/net/connection_cap.hpp"

#include <utility>

namespace parley::server {
namespace ip = boost::asio::ip;

namespace {

// A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; they share one count.
ip::address canonical(ip::address a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    return a;
}

}  // namespace

connection_cap::connection_cap(std::size_t max_per_address)
    : counts_(std::make_shared<counts>(max_per_address)) {}

connection_cap::slot& connection_cap::slot::operator=(slot&& other) noexcept {
    if (this != &other) {
        release();
        counts_ = std::move(other.counts_);
        address_ = other.address_;
    }
    return *this;
}

connection_cap::slot::~slot() { release(); }

void connection_cap::slot::release() {
    if (!counts_) return;
    {
        std::lock_guard lock(counts_->mutex);
        const auto it = counts_->open.find(address_);
        if (it != counts_->open.end() && --it->second == 0) counts_->open.erase(it);
    }
    counts_.reset();
}

connection_cap::slot connection_cap::try_acquire(ip::address address) {
    address = canonical(address);
    std::lock_guard lock(counts_->mutex);
    std::size_t& n = counts_->open[address];
    if (counts_->max != 0 && n >= counts_->max) return {};  // n > 0 here: no empty entry is left behind
    ++n;
    return slot(counts_, address);
}

std::size_t connection_cap::open_from(ip::address address) const {
    std::lock_guard lock(counts_->mutex);
    const auto it = counts_->open.find(canonical(address));
    return it == counts_->open.end() ? 0 : it->second;
}

}  // namespace parley::server
