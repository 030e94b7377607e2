// BlockMeta: a block's meta.json — its identity, time range, statistics and compaction lineage —
// with the JSON field names Prometheus uses, so tools that read Prometheus/Thanos/Mimir blocks
// recognise ours:
//
//   {
//   	"ulid": "01J…",
//   	"minTime": 1700000000000,
//   	"maxTime": 1700007200000,
//   	"stats": {"numSamples": 4, "numFloatSamples": 4, "numHistogramSamples": 0,
//   	          "numSeries": 2, "numChunks": 2},
//   	"compaction": {"level": 1, "sources": ["01J…"]},
//   	"version": 1
//   }
//
// minTime is inclusive and maxTime exclusive (milliseconds). "compaction.parents" (ulid, minTime,
// maxTime of each source block) appears when a compaction made the block.
//
// ParseMeta refuses (InvalidArgument for JSON that is not a meta file, FailedPrecondition for a
// version newer than kMetaVersion, with a message saying so): this build cannot read a block a
// newer sprout wrote, and says that instead of misreading it.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/ulid.h"

namespace sprout::metrics::tsdb {

struct BlockStats {
  uint64_t num_samples = 0;  // float + histogram samples
  uint64_t num_float_samples = 0;
  uint64_t num_histogram_samples = 0;
  uint64_t num_series = 0;
  uint64_t num_chunks = 0;
};

struct BlockParent {
  Ulid ulid;
  int64_t min_time = 0;
  int64_t max_time = 0;
};

struct BlockMeta {
  Ulid ulid;
  int64_t min_time = 0;  // inclusive
  int64_t max_time = 0;  // exclusive
  BlockStats stats;
  int compaction_level = 1;
  std::vector<Ulid> sources;
  std::vector<BlockParent> parents;
  int version = 1;
};

// Pretty-printed with tabs, as Prometheus writes it; ends with a newline.
std::string MetaToJson(const BlockMeta& meta);
absl::StatusOr<BlockMeta> ParseMeta(std::string_view json);

}  // namespace sprout::metrics::tsdb
