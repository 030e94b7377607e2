#include "metrics/tsdb/block/meta.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "metrics/tsdb/block/format.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

namespace sprout::metrics::tsdb {
namespace {

using JsonWriter = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void Key(JsonWriter& w, const char* key) { w.Key(key); }

void UlidValue(JsonWriter& w, const Ulid& u) {
  const std::string s = u.ToString();
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("meta.json: ", AV(what)));
}

absl::StatusOr<int64_t> GetInt64(const rapidjson::Value& obj, const char* key, bool required) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) {
    if (required) return Invalid(absl::StrCat("missing \"", key, "\""));
    return 0;
  }
  if (!it->value.IsInt64()) return Invalid(absl::StrCat("\"", key, "\" is not an integer"));
  return it->value.GetInt64();
}

absl::StatusOr<uint64_t> GetUint64(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return 0;  // Prometheus omits zero counts
  if (!it->value.IsUint64()) {
    return Invalid(absl::StrCat("\"stats.", key, "\" is not a non-negative integer"));
  }
  return it->value.GetUint64();
}

absl::StatusOr<Ulid> GetUlid(const rapidjson::Value& v, std::string_view where) {
  if (!v.IsString()) return Invalid(absl::StrCat(AV(where), " is not a string"));
  absl::StatusOr<Ulid> u = Ulid::Parse(std::string_view(v.GetString(), v.GetStringLength()));
  if (!u.ok()) return Invalid(absl::StrCat(AV(where), ": ", u.status().message()));
  return u;
}

}  // namespace

std::string MetaToJson(const BlockMeta& meta) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.SetIndent('\t', 1);
  w.StartObject();
  Key(w, "ulid");
  UlidValue(w, meta.ulid);
  Key(w, "minTime");
  w.Int64(meta.min_time);
  Key(w, "maxTime");
  w.Int64(meta.max_time);
  Key(w, "stats");
  w.StartObject();
  Key(w, "numSamples");
  w.Uint64(meta.stats.num_samples);
  Key(w, "numFloatSamples");
  w.Uint64(meta.stats.num_float_samples);
  Key(w, "numHistogramSamples");
  w.Uint64(meta.stats.num_histogram_samples);
  Key(w, "numSeries");
  w.Uint64(meta.stats.num_series);
  Key(w, "numChunks");
  w.Uint64(meta.stats.num_chunks);
  w.EndObject();
  Key(w, "compaction");
  w.StartObject();
  Key(w, "level");
  w.Int(meta.compaction_level);
  Key(w, "sources");
  w.StartArray();
  for (const Ulid& u : meta.sources) UlidValue(w, u);
  w.EndArray();
  if (!meta.parents.empty()) {
    Key(w, "parents");
    w.StartArray();
    for (const BlockParent& p : meta.parents) {
      w.StartObject();
      Key(w, "ulid");
      UlidValue(w, p.ulid);
      Key(w, "minTime");
      w.Int64(p.min_time);
      Key(w, "maxTime");
      w.Int64(p.max_time);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  Key(w, "version");
  w.Int(meta.version);
  w.EndObject();
  std::string out(buffer.GetString(), buffer.GetSize());
  out.push_back('\n');
  return out;
}

absl::StatusOr<BlockMeta> ParseMeta(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return Invalid(absl::StrCat("not JSON: ", rapidjson::GetParseError_En(doc.GetParseError()),
                                " at offset ", doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) return Invalid("not a JSON object");
  BlockMeta meta;

  // The version first: a newer format may have changed anything else.
  ASSIGN_OR_RETURN(int64_t version, GetInt64(doc, "version", /*required=*/true));
  if (version > block_format::kMetaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "meta.json: block format version ", version, " is newer than this sprout reads (up to ",
        block_format::kMetaVersion, "): upgrade sprout to read this block"));
  }
  if (version < 1) return Invalid(absl::StrCat("unknown version ", version));
  meta.version = static_cast<int>(version);

  auto ulid = doc.FindMember("ulid");
  if (ulid == doc.MemberEnd()) return Invalid("missing \"ulid\"");
  ASSIGN_OR_RETURN(meta.ulid, GetUlid(ulid->value, "\"ulid\""));
  ASSIGN_OR_RETURN(meta.min_time, GetInt64(doc, "minTime", true));
  ASSIGN_OR_RETURN(meta.max_time, GetInt64(doc, "maxTime", true));
  if (meta.max_time < meta.min_time) {
    return Invalid(absl::StrCat("maxTime ", meta.max_time, " before minTime ", meta.min_time));
  }

  if (auto stats = doc.FindMember("stats"); stats != doc.MemberEnd()) {
    if (!stats->value.IsObject()) return Invalid("\"stats\" is not an object");
    const rapidjson::Value& s = stats->value;
    ASSIGN_OR_RETURN(meta.stats.num_samples, GetUint64(s, "numSamples"));
    ASSIGN_OR_RETURN(meta.stats.num_float_samples, GetUint64(s, "numFloatSamples"));
    ASSIGN_OR_RETURN(meta.stats.num_histogram_samples, GetUint64(s, "numHistogramSamples"));
    ASSIGN_OR_RETURN(meta.stats.num_series, GetUint64(s, "numSeries"));
    ASSIGN_OR_RETURN(meta.stats.num_chunks, GetUint64(s, "numChunks"));
  }

  auto compaction = doc.FindMember("compaction");
  if (compaction == doc.MemberEnd()) return Invalid("missing \"compaction\"");
  if (!compaction->value.IsObject()) return Invalid("\"compaction\" is not an object");
  const rapidjson::Value& c = compaction->value;
  ASSIGN_OR_RETURN(int64_t level, GetInt64(c, "level", true));
  if (level < 1 || level > std::numeric_limits<int>::max()) {
    return Invalid(absl::StrCat("compaction level ", level, " out of range"));
  }
  meta.compaction_level = static_cast<int>(level);
  if (auto sources = c.FindMember("sources"); sources != c.MemberEnd()) {
    if (!sources->value.IsArray()) return Invalid("\"compaction.sources\" is not an array");
    for (const auto& v : sources->value.GetArray()) {
      ASSIGN_OR_RETURN(Ulid u, GetUlid(v, "\"compaction.sources\" entry"));
      meta.sources.push_back(u);
    }
  }
  if (auto parents = c.FindMember("parents"); parents != c.MemberEnd()) {
    if (!parents->value.IsArray()) return Invalid("\"compaction.parents\" is not an array");
    for (const auto& v : parents->value.GetArray()) {
      if (!v.IsObject()) return Invalid("\"compaction.parents\" entry is not an object");
      auto pu = v.FindMember("ulid");
      if (pu == v.MemberEnd()) return Invalid("\"compaction.parents\" entry without \"ulid\"");
      BlockParent p;
      ASSIGN_OR_RETURN(p.ulid, GetUlid(pu->value, "\"compaction.parents\" ulid"));
      ASSIGN_OR_RETURN(p.min_time, GetInt64(v, "minTime", true));
      ASSIGN_OR_RETURN(p.max_time, GetInt64(v, "maxTime", true));
      meta.parents.push_back(p);
    }
  }
  return meta;
}

namespace block_format {

std::string SegmentName(uint32_t segment) {
  std::string digits = absl::StrCat(segment);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return digits;
}

}  // namespace block_format
}  // namespace sprout::metrics::tsdb
