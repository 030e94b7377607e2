// What only the filesystem store has: its layout on disk, its crash safety (FaultInjectionEnv's
// simulated machine crash at every step of a Put and a Delete), leftover temporary files and
// CleanUp, failing disks, and the keys a file system cannot hold side by side.
#include "objstore/filesystem.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/fault_injection_env.h"
#include "storage/testing.h"

namespace sprout::objstore {
namespace {

using storage::FaultInjectionEnv;
using CrashMode = FaultInjectionEnv::CrashMode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kRoot[] = "/data/blocks";

std::unique_ptr<FilesystemObjectStore> OpenStore(storage::Env* env,
                                                 const std::string& root = kRoot) {
  auto store = FilesystemObjectStore::Open(env, root);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// Every file under `dir` (relative paths), temporary ones included.
std::vector<std::string> FilesUnder(storage::Env& env, const std::string& dir,
                                    const std::string& rel = "") {
  std::vector<std::string> out;
  auto names = env.ListDir(dir);
  if (!names.ok()) return out;
  for (const std::string& name : *names) {
    const std::string path = storage::JoinPath(dir, name);
    const std::string relative = rel.empty() ? name : absl::StrCat(rel, "/", name);
    if (*env.IsDirectory(path)) {
      for (std::string& f : FilesUnder(env, path, relative)) out.push_back(std::move(f));
    } else {
      out.push_back(relative);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool HasTemporaryFile(storage::Env& env) {
  for (const std::string& f : FilesUnder(env, kRoot)) {
    if (f.find(".sprout-tmp-") != std::string::npos) return true;
  }
  return false;
}

TEST(FilesystemObjectStoreTest, KeysAreFilesUnderTheRoot) {
  FaultInjectionEnv env;
  auto store = OpenStore(&env);
  EXPECT_EQ(store->Describe(), "filesystem:/data/blocks");
  ASSERT_TRUE(store->Put("tenant/01A/meta.json", "m").ok());
  ASSERT_TRUE(store->Put("tenant/01A/chunks/000001", "c").ok());
  EXPECT_THAT(FilesUnder(env, kRoot),
              ElementsAre("tenant/01A/chunks/000001", "tenant/01A/meta.json"));
  EXPECT_EQ(*env.ReadFile("/data/blocks/tenant/01A/meta.json"), "m");
  // Opening with a trailing '/' names the same root.
  auto again = OpenStore(&env, "/data/blocks/");
  EXPECT_EQ(*again->Get("tenant/01A/meta.json"), "m");
  // The root, its parents and everything a Put made survive a machine crash.
  env.SimulateCrash(CrashMode::kDropUnsynced);
  EXPECT_EQ(*OpenStore(&env)->Get("tenant/01A/chunks/000001"), "c");
  EXPECT_TRUE(absl::IsInvalidArgument(FilesystemObjectStore::Open(&env, "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FilesystemObjectStore::Open(nullptr, kRoot).status()));
}

TEST(FilesystemObjectStoreTest, AcknowledgedPutsAndDeletesSurviveAMachineCrash) {
  FaultInjectionEnv env;
  {
    auto store = OpenStore(&env);
    ASSERT_TRUE(store->Put("t/01A/meta.json", "old").ok());
    ASSERT_TRUE(store->Put("t/01A/meta.json", "new").ok());
    ASSERT_TRUE(store->Put("t/01B/meta.json", "b").ok());
    ASSERT_TRUE(store->Put("t/01C/meta.json", "c").ok());
    ASSERT_TRUE(store->Put("t/01C/index", "c").ok());
    ASSERT_TRUE(store->Delete("t/01B/meta.json").ok());
    ASSERT_TRUE(store->DeletePrefix("t/01C/").ok());
  }
  env.SimulateCrash(CrashMode::kDropUnsynced);
  auto store = OpenStore(&env);
  EXPECT_THAT(store->List("")->keys, ElementsAre("t/01A/meta.json"));
  EXPECT_EQ(*store->Get("t/01A/meta.json"), "new");
  // Empty directories went with their last objects.
  EXPECT_THAT(*env.ListDir("/data/blocks/t"), ElementsAre("01A"));
}

// A machine crash after every number of file-system operations of a Put (and, in between, torn
// writes): the object is the old one or the new one, whole, and no temporary file is ever listed;
// CleanUp then leaves no temporary file behind.
TEST(FilesystemObjectStoreTest, ACrashAtAnyStepOfAPutLeavesTheOldOrTheNewObject) {
  for (CrashMode mode :
       {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced, CrashMode::kKeepUnsynced}) {
    for (bool replace : {false, true}) {
      bool finished = false;
      for (int steps = 0; !finished; ++steps) {
        SCOPED_TRACE(absl::StrCat("mode ", static_cast<int>(mode), " replace ", replace,
                                  " crash after ", steps, " operations"));
        ASSERT_LT(steps, 100);
        FaultInjectionEnv env;
        const std::string old_data(3000, 'o');
        const std::string new_data(5000, 'n');
        {
          auto store = OpenStore(&env);
          ASSERT_TRUE(store->Put("t/keep", "kept").ok());
          if (replace) {
            ASSERT_TRUE(store->Put("t/01A/meta.json", old_data).ok());
          }
          // From here on, every operation after the first `steps` fails: the machine is gone.
          env.InjectFault(
              {.skip = steps, .count = -1, .error = absl::AbortedError("simulated crash")});
          finished = store->Put("t/01A/meta.json", new_data).ok();
        }
        env.SimulateCrash(mode, /*seed=*/steps + 1);
        auto store = OpenStore(&env);
        absl::StatusOr<std::string> got = store->Get("t/01A/meta.json");
        if (finished && mode != CrashMode::kKeepUnsynced) {
          // Acknowledged: durable.
          ASSERT_TRUE(got.ok()) << got.status();
          EXPECT_TRUE(*got == new_data);
        } else if (got.ok()) {
          EXPECT_TRUE(*got == new_data || (replace && *got == old_data)) << got->size();
        } else {
          EXPECT_TRUE(absl::IsNotFound(got.status())) << got.status();
          EXPECT_FALSE(replace) << "the old object was lost";
        }
        absl::StatusOr<ListResult> listed = store->List("");
        ASSERT_TRUE(listed.ok()) << listed.status();
        for (const std::string& key : listed->keys) {
          EXPECT_TRUE(key == "t/keep" || key == "t/01A/meta.json") << key;
        }
        EXPECT_EQ(*store->Get("t/keep"), "kept");
        ASSERT_TRUE(store->CleanUp(absl::InfiniteFuture()).ok());
        EXPECT_FALSE(HasTemporaryFile(env)) << testing::PrintToString(FilesUnder(env, kRoot));
        // And the store works on.
        ASSERT_TRUE(store->Put("t/01A/meta.json", "after").ok());
        EXPECT_EQ(*store->Get("t/01A/meta.json"), "after");
      }
    }
  }
}

TEST(FilesystemObjectStoreTest, ATornWriteLeavesTheOldObject) {
  for (uint64_t budget : {0, 1, 4095, 4096, 9999}) {
    SCOPED_TRACE(budget);
    FaultInjectionEnv env;
    auto store = OpenStore(&env);
    ASSERT_TRUE(store->Put("t/01A/meta.json", "old").ok());
    env.CrashAfterBytes(budget);
    absl::Status put = store->Put("t/01A/meta.json", std::string(10000, 'n'));
    EXPECT_TRUE(absl::IsAborted(put)) << put;
    EXPECT_THAT(put.message(), HasSubstr("t/01A/meta.json"));
    env.SimulateCrash(CrashMode::kTearUnsynced, budget + 7);
    store = OpenStore(&env);
    EXPECT_EQ(*store->Get("t/01A/meta.json"), "old");
    EXPECT_THAT(store->List("")->keys, ElementsAre("t/01A/meta.json"));
  }
}

TEST(FilesystemObjectStoreTest, FailedPutsKeepTheOldObjectAndRemoveTheirTemporaryFile) {
  struct Case {
    uint32_t ops;
    absl::StatusCode code;
  };
  for (Case c : {Case{FaultInjectionEnv::kWrite, absl::StatusCode::kInternal},
                 Case{FaultInjectionEnv::kSync, absl::StatusCode::kInternal},
                 Case{FaultInjectionEnv::kRename, absl::StatusCode::kInternal},
                 Case{FaultInjectionEnv::kOpen, absl::StatusCode::kInternal}}) {
    SCOPED_TRACE(c.ops);
    FaultInjectionEnv env;
    auto store = OpenStore(&env);
    ASSERT_TRUE(store->Put("t/k", "old").ok());
    env.InjectFault({.ops = c.ops, .path_contains = ".sprout-tmp-", .short_write = 3});
    absl::Status put = store->Put("t/k", "new data");
    EXPECT_EQ(put.code(), c.code) << put;
    EXPECT_THAT(put.message(), HasSubstr("put t/k"));
    EXPECT_EQ(*store->Get("t/k"), "old");
    EXPECT_FALSE(HasTemporaryFile(env));
    ASSERT_TRUE(store->Put("t/k", "new data").ok());  // the fault was for one call
    EXPECT_EQ(*store->Get("t/k"), "new data");
  }
  // A full disk is kResourceExhausted, the code that says "retry once space is freed".
  FaultInjectionEnv env;
  auto store = OpenStore(&env);
  ASSERT_TRUE(store->Put("t/k", "old").ok());
  env.SetCapacity(env.UsedBytes() + 100);
  absl::Status full = store->Put("t/k", std::string(1000, 'x'));
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_EQ(*store->Get("t/k"), "old");
  EXPECT_FALSE(HasTemporaryFile(env));
  // A failed directory sync: the object may be visible, but the Put says it is not durable.
  env.SetCapacity(std::nullopt);
  env.InjectFault({.ops = FaultInjectionEnv::kSyncDir});
  EXPECT_FALSE(store->Put("t/k", "new").ok());
}

TEST(FilesystemObjectStoreTest, LeftoverTemporaryFilesAreIgnoredThenCleanedUp) {
  ManualClock clock;
  FaultInjectionEnv env;
  env.SetClock(&clock);
  auto store = OpenStore(&env);
  ASSERT_TRUE(store->Put("t/01A/meta.json", "m").ok());
  // What a crashed Put leaves when another Put synced the directory meanwhile: a durable
  // temporary file, beside objects and alone in a directory of its own.
  for (std::string dir : {"/data/blocks/t/01A", "/data/blocks/t/01B/chunks"}) {
    ASSERT_TRUE(env.CreateDirs(dir).ok());
    auto file = env.OpenFile(dir + "/.sprout-tmp-999-1", storage::OpenMode::kCreate);
    ASSERT_TRUE((*file)->Append("partial").ok());
    ASSERT_TRUE((*file)->Sync().ok());
    ASSERT_TRUE(env.SyncDir(dir).ok());
  }
  env.SimulateCrash(CrashMode::kDropUnsynced);
  store = OpenStore(&env);
  EXPECT_THAT(store->List("")->keys, ElementsAre("t/01A/meta.json"));
  absl::StatusOr<ListResult> tenant = store->List("t/", {.delimited = true});
  EXPECT_THAT(tenant->prefixes, ElementsAre("t/01A/"));  // 01B holds no object
  EXPECT_THAT(store->List("t/01B/")->keys, IsEmpty());
  // Too young to be a leftover for sure: kept.
  clock.Advance(absl::Minutes(30));
  absl::StatusOr<FilesystemObjectStore::CleanUpResult> young =
      store->CleanUp(clock.Now() - absl::Hours(1));
  ASSERT_TRUE(young.ok()) << young.status();
  EXPECT_EQ(young->temporary_files, 0);
  EXPECT_TRUE(HasTemporaryFile(env));
  clock.Advance(absl::Hours(1));
  // A Put in flight right now (its temporary file modified just now) is left alone.
  env.SetBeforeSync([&](const std::string& path) {
    if (path.find(".sprout-tmp-") == std::string::npos) return;
    env.SetBeforeSync(nullptr);
    absl::StatusOr<FilesystemObjectStore::CleanUpResult> old =
        store->CleanUp(clock.Now() - absl::Hours(1));
    ASSERT_TRUE(old.ok()) << old.status();
    EXPECT_EQ(old->temporary_files, 2);
    EXPECT_EQ(old->directories, 2);  // t/01B/chunks and t/01B
  });
  ASSERT_TRUE(store->Put("t/01C/meta.json", "c").ok());
  EXPECT_FALSE(HasTemporaryFile(env));
  EXPECT_THAT(FilesUnder(env, kRoot), ElementsAre("t/01A/meta.json", "t/01C/meta.json"));
  env.SimulateCrash(CrashMode::kDropUnsynced);  // and the clean-up was durable
  EXPECT_THAT(FilesUnder(env, kRoot), ElementsAre("t/01A/meta.json", "t/01C/meta.json"));
}

TEST(FilesystemObjectStoreTest, AKeyAndKeysUnderItCannotCoexist) {
  FaultInjectionEnv env;
  auto store = OpenStore(&env);
  ASSERT_TRUE(store->Put("a/b", "file").ok());
  absl::Status under = store->Put("a/b/c", "x");
  EXPECT_TRUE(absl::IsFailedPrecondition(under)) << under;
  EXPECT_THAT(under.message(), HasSubstr("a/b/c"));
  ASSERT_TRUE(store->Put("x/y/z", "deep").ok());
  absl::Status over = store->Put("x/y", "x");
  EXPECT_TRUE(absl::IsFailedPrecondition(over)) << over;
  EXPECT_EQ(*store->Get("a/b"), "file");
  EXPECT_EQ(*store->Get("x/y/z"), "deep");
  EXPECT_TRUE(store->Delete("x/y").ok());  // no object there: nothing happens
  EXPECT_EQ(*store->Get("x/y/z"), "deep");
}

// The same on the real file system, where POSIX answers ENOTDIR and EISDIR.
TEST(FilesystemObjectStoreTest, OnDiskAFileInTheWayIsNotFoundOrFailedPrecondition) {
  const std::string dir = storage::testing::FreshTempDir("objstore-fs");
  {
    auto store = OpenStore(storage::Env::Default(), dir);
    ASSERT_TRUE(store->Put("a/b", "file").ok());
    EXPECT_TRUE(absl::IsNotFound(store->Get("a/b/c").status()));
    EXPECT_TRUE(absl::IsNotFound(store->Attributes("a/b/c/d").status()));
    EXPECT_TRUE(store->Delete("a/b/c").ok());
    EXPECT_THAT(store->List("a/b/c/")->keys, IsEmpty());
    EXPECT_TRUE(absl::IsNotFound(store->Get("a").status()));
    EXPECT_TRUE(absl::IsFailedPrecondition(store->Put("a/b/c", "x")));
    EXPECT_TRUE(absl::IsFailedPrecondition(store->Put("a", "x")));
    ASSERT_TRUE(store->Put("a/t", "x").ok());
    ASSERT_TRUE(store->DeletePrefix("a/").ok());
    EXPECT_THAT(store->List("")->keys, IsEmpty());
    // Empty directories went with their objects; the root stays.
    EXPECT_FALSE(std::filesystem::exists(dir + "/a"));
    EXPECT_TRUE(std::filesystem::is_directory(dir));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sprout::objstore
