#include "metrics/api/response.h"

#include "absl/strings/str_cat.h"
#include "base/json_escape.h"
#include "base/status.h"

namespace sprout::metrics::api {

std::string_view ErrorTypeName(ErrorType type) {
  switch (type) {
    case ErrorType::kBadData:
      return "bad_data";
    case ErrorType::kExecution:
      return "execution";
    case ErrorType::kCanceled:
      return "canceled";
    case ErrorType::kTimeout:
      return "timeout";
    case ErrorType::kUnavailable:
      return "unavailable";
    case ErrorType::kInternal:
      return "internal";
    case ErrorType::kNotFound:
      return "not_found";
    case ErrorType::kNotAcceptable:
      return "not_acceptable";
  }
  return "internal";
}

int ErrorTypeHttpStatus(ErrorType type) {
  switch (type) {
    case ErrorType::kBadData:
      return 400;
    case ErrorType::kExecution:
      return 422;
    case ErrorType::kCanceled:
    case ErrorType::kTimeout:
    case ErrorType::kUnavailable:
      return 503;
    case ErrorType::kInternal:
      return 500;
    case ErrorType::kNotFound:
      return 404;
    case ErrorType::kNotAcceptable:
      return 406;
  }
  return 500;
}

ErrorType ErrorTypeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorType::kBadData;
    case absl::StatusCode::kCancelled:
      return ErrorType::kCanceled;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorType::kTimeout;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
      return ErrorType::kUnavailable;
    case absl::StatusCode::kNotFound:
      return ErrorType::kNotFound;
    default:
      return ErrorType::kInternal;
  }
}

void WriteSuccess(net::HttpResponse& response, std::string_view data_json,
                  const std::vector<std::string>& warnings) {
  std::string body = "{\"status\":\"success\",\"data\":";
  body.append(data_json);
  if (!warnings.empty()) {
    body += ",\"warnings\":";
    body += JsonStringArray(warnings);
  }
  body += "}";
  response.status = 200;
  response.SetHeader("Content-Type", "application/json");
  response.body = std::move(body);
}

void WriteError(net::HttpResponse& response, ErrorType type, std::string_view message) {
  std::string body = "{\"status\":\"error\",\"errorType\":\"";
  body.append(ErrorTypeName(type));
  body += "\",\"error\":";
  AppendJsonString(message, &body);
  body += "}";
  response.status = ErrorTypeHttpStatus(type);
  response.SetHeader("Content-Type", "application/json");
  response.body = std::move(body);
}

void WriteStatusError(net::HttpResponse& response, const absl::Status& status) {
  WriteError(response, ErrorTypeOf(status), SV(status.message()));
}

std::string JsonStringArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(values[i], &out);
  }
  out += "]";
  return out;
}

}  // namespace sprout::metrics::api
