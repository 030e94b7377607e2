#include "metrics/tsdb/block/bucket_index.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "metrics/tsdb/block/format.h"
#include "metrics/tsdb/block/writer.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sprout::metrics::tsdb {
namespace {

namespace fmt = block_format;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void String(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("bucket index: ", AV(what)));
}

absl::StatusOr<int64_t> Int(const rapidjson::Value& obj, const char* key, bool required) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || it->value.IsNull()) {
    if (required) return Invalid(absl::StrCat("missing \"", key, "\""));
    return 0;
  }
  if (!it->value.IsInt64()) return Invalid(absl::StrCat("\"", key, "\" is not an integer"));
  return it->value.GetInt64();
}

absl::StatusOr<std::string> Str(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || it->value.IsNull()) return std::string();
  if (!it->value.IsString()) return Invalid(absl::StrCat("\"", key, "\" is not a string"));
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

absl::StatusOr<Ulid> Id(const rapidjson::Value& obj) {
  auto it = obj.FindMember("block_id");
  if (it == obj.MemberEnd()) return Invalid("an entry without \"block_id\"");
  if (!it->value.IsString()) return Invalid("\"block_id\" is not a string");
  absl::StatusOr<Ulid> u =
      Ulid::Parse(std::string_view(it->value.GetString(), it->value.GetStringLength()));
  if (!u.ok()) return Invalid(absl::StrCat("\"block_id\": ", u.status().message()));
  return u;
}

absl::StatusOr<BucketIndexBlock> ParseBlock(const rapidjson::Value& v) {
  if (!v.IsObject()) return Invalid("a \"blocks\" entry is not an object");
  BucketIndexBlock b;
  ASSIGN_OR_RETURN(b.ulid, Id(v));
  ASSIGN_OR_RETURN(b.min_time, Int(v, "min_time", true));
  ASSIGN_OR_RETURN(b.max_time, Int(v, "max_time", true));
  if (b.max_time < b.min_time) {
    return Invalid(absl::StrCat("block ", b.ulid.ToString(), ": max_time ", b.max_time,
                                " before min_time ", b.min_time));
  }
  ASSIGN_OR_RETURN(b.uploaded_at, Int(v, "uploaded_at", false));
  ASSIGN_OR_RETURN(b.segments_format, Str(v, "segments_format"));
  ASSIGN_OR_RETURN(b.segments_num, Int(v, "segments_num", false));
  ASSIGN_OR_RETURN(b.compactor_shard_id, Str(v, "compactor_shard_id"));
  ASSIGN_OR_RETURN(b.source, Str(v, "source"));
  ASSIGN_OR_RETURN(int64_t level, Int(v, "compaction_level", false));
  if (level < 0 || level > std::numeric_limits<int>::max()) {
    return Invalid(absl::StrCat("compaction_level ", level, " out of range"));
  }
  b.compaction_level = static_cast<int>(level);
  if (auto o = v.FindMember("out_of_order"); o != v.MemberEnd() && !o->value.IsNull()) {
    if (!o->value.IsBool()) return Invalid("\"out_of_order\" is not a boolean");
    b.out_of_order = o->value.GetBool();
  }
  if (auto l = v.FindMember("labels"); l != v.MemberEnd() && !l->value.IsNull()) {
    if (!l->value.IsObject()) return Invalid("\"labels\" is not an object");
    for (const auto& m : l->value.GetObject()) {
      if (!m.value.IsString()) return Invalid("a \"labels\" value is not a string");
      b.labels.emplace(std::string(m.name.GetString(), m.name.GetStringLength()),
                       std::string(m.value.GetString(), m.value.GetStringLength()));
    }
  }
  return b;
}

}  // namespace

std::string BucketIndexKey(std::string_view prefix) {
  std::string_view p = prefix;
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return p.empty() ? std::string(kBucketIndexFile) : absl::StrCat(AV(p), "/", kBucketIndexFile);
}

std::string BucketIndexToJson(const BucketIndex& index) {
  std::vector<const BucketIndexBlock*> blocks;
  for (const BucketIndexBlock& b : index.blocks) blocks.push_back(&b);
  std::sort(blocks.begin(), blocks.end(), [](auto* a, auto* b) { return a->ulid < b->ulid; });
  std::vector<const BucketIndexDeletionMark*> marks;
  for (const BucketIndexDeletionMark& m : index.block_deletion_marks) marks.push_back(&m);
  std::sort(marks.begin(), marks.end(), [](auto* a, auto* b) { return a->ulid < b->ulid; });

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("version");
  w.Int(index.version);
  w.Key("blocks");
  w.StartArray();
  for (const BucketIndexBlock* b : blocks) {
    w.StartObject();
    w.Key("block_id");
    String(w, b->ulid.ToString());
    w.Key("min_time");
    w.Int64(b->min_time);
    w.Key("max_time");
    w.Int64(b->max_time);
    if (!b->segments_format.empty()) {
      w.Key("segments_format");
      String(w, b->segments_format);
    }
    if (b->segments_num != 0) {
      w.Key("segments_num");
      w.Int64(b->segments_num);
    }
    w.Key("uploaded_at");
    w.Int64(b->uploaded_at);
    if (!b->compactor_shard_id.empty()) {
      w.Key("compactor_shard_id");
      String(w, b->compactor_shard_id);
    }
    if (!b->source.empty()) {
      w.Key("source");
      String(w, b->source);
    }
    if (b->compaction_level != 0) {
      w.Key("compaction_level");
      w.Int(b->compaction_level);
    }
    if (b->out_of_order) {
      w.Key("out_of_order");
      w.Bool(true);
    }
    if (!b->labels.empty()) {
      w.Key("labels");
      w.StartObject();
      for (const auto& [k, v] : b->labels) {
        String(w, k);  // rapidjson's Key and String write the same
        String(w, v);
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("block_deletion_marks");
  w.StartArray();
  for (const BucketIndexDeletionMark* m : marks) {
    w.StartObject();
    w.Key("block_id");
    String(w, m->ulid.ToString());
    w.Key("deletion_time");
    w.Int64(m->deletion_time);
    w.EndObject();
  }
  w.EndArray();
  w.Key("updated_at");
  w.Int64(index.updated_at);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<BucketIndex> ParseBucketIndex(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return Invalid(absl::StrCat("not JSON: ", rapidjson::GetParseError_En(doc.GetParseError()),
                                " at offset ", doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) return Invalid("not a JSON object");
  BucketIndex index;
  ASSIGN_OR_RETURN(int64_t version, Int(doc, "version", true));
  if (version > kBucketIndexVersion) {
    return absl::FailedPreconditionError(absl::StrCat("bucket index: version ", version,
                                                      " is newer than this sprout reads (up to ",
                                                      kBucketIndexVersion, ")"));
  }
  if (version < 1) return Invalid(absl::StrCat("unknown version ", version));
  index.version = static_cast<int>(version);
  std::map<Ulid, BucketIndexBlock> blocks;
  if (auto it = doc.FindMember("blocks"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsArray()) return Invalid("\"blocks\" is not an array");
    for (const auto& v : it->value.GetArray()) {
      ASSIGN_OR_RETURN(BucketIndexBlock b, ParseBlock(v));
      blocks.insert_or_assign(b.ulid, std::move(b));
    }
  }
  for (auto& [u, b] : blocks) index.blocks.push_back(std::move(b));
  std::map<Ulid, BucketIndexDeletionMark> marks;
  if (auto it = doc.FindMember("block_deletion_marks");
      it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsArray()) return Invalid("\"block_deletion_marks\" is not an array");
    for (const auto& v : it->value.GetArray()) {
      if (!v.IsObject()) return Invalid("a \"block_deletion_marks\" entry is not an object");
      BucketIndexDeletionMark m;
      ASSIGN_OR_RETURN(m.ulid, Id(v));
      ASSIGN_OR_RETURN(m.deletion_time, Int(v, "deletion_time", false));
      marks.insert_or_assign(m.ulid, m);
    }
  }
  for (auto& [u, m] : marks) index.block_deletion_marks.push_back(m);
  ASSIGN_OR_RETURN(index.updated_at, Int(doc, "updated_at", true));
  return index;
}

absl::StatusOr<std::string> EncodeBucketIndex(const BucketIndex& index) {
  const std::string json = BucketIndexToJson(index);
  z_stream zs{};
  // windowBits 15 + 16: a gzip wrapper (header and CRC-32 trailer), as Go's gzip.Writer.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return absl::InternalError("bucket index: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, json.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(json.data()));
  zs.avail_in = static_cast<uInt>(json.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const size_t written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return absl::InternalError("bucket index: deflate failed");
  out.resize(written);
  return out;
}

absl::StatusOr<BucketIndex> DecodeBucketIndex(std::string_view gz) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) {
    return absl::InternalError("bucket index: inflateInit2 failed");
  }
  std::string json;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  char buf[64 << 10];
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    json.append(buf, sizeof(buf) - zs.avail_out);
    if (json.size() > kMaxBucketIndexBytes) {
      inflateEnd(&zs);
      return absl::DataLossError(
          absl::StrCat("bucket index: inflates beyond ", kMaxBucketIndexBytes, " bytes"));
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      rc = Z_BUF_ERROR;  // the input ended before the stream did
      break;
    }
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return absl::DataLossError(absl::StrCat("bucket index: not a whole gzip stream (zlib ", rc,
                                            zs.msg != nullptr ? absl::StrCat(": ", zs.msg) : "",
                                            ")"));
  }
  absl::StatusOr<BucketIndex> index = ParseBucketIndex(json);
  if (!index.ok() && index.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::DataLossError(index.status().message());
  }
  return index;
}

BucketIndexBlock IndexBlockFromMeta(const BlockMeta& meta, int64_t segments,
                                    absl::Time uploaded_at) {
  BucketIndexBlock b;
  b.ulid = meta.ulid;
  b.min_time = meta.min_time;
  b.max_time = meta.max_time;
  b.uploaded_at = absl::ToUnixSeconds(uploaded_at);
  if (segments > 0) {
    b.segments_format = kSegmentsFormat1Based6Digits;
    b.segments_num = segments;
  }
  b.compaction_level = meta.compaction_level;
  return b;
}

BlockMeta MetaFromIndexBlock(const BucketIndexBlock& block) {
  BlockMeta m;
  m.ulid = block.ulid;
  m.min_time = block.min_time;
  m.max_time = block.max_time;
  m.compaction_level = block.compaction_level > 0 ? block.compaction_level : 1;
  return m;
}

absl::StatusOr<BucketIndex> ReadBucketIndex(objstore::ObjectStore* store, std::string_view prefix) {
  const std::string key = BucketIndexKey(prefix);
  ASSIGN_OR_RETURN(std::string gz, store->Get(key));
  absl::StatusOr<BucketIndex> index = DecodeBucketIndex(gz);
  if (!index.ok()) {
    return absl::Status(index.status().code(), absl::StrCat(key, ": ", index.status().message()));
  }
  return index;
}

absl::Status WriteBucketIndex(objstore::ObjectStore* store, std::string_view prefix,
                              const BucketIndex& index) {
  ASSIGN_OR_RETURN(std::string gz, EncodeBucketIndex(index));
  return store->Put(BucketIndexKey(prefix), gz);
}

absl::StatusOr<BucketIndex> BuildBucketIndex(objstore::ObjectStore* store, std::string_view prefix,
                                             const BucketIndex* previous, absl::Time now) {
  ASSIGN_OR_RETURN(std::vector<Ulid> listed, ListBlocks(store, prefix));
  std::map<Ulid, const BucketIndexBlock*> known;
  if (previous != nullptr) {
    for (const BucketIndexBlock& b : previous->blocks) known[b.ulid] = &b;
  }
  BucketIndex index;
  index.updated_at = absl::ToUnixSeconds(now);
  for (const Ulid& u : listed) {
    if (auto it = known.find(u); it != known.end()) {
      index.blocks.push_back(*it->second);
      continue;
    }
    const std::string block = BlockPrefix(prefix, u);
    const std::string meta_key = absl::StrCat(block, "/", AV(fmt::kMetaFile));
    absl::StatusOr<std::string> json = store->Get(meta_key);
    if (absl::IsNotFound(json.status())) continue;  // deleted since the listing
    if (!json.ok()) return json.status();
    absl::StatusOr<BlockMeta> meta = ParseMeta(*json);
    if (!meta.ok() || meta->ulid != u) continue;  // not a block readers can use (Mimir skips it)
    absl::StatusOr<objstore::ObjectAttributes> attrs = store->Attributes(meta_key);
    if (absl::IsNotFound(attrs.status())) continue;
    if (!attrs.ok()) return attrs.status();
    ASSIGN_OR_RETURN(objstore::ListResult chunks,
                     store->List(absl::StrCat(block, "/", AV(fmt::kChunksDir), "/")));
    // Segments count only when they are exactly 000001 … 00000N (Mimir's "1b6d").
    int64_t segments = 0;
    for (const std::string& key : chunks.keys) {
      const std::string want = absl::StrCat(block, "/", AV(fmt::kChunksDir), "/",
                                            fmt::SegmentName(static_cast<uint32_t>(segments + 1)));
      if (key != want) {
        segments = 0;
        break;
      }
      ++segments;
    }
    index.blocks.push_back(IndexBlockFromMeta(*meta, segments, attrs->last_modified));
  }
  return index;
}

// ---- TenantBucketIndex ----

TenantBucketIndex::TenantBucketIndex(objstore::ObjectStore* store, std::string prefix,
                                     TenantBucketIndexOptions options)
    : store_(store), prefix_(std::move(prefix)), options_(std::move(options)) {}

absl::Time TenantBucketIndex::Now() const { return options_.now ? options_.now() : absl::Now(); }

void TenantBucketIndex::Report(std::string_view op, const absl::Status& status) const {
  if (options_.on_failure) options_.on_failure(op, status);
}

absl::Status TenantBucketIndex::PutLocked() {
  current_->updated_at = absl::ToUnixSeconds(Now());
  absl::Status s = WriteBucketIndex(store_, prefix_, *current_);
  synced_ = s.ok();
  if (s.ok()) {
    last_written_ = Now();
  } else {
    Report("put", s);
  }
  return s;
}

absl::Status TenantBucketIndex::ResyncLocked() {
  absl::StatusOr<BucketIndex> built =
      BuildBucketIndex(store_, prefix_, current_ ? &*current_ : nullptr, Now());
  if (!built.ok()) {
    current_.reset();
    synced_ = false;
    Report("list", built.status());
    return built.status();
  }
  // Deletion marks are not sprout's (it deletes at once); marks another tool wrote are kept
  // while their block is listed.
  if (current_) {
    for (const BucketIndexDeletionMark& m : current_->block_deletion_marks) {
      if (std::any_of(built->blocks.begin(), built->blocks.end(),
                      [&](const BucketIndexBlock& b) { return b.ulid == m.ulid; })) {
        built->block_deletion_marks.push_back(m);
      }
    }
  }
  current_ = *std::move(built);
  return PutLocked();
}

absl::Status TenantBucketIndex::Resync() {
  absl::MutexLock lock(&mu_);
  return ResyncLocked();
}

absl::Status TenantBucketIndex::Update(std::span<const BucketIndexBlock> added,
                                       std::span<const Ulid> removed) {
  absl::MutexLock lock(&mu_);
  if (!current_) {
    // Nothing trusted in memory: the listing shows the change already. The entries the writer
    // gave are more precise (segments) and kept.
    RETURN_IF_ERROR(ResyncLocked());
    // Fall through to apply `added` precisely (and `removed`, for a delete the listing raced).
  }
  auto& blocks = current_->blocks;
  for (const Ulid& u : removed) {
    std::erase_if(blocks, [&](const BucketIndexBlock& b) { return b.ulid == u; });
    std::erase_if(current_->block_deletion_marks,
                  [&](const BucketIndexDeletionMark& m) { return m.ulid == u; });
  }
  for (const BucketIndexBlock& a : added) {
    auto it = std::find_if(blocks.begin(), blocks.end(),
                           [&](const BucketIndexBlock& b) { return b.ulid == a.ulid; });
    if (it != blocks.end()) {
      *it = a;
    } else {
      blocks.push_back(a);
    }
  }
  std::sort(blocks.begin(), blocks.end(),
            [](const BucketIndexBlock& a, const BucketIndexBlock& b) { return a.ulid < b.ulid; });
  return PutLocked();
}

absl::StatusOr<BucketIndex> TenantBucketIndex::ReadForListing() {
  auto fallback = [&](std::string_view reason, absl::Status s) {
    if (options_.on_fallback) options_.on_fallback(reason);
    return s;
  };
  if (!synced_.load()) {
    return fallback("not_synced",
                    absl::FailedPreconditionError(absl::StrCat(
                        BucketIndexKey(prefix_), ": not synced with the bucket in this process")));
  }
  absl::StatusOr<BucketIndex> index = ReadBucketIndex(store_, prefix_);
  if (!index.ok()) {
    if (absl::IsNotFound(index.status())) return fallback("missing", index.status());
    const bool damaged = index.status().code() == absl::StatusCode::kDataLoss ||
                         index.status().code() == absl::StatusCode::kFailedPrecondition;
    if (!damaged) Report("get", index.status());
    return fallback(damaged ? "damaged" : "get_failed", index.status());
  }
  if (options_.max_stale_period > absl::ZeroDuration() &&
      absl::FromUnixSeconds(index->updated_at) < Now() - options_.max_stale_period) {
    return fallback("stale", absl::FailedPreconditionError(absl::StrCat(
                                 BucketIndexKey(prefix_), ": stale (updated at ", index->updated_at,
                                 ", older than the max stale period ",
                                 absl::FormatDuration(options_.max_stale_period), ")")));
  }
  return index;
}

bool TenantBucketIndex::synced() const { return synced_.load(); }

absl::Time TenantBucketIndex::last_written() const {
  absl::MutexLock lock(&mu_);
  return last_written_;
}

std::optional<BucketIndex> TenantBucketIndex::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<std::vector<Ulid>> ListBlocksPreferIndex(objstore::ObjectStore* store,
                                                        std::string_view prefix,
                                                        TenantBucketIndex* index,
                                                        bool* from_index) {
  if (from_index != nullptr) *from_index = false;
  if (index != nullptr) {
    absl::StatusOr<BucketIndex> read = index->ReadForListing();
    if (read.ok()) {
      if (from_index != nullptr) *from_index = true;
      std::vector<Ulid> out;
      out.reserve(read->blocks.size());
      for (const BucketIndexBlock& b : read->blocks) out.push_back(b.ulid);
      std::sort(out.begin(), out.end());
      return out;
    }
  }
  return ListBlocks(store, prefix);
}

}  // namespace sprout::metrics::tsdb
