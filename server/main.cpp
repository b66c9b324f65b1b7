// parley: the chat server. See `parley --help` and docs/operations.md.
#include "server/core/config.hpp"
#include "server/core/log.hpp"
#include "server/server.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

int main(int argc, char** argv) {
    auto parsed = parley::server::parse_config(argc, argv, [](const char* name) -> const char* { return std::getenv(name); });
    if (!parsed.cfg) {
        std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
        return parsed.exit_code;
    }
    try {
        parley::server::server s(std::move(*parsed.cfg));
        return s.run();
    } catch (const std::exception& e) {
        parley::server::log::error("cannot start: ", e.what());
        return 1;
    }
}
