// libFuzzer target for WAL replay (tests/fuzz/README.md): any bytes in a head's `wal/` directory
// — segments, checkpoints, finished or not — either open (then reads, an Append and a reopen
// work) or fail Open with an error; never a crash, hang or allocation beyond a small multiple of
// the input.
//
// The input is a set of WAL files (wal_fuzz_input.h: a flags byte, then files behind markers,
// their CRCs optionally fixed so mutations reach the record decoders), written into a
// FaultInjectionEnv (in memory) and replayed by TenantHead::Open. When it opens:
//  - every series is read back through SelectSamples (one selector per label name), each sample
//    at most once per selector: never more samples than replay stored;
//  - LabelNames/LabelValues/Series/Exemplars/Metadata/Stats/MemoryBytes answer;
//  - an Append of one sample to a new series and one to a replayed series succeeds (the head
//    is usable), and the appended sample reads back unless it was refused;
//  - with kReopen (and kTruncate: Truncate first, which writes a checkpoint), the head is closed
//    and reopened: the reopen must succeed and hold exactly the series and samples the first
//    head held — replay is deterministic and the WAL the head itself wrote (records after
//    damage, a checkpoint) replays.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/head/wal_fuzz_input.h"
#include "metrics/tsdb/index/matcher.h"
#include "storage/fault_injection_env.h"

namespace tsdb = sprout::metrics::tsdb;
namespace chunkenc = sprout::metrics::chunkenc;
namespace wal_fuzz = tsdb::wal_fuzz;

namespace {

constexpr char kDir[] = "/head";

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "wal_replay_fuzzer: %s\n", what);
  std::abort();
}

uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// Every series with its samples (type, time, value bits or histogram fields), in label order.
using Dump = std::map<std::string, std::vector<std::string>>;

std::string SampleText(chunkenc::ValueType vt, chunkenc::Iterator& it) {
  std::string out;
  if (vt == chunkenc::ValueType::kFloat) {
    auto [t, v] = it.At();
    out = std::to_string(t) + "f" + std::to_string(Bits(v));
  } else if (vt == chunkenc::ValueType::kHistogram) {
    chunkenc::Histogram h;
    const int64_t t = it.AtHistogram(&h);
    out = std::to_string(t) + "h" + std::to_string(h.count) + "/" + std::to_string(Bits(h.sum)) +
          "/" + std::to_string(h.positive_buckets.size()) + "/" +
          std::to_string(h.negative_buckets.size());
  } else {
    chunkenc::FloatHistogram h;
    const int64_t t = it.AtFloatHistogram(&h);
    out = std::to_string(t) + "F" + std::to_string(Bits(h.count)) + "/" +
          std::to_string(Bits(h.sum)) + "/" + std::to_string(h.positive_buckets.size());
  }
  return out;
}

// Reads every series of the head through one selector per label name (names with `=~".+"`).
// Aborts when a selector returns more samples than replay and appends stored.
Dump ReadAll(const tsdb::TenantHead& head, uint64_t max_samples) {
  Dump dump;
  const std::vector<std::string> names = head.LabelNames({}, INT64_MIN, INT64_MAX);
  size_t selectors = 0;
  for (const std::string& name : names) {
    if (++selectors > 64) break;
    const tsdb::Matcher m = tsdb::Matcher::MustCreate(tsdb::Matcher::Type::kRegexMatch, name, ".+");
    std::unique_ptr<tsdb::HeadSeriesSet> set = head.SelectSamples({&m, 1}, INT64_MIN, INT64_MAX);
    uint64_t read = 0;
    while (set->Next()) {
      std::vector<std::string>& samples = dump[set->labels().ToString()];
      const bool first_time = samples.empty();
      chunkenc::Iterator& it = set->samples();
      for (chunkenc::ValueType vt = it.Next(); vt != chunkenc::ValueType::kNone; vt = it.Next()) {
        if (++read > max_samples) Fail("a selector read more samples than the head stored");
        if (first_time) samples.push_back(SampleText(vt, it));
      }
      if (!it.Err().ok()) Fail("a head iterator reported corruption");
    }
    (void)head.LabelValues(name, {&m, 1}, INT64_MIN, INT64_MAX);
    (void)head.Series({&m, 1}, INT64_MIN, INT64_MAX);
    (void)head.Exemplars({&m, 1}, INT64_MIN, INT64_MAX);
  }
  return dump;
}

// For the report of a failed comparison: the series whose samples differ.
void PrintDifference(const Dump& before, const Dump& after) {
  auto print = [](const char* what, const std::string& series, const std::vector<std::string>* s) {
    std::fprintf(stderr, "  %s %s:", what, series.c_str());
    if (s == nullptr) {
      std::fprintf(stderr, " (absent)\n");
      return;
    }
    for (size_t i = 0; i < s->size() && i < 12; ++i) std::fprintf(stderr, " %s", (*s)[i].c_str());
    std::fprintf(stderr, "%s\n", s->size() > 12 ? " ..." : "");
  };
  Dump all = before;
  all.insert(after.begin(), after.end());
  for (const auto& [series, unused] : all) {
    auto b = before.find(series);
    auto a = after.find(series);
    const std::vector<std::string>* bs = b == before.end() ? nullptr : &b->second;
    const std::vector<std::string>* as = a == after.end() ? nullptr : &a->second;
    if (bs != nullptr && as != nullptr && *bs == *as) continue;
    print("before", series, bs);
    print("after ", series, as);
  }
}

tsdb::HeadOptions Options(sprout::storage::Env* env, uint8_t flags) {
  tsdb::HeadOptions o;
  o.env = env;
  o.dir = kDir;
  o.wal_sync = sprout::storage::SyncPolicy::kManual;
  o.max_exemplars = (flags & wal_fuzz::kExemplars) != 0 ? 16 : 0;
  if ((flags & wal_fuzz::kSmallChunks) != 0) {
    o.samples_per_chunk = 4;
    o.chunk_range_ms = 3600 * 1000;
  }
  o.wal_segment_size = (flags & wal_fuzz::kSmallSegments) != 0 ? 256 : 64 << 20;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const wal_fuzz::WalFuzzInput in =
      wal_fuzz::ParseWalFuzzInput(std::string_view(reinterpret_cast<const char*>(data), size));
  sprout::storage::FaultInjectionEnv env;
  if (!wal_fuzz::UnpackWalFiles(in, &env, kDir).ok()) Fail("cannot write the input's files");

  absl::StatusOr<std::unique_ptr<tsdb::TenantHead>> opened =
      tsdb::TenantHead::Open(Options(&env, in.flags));
  if (!opened.ok()) return 0;  // an error is a fine answer to a damaged WAL
  std::unique_ptr<tsdb::TenantHead> head = *std::move(opened);
  const tsdb::ReplayStats& replay = head->replay_stats();
  // Each stored sample is read at most once per selector.
  uint64_t stored = replay.samples + replay.histograms;
  Dump before = ReadAll(*head, stored);
  (void)head->Metadata();
  (void)head->Stats();
  (void)head->MemoryBytes();

  // The head takes appends: a new series and one it replayed.
  const tsdb::HeadStats stats = head->Stats();
  const int64_t t = stats.max_time == INT64_MIN ? 0 : stats.max_time;
  std::vector<tsdb::Labels> targets = {
      tsdb::Labels::FromStrings({"__name__", "wal_fuzz_appended", "job", "fuzz"})};
  const tsdb::Matcher any = tsdb::Matcher::MustCreate(tsdb::Matcher::Type::kNotEqual, "zz", "z");
  std::vector<tsdb::Labels> replayed = head->Series({&any, 1}, INT64_MIN, INT64_MAX);
  if (!replayed.empty()) targets.push_back(replayed.front());
  std::vector<bool> appended;
  for (const tsdb::Labels& labels : targets) {
    const tsdb::FloatSample sample{t, 42.5};
    tsdb::AppendSeries series;
    series.labels = labels;
    series.samples = {&sample, 1};
    tsdb::AppendRequest request;
    request.series = {&series, 1};
    const tsdb::AppendResult r = head->Append(request);
    if (!r.status.ok()) {
      std::fprintf(stderr, "%s\n", r.status.ToString().c_str());
      Fail("Append failed after a successful replay");
    }
    if (r.samples_appended + r.samples_refused + r.duplicates_ignored != 1) {
      Fail("Append did not account for its one sample");
    }
    stored += r.samples_appended;
    appended.push_back(r.samples_appended == 1);
  }
  if (!head->SyncWal().ok()) Fail("SyncWal failed");
  before = ReadAll(*head, stored);
  const std::string expected = std::to_string(t) + "f" + std::to_string(Bits(42.5));
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!appended[i]) continue;
    auto it = before.find(targets[i].ToString());
    if (it == before.end() || it->second.empty() || it->second.back() != expected) {
      Fail("an appended sample does not read back");
    }
  }

  if ((in.flags & wal_fuzz::kReopen) == 0) return 0;
  if ((in.flags & wal_fuzz::kTruncate) != 0) {
    const tsdb::HeadStats now = head->Stats();
    if (now.min_time <= now.max_time) {
      // At a chunk range boundary, as a block cut truncates: no chunk straddles it, so memory
      // keeps exactly the samples at or after it, which is what the checkpoint holds.
      const int64_t range = Options(&env, in.flags).chunk_range_ms;
      const int64_t mid = now.min_time / 2 + now.max_time / 2;
      const int64_t maxt = (mid / range - (mid % range < 0 ? 1 : 0)) * range;
      if (absl::Status st = head->Truncate(maxt); !st.ok()) {
        std::fprintf(stderr, "%s\n", st.ToString().c_str());
        Fail("Truncate failed");
      }
      before = ReadAll(*head, stored);
    }
  }
  head.reset();
  opened = tsdb::TenantHead::Open(Options(&env, in.flags));
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    Fail("the head's own WAL does not reopen");
  }
  const Dump after = ReadAll(**opened, stored);
  if (after != before) {
    PrintDifference(before, after);
    Fail("the reopened head differs from the head that was closed");
  }
  return 0;
}
