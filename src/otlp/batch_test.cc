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

// The invariant is that validated bytes decode. Bytes vouched for by FromTrustedWire that do not
// parse must not pass on whatever the parser managed before failing.
TEST(BatchTest, TrustedBytesThatDoNotParseReadAsEmptyAndSaySo) {
  std::string wire = MakeTraces(2).request().SerializeAsString();
  wire += MakeTraces(1).request().SerializeAsString();
  wire.resize(wire.size() - 3);  // the last resource is cut short
  TracesBatch batch = TracesBatch::FromTrustedWire(wire, 3);
  EXPECT_EQ(batch.request().resource_spans_size(), 0);  // not the first, complete resource
  EXPECT_EQ(batch.item_count(), 0);
  const absl::Status status = batch.decode_status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(), "OTLP traces batch of " + std::to_string(wire.size()) +
                                  " bytes did not decode although it was validated");
  EXPECT_TRUE(MakeTraces(1).decode_status().ok());
  EXPECT_TRUE(
      TracesBatch::Parse(MakeTraces(1).request().SerializeAsString())->decode_status().ok());
}

}  // namespace
}  // namespace sprout::otlp
