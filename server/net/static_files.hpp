// Serves the browser client from disk: MIME types, ETag/If-None-Match, gzip
// for clients that accept it, no way out of the mounted directories.
//
// Files are cached in memory with their gzip form and ETag, keyed by path and
// revalidated against size and modification time on every request (one
// stat), so an edited file is served fresh without a restart.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::server {

class static_files {
public:
    struct mount {
        std::string url_prefix;           ///< "/wasm/" or "/"
        std::filesystem::path directory;  ///< served below the prefix
    };

    explicit static_files(std::vector<mount> mounts);

    using request = boost::beast::http::request<boost::beast::http::string_body>;
    using response = boost::beast::http::response<boost::beast::http::string_body>;

    /// GET/HEAD of a file: 200, 304, 404 or 405.
    response serve(const request& req);

    /// MIME type for a file name, by extension ("application/wasm" for .wasm).
    static std::string_view content_type(std::string_view filename);

    /// The file a request target names (query and fragment ignored), always
    /// below its mount's directory; nullopt if it names none (public for fuzz/http_fuzzer.cpp).
    std::optional<std::filesystem::path> resolve(std::string_view target) const;

private:
    struct entry {
        std::filesystem::file_time_type mtime;
        std::uintmax_t size = 0;
        std::string body;
        std::string gzipped;  // empty when not worth it
        std::string etag;
    };
    std::shared_ptr<const entry> load(const std::filesystem::path& path);

    std::vector<mount> mounts_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const entry>> cache_;
};

/// Decodes %XX escapes; nullopt for malformed escapes or an encoded NUL.
std::optional<std::string> url_decode(std::string_view s);

}  // namespace parley::server
