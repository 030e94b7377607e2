#include "metrics/tsdb/index/symbols.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sprout::metrics::tsdb {
namespace {

TEST(SymbolTableTest, InternStoresOnce) {
  SymbolTable table;
  std::string a = "node_cpu_seconds_total";
  const std::string_view first = table.Intern(a);
  a[0] = 'X';  // the table holds its own copy
  EXPECT_EQ(first, "node_cpu_seconds_total");
  const std::string_view second = table.Intern(std::string("node_cpu_seconds_total"));
  EXPECT_EQ(first.data(), second.data());
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find("node_cpu_seconds_total").data(), first.data());
  EXPECT_EQ(table.Find("other").data(), nullptr);
  EXPECT_EQ(table.Intern(""), "");
  EXPECT_EQ(table.size(), 1u);
}

TEST(SymbolTableTest, LongStringsAndManyBlocks) {
  SymbolTable table;
  const std::string big(100000, 'b');
  const std::string_view stored = table.Intern(big);
  EXPECT_EQ(stored, big);
  std::vector<std::string_view> views;
  for (int i = 0; i < 20000; ++i) views.push_back(table.Intern(absl::StrCat("value_", i)));
  // Earlier views stay valid as blocks are added.
  for (int i = 0; i < 20000; ++i) EXPECT_EQ(views[i], absl::StrCat("value_", i));
  EXPECT_EQ(table.Intern(big).data(), stored.data());
  EXPECT_EQ(table.size(), 20001u);
  EXPECT_GE(table.MemoryBytes(), big.size() + 20000 * 10);
}

TEST(SymbolTableTest, ConcurrentInternAgreesOnOneCopy) {
  SymbolTable table;
  constexpr int kThreads = 4;
  constexpr int kStrings = 5000;
  std::vector<std::vector<std::string_view>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kStrings; ++i) {
        // Every thread interns the same strings, in different orders.
        const int k = (t % 2 == 0) ? i : kStrings - 1 - i;
        seen[t].push_back(table.Intern(absl::StrCat("s", k)));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(table.size(), static_cast<size_t>(kStrings));
  for (int t = 1; t < kThreads; ++t) {
    for (int i = 0; i < kStrings; ++i) {
      const int k = (t % 2 == 0) ? i : kStrings - 1 - i;
      const int k0 = k;  // thread 0 saw string k at index k
      EXPECT_EQ(seen[t][i].data(), seen[0][k0].data());
    }
  }
}

}  // namespace
}  // namespace sprout::metrics::tsdb
