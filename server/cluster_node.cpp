#include "server/cluster_node.hpp"

#include "server/core/log.hpp"

#include <charconv>
#include <sstream>
#include <stdexcept>

namespace parley::server {

namespace {
constexpr log::component cluster_log{"cluster"};
}  // namespace

cluster::redis_options parse_redis_url(const std::string& url) {
    constexpr std::string_view scheme = "redis://";
    if (!url.starts_with(scheme)) throw std::invalid_argument("the cluster's Redis is redis://HOST:PORT, not " + url);
    std::string_view rest = std::string_view(url).substr(scheme.size());
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
    cluster::redis_options o;
    o.port = 6379;
    std::string_view host = rest;
    std::string_view port;
    if (rest.starts_with('[')) {  // [v6 address]:port
        const auto close = rest.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("bad address in " + url);
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') throw std::invalid_argument("bad address in " + url);
            port = rest.substr(close + 2);
        }
    } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (!port.empty() || rest.ends_with(':')) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
            throw std::invalid_argument("bad port in " + url);
        o.port = static_cast<std::uint16_t>(value);
    }
    if (host.empty()) throw std::invalid_argument("no host in " + url);
    o.host = std::string(host);
    return o;
}

namespace {

cluster::room_link_options link_options(const config& cfg, std::function<std::uint64_t()> new_epoch) {
    cluster::room_link_options o;
    o.node_id = cfg.node_id;
    o.new_epoch = std::move(new_epoch);
    return o;
}

cluster::persister_options persister_options(const config& cfg) {
    cluster::persister_options o;
    o.node_id = cfg.node_id;
    return o;
}

}  // namespace

cluster_node::cluster_node(boost::asio::any_io_executor executor, const config& cfg, event_sink& writer,
                           std::function<std::uint64_t()> new_epoch)
    : node_id_(cfg.node_id),
      commands_(executor, parse_redis_url(cfg.cluster),
                cluster::redis_client::callbacks{
                    [this] {
                        commands_up_ = true;
                        // Functions live in Redis's data: a Redis that lost it lost them too.
                        command_seq_.load([this](cluster::outcome<cluster::acknowledged> r) {
                            if (!r) log::error(cluster_log, "cannot load the sequencer library into redis",
                                               {{"error", (std::ostringstream() << r).str()}});
                            else if (on_connected_) on_connected_();
                        });
                    },
                    [this](cluster::redis_errc) { commands_up_ = false; },
                    [this](std::chrono::nanoseconds rtt) {
                        const auto us = static_cast<std::uint64_t>(
                            std::chrono::duration_cast<std::chrono::microseconds>(rtt).count());
                        rtt_count_.fetch_add(1, std::memory_order_relaxed);
                        rtt_sum_us_.fetch_add(us, std::memory_order_relaxed);
                        auto max = rtt_max_us_.load(std::memory_order_relaxed);
                        while (us > max && !rtt_max_us_.compare_exchange_weak(max, us, std::memory_order_relaxed)) {}
                    }}),
      reads_(executor, parse_redis_url(cfg.cluster)),
      command_seq_(commands_),
      read_seq_(reads_),
      link_(executor, command_seq_, parse_redis_url(cfg.cluster), link_options(cfg, std::move(new_epoch))),
      persister_(executor, command_seq_, read_seq_, writer, persister_options(cfg)) {}

cluster_node::~cluster_node() { stop(); }

void cluster_node::start() {
    commands_.start();
    reads_.start();
    link_.start();
    persister_.start();
    log::info(cluster_log, "cluster node starting", {{"node", node_id_}});
}

void cluster_node::stop() {
    persister_.stop();
    link_.stop();
    reads_.stop();
    commands_.stop();
}

std::vector<std::string> cluster_node::problems() const {
    std::vector<std::string> out;
    if (!commands_up_) out.emplace_back("redis unreachable: rooms cannot take new events");
    return out;
}

std::string cluster_node::metrics_text() const {
    const auto l = link_.stats();
    const auto p = persister_.stats();
    const auto count = rtt_count_.load(std::memory_order_relaxed);
    std::ostringstream out;
    auto line = [&](const char* name, const char* type, const char* help, auto value) {
        out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
    };
    line("parley_cluster_redis_up", "gauge", "1 while the command connection to Redis is up", commands_up_ ? 1 : 0);
    out << "# HELP parley_cluster_redis_rtt_seconds Redis round trips of this node's commands\n"
        << "# TYPE parley_cluster_redis_rtt_seconds summary\n"
        << "parley_cluster_redis_rtt_seconds_sum " << static_cast<double>(rtt_sum_us_.load()) / 1e6 << '\n'
        << "parley_cluster_redis_rtt_seconds_count " << count << '\n';
    line("parley_cluster_redis_rtt_max_seconds", "gauge", "the slowest Redis round trip since start",
         static_cast<double>(rtt_max_us_.load()) / 1e6);
    line("parley_cluster_rooms", "gauge", "rooms this node holds a replica of", l.rooms);
    line("parley_cluster_proposals_total", "counter", "events this node proposed", l.proposed);
    line("parley_cluster_stale_proposals_total", "counter", "proposals decided again because the room moved on", l.stale);
    line("parley_cluster_channel_events_total", "counter", "events that reached this node first through pub/sub",
         l.from_channel);
    line("parley_cluster_repairs_total", "counter", "log reads that filled holes pub/sub left", l.repairs);
    line("parley_cluster_behind_total", "counter", "replicas that had to go back to the store", l.behind);
    line("parley_cluster_epoch_changes_total", "counter", "reseeds seen (a new epoch)", l.epoch_changes);
    line("parley_cluster_seeds_total", "counter", "epochs this node started", l.seeds);
    line("parley_cluster_failures_total", "counter", "cluster calls that failed", l.failures + p.failures);
    line("parley_cluster_persister_partitions", "gauge", "partitions whose persister lease this node holds", p.held);
    line("parley_cluster_persister_lag_events", "gauge", "events handed to the writer, not yet on disk", p.unpersisted);
    line("parley_cluster_persister_taken_total", "counter", "outbox entries read", p.taken);
    line("parley_cluster_persister_claimed_total", "counter", "outbox entries taken over from another node", p.claimed);
    line("parley_cluster_persister_acknowledged_total", "counter", "outbox entries deleted once persisted",
         p.acknowledged);
    line("parley_cluster_persister_takeovers_total", "counter", "leases newly taken", p.takeovers);
    return out.str();
}

}  // namespace parley::server
