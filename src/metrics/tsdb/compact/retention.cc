#include "metrics/tsdb/compact/retention.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "metrics/tsdb/block/format.h"
#include "metrics/tsdb/compact/compactor.h"

namespace sprout::metrics::tsdb {

// absl::StrCat takes absl::string_view, which is not std::string_view in this build.
constexpr char kMetaJson[] = "meta.json";
static_assert(std::string_view(kMetaJson) == block_format::kMetaFile);

absl::StatusOr<std::vector<std::string>> DeletePartialBlocks(objstore::ObjectStore* store,
                                                             std::string_view prefix,
                                                             absl::Time modified_before) {
  std::string list_prefix(prefix);
  if (!list_prefix.empty() && list_prefix.back() != '/') list_prefix.push_back('/');
  objstore::ListOptions delimited;
  delimited.delimited = true;
  ASSIGN_OR_RETURN(objstore::ListResult listed, store->List(list_prefix, delimited));
  std::vector<std::string> deleted;
  for (const std::string& p : listed.prefixes) {
    std::string_view name = std::string_view(p).substr(list_prefix.size());
    if (!name.empty() && name.back() == '/') name.remove_suffix(1);
    if (!Ulid::Parse(name).ok()) continue;
    ASSIGN_OR_RETURN(bool complete, store->Exists(absl::StrCat(p, kMetaJson)));
    if (complete) continue;
    ASSIGN_OR_RETURN(objstore::ListResult objects, store->List(p));
    absl::Time newest = absl::InfinitePast();
    bool any = false;
    for (const std::string& key : objects.keys) {
      absl::StatusOr<objstore::ObjectAttributes> attrs = store->Attributes(key);
      if (absl::IsNotFound(attrs.status())) continue;
      if (!attrs.ok()) return attrs.status();
      newest = std::max(newest, attrs->last_modified);
      any = true;
    }
    if (!any || newest >= modified_before) continue;
    RETURN_IF_ERROR(store->DeletePrefix(p));
    deleted.push_back(p);
  }
  return deleted;
}

absl::StatusOr<RetentionResult> ApplyRetention(objstore::ObjectStore* store,
                                               std::string_view prefix, absl::Duration retention,
                                               absl::Time now, absl::Duration partial_block_delay,
                                               TenantBucketIndex* bucket_index) {
  RetentionResult result;
  if (retention > absl::ZeroDuration()) {
    const int64_t cut = absl::ToUnixMillis(now - retention);
    ASSIGN_OR_RETURN(std::vector<BlockMeta> metas, ReadBlockMetas(store, prefix, bucket_index));
    absl::Status st;
    for (const BlockMeta& m : metas) {
      if (m.max_time > cut) continue;  // holds a sample at or after the cut
      st = DeleteBlock(store, prefix, m.ulid);
      if (!st.ok()) break;
      result.deleted_blocks.push_back(m.ulid);
    }
    if (bucket_index != nullptr && !result.deleted_blocks.empty()) {
      (void)bucket_index->Update({}, result.deleted_blocks);
    }
    RETURN_IF_ERROR(st);
  }
  ASSIGN_OR_RETURN(result.deleted_partial,
                   DeletePartialBlocks(store, prefix, now - partial_block_delay));
  return result;
}

}  // namespace sprout::metrics::tsdb
