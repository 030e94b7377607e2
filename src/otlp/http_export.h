// OTLP/HTTP export requests as a server reads and answers them (the OTLP specification's
// OTLP/HTTP, the Collector's otlpreceiver): the body's encoding from Content-Type, its
// Content-Encoding decompressed with a size bound, the message parsed (protobuf or OTLP/JSON),
// and the responses — an Export*ServiceResponse or a google.rpc.Status, each in the request's
// encoding. One reader for every OTLP/HTTP server of sprout: the collector's `otlp` receiver and
// the metrics store's `/otlp/v1/metrics` route.
//
// Library `sprout_otlp_http` (over sprout_otlp and sprout_net; apart from sprout_otlp so that
// the translation's users do not link the HTTP server).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/compression.h"
#include "net/http_message.h"
#include "otlp/batch.h"
#include "otlp/json.h"
#include "otlp/signal.h"
#include "otlp/wire_scan.h"

namespace google::protobuf {
class Message;
}

namespace sprout::otlp {

inline constexpr char kOtlpJsonContentType[] = "application/json";
inline constexpr char kOtlpProtobufContentType[] = "application/x-protobuf";

enum class HttpEncoding { kUnknown, kJson, kProtobuf };

// The media type of a Content-Type value without its parameters, case-insensitive
// ("application/json; charset=utf-8" → kJson).
HttpEncoding HttpEncodingOf(std::string_view content_type);

// A google.rpc.Status body (`code`, `message`, a RetryInfo detail when `retry_delay` is set) in
// `encoding` with `http_status`, and `Retry-After` (whole seconds) on 429/503 with a delay.
// When the encoding is unknown the Collector answers 500 with the fixed JSON body
// `{"code": 13, "message": "failed to marshal error message"}`; so does this.
void WriteHttpStatus(net::HttpResponse& response, HttpEncoding encoding, int http_status,
                     absl::StatusCode code, std::string_view message,
                     std::optional<absl::Duration> retry_delay = std::nullopt);

// 200 with `message` (an Export*ServiceResponse) in `encoding` (JSON or protobuf).
void WriteHttpMessage(net::HttpResponse& response, HttpEncoding encoding,
                      const google::protobuf::Message& message);

struct HttpExportBodyOptions {
  // Accepted Content-Encodings (kIdentity for uncompressed bodies). Null: every codec.
  const std::set<net::Codec>* allowed_codecs = nullptr;
  // Bodies pass as they are, whatever their Content-Encoding (the Collector's empty
  // compression_algorithms).
  bool decompression_off = false;
  // The bound on the decompressed body (the server bounds the body as sent).
  size_t max_body_size = 20 << 20;
  // The message of the 400 for a body over the limit, as sent (`compressed` false: the server
  // stopped reading it; `declared_size` from Content-Length, or 0) or once decompressed
  // (`compressed` true). Unset: Go's `http: request body too large`, as the Collector.
  std::function<std::string(uint64_t declared_size, bool decompressed)> too_large_message;
};

struct HttpExportBody {
  HttpEncoding encoding = HttpEncoding::kUnknown;
  std::string body;  // decompressed; the request's body moved when it was not compressed
};

// Reads an export request's body in the Collector's order: an unsupported Content-Encoding
// (400 `unsupported Content-Encoding: X`), a method other than POST (405 text), a Content-Type
// other than JSON/protobuf (415 text `415 unsupported media type, supported:
// [application/json, application/x-protobuf]`), a body over the limit (400), a corrupt
// compressed body (400 with the codec's message). Returns the body, or nullopt with `response`
// written.
std::optional<HttpExportBody> ReadHttpExportBody(net::HttpRequest& request,
                                                 net::HttpResponse& response,
                                                 const HttpExportBodyOptions& options);

// Parses a body read by ReadHttpExportBody into a batch: OTLP/JSON (IDs checked as the
// protobuf scan checks them) or protobuf (validated, kept undecoded: see Batch::Parse).
// InvalidArgument with the parser's message; the caller answers 400 with it.
template <Signal S>
absl::StatusOr<Batch<S>> ParseHttpExportBody(HttpEncoding encoding, std::string body) {
  if (encoding == HttpEncoding::kJson) {
    Batch<S> batch;
    absl::Status parsed = ParseJson(body, batch.mutable_request());
    if (parsed.ok()) parsed = ValidateIds(batch.request());
    if (!parsed.ok()) return parsed;
    return batch;
  }
  return Batch<S>::Parse(std::move(body));
}

}  // namespace sprout::otlp
