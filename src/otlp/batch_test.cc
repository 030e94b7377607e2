#include "otlp/batch.h"

#include <gtest/gtest.h>

namespace sprout::otlp {
namespace {

TracesBatch MakeTraces(int spans) {
  TracesBatch batch;
  auto* ss = batch.mutable_request()->add_resource_spans()->add_scope_spans();
  for (int i = 0; i < spans; ++i) ss->add_spans()->set_name(std::to_string(i));
  return batch;
}

TEST(BatchTest, CountsItems) {
  EXPECT_EQ(MakeTraces(3).item_count(), 3);
  EXPECT_EQ(TracesBatch().item_count(), 0);
}

TEST(BatchTest, CopyOnWrite) {
  TracesBatch a = MakeTraces(2);
  TracesBatch b = a;
  EXPECT_TRUE(a.SharesWith(b));
  b.mutable_request()
      ->mutable_resource_spans(0)
      ->mutable_scope_spans(0)
      ->mutable_spans()
      ->RemoveLast();
  EXPECT_FALSE(a.SharesWith(b));
  EXPECT_EQ(a.item_count(), 2);
  EXPECT_EQ(b.item_count(), 1);
}

TEST(BatchTest, SoleOwnerMutatesInPlace) {
  TracesBatch a = MakeTraces(1);
  const auto* before = &a.request();
  a.mutable_request()->add_resource_spans();
  EXPECT_EQ(before, &a.request());
}

TEST(BatchTest, ParseRejectsGarbage) {
  auto wire = MakeTraces(4).request().SerializeAsString();
  auto parsed = TracesBatch::Parse(wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->item_count(), 4);
  EXPECT_FALSE(TracesBatch::Parse("\xff\xff\xff").ok());
}

}  // namespace
}  // namespace sprout::otlp
