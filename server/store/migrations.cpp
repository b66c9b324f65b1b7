#include "server/store/migrations.hpp"

#include "server/core/log.hpp"

#include <stdexcept>
#include <string>

namespace parley::server {

int migrate(database& db, std::span<const migration> all) {
    const int latest = all.empty() ? 0 : all.back().version;
    const auto current = db.user_version();
    if (current > latest) {
        throw std::runtime_error("the database has schema version " + std::to_string(current) +
                                 ", newer than this parley (" + std::to_string(latest) +
                                 "); upgrade parley or restore a backup made by this version");
    }
    for (const migration& m : all) {
        if (m.version <= current) continue;
        with_transaction(db, [&] {
            db.exec(m.sql);
            db.exec("PRAGMA user_version = " + std::to_string(m.version));
        });
        log::info(log::store, "applied a migration", {{"migration", m.name}, {"version", m.version}});
    }
    return latest;
}

}  // namespace parley::server
