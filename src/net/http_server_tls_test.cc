// TLS on the HTTP server: server certificates, mutual TLS, versions and cipher suites, reloads,
// and the Collector's loading errors. Certificates are made by the `openssl` command in a
// temporary directory; no key is committed.
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_server.h"
#include "net/http_test_util.h"

namespace sprout::net {
namespace {

using test_util::Client;
using test_util::Loopback;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// A directory of certificates made with the openssl command: CA `ca`, server `server`
// (127.0.0.1 and localhost) signed by it, client `client` signed by it, and a second CA `other`
// with a client `stranger` signed by that one.
class Certs {
 public:
  Certs() {
    char tmpl[] = "/tmp/sprout-tls-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ok_ = MakeCa("ca") && MakeLeaf("server", "ca", "server-1", true) &&
          MakeLeaf("client", "ca", "client", false) && MakeCa("other") &&
          MakeLeaf("stranger", "other", "stranger", false);
  }
  ~Certs() { fs::remove_all(dir_); }

  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  bool MakeCa(const std::string& name) {
    return Run(
        absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                     "-nodes -days 2 -subj /CN=",
                     name, " -keyout ", path(name + ".key"), " -out ", path(name + ".crt")));
  }
  // A leaf certificate signed by `ca`, written to <name>.crt/.key.
  bool MakeLeaf(const std::string& name, const std::string& ca, const std::string& cn,
                bool server) {
    const std::string ext = path(name + ".ext");
    std::ofstream(ext) << (server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                    "extendedKeyUsage=serverAuth\n"
                                  : "extendedKeyUsage=clientAuth\n");
    return Run(absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                            "-subj /CN=",
                            cn, " -keyout ", path(name + ".key"), " -out ", path(name + ".csr"))) &&
           Run(absl::StrCat("openssl x509 -req -days 2 -in ", path(name + ".csr"), " -CA ",
                            path(ca + ".crt"), " -CAkey ", path(ca + ".key"),
                            " -CAcreateserial -extfile ", ext, " -out ", path(name + ".crt")));
  }

 private:
  static bool Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }
  std::string dir_;
  bool ok_ = false;
};

// A minimal blocking TLS client on OpenSSL.
class TlsClient {
 public:
  struct Options {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    int max_version = 0;
    std::string ciphers;  // TLS 1.2 cipher list
  };
  TlsClient(int port, const Options& o) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!o.cert_file.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, o.cert_file.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM);
    }
    if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, o.max_version);
    if (!o.ciphers.empty()) SSL_CTX_set_cipher_list(ctx_, o.ciphers.c_str());
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "127.0.0.1");
    handshake_ok_ = SSL_connect(ssl_) == 1;
    ERR_clear_error();
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    close(fd_);
  }

  bool handshake_ok() const { return handshake_ok_; }

  std::string PeerCommonName() {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return "";
    char cn[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    X509_free(cert);
    return cn;
  }

  // Sends a request with `Connection: close` and returns everything read until the end ("" when
  // nothing could be read: the server refused the connection).
  std::string Exchange(const std::string& path) {
    if (!handshake_ok_) return "";
    std::string request =
        absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0) return "";
    std::string out;
    char buf[4096];
    for (;;) {
      const int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, n);
    }
    ERR_clear_error();
    return out;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool handshake_ok_ = false;
};

class HttpServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The client side writes with OpenSSL's plain write(): a server closing first must not kill
    // the test with SIGPIPE.
    signal(SIGPIPE, SIG_IGN);
    if (!certs_.ok()) GTEST_FAIL() << "the openssl command could not make the test certificates";
  }

  HttpServerOptions Options() {
    HttpServerOptions options = Loopback();
    TlsServerSettings tls;
    tls.cert_file = certs_.path("server.crt");
    tls.key_file = certs_.path("server.key");
    options.tls = tls;
    return options;
  }

  std::unique_ptr<HttpServer> Start(const HttpServerOptions& options) {
    return test_util::StartOrDie(options, [](const HttpRequest& req, HttpResponse& res) {
      res.body = absl::StrCat(req.tls ? "tls " : "plain ", req.path);
    });
  }

  TlsClient::Options Trusting() { return {certs_.path("ca.crt"), "", "", 0, ""}; }
  TlsClient::Options WithClientCert(const std::string& name) {
    return {certs_.path("ca.crt"), certs_.path(name + ".crt"), certs_.path(name + ".key"), 0, ""};
  }

  Certs certs_;
};

TEST_F(HttpServerTlsTest, ServesOverTls) {
  auto server = Start(Options());
  ASSERT_NE(server, nullptr);
  TlsClient client(server->port(), Trusting());
  ASSERT_TRUE(client.handshake_ok());
  EXPECT_EQ(client.PeerCommonName(), "server-1");
  std::string response = client.Exchange("/hello");
  EXPECT_THAT(response, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, ::testing::EndsWith("\r\n\r\ntls /hello"));
}

TEST_F(HttpServerTlsTest, CertificateAndKeyAsPem) {
  HttpServerOptions options = Loopback();
  TlsServerSettings tls;
  std::ifstream cert(certs_.path("server.crt")), key(certs_.path("server.key"));
  tls.cert_pem.assign(std::istreambuf_iterator<char>(cert), {});
  tls.key_pem.assign(std::istreambuf_iterator<char>(key), {});
  options.tls = tls;
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  TlsClient client(server->port(), Trusting());
  EXPECT_THAT(client.Exchange("/pem"), ::testing::EndsWith("tls /pem"));
}

TEST_F(HttpServerTlsTest, PlaintextClientIsClosedNotServed) {
  auto server = Start(Options());
  ASSERT_NE(server, nullptr);
  Client plain(server->port());
  ASSERT_TRUE(plain.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_THAT(plain.ReadToEnd(), ::testing::Not(HasSubstr("HTTP/1.1")));
}

TEST_F(HttpServerTlsTest, MutualTlsRequiresACertificateFromTheClientCa) {
  HttpServerOptions options = Options();
  options.tls->client_ca_file = certs_.path("ca.crt");
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  {
    TlsClient client(server->port(), WithClientCert("client"));
    EXPECT_THAT(client.Exchange("/mtls"), ::testing::EndsWith("tls /mtls"));
  }
  {
    TlsClient anonymous(server->port(), Trusting());
    EXPECT_EQ(anonymous.Exchange("/mtls"), "");
  }
  {
    TlsClient stranger(server->port(), WithClientCert("stranger"));
    EXPECT_EQ(stranger.Exchange("/mtls"), "");
  }
}

TEST_F(HttpServerTlsTest, MinVersionRefusesOlderClients) {
  HttpServerOptions options = Options();
  options.tls->min_version = "1.3";
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  TlsClient::Options tls12 = Trusting();
  tls12.max_version = TLS1_2_VERSION;
  TlsClient old(server->port(), tls12);
  EXPECT_FALSE(old.handshake_ok());
  TlsClient modern(server->port(), Trusting());
  EXPECT_THAT(modern.Exchange("/v13"), ::testing::EndsWith("tls /v13"));
}

TEST_F(HttpServerTlsTest, CipherSuitesRestrictTls12) {
  HttpServerOptions options = Options();
  options.tls->max_version = "1.2";
  options.tls->cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"};
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  TlsClient::Options other = Trusting();
  other.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  TlsClient refused(server->port(), other);
  EXPECT_FALSE(refused.handshake_ok());
  TlsClient::Options same = Trusting();
  same.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
  TlsClient accepted(server->port(), same);
  EXPECT_THAT(accepted.Exchange("/c"), ::testing::EndsWith("tls /c"));
}

TEST_F(HttpServerTlsTest, LoadingErrorsAreTheCollectors) {
  auto start_error = [&](const TlsServerSettings& tls) {
    HttpServerOptions options = Loopback();
    options.tls = tls;
    auto server = HttpServer::Start(options, [](HttpRequest&, HttpResponse&) {});
    return server.ok() ? std::string("started") : std::string(server.status().message());
  };
  TlsServerSettings tls = *Options().tls;
  TlsServerSettings bad = tls;
  bad.cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "NOPE"};
  EXPECT_EQ(start_error(bad), "failed to load TLS config: invalid TLS cipher suite: \"NOPE\"");
  bad = tls;
  bad.cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(start_error(bad),
            "failed to load TLS config: failed to load TLS cert and key: open "
            "/nonexistent/cert.pem: no such file or directory");
  bad = tls;
  bad.key_file = certs_.path("client.key");  // not the certificate's key
  EXPECT_EQ(start_error(bad),
            "failed to load TLS config: failed to load TLS cert and key: failed to load TLS cert "
            "and key PEMs: tls: private key does not match public key");
  bad = tls;
  bad.cert_file = certs_.path("server.ext");  // not PEM
  EXPECT_EQ(start_error(bad),
            "failed to load TLS config: failed to load TLS cert and key: failed to load TLS cert "
            "and key PEMs: tls: failed to find any PEM data in certificate input");
  bad = tls;
  bad.client_ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(start_error(bad),
            "failed to load CA /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or "
            "directory");
  bad = tls;
  bad.client_ca_file = certs_.path("server.ext");  // no certificate in it
  EXPECT_EQ(start_error(bad), absl::StrCat("failed to parse CA ", certs_.path("server.ext")));
  bad = tls;
  bad.min_version = "1.5";
  EXPECT_EQ(start_error(bad), "invalid TLS min_version: unsupported TLS version: \"1.5\"");
}

// Polls `probe` until it returns true, for at most 10 s.
template <class F>
bool Eventually(F probe) {
  const Clock::time_point until = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < until) {
    if (probe()) return true;
    std::this_thread::yield();
  }
  return false;
}

TEST_F(HttpServerTlsTest, ReloadIntervalServesARenewedCertificateToNewConnections) {
  HttpServerOptions options = Options();
  options.tls->reload_interval = absl::Milliseconds(50);
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  TlsClient before(server->port(), Trusting());
  ASSERT_TRUE(before.handshake_ok());
  EXPECT_EQ(before.PeerCommonName(), "server-1");
  ASSERT_TRUE(certs_.MakeLeaf("server", "ca", "server-2", true));  // renewed in place
  EXPECT_TRUE(Eventually([&] {
    TlsClient after(server->port(), Trusting());
    return after.handshake_ok() && after.PeerCommonName() == "server-2";
  }));
  // The connection made before keeps working.
  EXPECT_THAT(before.Exchange("/old"), ::testing::EndsWith("tls /old"));
}

TEST_F(HttpServerTlsTest, ClientCaFileReloadTrustsANewCa) {
  const std::string client_ca = certs_.path("client-ca.crt");
  fs::copy_file(certs_.path("ca.crt"), client_ca);
  HttpServerOptions options = Options();
  options.tls->client_ca_file = client_ca;
  options.tls->client_ca_file_reload = true;
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  {
    TlsClient stranger(server->port(), WithClientCert("stranger"));
    EXPECT_EQ(stranger.Exchange("/x"), "");
  }
  fs::copy_file(certs_.path("other.crt"), client_ca, fs::copy_options::overwrite_existing);
  EXPECT_TRUE(Eventually([&] {
    TlsClient stranger(server->port(), WithClientCert("stranger"));
    return absl::EndsWith(stranger.Exchange("/x"), "tls /x");
  }));
  TlsClient old_client(server->port(), WithClientCert("client"));
  EXPECT_EQ(old_client.Exchange("/x"), "");  // its CA is no longer trusted
}

TEST_F(HttpServerTlsTest, SilentClientIsClosedAfterTheHeaderTimeout) {
  HttpServerOptions options = Options();
  options.read_header_timeout = absl::Milliseconds(300);
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  Client silent(server->port());  // never starts the handshake
  const Clock::time_point start = Clock::now();
  EXPECT_TRUE(silent.ClosedByPeer());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HttpServerTlsTest, ConnectionsBeyondTheCapAreClosedWithoutAHandshake) {
  HttpServerOptions options = Options();
  options.max_connections = 1;
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  TlsClient held(server->port(), Trusting());
  ASSERT_TRUE(held.handshake_ok());
  TlsClient excess(server->port(), Trusting());
  EXPECT_FALSE(excess.handshake_ok());
  EXPECT_THAT(held.Exchange("/held"), ::testing::EndsWith("tls /held"));
}

}  // namespace
}  // namespace sprout::net
