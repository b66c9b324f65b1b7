#include "server/net/static_files.hpp"

#include "server/core/log.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace parley::server {
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

bool worth_compressing(std::string_view type) {
    return type.starts_with("text/") || type.starts_with("application/javascript") ||
           type.starts_with("application/json") || type == "application/wasm" || type == "image/svg+xml" ||
           type.starts_with("application/manifest+json");
}

std::string gzip(const std::string& data) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? out : std::string();
}

// FNV-1a 64: a stable content hash for ETags (not a security boundary).
std::string etag_of(const std::string& data) {
    std::uint64_t h = 1469598103934665603ULL;
    for (char c : data) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    std::ostringstream out;
    out << '"' << std::hex << h << '-' << data.size() << '"';
    return out.str();
}

// If-None-Match uses weak comparison: a listed W/"x" matches "x".
bool etag_matches(std::string_view header, std::string_view etag) {
    return header == "*" || (!header.empty() && header.find(etag) != std::string_view::npos);
}

bool accepts_gzip(std::string_view accept_encoding) {
    // Enough for real browsers: "gzip" listed without q=0.
    const auto at = accept_encoding.find("gzip");
    if (at == std::string_view::npos) return false;
    const auto rest = accept_encoding.substr(at + 4);
    return !(rest.starts_with(";q=0") && !rest.starts_with(";q=0."));
}

}  // namespace

std::optional<std::string> url_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

std::string_view static_files::content_type(std::string_view name) {
    const auto dot = name.rfind('.');
    const std::string_view ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
    if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
    if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
    if (ext == "css") return "text/css; charset=utf-8";
    if (ext == "wasm") return "application/wasm";
    if (ext == "json" || ext == "map") return "application/json";
    if (ext == "webmanifest") return "application/manifest+json";
    if (ext == "svg") return "image/svg+xml";
    if (ext == "png") return "image/png";
    if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
    if (ext == "ico") return "image/x-icon";
    if (ext == "txt" || ext == "md") return "text/plain; charset=utf-8";
    if (ext == "woff2") return "font/woff2";
    return "application/octet-stream";
}

static_files::static_files(std::vector<mount> mounts) : mounts_(std::move(mounts)) {
    // Longest prefix first, so "/wasm/" wins over "/".
    std::sort(mounts_.begin(), mounts_.end(),
              [](const mount& a, const mount& b) { return a.url_prefix.size() > b.url_prefix.size(); });
}

std::optional<fs::path> static_files::resolve(std::string_view target) const {
    target = target.substr(0, target.find_first_of("?#"));
    auto decoded = url_decode(target);
    if (!decoded || decoded->empty() || decoded->front() != '/') return std::nullopt;
    if (decoded->find('\\') != std::string::npos) return std::nullopt;
    for (const mount& m : mounts_) {
        if (!decoded->starts_with(m.url_prefix)) continue;
        std::string rest = decoded->substr(m.url_prefix.size());
        if (rest.empty() || rest.back() == '/') rest += "index.html";
        fs::path relative;
        // A find loop rather than std::views::split, which clang 14 (the fuzz
        // build) cannot compile against libstdc++ 12.
        const std::string_view path(rest);
        for (std::size_t from = 0; from <= path.size();) {
            const std::size_t to = std::min(path.find('/', from), path.size());
            const std::string_view part = path.substr(from, to - from);
            if (part == ".." || part == ".") return std::nullopt;  // no way up, ever
            if (!part.empty()) relative /= std::string(part);
            from = to + 1;
        }
        return m.directory / relative;
    }
    return std::nullopt;
}

std::shared_ptr<const static_files::entry> static_files::load(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return nullptr;
    const auto mtime = fs::last_write_time(path, ec);
    const auto size = fs::file_size(path, ec);
    if (ec) return nullptr;
    {
        std::lock_guard lock(mutex_);
        if (auto it = cache_.find(path.string()); it != cache_.end() && it->second->mtime == mtime && it->second->size == size)
            return it->second;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return nullptr;
    auto e = std::make_shared<entry>();
    e->mtime = mtime;
    e->size = size;
    e->body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    e->etag = etag_of(e->body);
    if (e->body.size() >= 1024 && worth_compressing(content_type(path.filename().string()))) {
        e->gzipped = gzip(e->body);
        if (e->gzipped.size() >= e->body.size()) e->gzipped.clear();
    }
    std::lock_guard lock(mutex_);
    cache_[path.string()] = e;
    return e;
}

static_files::response static_files::serve(const request& req) {
    response res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        return res;
    }
    auto path = resolve(req.target());
    std::shared_ptr<const entry> file = path ? load(*path) : nullptr;
    // Room names may contain dots (/r/v1.2), so everything under /r/ is a route.
    const bool client_route = req.target().starts_with("/r/");
    if (!file && path && (!path->has_extension() || client_route)) {
        // Client-side routes such as /r/lobby load the app, which reads the URL.
        path = resolve("/index.html");
        file = path ? load(*path) : nullptr;
    }
    if (!file) {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "not found\n";
        res.prepare_payload();
        return res;
    }
    res.set(http::field::etag, file->etag);
    res.set(http::field::cache_control, "no-cache");  // revalidate with the ETag
    res.set(http::field::vary, "Accept-Encoding");
    res.set(http::field::content_type, content_type(path->filename().string()));
    res.set("X-Content-Type-Options", "nosniff");
    if (etag_matches(req[http::field::if_none_match], file->etag)) {
        res.result(http::status::not_modified);
        return res;
    }
    res.result(http::status::ok);
    const bool gz = !file->gzipped.empty() && accepts_gzip(req[http::field::accept_encoding]);
    if (gz) res.set(http::field::content_encoding, "gzip");
    const std::string& body = gz ? file->gzipped : file->body;
    if (req.method() == http::verb::head) {
        res.content_length(body.size());
    } else {
        res.body() = body;
        res.prepare_payload();
    }
    return res;
}

}  // namespace parley::server
