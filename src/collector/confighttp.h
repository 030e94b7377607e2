// The Collector's HTTP server settings (confighttp.ServerConfig), read once here for every
// collector component that listens over HTTP: the otlp receiver's `protocols::http`, the
// health_check extension (its keys sit at the top of its config, as in the Collector), and the
// internal telemetry endpoint (defaults only). Mapped onto net::HttpServerOptions, plus the
// CORS and response-header behaviour every such listener shares.
//
// Keys and defaults (README.md of each component repeats them):
//   endpoint (per component), tls (configtls.h), cors {allowed_origins, allowed_headers,
//   max_age}, max_request_body_size (20 MiB; <= 0 means 20 MiB), include_metadata (false),
//   include_sensitive_metadata ([]; sprout's, see FilterMetadata), response_headers ({}),
//   compression_algorithms ("", gzip, zstd, zlib, snappy, deflate, lz4, x-snappy-framed),
//   read_header_timeout (10s), read_timeout (1m), write_timeout (30s), idle_timeout (2m),
//   max_connections (4096; sprout's). `auth`, `middlewares`, `include_tls_metadata` and
//   `keep_alives_enabled` are refused by name.
//
// The timeouts differ from the Collector's otlp receiver, which sets them to 0 (no timeout):
// see net/http_server.h for why these values.
//
// Thread-safety: plain data and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace sprout::config {
class Decoder;
}

namespace sprout::collector {

struct CorsConfig {
  std::vector<std::string> allowed_origins;  // exact origins or patterns with one '*'
  std::vector<std::string> allowed_headers;
  int64_t max_age = 0;  // seconds; 0: no Access-Control-Max-Age
  // CORS is on only with allowed origins, as in the Collector.
  bool enabled() const { return !allowed_origins.empty(); }
};

struct HttpServerConfig {
  std::string endpoint;
  std::optional<net::TlsServerSettings> tls;
  CorsConfig cors;
  int64_t max_request_body_size = net::kDefaultMaxRequestBodySize;
  bool include_metadata = false;
  // Sensitive headers (authorization, proxy-authorization, cookie) that include_metadata keeps;
  // by default none is kept.
  std::vector<std::string> include_sensitive_metadata;
  std::map<std::string, std::string> response_headers;  // set on every response
  std::vector<std::string> compression_algorithms = {
      "", "gzip", "zstd", "zlib", "snappy", "deflate", "lz4", "x-snappy-framed"};
  absl::Duration read_header_timeout = absl::Seconds(10);
  absl::Duration read_timeout = absl::Minutes(1);
  absl::Duration write_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Minutes(2);
  int64_t max_connections = 4096;
};

// Reads the confighttp keys present in `d` into `config` (absent keys keep their values); the
// caller reads `endpoint` and its own keys. Errors are recorded on the decoder: an unknown
// compression algorithm, a negative max_connections, a key named in `include_sensitive_metadata`
// that is not sensitive, TLS validation, and the refused keys.
void DecodeHttpServer(config::Decoder& d, HttpServerConfig* config);

// The server options for `config`, with `threads` I/O threads.
net::HttpServerOptions ToHttpServerOptions(const HttpServerConfig& config, int threads);

// Adds to `router` what confighttp wraps around every handler: `response_headers` on every
// response (404s included), and CORS (origin check, preflight answered with 204) when enabled.
// `cors_methods` are the methods a preflight may allow (e.g. {"POST"} for the otlp receiver).
void AddHttpServerMiddleware(const HttpServerConfig& config, const std::string& cors_methods,
                             net::Router* router);

// The headers that may enter client metadata (include_metadata): all of them, lower-cased, except
// the credentials `authorization`, `proxy-authorization` and `cookie`, unless named in `keep`.
// The Go Collector copies every header, credentials included; Sprout keeps credentials out of
// the pipeline (where a processor's metadata_keys or an exporter could forward or log them)
// unless a config asks for them by name.
std::vector<std::pair<std::string, std::string>> FilterMetadata(
    std::vector<std::pair<std::string, std::string>> headers, const std::vector<std::string>& keep);

// Whether `name` (any case) is one of the credentials FilterMetadata drops.
bool IsSensitiveMetadataKey(std::string_view name);

// Reads `include_sensitive_metadata` (gRPC and HTTP servers alike): the keys lower-cased, an
// error naming any key that is not one of the credentials above.
void DecodeSensitiveMetadataKeys(config::Decoder& d, std::vector<std::string>* keys);

}  // namespace sprout::collector
