// What FaultInjectionEnv's crashes keep and lose, and its injected faults.
#include "storage/fault_injection_env.h"

#include <string>

#include "base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::storage {
namespace {

using CrashMode = FaultInjectionEnv::CrashMode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Creates `path` with `data`, syncs the file, and (when asked) its directory.
void WriteFile(Env& env, const std::string& path, std::string_view data, bool sync_file = true,
               bool sync_dir = true) {
  auto file = env.OpenFile(path, OpenMode::kCreate);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->Append(data).ok());
  if (sync_file) ASSERT_TRUE((*file)->Sync().ok());
  if (sync_dir) ASSERT_TRUE(env.SyncDir(ParentDir(path)).ok());
}

std::string Contents(Env& env, const std::string& path) {
  auto data = env.ReadFile(path);
  return data.ok() ? *data : "<" + std::string(data.status().message()) + ">";
}

TEST(FaultInjectionEnvTest, MachineCrashKeepsOnlySyncedData) {
  FaultInjectionEnv env;
  WriteFile(env, "/d/../f", "synced");  // "/f"
  auto file = env.OpenFile("/f", OpenMode::kReadWrite);
  ASSERT_TRUE((*file)->Append(" and not").ok());
  EXPECT_EQ(Contents(env, "/f"), "synced and not");
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_EQ(Contents(env, "/f"), "synced");
  // Handles from before the crash are dead.
  absl::Status dead = (*file)->Append("x");
  EXPECT_TRUE(absl::IsAborted(dead)) << dead;
}

TEST(FaultInjectionEnvTest, ProcessCrashKeepsThePageCache) {
  FaultInjectionEnv env;
  WriteFile(env, "/f", "synced");
  WriteFile(env, "/g", "never synced", /*sync_file=*/false, /*sync_dir=*/false);
  {
    auto file = env.OpenFile("/f", OpenMode::kReadWrite);
    ASSERT_TRUE((*file)->Append("+more").ok());
  }
  env.SimulateCrash(CrashMode::kKeepUnsynced);
  EXPECT_EQ(Contents(env, "/f"), "synced+more");
  EXPECT_EQ(Contents(env, "/g"), "never synced");
  // ...and a machine crash afterwards still loses what was never synced.
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_EQ(Contents(env, "/f"), "synced");
  EXPECT_FALSE(*env.Exists("/g"));
}

TEST(FaultInjectionEnvTest, NewFileNeedsItsDirectorySynced) {
  FaultInjectionEnv env;
  // Synced contents, unsynced name: gone.
  WriteFile(env, "/f", "data", /*sync_file=*/true, /*sync_dir=*/false);
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_FALSE(*env.Exists("/f"));
  // Synced name, unsynced contents: there, empty.
  WriteFile(env, "/g", "data", /*sync_file=*/false, /*sync_dir=*/true);
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_EQ(Contents(env, "/g"), "");
}

TEST(FaultInjectionEnvTest, UnsyncedRemoveAndRenameAreUndone) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.CreateDir("/d").ok());
  ASSERT_TRUE(env.SyncDir("/").ok());
  WriteFile(env, "/d/old", "old contents");
  WriteFile(env, "/d/target", "target contents");
  WriteFile(env, "/d/doomed", "doomed contents");
  WriteFile(env, "/d/tmp", "new contents", /*sync_file=*/true, /*sync_dir=*/false);
  ASSERT_TRUE(env.RemoveFile("/d/doomed").ok());
  ASSERT_TRUE(env.Rename("/d/tmp", "/d/target").ok());
  ASSERT_TRUE(env.Rename("/d/old", "/d/moved").ok());
  EXPECT_THAT(*env.ListDir("/d"), UnorderedElementsAre("moved", "target"));
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_THAT(*env.ListDir("/d"), UnorderedElementsAre("old", "target", "doomed"));
  EXPECT_EQ(Contents(env, "/d/target"), "target contents");
  EXPECT_EQ(Contents(env, "/d/doomed"), "doomed contents");
  EXPECT_EQ(Contents(env, "/d/old"), "old contents");
}

TEST(FaultInjectionEnvTest, SyncedRenameReplacesAtomically) {
  FaultInjectionEnv env;
  WriteFile(env, "/target", "old");
  WriteFile(env, "/tmp", "new", /*sync_file=*/true, /*sync_dir=*/false);
  ASSERT_TRUE(env.Rename("/tmp", "/target").ok());
  ASSERT_TRUE(env.SyncDir("/").ok());
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_THAT(*env.ListDir("/"), ElementsAre("target"));
  EXPECT_EQ(Contents(env, "/target"), "new");
}

TEST(FaultInjectionEnvTest, UnsyncedOverwriteAndTruncateAreUndone) {
  FaultInjectionEnv env;
  WriteFile(env, "/f", "0123456789");
  auto file = env.OpenFile("/f", OpenMode::kReadWrite);
  ASSERT_TRUE((*file)->WriteAt(2, "ab").ok());
  ASSERT_TRUE((*file)->WriteAt(3, "XYZ").ok());  // overlaps the first overwrite
  ASSERT_TRUE((*file)->Truncate(4).ok());
  ASSERT_TRUE((*file)->Append("tail").ok());
  EXPECT_EQ(Contents(env, "/f"), "01aXtail");
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_EQ(Contents(env, "/f"), "0123456789");
}

TEST(FaultInjectionEnvTest, SyncedOverwriteSurvives) {
  FaultInjectionEnv env;
  WriteFile(env, "/f", "0123456789");
  auto file = env.OpenFile("/f", OpenMode::kReadWrite);
  ASSERT_TRUE((*file)->WriteAt(0, "ab").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->WriteAt(8, "yz").ok());
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_EQ(Contents(env, "/f"), "ab23456789");
}

TEST(FaultInjectionEnvTest, UnsyncedDirectoryLosesItsFiles) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.CreateDir("/a").ok());  // the entry "a" in "/" is never synced
  WriteFile(env, "/a/f", "data");         // "/a" itself is synced
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_FALSE(*env.Exists("/a"));
  // CreateDirs syncs each new directory's parent.
  ASSERT_TRUE(env.CreateDirs("/b/c").ok());
  WriteFile(env, "/b/c/f", "data");
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_EQ(Contents(env, "/b/c/f"), "data");
}

TEST(FaultInjectionEnvTest, TornCrashKeepsAPrefixOfTheUnsyncedTail) {
  bool some_kept = false;
  bool some_zeros = false;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    FaultInjectionEnv env;
    WriteFile(env, "/f", "synced|");
    auto file = env.OpenFile("/f", OpenMode::kReadWrite);
    ASSERT_TRUE((*file)->Append("abcdefghijklmnopqrstuvwxyz").ok());
    env.SimulateCrash(CrashMode::kTearUnsynced, seed);
    const std::string after = Contents(env, "/f");
    ASSERT_TRUE(after.starts_with("synced|")) << after;
    const std::string tail = after.substr(7);
    const size_t kept = tail.find('\0') == std::string::npos ? tail.size() : tail.find('\0');
    EXPECT_EQ(tail.substr(0, kept), std::string("abcdefghijklmnopqrstuvwxyz").substr(0, kept));
    EXPECT_EQ(tail.substr(kept), std::string(tail.size() - kept, '\0'));
    EXPECT_LE(tail.size(), 26u);
    some_kept = some_kept || kept > 0;
    some_zeros = some_zeros || kept < tail.size();
  }
  EXPECT_TRUE(some_kept);
  EXPECT_TRUE(some_zeros);
}

TEST(FaultInjectionEnvTest, CrashAfterBytesTearsTheWriteAndStopsEverything) {
  FaultInjectionEnv env;
  WriteFile(env, "/f", "");
  auto file = env.OpenFile("/f", OpenMode::kReadWrite);
  env.CrashAfterBytes(10);
  ASSERT_TRUE((*file)->Append("12345").ok());
  absl::Status torn = (*file)->Append("67890abcde");
  EXPECT_TRUE(absl::IsAborted(torn)) << torn;
  EXPECT_THAT(std::string(torn.message()), HasSubstr("simulated crash"));
  EXPECT_TRUE(env.crashed());
  EXPECT_TRUE(absl::IsAborted((*file)->Sync()));
  EXPECT_TRUE(absl::IsAborted(env.SyncDir("/")));
  EXPECT_TRUE(absl::IsAborted(env.OpenFile("/g", OpenMode::kCreate).status()));
  env.SimulateCrash(CrashMode::kKeepUnsynced);
  EXPECT_FALSE(env.crashed());
  EXPECT_EQ(Contents(env, "/f"), "1234567890");
}

TEST(FaultInjectionEnvTest, CapacityGivesEnospcAfterWritingWhatFits) {
  FaultInjectionEnv env;
  env.SetCapacity(8);
  auto file = env.OpenFile("/f", OpenMode::kCreate);
  ASSERT_TRUE((*file)->Append("12345").ok());
  absl::Status full = (*file)->Append("6789");
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_EQ(full.message(), "write /f: No space left on device");
  EXPECT_EQ(Contents(env, "/f"), "12345678");
  EXPECT_TRUE((*file)->WriteAt(0, "ab").ok());  // overwriting needs no room
  ASSERT_TRUE((*file)->Truncate(5).ok());       // freeing makes room
  EXPECT_TRUE((*file)->Append("xyz").ok());
  EXPECT_EQ(env.UsedBytes(), 8u);
  env.SetCapacity(std::nullopt);
  EXPECT_TRUE((*file)->Append("more").ok());
}

TEST(FaultInjectionEnvTest, InjectedFaultsStrikeTheChosenOperations) {
  FaultInjectionEnv env;
  auto file = env.OpenFile("/wal/../f.log", OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  env.InjectFault({.ops = FaultInjectionEnv::kSync,
                   .path_contains = ".log",
                   .skip = 1,
                   .count = 2,
                   .error = absl::InternalError("sync /f.log: Input/output error")});
  EXPECT_TRUE((*file)->Sync().ok());  // skipped
  EXPECT_EQ((*file)->Sync().message(), "sync /f.log: Input/output error");
  EXPECT_FALSE((*file)->Sync().ok());
  EXPECT_TRUE((*file)->Sync().ok());  // count used up

  // A short write: part of the data is stored before the error.
  env.InjectFault({.ops = FaultInjectionEnv::kWrite,
                   .error = absl::ResourceExhaustedError("write: No space left on device"),
                   .short_write = 3});
  EXPECT_TRUE(absl::IsResourceExhausted((*file)->Append("abcdef")));
  EXPECT_EQ(Contents(env, "/f.log"), "abc");

  env.InjectFault({.ops = FaultInjectionEnv::kRename | FaultInjectionEnv::kSyncDir, .count = -1});
  EXPECT_FALSE(env.Rename("/f.log", "/g.log").ok());
  EXPECT_FALSE(env.SyncDir("/").ok());
  EXPECT_FALSE(env.Rename("/f.log", "/g.log").ok());
  env.ClearFaults();
  EXPECT_TRUE(env.Rename("/f.log", "/g.log").ok());
}

TEST(FaultInjectionEnvTest, CountsSyncsAndWrites) {
  FaultInjectionEnv env;
  WriteFile(env, "/f", "abc");
  WriteFile(env, "/g", "de", /*sync_file=*/false, /*sync_dir=*/true);
  const FaultInjectionEnv::Stats stats = env.stats();
  EXPECT_EQ(stats.file_syncs, 1);
  EXPECT_EQ(stats.dir_syncs, 2);
  EXPECT_EQ(stats.writes, 2);
  EXPECT_EQ(stats.bytes_written, 5);
}

TEST(FaultInjectionEnvTest, LocksDieWithTheProcess) {
  FaultInjectionEnv env;
  auto lock = env.LockFile("/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_FALSE(env.LockFile("/LOCK").ok());
  env.SimulateCrash(CrashMode::kKeepUnsynced);
  auto after = env.LockFile("/LOCK");
  EXPECT_TRUE(after.ok()) << after.status();
  lock->reset();  // the dead holder's release does not free the new holder's lock
  EXPECT_FALSE(env.LockFile("/LOCK").ok());
  EXPECT_THAT(*env.ListDir("/"), ElementsAre("LOCK"));
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_THAT(*env.ListDir("/"), IsEmpty());
}

TEST(FaultInjectionEnvTest, ModificationTimesComeFromTheSetClock) {
  ManualClock clock;
  FaultInjectionEnv env;
  env.SetClock(&clock);
  const absl::Time created = clock.Now();
  WriteFile(env, "/f", "one");
  EXPECT_EQ(*env.ModificationTime("/f"), created);
  clock.Advance(absl::Minutes(5));
  EXPECT_EQ(*env.ModificationTime("/f"), created);  // reading or waiting changes nothing
  {
    auto file = env.OpenFile("/f", OpenMode::kReadWrite);
    ASSERT_TRUE((*file)->Append("two").ok());
  }
  EXPECT_EQ(*env.ModificationTime("/f"), created + absl::Minutes(5));
}

}  // namespace
}  // namespace sprout::storage
