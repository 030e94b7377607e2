// Prometheus's JSON envelope for the HTTP API (web/api/v1), shared by every endpoint of the
// metrics store:
//   success: {"status":"success","data":<data>[,"warnings":[...]][,"infos":[...]]}
//   error:   {"status":"error","errorType":"bad_data","error":"<message>"}
// with the HTTP status of the error type: bad_data 400, execution 422, canceled 503 (what 2.42
// answers — seen with a client that half-closed its connection; later Prometheus versions answer
// 499), timeout 503, unavailable 503, internal 500, not_found 404, not_acceptable 406.
//
// Thread-safety: pure functions over one response.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "net/http_message.h"

namespace sprout::metrics::api {

enum class ErrorType {
  kBadData,
  kExecution,
  kCanceled,
  kTimeout,
  kUnavailable,
  kInternal,
  kNotFound,
  kNotAcceptable,
};

// "bad_data", "execution", ...
std::string_view ErrorTypeName(ErrorType type);
int ErrorTypeHttpStatus(ErrorType type);
// The error type a Status maps to: InvalidArgument → bad_data, Cancelled → canceled,
// DeadlineExceeded → timeout, Unavailable/ResourceExhausted → unavailable, NotFound →
// not_found, anything else → internal.
ErrorType ErrorTypeOf(const absl::Status& status);

// `data_json` is already-encoded JSON (an array, an object, ...).
void WriteSuccess(net::HttpResponse& response, std::string_view data_json,
                  const std::vector<std::string>& warnings = {});
void WriteError(net::HttpResponse& response, ErrorType type, std::string_view message);
// WriteError with the type of `status` and its message.
void WriteStatusError(net::HttpResponse& response, const absl::Status& status);

// Go's encoding/json text of a string (what Prometheus's API writes): `"` `\\` \n \r \t short
// escapes, other control characters and `<` `>` `&` U+2028 U+2029 as \u00XX/\u20XX, invalid
// UTF-8 as \ufffd.
void AppendGoJsonString(std::string_view s, std::string* out);

// JSON encoding helpers for the `data` of an answer (strings escaped as Go's encoding/json, as
// Prometheus writes them; WriteError and the warnings too).
std::string JsonStringArray(const std::vector<std::string>& values);

}  // namespace sprout::metrics::api
