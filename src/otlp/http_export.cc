#include "otlp/http_export.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "google/protobuf/message.h"
#include "google/rpc/status.pb.h"

namespace sprout::otlp {
namespace {

std::string TooLarge(const HttpExportBodyOptions& options, uint64_t declared, bool decompressed) {
  if (options.too_large_message) return options.too_large_message(declared, decompressed);
  return "http: request body too large";
}

}  // namespace

HttpEncoding HttpEncodingOf(std::string_view content_type) {
  const std::string_view media = content_type.substr(0, content_type.find(';'));
  const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(AV(media)));
  if (lower == kOtlpJsonContentType) return HttpEncoding::kJson;
  if (lower == kOtlpProtobufContentType) return HttpEncoding::kProtobuf;
  return HttpEncoding::kUnknown;
}

void WriteHttpStatus(net::HttpResponse& response, HttpEncoding encoding, int http_status,
                     absl::StatusCode code, std::string_view message,
                     std::optional<absl::Duration> retry_delay) {
  if (encoding == HttpEncoding::kUnknown) {
    response.status = 500;
    response.SetHeader("Content-Type", kOtlpJsonContentType);
    response.body = R"({"code": 13, "message": "failed to marshal error message"})";
    return;
  }
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(std::string(message));
  if (retry_delay.has_value()) {
    google::rpc::RetryInfo info;
    const int64_t nanos = absl::ToInt64Nanoseconds(*retry_delay);
    info.mutable_retry_delay()->set_seconds(nanos / 1000000000);
    info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    status.add_details()->PackFrom(info);
  }
  WriteHttpMessage(response, encoding, status);
  response.status = http_status;
  if (retry_delay.has_value() && (http_status == 429 || http_status == 503)) {
    response.SetHeader("Retry-After",
                       std::to_string(static_cast<int64_t>(absl::ToDoubleSeconds(*retry_delay))));
  }
}

void WriteHttpMessage(net::HttpResponse& response, HttpEncoding encoding,
                      const google::protobuf::Message& message) {
  response.status = 200;
  if (encoding == HttpEncoding::kJson) {
    response.SetHeader("Content-Type", kOtlpJsonContentType);
    response.body = ToJson(message);
  } else {
    response.SetHeader("Content-Type", kOtlpProtobufContentType);
    response.body = message.SerializeAsString();
  }
}

std::optional<HttpExportBody> ReadHttpExportBody(net::HttpRequest& request,
                                                 net::HttpResponse& response,
                                                 const HttpExportBodyOptions& options) {
  const HttpEncoding encoding = HttpEncodingOf(request.Header("content-type"));
  // Decompression comes first, as in the Collector's HTTP middleware.
  const std::string_view content_encoding = request.Header("content-encoding");
  std::optional<net::Codec> codec = net::ParseContentEncoding(content_encoding);
  if (options.decompression_off) codec = net::Codec::kIdentity;
  const bool allowed = codec.has_value() && (options.allowed_codecs == nullptr ||
                                             options.allowed_codecs->contains(*codec));
  if (!allowed) {
    WriteHttpStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                    absl::StrCat("unsupported Content-Encoding: ", AV(content_encoding)));
    return std::nullopt;
  }
  if (request.method != "POST") {
    response.status = 405;
    response.SetHeader("Content-Type", "text/plain");
    response.body = "405 method not allowed, supported: [POST]";
    return std::nullopt;
  }
  if (encoding == HttpEncoding::kUnknown) {
    response.status = 415;
    response.SetHeader("Content-Type", "text/plain");
    response.body =
        "415 unsupported media type, supported: [application/json, application/x-protobuf]";
    return std::nullopt;
  }
  if (request.body_too_large) {
    uint64_t declared = 0;
    if (!absl::SimpleAtoi(AV(request.Header("content-length")), &declared)) declared = 0;
    WriteHttpStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                    TooLarge(options, declared, false));
    return std::nullopt;
  }
  HttpExportBody out;
  out.encoding = encoding;
  if (*codec == net::Codec::kIdentity) {
    out.body = std::move(request.body);
    return out;
  }
  auto result = net::Decompress(*codec, request.body, options.max_body_size);
  if (!result.ok()) {
    // Over the limit once decompressed: what Go's MaxBytesReader says in the Collector.
    const bool too_large = result.status().code() == absl::StatusCode::kResourceExhausted;
    WriteHttpStatus(
        response, encoding, 400, absl::StatusCode::kInvalidArgument,
        too_large ? TooLarge(options, 0, true) : std::string(SV(result.status().message())));
    return std::nullopt;
  }
  out.body = std::move(*result);
  return out;
}

}  // namespace sprout::otlp
