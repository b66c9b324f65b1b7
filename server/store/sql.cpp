#include "server/store/sql.hpp"

#include "server/store/database.hpp"
#include "server/store/postgres.hpp"

namespace parley::server {

store_url store_url::parse(std::string_view text) {
    auto starts = [&](std::string_view p) { return text.substr(0, p.size()) == p; };
    if (starts("sqlite:")) {
        std::string path(text.substr(7));
        if (path.empty()) throw std::invalid_argument("--store sqlite:PATH needs a path");
        return {engine::sqlite, std::move(path)};
    }
    if (starts("postgresql://") || starts("postgres://")) return {engine::postgres, std::string(text)};
    if (starts("postgres:")) {
        std::string url(text.substr(9));
        if (url.empty()) throw std::invalid_argument("--store postgres:URL needs a URL, e.g. postgres:postgresql://parley@db/parley");
        return {engine::postgres, std::move(url)};
    }
    throw std::invalid_argument("--store takes sqlite:PATH or postgres:URL, not '" + std::string(text) + "'");
}

std::string store_url::describe() const {
    if (kind == engine::sqlite) return "sqlite:" + target;
    std::string shown = target;
    // postgresql://user:secret@host/... -> postgresql://user:***@host/...
    if (const auto scheme = shown.find("://"); scheme != std::string::npos) {
        const auto at = shown.find('@', scheme + 3);
        const auto colon = shown.find(':', scheme + 3);
        if (at != std::string::npos && colon != std::string::npos && colon < at) shown.replace(colon + 1, at - colon - 1, "***");
    }
    // password=secret (keyword form, or a query parameter)
    for (auto at = shown.find("password="); at != std::string::npos; at = shown.find("password=", at + 1)) {
        const auto end = shown.find_first_of(" &", at);
        shown.replace(at + 9, (end == std::string::npos ? shown.size() : end) - at - 9, "***");
    }
    return "postgres:" + shown;
}

std::unique_ptr<connection> store_url::open(access a) const {
    if (kind == engine::postgres) return std::make_unique<pg_connection>(target, a);
    return std::make_unique<database>(target, a == access::read_only ? database::mode::read_only : database::mode::read_write);
}

}  // namespace parley::server
