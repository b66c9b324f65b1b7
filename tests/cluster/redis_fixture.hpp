// The fixture of the tests that talk to a real redis-server: one fresh
// server per test (skipped, with the apt-get line, when the binary is
// missing), an io_context the test runs by hand, and client options with
// short timeouts and back-off, so that a failure case takes a second, not ten.
#pragma once

#include "tests/cluster/redis_server.hpp"

#include "server/cluster/redis_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <optional>

namespace parley::testing {

class redis_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        if (!redis_server::available())
            GTEST_SKIP() << redis_server::binary() << " is missing: apt-get install redis-server";
        server_.emplace();
    }

    server::cluster::redis_options options() const {
        using namespace std::chrono_literals;
        server::cluster::redis_options o;
        o.port = server_->port();
        o.connect_timeout = 300ms;
        o.min_backoff = 20ms;
        o.max_backoff = 200ms;
        return o;
    }

    /// Runs the loop until `done()` holds; false if it did not within `limit`.
    template <class Pred>
    bool run_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            io_.run_one_for(std::chrono::milliseconds(10));
        }
        return true;
    }

    void run_for(std::chrono::milliseconds d) { io_.run_for(d); }

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
    std::optional<redis_server> server_;
};

}  // namespace parley::testing
