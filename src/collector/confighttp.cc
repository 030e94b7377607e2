#include "collector/confighttp.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "collector/configtls.h"
#include "config/decoder.h"
#include "net/compression.h"

namespace sprout::collector {
namespace {

constexpr std::string_view kSensitive[] = {"authorization", "proxy-authorization", "cookie"};

bool OriginAllowed(const std::vector<std::string>& allowed, std::string_view origin) {
  for (const std::string& pattern : allowed) {
    if (pattern == "*" || pattern == origin) return true;
    const size_t star = pattern.find('*');
    if (star == std::string::npos) continue;
    const std::string_view prefix(pattern.data(), star);
    const std::string_view suffix(pattern.data() + star + 1, pattern.size() - star - 1);
    if (origin.size() >= prefix.size() + suffix.size() &&
        origin.substr(0, prefix.size()) == prefix &&
        origin.substr(origin.size() - suffix.size()) == suffix) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsSensitiveMetadataKey(std::string_view name) {
  return std::any_of(std::begin(kSensitive), std::end(kSensitive),
                     [&](std::string_view s) { return absl::EqualsIgnoreCase(AV(s), AV(name)); });
}

void DecodeHttpServer(config::Decoder& d, HttpServerConfig* c) {
  if (std::optional<net::TlsServerSettings> tls = DecodeTlsServer(d); tls.has_value()) {
    c->tls = std::move(tls);
  }
  if (d.Has("cors")) {
    config::Decoder cors = d.Child("cors");
    cors.Read("allowed_origins", &c->cors.allowed_origins);
    cors.Read("allowed_headers", &c->cors.allowed_headers);
    cors.Read("max_age", &c->cors.max_age);
  }
  d.Read("max_request_body_size", &c->max_request_body_size);
  if (c->max_request_body_size <= 0) c->max_request_body_size = net::kDefaultMaxRequestBodySize;
  d.Read("include_metadata", &c->include_metadata);
  DecodeSensitiveMetadataKeys(d, &c->include_sensitive_metadata);
  d.Read("response_headers", &c->response_headers);
  if (d.Has("compression_algorithms")) {
    c->compression_algorithms.clear();
    d.Read("compression_algorithms", &c->compression_algorithms);
    for (const std::string& name : c->compression_algorithms) {
      if (!net::ParseContentEncoding(name).has_value()) {
        d.AddError("compression_algorithms",
                   absl::StrCat("unsupported compression algorithm \"", name, "\""));
      }
    }
  }
  d.Read("read_header_timeout", &c->read_header_timeout);
  d.Read("read_timeout", &c->read_timeout);
  d.Read("write_timeout", &c->write_timeout);
  d.Read("idle_timeout", &c->idle_timeout);
  d.Read("max_connections", &c->max_connections);
  if (c->max_connections < 0) {
    d.AddError("max_connections", "must be non-negative (0: no limit)");
  }
  d.Refuse({"auth", "middlewares", "include_tls_metadata", "keep_alives_enabled"},
           "is not supported by sprout yet");
}

net::HttpServerOptions ToHttpServerOptions(const HttpServerConfig& c, int threads) {
  net::HttpServerOptions options;
  options.endpoint = c.endpoint;
  options.max_request_body_size = c.max_request_body_size;
  options.threads = threads;
  // Go: zero or negative means no timeout.
  auto non_negative = [](absl::Duration d) { return std::max(d, absl::ZeroDuration()); };
  options.read_header_timeout = non_negative(c.read_header_timeout);
  options.read_timeout = non_negative(c.read_timeout);
  options.write_timeout = non_negative(c.write_timeout);
  options.idle_timeout = non_negative(c.idle_timeout);
  options.max_connections = static_cast<int>(std::clamp<int64_t>(c.max_connections, 0, 1 << 30));
  options.tls = c.tls;
  return options;
}

void AddHttpServerMiddleware(const HttpServerConfig& config, const std::string& cors_methods,
                             net::Router* router) {
  if (!config.response_headers.empty()) {
    router->AddInterceptor(
        [headers = config.response_headers](net::HttpRequest&, net::HttpResponse& response) {
          for (const auto& [k, v] : headers) response.SetHeader(k, v);
          return false;
        });
  }
  if (!config.cors.enabled()) return;
  std::vector<std::string> allowed_headers = {"Content-Type", "Content-Encoding", "Accept"};
  for (const std::string& h : config.cors.allowed_headers) allowed_headers.push_back(h);
  router->AddInterceptor([cors = config.cors, methods = cors_methods,
                          allow_headers = absl::StrJoin(allowed_headers, ", ")](
                             net::HttpRequest& request, net::HttpResponse& response) {
    const std::string_view origin = request.Header("origin");
    if (origin.empty() || !OriginAllowed(cors.allowed_origins, origin)) return false;
    response.SetHeader("Access-Control-Allow-Origin", origin);
    response.SetHeader("Access-Control-Allow-Credentials", "true");
    response.SetHeader("Vary", "Origin");
    if (request.method != "OPTIONS" || request.Header("access-control-request-method").empty()) {
      return false;
    }
    response.status = 204;
    response.SetHeader("Access-Control-Allow-Methods", methods);
    response.SetHeader("Access-Control-Allow-Headers", allow_headers);
    if (cors.max_age > 0) {
      response.SetHeader("Access-Control-Max-Age", std::to_string(cors.max_age));
    }
    return true;
  });
}

std::vector<std::pair<std::string, std::string>> FilterMetadata(
    std::vector<std::pair<std::string, std::string>> headers,
    const std::vector<std::string>& keep) {
  std::erase_if(headers, [&](const std::pair<std::string, std::string>& h) {
    if (!IsSensitiveMetadataKey(h.first)) return false;
    return std::none_of(keep.begin(), keep.end(), [&](const std::string& k) {
      return absl::EqualsIgnoreCase(AV(k), AV(h.first));
    });
  });
  return headers;
}

void DecodeSensitiveMetadataKeys(config::Decoder& d, std::vector<std::string>* keys) {
  d.Read("include_sensitive_metadata", keys);
  for (std::string& key : *keys) {
    key = absl::AsciiStrToLower(key);
    if (!IsSensitiveMetadataKey(key)) {
      d.AddError("include_sensitive_metadata",
                 absl::StrCat("\"", key,
                              "\" is not a sensitive key (authorization, proxy-authorization, "
                              "cookie); other keys are included by include_metadata already"));
    }
  }
}

}  // namespace sprout::collector
