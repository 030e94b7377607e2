#include "remotewrite/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "net/compression.h"
#include "remotewrite/test_receiver.h"

namespace sprout::remotewrite {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TestReceiver;

prometheus::TimeSeries Series(const std::string& name, const std::string& job, int samples = 1,
                              int exemplars = 0) {
  prometheus::TimeSeries series;
  auto* n = series.add_labels();
  n->set_name("__name__");
  n->set_value(name);
  auto* j = series.add_labels();
  j->set_name("job");
  j->set_value(job);
  for (int i = 0; i < samples; ++i) {
    auto* s = series.add_samples();
    s->set_value(i);
    s->set_timestamp(1000 * (i + 1));
  }
  for (int i = 0; i < exemplars; ++i) {
    auto* e = series.add_exemplars();
    auto* l = e->add_labels();
    l->set_name("traceID");
    l->set_value(absl::StrCat("trace-", i));
    e->set_value(i);
    e->set_timestamp(1000);
  }
  return series;
}

prometheus::WriteRequest Decode(const std::string& body) {
  auto raw = net::Decompress(net::Codec::kSnappy, body, 64 << 20);
  EXPECT_TRUE(raw.ok()) << raw.status();
  prometheus::WriteRequest request;
  EXPECT_TRUE(request.ParseFromString(raw.ok() ? *raw : ""));
  return request;
}

std::vector<std::string> Jobs(const prometheus::WriteRequest& request) {
  std::vector<std::string> out;
  for (const auto& series : request.timeseries()) out.push_back(series.labels(1).value());
  return out;
}

TEST(SeriesShardTest, IsStableAndSpreadsSeries) {
  // The shard depends on the labels only; a change would reorder series across a restart.
  prometheus::TimeSeries series = Series("up", "a");
  EXPECT_EQ(SeriesShard(series, 1), 0);
  std::vector<int> counts(5);
  for (int i = 0; i < 1000; ++i) {
    series.mutable_labels(1)->set_value(absl::StrCat("job-", i));
    const int shard = SeriesShard(series, 5);
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, 5);
    ++counts[shard];
    EXPECT_EQ(SeriesShard(series, 5), shard);
  }
  for (int c : counts) EXPECT_GT(c, 150) << "a skewed shard";
}

TEST(EncodeTest, OneRequestHoldsEverySeriesInOrderWithItsCounts) {
  prometheus::WriteRequest request;
  *request.add_timeseries() = Series("a", "1", 2, 1);
  *request.add_timeseries() = Series("b", "2", 1, 2);
  Encoded encoded = Encode(request, {});
  ASSERT_EQ(encoded.requests.size(), 1u);
  EXPECT_TRUE(encoded.errors.empty());
  const EncodedRequest& r = encoded.requests[0];
  EXPECT_EQ(r.series, 2);
  EXPECT_EQ(r.samples, 3);
  EXPECT_EQ(r.exemplars, 3);
  EXPECT_EQ(r.histograms, 0);
  prometheus::WriteRequest decoded = Decode(r.body);
  EXPECT_EQ(decoded.SerializeAsString(), request.SerializeAsString());
}

TEST(EncodeTest, SplitsBySeriesCountAndBySize) {
  prometheus::WriteRequest request;
  for (int i = 0; i < 5; ++i) *request.add_timeseries() = Series("m", absl::StrCat(i));
  EncodeOptions by_count;
  by_count.max_series = 2;
  Encoded encoded = Encode(request, by_count);
  ASSERT_EQ(encoded.requests.size(), 3u);
  EXPECT_THAT(Jobs(Decode(encoded.requests[0].body)), ElementsAre("0", "1"));
  EXPECT_THAT(Jobs(Decode(encoded.requests[1].body)), ElementsAre("2", "3"));
  EXPECT_THAT(Jobs(Decode(encoded.requests[2].body)), ElementsAre("4"));
  EXPECT_EQ(encoded.requests[2].series, 1);

  // Room for two series (each with its 2-byte field header) but not three.
  const size_t one = request.timeseries(0).ByteSizeLong() + 2;
  EncodeOptions by_size;
  by_size.max_bytes = 2 * one + 1;
  encoded = Encode(request, by_size);
  ASSERT_EQ(encoded.requests.size(), 3u);
  EXPECT_THAT(Jobs(Decode(encoded.requests[0].body)), ElementsAre("0", "1"));
}

TEST(EncodeTest, ShardsKeepEachSeriesInItsShardAndMetadataApart) {
  prometheus::WriteRequest request;
  for (int i = 0; i < 40; ++i) *request.add_timeseries() = Series("m", absl::StrCat(i));
  request.add_metadata()->set_metric_family_name("m");
  EncodeOptions options;
  options.shards = 3;
  Encoded encoded = Encode(request, options);
  ASSERT_EQ(encoded.requests.size(), 4u);  // three shards, then the metadata
  int64_t total = 0;
  for (size_t i = 0; i < 3; ++i) {
    const EncodedRequest& r = encoded.requests[i];
    EXPECT_EQ(r.shard, static_cast<int>(i));
    prometheus::WriteRequest decoded = Decode(r.body);
    for (const auto& series : decoded.timeseries()) EXPECT_EQ(SeriesShard(series, 3), r.shard);
    total += decoded.timeseries_size();
  }
  EXPECT_EQ(total, 40);
  prometheus::WriteRequest metadata = Decode(encoded.requests[3].body);
  EXPECT_EQ(metadata.timeseries_size(), 0);
  ASSERT_EQ(metadata.metadata_size(), 1);
}

TEST(EncodeTest, ARequestThatCannotBeCompressedIsDroppedAndNamed) {
  prometheus::WriteRequest request;
  *request.add_timeseries() = Series("m", "1");
  EncodeOptions options;
  options.compress = [](std::string_view) -> absl::StatusOr<std::string> {
    return absl::InternalError("no memory");
  };
  Encoded encoded = Encode(request, options);
  EXPECT_TRUE(encoded.requests.empty());
  EXPECT_THAT(encoded.errors, ElementsAre("failed to compress a remote-write request: no memory"));
}

std::string OneBody() {
  prometheus::WriteRequest request;
  *request.add_timeseries() = Series("m", "1");
  return Encode(request, {}).requests.at(0).body;
}

ClientOptions FastRetry(const std::string& url) {
  ClientOptions options;
  options.endpoint = url;
  options.timeout = absl::Seconds(5);
  options.retry.initial_interval = absl::Milliseconds(5);
  options.retry.max_interval = absl::Milliseconds(20);
  options.retry.max_elapsed_time = absl::Seconds(5);
  return options;
}

TEST(ClientTest, SendsTheProtocolHeadersAndTheConfiguredOnes) {
  TestReceiver receiver;
  ASSERT_TRUE(receiver.ok());
  ClientOptions options = FastRetry(receiver.url());
  options.headers = {{"X-Scope-OrgID", "tenant-1"}, {"content-type", "text/plain"}};
  options.http.user_agent = "sprout/test";
  int attempts = 0;
  ClientHooks hooks;
  hooks.on_attempt = [&] { ++attempts; };
  auto client = Client::Create(options, hooks);
  ASSERT_TRUE(client.ok()) << client.status();
  SendResult result = (*client)->Send(OneBody(), false);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(attempts, 1);
  ASSERT_EQ(receiver.received().size(), 1u);
  const TestReceiver::Request got = receiver.received()[0];
  EXPECT_EQ(got.Header("Content-Encoding"), "snappy");
  EXPECT_EQ(got.Header("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(got.HeaderCount("Content-Type"), 1);  // the configured one is ignored
  EXPECT_EQ(got.Header("X-Prometheus-Remote-Write-Version"), "0.1.0");
  EXPECT_EQ(got.Header("User-Agent"), "sprout/test");
  EXPECT_EQ(got.Header("X-Scope-OrgID"), "tenant-1");
  EXPECT_THAT(Jobs(got.write), ElementsAre("1"));
}

TEST(ClientTest, A4xxIsRefusedForGoodWithTheBackendsAnswer) {
  TestReceiver receiver;
  receiver.FailWith({400});
  std::string refused;
  ClientHooks hooks;
  hooks.on_refused = [&](const std::string& error) { refused = error; };
  auto client = Client::Create(FastRetry(receiver.url()), hooks);
  ASSERT_TRUE(client.ok());
  SendResult result = (*client)->Send(OneBody(), /*until_stopped=*/true);
  EXPECT_TRUE(result.permanent);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnknown);
  const std::string expected =
      "remote write returned HTTP status 400 Bad Request; err = <nil>: backend says no";
  EXPECT_EQ(result.status.message(), expected);
  EXPECT_EQ(refused, expected);
  EXPECT_EQ(receiver.attempts(), 1);
}

TEST(ClientTest, RetryableFailuresAreRetriedUntilDelivered) {
  TestReceiver receiver;
  receiver.FailWith({503, 500});
  std::vector<std::string> retries;
  ClientHooks hooks;
  hooks.on_retry = [&](const std::string& error, absl::Duration) { retries.push_back(error); };
  auto client = Client::Create(FastRetry(receiver.url()), hooks);
  ASSERT_TRUE(client.ok());
  SendResult result = (*client)->Send(OneBody(), false);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(receiver.attempts(), 3);
  ASSERT_EQ(retries.size(), 2u);
  EXPECT_THAT(retries[0], HasSubstr("HTTP status 503 Service Unavailable"));
  EXPECT_EQ(receiver.received().size(), 1u);
}

TEST(ClientTest, A429IsRetriedOnlyWhenAsked) {
  TestReceiver receiver;
  receiver.FailWith({429});
  auto no = Client::Create(FastRetry(receiver.url()));
  ASSERT_TRUE(no.ok());
  SendResult result = (*no)->Send(OneBody(), false);
  EXPECT_TRUE(result.permanent);
  EXPECT_THAT(result.status.message(), HasSubstr("429 Too Many Requests"));

  receiver.FailWith({429});
  ClientOptions options = FastRetry(receiver.url());
  options.retry_on_429 = true;
  auto yes = Client::Create(options);
  ASSERT_TRUE(yes.ok());
  result = (*yes)->Send(OneBody(), false);
  EXPECT_TRUE(result.status.ok()) << result.status;
}

TEST(ClientTest, WithoutRetriesAFailureIsFinal) {
  TestReceiver receiver;
  receiver.FailWith({503});
  ClientOptions options = FastRetry(receiver.url());
  options.retry.enabled = false;
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  SendResult result = (*client)->Send(OneBody(), false);
  EXPECT_TRUE(result.permanent);
  EXPECT_EQ(receiver.attempts(), 1);
}

TEST(ClientTest, GivesUpAfterMaxElapsedTimeUnlessUntilStopped) {
  TestReceiver receiver;
  receiver.FailForever(502);
  ClientOptions options = FastRetry(receiver.url());
  options.retry.max_elapsed_time = absl::Milliseconds(100);
  std::string gave_up;
  ClientHooks hooks;
  hooks.on_out_of_retries = [&](const std::string& error) { gave_up = error; };
  auto client = Client::Create(options, hooks);
  ASSERT_TRUE(client.ok());
  SendResult result = (*client)->Send(OneBody(), false);
  EXPECT_TRUE(result.permanent);
  EXPECT_THAT(std::string(result.status.message()),
              ::testing::StartsWith("no more retries left: remote write returned HTTP status 502 "
                                    "Bad Gateway"));
  EXPECT_THAT(gave_up, HasSubstr("502 Bad Gateway"));

  // until_stopped: still retrying long after max_elapsed_time, until the deadline.
  const absl::Time start = absl::Now();
  (*client)->Stop(start + absl::Milliseconds(400));
  result = (*client)->Send(OneBody(), /*until_stopped=*/true);
  EXPECT_FALSE(result.permanent);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.status.message(), HasSubstr("shutting down before a retry: "));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(390));
}

TEST(ClientTest, NothingIsSentAfterStopOrClose) {
  TestReceiver receiver;
  auto client = Client::Create(FastRetry(receiver.url()));
  ASSERT_TRUE(client.ok());
  (*client)->Stop(absl::Now() - absl::Seconds(1));
  SendResult result = (*client)->Send(OneBody(), true);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.status.message(), "shutting down: request not sent");
  EXPECT_EQ(receiver.attempts(), 0);

  auto closed = Client::Create(FastRetry(receiver.url()));
  ASSERT_TRUE(closed.ok());
  (*closed)->Close();
  result = (*closed)->Send(OneBody(), true);
  EXPECT_EQ(result.status.message(), "shutting down: request not sent");
}

TEST(ClientTest, CloseEndsARetryLoopAtOnce) {
  TestReceiver receiver;
  receiver.FailForever(503);
  ClientOptions options = FastRetry(receiver.url());
  options.retry.initial_interval = absl::Seconds(30);
  options.retry.max_interval = absl::Seconds(30);
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  std::atomic<bool> done = false;
  SendResult result;
  std::thread sender([&] {
    result = (*client)->Send(OneBody(), true);
    done = true;
  });
  while (receiver.attempts() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const absl::Time start = absl::Now();
  (*client)->Close();
  sender.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_FALSE(result.permanent);
  EXPECT_THAT(result.status.message(), HasSubstr("shutting down before a retry: "));
}

TEST(ClientTest, ATransportErrorNamesTheEndpoint) {
  ClientOptions options = FastRetry("http://127.0.0.1:1/api/v1/write");
  options.retry.enabled = false;
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  SendResult result = (*client)->Send(OneBody(), false);
  EXPECT_TRUE(result.permanent);
  EXPECT_THAT(result.status.message(), HasSubstr("Post \"http://127.0.0.1:1/api/v1/write\": "));
}

}  // namespace
}  // namespace sprout::remotewrite
