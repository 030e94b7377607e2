// libFuzzer target for traces WAL replay (tests/fuzz/README.md): any bytes as a tenant's WAL
// segments either fail TracesWal::Open / Replay with an error or replay; never a crash, hang or
// allocation beyond a small multiple of the input.
//
// The input (wal_fuzz_input.h): a flags byte, then segment files behind markers, their CRCs
// optionally fixed so that mutations reach the record decoder. When the WAL opens and replays:
//  - every batch's ResourceSpans views lie inside its TracesData view, and the stats count them;
//  - an Append of a new batch succeeds and the next Replay ends with exactly that batch;
//  - with kReopen (after Rotate + Truncate with kTruncate), the WAL reopens and replays the same
//    batches as before the close (only the appended one after a truncation).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "storage/fault_injection_env.h"
#include "traces/wal/traces_wal.h"
#include "traces/wal/wal_fuzz_input.h"

namespace twal = sprout::traces::wal;

namespace {

constexpr char kDir[] = "/tenant/wal";

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "traces_wal_replay_fuzzer: %s\n", what);
  std::abort();
}

twal::TracesWalOptions Options(uint8_t flags) {
  twal::TracesWalOptions o;
  o.sync = sprout::storage::SyncPolicy::kManual;
  o.segment_size = (flags & twal::fuzz::kSmallSegments) != 0 ? 256 : 64 << 20;
  return o;
}

// Replays, checking each batch; returns the batches as TracesData bytes, or nullopt on error.
std::optional<std::vector<std::string>> ReplayAll(twal::TracesWal& wal) {
  std::vector<std::string> batches;
  uint64_t rs = 0;
  absl::StatusOr<twal::ReplayStats> stats = wal.Replay([&](const twal::ReplayedBatch& b) {
    if (b.resource_spans.empty()) Fail("a batch without ResourceSpans");
    const char* lo = b.traces_data.data();
    const char* hi = lo + b.traces_data.size();
    for (std::string_view v : b.resource_spans) {
      if (v.data() < lo || v.data() + v.size() > hi) Fail("a ResourceSpans view outside its batch");
    }
    rs += b.resource_spans.size();
    batches.emplace_back(b.traces_data);
    return absl::OkStatus();
  });
  if (!stats.ok()) return std::nullopt;
  if (stats->batches != batches.size() || stats->resource_spans != rs) Fail("stats disagree");
  return batches;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const twal::fuzz::FuzzInput in =
      twal::fuzz::ParseFuzzInput(std::string_view(reinterpret_cast<const char*>(data), size));
  sprout::storage::FaultInjectionEnv env;
  if (!twal::fuzz::UnpackFuzzInput(in, &env, kDir).ok()) Fail("cannot write the input's files");

  absl::StatusOr<std::unique_ptr<twal::TracesWal>> opened =
      twal::TracesWal::Open(&env, kDir, Options(in.flags));
  if (!opened.ok()) return 0;  // an error is a fine answer to a damaged WAL
  std::unique_ptr<twal::TracesWal> wal = *std::move(opened);
  std::optional<std::vector<std::string>> first = ReplayAll(*wal);
  if (!first.has_value()) return 0;  // a newer version, refused

  // The WAL takes appends, and the next replay ends with the one appended.
  const std::string rs1 = "\x0a\x02\x0a\x00";  // any bytes: the WAL does not parse them
  const std::string rs2 = "fuzz";
  const std::string_view batch[] = {rs1, rs2};
  if (!wal->Append(batch).ok()) Fail("Append failed after a successful replay");
  if (!wal->Sync().ok()) Fail("Sync failed");
  const std::string expected = twal::EncodeBatch(batch).substr(1);
  std::optional<std::vector<std::string>> second = ReplayAll(*wal);
  if (!second.has_value()) Fail("the second replay failed");
  if (second->empty() || second->back() != expected) Fail("the appended batch does not replay");

  if ((in.flags & twal::fuzz::kReopen) == 0) return 0;
  if ((in.flags & twal::fuzz::kTruncate) != 0) {
    absl::StatusOr<uint64_t> next = wal->Rotate();
    if (!next.ok()) Fail("Rotate failed");
    if (!wal->Append(batch).ok() || !wal->Sync().ok()) Fail("Append after Rotate failed");
    if (!wal->Truncate(*next).ok()) Fail("Truncate failed");
    *second = {expected};
  }
  wal.reset();
  opened = twal::TracesWal::Open(&env, kDir, Options(in.flags));
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    Fail("the WAL's own directory does not reopen");
  }
  std::optional<std::vector<std::string>> third = ReplayAll(**opened);
  if (!third.has_value()) Fail("the reopened WAL does not replay");
  if (*third != *second) Fail("the reopened WAL replays different batches");
  return 0;
}
