// The ObjectStore contract (object_store.h), run against every implementation: the filesystem
// store on FaultInjectionEnv (no fault armed: it must behave as a file system), the filesystem
// store on the real file system (a temporary directory), and the memory store. The filesystem's
// crash behaviour is in filesystem_test.cc.
#include "objstore/object_store.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "objstore/filesystem.h"
#include "objstore/memory.h"
#include "storage/env.h"
#include "storage/fault_injection_env.h"
#include "storage/testing.h"

namespace sprout::objstore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

enum class Kind { kFilesystemOnFaultEnv, kFilesystemOnDisk, kMemory };

class ObjectStoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  ObjectStoreTest() {
    switch (GetParam()) {
      case Kind::kFilesystemOnFaultEnv: {
        fault_env_ = std::make_unique<storage::FaultInjectionEnv>();
        env_ = fault_env_.get();
        local_dir_ = "/local";
        auto store = FilesystemObjectStore::Open(env_, "/data/blocks");
        EXPECT_TRUE(store.ok()) << store.status();
        store_ = std::move(*store);
        break;
      }
      case Kind::kFilesystemOnDisk: {
        env_ = storage::Env::Default();
        temp_dir_ = storage::testing::FreshTempDir("objstore-test");
        local_dir_ = temp_dir_ + "/local";
        auto store = FilesystemObjectStore::Open(env_, temp_dir_ + "/blocks");
        EXPECT_TRUE(store.ok()) << store.status();
        store_ = std::move(*store);
        break;
      }
      case Kind::kMemory:
        fault_env_ = std::make_unique<storage::FaultInjectionEnv>();
        env_ = fault_env_.get();
        local_dir_ = "/local";
        store_ = std::make_unique<MemoryObjectStore>(env_);
        break;
    }
    EXPECT_TRUE(env_->CreateDirs(local_dir_).ok());
  }
  ~ObjectStoreTest() override {
    if (!temp_dir_.empty()) std::filesystem::remove_all(temp_dir_);
  }

  // A local file (in the Env the store reads local files through) holding `data`.
  std::string LocalFile(std::string_view name, std::string_view data) {
    const std::string path = storage::JoinPath(local_dir_, name);
    auto file = env_->OpenFile(path, storage::OpenMode::kCreate);
    EXPECT_TRUE(file.ok()) << file.status();
    EXPECT_TRUE((*file)->Append(data).ok());
    return path;
  }

  std::string GetOr(std::string_view key) {
    absl::StatusOr<std::string> data = store_->Get(key);
    return data.ok() ? *data : absl::StrCat("<", data.status().ToString(), ">");
  }

  std::vector<std::string> Keys(std::string_view prefix) {
    absl::StatusOr<ListResult> listed = store_->List(prefix);
    EXPECT_TRUE(listed.ok()) << listed.status();
    EXPECT_THAT(listed->prefixes, IsEmpty());
    return listed->keys;
  }

  std::unique_ptr<storage::FaultInjectionEnv> fault_env_;
  storage::Env* env_ = nullptr;
  std::string temp_dir_;
  std::string local_dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(ObjectStoreTest, PutThenGetReturnsTheBytesAndPutReplaces) {
  const std::string binary("a\0b\xff\n", 5);
  ASSERT_TRUE(store_->Put("tenant/01HXYZ/meta.json", "{\"version\":1}").ok());
  ASSERT_TRUE(store_->Put("tenant/01HXYZ/chunks/000001", binary).ok());
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(GetOr("tenant/01HXYZ/meta.json"), "{\"version\":1}");
  EXPECT_EQ(GetOr("tenant/01HXYZ/chunks/000001"), binary);
  EXPECT_EQ(GetOr("empty"), "");
  ASSERT_TRUE(store_->Put("tenant/01HXYZ/meta.json", "v2").ok());
  EXPECT_EQ(GetOr("tenant/01HXYZ/meta.json"), "v2");
  EXPECT_TRUE(*store_->Exists("empty"));
  EXPECT_FALSE(*store_->Exists("tenant/01HXYZ"));
}

TEST_P(ObjectStoreTest, MissingObjectsAreNotFound) {
  ASSERT_TRUE(store_->Put("a/b/c", "x").ok());
  for (std::string_view key : {"nope", "a/nope", "a/b", "a", "x/y/z"}) {
    SCOPED_TRACE(key);
    absl::StatusOr<std::string> got = store_->Get(key);
    EXPECT_TRUE(absl::IsNotFound(got.status())) << got.status();
    EXPECT_THAT(got.status().message(), HasSubstr(key));
    EXPECT_TRUE(absl::IsNotFound(store_->GetRange(key, 0, 1).status()));
    EXPECT_TRUE(absl::IsNotFound(store_->Attributes(key).status()));
    EXPECT_FALSE(*store_->Exists(key));
  }
  // Under a key that is an object: nothing (and no error either).
  EXPECT_TRUE(absl::IsNotFound(store_->Get("a/b/c/d").status()));
  EXPECT_THAT(Keys("a/b/c/"), IsEmpty());
}

TEST_P(ObjectStoreTest, RangeReaderReadsAsGetRange) {
  const std::string data = "0123456789abcdef";
  ASSERT_TRUE(store_->Put("t/b/chunks/000001", data).ok());
  absl::StatusOr<std::unique_ptr<RangeReader>> r = store_->OpenRangeReader("t/b/chunks/000001");
  ASSERT_TRUE(r.ok()) << r.status();
  for (auto [off, len] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, 4}, {3, 5}, {10, 100}, {16, 1}, {0, ObjectStore::kToEnd}}) {
    absl::StatusOr<std::string> got = (*r)->Read(off, len);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, *store_->GetRange("t/b/chunks/000001", off, len)) << off << "+" << len;
  }
  EXPECT_TRUE(absl::IsOutOfRange((*r)->Read(17, 1).status()));
  // A missing object: NotFound when opened (filesystem) or at the first read (the default).
  absl::StatusOr<std::unique_ptr<RangeReader>> missing = store_->OpenRangeReader("t/none");
  EXPECT_TRUE(!missing.ok() ? absl::IsNotFound(missing.status())
                            : absl::IsNotFound((*missing)->Read(0, 1).status()));
  if (GetParam() != Kind::kMemory) {
    // The filesystem reader keeps the file it opened: a deleted block stays readable to it.
    ASSERT_TRUE(store_->Delete("t/b/chunks/000001").ok());
    absl::StatusOr<std::string> after = (*r)->Read(2, 3);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(*after, "234");
  }
}

TEST_P(ObjectStoreTest, InvalidKeysAreRefusedByEveryOperation) {
  const std::string long_segment(256, 'x');
  std::string long_key;
  while (long_key.size() <= 1024) long_key += "abcdefgh/";
  long_key += "k";
  for (const std::string& key : std::vector<std::string>{
           "", "/abs", "a//b", "a/", "./a", "a/./b", "a/../b", "..", std::string("a\0b", 3),
           long_segment, long_key, "t/.sprout-tmp-1-2", ".sprout-anything"}) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateKey(key)));
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Put(key, "x")));
    EXPECT_TRUE(absl::IsInvalidArgument(store_->PutFile(key, LocalFile("f", "x"))));
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Get(key).status()));
    EXPECT_TRUE(absl::IsInvalidArgument(store_->GetRange(key, 0, 1).status()));
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Attributes(key).status()));
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Delete(key)));
  }
  for (std::string_view prefix : {"/a", "a//", "a/../", "./"}) {
    SCOPED_TRACE(prefix);
    EXPECT_TRUE(absl::IsInvalidArgument(store_->List(prefix).status()));
    EXPECT_TRUE(absl::IsInvalidArgument(store_->DeletePrefix(prefix)));
  }
  // Valid: odd but legal names, and prefixes cut mid-segment.
  EXPECT_TRUE(ValidateKey("a/.hidden/..x/b c/ü").ok());
  EXPECT_TRUE(ValidatePrefix("").ok());
  EXPECT_TRUE(ValidatePrefix("tenant/01H").ok());
  EXPECT_TRUE(ValidatePrefix("tenant/.").ok());
  EXPECT_TRUE(store_->Put("a/.hidden/..x/b c/ü", "odd").ok());
  EXPECT_EQ(GetOr("a/.hidden/..x/b c/ü"), "odd");
}

TEST_P(ObjectStoreTest, GetRangeCutsAtTheEnd) {
  ASSERT_TRUE(store_->Put("k", "0123456789").ok());
  EXPECT_EQ(*store_->GetRange("k", 0, 4), "0123");
  EXPECT_EQ(*store_->GetRange("k", 3, 4), "3456");
  EXPECT_EQ(*store_->GetRange("k", 8, 100), "89");
  EXPECT_EQ(*store_->GetRange("k", 2, ObjectStore::kToEnd), "23456789");
  EXPECT_EQ(*store_->GetRange("k", 5, 0), "");
  EXPECT_EQ(*store_->GetRange("k", 10, 5), "");
  absl::StatusOr<std::string> past = store_->GetRange("k", 11, 1);
  EXPECT_TRUE(absl::IsOutOfRange(past.status())) << past.status();
}

TEST_P(ObjectStoreTest, AttributesGiveSizeAndLastModified) {
  const absl::Time before = absl::Now() - absl::Seconds(1);  // file system clocks are coarse
  ASSERT_TRUE(store_->Put("t/b/index", std::string(1234, 'i')).ok());
  const absl::Time after = absl::Now() + absl::Seconds(1);
  absl::StatusOr<ObjectAttributes> attributes = store_->Attributes("t/b/index");
  ASSERT_TRUE(attributes.ok()) << attributes.status();
  EXPECT_EQ(attributes->size, 1234u);
  EXPECT_GE(attributes->last_modified, before);
  EXPECT_LE(attributes->last_modified, after);
}

TEST_P(ObjectStoreTest, ListIsSortedBytewiseAtEveryDepth) {
  // '.' sorts before '/', so "a.b" comes before everything under "a/".
  for (std::string_view key : {"a/b/c", "a.b", "a/b.c", "a/a", "b", "a/b/a/z", "ab"}) {
    ASSERT_TRUE(store_->Put(key, key).ok());
  }
  EXPECT_THAT(Keys(""), ElementsAre("a.b", "a/a", "a/b.c", "a/b/a/z", "a/b/c", "ab", "b"));
  EXPECT_THAT(Keys("a/"), ElementsAre("a/a", "a/b.c", "a/b/a/z", "a/b/c"));
  // A plain string prefix, cut anywhere, as S3's.
  EXPECT_THAT(Keys("a"), ElementsAre("a.b", "a/a", "a/b.c", "a/b/a/z", "a/b/c", "ab"));
  EXPECT_THAT(Keys("a/b"), ElementsAre("a/b.c", "a/b/a/z", "a/b/c"));
  EXPECT_THAT(Keys("a/b/"), ElementsAre("a/b/a/z", "a/b/c"));
  EXPECT_THAT(Keys("a/b/c"), ElementsAre("a/b/c"));
  EXPECT_THAT(Keys("nothing/"), IsEmpty());
  EXPECT_THAT(Keys("a/b/c/"), IsEmpty());
}

TEST_P(ObjectStoreTest, DelimitedListRollsUpCommonPrefixes) {
  for (std::string_view key : {"t1/01A/meta.json", "t1/01A/chunks/000001", "t1/01B/meta.json",
                               "t1/bucket-index.json", "t2/01C/meta.json", "top"}) {
    ASSERT_TRUE(store_->Put(key, "x").ok());
  }
  const ListOptions delimited{.delimited = true};
  absl::StatusOr<ListResult> root = store_->List("", delimited);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_THAT(root->keys, ElementsAre("top"));
  EXPECT_THAT(root->prefixes, ElementsAre("t1/", "t2/"));

  absl::StatusOr<ListResult> tenant = store_->List("t1/", delimited);
  EXPECT_THAT(tenant->keys, ElementsAre("t1/bucket-index.json"));
  EXPECT_THAT(tenant->prefixes, ElementsAre("t1/01A/", "t1/01B/"));

  absl::StatusOr<ListResult> block = store_->List("t1/01A/", delimited);
  EXPECT_THAT(block->keys, ElementsAre("t1/01A/meta.json"));
  EXPECT_THAT(block->prefixes, ElementsAre("t1/01A/chunks/"));

  // Cut mid-segment: the rest up to the next '/' is rolled up.
  absl::StatusOr<ListResult> partial = store_->List("t1/01", delimited);
  EXPECT_THAT(partial->keys, IsEmpty());
  EXPECT_THAT(partial->prefixes, ElementsAre("t1/01A/", "t1/01B/"));
  absl::StatusOr<ListResult> t = store_->List("t", delimited);
  EXPECT_THAT(t->keys, ElementsAre("top"));
  EXPECT_THAT(t->prefixes, ElementsAre("t1/", "t2/"));
}

TEST_P(ObjectStoreTest, DeleteRemovesAndMissingIsFine) {
  ASSERT_TRUE(store_->Put("t/01A/meta.json", "m").ok());
  ASSERT_TRUE(store_->Put("t/01A/index", "i").ok());
  ASSERT_TRUE(store_->Put("t/01B/meta.json", "m").ok());
  ASSERT_TRUE(store_->Delete("t/01A/index").ok());
  EXPECT_TRUE(store_->Delete("t/01A/index").ok());  // again: nothing to delete is fine
  EXPECT_TRUE(store_->Delete("never/was").ok());
  EXPECT_TRUE(store_->Delete("t/01A").ok());  // a "directory" is no object: nothing happens
  EXPECT_THAT(Keys(""), ElementsAre("t/01A/meta.json", "t/01B/meta.json"));
  ASSERT_TRUE(store_->Delete("t/01A/meta.json").ok());
  // With its last object gone, the block is no common prefix any more.
  absl::StatusOr<ListResult> tenant = store_->List("t/", {.delimited = true});
  EXPECT_THAT(tenant->prefixes, ElementsAre("t/01B/"));
  // And a key can be put where the deleted "directory" was.
  ASSERT_TRUE(store_->Put("t/01A", "now a file").ok());
  EXPECT_EQ(GetOr("t/01A"), "now a file");
}

TEST_P(ObjectStoreTest, DeletePrefixRemovesOneBlock) {
  for (std::string_view key : {"t/01A/meta.json", "t/01A/index", "t/01A/chunks/000001",
                               "t/01A/chunks/000002", "t/01AB/meta.json", "u/01A/meta.json"}) {
    ASSERT_TRUE(store_->Put(key, "x").ok());
  }
  ASSERT_TRUE(store_->DeletePrefix("t/01A/").ok());
  EXPECT_THAT(Keys(""), ElementsAre("t/01AB/meta.json", "u/01A/meta.json"));
  EXPECT_THAT(store_->List("t/", {.delimited = true})->prefixes, ElementsAre("t/01AB/"));
  EXPECT_TRUE(store_->DeletePrefix("t/01A/").ok());  // nothing left: fine
  // Without the trailing '/', a prefix is a plain string prefix.
  ASSERT_TRUE(store_->DeletePrefix("t/01").ok());
  EXPECT_THAT(Keys(""), ElementsAre("u/01A/meta.json"));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->DeletePrefix("")));
  EXPECT_THAT(Keys(""), ElementsAre("u/01A/meta.json"));
}

TEST_P(ObjectStoreTest, PutFileStreamsALocalFile) {
  // Larger than the copy buffer, and not a multiple of it.
  std::string big((3 << 20) + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
  ASSERT_TRUE(store_->PutFile("t/01A/chunks/000001", LocalFile("chunk", big)).ok());
  EXPECT_EQ(store_->Attributes("t/01A/chunks/000001")->size, big.size());
  EXPECT_TRUE(*store_->Get("t/01A/chunks/000001") == big);
  EXPECT_EQ(*store_->GetRange("t/01A/chunks/000001", 1 << 20, 3), big.substr(1 << 20, 3));
  ASSERT_TRUE(store_->PutFile("t/empty", LocalFile("empty", "")).ok());
  EXPECT_EQ(GetOr("t/empty"), "");
  absl::Status missing = store_->PutFile("t/x", storage::JoinPath(local_dir_, "missing"));
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  EXPECT_THAT(missing.message(), HasSubstr("missing"));
  EXPECT_FALSE(*store_->Exists("t/x"));
}

TEST_P(ObjectStoreTest, ReadersSeeWholeObjectsWhileTheyAreReplaced) {
  // Each version has its own length and fill, so a torn read shows.
  auto version = [](int v) { return std::string(1000 + 997 * v, static_cast<char>('a' + v)); };
  ASSERT_TRUE(store_->Put("t/01A/meta.json", version(0)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        absl::StatusOr<std::string> got = store_->Get("t/01A/meta.json");
        const bool whole = got.ok() && !got->empty() &&
                           got->size() == static_cast<size_t>(1000 + 997 * ((*got)[0] - 'a')) &&
                           got->find_first_not_of((*got)[0]) == std::string::npos;
        if (!whole) ++bad;
        absl::StatusOr<ListResult> listed = store_->List("t/");
        if (!listed.ok() || listed->keys != std::vector<std::string>{"t/01A/meta.json"}) ++bad;
        ++reads;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int v = 1; v <= 10; ++v) EXPECT_TRUE(store_->Put("t/01A/meta.json", version(v)).ok());
      (void)w;
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_TRUE(storage::testing::WaitFor([&] { return reads.load() > 10; }));
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(GetOr("t/01A/meta.json"), version(10));
}

INSTANTIATE_TEST_SUITE_P(Stores, ObjectStoreTest,
                         ::testing::Values(Kind::kFilesystemOnFaultEnv, Kind::kFilesystemOnDisk,
                                           Kind::kMemory),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           switch (info.param) {
                             case Kind::kFilesystemOnFaultEnv:
                               return "FilesystemOnFaultInjectionEnv";
                             case Kind::kFilesystemOnDisk:
                               return "FilesystemOnDisk";
                             case Kind::kMemory:
                               return "Memory";
                           }
                           return "";
                         });

}  // namespace
}  // namespace sprout::objstore
