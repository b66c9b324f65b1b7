// Parley serving TLS itself (--tls-cert, --tls-key): HTTPS and WSS on the
// listen port, HSTS and Secure cookies, the handshake's own bounds, the
// certificate reloaded on SIGHUP, the plain-HTTP redirect, and start-up
// errors for a certificate or key that cannot be used. The certificates are
// made here with the openssl command line tool.
#include "tests/support/live_server.hpp"

#include "server/net/http_session.hpp"
#include "server/net/transport.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace {

using namespace parley::protocol;
using namespace parley::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// A self-signed certificate for localhost and 127.0.0.1: DIR/NAME.crt, DIR/NAME.key.
void make_cert(const fs::path& dir, const std::string& name, const std::string& cn = "localhost") {
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
                            cn + " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                            (dir / (name + ".key")).string() + " -out " + (dir / (name + ".crt")).string() +
                            " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Certificates for the suite, and the test client trusting `trusted` while a test runs.
class Tls : public ::testing::Test {
protected:
    void SetUp() override {
        make_cert(certs.path(), "a", "parley-a");
        make_cert(certs.path(), "b", "parley-b");
        use_tls(crt("a"));
    }
    void TearDown() override { use_tls(""); }
    std::string crt(const std::string& n) const { return (certs.path() / (n + ".crt")).string(); }
    std::string key(const std::string& n) const { return (certs.path() / (n + ".key")).string(); }
    std::vector<std::string> tls_args(const std::string& n = "a") const {
        return {"--tls-cert", crt(n), "--tls-key", key(n)};
    }
    temp_dir certs;
};

std::int64_t metric(std::uint16_t port, const std::string& name) {
    const auto res = http_call(port, "GET", "/metrics");
    std::istringstream lines(res.body);
    for (std::string line; std::getline(lines, line);)
        if (line.starts_with(name + " ")) return std::stoll(line.substr(name.size() + 1));
    return -1;
}

// A raw TCP connection to the port; true when the server closes it within `within`.
int raw_connect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    return fd;
}

bool closed_within(int fd, std::chrono::milliseconds within) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(within.count())) <= 0) return false;
    char buf[256];
    return ::recv(fd, buf, sizeof buf, 0) <= 0;
}

// A TLS handshake with the server under `ctx`'s rules: the error, if any.
boost::system::error_code handshake_with(std::uint16_t port, ssl::context& ctx, int fd = -1) {
    net::io_context io;
    tcp::socket s(io);
    if (fd >= 0) s.assign(tcp::v4(), fd);
    else s.connect({net::ip::make_address("127.0.0.1"), port});
    ssl::stream<tcp::socket&> tls(s, ctx);
    boost::system::error_code ec;
    tls.handshake(ssl::stream_base::client, ec);
    return ec;
}

ssl::context client_trusting(const std::string& ca) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_peer);
    ctx.load_verify_file(ca);
    return ctx;
}

// ---- serving ------------------------------------------------------------------------------

// HTTPS and WSS on one port: the page and the API over HTTPS with HSTS, the
// session cookie Secure without --secure-cookies, chat over WSS.
TEST_F(Tls, ServesHttpsAndWssWithHstsAndSecureCookies) {
    live_server srv(tls_args());
    const auto health = http_call(srv.port(), "GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.headers.count("strict-transport-security"), 1u);
    const auto reg = http_call(srv.port(), "POST", "/api/register", R"({"username":"ana","password":"correct horse"})");
    ASSERT_EQ(reg.status, 201) << reg.body;
    EXPECT_NE(reg.headers.at("set-cookie").find("; Secure"), std::string::npos) << reg.headers.at("set-cookie");

    auto ana = srv.connect("ana");
    auto bob = srv.connect("bob");
    ana->send(join_room{"tls", 0});
    const auto room = ana->wait_for<room_joined>().room_id;
    bob->send(join_room{"tls", 0});
    bob->wait_for<room_joined>();
    ana->send(send_message{room, 7, 0, "over wss", false});
    const auto m = bob->wait_for<chat_message>();
    EXPECT_EQ(m.message.text, "over wss");
    EXPECT_GE(metric(srv.port(), "parley_tls_handshakes_total"), 4);
    EXPECT_GT(metric(srv.port(), "parley_tls_certificate_expiry_timestamp_seconds"), 0);
}

// Only TLS 1.2+ with forward-secret AEAD suites: a client offering nothing
// but a CBC suite finds no common cipher.
TEST_F(Tls, OnlyModernCipherSuitesAreOffered) {
    live_server srv(tls_args());
    auto modern = client_trusting(crt("a"));
    SSL_CTX_set_max_proto_version(modern.native_handle(), TLS1_2_VERSION);
    ASSERT_EQ(SSL_CTX_set_cipher_list(modern.native_handle(), "ECDHE-ECDSA-AES128-GCM-SHA256"), 1);
    EXPECT_FALSE(handshake_with(srv.port(), modern)) << "TLS 1.2 with ECDHE and AES-GCM must work";

    auto cbc = client_trusting(crt("a"));
    SSL_CTX_set_max_proto_version(cbc.native_handle(), TLS1_2_VERSION);
    ASSERT_EQ(SSL_CTX_set_cipher_list(cbc.native_handle(), "ECDHE-ECDSA-AES128-SHA"), 1);
    EXPECT_TRUE(handshake_with(srv.port(), cbc)) << "a CBC-only client must be refused";
}

// Plain HTTP sent to the TLS port is not answered in the clear; the
// connection closes, and the server keeps serving.
TEST_F(Tls, PlainHttpOnTheTlsPortIsClosed) {
    live_server srv(tls_args());
    const int fd = raw_connect(srv.port());
    ASSERT_GE(fd, 0);
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    char buf[512];
    std::string got;
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got;
    EXPECT_EQ(http_call(srv.port(), "GET", "/healthz").status, 200);
    EXPECT_GE(metric(srv.port(), "parley_tls_handshake_failures_total"), 1);
}

// ---- the handshake's bounds ------------------------------------------------------------------

// A connection that never starts its handshake is closed after
// --tls-handshake-timeout (1 s here; the request timeout is 60 s).
TEST_F(Tls, ASilentConnectionIsClosedAtTheHandshakeTimeout) {
    live_server srv([&] {
        auto a = tls_args();
        a.insert(a.end(), {"--tls-handshake-timeout", "1", "--request-timeout", "60"});
        return a;
    }());
    const int fd = raw_connect(srv.port());
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(closed_within(fd, 20s)) << "a connection without a handshake was still open after 20 s";
    ::close(fd);
}

// Handshakes in progress are capped per address: over the cap a connection
// is closed at once; those under it still complete.
TEST_F(Tls, HandshakesInProgressAreCappedPerAddress) {
    live_server srv([&] {
        auto a = tls_args();
        a.insert(a.end(), {"--max-tls-handshakes-per-address", "2"});
        return a;
    }());
    const int first = raw_connect(srv.port()), second = raw_connect(srv.port());
    ASSERT_GE(first, 0);
    ASSERT_GE(second, 0);
    std::this_thread::sleep_for(200ms);  // both accepted: their handshakes are in progress
    const int third = raw_connect(srv.port());
    ASSERT_GE(third, 0);
    EXPECT_TRUE(closed_within(third, 5s)) << "the third handshake from one address must be refused";
    ::close(third);
    auto ctx = client_trusting(crt("a"));
    EXPECT_FALSE(handshake_with(srv.port(), ctx, first));
    EXPECT_FALSE(handshake_with(srv.port(), ctx, second));
    EXPECT_FALSE(handshake_with(srv.port(), ctx)) << "finished handshakes give their places back";
    EXPECT_GE(metric(srv.port(), "parley_tls_handshakes_refused_total"), 1);
}

// The send-queue bound holds over TLS: a client that stops reading is
// dropped as a slow consumer, and the others keep receiving.
TEST_F(Tls, ASlowConsumerIsDroppedOverTls) {
    live_server srv([&] {
        auto a = tls_args();
        a.insert(a.end(), {"--queue-bytes", "262144", "--message-rate", "100000/100000"});
        return a;
    }());
    ws_client slow({.port = srv.port(), .headers = {{"Cookie", "parley_session=" + srv.token("slow")}}, .read = false});
    slow.send(join_room{"busy", 0});
    auto ana = srv.connect("ana");
    ana->send(join_room{"busy", 0});
    const auto room = ana->wait_for<room_joined>().room_id;
    ana->wait_for<presence_update>([](const presence_update& p) {
        return std::any_of(p.users.begin(), p.users.end(), [](const user_ref& u) { return u.name == "slow"; });
    });
    std::mt19937 rng(7);
    std::string text(3000, 'x');  // random letters: LZ4 cannot shrink them
    std::uint64_t id = 0;
    while (id < 8000 && metric(srv.port(), "parley_slow_consumer_disconnects_total") < 1) {
        // 50 x 3 KB stays below ana's own --queue-bytes even if nothing of
        // its echoes drains meanwhile: only the reader that never reads fills up.
        for (int i = 0; i < 50; ++i) {
            for (char& c : text) c = static_cast<char>('a' + rng() % 26);
            ana->send(send_message{room, ++id, 0, text, false});
        }
        ana->wait_for<ack>([&](const ack& a) { return a.client_id == id; }, 10s);
    }
    EXPECT_EQ(metric(srv.port(), "parley_slow_consumer_disconnects_total"), 1);
    EXPECT_TRUE(ana->is_open());
}

// The idle bound holds over TLS: a client that answers no ping (it never
// reads) is closed after --idle-timeout.
TEST_F(Tls, AnIdleConnectionIsClosedOverTls) {
    live_server srv([&] {
        auto a = tls_args();
        a.insert(a.end(), {"--idle-timeout", "2"});
        return a;
    }());
    ws_client quiet({.port = srv.port(), .headers = {{"Cookie", "parley_session=" + srv.token("quiet")}}, .read = false});
    EXPECT_EQ(metric(srv.port(), "parley_connections"), 1);
    for (int i = 0; i < 200 && metric(srv.port(), "parley_connections") != 0; ++i) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(metric(srv.port(), "parley_connections"), 0) << "the idle connection was still open after 20 s";
}

// ---- certificates ------------------------------------------------------------------------------

// SIGHUP reloads the pair: an open connection stays and keeps working, new
// handshakes present the new certificate.
TEST_F(Tls, SighupReloadsTheCertificateWithoutDroppingConnections) {
    temp_dir live;
    const fs::path cert = live.path() / "server.crt", k = live.path() / "server.key";
    fs::copy_file(crt("a"), cert);
    fs::copy_file(key("a"), k);
    live_server srv({"--tls-cert", cert.string(), "--tls-key", k.string(), "--log-level", "info"});
    auto ana = srv.connect("ana");

    fs::copy_file(crt("b"), cert, fs::copy_options::overwrite_existing);
    fs::copy_file(key("b"), k, fs::copy_options::overwrite_existing);
    srv.stop(SIGHUP);
    for (int i = 0; i < 100 && slurp(srv.log_path()).find("reloaded the certificate") == std::string::npos; ++i)
        std::this_thread::sleep_for(50ms);
    ASSERT_NE(slurp(srv.log_path()).find("/CN=parley-b"), std::string::npos) << slurp(srv.log_path());

    ana->send(ping{99});
    EXPECT_EQ(ana->wait_for<pong>().nonce, 99u) << "the connection made before the reload must keep working";
    auto old_only = client_trusting(crt("a"));
    EXPECT_TRUE(handshake_with(srv.port(), old_only)) << "new handshakes must no longer present the old certificate";
    auto new_only = client_trusting(crt("b"));
    EXPECT_FALSE(handshake_with(srv.port(), new_only));

    // A broken pair on the next reload: the current one stays.
    { std::ofstream(k, std::ios::trunc) << "not a key\n"; }
    srv.stop(SIGHUP);
    for (int i = 0; i < 100 && slurp(srv.log_path()).find("keeping the current one") == std::string::npos; ++i)
        std::this_thread::sleep_for(50ms);
    EXPECT_NE(slurp(srv.log_path()).find("does not load, keeping the current one"), std::string::npos);
    EXPECT_FALSE(handshake_with(srv.port(), new_only));
}

// A certificate or key that cannot be used stops start-up with exit code 2
// and says which file and why.
TEST_F(Tls, AnUnusableCertificateOrKeyIsAStartupError) {
    temp_dir data;
    { std::ofstream(data.path() / "junk.pem") << "-----BEGIN CERTIFICATE-----\nnot base64\n"; }
    const std::string junk = (data.path() / "junk.pem").string();
    struct attempt {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<attempt> attempts{
        {{"--tls-cert", crt("a"), "--tls-key", key("b")}, "does not match"},
        {{"--tls-cert", junk, "--tls-key", key("a")}, "--tls-cert " + junk},
        {{"--tls-cert", crt("a"), "--tls-key", junk}, "--tls-key " + junk},
        {{"--tls-cert", crt("a"), "--tls-key", "/nonexistent/key.pem"}, "cannot read it"},
        {{"--tls-cert", crt("a")}, "needs both --tls-cert and --tls-key"},
        {{"--redirect-http", "127.0.0.1:0"}, "needs --tls-cert"},
    };
    for (const auto& a : attempts) {
        std::vector<std::string> argv{parley_binary(), "--listen", "127.0.0.1:0", "--data-dir", (data.path() / "d").string()};
        argv.insert(argv.end(), a.args.begin(), a.args.end());
        const auto log = (data.path() / "log").string();
        child_process p(argv, log);
        EXPECT_EQ(p.wait(), 2) << a.says;
        EXPECT_NE(slurp(log).find(a.says), std::string::npos) << slurp(log);
    }
}

// ---- the plain-HTTP redirect -----------------------------------------------------------------

TEST_F(Tls, RedirectHttpSendsBrowsersToHttps) {
    const std::uint16_t plain = free_port();
    live_server srv([&] {
        auto a = tls_args();
        a.insert(a.end(), {"--redirect-http", "127.0.0.1:" + std::to_string(plain)});
        return a;
    }());
    use_tls("");  // the redirect listener speaks plain HTTP
    auto get = http_call(plain, "GET", "/r/general?x=1", "", {{"Host", "chat.example:80"}});
    EXPECT_EQ(get.status, 301);
    EXPECT_EQ(get.headers["location"], "https://chat.example:" + std::to_string(srv.port()) + "/r/general?x=1");
    auto post = http_call(plain, "POST", "/api/login", "{}", {{"Host", "chat.example"}});
    EXPECT_EQ(post.status, 308) << "a redirect of a POST keeps its method";
    EXPECT_EQ(http_call(plain, "GET", "/", "", {{"Host", "bad host"}}).status, 400);
    use_tls(crt("a"));
    EXPECT_EQ(http_call(srv.port(), "GET", "/healthz").status, 200);
}

TEST(HttpsLocation, KeepsThePathAndRefusesWhatCouldSplitAHeader) {
    using parley::server::https_location;
    EXPECT_EQ(https_location("chat.example", "/a?b=c", 443), "https://chat.example/a?b=c");
    EXPECT_EQ(https_location("chat.example:8080", "/", 8443), "https://chat.example:8443/");
    EXPECT_EQ(https_location("[::1]:80", "/x", 443), "https://[::1]/x");
    EXPECT_EQ(https_location("10.0.0.1", "*", 443), "https://10.0.0.1/");
    EXPECT_FALSE(https_location("", "/", 443));
    EXPECT_FALSE(https_location("evil.example/path", "/", 443));
    EXPECT_FALSE(https_location("a\r\nSet-Cookie: x", "/", 443));
    EXPECT_FALSE(https_location("[::1", "/", 443));
    EXPECT_FALSE(https_location("chat.example", "/a b", 443));
}

}  // namespace
