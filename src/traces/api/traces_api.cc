#include "traces/api/traces_api.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/go_duration.h"
#include "base/hex.h"
#include "base/status.h"
#include "otlp/json.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "traces/traceql/autocomplete.h"
#include "traces/traceql/engine.h"
#include "traces/traceql/parser.h"

namespace sprout::traces {
namespace {

using opentelemetry::proto::trace::v1::TracesData;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::string_view kSingleTenant = "single-tenant";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kProtobuf = "application/protobuf";

// Tempo's trace JSON: gogo jsonpb (proto3 JSON: IDs base64, enums by name, int64 as strings).
const otlp::JsonOptions kTempoJson{.hex_ids = false, .enum_names = true};

void WriteStr(std::string_view s, JsonWriter& w) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void WriteKey(std::string_view k, JsonWriter& w) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void WriteU64String(uint64_t v, JsonWriter& w) { WriteStr(absl::StrCat(v), w); }
void WriteRaw(const std::string& json, JsonWriter& w) {
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}
std::string Finish(const rapidjson::StringBuffer& b) {
  return std::string(b.GetString(), b.GetSize());
}

// `"metrics":{"inspectedBytes":"N"}` (empty object when 0: jsonpb omits zero fields).
void WriteInspectedBytesMetrics(uint64_t inspected_bytes, JsonWriter& w) {
  WriteKey("metrics", w);
  w.StartObject();
  if (inspected_bytes != 0) {
    WriteKey("inspectedBytes", w);
    WriteU64String(inspected_bytes, w);
  }
  w.EndObject();
}

// The `{name}` of the tag values routes: the router decoded the path segment once; Tempo
// decodes it once more (url.QueryUnescape, `+` → space), because Grafana encodes the name twice
// (encodeURIComponent(encodeURIComponent(tag))). False after answering 400.
bool TagNameFromPath(const net::HttpRequest& request, net::HttpResponse& response,
                     std::string* name) {
  absl::StatusOr<std::string> decoded = net::QueryUnescape(request.PathValue("name"));
  if (!decoded.ok()) {
    net::WriteHttpError(response, 400, "error in unescaping tagName");
    return false;
  }
  if (decoded->empty()) {
    net::WriteHttpError(response, 400, "please provide a non-empty tagName");
    return false;
  }
  *name = *std::move(decoded);
  return true;
}

void SetJson(net::HttpResponse& response, std::string body) {
  response.status = 200;
  response.SetHeader("Content-Type", kJson);
  response.body = std::move(body);
}

void WriteStoreError(net::HttpResponse& response, const absl::Status& status) {
  int code = 500;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      code = 400;
      break;
    case absl::StatusCode::kResourceExhausted:
      code = 429;
      break;
    case absl::StatusCode::kDeadlineExceeded:
      code = 504;
      break;
    case absl::StatusCode::kUnavailable:
      code = 503;
      break;
    default:
      break;
  }
  net::WriteHttpError(response, code, SV(status.message()));
}

bool WantsProtobuf(const net::HttpRequest& request) {
  return absl::StrContains(AV(request.Header("Accept")), AV(kProtobuf));
}

// Go's strconv error text for `fn` ("strconv.ParseInt", "strconv.Atoi").
std::string StrconvError(std::string_view fn, std::string_view s, bool range) {
  return absl::StrCat(AV(fn), ": parsing ", "\"", AV(s),
                      "\": ", range ? "value out of range" : "invalid syntax");
}

// Go's strconv.ParseInt(s, 10, bits) (leading sign allowed, no spaces).
absl::StatusOr<int64_t> GoParseInt(std::string_view fn, std::string_view s, int bits) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return absl::InvalidArgumentError(StrconvError(fn, s, false));
  }
  const int64_t max = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
  uint64_t v = 0;
  for (char c : digits) {
    if (v > static_cast<uint64_t>(max) / 10 + 1) {
      return absl::InvalidArgumentError(StrconvError(fn, s, true));
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  const uint64_t limit = static_cast<uint64_t>(max) + (negative ? 1 : 0);
  if (v > limit) return absl::InvalidArgumentError(StrconvError(fn, s, true));
  return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

// Tempo's start/end: strconv.ParseInt(s, 10, 32) kept as uint32.
absl::StatusOr<uint32_t> ParseUnixSeconds(const net::QueryParams& form, std::string_view name) {
  if (!form.Has(name) || form.Get(name).empty()) return 0u;
  absl::StatusOr<int64_t> v = GoParseInt("strconv.ParseInt", form.Get(name), 32);
  if (!v.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", AV(name), ": ", v.status().message()));
  return static_cast<uint32_t>(*v);
}

// The Go `time.ParseDuration` of a duration parameter, truncated to whole milliseconds.
absl::StatusOr<int64_t> ParseDurationMs(std::string_view name, std::string_view text) {
  absl::StatusOr<absl::Duration> d = ParseGoDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", AV(name), ": ", d.status().message()));
  }
  // uint32 milliseconds, as Tempo keeps them.
  return static_cast<int64_t>(static_cast<uint32_t>(absl::ToInt64Milliseconds(*d)));
}

absl::StatusOr<uint32_t> ParsePositive(std::string_view name, std::string_view text) {
  absl::StatusOr<int64_t> v = GoParseInt("strconv.Atoi", text, 64);
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", AV(name), ": ", v.status().message()));
  }
  if (*v <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", AV(name), ": must be a positive number"));
  }
  return static_cast<uint32_t>(*v);
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// TraceByIDResponse { Trace trace = 1; TraceByIDMetrics metrics = 2; PartialStatus status = 3;
// string message = 4 } with TraceByIDMetrics { uint64 inspectedBytes = 1 }: Tempo's Trace is
// wire-compatible with OTLP TracesData (repeated ResourceSpans = 1).
std::string TraceByIdResponseProto(const TracesData& trace, std::string_view partial_message) {
  std::string out;
  const std::string body = trace.SerializeAsString();
  out.push_back(0x0a);
  AppendVarint(body.size(), &out);
  out += body;
  out.push_back(0x12);  // metrics, present and empty as Tempo's combiner sets it
  out.push_back(0x00);
  if (!partial_message.empty()) {
    out.push_back(0x18);  // status = PARTIAL (1)
    out.push_back(0x01);
    out.push_back(0x22);  // message
    AppendVarint(partial_message.size(), &out);
    out.append(partial_message);
  }
  return out;
}

std::string PartialMessage(uint64_t max_bytes) {
  return absl::StrCat("Trace exceeds maximum size of ", max_bytes,
                      " bytes, a partial trace is returned");
}

void WriteKeyValues(std::string_view key,
                    const std::vector<opentelemetry::proto::common::v1::KeyValue>& kvs,
                    JsonWriter& w) {
  if (kvs.empty()) return;
  WriteKey(key, w);
  w.StartArray();
  for (const auto& kv : kvs) WriteRaw(otlp::ToJson(kv, kTempoJson), w);
  w.EndArray();
}

void WriteSpanSet(const SearchSpanSet& set, JsonWriter& w) {
  w.StartObject();
  if (!set.spans.empty()) {
    WriteKey("spans", w);
    w.StartArray();
    for (const SearchSpan& span : set.spans) {
      w.StartObject();
      if (!span.span_id.empty()) {
        std::string hex = HexEncode(span.span_id);
        if (hex.size() < 16) hex.insert(0, 16 - hex.size(), '0');
        WriteKey("spanID", w);
        WriteStr(hex, w);
      }
      if (!span.name.empty()) {
        WriteKey("name", w);
        WriteStr(span.name, w);
      }
      if (span.start_time_unix_nano != 0) {
        WriteKey("startTimeUnixNano", w);
        WriteU64String(span.start_time_unix_nano, w);
      }
      if (span.duration_nanos != 0) {
        WriteKey("durationNanos", w);
        WriteU64String(span.duration_nanos, w);
      }
      WriteKeyValues("attributes", span.attributes, w);
      w.EndObject();
    }
    w.EndArray();
  }
  if (set.matched != 0) {
    WriteKey("matched", w);
    w.Uint(set.matched);
  }
  WriteKeyValues("attributes", set.attributes, w);
  w.EndObject();
}

}  // namespace

absl::StatusOr<std::string> ParseTraceId(std::string_view hex) {
  for (size_t i = 0; i < hex.size(); ++i) {
    if (HexDigitValue(hex[i]) < 0) {
      // Go ranges over the string's characters: report the whole UTF-8 character.
      size_t len = 1;
      const unsigned char c = static_cast<unsigned char>(hex[i]);
      if (c >= 0xf0) {
        len = 4;
      } else if (c >= 0xe0) {
        len = 3;
      } else if (c >= 0xc0) {
        len = 2;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("trace IDs can only contain hex characters: invalid character '",
                       AV(hex.substr(i, len)), "' at position ", i + 1));
    }
  }
  std::string even(hex);
  if (even.size() % 2 == 1) even.insert(0, "0");
  std::optional<std::string> bytes = HexDecode(even);
  if (!bytes) return absl::InvalidArgumentError("trace IDs can only contain hex characters");
  if (bytes->size() > 16) {
    return absl::InvalidArgumentError("trace IDs can't be larger than 128 bits");
  }
  bytes->insert(0, 16 - bytes->size(), '\0');
  return *std::move(bytes);
}

std::string TraceIdToHexTrimmed(std::string_view id) {
  std::string hex = HexEncode(id);
  const size_t first = hex.find_first_not_of('0');
  return first == std::string::npos ? std::string() : hex.substr(first);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseLogfmtTags(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  auto error = [](std::string_view reason, size_t pos) {
    return absl::InvalidArgumentError(absl::StrCat("invalid tags: ", AV(reason), " at pos ", pos));
  };
  auto is_ident = [](char c) {
    return static_cast<unsigned char>(c) > ' ' && c != '=' && c != '"';
  };
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) <= ' ') {
      ++i;
      continue;
    }
    if (!is_ident(c)) return error(absl::StrCat("unexpected '", std::string(1, c), "'"), i + 1);
    const size_t key_start = i;
    while (i < n && is_ident(text[i])) ++i;
    std::string key(text.substr(key_start, i - key_start));
    std::string value;
    if (i < n && text[i] == '"') return error("unexpected '\"'", i + 1);
    if (i < n && text[i] == '=') {
      ++i;
      if (i < n && text[i] == '"') {
        const size_t quote = i;
        ++i;
        bool closed = false;
        while (i < n) {
          const char q = text[i];
          if (q == '\\') {
            if (i + 1 >= n) break;
            const char e = text[i + 1];
            switch (e) {
              case '"':
                value.push_back('"');
                break;
              case '\\':
                value.push_back('\\');
                break;
              case '/':
                value.push_back('/');
                break;
              case 'n':
                value.push_back('\n');
                break;
              case 't':
                value.push_back('\t');
                break;
              case 'r':
                value.push_back('\r');
                break;
              case 'b':
                value.push_back('\b');
                break;
              case 'f':
                value.push_back('\f');
                break;
              default:
                return error("invalid quoted value", quote + 1);
            }
            i += 2;
            continue;
          }
          if (q == '"') {
            closed = true;
            ++i;
            break;
          }
          value.push_back(q);
          ++i;
        }
        if (!closed) return error("unterminated quoted value", n + 1);
        if (i<n&& static_cast<unsigned char>(text[i])> ' ') {
          return error(absl::StrCat("unexpected '", std::string(1, text[i]), "'"), i + 1);
        }
      } else {
        const size_t value_start = i;
        while (i<n&& static_cast<unsigned char>(text[i])> ' ') {
          if (text[i] == '=' || text[i] == '"') {
            return error(absl::StrCat("unexpected '", std::string(1, text[i]), "'"), i + 1);
          }
          ++i;
        }
        value = std::string(text.substr(value_start, i - value_start));
      }
    }
    for (const auto& [k, v] : out) {
      if (k == key) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid tags: tag ", key, " has been set twice"));
      }
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

absl::StatusOr<SearchRequest> ParseSearchParams(const net::QueryParams& form,
                                                const TracesApiOptions& options) {
  SearchRequest req;
  req.limit = 0;
  req.spss = 0;
  ASSIGN_OR_RETURN(req.start_s, ParseUnixSeconds(form, "start"));
  ASSIGN_OR_RETURN(req.end_s, ParseUnixSeconds(form, "end"));
  const bool query_found = form.Has("q") && !form.Get("q").empty();
  if (query_found) {
    traceql::ParseResult parsed = traceql::Parse(form.Get("q"));
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid TraceQL query: ", parsed.error.ToString()));
    }
    absl::StatusOr<std::unique_ptr<traceql::Program>> program =
        traceql::Program::Compile(std::move(parsed.query));
    if (!program.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid TraceQL query: ", program.status().message()));
    }
    req.query = *std::move(program);
  }
  const bool tags_found = form.Has("tags") && !form.Get("tags").empty();
  if (tags_found) {
    if (query_found) {
      return absl::InvalidArgumentError(
          "invalid request: can't specify tags and q in the same query");
    }
    ASSIGN_OR_RETURN(req.tags, ParseLogfmtTags(form.Get("tags")));
  }
  if (!query_found && !tags_found && req.start_s == 0 && req.end_s == 0) {
    // The oldest Grafana sent each tag as its own parameter; Tempo still reads them then.
    static constexpr std::string_view kReserved[] = {"q",     "tags", "minDuration", "maxDuration",
                                                     "limit", "spss", "start",       "end"};
    for (const auto& [k, v] : form.entries()) {
      if (v.empty() ||
          std::find(std::begin(kReserved), std::end(kReserved), k) != std::end(kReserved)) {
        continue;
      }
      bool seen = false;
      for (const auto& [tk, tv] : req.tags) seen = seen || tk == k;
      if (!seen) req.tags.emplace_back(k, v);
    }
  }
  int64_t min_ms = 0;
  if (form.Has("minDuration") && !form.Get("minDuration").empty()) {
    ASSIGN_OR_RETURN(min_ms, ParseDurationMs("minDuration", form.Get("minDuration")));
  }
  int64_t max_ms = 0;
  if (form.Has("maxDuration") && !form.Get("maxDuration").empty()) {
    ASSIGN_OR_RETURN(max_ms, ParseDurationMs("maxDuration", form.Get("maxDuration")));
    if (min_ms != 0 && min_ms > max_ms) {
      return absl::InvalidArgumentError("invalid maxDuration: must be greater than minDuration");
    }
  }
  req.min_duration_ns = min_ms * 1'000'000;
  req.max_duration_ns = max_ms * 1'000'000;
  if (form.Has("limit") && !form.Get("limit").empty()) {
    ASSIGN_OR_RETURN(req.limit, ParsePositive("limit", form.Get("limit")));
  }
  if (form.Has("spss") && !form.Get("spss").empty()) {
    ASSIGN_OR_RETURN(req.spss, ParsePositive("spss", form.Get("spss")));
  }
  if ((req.start_s != 0 || req.end_s != 0) && req.end_s <= req.start_s) {
    return absl::InvalidArgumentError(
        absl::StrCat("http parameter start must be before end. received start=", req.start_s,
                     " end=", req.end_s));
  }
  // The query frontend's defaults and limits, in its order.
  if (req.limit == 0) req.limit = options.default_result_limit;
  if (options.max_result_limit != 0 && req.limit > options.max_result_limit) {
    req.limit = options.max_result_limit;
  }
  if (req.spss == 0) req.spss = options.default_spans_per_span_set;
  if (options.max_search_duration > absl::ZeroDuration() && (req.start_s != 0 || req.end_s != 0) &&
      absl::Seconds(req.end_s - req.start_s) > options.max_search_duration) {
    return absl::InvalidArgumentError(absl::StrCat(
        "range specified by start and end exceeds ", FormatGoDuration(options.max_search_duration),
        ". received start=", req.start_s, " end=", req.end_s));
  }
  if (options.max_spans_per_span_set != 0 && req.spss > options.max_spans_per_span_set) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spans per span set exceeds ", options.max_spans_per_span_set, ". received ", req.spss));
  }
  return req;
}

std::string TraceJsonV1(const TracesData& trace) {
  // Tempo renames the first "resourceSpans" key of its Trace JSON to "batches"; it is the first
  // key of TracesData's JSON when there is any.
  std::string json = otlp::ToJson(trace, kTempoJson);
  constexpr std::string_view kFrom = "{\"resourceSpans\":";
  if (absl::StartsWith(json, AV(kFrom))) json.replace(0, kFrom.size(), "{\"batches\":");
  return json;
}

std::string TraceJsonV2(const TracesData& trace, std::string_view partial_message) {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  WriteKey("trace", w);
  WriteRaw(otlp::ToJson(trace, kTempoJson), w);
  WriteInspectedBytesMetrics(0, w);
  if (!partial_message.empty()) {
    WriteKey("status", w);
    WriteStr("PARTIAL", w);
    WriteKey("message", w);
    WriteStr(partial_message, w);
  }
  w.EndObject();
  return Finish(b);
}

bool TruncateTrace(TracesData* trace, uint64_t max_bytes) {
  if (max_bytes == 0 || trace->ByteSizeLong() <= max_bytes) return false;
  uint64_t used = 0;
  bool full = false;
  auto* resources = trace->mutable_resource_spans();
  for (int r = 0; r < resources->size();) {
    auto* scopes = resources->Mutable(r)->mutable_scope_spans();
    for (int s = 0; s < scopes->size();) {
      auto* spans = scopes->Mutable(s)->mutable_spans();
      int keep = 0;
      while (!full && keep < spans->size()) {
        const uint64_t size = spans->Get(keep).ByteSizeLong();
        if (used + size > max_bytes) {
          full = true;
          break;
        }
        used += size;
        ++keep;
      }
      spans->DeleteSubrange(keep, spans->size() - keep);
      if (spans->empty()) {
        scopes->DeleteSubrange(s, 1);
      } else {
        ++s;
      }
    }
    if (scopes->empty()) {
      resources->DeleteSubrange(r, 1);
    } else {
      ++r;
    }
  }
  return true;
}

std::string SearchResultJson(const SearchResult& result) {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  if (!result.traces.empty()) {
    WriteKey("traces", w);
    w.StartArray();
    for (const TraceSummary& t : result.traces) {
      w.StartObject();
      WriteKey("traceID", w);
      WriteStr(TraceIdToHexTrimmed(t.trace_id), w);
      if (!t.root_service_name.empty()) {
        WriteKey("rootServiceName", w);
        WriteStr(t.root_service_name, w);
      }
      if (!t.root_trace_name.empty()) {
        WriteKey("rootTraceName", w);
        WriteStr(t.root_trace_name, w);
      }
      if (t.start_time_unix_nano != 0) {
        WriteKey("startTimeUnixNano", w);
        WriteU64String(t.start_time_unix_nano, w);
      }
      if (t.duration_ms != 0) {
        WriteKey("durationMs", w);
        w.Uint(t.duration_ms);
      }
      if (!t.span_sets.empty()) {
        // The deprecated single `spanSet` is the first span set, for older clients.
        WriteKey("spanSet", w);
        WriteSpanSet(t.span_sets.front(), w);
        WriteKey("spanSets", w);
        w.StartArray();
        for (const SearchSpanSet& s : t.span_sets) WriteSpanSet(s, w);
        w.EndArray();
      }
      if (!t.service_stats.empty()) {
        WriteKey("serviceStats", w);
        w.StartObject();
        for (const auto& [service, stats] : t.service_stats) {
          WriteKey(service, w);
          w.StartObject();
          if (stats.span_count != 0) {
            WriteKey("spanCount", w);
            w.Uint(stats.span_count);
          }
          if (stats.error_count != 0) {
            WriteKey("errorCount", w);
            w.Uint(stats.error_count);
          }
          w.EndObject();
        }
        w.EndObject();
      }
      w.EndObject();
    }
    w.EndArray();
  }
  const SearchMetrics& m = result.metrics;
  WriteKey("metrics", w);
  w.StartObject();
  if (m.inspected_traces != 0) {
    WriteKey("inspectedTraces", w);
    w.Uint(m.inspected_traces);
  }
  if (m.inspected_bytes != 0) {
    WriteKey("inspectedBytes", w);
    WriteU64String(m.inspected_bytes, w);
  }
  if (m.total_blocks != 0) {
    WriteKey("totalBlocks", w);
    w.Uint(m.total_blocks);
  }
  if (m.completed_jobs != 0) {
    WriteKey("completedJobs", w);
    w.Uint(m.completed_jobs);
  }
  if (m.total_jobs != 0) {
    WriteKey("totalJobs", w);
    w.Uint(m.total_jobs);
  }
  if (m.total_block_bytes != 0) {
    WriteKey("totalBlockBytes", w);
    WriteU64String(m.total_block_bytes, w);
  }
  if (m.inspected_spans != 0) {
    WriteKey("inspectedSpans", w);
    WriteU64String(m.inspected_spans, w);
  }
  w.EndObject();
  w.EndObject();
  return Finish(b);
}

TracesApi::TracesApi(TracesApiOptions options) : options_(std::move(options)) {}

std::string TracesApi::BuildInfoJson() const {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  const TracesBuildInfo& i = options_.build;
  w.StartObject();
  for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"version", &i.version},
                             {"revision", &i.revision},
                             {"branch", &i.branch},
                             {"buildUser", &i.build_user},
                             {"buildDate", &i.build_date},
                             {"goVersion", &i.go_version}}) {
    WriteKey(k, w);
    WriteStr(*v, w);
  }
  w.EndObject();
  return Finish(b);
}

absl::Status TracesApi::Register(net::Router* router) {
  if (options_.queryable == nullptr) {
    return absl::InvalidArgumentError("traces api: a TraceQueryable is required");
  }
  router->SetTenants({options_.multitenancy_enabled, options_.default_tenant});
  net::RouteOptions plain;
  net::RouteOptions tenant;
  tenant.tenant = net::TenantPolicy::kSingle;
  tenant.gzip = true;
  TraceQueryable* q = options_.queryable;
  const TracesApiOptions opts = options_;

  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/echo",
      [](net::HttpRequest&, net::HttpResponse& response) {
        response.status = 200;
        response.SetHeader("Content-Type", "text/plain; charset=utf-8");
        response.body = "echo";
      },
      plain));
  std::shared_ptr<std::atomic<bool>> ready = ready_;
  if (options_.serve_ready) {
    RETURN_IF_ERROR(router->Handle(
        "GET", "/ready",
        net::ReadinessHandler([ready] { return ready->load(std::memory_order_acquire); }), plain));
  }
  const std::string buildinfo = BuildInfoJson();
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/status/buildinfo",
      [buildinfo](net::HttpRequest&, net::HttpResponse& response) { SetJson(response, buildinfo); },
      plain));

  // Trace by ID, v1 and v2.
  const uint64_t max_bytes = options_.max_bytes_per_trace;
  // Fills `out` and `partial` (the PARTIAL message, or empty); false after answering an error.
  auto find = [q, max_bytes](net::HttpRequest& request, net::HttpResponse& response,
                             std::optional<TracesData>* out, std::string* partial) -> bool {
    absl::StatusOr<std::string> id = ParseTraceId(request.PathValue("id"));
    if (!id.ok()) {
      net::WriteHttpError(response, 400, SV(id.status().message()));
      return false;
    }
    (void)request.ParseForm();
    absl::StatusOr<uint32_t> start = ParseUnixSeconds(request.form, "start");
    absl::StatusOr<uint32_t> end = start.ok() ? ParseUnixSeconds(request.form, "end") : start;
    if (!end.ok()) {
      net::WriteHttpError(response, 400, SV(end.status().message()));
      return false;
    }
    if (*start != 0 && *end != 0 && *end < *start) {
      net::WriteHttpError(response, 400,
                          absl::StrCat("http parameter start must be before end. received start=",
                                       *start, " end=", *end));
      return false;
    }
    absl::StatusOr<std::optional<TracesData>> trace =
        q->FindTraceByID(request.tenant, *id, *start, *end);
    if (!trace.ok()) {
      WriteStoreError(response, trace.status());
      return false;
    }
    *out = *std::move(trace);
    if (out->has_value() && TruncateTrace(&**out, max_bytes)) *partial = PartialMessage(max_bytes);
    return true;
  };
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/traces/{id}",
      [find](net::HttpRequest& request, net::HttpResponse& response) {
        std::optional<TracesData> trace;
        std::string partial;  // v1 has no status: a cut trace is answered as it is
        if (!find(request, response, &trace, &partial)) return;
        if (!trace.has_value() || trace->resource_spans_size() == 0) {
          net::WriteHttpError(response, 404, "trace not found");
          return;
        }
        if (WantsProtobuf(request)) {
          response.status = 200;
          response.SetHeader("Content-Type", kProtobuf);
          response.body = trace->SerializeAsString();
        } else {
          SetJson(response, TraceJsonV1(*trace));
        }
      },
      tenant));
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/v2/traces/{id}",
      [find](net::HttpRequest& request, net::HttpResponse& response) {
        std::optional<TracesData> trace;
        std::string partial;
        if (!find(request, response, &trace, &partial)) return;
        if (!trace.has_value()) trace.emplace();  // Tempo 2.9: 200 with an empty trace
        if (WantsProtobuf(request)) {
          response.status = 200;
          response.SetHeader("Content-Type", kProtobuf);
          response.body = TraceByIdResponseProto(*trace, partial);
        } else {
          SetJson(response, TraceJsonV2(*trace, partial));
        }
      },
      tenant));

  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/search",
      [q, opts](net::HttpRequest& request, net::HttpResponse& response) {
        if (absl::Status s = request.ParseForm(); !s.ok()) {
          net::WriteHttpError(response, 400, SV(s.message()));
          return;
        }
        absl::StatusOr<SearchRequest> req = ParseSearchParams(request.form, opts);
        if (!req.ok()) {
          net::WriteHttpError(response, 400, SV(req.status().message()));
          return;
        }
        req->cancelled = [&request] { return request.Cancelled(); };
        absl::StatusOr<SearchResult> result = q->Search(request.tenant, *req);
        if (!result.ok()) {
          WriteStoreError(response, result.status());
          return;
        }
        if (result->traces.size() > req->limit) result->traces.resize(req->limit);
        SetJson(response, SearchResultJson(*result));
      },
      tenant));

  // Tags. `scope`: empty or `all` is every scope; anything else must be one of kTagScopes.
  // `filtered`: the v2 routes read `q`; Tempo's v1 routes ignore it.
  auto tag_names = [q](net::HttpRequest& request, net::HttpResponse& response, bool filtered,
                       TagNamesResult* out) -> bool {
    (void)request.ParseForm();
    std::string scope(request.form.Get("scope"));
    if (scope == "all") scope.clear();
    if (!scope.empty() &&
        std::find(std::begin(kTagScopes), std::end(kTagScopes), scope) == std::end(kTagScopes)) {
      net::WriteHttpError(response, 400, absl::StrCat("invalid scope: ", scope));
      return false;
    }
    absl::StatusOr<uint32_t> start = ParseUnixSeconds(request.form, "start");
    absl::StatusOr<uint32_t> end = start.ok() ? ParseUnixSeconds(request.form, "end") : start;
    if (!end.ok()) {
      net::WriteHttpError(response, 400, SV(end.status().message()));
      return false;
    }
    // `q`: narrowed to its matchers; an unusable one is no filter (Tempo's unfiltered list).
    const std::string filter = filtered ? traceql::ExtractMatchers(request.form.Get("q")) : "";
    absl::StatusOr<TagNamesResult> r = q->TagNames(request.tenant, scope, *start, *end, filter);
    if (!r.ok()) {
      WriteStoreError(response, r.status());
      return false;
    }
    *out = *std::move(r);
    return true;
  };
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/search/tags",
      [tag_names](net::HttpRequest& request, net::HttpResponse& response) {
        TagNamesResult r;
        if (!tag_names(request, response, /*filtered=*/false, &r)) return;
        // v1 is one flat list: the attribute names of every scope but the intrinsics.
        std::set<std::string> names;
        for (const TagScope& s : r.scopes) {
          if (s.name == "intrinsic") continue;
          names.insert(s.tags.begin(), s.tags.end());
        }
        rapidjson::StringBuffer b;
        JsonWriter w(b);
        w.StartObject();
        if (!names.empty()) {
          WriteKey("tagNames", w);
          w.StartArray();
          for (const std::string& n : names) WriteStr(n, w);
          w.EndArray();
        }
        WriteInspectedBytesMetrics(r.inspected_bytes, w);
        w.EndObject();
        SetJson(response, Finish(b));
      },
      tenant));
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/v2/search/tags",
      [tag_names](net::HttpRequest& request, net::HttpResponse& response) {
        TagNamesResult r;
        if (!tag_names(request, response, /*filtered=*/true, &r)) return;
        rapidjson::StringBuffer b;
        JsonWriter w(b);
        w.StartObject();
        if (!r.scopes.empty()) {
          WriteKey("scopes", w);
          w.StartArray();
          for (const TagScope& s : r.scopes) {
            w.StartObject();
            WriteKey("name", w);
            WriteStr(s.name, w);
            if (!s.tags.empty()) {
              WriteKey("tags", w);
              w.StartArray();
              for (const std::string& t : s.tags) WriteStr(t, w);
              w.EndArray();
            }
            w.EndObject();
          }
          w.EndArray();
        }
        WriteInspectedBytesMetrics(r.inspected_bytes, w);
        w.EndObject();
        SetJson(response, Finish(b));
      },
      tenant));

  auto tag_values = [q](net::HttpRequest& request, net::HttpResponse& response,
                        std::string_view name, bool filtered, TagValuesResult* out) -> bool {
    (void)request.ParseForm();
    absl::StatusOr<uint32_t> start = ParseUnixSeconds(request.form, "start");
    absl::StatusOr<uint32_t> end = start.ok() ? ParseUnixSeconds(request.form, "end") : start;
    if (!end.ok()) {
      net::WriteHttpError(response, 400, SV(end.status().message()));
      return false;
    }
    uint32_t limit = 0;
    if (std::string_view l = request.form.Get("limit"); !l.empty()) {
      absl::StatusOr<int64_t> v = GoParseInt("strconv.Atoi", l, 64);
      if (!v.ok() || *v < 0) {
        net::WriteHttpError(
            response, 400,
            absl::StrCat("invalid limit: ",
                         v.ok() ? "must be a positive number" : std::string(v.status().message())));
        return false;
      }
      limit = static_cast<uint32_t>(std::min<int64_t>(*v, UINT32_MAX));
    }
    const std::string filter = filtered ? traceql::ExtractMatchers(request.form.Get("q")) : "";
    absl::StatusOr<TagValuesResult> r =
        q->TagValues(request.tenant, name, *start, *end, limit, filter);
    if (!r.ok()) {
      WriteStoreError(response, r.status());
      return false;
    }
    if (limit != 0 && r->values.size() > limit) r->values.resize(limit);
    *out = *std::move(r);
    return true;
  };
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/search/tag/{name}/values",
      [tag_values](net::HttpRequest& request, net::HttpResponse& response) {
        // v1 names are plain attribute names: asked as the unscoped TraceQL `.name`.
        std::string name;
        if (!TagNameFromPath(request, response, &name)) return;
        TagValuesResult r;
        if (!tag_values(request, response, absl::StrCat(".", name), /*filtered=*/false, &r)) {
          return;
        }
        std::set<std::string> seen;
        rapidjson::StringBuffer b;
        JsonWriter w(b);
        w.StartObject();
        if (!r.values.empty()) {
          WriteKey("tagValues", w);
          w.StartArray();
          for (const TagValue& v : r.values) {
            if (seen.insert(v.value).second) WriteStr(v.value, w);
          }
          w.EndArray();
        }
        w.EndObject();
        SetJson(response, Finish(b));
      },
      tenant));
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/v2/search/tag/{name}/values",
      [tag_values](net::HttpRequest& request, net::HttpResponse& response) {
        std::string name;
        if (!TagNameFromPath(request, response, &name)) return;
        TagValuesResult r;
        if (!tag_values(request, response, name, /*filtered=*/true, &r)) return;
        rapidjson::StringBuffer b;
        JsonWriter w(b);
        w.StartObject();
        if (!r.values.empty()) {
          WriteKey("tagValues", w);
          w.StartArray();
          for (const TagValue& v : r.values) {
            w.StartObject();
            if (!v.type.empty()) {
              WriteKey("type", w);
              WriteStr(v.type, w);
            }
            if (!v.value.empty()) {
              WriteKey("value", w);
              WriteStr(v.value, w);
            }
            w.EndObject();
          }
          w.EndArray();
        }
        WriteInspectedBytesMetrics(r.inspected_bytes, w);
        w.EndObject();
        SetJson(response, Finish(b));
      },
      tenant));

  // TraceQL metrics: parameters and limits (metrics_api.h), the query compiled on its grid, the
  // store's scan, Tempo's JSON.
  auto metrics = [q, opts](net::HttpRequest& request, net::HttpResponse& response, bool instant) {
    if (absl::Status s = request.ParseForm(); !s.ok()) {
      net::WriteHttpError(response, 400, SV(s.message()));
      return;
    }
    const absl::Time now = opts.now ? opts.now() : absl::Now();
    absl::StatusOr<MetricsQueryRequest> req =
        ParseMetricsParams(request.form, instant, now, opts.metrics_limits);
    if (!req.ok()) {
      net::WriteHttpError(response, 400, SV(req.status().message()));
      return;
    }
    if (!opts.compile_metrics) {
      net::WriteHttpError(response, 400, "localblocks processor not found");
      return;
    }
    absl::StatusOr<std::unique_ptr<traceql::MetricsProgram>> program =
        opts.compile_metrics(req->query, req->range);
    if (!program.ok()) {
      WriteStoreError(response, program.status());
      return;
    }
    absl::StatusOr<traceql::MetricsResult> result =
        q->QueryMetrics(request.tenant, **program, [&request] { return request.Cancelled(); });
    if (!result.ok()) {
      WriteStoreError(response, result.status());
      return;
    }
    FinalizeMetricsResult(req->range, &*result);
    // JSON whatever the Accept header: Tempo's metrics combiners marshal JSON only (the
    // protobuf forms, metrics_api.h, are for a later gRPC streaming API).
    SetJson(response, instant ? MetricsInstantJson(*result)
                              : MetricsRangeJson(*result, req->range.max_series));
  };
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/metrics/query_range",
      [metrics](net::HttpRequest& request, net::HttpResponse& response) {
        metrics(request, response, /*instant=*/false);
      },
      tenant));
  RETURN_IF_ERROR(router->Handle(
      "GET", "/api/metrics/query",
      [metrics](net::HttpRequest& request, net::HttpResponse& response) {
        metrics(request, response, /*instant=*/true);
      },
      tenant));
  return absl::OkStatus();
}

}  // namespace sprout::traces
