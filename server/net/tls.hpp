// The server's TLS certificate and key, loaded from PEM files, replaceable
// while the server runs (SIGHUP): each new connection takes the current
// context, and the connections made before a reload keep theirs.
//
// Settings: TLS 1.2 and 1.3 only; for TLS 1.2, forward-secret AEAD ciphers
// only (ECDHE with AES-GCM or ChaCha20-Poly1305); no compression, no
// renegotiation. TLS 1.3 uses OpenSSL's defaults, all of them AEAD.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace parley::server {

/// A certificate or key that cannot be used; the message names the file and why.
struct tls_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// What an operator wants to know about the certificate being served.
struct certificate_info {
    std::string subject;
    std::chrono::system_clock::time_point not_after;
};

class tls_credentials {
public:
    /// Loads the pair. @throws tls_error when either file cannot be read or parsed, or the key does not match
    tls_credentials(std::string cert_file, std::string key_file);

    /// The context new connections use. Any thread.
    std::shared_ptr<boost::asio::ssl::context> current() const;
    /// Loads the files again; on failure the current pair stays and the reason is returned. Any thread.
    std::optional<std::string> reload();
    certificate_info certificate() const;
    const std::string& cert_file() const { return cert_file_; }

private:
    const std::string cert_file_, key_file_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> current_;
    certificate_info info_;
};

}  // namespace parley::server
