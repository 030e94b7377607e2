#include "storage/segment_log.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/fault_injection_env.h"
#include "storage/log_writer.h"
#include "storage/testing.h"

namespace sprout::storage {
namespace {

using CrashMode = FaultInjectionEnv::CrashMode;
using storage::testing::FreshTempDir;
using storage::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kDir[] = "/wal";

// A payload that tells its own number and length: record i of `size` bytes.
std::string Payload(int i, size_t size) {
  std::string out = absl::StrCat("#", i, ":");
  while (out.size() < size) out.push_back(static_cast<char>('a' + (out.size() * 7 + i) % 26));
  out.resize(size);
  return out;
}

class SegmentLogTest : public ::testing::Test {
 protected:
  SegmentLogOptions Options(uint64_t segment_size = 64 << 20,
                            SyncPolicy sync = SyncPolicy::kEveryAppend) {
    SegmentLogOptions options;
    options.env = &env_;
    options.directory = kDir;
    options.segment_size = segment_size;
    options.sync = sync;
    options.on_damage = [this](const LogDamage& damage) {
      std::lock_guard<std::mutex> lock(mu_);
      damage_.push_back(damage);
    };
    return options;
  }
  std::unique_ptr<SegmentLog> OpenOrDie(SegmentLogOptions options) {
    auto log = SegmentLog::Open(std::move(options));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::unique_ptr<SegmentLog> OpenOrDie(uint64_t segment_size = 64 << 20) {
    return OpenOrDie(Options(segment_size));
  }
  std::vector<LogDamage> TakeDamage() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(damage_, {});
  }
  std::string SegmentFile(uint64_t n) const {
    std::string digits = std::to_string(n);
    return absl::StrCat(kDir, "/", std::string(20 - digits.size(), '0'), digits, ".log");
  }
  std::string Read(const std::string& path) { return *env_.ReadFile(path); }
  void Overwrite(const std::string& path, uint64_t offset, std::string_view bytes) {
    auto file = env_.OpenFile(path, OpenMode::kReadWrite);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->WriteAt(offset, bytes).ok());
    ASSERT_TRUE((*file)->Sync().ok());
  }

  FaultInjectionEnv env_;
  std::mutex mu_;
  std::vector<LogDamage> damage_;
};

// Every record from the start (or `from`).
std::vector<LogRecord> ReadAll(SegmentLog& log, std::optional<LogPosition> from = std::nullopt) {
  std::vector<LogRecord> out;
  auto reader = log.NewReader(from);
  while (true) {
    auto next = reader->Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) return out;
    out.push_back(std::move(**next));
  }
}
std::vector<std::string> Data(const std::vector<LogRecord>& records) {
  std::vector<std::string> out;
  for (const LogRecord& r : records) out.push_back(r.data);
  return out;
}

TEST_F(SegmentLogTest, RecordsOfEverySizeRoundTripAcrossReopen) {
  // Sizes around the block and chunk limits, empty, and records of many blocks.
  const std::vector<size_t> sizes = {0,     1,     100,   32760, 32759,   32761, 32768, 65536,
                                     65520, 65521, 10,    3,     2,       1,     0,     200000,
                                     5,     32752, 32753, 32751, 3 << 20, 7};
  std::vector<LogPosition> ends;
  {
    auto log = OpenOrDie();
    ASSERT_NE(log, nullptr);
    for (size_t i = 0; i < sizes.size(); ++i) {
      auto end = log->Append(static_cast<uint8_t>(1 + i % 3), Payload(i, sizes[i]));
      ASSERT_TRUE(end.ok()) << end.status();
      if (!ends.empty()) EXPECT_GT(*end, ends.back());
      ends.push_back(*end);
    }
    EXPECT_EQ(log->end(), ends.back());
    std::vector<LogRecord> records = ReadAll(*log);
    ASSERT_EQ(records.size(), sizes.size());
  }
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  std::vector<LogRecord> records = ReadAll(*log);
  ASSERT_EQ(records.size(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(records[i].type, 1 + i % 3) << i;
    EXPECT_TRUE(records[i].data == Payload(i, sizes[i]))
        << i << ": size " << records[i].data.size();
    EXPECT_EQ(records[i].end, ends[i]) << i;
    if (i > 0) EXPECT_EQ(records[i].position.offset >= ends[i - 1].offset, true);
  }
  EXPECT_EQ(log->segments(), std::vector<uint64_t>{1});
  EXPECT_THAT(TakeDamage(), IsEmpty());
}

TEST_F(SegmentLogTest, BytesOnDiskMatchTheFormatDoc) {
  {
    auto log = OpenOrDie();
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(1, "abc").ok());
  }
  // docs/format/segment-log.md: the header, then one FULL chunk of record type 1.
  const std::string bytes = Read(SegmentFile(1));
  ASSERT_EQ(bytes.size(), 32u + 8u + 3u);
  EXPECT_EQ(bytes.substr(0, 24), std::string("sproutlg\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24));
  // The CRCs were computed with an independent bit-by-bit CRC-32C and the LevelDB/snappy mask.
  EXPECT_EQ(bytes.substr(24, 8), std::string("\xc0\x49\x2f\x7e\0\0\0\0", 8));
  EXPECT_EQ(bytes.substr(32), std::string("\x58\x4b\x5c\x30\x03\x00\x01\x01"
                                          "abc",
                                          11));
}

TEST_F(SegmentLogTest, ChunksNeverCrossBlocksAndShortTrailersAreZeros) {
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  // The first block has 32768 - 32 (header) bytes; a record of 32768 - 32 - 8 - 8 - 3 payload
  // bytes leaves 3 bytes: too few for a chunk header, so they are zeros and the next record
  // starts at the second block.
  const size_t first = 32768 - 32 - 8 - 3;
  ASSERT_TRUE(log->Append(1, Payload(1, first)).ok());
  auto end = log->Append(2, "next");
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, (LogPosition{1, 32768 + 8 + 4}));
  const std::string bytes = Read(SegmentFile(1));
  EXPECT_EQ(bytes.substr(32768 - 3, 3), std::string(3, '\0'));
  EXPECT_EQ(bytes[32768 + 6], log::kFullChunk);
  std::vector<LogRecord> records = ReadAll(*log);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].position, (LogPosition{1, 32768}));
  EXPECT_EQ(records[1].data, "next");
  // A record spread over three blocks: FIRST, MIDDLE, LAST.
  ASSERT_TRUE(log->Append(3, Payload(3, 70000)).ok());
  const std::string after = Read(SegmentFile(1));
  const uint64_t at = 32768 + 12;
  EXPECT_EQ(after[at + 6], log::kFirstChunk);
  EXPECT_EQ(after[65536 + 6], log::kMiddleChunk);
  EXPECT_EQ(after[98304 + 6], log::kLastChunk);
  EXPECT_EQ(ReadAll(*log).back().data, Payload(3, 70000));
  EXPECT_EQ(log::ChunkEncoder::EncodedSize(at, 70000), after.size() - at);
}

TEST_F(SegmentLogTest, SegmentsRotateAndRecordsNeverSpanThem) {
  auto log = OpenOrDie(/*segment_size=*/200);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(1, Payload(i, 60)).ok());
  // 32 header + 2 × 68 = 168; a third would pass 200.
  EXPECT_THAT(log->segments(), ElementsAre(1, 2, 3, 4, 5));
  for (uint64_t n : log->segments()) EXPECT_LE(Read(SegmentFile(n)).size(), 200u);
  // A record larger than a segment gets one of its own.
  ASSERT_TRUE(log->Append(1, Payload(10, 1000)).ok());
  ASSERT_TRUE(log->Append(1, Payload(11, 10)).ok());
  EXPECT_THAT(log->segments(), ElementsAre(1, 2, 3, 4, 5, 6, 7));
  std::vector<LogRecord> records = ReadAll(*log);
  ASSERT_EQ(records.size(), 12u);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(records[i].data, Payload(i, i == 10 ? 1000 : i == 11 ? 10 : 60)) << i;
  }
  EXPECT_EQ(records[10].position.segment, 6u);
  // Each new segment's header names the one before it.
  const std::string header = Read(SegmentFile(6)).substr(0, 32);
  EXPECT_EQ(*log::ParseSegmentHeader(header, "x"), 5u);
  EXPECT_EQ(log->size_bytes(), [&] {
    uint64_t total = 0;
    for (uint64_t n : log->segments()) total += Read(SegmentFile(n)).size();
    return total;
  }());
}

TEST_F(SegmentLogTest, ReaderResumesAtARecordsEnd) {
  auto log = OpenOrDie(200);
  ASSERT_NE(log, nullptr);
  std::vector<LogPosition> ends;
  for (int i = 0; i < 6; ++i) ends.push_back(*log->Append(1, Payload(i, 60)));
  EXPECT_THAT(Data(ReadAll(*log, ends[2])),
              ElementsAre(Payload(3, 60), Payload(4, 60), Payload(5, 60)));
  EXPECT_THAT(ReadAll(*log, ends[5]), IsEmpty());
  // A reader that caught up sees later appends.
  auto reader = log->NewReader(ends[5]);
  EXPECT_FALSE(reader->Next()->has_value());
  ASSERT_TRUE(log->Append(1, "later").ok());
  auto next = reader->Next();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->data, "later");
}

TEST_F(SegmentLogTest, EveryAcknowledgedAppendSurvivesAMachineCrash) {
  std::vector<std::string> acknowledged;
  for (int round = 0; round < 5; ++round) {
    auto log = OpenOrDie(4096);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 20; ++i) {
      std::string data = Payload(round * 100 + i, 50 + (i * 37) % 700);
      ASSERT_TRUE(log->Append(1, data).ok());
      acknowledged.push_back(std::move(data));
    }
    // No Close, no sync beyond what Append did: the power goes.
    env_.SimulateCrash(CrashMode::kDropUnsynced);
    log.reset();
    log = OpenOrDie(4096);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(Data(ReadAll(*log)), acknowledged) << "round " << round;
    log.reset();
  }
  EXPECT_THAT(TakeDamage(), IsEmpty());
}

TEST_F(SegmentLogTest, ManualSyncLosesWhatWasNotSynced) {
  auto log = OpenOrDie(Options(64 << 20, SyncPolicy::kManual));
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(1, "synced").ok());
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Append(1, "written").ok());
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("synced", "written"));  // readable once written
  env_.SimulateCrash(CrashMode::kDropUnsynced);
  log = OpenOrDie(Options(64 << 20, SyncPolicy::kManual));
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("synced"));
}

TEST_F(SegmentLogTest, IntervalSyncMakesAppendsDurableInTheBackground) {
  SegmentLogOptions options = Options(64 << 20, SyncPolicy::kInterval);
  options.sync_interval = absl::Milliseconds(20);
  auto log = OpenOrDie(options);
  ASSERT_NE(log, nullptr);
  const int64_t syncs = env_.stats().file_syncs;
  ASSERT_TRUE(log->Append(1, "a").ok());
  ASSERT_TRUE(log->Append(1, "b").ok());
  ASSERT_TRUE(WaitFor([&] { return env_.stats().file_syncs > syncs; }));
  env_.SimulateCrash(CrashMode::kDropUnsynced);
  log = OpenOrDie(options);
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("a", "b"));
}

TEST_F(SegmentLogTest, ConcurrentAppendsShareOneWriteAndOneSync) {
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  // Hold the first append's sync until three more appends queue behind it.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> held{0};
  env_.SetBeforeSync([&](const std::string& path) {
    if (path.ends_with(".log") && held.fetch_add(1) == 0) released.wait();
  });
  const int64_t syncs_before = env_.stats().file_syncs;
  const int64_t writes_before = env_.stats().writes;
  std::vector<std::thread> threads;
  threads.emplace_back([&] { ASSERT_TRUE(log->Append(1, "first").ok()); });
  ASSERT_TRUE(WaitFor([&] { return held.load() == 1; }));
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] { ASSERT_TRUE(log->Append(2, absl::StrCat("queued", i)).ok()); });
  }
  ASSERT_TRUE(WaitFor([&] { return log->appenders() == 4; }));
  release.set_value();
  for (std::thread& t : threads) t.join();
  // Two groups: the first append alone, then the three that queued behind it.
  EXPECT_EQ(env_.stats().file_syncs - syncs_before, 2);
  EXPECT_EQ(env_.stats().writes - writes_before, 2);
  std::vector<LogRecord> records = ReadAll(*log);
  ASSERT_THAT(records, SizeIs(4));
  EXPECT_EQ(records[0].data, "first");
  env_.SetBeforeSync(nullptr);
}

TEST_F(SegmentLogTest, ABatchIsContiguousAndSyncedOnce) {
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  const int64_t syncs = env_.stats().file_syncs;
  const std::string big = Payload(0, 100000);
  const std::string_view a[] = {"head-", big};
  const std::string_view b[] = {"second"};
  const SegmentLog::RecordRef batch[] = {{7, a}, {8, b}};
  ASSERT_TRUE(log->Append(batch).ok());
  EXPECT_EQ(env_.stats().file_syncs - syncs, 1);
  std::vector<LogRecord> records = ReadAll(*log);
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_EQ(records[0].type, 7);
  EXPECT_TRUE(records[0].data == absl::StrCat("head-", big));
  EXPECT_EQ(records[1].data, "second");
}

TEST_F(SegmentLogTest, RefusesReservedTypeAndOversizedRecords) {
  SegmentLogOptions options = Options();
  options.max_record_size = 10;
  auto log = OpenOrDie(options);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(log->Append(0, "x").status()));
  absl::Status big = log->Append(1, std::string(11, 'x')).status();
  EXPECT_TRUE(absl::IsInvalidArgument(big)) << big;
  EXPECT_THAT(std::string(big.message()), HasSubstr("record of 11 bytes exceeds the limit of 10"));
}

// A torn write (the process dies in the middle of an append): Open cuts the tail, says so, and
// everything acknowledged before is still there.
TEST_F(SegmentLogTest, TornWriteAtEveryByteIsCutAndReported) {
  std::vector<std::string> acknowledged;
  {
    auto log = OpenOrDie();
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 3; ++i) {
      acknowledged.push_back(Payload(i, 40000));  // two chunks each
      ASSERT_TRUE(log->Append(1, acknowledged.back()).ok());
    }
  }
  const std::string durable = Read(SegmentFile(1));
  const std::string record = Payload(99, 40000);
  const uint64_t encoded = log::ChunkEncoder::EncodedSize(durable.size(), record.size());
  for (uint64_t cut = 0; cut < encoded; cut += cut < 64 ? 1 : 997) {
    FaultInjectionEnv env;
    ASSERT_TRUE(env.CreateDirs(kDir).ok());
    {
      auto file = env.OpenFile(SegmentFile(1), OpenMode::kCreate);
      ASSERT_TRUE((*file)->Append(durable).ok());
      ASSERT_TRUE((*file)->Sync().ok());
      ASSERT_TRUE(env.SyncDir(kDir).ok());
    }
    std::vector<LogDamage> damage;
    SegmentLogOptions options = Options();
    options.env = &env;
    options.on_damage = [&](const LogDamage& d) { damage.push_back(d); };
    {
      auto log = SegmentLog::Open(options);
      ASSERT_TRUE(log.ok());
      env.CrashAfterBytes(cut);
      EXPECT_TRUE(absl::IsAborted((*log)->Append(1, record).status()));
    }
    env.SimulateCrash(CrashMode::kKeepUnsynced);
    auto log = SegmentLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(Data(ReadAll(**log)), acknowledged) << "cut at " << cut;
    if (cut == 0) {
      EXPECT_THAT(damage, IsEmpty());
    } else {
      ASSERT_THAT(damage, SizeIs(1)) << "cut at " << cut;
      EXPECT_EQ(damage[0].file, SegmentFile(1));
      EXPECT_EQ(damage[0].offset, durable.size());
      EXPECT_EQ(damage[0].bytes, cut);
      EXPECT_EQ(damage[0].records, cut >= 8 ? 1u : 0u) << cut;
      EXPECT_THAT(damage[0].reason, HasSubstr("cut off at open"));
    }
    EXPECT_EQ(*env.FileSize(SegmentFile(1)), durable.size());
    // The log goes on where the acknowledged data ends.
    ASSERT_TRUE((*log)->Append(1, "after").ok());
    EXPECT_EQ(Data(ReadAll(**log)).back(), "after");
  }
}

// A machine crash with random parts of the unsynced tail on disk.
TEST_F(SegmentLogTest, TornMachineCrashesLoseNothingAcknowledged) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    FaultInjectionEnv env;
    SegmentLogOptions options = Options(20000);
    options.env = &env;
    int reports = 0;
    options.on_damage = [&](const LogDamage& d) {
      ++reports;
      EXPECT_THAT(d.reason, HasSubstr("cut off at open")) << d.ToString();
    };
    std::vector<std::string> acknowledged;
    {
      auto log = SegmentLog::Open(options);
      ASSERT_TRUE(log.ok());
      for (int i = 0; i < 8; ++i) {
        acknowledged.push_back(Payload(i, 3000 + 1000 * i));
        ASSERT_TRUE((*log)->Append(1, acknowledged.back()).ok());
      }
      // The last append's bytes are written, the crash comes before its sync.
      env.InjectFault({.ops = FaultInjectionEnv::kSync, .count = -1});
      EXPECT_FALSE((*log)->Append(1, Payload(50, 30000)).ok());
    }
    env.SimulateCrash(CrashMode::kTearUnsynced, seed);
    auto log = SegmentLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(Data(ReadAll(**log)), acknowledged) << "seed " << seed;
    EXPECT_LE(reports, 1);
  }
}

TEST_F(SegmentLogTest, DiskFullFailsRetryablyAndRecovers) {
  auto log = OpenOrDie(4096);
  ASSERT_NE(log, nullptr);
  std::vector<std::string> acknowledged;
  env_.SetCapacity(env_.UsedBytes() + 2000);
  absl::Status status;
  for (int i = 0; status.ok(); ++i) {
    std::string data = Payload(i, 300);
    status = log->Append(1, data).status();
    if (status.ok()) acknowledged.push_back(std::move(data));
  }
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("No space left on device"));
  EXPECT_EQ(acknowledged.size(), 6u) << "6 × 308 bytes fit in 2000";
  EXPECT_TRUE(absl::IsResourceExhausted(log->Append(1, Payload(98, 300)).status()));
  // Space comes back: the next append cuts what the failed ones left and goes on.
  env_.SetCapacity(std::nullopt);
  ASSERT_TRUE(log->Append(1, "after").ok());
  acknowledged.push_back("after");
  EXPECT_EQ(Data(ReadAll(*log)), acknowledged);
  env_.SimulateCrash(CrashMode::kDropUnsynced);
  log = OpenOrDie(4096);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(Data(ReadAll(*log)), acknowledged);
  EXPECT_THAT(TakeDamage(), IsEmpty());
}

TEST_F(SegmentLogTest, FailedSyncIsNotAcknowledgedAndIsCutBeforeTheNextAppend) {
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(1, "one").ok());
  env_.InjectFault(
      {.ops = FaultInjectionEnv::kSync, .error = absl::InternalError("sync: Input/output error")});
  absl::Status failed = log->Append(1, "lost").status();
  EXPECT_EQ(failed.message(), "sync: Input/output error");
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("one"));  // never readable
  ASSERT_TRUE(log->Append(1, "two").ok());
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("one", "two"));
  // A short write is cut the same way.
  env_.InjectFault({.ops = FaultInjectionEnv::kWrite, .short_write = 5});
  EXPECT_FALSE(log->Append(1, "partial").ok());
  ASSERT_TRUE(log->Append(1, "three").ok());
  log.reset();
  log = OpenOrDie();
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("one", "two", "three"));
  EXPECT_THAT(TakeDamage(), IsEmpty());
}

TEST_F(SegmentLogTest, AFailedWriteWithManualSyncKeepsTheAcknowledgedUnsyncedAppends) {
  auto log = OpenOrDie(Options(64 << 20, SyncPolicy::kManual));
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(1, "synced").ok());
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Append(1, "written").ok());  // acknowledged, not yet synced
  env_.InjectFault({.ops = FaultInjectionEnv::kWrite, .short_write = 5});
  EXPECT_FALSE(log->Append(1, "partial").ok());
  // Only the failed append's bytes are cut: "written" was acknowledged and its bytes are intact.
  ASSERT_TRUE(log->Append(1, "after").ok());
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("synced", "written", "after"));
  ASSERT_TRUE(log->Sync().ok());
  env_.SimulateCrash(CrashMode::kDropUnsynced);
  log = OpenOrDie(Options(64 << 20, SyncPolicy::kManual));
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("synced", "written", "after"));
  EXPECT_THAT(TakeDamage(), IsEmpty());
}

TEST_F(SegmentLogTest, AFailedSyncWithManualSyncCutsTheUnsyncedAppendsAndReportsThem) {
  auto log = OpenOrDie(Options(64 << 20, SyncPolicy::kManual));
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(1, "synced").ok());
  ASSERT_TRUE(log->Sync().ok());
  const LogPosition synced_end = log->end();
  ASSERT_TRUE(log->Append(1, "written").ok());
  env_.InjectFault(
      {.ops = FaultInjectionEnv::kSync, .error = absl::InternalError("sync: Input/output error")});
  EXPECT_FALSE(log->Sync().ok());
  // After a failed sync the page cache says nothing about the disk: what was not synced is cut,
  // never silently, and readers no longer see it.
  ASSERT_TRUE(log->Append(1, "after").ok());
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(1));
  EXPECT_EQ(damage[0].offset, synced_end.offset);
  EXPECT_GT(damage[0].bytes, 0u);
  EXPECT_THAT(damage[0].reason, HasSubstr("sync failed"));
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("synced", "after"));
}

// A Sync() after a failed one cuts what was not synced and then succeeds: Durable() must still
// say that the cut records are lost, even after later records took their place.
TEST_F(SegmentLogTest, DurableNeverReportsRecordsACutRemoved) {
  auto log = OpenOrDie(Options(64 << 20, SyncPolicy::kManual));
  ASSERT_NE(log, nullptr);
  const std::string_view one = "one", two = "two", three = "three";
  const SegmentLog::RecordRef r1{1, std::span(&one, 1)}, r2{1, std::span(&two, 1)},
      r3{1, std::span(&three, 1)};
  absl::StatusOr<SegmentLog::AppendMark> a = log->AppendMarked(std::span(&r1, 1));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(absl::IsUnavailable(log->Durable(*a))) << log->Durable(*a);  // not synced yet
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_TRUE(log->Durable(*a).ok());
  absl::StatusOr<SegmentLog::AppendMark> b = log->AppendMarked(std::span(&r2, 1));
  ASSERT_TRUE(b.ok());
  env_.InjectFault({.ops = FaultInjectionEnv::kSync});
  EXPECT_FALSE(log->Sync().ok());
  EXPECT_EQ(log->cuts(), 0u);
  // The next Sync first cuts "two" (reported), then succeeds: that is no news for b.
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->cuts(), 1u);
  EXPECT_THAT(TakeDamage(), SizeIs(1));
  absl::Status lost = log->Durable(*b);
  EXPECT_TRUE(absl::IsDataLoss(lost)) << lost;
  EXPECT_THAT(lost.message(), HasSubstr("cut after a failed sync"));
  EXPECT_TRUE(log->Durable(*a).ok());  // synced before the cut: kept
  // "three" lands where "two" was; synced, it is durable and b still is not.
  absl::StatusOr<SegmentLog::AppendMark> c = log->AppendMarked(std::span(&r3, 1));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->cuts, 1u);
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_TRUE(log->Durable(*c).ok());
  EXPECT_TRUE(absl::IsDataLoss(log->Durable(*b)));
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("one", "three"));
}

TEST_F(SegmentLogTest, CorruptionIsSkippedToTheNextBlockAndReported) {
  std::vector<LogPosition> ends;
  {
    auto log = OpenOrDie();
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 30; ++i) ends.push_back(*log->Append(1, Payload(i, 3000)));
  }
  const uint64_t damaged_at = ends[11].offset - 100;  // inside record 11, in block 1
  Overwrite(SegmentFile(1), damaged_at, "\xff");
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(TakeDamage(), IsEmpty());  // Open cuts nothing: valid records follow
  std::vector<std::string> data = Data(ReadAll(*log));
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(1));
  const LogDamage& d = damage[0];
  EXPECT_EQ(d.file, SegmentFile(1));
  EXPECT_EQ(d.reason, "checksum mismatch");
  EXPECT_GE(d.records, 1u);
  // The rest of block 1 is skipped, then the orphaned end of the record that straddled into
  // block 2; reading resumes at the next record that starts there.
  EXPECT_LE(d.offset, damaged_at);
  EXPECT_EQ(d.offset + d.bytes, ends[21].offset);
  // Exactly the records that ended inside the reported range are lost; all others read.
  std::vector<std::string> expected;
  uint64_t lost = 0;
  for (int i = 0; i < 30; ++i) {
    if (ends[i].offset > d.offset && ends[i].offset <= d.offset + d.bytes) {
      ++lost;
    } else {
      expected.push_back(Payload(i, 3000));
    }
  }
  EXPECT_EQ(data, expected);
  EXPECT_EQ(lost, 11u);  // records 11..21: the damaged one and the rest that started in its block
  EXPECT_LE(d.records, lost);
}

TEST_F(SegmentLogTest, DamageInAFinishedSegmentAndMissingSegmentsAreReported) {
  {
    auto log = OpenOrDie(200);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(1, Payload(i, 60)).ok());
  }
  // Segment 2's second record cut short; segment 4 gone.
  ASSERT_TRUE(env_.TruncateFile(SegmentFile(2), 32 + 68 + 30).ok());
  ASSERT_TRUE(env_.RemoveFile(SegmentFile(4)).ok());
  auto log = OpenOrDie(200);
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(Data(ReadAll(*log)),
              ElementsAre(Payload(0, 60), Payload(1, 60), Payload(2, 60), Payload(4, 60),
                          Payload(5, 60), Payload(8, 60), Payload(9, 60)));
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(2));
  EXPECT_EQ(damage[0].file, SegmentFile(2));
  EXPECT_EQ(damage[0].offset, 32u + 68u);
  EXPECT_EQ(damage[0].bytes, 30u);
  EXPECT_EQ(damage[0].records, 1u);
  EXPECT_THAT(damage[0].reason, HasSubstr("at the end of a finished segment"));
  EXPECT_EQ(damage[1].reason, "segments 4 to 4 are missing (segment 5 follows 4)");
}

TEST_F(SegmentLogTest, DamagedSegmentHeaderIsSkippedAndReported) {
  {
    auto log = OpenOrDie(200);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(log->Append(1, Payload(i, 60)).ok());
  }
  Overwrite(SegmentFile(2), 3, "X");
  auto log = OpenOrDie(200);
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(Data(ReadAll(*log)),
              ElementsAre(Payload(0, 60), Payload(1, 60), Payload(4, 60), Payload(5, 60)));
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(1));
  EXPECT_EQ(damage[0].file, SegmentFile(2));
  EXPECT_EQ(damage[0].bytes, 168u);
  EXPECT_THAT(damage[0].reason, HasSubstr("bad magic"));
}

TEST_F(SegmentLogTest, ZeroFilledAndGarbageTailsAreCutAtOpen) {
  {
    auto log = OpenOrDie();
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(1, "kept").ok());
  }
  const uint64_t size = Read(SegmentFile(1)).size();
  ASSERT_TRUE(env_.TruncateFile(SegmentFile(1), size + 5000).ok());  // zeros
  {
    auto log = OpenOrDie();
    ASSERT_NE(log, nullptr);
    std::vector<LogDamage> damage = TakeDamage();
    ASSERT_THAT(damage, SizeIs(1));
    EXPECT_EQ(damage[0].offset, size);
    EXPECT_EQ(damage[0].bytes, 5000u);
    EXPECT_EQ(damage[0].records, 0u);
    EXPECT_EQ(damage[0].reason, "cut off at open: zero-filled bytes");
    EXPECT_EQ(Read(SegmentFile(1)).size(), size);
  }
  Overwrite(SegmentFile(1), size, "garbage garbage");
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(TakeDamage(), SizeIs(1));
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("kept"));
}

TEST_F(SegmentLogTest, SegmentStartedByACrashedRotationIsRewritten) {
  {
    auto log = OpenOrDie(200);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(log->Append(1, Payload(i, 60)).ok());
    ASSERT_TRUE(log->StartSegment(2).ok());
  }
  ASSERT_TRUE(env_.TruncateFile(SegmentFile(2), 10).ok());  // header cut short
  auto log = OpenOrDie(200);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(1, "after").ok());
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre(Payload(0, 60), Payload(1, 60), "after"));
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(1));
  EXPECT_EQ(damage[0].bytes, 10u);
  EXPECT_EQ(*log::ParseSegmentHeader(Read(SegmentFile(2)).substr(0, 32), "x"), 1u);
}

TEST_F(SegmentLogTest, NewerFormatVersionRefusesToOpen) {
  { ASSERT_NE(OpenOrDie(), nullptr); }
  std::string header = Read(SegmentFile(1));
  header[8] = 2;
  const uint32_t crc = MaskSnappyCrc(Crc32c(std::string_view(header).substr(0, 24)));
  PutU32(header.data() + 24, crc);
  Overwrite(SegmentFile(1), 0, header);
  auto log = SegmentLog::Open(Options());
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(log.status())) << log.status();
  EXPECT_THAT(std::string(log.status().message()),
              HasSubstr("format version 2 is not supported (this sprout reads version 1)"));
}

TEST_F(SegmentLogTest, RemoveSegmentsBeforeKeepsTheWriterAndMayComeBackAfterACrash) {
  auto log = OpenOrDie(200);
  ASSERT_NE(log, nullptr);
  std::vector<LogPosition> ends;
  for (int i = 0; i < 10; ++i) ends.push_back(*log->Append(1, Payload(i, 60)));
  ASSERT_TRUE(log->RemoveSegmentsBefore(4).ok());
  EXPECT_THAT(log->segments(), ElementsAre(4, 5));
  EXPECT_THAT(Data(ReadAll(*log, ends[7])), ElementsAre(Payload(8, 60), Payload(9, 60)));
  ASSERT_TRUE(log->RemoveSegmentsBefore(100).ok());
  EXPECT_THAT(log->segments(), ElementsAre(5));  // never the one being written
  EXPECT_EQ(log->begin(), (LogPosition{5, 32}));
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre(Payload(8, 60), Payload(9, 60)));
  // Not synced: a machine crash brings them back; reading from a later position is unaffected.
  env_.SimulateCrash(CrashMode::kDropUnsynced);
  log = OpenOrDie(200);
  EXPECT_THAT(log->segments(), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(Data(ReadAll(*log, ends[7])), ElementsAre(Payload(8, 60), Payload(9, 60)));
  // A position in a segment that is gone is damage, reported.
  ASSERT_TRUE(log->RemoveSegmentsBefore(5).ok());
  EXPECT_THAT(Data(ReadAll(*log, ends[2])), ElementsAre(Payload(8, 60), Payload(9, 60)));
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(1));
  EXPECT_THAT(damage[0].reason, HasSubstr("segments 2 to 4 are missing"));
}

TEST_F(SegmentLogTest, StartSegmentMovesEveryLaterRecordPastAPosition) {
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(1, "a").ok());
  ASSERT_TRUE(log->StartSegment(9).ok());
  auto end = log->Append(1, "b");
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->segment, 9u);
  EXPECT_THAT(log->segments(), ElementsAre(1, 9));
  EXPECT_THAT(Data(ReadAll(*log)), ElementsAre("a", "b"));
  EXPECT_THAT(TakeDamage(), IsEmpty());  // a gap made on purpose is not damage
}

TEST_F(SegmentLogTest, WaitForEndBlocksUntilAnAppendOrClose) {
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  const LogPosition start = log->end();
  std::future<bool> woke = std::async(
      std::launch::async, [&] { return log->WaitForEnd(start, absl::InfiniteFuture()); });
  // The waiter is really waiting (not merely scheduled) before the append comes.
  ASSERT_TRUE(WaitFor([&] { return log->waiters() == 1; }));
  EXPECT_EQ(woke.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  ASSERT_TRUE(log->Append(1, "x").ok());
  EXPECT_TRUE(woke.get());

  const LogPosition now = log->end();
  std::future<bool> closed =
      std::async(std::launch::async, [&] { return log->WaitForEnd(now, absl::InfiniteFuture()); });
  ASSERT_TRUE(WaitFor([&] { return log->waiters() == 1; }));
  log->Close();
  EXPECT_FALSE(closed.get());
  EXPECT_TRUE(absl::IsFailedPrecondition(log->Append(1, "y").status()));
  // A deadline in the past returns at once.
  EXPECT_FALSE(log->WaitForEnd(now, absl::InfinitePast()));
}

TEST_F(SegmentLogTest, WakeReturnsAWaiterWithoutAnAppend) {
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  const LogPosition end = log->end();
  std::future<bool> woke =
      std::async(std::launch::async, [&] { return log->WaitForEnd(end, absl::InfiniteFuture()); });
  ASSERT_TRUE(WaitFor([&] { return log->waiters() == 1; }));
  log->Wake();
  EXPECT_FALSE(woke.get());
  ASSERT_TRUE(log->Append(1, "still usable").ok());
}

TEST_F(SegmentLogTest, ConcurrentWritersAndATailingReaderSeeEverythingInOrder) {
  auto log = OpenOrDie(64 << 10);
  ASSERT_NE(log, nullptr);
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 500;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        ASSERT_TRUE(log->Append(static_cast<uint8_t>(w + 1), Payload(i, 10 + i % 3000)).ok());
      }
    });
  }
  std::vector<int> next(kWriters, 0);
  auto reader = log->NewReader(std::nullopt);
  int received = 0;
  LogPosition last;
  while (received < kWriters * kPerWriter) {
    auto record = reader->Next();
    ASSERT_TRUE(record.ok()) << record.status();
    if (!record->has_value()) {
      ASSERT_TRUE(log->WaitForEnd(reader->position(), absl::Now() + absl::Seconds(30)));
      continue;
    }
    const LogRecord& r = **record;
    EXPECT_GT(r.position, last);
    last = r.position;
    const int w = r.type - 1;
    EXPECT_EQ(r.data, Payload(next[w], 10 + next[w] % 3000));
    ++next[w];
    ++received;
  }
  for (std::thread& t : writers) t.join();
  EXPECT_GT(log->segments().size(), 5u);
  EXPECT_THAT(TakeDamage(), IsEmpty());
}

// The same log on the real file system: the POSIX Env end to end, damage made with ordinary
// file writes.
TEST(SegmentLogPosixTest, RoundTripAndRepairOnRealFiles) {
  const std::string dir = FreshTempDir("segment-log");
  SegmentLogOptions options;
  options.directory = dir;
  options.segment_size = 100000;
  std::vector<LogDamage> damage;
  options.on_damage = [&](const LogDamage& d) { damage.push_back(d); };
  {
    auto log = SegmentLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*log)->Append(1, Payload(i, 9000)).ok());
  }
  const std::string last = absl::StrCat(dir, "/00000000000000000005.log");
  const uint64_t size = std::filesystem::file_size(last);
  {
    std::ofstream out(last, std::ios::binary | std::ios::app);
    out << "torn";
  }
  auto log = SegmentLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_THAT(damage, SizeIs(1));
  EXPECT_EQ(damage[0].file, last);
  EXPECT_EQ(damage[0].offset, size);
  EXPECT_EQ(damage[0].bytes, 4u);
  EXPECT_EQ(std::filesystem::file_size(last), size);
  std::vector<LogRecord> records = ReadAll(**log);
  ASSERT_EQ(records.size(), 50u);
  EXPECT_EQ(records[49].data, Payload(49, 9000));
  log->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sprout::storage
