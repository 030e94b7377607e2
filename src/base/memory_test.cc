#include "base/memory.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace sprout {
namespace {

namespace fs = std::filesystem;

class FakeRoot {
 public:
  FakeRoot() {
    root_ = fs::temp_directory_path() /
            ("sprout-memory-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(root_);
  }
  ~FakeRoot() { fs::remove_all(root_); }
  void Write(const std::string& path, const std::string& text) {
    fs::create_directories((root_ / path.substr(1)).parent_path());
    std::ofstream(root_ / path.substr(1)) << text;
  }
  std::string path() const { return root_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path root_;
};

constexpr char kMeminfo[] = "MemTotal:        2048000 kB\nMemFree:          100 kB\n";

TEST(TotalMemoryTest, CgroupV2LimitOfTheProcessCgroup) {
  FakeRoot root;
  root.Write("/proc/self/cgroup", "0::/system.slice/sprout.service\n");
  root.Write("/sys/fs/cgroup/system.slice/sprout.service/memory.max", "536870912\n");
  root.Write("/proc/meminfo", kMeminfo);
  EXPECT_EQ(*TotalMemoryBytes(root.path()), 536870912u);
}

TEST(TotalMemoryTest, CgroupV2InsideAContainer) {
  FakeRoot root;
  root.Write("/proc/self/cgroup", "0::/\n");
  root.Write("/sys/fs/cgroup/memory.max", "1073741824\n");
  EXPECT_EQ(*TotalMemoryBytes(root.path()), 1073741824u);
}

TEST(TotalMemoryTest, UnlimitedCgroupV2FallsBackToMeminfo) {
  FakeRoot root;
  root.Write("/proc/self/cgroup", "0::/user.slice\n");
  root.Write("/sys/fs/cgroup/user.slice/memory.max", "max\n");
  root.Write("/proc/meminfo", kMeminfo);
  EXPECT_EQ(*TotalMemoryBytes(root.path()), 2048000u * 1024);
}

TEST(TotalMemoryTest, CgroupV1Limit) {
  FakeRoot root;
  root.Write("/proc/self/cgroup", "12:cpu,cpuacct:/docker/abc\n9:memory:/docker/abc\n");
  root.Write("/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "268435456\n");
  root.Write("/proc/meminfo", kMeminfo);
  EXPECT_EQ(*TotalMemoryBytes(root.path()), 268435456u);
}

TEST(TotalMemoryTest, UnlimitedCgroupV1FallsBackToMeminfo) {
  FakeRoot root;
  root.Write("/proc/self/cgroup", "9:memory:/\n");
  root.Write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  root.Write("/proc/meminfo", kMeminfo);
  EXPECT_EQ(*TotalMemoryBytes(root.path()), 2048000u * 1024);
}

TEST(TotalMemoryTest, NothingReadableIsAnError) {
  FakeRoot root;
  EXPECT_FALSE(TotalMemoryBytes(root.path()).ok());
}

TEST(TotalMemoryTest, ThisMachineHasSome) {
  auto total = TotalMemoryBytes();
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_GT(*total, 64u << 20);
}

TEST(AllocatorTest, PurgeIsSafeAnytime) {
  // Tests run on glibc malloc (jemalloc is linked into the binary only).
  EXPECT_STREQ(AllocatorName(), "glibc");
  EXPECT_EQ(AllocatorAllocatedBytes(), -1);
  void* p = std::malloc(64 << 20);
  std::free(p);
  PurgeAllocator();
}

}  // namespace
}  // namespace sprout
