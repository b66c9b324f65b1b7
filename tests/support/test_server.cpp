#include "tests/support/test_server.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>

namespace parley::testing {

temp_dir::temp_dir() {
    std::random_device rd;
    const auto base = std::filesystem::temp_directory_path();
    for (int i = 0; i < 100; ++i) {
        auto candidate = base / ("parley-test-" + std::to_string(rd()));
        if (std::filesystem::create_directory(candidate)) {
            path_ = candidate;
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary directory");
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

server::config test_config(const std::filesystem::path& data_dir) {
    server::config cfg;
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    cfg.threads = 2;
    cfg.data_dir = data_dir.string();
    cfg.password_ops = 1;
    cfg.password_mem_kib = 8;
    // PARLEY_TEST_LOG=debug shows the server's log while debugging a test.
    const char* level = std::getenv("PARLEY_TEST_LOG");
    cfg.level = level && std::string_view(level) == "debug" ? server::log_level::debug : server::log_level::warn;
    cfg.message_rate = 1000;
    cfg.message_burst = 1000;
    cfg.reaction_rate = 1000;
    cfg.reaction_burst = 1000;
    cfg.auth_rate = 1000;
    cfg.auth_burst = 1000;
    cfg.rooms_per_hour = 100000;
    cfg.presence_grace = std::chrono::milliseconds(0);
    cfg.max_connections_per_address = 0;  // every test client comes from 127.0.0.1
    if (const char* src = std::getenv("PARLEY_SOURCE_DIR")) cfg.static_dir = std::string(src) + "/web";
    return cfg;
}

test_server::test_server(std::function<void(server::config&)> adjust)
    : owned_dir_(std::make_unique<temp_dir>()) {
    data_dir_ = owned_dir_->path();
    auto cfg = test_config(data_dir_);
    if (adjust) adjust(cfg);
    server_ = std::make_unique<server::server>(cfg);
    server_->start();
}

test_server::test_server(const std::filesystem::path& data_dir, std::function<void(server::config&)> adjust)
    : data_dir_(data_dir) {
    auto cfg = test_config(data_dir_);
    if (adjust) adjust(cfg);
    server_ = std::make_unique<server::server>(cfg);
    server_->start();
}

test_server::~test_server() { stop(); }

void test_server::stop() {
    if (stopped_) return;
    stopped_ = true;
    server_->stop();
    server_->wait();
}

std::unique_ptr<ws_client> test_server::connect(const std::string& username) {
    const std::string token = sign_up(port(), username);
    auto c = std::make_unique<ws_client>(ws_options{.port = port(), .headers = {{"Cookie", "parley_session=" + token}}});
    c->wait_for<protocol::welcome>();
    c->wait_for<protocol::room_list>();  // the user's rooms follow the welcome
    return c;
}

std::unique_ptr<ws_client> test_server::join(const std::string& username, const std::string& room,
                                             std::uint32_t& room_id) {
    auto c = connect(username);
    c->send(protocol::join_room{room, 0});
    room_id = c->wait_for<protocol::room_joined>().room_id;
    c->wait_for<protocol::history_page>();
    return c;
}

}  // namespace parley::testing
