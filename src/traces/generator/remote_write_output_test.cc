#include "traces/generator/remote_write_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "remotewrite/test_receiver.h"
#include "storage/testing.h"
#include "traces/generator/generator_testing.h"
#include "traces/generator/service.h"

namespace sprout::traces::generator {
namespace {

using remotewrite::testing::TestReceiver;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::string TempDir() {
  return storage::testing::FreshTempDir(
      absl::StrCat("rw-output-", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
}

bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  return storage::testing::WaitFor(condition, limit);
}

RemoteWriteConfig Entry(const std::string& url, const std::string& name = "") {
  RemoteWriteConfig rw;
  rw.url = url;
  rw.name = name;
  rw.remote_timeout = absl::Seconds(5);
  return rw;
}

GeneratorConfig Config(const std::string& path, std::vector<RemoteWriteConfig> entries) {
  GeneratorConfig config;
  config.storage_path = path;
  config.remote_write = std::move(entries);
  return config;
}

RemoteWriteOutputOptions FastOptions() {
  RemoteWriteOutputOptions options;
  options.retry.initial_interval = absl::Milliseconds(10);
  options.retry.max_interval = absl::Milliseconds(50);
  options.commit_interval = absl::Milliseconds(20);
  return options;
}

// One collection as the generator hands it over: `series` counters (one sample each) named
// traces_spanmetrics_calls_total{service="svc-<i>"} = i + 1 at `ms`, and on the first one an
// exemplar traceID=<trace> with value 0.25.
prometheus::WriteRequest Collection(int series, int64_t ms, const std::string& trace = "abc") {
  prometheus::WriteRequest request;
  for (int i = 0; i < series; ++i) {
    prometheus::TimeSeries* ts = request.add_timeseries();
    auto* name = ts->add_labels();
    name->set_name("__name__");
    name->set_value("traces_spanmetrics_calls_total");
    auto* service = ts->add_labels();
    service->set_name("service");
    service->set_value(absl::StrCat("svc-", i));
    auto* sample = ts->add_samples();
    sample->set_value(i + 1);
    sample->set_timestamp(ms);
    if (i == 0 && !trace.empty()) {
      auto* exemplar = ts->add_exemplars();
      auto* label = exemplar->add_labels();
      label->set_name("traceID");
      label->set_value(trace);
      exemplar->set_value(0.25);
      exemplar->set_timestamp(ms);
    }
  }
  return request;
}

// Every (series, timestamp) the receiver got, as `svc-<i>@<ms>=<value>`, with its count.
std::map<std::string, int> Samples(TestReceiver& receiver) {
  std::map<std::string, int> out;
  for (const TestReceiver::Request& r : receiver.received()) {
    for (const prometheus::TimeSeries& ts : r.write.timeseries()) {
      for (const prometheus::Sample& s : ts.samples()) {
        ++out[absl::StrCat(ts.labels(1).value(), "@", s.timestamp(), "=", s.value())];
      }
    }
  }
  return out;
}

size_t SampleCount(TestReceiver& receiver) {
  size_t n = 0;
  for (const auto& [key, count] : Samples(receiver)) n += count;
  return n;
}

TEST(RemoteWriteOutputTest, SeriesSamplesAndExemplarsArriveWithTheTenantsOrgId) {
  TestReceiver receiver;
  ASSERT_TRUE(receiver.ok());
  auto output =
      RemoteWriteOutput::Create(Config(TempDir(), {Entry(receiver.url())}), {}, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  const prometheus::WriteRequest sent = Collection(3, 1700000000000);
  ASSERT_TRUE((*output)->Write("tenant-a", sent).ok());
  ASSERT_TRUE(receiver.WaitReceived(1));
  const std::vector<TestReceiver::Request> got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  // The request as the generator built it: every series, its labels, sample and exemplar.
  EXPECT_EQ(got[0].write.SerializeAsString(), sent.SerializeAsString());
  EXPECT_EQ(got[0].write.timeseries(0).exemplars(0).labels(0).name(), "traceID");
  EXPECT_EQ(got[0].write.timeseries(0).exemplars(0).labels(0).value(), "abc");
  EXPECT_EQ(got[0].Header("X-Scope-OrgID"), "tenant-a");
  EXPECT_EQ(got[0].Header("Content-Encoding"), "snappy");
  EXPECT_EQ(got[0].Header("X-Prometheus-Remote-Write-Version"), "0.1.0");

  ASSERT_TRUE(WaitFor([&] { return (*output)->Stats().at(0).samples_sent == 3; }));
  const RemoteWriteEndpointStats stats = (*output)->Stats().at(0);
  EXPECT_EQ(stats.tenant, "tenant-a");
  EXPECT_EQ(stats.url, receiver.url());
  EXPECT_EQ(stats.samples_written, 3);
  EXPECT_EQ(stats.exemplars_written, 1);
  EXPECT_EQ(stats.exemplars_sent, 1);
  EXPECT_EQ(stats.requests_sent, 1);
  EXPECT_EQ(stats.requests_failed, 0);
  EXPECT_GT(stats.wal_bytes_written, 0);
  EXPECT_GT(stats.wal_size_bytes, 0u);
  (*output)->Close(absl::Now() + absl::Seconds(5));
}

TEST(RemoteWriteOutputTest, ExemplarsAreSentWhateverSendExemplarsSays) {
  TestReceiver receiver;
  RemoteWriteConfig entry = Entry(receiver.url());
  entry.send_exemplars = false;  // Tempo forces true
  auto output = RemoteWriteOutput::Create(Config(TempDir(), {entry}), {}, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t", Collection(1, 1000, "feed")).ok());
  ASSERT_TRUE(receiver.WaitReceived(1));
  ASSERT_EQ(receiver.received()[0].write.timeseries(0).exemplars_size(), 1);
  EXPECT_EQ(receiver.received()[0].write.timeseries(0).exemplars(0).labels(0).value(), "feed");
}

TEST(RemoteWriteOutputTest, OrgIdHeaderRules) {
  RemoteWriteConfig entry = Entry("http://x/api/v1/write");
  using Headers = std::vector<std::pair<std::string, std::string>>;
  // Added for the tenant.
  EXPECT_EQ(RemoteWriteOutput::TenantHeaders(entry, {}, "t1", true),
            (Headers{{"X-Scope-OrgID", "t1"}}));
  // Not with remote_write_add_org_id_header: false.
  EXPECT_EQ(RemoteWriteOutput::TenantHeaders(entry, {}, "t1", false), Headers{});
  // Not for the single tenant of multi-tenancy off (Tempo's util.FakeTenantID).
  EXPECT_EQ(RemoteWriteOutput::TenantHeaders(entry, {}, "single-tenant", true), Headers{});
  // Already set by the entry, in any case: kept, none added.
  entry.headers = {{"x-scope-orgid", "fixed"}, {"A", "1"}};
  EXPECT_EQ(RemoteWriteOutput::TenantHeaders(entry, {}, "t1", true),
            (Headers{{"A", "1"}, {"x-scope-orgid", "fixed"}}));
  // Already set by the tenant's remote_write_headers; they are added, replacing an entry header
  // of the same name.
  entry.headers = {{"A", "1"}, {"B", "2"}};
  EXPECT_EQ(
      RemoteWriteOutput::TenantHeaders(entry, {{"B", "3"}, {"X-SCOPE-ORGID", "other"}}, "t1", true),
      (Headers{{"A", "1"}, {"B", "3"}, {"X-SCOPE-ORGID", "other"}}));
  // Set but empty: the tenant's.
  entry.headers = {{"X-Scope-OrgID", ""}};
  EXPECT_EQ(RemoteWriteOutput::TenantHeaders(entry, {}, "t1", true),
            (Headers{{"X-Scope-OrgID", "t1"}}));
}

TEST(RemoteWriteOutputTest, HeadersReachTheReceiver) {
  TestReceiver receiver;
  RemoteWriteConfig with_header = Entry(receiver.url(), "configured");
  with_header.headers = {{"X-Scope-OrgID", "from-config"}, {"X-Extra", "e"}};
  with_header.basic_auth_username = "user";
  with_header.basic_auth_password = "pass";
  GeneratorOverrides overrides;
  overrides.remote_write_headers = {{"X-Tenant-Header", "h"}};
  auto output =
      RemoteWriteOutput::Create(Config(TempDir(), {with_header}), overrides, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t1", Collection(1, 1000)).ok());
  ASSERT_TRUE(receiver.WaitReceived(1));
  const TestReceiver::Request got = receiver.received()[0];
  EXPECT_EQ(got.Header("X-Scope-OrgID"), "from-config");
  EXPECT_EQ(got.HeaderCount("X-Scope-OrgID"), 1);
  EXPECT_EQ(got.Header("X-Extra"), "e");
  EXPECT_EQ(got.Header("X-Tenant-Header"), "h");
  EXPECT_EQ(got.Header("Authorization"), absl::StrCat("Basic ", absl::Base64Escape("user:pass")));
}

TEST(RemoteWriteOutputTest, TwoEndpointsBothReceiveEverything) {
  TestReceiver a;
  TestReceiver b;
  const std::string dir = TempDir();
  auto output = RemoteWriteOutput::Create(Config(dir, {Entry(a.url(), "a"), Entry(b.url())}), {},
                                          FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t1", Collection(2, 1000)).ok());
  ASSERT_TRUE((*output)->Write("t2", Collection(2, 2000)).ok());
  ASSERT_TRUE(WaitFor([&] { return SampleCount(a) == 4 && SampleCount(b) == 4; }));
  EXPECT_EQ(Samples(a), Samples(b));
  EXPECT_THAT(Samples(a), UnorderedElementsAre(Pair("svc-0@1000=1", 1), Pair("svc-1@1000=2", 1),
                                               Pair("svc-0@2000=1", 1), Pair("svc-1@2000=2", 1)));
  std::set<std::string> tenants;
  for (const auto& r : b.received()) tenants.insert(r.Header("X-Scope-OrgID"));
  EXPECT_THAT(tenants, UnorderedElementsAre("t1", "t2"));
  // One WAL per tenant and entry: the name, or url- and the URL's hash.
  const std::string hashed = RemoteWriteOutput::EntryDirectory(Entry(b.url()));
  EXPECT_THAT(hashed, ::testing::MatchesRegex("url-[0-9a-f]{16}"));
  for (const std::string tenant : {"t1", "t2"}) {
    EXPECT_TRUE(std::filesystem::is_directory(absl::StrCat(dir, "/", tenant, "/a")));
    EXPECT_TRUE(std::filesystem::is_directory(absl::StrCat(dir, "/", tenant, "/", hashed)));
  }
  EXPECT_EQ((*output)->Stats().size(), 4u);
}

TEST(RemoteWriteOutputTest, AReceiverDownThenUpGetsEverythingOnce) {
  int port = 0;
  {
    TestReceiver probe;  // a free port, closed again: connections are refused
    port = probe.port();
  }
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/api/v1/write");
  auto output = RemoteWriteOutput::Create(Config(TempDir(), {Entry(url)}), {}, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t", Collection(3, 1000)).ok());
  ASSERT_TRUE((*output)->Write("t", Collection(3, 2000)).ok());
  ASSERT_TRUE(WaitFor([&] { return (*output)->Stats().at(0).requests_failed >= 2; }));
  TestReceiver receiver(port);
  ASSERT_TRUE(receiver.ok());
  receiver.FailWith({503});  // then a server error, retried too
  ASSERT_TRUE((*output)->Write("t", Collection(3, 3000)).ok());
  ASSERT_TRUE(WaitFor([&] { return SampleCount(receiver) >= 9; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // nothing more comes
  const std::map<std::string, int> samples = Samples(receiver);
  EXPECT_EQ(samples.size(), 9u);
  for (const auto& [key, count] : samples) EXPECT_EQ(count, 1) << key;
  // In the order written.
  std::vector<int64_t> times;
  for (const auto& r : receiver.received())
    times.push_back(r.write.timeseries(0).samples(0).timestamp());
  EXPECT_THAT(times, ElementsAre(1000, 2000, 3000));
  EXPECT_TRUE(WaitFor([&] { return (*output)->Stats().at(0).samples_sent == 9; }));
}

TEST(RemoteWriteOutputTest, AnUndeliveredCollectionIsSentAfterReopening) {
  int port = 0;
  {
    TestReceiver probe;
    port = probe.port();
  }
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/api/v1/write");
  const std::string dir = TempDir();
  {
    auto output = RemoteWriteOutput::Create(Config(dir, {Entry(url)}), {}, FastOptions());
    ASSERT_TRUE(output.ok()) << output.status();
    ASSERT_TRUE((*output)->Write("tenant-x", Collection(2, 1000, "t1")).ok());
    const absl::Time start = absl::Now();
    (*output)->Close(start + absl::Milliseconds(200));
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));  // the deadline holds
    EXPECT_EQ((*output)->Write("tenant-x", Collection(1, 2000)).code(),
              absl::StatusCode::kFailedPrecondition);
  }
  TestReceiver receiver(port);
  ASSERT_TRUE(receiver.ok());
  // The tenant writes nothing more: its WAL is reopened by Create.
  auto reopened = RemoteWriteOutput::Create(Config(dir, {Entry(url)}), {}, FastOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ASSERT_EQ((*reopened)->Stats().size(), 1u);
  ASSERT_TRUE(WaitFor([&] { return SampleCount(receiver) >= 2; }))
      << (*reopened)->Stats()[0].requests_sent << " " << (*reopened)->Stats()[0].requests_failed;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_THAT(Samples(receiver),
              UnorderedElementsAre(Pair("svc-0@1000=1", 1), Pair("svc-1@1000=2", 1)));
  EXPECT_EQ(receiver.received()[0].Header("X-Scope-OrgID"), "tenant-x");
  EXPECT_EQ(receiver.received()[0].write.timeseries(0).exemplars(0).labels(0).value(), "t1");
  (*reopened)->Close(absl::Now() + absl::Seconds(2));

  // Delivered and committed: a third start sends nothing again.
  auto third = RemoteWriteOutput::Create(Config(dir, {Entry(url)}), {}, FastOptions());
  ASSERT_TRUE(third.ok()) << third.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(SampleCount(receiver), 2u);
}

TEST(RemoteWriteOutputTest, CloseDeliversWhatTheWalHoldsUntilTheDeadline) {
  TestReceiver receiver;
  receiver.FailWith({503, 503});
  auto output =
      RemoteWriteOutput::Create(Config(TempDir(), {Entry(receiver.url())}), {}, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t", Collection(4, 1000)).ok());
  (*output)->Close(absl::Now() + absl::Seconds(10));
  EXPECT_EQ(SampleCount(receiver), 4u);
}

TEST(RemoteWriteOutputTest, ARefusedRequestIsDroppedAndTheNextOneSent) {
  TestReceiver receiver;
  receiver.FailWith({400});
  auto output =
      RemoteWriteOutput::Create(Config(TempDir(), {Entry(receiver.url())}), {}, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t", Collection(1, 1000)).ok());
  ASSERT_TRUE((*output)->Write("t", Collection(1, 2000)).ok());
  ASSERT_TRUE(WaitFor([&] { return SampleCount(receiver) == 1; }));
  EXPECT_THAT(Samples(receiver), ElementsAre(Pair("svc-0@2000=1", 1)));
  ASSERT_TRUE(WaitFor([&] { return (*output)->Stats().at(0).requests_dropped == 1; }));
  ASSERT_TRUE(WaitFor([&] { return (*output)->Stats().at(0).samples_sent == 1; }));
}

TEST(RemoteWriteOutputTest, LargeCollectionsAreSplitIntoRequestsOf2000Series) {
  TestReceiver receiver;
  auto output =
      RemoteWriteOutput::Create(Config(TempDir(), {Entry(receiver.url())}), {}, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t", Collection(4500, 1000)).ok());
  ASSERT_TRUE(WaitFor([&] { return SampleCount(receiver) == 4500; }));
  std::vector<int> sizes;
  for (const auto& r : receiver.received()) sizes.push_back(r.write.timeseries_size());
  EXPECT_THAT(sizes, ElementsAre(2000, 2000, 500));
}

TEST(RemoteWriteOutputTest, ConfigurationErrors) {
  // Tempo's text when storage.path is empty (its single binary then runs without the generator).
  auto no_path = RemoteWriteOutput::Create(Config("", {Entry("http://x/")}), {});
  EXPECT_EQ(no_path.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(no_path.status().message(),
            "no metrics_generator.storage.path configured, metrics generator will be disabled");

  auto duplicate = RemoteWriteOutput::Create(
      Config(TempDir(), {Entry("http://x/", "a"), Entry("http://y/", "a")}), {});
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(duplicate.status().message(), ::testing::HasSubstr("share the WAL directory 'a'"));
  auto same_url =
      RemoteWriteOutput::Create(Config(TempDir(), {Entry("http://x/"), Entry("http://x/")}), {});
  EXPECT_EQ(same_url.status().code(), absl::StatusCode::kInvalidArgument);

  auto bad_name = RemoteWriteOutput::Create(Config(TempDir(), {Entry("http://x/", "a/b")}), {});
  EXPECT_EQ(bad_name.status().code(), absl::StatusCode::kInvalidArgument);

  RemoteWriteConfig no_file = Entry("http://x/");
  no_file.basic_auth_username = "u";
  no_file.basic_auth_password_file = "/nonexistent/password";
  auto unreadable = RemoteWriteOutput::Create(Config(TempDir(), {no_file}), {});
  EXPECT_EQ(unreadable.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unreadable.status().message(),
              ::testing::HasSubstr("cannot read basic_auth.password_file /nonexistent/password"));

  // A tenant that cannot name a directory.
  auto output = RemoteWriteOutput::Create(Config(TempDir(), {Entry("http://127.0.0.1:1/")}), {});
  ASSERT_TRUE(output.ok());
  EXPECT_EQ((*output)->Write("", Collection(1, 1)).message(), "tenant cannot be empty");
  EXPECT_EQ((*output)->Write("..", Collection(1, 1)).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RemoteWriteOutputTest, BearerCredentialsFromAFile) {
  TestReceiver receiver;
  const std::string dir = TempDir();
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/token";
  std::ofstream(file) << "  secret-token\n";
  RemoteWriteConfig entry = Entry(receiver.url());
  entry.authorization_credentials_file = file;
  auto output = RemoteWriteOutput::Create(Config(dir + "/wal", {entry}), {}, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t", Collection(1, 1)).ok());
  ASSERT_TRUE(receiver.WaitReceived(1));
  EXPECT_EQ(receiver.received()[0].Header("Authorization"), "Bearer secret-token");
}

// The seam end to end: spans pushed into a GeneratorService, collected into this output,
// delivered to a receiver. Expected values from the spans: one trace, a frontend CLIENT span of
// 300 ms calling an api SERVER span of 150 ms, trace ID 16 bytes 0x01.
TEST(RemoteWriteOutputTest, AGeneratorServiceCollectionReachesTheReceiver) {
  using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
  using opentelemetry::proto::trace::v1::Span;
  TestReceiver receiver;
  ASSERT_TRUE(receiver.ok());
  const std::string dir = TempDir();
  GeneratorConfig config = Config(dir, {Entry(receiver.url())});
  GeneratorOverrides overrides;
  overrides.processors = {"service-graphs", "span-metrics"};
  auto output = RemoteWriteOutput::Create(config, overrides, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();

  GeneratorServiceOptions options;
  options.config = config;
  options.overrides = overrides;
  options.output = output->get();
  std::vector<std::string> errors;
  options.on_error = [&](std::string_view tenant, const absl::Status& status) {
    errors.push_back(absl::StrCat(std::string(tenant), ": ", status.message()));
  };
  auto service = GeneratorService::Create(options);
  ASSERT_TRUE(service.ok()) << service.status();

  const ExportTraceServiceRequest request =
      ClientServerPair("frontend", "api", absl::Now() - absl::Seconds(1), '\x01');
  (*service)->PushSpans("acme", request);
  // Stop: a last collection, then the output drains until the deadline.
  (*service)->Stop(absl::Now() + absl::Seconds(10));
  EXPECT_TRUE(errors.empty()) << errors.front();

  // The last sample of every series (a new counter's first collection also carries Tempo's
  // initial 0 a minute earlier), and the exemplars.
  std::map<std::string, std::pair<int64_t, double>> last;
  std::map<std::string, std::string> exemplars;
  for (const TestReceiver::Request& r : receiver.received()) {
    EXPECT_EQ(r.Header("X-Scope-OrgID"), "acme");
    for (const prometheus::TimeSeries& ts : r.write.timeseries()) {
      std::string key;
      for (const prometheus::Label& l : ts.labels()) {
        if (l.name() == "__name__")
          key = l.value() + key;
        else
          absl::StrAppend(&key, absl::StrContains(key, "{") ? "," : "{", l.name(), "=", l.value());
      }
      key += "}";
      for (const prometheus::Sample& sample : ts.samples()) {
        auto& slot = last[key];
        if (sample.timestamp() >= slot.first) slot = {sample.timestamp(), sample.value()};
      }
      for (const prometheus::Exemplar& e : ts.exemplars()) {
        exemplars[key] = absl::StrCat(e.labels(0).name(), "=", e.labels(0).value(), " ", e.value());
      }
    }
  }
  // The series with their last value: one call each side, one edge; 0.3 s falls in the bucket
  // le=0.512 (the one after 0.256), whose exemplar is the trace.
  const std::string bucket =
      "traces_spanmetrics_latency_bucket{le=0.512,service=frontend,span_kind=SPAN_KIND_CLIENT,"
      "span_name=GET /api,status_code=STATUS_CODE_UNSET}";
  for (const std::string& series : {
           std::string("traces_spanmetrics_calls_total{service=frontend,span_kind=SPAN_KIND_CLIENT,"
                       "span_name=GET /api,status_code=STATUS_CODE_UNSET}"),
           std::string("traces_spanmetrics_calls_total{service=api,span_kind=SPAN_KIND_SERVER,"
                       "span_name=handle,status_code=STATUS_CODE_UNSET}"),
           std::string("traces_service_graph_request_total{client=frontend,server=api}"),
           bucket,
       }) {
    ASSERT_TRUE(last.count(series)) << series << " not among " << last.size() << " series";
    EXPECT_EQ(last[series].second, 1) << series;
  }
  EXPECT_EQ(exemplars[bucket], "traceID=01010101010101010101010101010101 0.3");
  // Everything written was delivered.
  const RemoteWriteEndpointStats stats = (*output)->Stats().at(0);
  EXPECT_GT(stats.samples_written, 0);
  EXPECT_EQ(stats.samples_sent, stats.samples_written);
  EXPECT_EQ(stats.exemplars_sent, stats.exemplars_written);
}

}  // namespace
}  // namespace sprout::traces::generator
