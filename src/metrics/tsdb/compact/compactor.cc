#include "metrics/tsdb/compact/compactor.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "metrics/tsdb/block/format.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"

namespace sprout::metrics::tsdb {

namespace fmt = block_format;

// absl::StrCat takes absl::string_view, which is not std::string_view in this build.
constexpr char kMetaJson[] = "meta.json";
static_assert(std::string_view(kMetaJson) == block_format::kMetaFile);

absl::StatusOr<std::vector<BlockMeta>> ReadBlockMetas(objstore::ObjectStore* store,
                                                      std::string_view prefix,
                                                      TenantBucketIndex* bucket_index) {
  ASSIGN_OR_RETURN(std::vector<Ulid> ulids, ListBlocksPreferIndex(store, prefix, bucket_index));
  std::vector<BlockMeta> metas;
  metas.reserve(ulids.size());
  for (const Ulid& ulid : ulids) {
    const std::string key = absl::StrCat(BlockPrefix(prefix, ulid), "/", kMetaJson);
    absl::StatusOr<std::string> json = store->Get(key);
    if (absl::IsNotFound(json.status())) continue;  // deleted since the listing
    if (!json.ok()) return json.status();
    absl::StatusOr<BlockMeta> meta = ParseMeta(*json);
    if (!meta.ok()) {
      return absl::Status(meta.status().code(), absl::StrCat(key, ": ", meta.status().message()));
    }
    if (meta->ulid != ulid) {
      return absl::DataLossError(
          absl::StrCat(key, ": names block ", meta->ulid.ToString(), ", not its directory's"));
    }
    metas.push_back(*std::move(meta));
  }
  return metas;
}

absl::Status DeleteBlock(objstore::ObjectStore* store, std::string_view prefix, const Ulid& ulid) {
  const std::string block = BlockPrefix(prefix, ulid);
  RETURN_IF_ERROR(store->Delete(absl::StrCat(block, "/", kMetaJson)));
  return store->DeletePrefix(block + "/");
}

absl::Status RemoveLocalTree(storage::Env* env, const std::string& path) {
  absl::StatusOr<bool> dir = env->IsDirectory(path);
  if (absl::IsNotFound(dir.status())) return absl::OkStatus();
  if (!dir.ok()) return dir.status();
  if (!*dir) {
    ASSIGN_OR_RETURN(bool exists, env->Exists(path));
    return exists ? env->RemoveFile(path) : absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(path));
  for (const std::string& name : names) {
    RETURN_IF_ERROR(RemoveLocalTree(env, storage::JoinPath(path, name)));
  }
  return env->RemoveDir(path);
}

Compactor::Compactor(objstore::ObjectStore* store, std::string prefix, CompactorOptions options)
    : store_(store), prefix_(std::move(prefix)), options_(std::move(options)) {}

absl::Status Compactor::CleanLocalDir() {
  if (options_.local_dir.empty()) {
    return absl::InvalidArgumentError("compactor: no local directory configured");
  }
  ASSIGN_OR_RETURN(bool exists, options_.env->Exists(options_.local_dir));
  if (!exists) return options_.env->CreateDirs(options_.local_dir);
  ASSIGN_OR_RETURN(std::vector<std::string> names, options_.env->ListDir(options_.local_dir));
  for (const std::string& name : names) {
    RETURN_IF_ERROR(RemoveLocalTree(options_.env, storage::JoinPath(options_.local_dir, name)));
  }
  return absl::OkStatus();
}

absl::StatusOr<CompactionRunResult> Compactor::Run() {
  CompactionRunResult result;
  RETURN_IF_ERROR(CleanLocalDir());
  ASSIGN_OR_RETURN(std::vector<BlockMeta> metas,
                   ReadBlockMetas(store_, prefix_, options_.bucket_index));

  // Finish interrupted compactions: their sources are still there beside the new block.
  const std::vector<Ulid> covered = CoveredBlocks(metas);
  for (const Ulid& ulid : covered) {
    absl::Status deleted = DeleteBlock(store_, prefix_, ulid);
    if (!deleted.ok() && !result.deleted_covered.empty() && options_.bucket_index != nullptr) {
      (void)options_.bucket_index->Update({}, result.deleted_covered);
    }
    RETURN_IF_ERROR(deleted);
    result.deleted_covered.push_back(ulid);
  }
  if (!covered.empty() && options_.bucket_index != nullptr) {
    (void)options_.bucket_index->Update({}, covered);
  }
  std::erase_if(metas, [&](const BlockMeta& m) {
    return std::binary_search(covered.begin(), covered.end(), m.ulid);
  });

  int done = 0;
  while (done < options_.max_compactions_per_run) {
    const int64_t now_ms = absl::ToUnixMillis(options_.clock->Now());
    std::vector<CompactionPlan> plans = PlanCompactions(metas, options_.planner, now_ms);
    if (plans.empty()) break;
    for (const CompactionPlan& plan : plans) {
      if (done >= options_.max_compactions_per_run) break;
      ASSIGN_OR_RETURN(BlockMeta made, Compact(plan, &result.merge));
      std::erase_if(metas, [&](const BlockMeta& m) {
        return std::any_of(plan.blocks.begin(), plan.blocks.end(),
                           [&](const BlockMeta& s) { return s.ulid == m.ulid; });
      });
      metas.push_back(made);
      result.new_blocks.push_back(std::move(made));
      ++done;
    }
  }
  return result;
}

absl::StatusOr<BlockMeta> Compactor::Compact(const CompactionPlan& plan, MergeStats* stats) {
  if (plan.blocks.empty()) return absl::InvalidArgumentError("compactor: empty plan");
  std::vector<std::unique_ptr<BlockReader>> readers;
  std::vector<const BlockReader*> views;
  BlockWriterOptions wopts;
  wopts.ulid = Ulid::Generate();
  wopts.segment_size = options_.segment_size;
  int64_t min_t = INT64_MAX, max_t = INT64_MIN;
  int level = 0;
  for (const BlockMeta& m : plan.blocks) {
    ASSIGN_OR_RETURN(std::unique_ptr<BlockReader> r,
                     BlockReader::Open(store_, BlockPrefix(prefix_, m.ulid)));
    const BlockMeta& meta = r->meta();
    min_t = std::min(min_t, meta.min_time);
    max_t = std::max(max_t, meta.max_time);
    level = std::max(level, meta.compaction_level);
    if (meta.sources.empty()) {
      wopts.sources.push_back(meta.ulid);
    } else {
      wopts.sources.insert(wopts.sources.end(), meta.sources.begin(), meta.sources.end());
    }
    wopts.parents.push_back({meta.ulid, meta.min_time, meta.max_time});
    views.push_back(r.get());
    readers.push_back(std::move(r));
  }
  std::sort(wopts.sources.begin(), wopts.sources.end());
  wopts.sources.erase(std::unique(wopts.sources.begin(), wopts.sources.end()), wopts.sources.end());
  wopts.min_time = min_t;
  wopts.max_time = max_t;
  wopts.compaction_level = level + 1;

  const std::string dir = storage::JoinPath(options_.local_dir, wopts.ulid.ToString());
  RETURN_IF_ERROR(options_.env->CreateDirs(options_.local_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<BlockWriter> writer,
                   BlockWriter::Create(options_.env, dir, wopts));
  MergeStats local;
  absl::Status st = MergeBlocks(views, writer.get(), &local);
  if (st.ok()) st = writer->Finish();
  absl::StatusOr<std::string> uploaded =
      st.ok() ? writer->Upload(store_, prefix_) : absl::StatusOr<std::string>(st);
  // The local copy is not needed whatever happened (a leftover is removed by the next Run).
  absl::Status removed = writer->RemoveLocal();
  if (!uploaded.ok()) {
    return absl::Status(uploaded.status().code(),
                        absl::StrCat("compacting ", plan.blocks.size(), " blocks into ",
                                     wopts.ulid.ToString(), ": ", uploaded.status().message()));
  }
  (void)removed;
  // The new block is visible: readers of the index learn it before any source goes (a failed
  // index Put makes them list the bucket instead).
  if (options_.bucket_index != nullptr) {
    const BucketIndexBlock added =
        IndexBlockFromMeta(writer->meta(), writer->num_segments(), options_.clock->Now());
    (void)options_.bucket_index->Update(std::span<const BucketIndexBlock>(&added, 1), {});
  }
  // The sources may go. A failure from here on leaves duplicates, which the next Run removes
  // (CoveredBlocks).
  if (options_.before_deleting_sources) options_.before_deleting_sources();
  std::vector<Ulid> deleted;
  absl::Status st_delete;
  for (const BlockMeta& m : plan.blocks) {
    st_delete = DeleteBlock(store_, prefix_, m.ulid);
    if (!st_delete.ok()) break;
    deleted.push_back(m.ulid);
  }
  // A source whose meta.json went is gone for readers; one that failed may still be whole, and
  // the index keeps listing it until the next Run deletes it (or a listing shows it gone).
  if (options_.bucket_index != nullptr && !deleted.empty()) {
    (void)options_.bucket_index->Update({}, deleted);
  }
  RETURN_IF_ERROR(st_delete);
  *stats += local;
  return writer->meta();
}

}  // namespace sprout::metrics::tsdb
