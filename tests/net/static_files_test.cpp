#include "server/net/static_files.hpp"

#include "tests/support/test_server.hpp"

#include <boost/beast/http.hpp>

#include <gtest/gtest.h>

#include <fstream>

namespace {

using namespace parley::server;
namespace http = boost::beast::http;

struct site {
    parley::testing::temp_dir web, wasm;
    static_files files;

    static void write(const std::filesystem::path& p, const std::string& content) {
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << content;
    }

    site() : files({{"/wasm/", wasm.path()}, {"/", web.path()}}) {
        write(web.path() / "index.html", "<!doctype html><title>Parley</title>");
        write(web.path() / "app.js", std::string(5000, 'x'));
        write(web.path() / "css/style.css", "body{}");
        write(wasm.path() / "parley_protocol.wasm", std::string("\0asm", 4) + std::string(2000, '\1'));
    }

    static_files::response get(std::string target, std::map<std::string, std::string> headers = {}) {
        static_files::request req{http::verb::get, target, 11};
        for (auto& [k, v] : headers) req.set(k, v);
        return files.serve(req);
    }
};

TEST(StaticFiles, ServesWithMimeTypes) {
    site s;
    auto index = s.get("/");
    EXPECT_EQ(index.result(), http::status::ok);
    EXPECT_EQ(index[http::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ(s.get("/app.js")[http::field::content_type], "text/javascript; charset=utf-8");
    EXPECT_EQ(s.get("/css/style.css")[http::field::content_type], "text/css; charset=utf-8");
    auto wasm = s.get("/wasm/parley_protocol.wasm");
    EXPECT_EQ(wasm.result(), http::status::ok);
    EXPECT_EQ(wasm[http::field::content_type], "application/wasm");
    EXPECT_EQ(wasm.body().substr(0, 4), std::string("\0asm", 4));
}

TEST(StaticFiles, EtagRevalidationAnswersNotModified) {
    site s;
    auto first = s.get("/app.js");
    const std::string etag(first[http::field::etag]);
    ASSERT_FALSE(etag.empty());
    auto again = s.get("/app.js", {{"If-None-Match", etag}});
    EXPECT_EQ(again.result(), http::status::not_modified);
    EXPECT_TRUE(again.body().empty());
    EXPECT_EQ(s.get("/app.js", {{"If-None-Match", "\"other\""}}).result(), http::status::ok);
}

TEST(StaticFiles, GzipOnlyWhenAccepted) {
    site s;
    auto plain = s.get("/app.js");
    EXPECT_EQ(plain[http::field::content_encoding], "");
    EXPECT_EQ(plain.body().size(), 5000u);
    auto gz = s.get("/app.js", {{"Accept-Encoding", "gzip, deflate, br"}});
    EXPECT_EQ(gz[http::field::content_encoding], "gzip");
    EXPECT_LT(gz.body().size(), 200u);
    EXPECT_EQ(static_cast<unsigned char>(gz.body()[0]), 0x1f);  // gzip magic
    EXPECT_EQ(gz[http::field::vary], "Accept-Encoding");
}

TEST(StaticFiles, NoDirectoryTraversal) {
    site s;
    site::write(s.web.path().parent_path() / "secret.txt", "top secret");
    for (const char* target : {"/../secret.txt", "/%2e%2e/secret.txt", "/css/../../secret.txt", "/..%2fsecret.txt",
                               "/wasm/../../secret.txt", "/%00", "/a\\..\\secret.txt"}) {
        auto res = s.get(target);
        EXPECT_NE(res.body().find("top secret"), 0u) << target;
        EXPECT_EQ(res.body().find("top secret"), std::string::npos) << target;
    }
    std::filesystem::remove(s.web.path().parent_path() / "secret.txt");
}

TEST(StaticFiles, UnknownFilesAre404AndAppRoutesLoadTheApp) {
    site s;
    EXPECT_EQ(s.get("/missing.js").result(), http::status::not_found);
    auto route = s.get("/r/lobby");
    EXPECT_EQ(route.result(), http::status::ok);
    EXPECT_NE(route.body().find("<title>Parley</title>"), std::string::npos);
}

TEST(StaticFiles, OnlyGetAndHead) {
    site s;
    static_files::request req{http::verb::post, "/index.html", 11};
    auto res = s.files.serve(req);
    EXPECT_EQ(res.result(), http::status::method_not_allowed);
    EXPECT_EQ(res[http::field::allow], "GET, HEAD");
}

TEST(StaticFiles, EditedFilesAreServedFresh) {
    site s;
    EXPECT_EQ(s.get("/css/style.css").body(), "body{}");
    std::filesystem::last_write_time(s.web.path() / "css/style.css", std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
    site::write(s.web.path() / "css/style.css", "body{color:red}");
    EXPECT_EQ(s.get("/css/style.css").body(), "body{color:red}");
}

TEST(StaticFiles, UrlDecoding) {
    EXPECT_EQ(url_decode("/a%20b"), "/a b");
    EXPECT_EQ(url_decode("/%2E%2e"), "/..");
    EXPECT_FALSE(url_decode("/%zz").has_value());
    EXPECT_FALSE(url_decode("/%0").has_value());
    EXPECT_FALSE(url_decode("/%00").has_value());
}

}  // namespace
