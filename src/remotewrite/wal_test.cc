#include "remotewrite/wal.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/fault_injection_env.h"
#include "storage/testing.h"

namespace sprout::remotewrite {
namespace {

namespace fs = std::filesystem;
using storage::FaultInjectionEnv;
using storage::LogDamage;
using storage::LogPosition;
using storage::testing::FreshTempDir;
using storage::testing::WaitFor;
using CrashMode = FaultInjectionEnv::CrashMode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kDir[] = "/data/wal";
const absl::Time kNow = absl::FromUnixMillis(1700000000000);

// The previous format's WAL written by the exporter at abf41e2 (see testdata/README.md).
constexpr char kOldWal[] = "src/remotewrite/testdata/wal-abf41e2";

std::string Body(int i, size_t size = 40) {
  std::string out = absl::StrCat("request-", i, ":");
  out.resize(std::max(size, out.size()), static_cast<char>('a' + i % 26));
  return out;
}

class WalTest : public ::testing::Test {
 protected:
  WalOptions Options(uint64_t max_size = 0, uint64_t segment_size = 0) {
    WalOptions options;
    options.env = &env_;
    options.directory = kDir;
    options.max_size = max_size;
    options.segment_size = segment_size;
    options.on_damage = [this](const LogDamage& d) {
      std::lock_guard<std::mutex> lock(mu_);
      damage_.push_back(d);
    };
    return options;
  }
  std::unique_ptr<Wal> OpenOrDie(const WalOptions& options) {
    auto wal = Wal::Open(options);
    EXPECT_TRUE(wal.ok()) << wal.status();
    return wal.ok() ? std::move(*wal) : nullptr;
  }
  std::unique_ptr<Wal> OpenOrDie() { return OpenOrDie(Options()); }
  std::vector<LogDamage> TakeDamage() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(damage_, {});
  }
  // Appends one batch of one request per body (shard i of `shards`).
  absl::Status AppendBatch(Wal& wal, const std::vector<std::string>& bodies, uint16_t shards = 1) {
    std::vector<WalRequest> requests;
    for (size_t i = 0; i < bodies.size(); ++i) {
      requests.push_back({static_cast<uint16_t>(i % shards), shards, bodies[i]});
    }
    return wal.Append(requests, kNow);
  }

  FaultInjectionEnv env_;
  std::mutex mu_;
  std::vector<LogDamage> damage_;
};

std::vector<WalEntry> ReadAll(Wal& wal) {
  std::vector<WalEntry> out;
  auto reader = wal.NewReader();
  while (true) {
    auto next = reader->Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) return out;
    out.push_back(std::move(**next));
  }
}
std::vector<std::string> Bodies(const std::vector<WalEntry>& entries) {
  std::vector<std::string> out;
  for (const WalEntry& e : entries) out.emplace_back(e.body());
  return out;
}
// Marks everything read as delivered.
void DeliverAll(Wal& wal) {
  std::vector<WalEntry> entries = ReadAll(wal);
  if (!entries.empty()) wal.SetDelivered(entries.back().end);
}

TEST_F(WalTest, EntriesKeepShardTimeAndBody) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  ASSERT_TRUE(AppendBatch(*wal, {Body(0), Body(1), Body(2)}, /*shards=*/3).ok());
  ASSERT_TRUE(AppendBatch(*wal, {Body(3, 100000)}).ok());
  std::vector<WalEntry> entries = ReadAll(*wal);
  ASSERT_THAT(entries, SizeIs(4));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(entries[i].shard, i);
    EXPECT_EQ(entries[i].shards, 3);
    EXPECT_EQ(entries[i].appended, kNow);
    EXPECT_EQ(entries[i].body(), Body(i));
    EXPECT_FALSE(entries[i].migrated);
  }
  EXPECT_EQ(entries[3].shards, 1);
  EXPECT_TRUE(entries[3].body() == Body(3, 100000));
  EXPECT_LT(entries[0].end, entries[1].end);
  EXPECT_EQ(entries[3].end, wal->end());
}

TEST_F(WalTest, BytesOnDiskMatchTheFormatDoc) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    const WalRequest request{2, 4, "abc"};
    ASSERT_TRUE(wal->Append(std::span(&request, 1), kNow).ok());
    DeliverAll(*wal);
    ASSERT_TRUE(wal->Commit().ok());
  }
  // docs/format/prw-wal.md: the record after the segment header (CRCs from an independent
  // bit-by-bit CRC-32C with the LevelDB mask).
  const std::string segment = *env_.ReadFile(absl::StrCat(kDir, "/00000000000000000001.log"));
  ASSERT_EQ(segment.size(), 55u);
  EXPECT_EQ(segment.substr(32), std::string("\x0b\x0b\xab\x0b\x0f\x00\x01\x01"
                                            "\x02\x00\x04\x00\x00\x68\xe5\xcf\x8b\x01\x00\x00"
                                            "abc",
                                            23));
  const std::string cursor = *env_.ReadFile(absl::StrCat(kDir, "/cursor"));
  EXPECT_EQ(cursor, std::string("\x01\0\0\0\0\0\0\0"
                                "\x01\0\0\0\0\0\0\0"
                                "\x01\0\0\0\0\0\0\0"
                                "\x37\0\0\0\0\0\0\0"
                                "\x8e\x03\xf4\x22",
                                36));
  EXPECT_THAT(*env_.ListDir(kDir),
              ::testing::UnorderedElementsAre("00000000000000000001.log", "cursor", "LOCK"));
}

TEST_F(WalTest, OneSyncPerAppendAndOnePerCommit) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  FaultInjectionEnv::Stats before = env_.stats();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(AppendBatch(*wal, {Body(i), Body(i + 10)}, 2).ok());
  EXPECT_EQ(env_.stats().file_syncs - before.file_syncs, 10);
  EXPECT_EQ(env_.stats().dir_syncs - before.dir_syncs, 0);
  DeliverAll(*wal);
  before = env_.stats();
  ASSERT_TRUE(wal->Commit().ok());  // creates the cursor file: its name is synced once
  EXPECT_EQ(env_.stats().file_syncs - before.file_syncs, 1);
  EXPECT_EQ(env_.stats().dir_syncs - before.dir_syncs, 1);
  before = env_.stats();
  ASSERT_TRUE(wal->Commit().ok());  // nothing moved: nothing written
  ASSERT_TRUE(AppendBatch(*wal, {Body(99)}).ok());
  DeliverAll(*wal);
  ASSERT_TRUE(wal->Commit().ok());
  EXPECT_EQ(env_.stats().file_syncs - before.file_syncs, 2);  // the append and the commit
  EXPECT_EQ(env_.stats().dir_syncs - before.dir_syncs, 0);
  EXPECT_EQ(env_.stats().renames, 0);
}

TEST_F(WalTest, UncommittedDeliveriesAreReadAgainAfterACrash) {
  LogPosition committed_at;
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(AppendBatch(*wal, {Body(i)}).ok());
    std::vector<WalEntry> entries = ReadAll(*wal);
    wal->SetDelivered(entries[2].end);
    ASSERT_TRUE(wal->Commit().ok());
    committed_at = entries[2].end;
    wal->SetDelivered(entries[4].end);  // delivered, not yet committed
  }
  env_.SimulateCrash(CrashMode::kDropUnsynced);
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->committed(), committed_at);
  EXPECT_THAT(Bodies(ReadAll(*wal)), ElementsAre(Body(3), Body(4), Body(5)));
  EXPECT_THAT(TakeDamage(), IsEmpty());
}

TEST_F(WalTest, ACursorWriteTornByACrashLeavesThePreviousCursor) {
  std::vector<WalEntry> entries;
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(AppendBatch(*wal, {Body(i)}).ok());
    entries = ReadAll(*wal);
    wal->SetDelivered(entries[1].end);
    ASSERT_TRUE(wal->Commit().ok());  // slot 0
    wal->SetDelivered(entries[3].end);
    ASSERT_TRUE(wal->Commit().ok());  // slot 1
    wal->SetDelivered(entries[5].end);
    env_.CrashAfterBytes(20);  // slot 0 torn in the middle
    EXPECT_TRUE(absl::IsAborted(wal->Commit()));
  }
  env_.SimulateCrash(CrashMode::kKeepUnsynced);
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->committed(), entries[3].end);
  EXPECT_THAT(Bodies(ReadAll(*wal)), ElementsAre(Body(4), Body(5)));
  EXPECT_THAT(TakeDamage(), IsEmpty());
}

TEST_F(WalTest, AnUnreadableCursorIsReportedAndEverythingIsReadAgain) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendBatch(*wal, {Body(i)}).ok());
    DeliverAll(*wal);
    ASSERT_TRUE(wal->Commit().ok());
  }
  auto file = env_.OpenFile(absl::StrCat(kDir, "/cursor"), storage::OpenMode::kReadWrite);
  ASSERT_TRUE((*file)->WriteAt(20, "\xff").ok());
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_THAT(Bodies(ReadAll(*wal)), ElementsAre(Body(0), Body(1), Body(2)));
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(1));
  EXPECT_EQ(damage[0].file, absl::StrCat(kDir, "/cursor"));
  EXPECT_THAT(damage[0].reason, HasSubstr("commit cursor unreadable"));
}

TEST_F(WalTest, EveryAcknowledgedAppendSurvivesMachineCrashes) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    FaultInjectionEnv env;
    WalOptions options = Options(0, 64 << 10);
    options.env = &env;
    int cut = 0;
    options.on_damage = [&](const LogDamage& d) {
      ++cut;
      EXPECT_THAT(d.reason, HasSubstr("cut off at open")) << d.ToString();
    };
    std::vector<std::string> acknowledged;
    for (int round = 0; round < 3; ++round) {
      {
        auto wal = Wal::Open(options);
        ASSERT_TRUE(wal.ok()) << wal.status();
        for (int i = 0; i < 10; ++i) {
          std::vector<std::string> bodies = {Body(round * 100 + i, 3000 + seed * 100),
                                             Body(round * 100 + i + 50, 500)};
          std::vector<WalRequest> requests = {{0, 2, bodies[0]}, {1, 2, bodies[1]}};
          ASSERT_TRUE((*wal)->Append(requests, kNow).ok());
          acknowledged.insert(acknowledged.end(), bodies.begin(), bodies.end());
        }
        // An append whose sync never happens, then the power goes.
        env.InjectFault({.ops = FaultInjectionEnv::kSync, .count = -1});
        const std::string lost = Body(999, 20000);
        const WalRequest request{0, 1, lost};
        EXPECT_FALSE((*wal)->Append(std::span(&request, 1), kNow).ok());
      }
      env.SimulateCrash(round == 1 ? CrashMode::kDropUnsynced : CrashMode::kTearUnsynced, seed);
      auto wal = Wal::Open(options);
      ASSERT_TRUE(wal.ok()) << wal.status();
      EXPECT_EQ(Bodies(ReadAll(**wal)), acknowledged) << "seed " << seed << " round " << round;
    }
  }
}

TEST_F(WalTest, SizeBoundRefusesRetryablyAndDeliveredSegmentsMakeRoom) {
  auto wal = OpenOrDie(Options(/*max_size=*/100000, /*segment_size=*/12000));
  ASSERT_NE(wal, nullptr);
  std::vector<std::string> acknowledged;
  absl::Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    refused = AppendBatch(*wal, {Body(i, 2000), Body(i + 5000, 2000)}, 2);
    if (refused.ok()) {
      acknowledged.push_back(Body(i, 2000));
      acknowledged.push_back(Body(i + 5000, 2000));
    }
    EXPECT_LE(wal->size_bytes(), 100000u);
  }
  EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("the WAL is full: 9"));  // 9x,xxx bytes of the 100000
  EXPECT_THAT(std::string(refused.message()), HasSubstr("wal.max_size_bytes 100000"));
  EXPECT_GT(acknowledged.size(), 40u);
  // Nothing accepted was dropped to make room.
  EXPECT_TRUE(Bodies(ReadAll(*wal)) == acknowledged);
  // Once most is delivered, the next append frees the delivered segments (committing the
  // cursor first) and goes in.
  std::vector<WalEntry> entries = ReadAll(*wal);
  wal->SetDelivered(entries[entries.size() - 3].end);
  const std::string after = Body(9999, 4000);
  ASSERT_TRUE(AppendBatch(*wal, {after}).ok());
  EXPECT_EQ(wal->committed(), entries[entries.size() - 3].end);
  EXPECT_LT(wal->size_bytes(), 40000u);
  EXPECT_TRUE(Bodies(ReadAll(*wal)) ==
              std::vector<std::string>(
                  {acknowledged[acknowledged.size() - 2], acknowledged.back(), after}));
  // A batch that can never fit is refused for good.
  absl::Status huge = AppendBatch(*wal, {std::string(200000, 'x')});
  EXPECT_TRUE(absl::IsInvalidArgument(huge)) << huge;
}

TEST_F(WalTest, FullDiskIsResourceExhaustedAndRecovers) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  ASSERT_TRUE(AppendBatch(*wal, {Body(0)}).ok());
  env_.SetCapacity(env_.UsedBytes() + 100);
  absl::Status full = AppendBatch(*wal, {Body(1, 500)});
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_THAT(std::string(full.message()), HasSubstr("No space left on device"));
  env_.SetCapacity(std::nullopt);
  ASSERT_TRUE(AppendBatch(*wal, {Body(2)}).ok());
  env_.SimulateCrash(CrashMode::kDropUnsynced);
  wal = OpenOrDie();
  EXPECT_THAT(Bodies(ReadAll(*wal)), ElementsAre(Body(0), Body(2)));
}

TEST_F(WalTest, ASecondOpenOfTheDirectoryIsRefused) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  auto second = Wal::Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(absl::StrCat("wal: directory ", kDir, " is in use")));
  wal.reset();
  EXPECT_TRUE(Wal::Open(Options()).ok());
}

TEST_F(WalTest, ACursorPastTheEndOfTheLogPutsNewRecordsAfterIt) {
  std::vector<WalEntry> entries;
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendBatch(*wal, {Body(i)}).ok());
    entries = ReadAll(*wal);
    wal->SetDelivered(entries[2].end);
    ASSERT_TRUE(wal->Commit().ok());
  }
  // The delivered tail is damaged and cut at the next open.
  const std::string segment = absl::StrCat(kDir, "/00000000000000000001.log");
  auto file = env_.OpenFile(segment, storage::OpenMode::kReadWrite);
  ASSERT_TRUE((*file)->WriteAt(entries[2].end.offset - 3, "XYZ").ok());
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  ASSERT_THAT(TakeDamage(), SizeIs(1));
  ASSERT_TRUE(AppendBatch(*wal, {"new"}).ok());
  EXPECT_THAT(Bodies(ReadAll(*wal)), ElementsAre("new"));
}

TEST_F(WalTest, WaitForAppendBlocksUntilADurableAppend) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  const LogPosition end = wal->end();
  std::future<bool> woke = std::async(
      std::launch::async, [&] { return wal->WaitForAppend(end, absl::InfiniteFuture()); });
  ASSERT_TRUE(WaitFor([&] { return wal->waiters() == 1; }));
  EXPECT_EQ(woke.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  ASSERT_TRUE(AppendBatch(*wal, {"x"}).ok());
  EXPECT_TRUE(woke.get());
}

TEST_F(WalTest, RecordsOfUnknownTypesAreSkippedAndReported) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    ASSERT_TRUE(AppendBatch(*wal, {"before"}).ok());
  }
  {
    storage::SegmentLogOptions options;
    options.env = &env_;
    options.directory = kDir;
    auto log = storage::SegmentLog::Open(options);
    ASSERT_TRUE((*log)->Append(77, "from the future").ok());
  }
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  ASSERT_TRUE(AppendBatch(*wal, {"after"}).ok());
  EXPECT_THAT(Bodies(ReadAll(*wal)), ElementsAre("before", "after"));
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(1));
  EXPECT_EQ(damage[0].records, 1u);
  EXPECT_THAT(damage[0].reason, HasSubstr("record of unknown type 77"));
}

// ---------------------------------------------------------------------------------------------
// The previous format.

// The payloads of the previous format's records in `dir` with index > `after`, read with the
// layout documented at abf41e2 (docs/format/prw-wal.md of that commit).
std::vector<std::string> OldPayloads(const std::string& dir, uint64_t after) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".seg") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> out;
  for (const std::string& name : names) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    uint64_t index = std::stoull(name);
    for (size_t pos = 0; pos + 8 <= data.size(); ++index) {
      const uint32_t len = static_cast<unsigned char>(data[pos]) |
                           static_cast<unsigned char>(data[pos + 1]) << 8 |
                           static_cast<unsigned char>(data[pos + 2]) << 16 |
                           static_cast<uint32_t>(static_cast<unsigned char>(data[pos + 3])) << 24;
      if (index > after) out.push_back(data.substr(pos + 8, len));
      pos += 8 + len;
    }
  }
  return out;
}

// Copies the testdata WAL into `env` at `dir`.
void CopyOldWal(storage::Env& env, const std::string& dir) {
  ASSERT_TRUE(env.CreateDirs(dir).ok());
  for (const auto& e : fs::directory_iterator(kOldWal)) {
    if (!e.is_regular_file() || e.path().filename() == "README.md") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    auto file = env.OpenFile(dir + "/" + e.path().filename().string(), storage::OpenMode::kCreate);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(data).ok());
    ASSERT_TRUE((*file)->Sync().ok());
  }
  ASSERT_TRUE(env.SyncDir(dir).ok());
}

TEST(WalFormatTest, ADirectoryOfThePreviousFormatIsMigratedOnRealFiles) {
  // Committed index 3: records 4..8 were not delivered.
  const std::vector<std::string> expected = OldPayloads(kOldWal, 3);
  ASSERT_THAT(expected, SizeIs(5));
  const std::string dir = FreshTempDir("prw-wal-migrate");
  fs::copy(kOldWal, dir);
  fs::remove(dir + "/README.md");
  std::vector<LogDamage> damage;
  WalOptions options;
  options.directory = dir;
  options.on_damage = [&](const LogDamage& d) { damage.push_back(d); };
  {
    auto wal = Wal::Open(options);
    ASSERT_TRUE(wal.ok()) << wal.status();
    std::vector<WalEntry> entries = ReadAll(**wal);
    EXPECT_EQ(Bodies(entries), expected);
    for (const WalEntry& e : entries) {
      EXPECT_TRUE(e.migrated);
      EXPECT_FALSE(e.appended.has_value());
    }
  }
  EXPECT_THAT(damage, IsEmpty());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("00000000000000000001.log", "LOCK"));
  // Opened again: nothing migrated twice.
  auto wal = Wal::Open(options);
  ASSERT_TRUE(wal.ok()) << wal.status();
  EXPECT_EQ(Bodies(ReadAll(**wal)), expected);
  wal->reset();
  fs::remove_all(dir);
}

TEST_F(WalTest, AnInterruptedMigrationResumesWithoutDuplicates) {
  const std::vector<std::string> expected = OldPayloads(kOldWal, 3);
  for (uint64_t crash_after : {0, 50, 120, 200, 400}) {
    FaultInjectionEnv env;
    CopyOldWal(env, kDir);
    WalOptions options = Options();
    options.env = &env;
    env.CrashAfterBytes(crash_after);
    EXPECT_FALSE(Wal::Open(options).ok()) << crash_after;
    env.SimulateCrash(CrashMode::kKeepUnsynced);
    auto wal = Wal::Open(options);
    ASSERT_TRUE(wal.ok()) << wal.status();
    EXPECT_EQ(Bodies(ReadAll(**wal)), expected) << "crash after " << crash_after << " bytes";
  }
}

TEST_F(WalTest, DamageInThePreviousFormatIsReported) {
  CopyOldWal(env_, kDir);
  // A torn append at the end of the last old segment, and a flipped byte in the first record
  // of segment 5 (records 5 and 6 are then unreadable: the old format cannot resynchronise).
  const std::string last = absl::StrCat(kDir, "/00000000000000000007.seg");
  const std::string middle = absl::StrCat(kDir, "/00000000000000000005.seg");
  {
    auto file = env_.OpenFile(last, storage::OpenMode::kReadWrite);
    ASSERT_TRUE((*file)->Append(std::string("\x20\x00\x00\x00\x01\x02", 6)).ok());
    auto m = env_.OpenFile(middle, storage::OpenMode::kReadWrite);
    ASSERT_TRUE((*m)->WriteAt(20, "\xee").ok());
  }
  std::vector<std::string> expected = OldPayloads(kOldWal, 3);
  expected.erase(expected.begin() + 1, expected.begin() + 3);  // records 5 and 6
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(Bodies(ReadAll(*wal)), expected);
  std::vector<LogDamage> damage = TakeDamage();
  ASSERT_THAT(damage, SizeIs(2));
  EXPECT_EQ(damage[0].file, middle);
  EXPECT_EQ(damage[0].offset, 0u);
  EXPECT_EQ(damage[0].bytes, 140u);
  EXPECT_EQ(damage[0].records, 2u);
  EXPECT_THAT(damage[0].reason, HasSubstr("damaged record in the previous format"));
  EXPECT_EQ(damage[1].file, last);
  EXPECT_EQ(damage[1].offset, 140u);
  EXPECT_EQ(damage[1].bytes, 6u);
  EXPECT_EQ(damage[1].records, 1u);
  EXPECT_THAT(damage[1].reason, HasSubstr("an interrupted append"));
}

TEST(WalOpenTest, RejectsBadOptions) {
  EXPECT_EQ(Wal::Open(WalOptions{}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sprout::remotewrite
