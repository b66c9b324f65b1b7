#include "server/net/tls.hpp"

// The compiled part of Asio's TLS support (separate compilation, as
// core/boost_impl.cpp does for the rest): here, beside its only user.
#include <boost/asio/ssl/impl/src.hpp>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace parley::server {
namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites: ECDHE key exchange (forward secrecy) with an AEAD cipher.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's reason for the last failure, and its queue emptied.
std::string openssl_reason(const boost::system::error_code& ec) {
    std::string why = ec ? ec.message() : std::string();
    while (const unsigned long e = ERR_get_error()) {
        if (why.empty()) {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            why = buf;
        }
    }
    return why.empty() ? "unknown OpenSSL error" : why;
}

void readable(const std::string& flag, const std::string& file) {
    std::ifstream in(file);
    if (!in) throw tls_error(flag + " " + file + ": cannot read it (" + std::strerror(errno) + ")");
}

std::shared_ptr<ssl::context> load(const std::string& cert_file, const std::string& key_file) {
    readable("--tls-cert", cert_file);
    readable("--tls-key", key_file);
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1)
        throw tls_error("TLS: the cipher list was refused: " + openssl_reason({}));
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert_file, ec);
    if (ec) throw tls_error("--tls-cert " + cert_file + ": not a PEM certificate chain: " + openssl_reason(ec));
    ctx->use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(native) != 1) {
        // Which is it: no key at all, or another certificate's key?
        ssl::context alone(ssl::context::tls_server);
        boost::system::error_code parse;
        alone.use_private_key_file(key_file, ssl::context::pem, parse);
        if (parse) throw tls_error("--tls-key " + key_file + ": not a PEM private key: " + openssl_reason(parse));
        ERR_clear_error();
        throw tls_error("--tls-key " + key_file + ": does not match the certificate in " + cert_file);
    }
    return ctx;
}

certificate_info describe(const ssl::context& ctx) {
    certificate_info info;
    const X509* cert = SSL_CTX_get0_certificate(const_cast<ssl::context&>(ctx).native_handle());
    if (!cert) return info;
    if (char* line = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0)) {
        info.subject = line;
        OPENSSL_free(line);
    }
    int days = 0, seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) == 1)
        info.not_after = std::chrono::system_clock::now() + std::chrono::hours(24) * days + std::chrono::seconds(seconds);
    return info;
}

}  // namespace

tls_credentials::tls_credentials(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), current_(load(cert_file_, key_file_)),
      info_(describe(*current_)) {}

std::shared_ptr<ssl::context> tls_credentials::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

std::optional<std::string> tls_credentials::reload() {
    try {
        auto fresh = load(cert_file_, key_file_);  // outside the lock: it reads files
        auto info = describe(*fresh);
        std::lock_guard lock(mutex_);
        current_ = std::move(fresh);
        info_ = std::move(info);
        return std::nullopt;
    } catch (const tls_error& e) {
        return e.what();
    }
}

certificate_info tls_credentials::certificate() const {
    std::lock_guard lock(mutex_);
    return info_;
}

}  // namespace parley::server
