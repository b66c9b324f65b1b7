#include "server/admin_cli.hpp"

#include "server/admin_remote.hpp"
#include "server/core/bounds.hpp"
#include "server/core/config.hpp"
#include "server/net/admin_ops.hpp"
#include "server/store/accounts.hpp"
#include "server/store/backup.hpp"
#include "server/store/database.hpp"
#include "server/store/migrations.hpp"
#include "server/store/schema_upgrade.hpp"

#include <nlohmann/json.hpp>

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::server {
namespace {

namespace fs = std::filesystem;

constexpr const char* usage =
    "usage: parley admin grant NAME\n"
    "       parley admin revoke NAME\n"
    "       parley admin add-user NAME [--admin]      (the password is read from stdin, one line)\n"
    "       parley admin invite [--uses N] [--expires DURATION]   (DURATION: 90s, 30m, 12h, 7d; default 1 use, 7d)\n"
    "       parley admin reset-password NAME          (the new password is read from stdin; their sessions end)\n"
    "       parley admin disable-user NAME            (cannot sign in; sessions and connections end)\n"
    "       parley admin enable-user NAME\n"
    "       parley admin list-users                   (also: list)\n"
    "       parley admin list-rooms\n"
    "While a server runs on the data directory, grant, revoke, reset-password and disable/enable-user act through it.\n"
    "Each also takes --data-dir DIR (or PARLEY_DATA_DIR), --config FILE and the server's other options.\n"
    "example: echo 'a long passphrase' | parley admin add-user ana --admin --data-dir /var/lib/parley\n";

// A bad command line: reported with the usage, exit code 2.
struct usage_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// What the command line asked for, with the options that are the server's.
struct admin_args {
    std::string command;
    std::string name;
    bool admin = false;
    std::int64_t uses = bounds::default_invite_uses;
    std::chrono::seconds expires = bounds::default_invite_ttl;
    std::vector<const char*> server_argv{"parley"};
};

// 90s, 30m, 12h, 7d or plain seconds.
std::chrono::seconds parse_duration(std::string_view s) {
    std::int64_t unit = 1;
    if (!s.empty() && std::string_view("smhd").find(s.back()) != std::string_view::npos) {
        unit = s.back() == 's' ? 1 : s.back() == 'm' ? 60 : s.back() == 'h' ? 3600 : 86400;
        s.remove_suffix(1);
    }
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || n <= 0 || n > 1000000)
        throw usage_error("--expires: expected a duration such as 90s, 30m, 12h or 7d");
    return std::chrono::seconds(n * unit);
}

std::int64_t parse_uses(std::string_view s) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size() || n < 1 || n > bounds::max_invite_uses)
        throw usage_error("--uses: expected a number from 1 to " + std::to_string(bounds::max_invite_uses));
    return n;
}

// Takes the admin command's own arguments; everything else is left for the
// server's parser (--data-dir, --password-cost, --listen, ...).
admin_args parse_admin_args(int argc, const char* const* argv) {
    admin_args a;
    if (argc < 3) throw usage_error("which command?");
    a.command = argv[2];
    const bool needs_name = a.command == "grant" || a.command == "revoke" || a.command == "add-user" ||
                            a.command == "reset-password" || a.command == "disable-user" || a.command == "enable-user";
    if (!needs_name && a.command != "invite" && a.command != "list" && a.command != "list-users" &&
        a.command != "list-rooms")
        throw usage_error("unknown command '" + a.command + "'");
    auto value = [&](int& i) {
        if (i + 1 >= argc) throw usage_error(std::string(argv[i]) + ": needs a value");
        return std::string_view(argv[++i]);
    };
    for (int i = 3; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--admin" && a.command == "add-user") a.admin = true;
        else if (arg == "--uses" && a.command == "invite") a.uses = parse_uses(value(i));
        else if (arg == "--expires" && a.command == "invite") a.expires = parse_duration(value(i));
        else if (!arg.starts_with("--") && needs_name && a.name.empty()) a.name = arg;
        else if (!arg.starts_with("--")) throw usage_error("unexpected argument '" + std::string(arg) + "'");
        else {
            a.server_argv.push_back(argv[i]);
            // A server option's value follows it unless given as --name=value.
            if (arg.find('=') == std::string_view::npos && i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--"))
                a.server_argv.push_back(argv[++i]);
        }
    }
    if (needs_name && a.name.empty()) throw usage_error(a.command + ": which user? (NAME)");
    if (a.expires < bounds::min_invite_ttl || a.expires > bounds::max_invite_ttl)
        throw usage_error("--expires: an invite lasts from 1 minute to 90 days");
    return a;
}

// One line from stdin; the echo is off while a terminal types it.
std::optional<std::string> read_password(std::istream& in, std::ostream& err, const std::string& name) {
    const bool tty = &in == &std::cin && ::isatty(STDIN_FILENO);
    termios saved{};
    if (tty) {
        err << "password for " << name << ": " << std::flush;
        ::tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    const bool got = static_cast<bool>(std::getline(in, line));
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        err << "\n";
    }
    if (!got) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}


// The link an invitee opens: the server's address when it names one.
std::string invite_link(const config& cfg, const std::string& code) {
    std::string host = cfg.listen_host;
    if (host == "0.0.0.0" || host == "::") host = "<this server's address>";
    else if (host.find(':') != std::string::npos) host = "[" + host + "]";
    const bool tls = cfg.tls();
    const bool default_port = cfg.listen_port == (tls ? 443 : 80);
    return std::string(tls ? "https://" : "http://") + host + (default_port ? "" : ":" + std::to_string(cfg.listen_port)) +
           "/?invite=" + code;
}

int fail(std::ostream& err, std::string_view what) {
    err << "parley admin: " << what << "\n";
    return 1;
}

int run_command(const admin_args& a, const config& cfg, accounts& accts, std::istream& in, std::ostream& out,
                std::ostream& err) {
    if (a.command == "grant" || a.command == "revoke") {
        if (auto e = accts.set_admin(a.name, a.command == "grant")) return fail(err, a.name + ": " + std::string(describe(*e)));
        out << a.name << (a.command == "grant" ? " is now an admin\n" : " is no longer an admin\n");
        return 0;
    }
    if (a.command == "add-user") {
        const auto password = read_password(in, err, a.name);
        if (!password) return fail(err, "no password on stdin (one line)");
        auto made = accts.add_user(a.name, *password, a.admin);
        if (auto* e = std::get_if<account_error>(&made)) return fail(err, a.name + ": " + std::string(describe(*e)));
        out << "created " << a.name << (accts.is_admin(std::get<user_identity>(made).id) ? " (admin)\n" : "\n");
        return 0;
    }
    if (a.command == "invite") {
        auto made = accts.create_invite(0, a.uses, a.expires);
        if (auto* e = std::get_if<account_error>(&made)) return fail(err, describe(*e));
        const auto& inv = std::get<issued_invite>(made);
        out << "code:    " << inv.code << "\n"
            << "link:    " << invite_link(cfg, inv.code) << "\n"
            << "uses:    " << inv.info.uses << "\n"
            << "expires: " << format_utc_ms(inv.info.expires_at_ms) << "\n";
        if (cfg.registration && *cfg.registration != registration_mode::invite)
            err << "note: the server is set to --registration " << to_string(*cfg.registration)
                << " here; invites count only in invite mode\n";
        return 0;
    }
    if (a.command == "disable-user" || a.command == "enable-user" || a.command == "reset-password") {
        admin_outcome o;
        if (a.command == "reset-password") {
            const auto password = read_password(in, err, a.name);
            if (!password) return fail(err, "no password on stdin (one line)");
            o = reset_user_password(accts, nullptr, a.name, *password);
        } else {
            o = set_user_disabled(accts, nullptr, a.name, a.command == "disable-user");
        }
        if (o.error) return fail(err, o.message);
        out << o.message << "\n";
        return 0;
    }
    if (a.command == "list-rooms") {
        print_rooms(store_url::parse(cfg.store_location()), out);
        return 0;
    }
    // list-users (and its old name, list): name, admin, disabled, created
    for (const auto& u : accts.list_users())
        out << u.username << (u.admin ? "\tadmin" : "\t-") << (u.disabled_at_ms != 0 ? "\tdisabled\t" : "\t-\t")
            << format_utc_ms(u.created_at_ms) << "\n";
    return 0;
}

// The commands whose effect must reach a running server's connections, as
// the line its control socket takes (admin_ops.hpp); nullopt for the others.
std::optional<std::string> server_request(const admin_args& a, std::string password_line) {
    const bool live = a.command == "grant" || a.command == "revoke" || a.command == "disable-user" ||
                      a.command == "enable-user" || a.command == "reset-password";
    if (!live) return std::nullopt;
    nlohmann::json req{{"command", a.command}, {"user", a.name}};
    if (a.command == "reset-password") {
        if (!password_line.empty() && password_line.back() == '\n') password_line.pop_back();
        req["password"] = password_line;
    }
    return req.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

constexpr const char* backup_usage =
    "usage: parley backup FILE    a consistent, checked copy of the database (the server may be running)\n"
    "       parley restore FILE   replace the database with FILE (the server must be stopped)\n"
    "Each also takes --data-dir DIR (or PARLEY_DATA_DIR), --config FILE and the server's other options.\n"
    "example: parley backup /var/backups/parley-$(date +%F).db --data-dir /var/lib/parley\n";

// The server's settings from what follows the command's own FILE argument.
config parse_server_options(int argc, const char* const* argv, const char* (*environ_lookup)(const char*),
                            std::string& file) {
    std::vector<const char*> server_argv{"parley"};
    for (int i = 2; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!arg.starts_with("--") && file.empty()) file = arg;
        else if (!arg.starts_with("--")) throw usage_error("unexpected argument '" + std::string(arg) + "'");
        else server_argv.push_back(argv[i]);
        // An option's value follows it unless given as --name=value.
        if (arg.starts_with("--") && arg.find('=') == std::string_view::npos && i + 1 < argc &&
            !std::string_view(argv[i + 1]).starts_with("--"))
            server_argv.push_back(argv[++i]);
    }
    if (file.empty()) throw usage_error("which file? (FILE)");
    auto parsed = parse_config(static_cast<int>(server_argv.size()), server_argv.data(), environ_lookup,
                               running_from_install() ? installed_config_file() : std::string());
    if (!parsed.cfg) throw usage_error(parsed.message.substr(0, parsed.message.find('\n')));
    return std::move(*parsed.cfg);
}

void describe_summary(std::ostream& out, const database_summary& s) {
    out << "  " << s.bytes << " bytes, schema version " << s.schema_version << ", " << s.users << " users, "
        << s.rooms << " rooms, " << s.messages << " messages; integrity check ok\n";
}

int newest_schema() {
    int newest = 0;
    for (const auto& m : embedded_migrations()) newest = std::max(newest, m.version);
    return newest;
}

}  // namespace

int run_backup(int argc, const char* const* argv, const char* (*environ_lookup)(const char*), std::ostream& out,
               std::ostream& err) {
    const std::string command = argv[1];
    for (int i = 2; i < argc; ++i)
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            out << backup_usage;
            return 0;
        }
    config cfg;
    std::string file;
    try {
        cfg = parse_server_options(argc, argv, environ_lookup, file);
    } catch (const usage_error& e) {
        err << "parley " << command << ": " << e.what() << "\n" << backup_usage;
        return 2;
    }
    log::set_level(cfg.level == log_level::info ? log_level::warn : cfg.level);
    log::set_format(cfg.format);
    auto report_failure = [&](const std::string& why) {
        err << "parley " << command << ": " << why << "\n";
        return 1;
    };
    const store_url store = store_url::parse(cfg.store_location());
    if (store.kind == store_url::engine::postgres)
        return report_failure("the store is PostgreSQL: back it up and restore it with pg_dump and pg_restore");
    if (command == "backup") {
        auto made = backup_database(store.target, file);
        if (auto* f = std::get_if<backup_failure>(&made)) return report_failure(f->message);
        out << "wrote " << file << " from " << store.target << "\n";
        describe_summary(out, std::get<database_summary>(made));
        return 0;
    }
    // restore: nothing changes unless the server is stopped and the file is good.
    if (store.target != cfg.database_path())
        return report_failure("restore replaces DATA_DIR/parley.db; with --store " + cfg.store +
                              ", stop the server and copy the file into place instead");
    std::error_code ec;
    if (!fs::is_directory(cfg.data_dir, ec)) return report_failure("no data directory " + cfg.data_dir);
    std::string holder;
    auto lock = data_dir_lock::try_acquire(cfg.data_dir, holder);
    if (!lock)
        return report_failure(cfg.data_dir + " is in use by " + holder +
                              " (a running server?): stop it first, e.g. systemctl stop parley");
    auto checked = check_database(file, newest_schema());
    if (auto* f = std::get_if<backup_failure>(&checked)) return report_failure(f->message + "; nothing was changed");
    auto swapped = restore_database(file, cfg.data_dir);
    if (auto* f = std::get_if<backup_failure>(&swapped)) return report_failure(f->message);
    out << "restored " << cfg.database_path() << " from " << file << "\n";
    describe_summary(out, std::get<database_summary>(checked));
    const auto& kept = std::get<fs::path>(swapped);
    if (!kept.empty()) out << "the database it replaced is kept as " << kept.string() << "\n";
    if (std::get<database_summary>(checked).schema_version < newest_schema())
        out << "the server migrates it from schema version " << std::get<database_summary>(checked).schema_version
            << " to " << newest_schema() << " when it starts\n";
    return 0;
}

int run_admin(int argc, const char* const* argv, const char* (*environ_lookup)(const char*), std::istream& in,
              std::ostream& out, std::ostream& err) {
    for (int i = 2; i < argc; ++i)
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            out << usage;
            return 0;
        }
    admin_args a;
    config cfg;
    try {
        a = parse_admin_args(argc, argv);
        // The server's config file too, so that `parley admin` on an installed
        // server finds its data directory without being told.
        auto parsed = parse_config(static_cast<int>(a.server_argv.size()), a.server_argv.data(), environ_lookup,
                                   running_from_install() ? installed_config_file() : std::string());
        if (!parsed.cfg) throw usage_error(parsed.message.substr(0, parsed.message.find('\n')));
        cfg = std::move(*parsed.cfg);
    } catch (const usage_error& e) {
        err << "parley admin: " << e.what() << "\n" << usage;
        return 2;
    }
    log::set_level(cfg.level == log_level::info ? log_level::warn : cfg.level);
    log::set_format(cfg.format);
    try {
        const store_url store = store_url::parse(cfg.store_location());
        const bool creates = a.command == "add-user" || a.command == "invite";
        if (!creates && store.kind == store_url::engine::sqlite && !fs::exists(store.target))
            return fail(err, "no database at " + store.target + " (is --data-dir right?)");
        fs::create_directories(cfg.data_dir);
        // reset-password reads its line once, whichever road it then takes.
        std::istringstream password_in;
        std::istream* input = &in;
        if (a.command == "reset-password") {
            const auto password = read_password(in, err, a.name);
            if (!password) return fail(err, "no password on stdin (one line)");
            password_in.str(*password + "\n");
            input = &password_in;
        }
        // A running server does what must reach its connections; otherwise the
        // data directory stays ours while we act, so that none starts meanwhile.
        std::optional<data_dir_lock> held;
        if (auto request = server_request(a, password_in.str())) {
            auto route = route_admin_command(cfg, *request, out, err);
            if (route.status) return *route.status;
            held = std::move(route.lock);
        }
        // Its log is quiet: say here that an older schema was backed up.
        if (const auto upgraded = upgrade_store(store); !upgraded.backup.empty())
            err << "parley admin: backed up the database (schema version " << upgraded.from << ") to "
                << upgraded.backup.string() << " before upgrading it to version " << upgraded.to << "\n";
        accounts accts(store, cfg);
        return run_command(a, cfg, accts, *input, out, err);
    } catch (const std::exception& e) {
        return fail(err, e.what());
    }
}

}  // namespace parley::server
