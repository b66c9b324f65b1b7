#include "server/store/migrations.hpp"

#include "server/core/log.hpp"
#include "server/store/database.hpp"

#include <stdexcept>
#include <string>

namespace parley::server {

std::span<const migration> embedded_migrations(connection::engine e) {
    return e == connection::engine::postgres ? embedded_postgres_migrations() : embedded_migrations();
}

namespace {

constexpr std::string_view pg_version_table =
    "CREATE TABLE IF NOT EXISTS parley_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at "
    "TIMESTAMPTZ NOT NULL DEFAULT now())";

int pg_version(connection& db) {
    statement s = db.prepare("SELECT COALESCE(MAX(version), 0) FROM parley_schema");
    return s.step() ? static_cast<int>(s.column_int(0)) : 0;
}

void refuse_newer(int current, int latest) {
    if (current > latest)
        throw std::runtime_error("the database has schema version " + std::to_string(current) +
                                 ", newer than this parley (" + std::to_string(latest) +
                                 "); upgrade parley or restore a backup made by this version");
}

}  // namespace

int schema_version(connection& db) {
    if (db.kind() == connection::engine::sqlite) return static_cast<int>(dynamic_cast<database&>(db).user_version());
    int v = 0;
    with_transaction(db, [&] {
        db.exec(pg_version_table);
        v = pg_version(db);
    }, connection::transaction::exclusive);
    return v;
}

int migrate(connection& db, std::span<const migration> all) {
    const int latest = all.empty() ? 0 : all.back().version;
    refuse_newer(schema_version(db), latest);
    const bool postgres = db.kind() == connection::engine::postgres;
    for (const migration& m : all) {
        bool applied = false;
        with_transaction(db, [&] {
            const int current = postgres ? pg_version(db) : static_cast<int>(dynamic_cast<database&>(db).user_version());
            refuse_newer(current, latest);
            if (m.version <= current) return;
            db.exec(m.sql);
            if (postgres) {
                statement record = db.prepare("INSERT INTO parley_schema(version, name) VALUES(?, ?)");
                record.bind_all(m.version, m.name);
                record.run();
            } else {
                db.exec("PRAGMA user_version = " + std::to_string(m.version));
            }
            applied = true;
        }, connection::transaction::exclusive);
        if (applied) log::info(log::store, "applied a migration", {{"migration", m.name}, {"version", m.version}});
    }
    return latest;
}

int migrate(connection& db) { return migrate(db, embedded_migrations(db.kind())); }

}  // namespace parley::server
