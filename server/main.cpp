// parley: the chat server, and `parley admin ...` to manage its accounts.
// See `parley --help`, `parley admin --help` and docs/operations.md.
#include "server/admin_cli.hpp"
#include "server/core/config.hpp"
#include "server/core/log.hpp"
#include "server/server.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

int main(int argc, char** argv) {
    const auto env = [](const char* name) -> const char* { return std::getenv(name); };
    if (argc >= 2 && std::string_view(argv[1]) == "admin")
        return parley::server::run_admin(argc, argv, env, std::cin, std::cout, std::cerr);
    if (argc >= 2 && (std::string_view(argv[1]) == "backup" || std::string_view(argv[1]) == "restore"))
        return parley::server::run_backup(argc, argv, env, std::cout, std::cerr);
    const std::string default_config =
        parley::server::running_from_install() ? parley::server::installed_config_file() : std::string();
    auto parsed = parley::server::parse_config(argc, argv, env, default_config);
    if (!parsed.cfg) {
        std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
        return parsed.exit_code;
    }
    try {
        parley::server::server s(std::move(*parsed.cfg));
        return s.run();
    } catch (const parley::server::setup_error& e) {
        parley::server::log::error(parley::server::log::server, "cannot start", {{"error", e.what()}});
        return 2;
    } catch (const std::exception& e) {
        parley::server::log::error(parley::server::log::server, "cannot start", {{"error", e.what()}});
        return 1;
    }
}
