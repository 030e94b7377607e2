// The memory a flush takes: a block is built one trace at a time from the job's stored bytes,
// never from the whole job parsed into messages.
//
// This binary replaces the global operator new/delete to count the bytes in use (each
// allocation's usable size) and their peak, so it is its own test executable: the counting
// stays out of every other test. The measure is allocations, not RSS: deterministic for a given
// input, independent of the allocator's caching and of the machine.
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "objstore/memory.h"
#include "storage/env.h"
#include "traces/block/block.h"
#include "traces/block/block_testing.h"
#include "traces/live/tenant_traces.h"
#include "traces/store/tenant_blocks.h"
#include "traces/store/trace_store.h"

namespace {

std::atomic<int64_t> g_in_use{0};
std::atomic<int64_t> g_peak{0};

void Count(void* p) {
  const int64_t n = static_cast<int64_t>(malloc_usable_size(p));
  const int64_t now = g_in_use.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void* Allocate(size_t n, size_t align) {
  if (n == 0) n = 1;
  void* p = align <= alignof(std::max_align_t)
                ? std::malloc(n)
                : std::aligned_alloc(align, (n + align - 1) / align * align);
  if (p != nullptr) Count(p);
  return p;
}

void Release(void* p) noexcept {
  if (p == nullptr) return;
  g_in_use.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}

void* AllocateOrThrow(size_t n, size_t align) {
  void* p = Allocate(n, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(size_t n) { return AllocateOrThrow(n, 0); }
void* operator new[](size_t n) { return AllocateOrThrow(n, 0); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return Allocate(n, 0); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return Allocate(n, 0); }
void* operator new(size_t n, std::align_val_t a) {
  return AllocateOrThrow(n, static_cast<size_t>(a));
}
void* operator new[](size_t n, std::align_val_t a) {
  return AllocateOrThrow(n, static_cast<size_t>(a));
}
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { Release(p); }

namespace sprout::traces::store {
namespace {

namespace tpb = ::opentelemetry::proto::trace::v1;

TEST(TracesFlushMemory, BlockIsBuiltOneTraceAtATime) {
  const std::string dir =
      (std::filesystem::path(::testing::TempDir()) /
       absl::StrCat("traces_flush_memory_", getpid(), "_", absl::ToUnixNanos(absl::Now())))
          .string();
  storage::Env* env = storage::Env::Default();
  ASSERT_TRUE(env->CreateDirs(dir).ok());
  live::TenantTracesOptions options;
  options.wal.sync = storage::SyncPolicy::kManual;
  absl::StatusOr<std::unique_ptr<live::TenantTraces>> t =
      live::TenantTraces::Open(env, dir, options);
  ASSERT_TRUE(t.ok()) << t.status();

  // 4000 realistic traces (~10 spans, ~400 OTLP bytes a span: ~16 MB), pushed 100 a request.
  const int64_t empty = g_in_use.load();
  std::mt19937_64 rng(14);
  constexpr int kTraces = 4000;
  for (int batch = 0; batch < kTraces / 100; ++batch) {
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
    for (int i = 0; i < 100; ++i) {
      tpb::TracesData td = block::testing::RealisticTrace(rng, block::testing::TraceId(rng));
      for (tpb::ResourceSpans& rs : *td.mutable_resource_spans()) {
        *req.add_resource_spans() = std::move(rs);
      }
    }
    absl::StatusOr<live::PushResult> pushed = (*t)->Push(req);
    ASSERT_TRUE(pushed.ok()) << pushed.status();
  }

  // What the pending set costs (printed for src/traces/store/README.md's Memory section).
  (*t)->CutIdle(absl::Now() + absl::Hours(1), absl::ZeroDuration());
  const int64_t held = g_in_use.load() - empty;
  const int64_t stored = (*t)->pending_bytes();
  ASSERT_EQ((*t)->pending_traces(), static_cast<size_t>(kTraces));

  objstore::MemoryObjectStore store;
  TenantBlocks blocks(&store, "tenant");
  block::BlockWriterOptions writer;
  writer.page_target_spans = 1024;  // a slice: the job is ~40 of them
  ObjectStoreBlockSink sink(
      &store, [&](std::string_view) -> absl::StatusOr<TenantBlocks*> { return &blocks; }, writer);

  // For scale: what the job's traces take as messages, all at once (what a flush materialising
  // the whole job would hold on top of the pending set).
  int64_t whole = 0;
  {
    const int64_t start = g_in_use.load();
    std::vector<tpb::TracesData> all;
    for (const std::string& id : (*t)->TraceIds()) all.push_back(*(*t)->FindTrace(id));
    whole = g_in_use.load() - start;
  }

  // From here: what the flush adds over the pending set it starts from.
  const int64_t before = g_in_use.load();
  g_peak.store(before);
  int64_t job_bytes = 0;
  int64_t job_spans = 0;
  absl::Duration start_time, write_time;
  {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<std::optional<live::FlushJob>> job =
        (*t)->StartFlush(absl::Now(), absl::ZeroDuration(), 0, /*force=*/true);
    start_time = absl::Now() - t0;
    ASSERT_TRUE(job.ok()) << job.status();
    ASSERT_TRUE(job->has_value());
    job_bytes = (*job)->bytes;
    job_spans = (*job)->spans;
    ASSERT_EQ((*job)->traces.size(), static_cast<size_t>(kTraces));
    const absl::Time t1 = absl::Now();
    ASSERT_TRUE(sink.WriteBlock("tenant", **job).ok());
    write_time = absl::Now() - t1;
    ASSERT_TRUE((*t)->CompleteFlush(**job, true).ok());
  }
  const int64_t added = g_peak.load() - before;
  std::cout << "pending set: " << held << " bytes of allocations for " << stored
            << " stored group bytes: " << held / job_spans << " B a span, of which "
            << stored / job_spans << " stored (merged OTLP " << job_bytes / job_spans << ")\n";
  const uint64_t block_bytes = sink.bytes_written()["tenant"];
  std::cout << "job: " << job_spans << " spans, " << job_bytes << " OTLP bytes; block "
            << block_bytes << " bytes; the flush's peak added " << added << " bytes ("
            << static_cast<double>(added) / static_cast<double>(job_bytes)
            << "x the job); the job as messages: " << whole << " bytes; StartFlush " << start_time
            << ", WriteBlock " << write_time << "\n";

  ASSERT_GT(job_bytes, 10'000'000);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_GE((*blocks.snapshot())[0]->meta().page_count, 30u);
  // The whole job as messages would take several times its OTLP bytes (protobuf objects per
  // span, attribute and value); one trace at a time, the peak is the block being built (its
  // compressed pages, the open page's columns, then the object written) and bookkeeping per
  // trace: a fraction of the job.
  EXPECT_LT(added, job_bytes / 2);
  EXPECT_LT(added, whole / 8);

  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace sprout::traces::store
