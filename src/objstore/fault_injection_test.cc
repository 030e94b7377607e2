// FaultInjectionObjectStore: chosen operations fail or wait, the rest reach the wrapped store.
#include "objstore/fault_injection.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "objstore/memory.h"

namespace sprout::objstore {
namespace {

using Fault = FaultInjectionObjectStore::Fault;
using ::testing::ElementsAre;

TEST(FaultInjectionObjectStoreTest, FaultsStrikeTheChosenOperationsAndKeys) {
  MemoryObjectStore memory;
  FaultInjectionObjectStore store(&memory);
  EXPECT_EQ(store.Describe(), "fault-injection:memory");
  ASSERT_TRUE(store.Put("t/01A/meta.json", "old").ok());
  // The second Put of a chunk fails, twice; everything else passes.
  store.InjectFault({.ops = FaultInjectionObjectStore::kPut,
                     .key_contains = "/chunks/",
                     .skip = 1,
                     .count = 2,
                     .error = absl::UnavailableError("bucket unreachable")});
  EXPECT_TRUE(store.Put("t/01A/chunks/000001", "c1").ok());
  absl::Status failed = store.Put("t/01A/chunks/000002", "c2");
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  EXPECT_TRUE(store.Put("t/01A/meta.json", "new").ok());  // another key: passes
  EXPECT_TRUE(absl::IsUnavailable(store.Put("t/01A/chunks/000002", "c2")));
  EXPECT_TRUE(store.Put("t/01A/chunks/000002", "c2").ok());  // count spent
  EXPECT_THAT(memory.List("")->keys,
              ElementsAre("t/01A/chunks/000001", "t/01A/chunks/000002", "t/01A/meta.json"));

  // A failed Put never reaches the store: the old object stays.
  store.InjectFault({.ops = FaultInjectionObjectStore::kPut, .count = -1});
  EXPECT_FALSE(store.Put("t/01A/meta.json", "newer").ok());
  EXPECT_FALSE(store.Put("t/01A/meta.json", "newer").ok());
  EXPECT_EQ(*store.Get("t/01A/meta.json"), "new");
  store.ClearFaults();
  EXPECT_TRUE(store.Put("t/01A/meta.json", "newer").ok());

  // Reads, lists and deletes, each by its own bit; List and DeletePrefix match their prefix.
  store.InjectFault({.ops = FaultInjectionObjectStore::kGet});
  EXPECT_FALSE(store.GetRange("t/01A/meta.json", 0, 1).ok());
  EXPECT_TRUE(store.Get("t/01A/meta.json").ok());
  store.InjectFault({.ops = FaultInjectionObjectStore::kAttributes});
  EXPECT_FALSE(store.Exists("t/01A/meta.json").ok());
  store.InjectFault({.ops = FaultInjectionObjectStore::kList, .key_contains = "t/01A"});
  EXPECT_TRUE(store.List("t/").ok());
  EXPECT_FALSE(store.List("t/01A/").ok());
  store.InjectFault({.ops = FaultInjectionObjectStore::kDelete, .key_contains = "t/01A"});
  EXPECT_FALSE(store.DeletePrefix("t/01A/").ok());
  EXPECT_TRUE(store.DeletePrefix("t/01A/").ok());
  EXPECT_THAT(memory.List("")->keys, ElementsAre());

  const FaultInjectionObjectStore::Stats stats = store.stats();
  EXPECT_EQ(stats.puts, 9);
  EXPECT_EQ(stats.gets, 3);
  EXPECT_EQ(stats.attributes, 1);
  EXPECT_EQ(stats.lists, 2);
  EXPECT_EQ(stats.deletes, 2);
  EXPECT_EQ(stats.failed, 8);  // 4 puts, a get, an attributes, a list, a delete
}

TEST(FaultInjectionObjectStoreTest, DelaysHoldCallsThatThenSucceed) {
  MemoryObjectStore memory;
  FaultInjectionObjectStore store(&memory);
  ASSERT_TRUE(store.Put("k", "v").ok());
  store.InjectFault({.ops = FaultInjectionObjectStore::kGet,
                     .error = absl::OkStatus(),
                     .delay = absl::Milliseconds(50)});
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> got = store.Get("k");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "v");
  EXPECT_EQ(store.stats().failed, 0);
  const absl::Time again = absl::Now();
  EXPECT_TRUE(store.Get("k").ok());  // count spent: no delay
  EXPECT_LT(absl::Now() - again, absl::Milliseconds(50));
}

}  // namespace
}  // namespace sprout::objstore
