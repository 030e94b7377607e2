// The Env contract, run against both implementations: the POSIX file system (in a temporary
// directory) and FaultInjectionEnv (with no fault armed it must behave like a file system).
#include "storage/env.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/fault_injection_env.h"
#include "storage/testing.h"

namespace sprout::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

enum class Kind { kPosix, kFault };

class EnvTest : public ::testing::TestWithParam<Kind> {
 protected:
  EnvTest() {
    if (GetParam() == Kind::kPosix) {
      env_ = Env::Default();
      root_ = testing::FreshTempDir("env-test");
      std::filesystem::create_directories(root_);
    } else {
      fault_ = std::make_unique<FaultInjectionEnv>();
      env_ = fault_.get();
      root_ = "/root";
      EXPECT_TRUE(env_->CreateDir(root_).ok());
    }
  }
  ~EnvTest() override {
    if (GetParam() == Kind::kPosix) std::filesystem::remove_all(root_);
  }
  std::string Path(std::string_view name) const { return JoinPath(root_, name); }

  std::unique_ptr<FaultInjectionEnv> fault_;
  Env* env_ = nullptr;
  std::string root_;
};

TEST_P(EnvTest, AppendGathersPartsAndReadAtReadsThem) {
  auto file = env_->OpenFile(Path("f"), OpenMode::kCreate);
  ASSERT_TRUE(file.ok()) << file.status();
  const std::string big(100000, 'x');
  const std::string_view parts[] = {"head", "", big, "tail"};
  ASSERT_TRUE((*file)->Append(parts).ok());
  ASSERT_TRUE((*file)->Append("!").ok());
  EXPECT_EQ(*(*file)->Size(), 4 + big.size() + 4 + 1);
  char buf[8];
  auto n = (*file)->ReadAt(0, 4, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "head");
  n = (*file)->ReadAt(4 + big.size(), 8, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "tail!");  // short: the end of the file
  n = (*file)->ReadAt(1 << 20, 8, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  ASSERT_TRUE((*file)->Sync().ok());
  EXPECT_EQ(*env_->ReadFile(Path("f")), absl::StrCat("head", big, "tail!"));
}

TEST_P(EnvTest, WriteAtOverwritesAndExtendsTruncateShrinks) {
  auto file = env_->OpenFile(Path("f"), OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("abcdef").ok());
  ASSERT_TRUE((*file)->WriteAt(2, "XY").ok());
  ASSERT_TRUE((*file)->WriteAt(8, "Z").ok());  // past the end: a hole of zeros
  EXPECT_EQ(*env_->ReadFile(Path("f")), std::string("abXYef\0\0Z", 9));
  ASSERT_TRUE((*file)->Truncate(3).ok());
  ASSERT_TRUE((*file)->Append("+").ok());  // appends at the new end
  EXPECT_EQ(*env_->ReadFile(Path("f")), "abX+");
  ASSERT_TRUE(env_->TruncateFile(Path("f"), 1).ok());
  EXPECT_EQ(*env_->FileSize(Path("f")), 1u);
}

TEST_P(EnvTest, OpenModes) {
  EXPECT_TRUE(absl::IsNotFound(env_->OpenFile(Path("none"), OpenMode::kRead).status()));
  EXPECT_TRUE(absl::IsNotFound(env_->OpenFile(Path("none"), OpenMode::kReadWrite).status()));
  ASSERT_TRUE(env_->OpenFile(Path("new"), OpenMode::kCreateExclusive).ok());
  auto again = env_->OpenFile(Path("new"), OpenMode::kCreateExclusive);
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  EXPECT_THAT(std::string(again.status().message()), HasSubstr(Path("new")));
  auto existing = env_->OpenFile(Path("new"), OpenMode::kCreate);
  ASSERT_TRUE(existing.ok());
  ASSERT_TRUE((*existing)->Append("data").ok());
  auto reopened = env_->OpenFile(Path("new"), OpenMode::kReadWrite);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)->Append("+").ok());  // at the end, not at 0
  EXPECT_EQ(*env_->ReadFile(Path("new")), "data+");
  auto read_only = env_->OpenFile(Path("new"), OpenMode::kRead);
  ASSERT_TRUE(read_only.ok());
  EXPECT_FALSE((*read_only)->Append("x").ok());
}

TEST_P(EnvTest, DirectoriesListRenameRemove) {
  ASSERT_TRUE(env_->CreateDirs(Path("a/b/c")).ok());
  ASSERT_TRUE(env_->CreateDirs(Path("a/b/c")).ok());  // exists: fine
  EXPECT_TRUE(*env_->IsDirectory(Path("a/b")));
  ASSERT_TRUE(env_->OpenFile(Path("a/one"), OpenMode::kCreate).ok());
  ASSERT_TRUE(env_->OpenFile(Path("a/two"), OpenMode::kCreate).ok());
  EXPECT_THAT(*env_->ListDir(Path("a")), UnorderedElementsAre("b", "one", "two"));
  {
    auto two = env_->OpenFile(Path("a/two"), OpenMode::kReadWrite);
    ASSERT_TRUE((*two)->Append("second").ok());
  }
  // Rename replaces the target.
  ASSERT_TRUE(env_->Rename(Path("a/two"), Path("a/one")).ok());
  EXPECT_THAT(*env_->ListDir(Path("a")), UnorderedElementsAre("b", "one"));
  EXPECT_EQ(*env_->ReadFile(Path("a/one")), "second");
  EXPECT_TRUE(absl::IsNotFound(env_->Rename(Path("a/two"), Path("a/x"))));
  ASSERT_TRUE(env_->RemoveFile(Path("a/one")).ok());
  EXPECT_TRUE(absl::IsNotFound(env_->RemoveFile(Path("a/one"))));
  EXPECT_FALSE(*env_->Exists(Path("a/one")));
  EXPECT_TRUE(*env_->Exists(Path("a/b")));
  EXPECT_FALSE(env_->RemoveDir(Path("a/b")).ok());  // not empty
  ASSERT_TRUE(env_->RemoveDir(Path("a/b/c")).ok());
  ASSERT_TRUE(env_->SyncDir(Path("a")).ok());
  EXPECT_TRUE(absl::IsNotFound(env_->ListDir(Path("nope")).status()));
  EXPECT_TRUE(absl::IsNotFound(env_->FileSize(Path("nope")).status()));
}

TEST_P(EnvTest, ModificationTimeFollowsWrites) {
  const absl::Time before = absl::Now() - absl::Seconds(2);  // file systems round to a tick
  {
    auto file = env_->OpenFile(Path("f"), OpenMode::kCreate);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("data").ok());
  }
  absl::StatusOr<absl::Time> modified = env_->ModificationTime(Path("f"));
  ASSERT_TRUE(modified.ok()) << modified.status();
  EXPECT_GE(*modified, before);
  EXPECT_LE(*modified, absl::Now() + absl::Seconds(2));
  EXPECT_TRUE(absl::IsNotFound(env_->ModificationTime(Path("nope")).status()));
}

TEST_P(EnvTest, LockFileIsExclusiveUntilReleased) {
  auto first = env_->LockFile(Path("LOCK"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = env_->LockFile(Path("LOCK"));
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(Path("LOCK")));
  first->reset();
  EXPECT_TRUE(env_->LockFile(Path("LOCK")).ok());
}

INSTANTIATE_TEST_SUITE_P(Envs, EnvTest, ::testing::Values(Kind::kPosix, Kind::kFault),
                         [](const auto& info) {
                           return info.param == Kind::kPosix ? "Posix" : "FaultInjection";
                         });

TEST(IoErrorTest, MapsErrnoToCodesCallersActOn) {
  EXPECT_TRUE(absl::IsResourceExhausted(IoError("write", "/x", ENOSPC)));
  EXPECT_TRUE(absl::IsResourceExhausted(IoError("write", "/x", EDQUOT)));
  EXPECT_TRUE(absl::IsNotFound(IoError("open", "/x", ENOENT)));
  EXPECT_TRUE(absl::IsPermissionDenied(IoError("open", "/x", EROFS)));
  EXPECT_TRUE(absl::IsInternal(IoError("sync", "/x", EIO)));
  EXPECT_EQ(IoError("write", "/wal/1.log", ENOSPC).message(),
            "write /wal/1.log: No space left on device");
}

TEST(PathTest, JoinAndParent) {
  EXPECT_EQ(JoinPath("a/b", "c"), "a/b/c");
  EXPECT_EQ(JoinPath("a/b/", "c"), "a/b/c");
  EXPECT_EQ(JoinPath("", "c"), "c");
  EXPECT_EQ(ParentDir("a/b/c"), "a/b");
  EXPECT_EQ(ParentDir("/c"), "/");
  EXPECT_EQ(ParentDir("c"), ".");
  EXPECT_EQ(ParentDir("a/b/"), "a");
}

}  // namespace
}  // namespace sprout::storage
