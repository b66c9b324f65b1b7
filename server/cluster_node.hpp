// Cluster mode, wired (--cluster redis://HOST:PORT --node-id NAME): the
// node's Redis connections (commands, the persister's reads, the link's
// subscriber), the sequencer library loaded on every connect, the room link
// the rooms replicate through, and the persister that moves the outboxes of
// the partitions this node leases into the batch writer. server.cpp owns one
// when the configuration asks for a cluster.
#pragma once

#include "server/cluster/persister.hpp"
#include "server/cluster/redis_client.hpp"
#include "server/cluster/room_link.hpp"
#include "server/cluster/sequencer.hpp"
#include "server/core/config.hpp"
#include "server/core/events.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace parley::server {

/** redis://HOST[:PORT] (port 6379 by default) as connection options.
 *  @throws std::invalid_argument for anything else */
cluster::redis_options parse_redis_url(const std::string& url);

class cluster_node {
public:
    /** @param writer where the persister hands events (the batch writer)
     *  @throws std::invalid_argument for a bad URL or node id */
    cluster_node(boost::asio::any_io_executor executor, const config& cfg, event_sink& writer,
                 std::function<std::uint64_t()> new_epoch);
    ~cluster_node();

    room_link& link() noexcept { return link_; }

    /// Runs (on a Redis client's strand) each time the command connection
    /// is up, after the library is loaded. Set before start().
    void on_connected(std::function<void()> f) { on_connected_ = std::move(f); }

    void start();
    /// Gives the persister's leases up and closes every connection.
    void stop();

    /// The batch writer's report (any thread): the persister acknowledges the outbox entries.
    void persisted(std::uint32_t room, std::uint64_t seq) { persister_.persisted(room, seq); }

    /// What is wrong, for /healthz (empty: nothing).
    std::vector<std::string> problems() const;
    /// The cluster's counters in Prometheus text, for /metrics.
    std::string metrics_text() const;

private:
    std::string node_id_;
    std::function<void()> on_connected_;
    std::atomic<bool> commands_up_{false};
    std::atomic<std::uint64_t> rtt_count_{0}, rtt_sum_us_{0}, rtt_max_us_{0};
    cluster::redis_client commands_;
    cluster::redis_client reads_;
    cluster::sequencer command_seq_;
    cluster::sequencer read_seq_;
    cluster::redis_room_link link_;
    cluster::persister persister_;
};

}  // namespace parley::server
