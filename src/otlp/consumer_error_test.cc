#include "otlp/consumer_error.h"

#include <gtest/gtest.h>

namespace sprout::otlp {
namespace {

TEST(ConsumerErrorTest, GenericErrorsMapByPermanence) {
  EXPECT_EQ(ReceiverCode(absl::UnknownError("sending queue is full")),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReceiverCode(MarkPermanent(absl::UnknownError("bad"))), absl::StatusCode::kInternal);
  EXPECT_EQ(ReceiverCode(absl::ResourceExhaustedError("x")), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReceiverCode(absl::OkStatus()), absl::StatusCode::kOk);
}

TEST(ConsumerErrorTest, HttpTable) {
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kCancelled), 503);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kDataLoss), 503);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kUnimplemented), 404);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kNotFound), 500);
}

TEST(ConsumerErrorTest, RetryableCodes) {
  EXPECT_TRUE(IsRetryableGrpcCode(absl::StatusCode::kUnavailable, false));
  EXPECT_TRUE(IsRetryableGrpcCode(absl::StatusCode::kDeadlineExceeded, false));
  EXPECT_FALSE(IsRetryableGrpcCode(absl::StatusCode::kResourceExhausted, false));
  EXPECT_TRUE(IsRetryableGrpcCode(absl::StatusCode::kResourceExhausted, true));
  EXPECT_FALSE(IsRetryableGrpcCode(absl::StatusCode::kInvalidArgument, true));
  EXPECT_FALSE(IsRetryableGrpcCode(absl::StatusCode::kUnauthenticated, false));
}

TEST(ConsumerErrorTest, RetryDelayRidesAlong) {
  absl::Status s = WithRetryDelay(absl::UnavailableError("busy"), absl::Seconds(3));
  ASSERT_TRUE(RetryDelay(s).has_value());
  EXPECT_EQ(*RetryDelay(s), absl::Seconds(3));
  EXPECT_FALSE(RetryDelay(absl::UnavailableError("x")).has_value());
  EXPECT_STREQ(GrpcCodeName(absl::StatusCode::kResourceExhausted), "ResourceExhausted");
}

}  // namespace
}  // namespace sprout::otlp
