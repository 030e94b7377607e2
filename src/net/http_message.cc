#include "net/http_message.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/hex.h"
#include "base/status.h"

namespace sprout::net {
namespace {

// Go's url.unescape for the query and path-segment modes (no host rules).
absl::StatusOr<std::string> Unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || HexDigitValue(s[i + 1]) < 0 || HexDigitValue(s[i + 2]) < 0) {
        std::string_view bad = s.substr(i, 3);
        return absl::InvalidArgumentError(absl::StrCat("invalid URL escape \"", AV(bad), "\""));
      }
      out.push_back(static_cast<char>(HexDigitValue(s[i + 1]) * 16 + HexDigitValue(s[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string_view QueryParams::Get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return v;
  }
  return {};
}

std::vector<std::string_view> QueryParams::GetAll(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : entries_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

bool QueryParams::Has(std::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [key](const Entry& e) { return e.first == key; });
}

absl::StatusOr<std::string> QueryUnescape(std::string_view s) { return Unescape(s, true); }
absl::StatusOr<std::string> PathUnescape(std::string_view s) { return Unescape(s, false); }

absl::Status ParseQueryInto(std::string_view raw, QueryParams* out) {
  absl::Status first_error;
  while (!raw.empty()) {
    const size_t amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (pair.find(';') != std::string_view::npos) {
      if (first_error.ok()) {
        first_error = absl::InvalidArgumentError("invalid semicolon separator in query");
      }
      continue;
    }
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    absl::StatusOr<std::string> k = QueryUnescape(key);
    if (!k.ok()) {
      if (first_error.ok()) first_error = k.status();
      continue;
    }
    absl::StatusOr<std::string> v = QueryUnescape(value);
    if (!v.ok()) {
      if (first_error.ok()) first_error = v.status();
      continue;
    }
    out->Add(std::move(*k), std::move(*v));
  }
  return first_error;
}

absl::StatusOr<QueryParams> ParseQuery(std::string_view raw) {
  QueryParams params;
  RETURN_IF_ERROR(ParseQueryInto(raw, &params));
  return params;
}

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(AV(key), AV(name))) return value;
  }
  return {};
}

std::string_view HttpRequest::PathValue(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

absl::Status HttpRequest::ParseForm() {
  if (form_parsed_) return absl::OkStatus();
  form_parsed_ = true;
  absl::Status status;
  if (method == "POST" || method == "PUT" || method == "PATCH") {
    std::string_view content_type = Header("content-type");
    std::string_view media = content_type.substr(0, content_type.find(';'));
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(AV(media)),
                               "application/x-www-form-urlencoded")) {
      status = ParseQueryInto(body, &form);
    }
  }
  absl::Status query_status = ParseQueryInto(query, &form);
  if (status.ok()) status = query_status;
  return status;
}

void HttpResponse::SetHeader(std::string_view name, std::string_view value) {
  std::erase_if(headers, [name](const std::pair<std::string, std::string>& header) {
    return absl::EqualsIgnoreCase(AV(header.first), AV(name));
  });
  headers.emplace_back(std::string(name), std::string(value));
}

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(AV(key), AV(name))) return value;
  }
  return {};
}

bool HttpResponse::Write(std::string_view data) {
  if (stream_ == nullptr) {
    body.append(data);
    return true;
  }
  return stream_->Write(*this, data);
}

bool HttpResponse::streaming() const { return stream_ != nullptr && stream_->started(); }

void internal::ResponseStream::Attach(HttpResponse& response, ResponseStream* stream) {
  response.stream_ = stream;
}

}  // namespace sprout::net
