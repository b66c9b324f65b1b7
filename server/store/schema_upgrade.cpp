#include "server/store/schema_upgrade.hpp"

#include "server/core/log.hpp"
#include "server/store/backup.hpp"
#include "server/store/database.hpp"

#include <algorithm>
#include <regex>
#include <stdexcept>
#include <string>
#include <tuple>

namespace parley::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view backup_infix = ".before-upgrade-";

// One automatic backup found beside the database, with what orders it.
struct found_backup {
    std::string stamp;  // YYYYMMDDTHHMMSSZ sorts as the time it names
    int from = 0;
    int to = 0;
    fs::path path;
};

bool operator<(const found_backup& a, const found_backup& b) {
    // Within one second, a later upgrade starts from a higher version.
    return std::tie(a.stamp, a.from, a.to) < std::tie(b.stamp, b.from, b.to);
}

std::string utc_stamp(std::time_t when) {
    std::tm tm{};
    ::gmtime_r(&when, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
    return text;
}

std::vector<found_backup> find_upgrade_backups(const fs::path& file) {
    static const std::regex pattern(R"(v([0-9]{1,9})-to-v([0-9]{1,9})-([0-9]{8}T[0-9]{6}Z))");
    const std::string prefix = file.filename().string() + std::string(backup_infix);
    std::vector<found_backup> out;
    std::error_code ec;
    const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::smatch m;
        if (!name.starts_with(prefix)) continue;
        const std::string rest = name.substr(prefix.size());
        if (!std::regex_match(rest, m, pattern) || !it->is_regular_file(ec)) continue;
        out.push_back({m[3].str(), std::stoi(m[1].str()), std::stoi(m[2].str()), it->path()});
    }
    return out;
}

// The copy of `file` as it is, at schema version `from`, before migrating to `to`.
fs::path back_up_before_upgrade(const fs::path& file, int from, int to, std::time_t now) {
    const fs::path name = upgrade_backup_name(file, from, to, now);
    auto made = backup_database(file, name);
    if (auto* failed = std::get_if<backup_failure>(&made))
        throw std::runtime_error("cannot back up " + file.string() + " before upgrading its schema from version " +
                                 std::to_string(from) + " to " + std::to_string(to) + ": " + failed->message +
                                 "; nothing was migrated");
    const auto& copy = std::get<database_summary>(made);
    log::info(log::store, "backed up the database before upgrading its schema",
              {{"database", file.string()}, {"backup", name.string()}, {"from", from}, {"to", to},
               {"messages", copy.messages}});
    return name;
}

}  // namespace

fs::path upgrade_backup_name(const fs::path& file, int from, int to, std::time_t when) {
    return fs::path(file.string() + std::string(backup_infix) + "v" + std::to_string(from) + "-to-v" +
                    std::to_string(to) + "-" + utc_stamp(when));
}

std::vector<fs::path> prune_upgrade_backups(const fs::path& file, std::size_t keep) {
    auto found = find_upgrade_backups(file);
    std::sort(found.begin(), found.end());
    std::vector<fs::path> removed;
    const std::size_t excess = found.size() > keep ? found.size() - keep : 0;
    for (std::size_t i = 0; i < excess; ++i) {
        std::error_code ec;
        if (fs::remove(found[i].path, ec)) removed.push_back(found[i].path);
        else if (ec) log::warn(log::store, "cannot delete an old upgrade backup", {{"file", found[i].path.string()}, {"error", ec}});
    }
    return removed;
}

upgrade_report upgrade_database(const fs::path& file, std::span<const migration> all, std::time_t now) {
    upgrade_report report;
    const int latest = all.empty() ? 0 : all.back().version;
    {
        database db(file.string(), database::mode::read_write);
        report.from = static_cast<int>(db.user_version());
    }
    // The backup reads through a connection of its own; a newer database is
    // left to migrate(), which refuses it.
    if (report.from > 0 && report.from < latest) {
        report.backup = back_up_before_upgrade(file, report.from, latest, now);
        report.removed = prune_upgrade_backups(file);
    }
    database db(file.string(), database::mode::read_write);
    report.to = migrate(db, all);
    return report;
}

upgrade_report upgrade_store(const store_url& store) {
    if (store.kind == store_url::engine::sqlite) return upgrade_database(store.target);
    auto db = store.open(store_url::access::read_write);
    upgrade_report report;
    report.from = schema_version(*db);
    report.to = migrate(*db);
    if (report.from > 0 && report.from < report.to)
        log::info(log::store, "migrated PostgreSQL; take backups with pg_dump, Parley does not copy a server database",
                  {{"from", report.from}, {"to", report.to}});
    return report;
}

}  // namespace parley::server
