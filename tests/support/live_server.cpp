#include "tests/support/live_server.hpp"

#include <csignal>
#include <stdexcept>

namespace parley::testing {

live_server::live_server(std::vector<std::string> extra_args)
    : owned_(std::make_unique<temp_dir>()), dir_(owned_->path()), args_(std::move(extra_args)), port_(free_port()) {
    start();
}

live_server::live_server(const std::filesystem::path& data_dir, std::vector<std::string> extra_args)
    : dir_(data_dir), args_(std::move(extra_args)), port_(free_port()) {
    start();
}

live_server::~live_server() {
    if (process_) stop(SIGKILL);
}

void live_server::start() {
    std::vector<std::string> argv{parley_binary(), "--listen", "127.0.0.1:" + std::to_string(port_), "--data-dir",
                                  dir_.string(), "--password-cost", "min", "--log-level", "warn"};
    argv.insert(argv.end(), args_.begin(), args_.end());
    process_ = std::make_unique<child_process>(argv, log_path());
    if (!wait_healthy(port_)) throw std::runtime_error("parley did not start; see " + log_path());
}

int live_server::stop(int sig) {
    if (!process_) return -1;
    process_->signal(sig);
    if (sig != SIGKILL && sig != SIGTERM && sig != SIGINT) return 0;
    const int status = process_->wait();
    process_.reset();
    return status;
}

void live_server::restart() {
    if (process_) throw std::logic_error("live_server::restart while running");
    start();
}

std::string live_server::token(const std::string& username) {
    auto it = tokens_.find(username);
    if (it == tokens_.end()) it = tokens_.emplace(username, sign_up(port_, username)).first;
    return it->second;
}

std::unique_ptr<ws_client> live_server::connect(const std::string& username, ws_options opts) {
    opts.port = port_;
    opts.headers["Cookie"] = "parley_session=" + token(username);
    auto c = std::make_unique<ws_client>(opts);
    c->wait_for<protocol::welcome>();
    return c;
}

}  // namespace parley::testing
