#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"

namespace sprout::net {
namespace {

namespace ssl = boost::asio::ssl;

// Go's tls.CipherSuites() with the OpenSSL names of the TLS ≤ 1.2 ones.
struct CipherName {
  const char* go;
  const char* openssl;  // "" for TLS 1.3
};
constexpr CipherName kCiphers[] = {
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
};

std::string LowerFirst(std::string text) {
  if (!text.empty()) text[0] = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  return text;
}

// The file's contents, or Go's os.ReadFile error text ("open <path>: no such file or directory").
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("open ", path, ": ", LowerFirst(std::strerror(errno))));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The newest OpenSSL error, drained from the queue.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  unsigned long last = code;
  while (code != 0) {
    last = code;
    code = ERR_get_error();
  }
  if (last == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? std::string(reason) : absl::StrCat("error ", last);
}

// "mtime-size" of a file, "" when it cannot be read.
std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, "-", st.st_size);
}

int SelectHttp11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                 unsigned int inlen, void*) {
  // Only HTTP/1.1 is served; a client offering only h2 gets no ALPN answer and may still talk
  // HTTP/1.1 or give up.
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof(kHttp11), in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

absl::Status LoadClientCas(SSL_CTX* ctx, const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to load CA ", path, ": ", pem.status().message()));
  }
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int loaded = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    SSL_CTX_add_client_CA(ctx, cert);  // the CA names sent in the CertificateRequest
    X509_free(cert);
    ++loaded;
  }
  BIO_free(bio);
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (loaded == 0) return absl::InvalidArgumentError(absl::StrCat("failed to parse CA ", path));
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> OpenSslCipherName(std::string_view go_name) {
  for (const CipherName& c : kCiphers) {
    if (go_name == c.go) return std::string(c.openssl);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid TLS cipher suite: \"", AV(go_name), "\""));
}

TlsServerContext::TlsServerContext(const TlsServerSettings& settings) : settings_(settings) {}
TlsServerContext::~TlsServerContext() = default;

absl::StatusOr<std::unique_ptr<TlsServerContext>> TlsServerContext::Create(
    const TlsServerSettings& settings) {
  RETURN_IF_ERROR(ValidateTlsServerSettings(settings));
  std::unique_ptr<TlsServerContext> context(new TlsServerContext(settings));
  ASSIGN_OR_RETURN(context->current_, context->Build());
  context->generation_ = 1;
  const absl::Time now = absl::Now();
  if (settings.reload_interval > absl::ZeroDuration()) {
    context->next_reload_ = now + settings.reload_interval;
  }
  if (settings.client_ca_file_reload && !settings.client_ca_file.empty()) {
    context->ca_stamp_ = FileStamp(settings.client_ca_file);
    context->next_ca_check_ = now + absl::Seconds(1);
  }
  return context;
}

absl::StatusOr<std::shared_ptr<ssl::context>> TlsServerContext::Build() {
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  // Versions were validated; the defaults follow Go (min 1.2, max: the newest supported).
  auto min = ParseTlsVersion(settings_.min_version, TLS1_2_VERSION);
  auto max = ParseTlsVersion(settings_.max_version, 0);
  if (!min.ok()) return Annotate(min.status(), "invalid TLS min_version");
  if (!max.ok()) return Annotate(max.status(), "invalid TLS max_version");
  SSL_CTX_set_min_proto_version(native, *min);
  SSL_CTX_set_max_proto_version(native, *max);

  if (!settings_.cipher_suites.empty()) {
    std::vector<std::string> names;
    std::vector<std::string> errors;
    for (const std::string& suite : settings_.cipher_suites) {
      auto name = OpenSslCipherName(suite);
      if (!name.ok()) {
        errors.emplace_back(name.status().message());
      } else if (!name->empty()) {
        names.push_back(*name);
      }
    }
    if (!errors.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("failed to load TLS config: ", absl::StrJoin(errors, "\n")));
    }
    if (!names.empty()) {
      const std::string list = absl::StrJoin(names, ":");
      if (SSL_CTX_set_cipher_list(native, list.c_str()) != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("failed to load TLS config: cipher suites ", list, ": ", OpenSslError()));
      }
    }
  }

  std::string cert_pem = settings_.cert_pem;
  std::string key_pem = settings_.key_pem;
  auto load_error = [](std::string_view detail) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to load TLS config: failed to load TLS cert and key: ", AV(detail)));
  };
  if (!settings_.cert_file.empty()) {
    auto read = ReadFile(settings_.cert_file);
    if (!read.ok()) return load_error(SV(read.status().message()));
    cert_pem = std::move(*read);
  }
  if (!settings_.key_file.empty()) {
    auto read = ReadFile(settings_.key_file);
    if (!read.ok()) return load_error(SV(read.status().message()));
    key_pem = std::move(*read);
  }
  // Go's texts (tls.X509KeyPair) where the cause is the same.
  auto pem_error = [&](std::string_view detail) {
    return load_error(absl::StrCat("failed to load TLS cert and key PEMs: tls: ", AV(detail)));
  };
  if (cert_pem.find("-----BEGIN") == std::string::npos) {
    return pem_error("failed to find any PEM data in certificate input");
  }
  if (key_pem.find("-----BEGIN") == std::string::npos) {
    return pem_error("failed to find any PEM data in key input");
  }
  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(cert_pem), ec);
  if (ec) return pem_error(absl::StrCat("failed to parse certificate: ", ec.message()));
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) {
    ERR_clear_error();
    return pem_error("failed to parse private key");
  }
  const int used = SSL_CTX_use_PrivateKey(native, key);
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return pem_error("private key does not match public key");
  }

  if (!settings_.client_ca_file.empty()) {
    RETURN_IF_ERROR(LoadClientCas(native, settings_.client_ca_file));
  }
  // Needed for session resumption with client certificates; any constant will do.
  static const unsigned char kSessionContext[] = "sprout";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_alpn_select_cb(native, SelectHttp11, nullptr);
  return ctx;
}

std::shared_ptr<ssl::context> TlsServerContext::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  const bool timed =
      next_reload_ != absl::InfiniteFuture() || next_ca_check_ != absl::InfiniteFuture();
  if (!timed) return current_;
  const absl::Time now = absl::Now();
  bool reload = now >= next_reload_;
  if (now >= next_ca_check_) {
    next_ca_check_ = now + absl::Seconds(1);
    std::string stamp = FileStamp(settings_.client_ca_file);
    if (stamp != ca_stamp_) {
      ca_stamp_ = std::move(stamp);
      reload = true;
    }
  }
  if (!reload) return current_;
  if (settings_.reload_interval > absl::ZeroDuration()) {
    next_reload_ = now + settings_.reload_interval;
  }
  auto built = Build();
  if (built.ok()) {
    current_ = std::move(*built);
    ++generation_;
    last_reload_error_ = absl::OkStatus();
  } else {
    last_reload_error_ = built.status();
  }
  return current_;
}

int TlsServerContext::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

absl::Status TlsServerContext::last_reload_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_reload_error_;
}

}  // namespace sprout::net
