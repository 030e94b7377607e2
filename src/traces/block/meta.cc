// meta.json (BlockMeta as JSON), block keys and ListBlocks.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/hex.h"
#include "base/status.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"
#include "traces/block/block.h"

namespace sprout::traces::block {
namespace {

using JsonWriter = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void Str(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("meta.json: ", AV(what)));
}

absl::StatusOr<uint64_t> GetU64Field(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return Invalid(absl::StrCat("missing \"", key, "\""));
  if (!it->value.IsUint64()) {
    return Invalid(absl::StrCat("\"", key, "\" is not a non-negative integer"));
  }
  return it->value.GetUint64();
}

absl::StatusOr<std::string> GetStrField(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return Invalid(absl::StrCat("missing \"", key, "\""));
  if (!it->value.IsString()) return Invalid(absl::StrCat("\"", key, "\" is not a string"));
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

absl::StatusOr<std::string> GetTraceIdField(const rapidjson::Value& obj, const char* key) {
  ASSIGN_OR_RETURN(std::string hex, GetStrField(obj, key));
  std::optional<std::string> id = HexDecode(hex);
  if (!id.has_value() || id->size() != 16) {
    return Invalid(absl::StrCat("\"", key, "\" is not a 32-digit hex trace ID"));
  }
  return *id;
}

}  // namespace

std::string BlockPrefix(std::string_view tenant, std::string_view block_id) {
  return absl::StrCat(AV(tenant), "/", AV(block_id), "/");
}

std::string BlockKey(std::string_view tenant, std::string_view block_id,
                     std::string_view object) {
  return absl::StrCat(AV(tenant), "/", AV(block_id), "/", AV(object));
}

std::string MetaToJson(const BlockMeta& meta) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  w.Key("format_version");
  w.Uint(meta.format_version);
  w.Key("block_id");
  Str(w, meta.block_id);
  w.Key("tenant");
  Str(w, meta.tenant);
  w.Key("start_unix_nano");
  w.Uint64(meta.start_unix_nano);
  w.Key("end_unix_nano");
  w.Uint64(meta.end_unix_nano);
  w.Key("min_trace_id");
  Str(w, HexEncode(meta.min_trace_id));
  w.Key("max_trace_id");
  Str(w, HexEncode(meta.max_trace_id));
  w.Key("trace_count");
  w.Uint64(meta.trace_count);
  w.Key("span_count");
  w.Uint64(meta.span_count);
  w.Key("page_count");
  w.Uint(meta.page_count);
  w.Key("data_bytes");
  w.Uint64(meta.data_bytes);
  w.Key("index_bytes");
  w.Uint64(meta.index_bytes);
  w.Key("bloom_bytes");
  w.Uint64(meta.bloom_bytes);
  w.Key("otlp_bytes");
  w.Uint64(meta.otlp_bytes);
  w.Key("compaction_level");
  w.Uint(meta.compaction_level);
  w.Key("sources");
  w.StartArray();
  for (const std::string& s : meta.sources) Str(w, s);
  w.EndArray();
  w.Key("created_at");
  Str(w, absl::FormatTime(absl::RFC3339_full, meta.created_at, absl::UTCTimeZone()));
  w.EndObject();
  std::string out(buffer.GetString(), buffer.GetSize());
  out.push_back('\n');
  return out;
}

absl::StatusOr<BlockMeta> MetaFromJson(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return Invalid(absl::StrCat("not JSON: ", rapidjson::GetParseError_En(doc.GetParseError()),
                                " at offset ", doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) return Invalid("not a JSON object");
  BlockMeta meta;
  // The version first: a newer format may have changed anything else.
  ASSIGN_OR_RETURN(uint64_t version, GetU64Field(doc, "format_version"));
  if (version > kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("meta.json: newer format version ", version, " (this sprout reads up to ",
                     kFormatVersion, "): upgrade sprout to read this block"));
  }
  if (version < 1) return Invalid(absl::StrCat("unknown format version ", version));
  meta.format_version = static_cast<uint32_t>(version);
  ASSIGN_OR_RETURN(meta.block_id, GetStrField(doc, "block_id"));
  ASSIGN_OR_RETURN(meta.tenant, GetStrField(doc, "tenant"));
  ASSIGN_OR_RETURN(meta.start_unix_nano, GetU64Field(doc, "start_unix_nano"));
  ASSIGN_OR_RETURN(meta.end_unix_nano, GetU64Field(doc, "end_unix_nano"));
  ASSIGN_OR_RETURN(meta.min_trace_id, GetTraceIdField(doc, "min_trace_id"));
  ASSIGN_OR_RETURN(meta.max_trace_id, GetTraceIdField(doc, "max_trace_id"));
  ASSIGN_OR_RETURN(meta.trace_count, GetU64Field(doc, "trace_count"));
  ASSIGN_OR_RETURN(meta.span_count, GetU64Field(doc, "span_count"));
  ASSIGN_OR_RETURN(uint64_t pages, GetU64Field(doc, "page_count"));
  if (pages > 0xffffffffu) return Invalid("\"page_count\" out of range");
  meta.page_count = static_cast<uint32_t>(pages);
  ASSIGN_OR_RETURN(meta.data_bytes, GetU64Field(doc, "data_bytes"));
  ASSIGN_OR_RETURN(meta.index_bytes, GetU64Field(doc, "index_bytes"));
  ASSIGN_OR_RETURN(meta.bloom_bytes, GetU64Field(doc, "bloom_bytes"));
  ASSIGN_OR_RETURN(meta.otlp_bytes, GetU64Field(doc, "otlp_bytes"));
  ASSIGN_OR_RETURN(uint64_t level, GetU64Field(doc, "compaction_level"));
  if (level > 0xffffffffu) return Invalid("\"compaction_level\" out of range");
  meta.compaction_level = static_cast<uint32_t>(level);
  auto sources = doc.FindMember("sources");
  if (sources == doc.MemberEnd() || !sources->value.IsArray()) {
    return Invalid("\"sources\" is not an array");
  }
  for (const rapidjson::Value& s : sources->value.GetArray()) {
    if (!s.IsString()) return Invalid("\"sources\" holds a non-string");
    meta.sources.emplace_back(s.GetString(), s.GetStringLength());
  }
  ASSIGN_OR_RETURN(std::string created, GetStrField(doc, "created_at"));
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, created, &meta.created_at, &err)) {
    return Invalid(absl::StrCat("\"created_at\": ", err));
  }
  return meta;
}

absl::StatusOr<std::vector<std::string>> ListBlocks(objstore::ObjectStore* store,
                                                    std::string_view tenant) {
  const std::string prefix = absl::StrCat(AV(tenant), "/");
  objstore::ListOptions opts;
  opts.delimited = true;
  ASSIGN_OR_RETURN(objstore::ListResult listed, store->List(prefix, opts));
  std::vector<std::string> out;
  for (const std::string& p : listed.prefixes) {
    if (p.size() <= prefix.size() + 1) continue;
    std::string id = p.substr(prefix.size(), p.size() - prefix.size() - 1);
    ASSIGN_OR_RETURN(bool has_meta, store->Exists(BlockKey(tenant, id, kMetaObject)));
    if (has_meta) out.push_back(std::move(id));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sprout::traces::block
