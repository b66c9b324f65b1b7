#include "tests/support/scratch_postgres.hpp"

#include "server/store/postgres.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <unistd.h>

namespace parley::testing {

namespace fs = std::filesystem;

namespace {

std::string source_dir() {
    const char* src = std::getenv("PARLEY_SOURCE_DIR");
    return src ? src : ".";
}

}  // namespace

scratch_postgres* scratch_postgres::shared(std::string* why) {
    static std::unique_ptr<scratch_postgres> server;
    static std::string failure;
    if (!server && failure.empty()) {
        std::unique_ptr<scratch_postgres> s(new scratch_postgres);
        try {
            char tmpl[] = "/tmp/parley-pg-XXXXXX";
            if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
            s->root_ = tmpl;
            fs::permissions(s->root_, fs::perms(0755));  // the server runs as parley-test when we are root
            s->start();
            server = std::move(s);
        } catch (const std::exception& e) {
            failure = e.what();
        }
    }
    if (why) *why = failure;
    return server.get();
}

std::string scratch_postgres::script(const std::string& verb) {
    const std::string cmd = "PG_SCRATCH_FAST=1 " + source_dir() + "/scripts/pg-scratch.sh " + verb + " " +
                            (root_ / "pg").string() + " 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
    if (!p) throw std::runtime_error("cannot run pg-scratch.sh");
    std::string out;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), p.get())) out += buf.data();
    const int status = pclose(p.release());
    if (status != 0) throw std::runtime_error("pg-scratch.sh " + verb + " failed: " + out);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

void scratch_postgres::start() {
    const std::string out = script("start");
    url_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
}
void scratch_postgres::stop() { script("stop"); }
void scratch_postgres::kill() { script("kill"); }
void scratch_postgres::restart() { script("restart"); }

std::string scratch_postgres::fresh_database() {
    const std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++databases_);
    server::pg_connection admin(url_, server::store_url::access::read_write);
    admin.exec("CREATE DATABASE " + name);
    return url_.substr(0, url_.rfind('/') + 1) + name;
}

scratch_postgres::~scratch_postgres() {
    try {
        stop();
    } catch (const std::exception&) {
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
}

}  // namespace parley::testing
