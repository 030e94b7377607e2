#include "collector/exporter/prometheusremotewrite/wal.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::collector::prwexporter {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// A fresh directory per test, removed afterwards.
class WalTest : public ::testing::Test {
 protected:
  WalTest() {
    static std::atomic<int> counter{0};
    dir_ = absl::StrCat(::testing::TempDir(), "/prw-wal-test-", getpid(), "-", counter++, "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  ~WalTest() override { fs::remove_all(dir_); }

  std::unique_ptr<Wal> OpenOrDie(int64_t segment_size = 64 << 20) {
    auto wal = Wal::Open(Options(segment_size));
    EXPECT_TRUE(wal.ok()) << wal.status();
    return wal.ok() ? std::move(*wal) : nullptr;
  }
  WalOptions Options(int64_t segment_size = 64 << 20) const {
    WalOptions options;
    options.directory = dir_;
    options.segment_size = segment_size;
    return options;
  }

  std::string SegmentPath(uint64_t first) const {
    std::string digits = std::to_string(first);
    return absl::StrCat(dir_, "/", std::string(20 - digits.size(), '0'), digits, ".seg");
  }
  // First indices of the segment files present, ascending.
  std::vector<uint64_t> Segments() const {
    std::vector<uint64_t> firsts;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name.size() == 24 && name.ends_with(".seg")) firsts.push_back(std::stoull(name));
    }
    std::sort(firsts.begin(), firsts.end());
    return firsts;
  }

  std::string dir_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Every record still to come, without waiting.
std::vector<std::string> Drain(Wal& wal) {
  std::vector<std::string> out;
  while (true) {
    auto next = wal.Next(absl::ZeroDuration());
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) return out;
    out.push_back((*next)->data);
  }
}

TEST_F(WalTest, AppendNextCommitRoundTrip) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->last_appended(), 0u);
  EXPECT_EQ(wal->last_committed(), 0u);
  EXPECT_EQ(*wal->Append("one"), 1u);
  EXPECT_EQ(*wal->Append("two"), 2u);
  EXPECT_EQ(*wal->Append("three"), 3u);
  EXPECT_EQ(wal->last_appended(), 3u);

  auto first = wal->Next(absl::ZeroDuration());
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->index, 1u);
  EXPECT_EQ((*first)->data, "one");
  auto second = wal->Next(absl::ZeroDuration());
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->index, 2u);
  EXPECT_THAT(Drain(*wal), ElementsAre("three"));

  EXPECT_TRUE(wal->Commit(2).ok());
  EXPECT_EQ(wal->last_committed(), 2u);
  EXPECT_TRUE(wal->Commit(1).ok());  // behind the committed index: nothing to do
  EXPECT_EQ(wal->last_committed(), 2u);
  absl::Status ahead = wal->Commit(4);
  EXPECT_EQ(ahead.code(), absl::StatusCode::kInvalidArgument) << ahead;
  EXPECT_EQ(wal->Append("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(WalTest, BytesOnDiskMatchTheFormatDoc) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  ASSERT_TRUE(wal->Append("abc").ok());
  ASSERT_TRUE(wal->Commit(1).ok());
  // docs/format/prw-wal.md: length 3, CRC-32C("abc") = 0x364b3fb7, both little-endian.
  EXPECT_EQ(ReadFile(SegmentPath(1)), std::string("\x03\x00\x00\x00\xb7\x3f\x4b\x36"
                                                  "abc",
                                                  11));
  const std::string committed = ReadFile(dir_ + "/committed");
  ASSERT_EQ(committed.size(), 12u);
  EXPECT_EQ(committed.substr(0, 8), std::string("\x01\0\0\0\0\0\0\0", 8));
  EXPECT_FALSE(fs::exists(dir_ + "/committed.tmp"));
}

TEST_F(WalTest, RestartResumesAfterTheCommittedIndexAndResendsTheRest) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(wal->Append(absl::StrCat("r", i)).ok());
    EXPECT_EQ(Drain(*wal).size(), 5u);
    ASSERT_TRUE(wal->Commit(3).ok());
  }
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->last_committed(), 3u);
  EXPECT_EQ(wal->last_appended(), 5u);
  auto next = wal->Next(absl::ZeroDuration());
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->index, 4u);
  EXPECT_EQ((*next)->data, "r4");
  EXPECT_THAT(Drain(*wal), ElementsAre("r5"));
  EXPECT_EQ(*wal->Append("r6"), 6u);
  EXPECT_THAT(Drain(*wal), ElementsAre("r6"));
}

TEST_F(WalTest, NothingCommittedMeansEverythingIsResent) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    ASSERT_TRUE(wal->Append("a").ok());
    ASSERT_TRUE(wal->Append("b").ok());
    EXPECT_EQ(Drain(*wal).size(), 2u);
  }
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_THAT(Drain(*wal), ElementsAre("a", "b"));
}

TEST_F(WalTest, TornTailMidRecordIsCutOff) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (const char* data : {"first", "second", "third record"})
      ASSERT_TRUE(wal->Append(data).ok());
  }
  const uint64_t full = fs::file_size(SegmentPath(1));
  fs::resize_file(SegmentPath(1), full - 5);  // the crash came in the middle of the payload
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(wal->last_appended(), 2u);
    EXPECT_EQ(fs::file_size(SegmentPath(1)), full - 8 - 12);
    EXPECT_THAT(Drain(*wal), ElementsAre("first", "second"));
    EXPECT_EQ(*wal->Append("third again"), 3u);
  }
  // A header cut short is a torn tail too.
  {
    std::ofstream out(SegmentPath(1), std::ios::binary | std::ios::app);
    out.write("\x10\x00\x00", 3);
  }
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_THAT(Drain(*wal), ElementsAre("first", "second", "third again"));
}

TEST_F(WalTest, FlippedByteInTheLastRecordIsCutOff) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (const char* data : {"first", "second", "third"}) ASSERT_TRUE(wal->Append(data).ok());
  }
  std::string bytes = ReadFile(SegmentPath(1));
  bytes[bytes.size() - 2] ^= 0x40;
  WriteFile(SegmentPath(1), bytes);
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->last_appended(), 2u);
  EXPECT_THAT(Drain(*wal), ElementsAre("first", "second"));
}

TEST_F(WalTest, ZeroFilledTailIsCutOff) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    ASSERT_TRUE(wal->Append("kept").ok());
  }
  const uint64_t size = fs::file_size(SegmentPath(1));
  fs::resize_file(SegmentPath(1), size + 4096);  // space allocated, data never written
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(fs::file_size(SegmentPath(1)), size);
  EXPECT_THAT(Drain(*wal), ElementsAre("kept"));
}

TEST_F(WalTest, CutOffCommittedRecordDoesNotReuseItsIndex) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (const char* data : {"a", "b", "c"}) ASSERT_TRUE(wal->Append(data).ok());
    EXPECT_EQ(Drain(*wal).size(), 3u);
    ASSERT_TRUE(wal->Commit(3).ok());
  }
  std::string bytes = ReadFile(SegmentPath(1));
  bytes.back() ^= 1;
  WriteFile(SegmentPath(1), bytes);
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(wal->last_committed(), 3u);
    EXPECT_EQ(wal->last_appended(), 3u);
    // Index 3 is committed, so a new record must not get it, or it would never be read.
    EXPECT_EQ(*wal->Append("d"), 4u);
    EXPECT_THAT(Drain(*wal), ElementsAre("d"));
  }
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->last_appended(), 4u);
  EXPECT_THAT(Drain(*wal), ElementsAre("d"));
}

TEST_F(WalTest, CorruptionBeforeTheTailOfTheLastSegmentIsAnError) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    for (const char* data : {"first", "second", "third"}) ASSERT_TRUE(wal->Append(data).ok());
  }
  std::string bytes = ReadFile(SegmentPath(1));
  bytes[8 + 5 + 8 + 1] ^= 0x01;  // inside "second", with "third" intact after it
  WriteFile(SegmentPath(1), bytes);
  auto wal = Wal::Open(Options());
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(wal.status().message(),
            absl::StrCat("wal: corrupt record in ", SegmentPath(1), " at offset 13"));
}

TEST_F(WalTest, CorruptionInAnEarlierSegmentIsAnError) {
  {
    auto wal = OpenOrDie(/*segment_size=*/64);
    ASSERT_NE(wal, nullptr);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(wal->Append(std::string(20, 'a' + i)).ok());
  }
  // 28 bytes per record: two per 64-byte segment.
  ASSERT_THAT(Segments(), ElementsAre(1, 3, 5));
  std::string bytes = ReadFile(SegmentPath(3));
  bytes.back() ^= 0x10;  // its last record: a torn tail if this were the last segment
  WriteFile(SegmentPath(3), bytes);
  auto wal = Wal::Open(Options(64));
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().message(),
            absl::StrCat("wal: corrupt record in ", SegmentPath(3), " at offset 28"));

  bytes.back() ^= 0x10;
  WriteFile(SegmentPath(3), bytes);
  ASSERT_TRUE(Wal::Open(Options(64)).ok());
  fs::resize_file(SegmentPath(3), 40);  // cut short, and not the last segment either
  wal = Wal::Open(Options(64));
  ASSERT_FALSE(wal.ok());
  EXPECT_THAT(std::string(wal.status().message()), HasSubstr(SegmentPath(3)));
}

TEST_F(WalTest, MissingUncommittedRecordsAreAnError) {
  {
    auto wal = OpenOrDie(64);
    ASSERT_NE(wal, nullptr);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(wal->Append(std::string(20, 'x')).ok());
  }
  fs::remove(SegmentPath(3));
  auto wal = Wal::Open(Options(64));
  ASSERT_FALSE(wal.ok());
  EXPECT_THAT(std::string(wal.status().message()), HasSubstr("records missing"));
}

TEST_F(WalTest, CorruptCommittedFileIsAnError) {
  {
    auto wal = OpenOrDie();
    ASSERT_NE(wal, nullptr);
    ASSERT_TRUE(wal->Append("a").ok());
    ASSERT_TRUE(wal->Commit(1).ok());
  }
  std::string bytes = ReadFile(dir_ + "/committed");
  bytes[0] ^= 1;
  WriteFile(dir_ + "/committed", bytes);
  auto wal = Wal::Open(Options());
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().message(),
            absl::StrCat("wal: corrupt committed index in ", dir_, "/committed"));
}

TEST_F(WalTest, SegmentsRotateAndTruncateDeletesOnlyCommittedOnes) {
  auto wal = OpenOrDie(/*segment_size=*/100);
  ASSERT_NE(wal, nullptr);
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(wal->Append(std::string(40, 'a' + i)).ok());
  // 48 bytes per record: two fit in 100.
  EXPECT_THAT(Segments(), ElementsAre(1, 3, 5, 7, 9));
  for (uint64_t first : Segments()) EXPECT_LE(fs::file_size(SegmentPath(first)), 100u);
  EXPECT_EQ(Drain(*wal).size(), 10u);

  ASSERT_TRUE(wal->Commit(5).ok());
  ASSERT_TRUE(wal->Truncate().ok());
  EXPECT_THAT(Segments(), ElementsAre(5, 7, 9));  // 5-6 still holds uncommitted record 6

  ASSERT_TRUE(wal->Commit(10).ok());
  ASSERT_TRUE(wal->Truncate().ok());
  EXPECT_THAT(Segments(), ElementsAre(9));  // the segment being written stays
  wal.reset();

  wal = OpenOrDie(100);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->last_appended(), 10u);
  EXPECT_EQ(wal->last_committed(), 10u);
  EXPECT_TRUE(Drain(*wal).empty());
  EXPECT_EQ(*wal->Append(std::string(40, 'z')), 11u);
  EXPECT_THAT(Segments(), ElementsAre(9, 11));
  EXPECT_THAT(Drain(*wal), ElementsAre(std::string(40, 'z')));
}

TEST_F(WalTest, TruncateKeepsSegmentsNotYetRead) {
  auto wal = OpenOrDie(100);
  ASSERT_NE(wal, nullptr);
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(wal->Append(std::string(40, 'a' + i)).ok());
  ASSERT_TRUE(wal->Commit(4).ok());  // committed ahead of the reader
  ASSERT_TRUE(wal->Truncate().ok());
  EXPECT_THAT(Segments(), ElementsAre(1, 3, 5));
  EXPECT_EQ(Drain(*wal).size(), 6u);
  ASSERT_TRUE(wal->Truncate().ok());
  EXPECT_THAT(Segments(), ElementsAre(5));
}

TEST_F(WalTest, OversizedRecordGetsASegmentOfItsOwn) {
  auto wal = OpenOrDie(100);
  ASSERT_NE(wal, nullptr);
  const std::string big(10 << 20, 'b');
  ASSERT_TRUE(wal->Append("small").ok());
  ASSERT_TRUE(wal->Append(big).ok());
  ASSERT_TRUE(wal->Append("after").ok());
  EXPECT_THAT(Segments(), ElementsAre(1, 2, 3));
  std::vector<std::string> all = Drain(*wal);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[1] == big);
}

TEST_F(WalTest, NextTimesOut) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  const auto start = Clock::now();
  auto next = wal->Next(absl::Milliseconds(100));
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(95));
}

TEST_F(WalTest, NextBlocksUntilAppend) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  std::optional<WalRecord> got;
  Clock::time_point woke;
  std::thread reader([&] {
    auto next = wal->Next(absl::Seconds(10));
    if (next.ok()) got = std::move(*next);
    woke = Clock::now();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const auto appended = Clock::now();
  ASSERT_TRUE(wal->Append("late").ok());
  reader.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->data, "late");
  EXPECT_LT(woke - appended, std::chrono::seconds(1));
}

TEST_F(WalTest, CloseWakesNextAndLaterCallsFail) {
  auto wal = OpenOrDie();
  ASSERT_NE(wal, nullptr);
  ASSERT_TRUE(wal->Append("a").ok());
  EXPECT_EQ(Drain(*wal).size(), 1u);
  bool returned_nothing = false;
  Clock::time_point woke;
  std::thread reader([&] {
    auto next = wal->Next(absl::Seconds(10));
    returned_nothing = next.ok() && !next->has_value();
    woke = Clock::now();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const auto closed = Clock::now();
  wal->Close();
  reader.join();
  EXPECT_TRUE(returned_nothing);
  EXPECT_LT(woke - closed, std::chrono::seconds(1));

  EXPECT_EQ(wal->Append("b").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(wal->Commit(1).code(), absl::StatusCode::kFailedPrecondition);
  auto next = wal->Next(absl::Seconds(1));
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_TRUE(wal->Truncate().ok());
  wal->Close();  // idempotent
}

TEST_F(WalTest, ConcurrentWriterAndReaderDeliverEverythingInOrder) {
  constexpr int kRecords = 10000;
  auto wal = OpenOrDie(/*segment_size=*/64 << 10);
  ASSERT_NE(wal, nullptr);
  auto payload = [](int i) { return absl::StrCat("record-", i, std::string(i % 97, '.')); };
  std::thread writer([&] {
    for (int i = 1; i <= kRecords; ++i) {
      auto index = wal->Append(payload(i));
      ASSERT_TRUE(index.ok()) << index.status();
      ASSERT_EQ(*index, static_cast<uint64_t>(i));
    }
  });
  int received = 0;
  bool in_order = true;
  const auto deadline = Clock::now() + std::chrono::seconds(100);
  while (received < kRecords && Clock::now() < deadline) {
    auto next = wal->Next(absl::Seconds(1));
    ASSERT_TRUE(next.ok()) << next.status();
    if (!next->has_value()) continue;
    ++received;
    in_order = in_order && (*next)->index == static_cast<uint64_t>(received) &&
               (*next)->data == payload(received);
    if (received % 500 == 0) {
      ASSERT_TRUE(wal->Commit((*next)->index).ok());
      ASSERT_TRUE(wal->Truncate().ok());
    }
  }
  writer.join();
  EXPECT_EQ(received, kRecords);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(wal->last_committed(), static_cast<uint64_t>(kRecords));
  ASSERT_TRUE(wal->Truncate().ok());
  EXPECT_EQ(Segments().size(), 1u);
}

TEST(WalOpenTest, RejectsBadOptions) {
  EXPECT_EQ(Wal::Open(WalOptions{}).status().code(), absl::StatusCode::kInvalidArgument);
  WalOptions options;
  options.directory = ::testing::TempDir() + "/prw-wal-bad-options";
  options.segment_size = 0;
  EXPECT_EQ(Wal::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sprout::collector::prwexporter
