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
  AppendGoJsonString(message, &body);
  body += "}";
  response.status = ErrorTypeHttpStatus(type);
  response.SetHeader("Content-Type", "application/json");
  response.body = std::move(body);
}

void WriteStatusError(net::HttpResponse& response, const absl::Status& status) {
  WriteError(response, ErrorTypeOf(status), SV(status.message()));
}

void AppendGoJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      } else if (c == '\n') {
        out->append("\\n");
      } else if (c == '\r') {
        out->append("\\r");
      } else if (c == '\t') {
        out->append("\\t");
      } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // Multi-byte: validate the sequence (as Go's utf8.DecodeRuneInString does).
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    uint32_t r = n == 4 ? (c & 0x07) : n == 3 ? (c & 0x0F) : (c & 0x1F);
    bool valid = n != 0 && c <= 0xF4 && i + n <= s.size();
    for (size_t k = 1; valid && k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) valid = false;
      r = (r << 6) | (b & 0x3F);
    }
    if (valid && ((n == 3 && (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF))) ||
                  (n == 4 && (r < 0x10000 || r > 0x10FFFF)))) {
      valid = false;
    }
    if (!valid) {
      out->append("\\ufffd");
      ++i;
      continue;
    }
    if (r == 0x2028 || r == 0x2029) {
      out->append(r == 0x2028 ? "\\u2028" : "\\u2029");
    } else {
      out->append(s.substr(i, n));
    }
    i += n;
  }
  out->push_back('"');
}

std::string JsonStringArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ",";
    AppendGoJsonString(values[i], &out);
  }
  out += "]";
  return out;
}

}  // namespace sprout::metrics::api
