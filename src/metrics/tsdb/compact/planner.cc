#include "metrics/tsdb/compact/planner.h"

#include <algorithm>
#include <map>
#include <set>

namespace sprout::metrics::tsdb {
namespace {

// floor(t / r) * r for negative times too.
int64_t AlignDown(int64_t t, int64_t r) {
  int64_t q = t / r;
  if (t % r != 0 && t < 0) --q;
  return q * r;
}

}  // namespace

std::vector<Ulid> CoveredBlocks(std::span<const BlockMeta> metas) {
  std::vector<std::set<Ulid>> sets;
  sets.reserve(metas.size());
  for (const BlockMeta& m : metas) {
    std::set<Ulid> s(m.sources.begin(), m.sources.end());
    if (s.empty()) s.insert(m.ulid);  // a level-1 block is its own source
    sets.push_back(std::move(s));
  }
  std::vector<Ulid> covered;
  for (size_t b = 0; b < metas.size(); ++b) {
    for (size_t c = 0; c < metas.size(); ++c) {
      if (b == c || metas[b].ulid == metas[c].ulid) continue;
      bool subset = true;
      for (const Ulid& u : sets[b]) {
        if (!sets[c].contains(u)) {
          subset = false;
          break;
        }
      }
      if (!subset) continue;
      // Equal sets: keep the larger ULID (the later of two identical compactions).
      if (sets[b].size() == sets[c].size() && metas[b].ulid > metas[c].ulid) continue;
      covered.push_back(metas[b].ulid);
      break;
    }
  }
  std::sort(covered.begin(), covered.end());
  covered.erase(std::unique(covered.begin(), covered.end()), covered.end());
  return covered;
}

std::vector<CompactionPlan> PlanCompactions(std::span<const BlockMeta> metas,
                                            const PlannerOptions& options, int64_t now_ms) {
  const std::vector<int64_t>& ranges = options.ranges_ms;
  if (ranges.empty()) return {};
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i] <= 0 || (i > 0 && ranges[i] <= ranges[i - 1])) return {};
  }
  const std::vector<Ulid> covered = CoveredBlocks(metas);
  std::vector<const BlockMeta*> live;
  int64_t newest_max = INT64_MIN;
  for (const BlockMeta& m : metas) {
    if (std::binary_search(covered.begin(), covered.end(), m.ulid)) continue;
    live.push_back(&m);
    newest_max = std::max(newest_max, m.max_time);
  }
  std::sort(live.begin(), live.end(), [](const BlockMeta* a, const BlockMeta* b) {
    if (a->min_time != b->min_time) return a->min_time < b->min_time;
    return a->ulid < b->ulid;
  });

  for (size_t level = 1; level < ranges.size(); ++level) {
    const int64_t r = ranges[level];
    std::map<int64_t, std::vector<const BlockMeta*>> groups;  // by range start
    for (const BlockMeta* m : live) {
      if (m->max_time < m->min_time) continue;  // malformed; never planned
      const int64_t start = AlignDown(m->min_time, r);
      if (start > INT64_MAX - r) continue;
      // [min, max) must end by start + r (an empty block, min == max, fits where it starts).
      if (m->max_time - start > r) continue;
      groups[start].push_back(m);
    }
    std::vector<CompactionPlan> plans;
    for (const auto& [start, blocks] : groups) {
      if (blocks.size() < 2) continue;
      const int64_t end = start + r;
      const bool newer_data = newest_max > end;
      const bool old_enough = end <= now_ms - options.complete_delay_ms;
      if (!newer_data && !old_enough) continue;
      CompactionPlan plan;
      plan.range_start = start;
      plan.range_end = end;
      int64_t max_so_far = INT64_MIN;
      for (const BlockMeta* m : blocks) {
        if (m->min_time < max_so_far) plan.overlapping = true;
        max_so_far = std::max(max_so_far, m->max_time);
        plan.blocks.push_back(*m);
      }
      plans.push_back(std::move(plan));
    }
    if (!plans.empty()) return plans;
  }
  return {};
}

}  // namespace sprout::metrics::tsdb
