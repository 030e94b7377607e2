#include "traces/generator/remote_write_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "remotewrite/test_receiver.h"
#include "storage/fault_injection_env.h"
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

TEST(RemoteWriteOutputTest, InitialZerosGoInTheirOwnRequestAheadOfTheCollection) {
  TestReceiver receiver;
  // After a restart Prometheus refuses the initial zeros (older than what it holds): 400.
  receiver.FailWith({400});
  auto output =
      RemoteWriteOutput::Create(Config(TempDir(), {Entry(receiver.url())}), {}, FastOptions());
  ASSERT_TRUE(output.ok()) << output.status();
  // A collection at 60,000 ms as the registry makes it for two new series: each one's 0 at the
  // end of the previous minute (59,000 ms), then its value.
  prometheus::WriteRequest collection;
  for (const char* svc : {"a", "b"}) {
    for (const auto& [t, v] : {std::pair<int64_t, double>{59000, 0}, {60000, 5}}) {
      prometheus::TimeSeries* ts = collection.add_timeseries();
      prometheus::Label* name = ts->add_labels();
      name->set_name("__name__");
      name->set_value("traces_spanmetrics_calls_total");
      prometheus::Label* service = ts->add_labels();
      service->set_name("service");
      service->set_value(svc);
      prometheus::Sample* sample = ts->add_samples();
      sample->set_timestamp(t);
      sample->set_value(v);
    }
  }
  ASSERT_TRUE((*output)->Write("t", collection).ok());
  ASSERT_TRUE(WaitFor([&] { return (*output)->Stats().at(0).requests_dropped == 1; }));
  ASSERT_TRUE(WaitFor([&] { return SampleCount(receiver) == 2; }));
  // The refused request held the two zeros only; the collection's values arrived.
  EXPECT_THAT(Samples(receiver), UnorderedElementsAre(Pair("a@60000=5", 1), Pair("b@60000=5", 1)));
  EXPECT_EQ(receiver.attempts(), 2);
  EXPECT_EQ((*output)->Stats().at(0).samples_written, 4);
  (*output)->Close(absl::Now() + absl::Seconds(5));
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

// ---------------------------------------------------------------------------------------------
// The fault-injection seam: the output's WALs on storage::FaultInjectionEnv (an in-memory file
// system that fails on demand and knows what a crash keeps).

using storage::FaultInjectionEnv;
using CrashMode = FaultInjectionEnv::CrashMode;
using ::testing::HasSubstr;
using ::testing::Not;

RemoteWriteOutputOptions EnvOptions(FaultInjectionEnv* env) {
  RemoteWriteOutputOptions options = FastOptions();
  options.env = env;
  return options;
}

// The samples of collection `ms` (Collection(2, ms)) a receiver got: "" when none, "whole" when
// both series arrived with their values (each `times` times), else a description of the damage.
std::string CollectionArrived(const std::map<std::string, int>& samples, int64_t ms, int times) {
  const std::string first = absl::StrCat("svc-0@", ms, "=1");
  const std::string second = absl::StrCat("svc-1@", ms, "=2");
  int seen = 0;
  for (const auto& [key, count] : samples) {
    if (absl::StartsWith(key, absl::StrCat("svc-0@", ms, "=")) ||
        absl::StartsWith(key, absl::StrCat("svc-1@", ms, "="))) {
      ++seen;
      if ((key != first && key != second) || count != times) {
        return absl::StrCat("damaged: ", key, " x", count);
      }
    }
  }
  if (seen == 0) return "";
  return seen == 2 ? "whole" : "half";
}

std::vector<int64_t> Timestamps(TestReceiver& receiver) {
  std::vector<int64_t> out;
  for (const TestReceiver::Request& r : receiver.received()) {
    for (const prometheus::TimeSeries& ts : r.write.timeseries()) {
      for (const prometheus::Sample& s : ts.samples()) out.push_back(s.timestamp());
    }
  }
  return out;
}

// A failed append (a write error that stored part of the data, a sync error, a full disk) makes
// Write return the error naming the entry and counts it; the other entry still gets the
// collection; nothing of the failed append is ever delivered; the next Write after the fault
// clears is appended and delivered.
TEST(RemoteWriteOutputFaultTest, AFailedAppendIsReturnedNamingTheEntryAndTheOtherKeepsIt) {
  FaultInjectionEnv env;
  TestReceiver a;
  TestReceiver b;
  auto output = RemoteWriteOutput::Create(
      Config("/gen", {Entry(a.url(), "a"), Entry(b.url(), "b")}), {}, EnvOptions(&env));
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_TRUE((*output)->Write("t", Collection(2, 1000)).ok());

  // The segment files of b's WAL (not its cursor, which the sender syncs on its own).
  const std::string b_segments = "/gen/t/b/0";
  env.InjectFault({.ops = FaultInjectionEnv::kWrite,
                   .path_contains = b_segments,
                   .error = absl::DataLossError("injected write error"),
                   .short_write = 7});
  absl::Status written = (*output)->Write("t", Collection(2, 2000));
  EXPECT_EQ(written.code(), absl::StatusCode::kDataLoss) << written;
  EXPECT_THAT(
      std::string(written.message()),
      HasSubstr(absl::StrCat("remote write b (", b.url(), "): failed to write to the WAL")));
  EXPECT_THAT(std::string(written.message()), HasSubstr("injected write error"));

  env.InjectFault({.ops = FaultInjectionEnv::kSync,
                   .path_contains = b_segments,
                   .error = absl::InternalError("injected sync error")});
  written = (*output)->Write("t", Collection(2, 3000));
  EXPECT_EQ(written.code(), absl::StatusCode::kInternal) << written;
  EXPECT_THAT(std::string(written.message()), HasSubstr("remote write b ("));
  EXPECT_THAT(std::string(written.message()), HasSubstr("injected sync error"));

  // A full disk: both entries fail; the error names the first.
  env.SetCapacity(env.UsedBytes() + 16);
  written = (*output)->Write("t", Collection(2, 4000));
  EXPECT_EQ(written.code(), absl::StatusCode::kResourceExhausted) << written;
  EXPECT_THAT(
      std::string(written.message()),
      HasSubstr(absl::StrCat("remote write a (", a.url(), "): failed to write to the WAL")));

  // The fault cleared: the next collection goes in and is delivered to both.
  env.SetCapacity(std::nullopt);
  ASSERT_TRUE((*output)->Write("t", Collection(2, 5000)).ok());
  ASSERT_TRUE(WaitFor([&] { return SampleCount(a) >= 8 && SampleCount(b) >= 4; }))
      << SampleCount(a) << " " << SampleCount(b);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // nothing more comes
  const std::map<std::string, int> at_a = Samples(a);
  const std::map<std::string, int> at_b = Samples(b);
  for (int64_t ms : {1000, 2000, 3000, 5000}) EXPECT_EQ(CollectionArrived(at_a, ms, 1), "whole");
  EXPECT_EQ(CollectionArrived(at_a, 4000, 1), "");
  EXPECT_EQ(CollectionArrived(at_b, 1000, 1), "whole");
  for (int64_t ms : {2000, 3000, 4000}) EXPECT_EQ(CollectionArrived(at_b, ms, 1), "") << ms;
  EXPECT_EQ(CollectionArrived(at_b, 5000, 1), "whole");
  EXPECT_THAT(Timestamps(b), ElementsAre(1000, 1000, 5000, 5000));

  const std::vector<RemoteWriteEndpointStats> stats = (*output)->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].remote_name, "a");
  EXPECT_EQ(stats[0].wal_writes_failed, 1);
  EXPECT_EQ(stats[0].samples_written, 8);
  EXPECT_EQ(stats[1].remote_name, "b");
  EXPECT_EQ(stats[1].wal_writes_failed, 3);
  EXPECT_EQ(stats[1].samples_written, 4);
  EXPECT_TRUE(WaitFor([&] {
    const auto now = (*output)->Stats();
    return now[0].samples_sent == 8 && now[1].samples_sent == 4;
  }));
}

// A crash of each kind (kill -9, power loss, power loss with torn tails) while the receiver
// refuses: every collection whose Write returned OK is delivered by the next output on the same
// files; one delivered and committed before the crash is not sent again (the cursor is
// committed every commit_interval: here 20 ms, waited out); the collection whose append never
// became durable (its sync failed) is absent after a power loss, and whole or absent otherwise
// (kill -9 keeps the page cache) — never torn. In the order written.
TEST(RemoteWriteOutputFaultTest, EveryAcknowledgedCollectionIsDeliveredAfterACrash) {
  for (CrashMode mode :
       {CrashMode::kKeepUnsynced, CrashMode::kDropUnsynced, CrashMode::kTearUnsynced}) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      SCOPED_TRACE(absl::StrCat("mode ", static_cast<int>(mode), " seed ", seed));
      FaultInjectionEnv env;
      TestReceiver receiver;
      const GeneratorConfig config = Config("/gen", {Entry(receiver.url(), "rw")});
      {
        auto output = RemoteWriteOutput::Create(config, {}, EnvOptions(&env));
        ASSERT_TRUE(output.ok()) << output.status();
        ASSERT_TRUE((*output)->Write("t", Collection(2, 1000)).ok());
        ASSERT_TRUE(WaitFor([&] { return SampleCount(receiver) == 2; }));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the cursor committed
        receiver.FailForever(503);
        ASSERT_TRUE((*output)->Write("t", Collection(2, 2000)).ok());
        ASSERT_TRUE((*output)->Write("t", Collection(2, 3000)).ok());
        ASSERT_TRUE(WaitFor([&] { return receiver.attempts() >= 3; }));  // 2000 refused
        env.InjectFault(
            {.ops = FaultInjectionEnv::kSync, .path_contains = "/gen/t/rw/0", .count = -1});
        EXPECT_FALSE((*output)->Write("t", Collection(2, 4000)).ok());
        env.SimulateCrash(mode, seed);
        // The process is gone: what this output still does cannot reach the files.
      }
      env.ClearFaults();
      receiver.FailForever(0);
      ::testing::internal::CaptureStderr();
      auto reopened = RemoteWriteOutput::Create(config, {}, EnvOptions(&env));
      ASSERT_TRUE(reopened.ok()) << reopened.status();
      const bool delivered = WaitFor([&] {
        const auto samples = Samples(receiver);
        return CollectionArrived(samples, 2000, 1) == "whole" &&
               CollectionArrived(samples, 3000, 1) == "whole";
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // nothing more comes
      (*reopened)->Close(absl::Now() + absl::Seconds(2));
      const std::string log = ::testing::internal::GetCapturedStderr();
      ASSERT_TRUE(delivered) << SampleCount(receiver);
      const std::map<std::string, int> samples = Samples(receiver);
      EXPECT_EQ(CollectionArrived(samples, 1000, 1), "whole");
      const std::string unacknowledged = CollectionArrived(samples, 4000, 1);
      if (mode == CrashMode::kDropUnsynced) {
        EXPECT_EQ(unacknowledged, "");
      } else {
        EXPECT_TRUE(unacknowledged.empty() || unacknowledged == "whole") << unacknowledged;
      }
      size_t n = 0;
      for (const auto& [key, count] : samples) n += count;
      EXPECT_EQ(n, unacknowledged.empty() ? 6u : 8u);
      const std::vector<int64_t> times = Timestamps(receiver);
      EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
      // What a crash cut is the unacknowledged append's tail only, and it is reported.
      for (size_t at = log.find("The WAL was damaged"); at != std::string::npos;
           at = log.find("The WAL was damaged", at + 1)) {
        EXPECT_THAT(log.substr(at, log.find('\n', at) - at), HasSubstr("cut off at open")) << log;
      }
      if (mode == CrashMode::kDropUnsynced) {
        EXPECT_THAT(log, Not(HasSubstr("The WAL was damaged")));
      }
    }
  }
}

// At least once: what was delivered after the last cursor commit is sent again after a crash
// (with the same values), and only that. The cursor is committed here at Close only.
TEST(RemoteWriteOutputFaultTest, WhatWasDeliveredSinceTheLastCommitIsSentAgainAfterACrash) {
  FaultInjectionEnv env;
  TestReceiver receiver;
  const GeneratorConfig config = Config("/gen", {Entry(receiver.url(), "rw")});
  RemoteWriteOutputOptions options = EnvOptions(&env);
  options.commit_interval = absl::Hours(1);
  {
    auto output = RemoteWriteOutput::Create(config, {}, options);
    ASSERT_TRUE(output.ok()) << output.status();
    ASSERT_TRUE((*output)->Write("t", Collection(2, 1000)).ok());
    ASSERT_TRUE(WaitFor([&] { return (*output)->Stats().at(0).samples_sent == 2; }));
    (*output)->Close(absl::Now() + absl::Seconds(2));  // commits the cursor
  }
  {
    auto output = RemoteWriteOutput::Create(config, {}, options);
    ASSERT_TRUE(output.ok()) << output.status();
    ASSERT_TRUE((*output)->Write("t", Collection(2, 2000)).ok());
    ASSERT_TRUE(WaitFor([&] { return (*output)->Stats().at(0).samples_sent == 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // marked delivered
    ::testing::internal::CaptureStderr();
    env.SimulateCrash(CrashMode::kDropUnsynced);
    output->reset();  // its commit fails: the files are gone with the machine
    EXPECT_THAT(::testing::internal::GetCapturedStderr(),
                HasSubstr("Committing the WAL's cursor failed"));
  }
  auto reopened = RemoteWriteOutput::Create(config, {}, options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ASSERT_TRUE(WaitFor([&] { return SampleCount(receiver) == 6; })) << SampleCount(receiver);
  ASSERT_TRUE((*reopened)->Write("t", Collection(2, 3000)).ok());
  ASSERT_TRUE(WaitFor([&] { return SampleCount(receiver) == 8; })) << SampleCount(receiver);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::map<std::string, int> samples = Samples(receiver);
  EXPECT_EQ(CollectionArrived(samples, 1000, 1), "whole");
  EXPECT_EQ(CollectionArrived(samples, 2000, 2), "whole");  // sent again, the same values
  EXPECT_EQ(CollectionArrived(samples, 3000, 1), "whole");
  EXPECT_THAT(Timestamps(receiver), ElementsAre(1000, 1000, 2000, 2000, 2000, 2000, 3000, 3000));
}

// Damage in a WAL costs what the segment-log format says and is reported, never dropped
// silently (docs/format/segment-log.md): a corrupted record in the middle costs the rest of its
// 32 KiB block (the reader resumes at the next block boundary), a torn append at the end is cut
// off at open; everything else is delivered, and nothing damaged reaches the receiver.
TEST(RemoteWriteOutputFaultTest, DamageInTheWalIsReportedAndTheRestDelivered) {
  constexpr uint64_t kBlock = 32768;
  FaultInjectionEnv env;
  TestReceiver receiver;
  receiver.FailForever(503);
  const GeneratorConfig config = Config("/gen", {Entry(receiver.url(), "rw")});
  const std::string dir = "/gen/t/rw";
  std::string segment;
  std::vector<uint64_t> ends;  // the segment's size after each collection
  {
    auto output = RemoteWriteOutput::Create(config, {}, EnvOptions(&env));
    ASSERT_TRUE(output.ok()) << output.status();
    // Collections until the segment holds three blocks.
    for (int64_t k = 0; ends.empty() || ends.back() < 3 * kBlock; ++k) {
      ASSERT_TRUE((*output)->Write("t", Collection(2, 1000 * (k + 1))).ok());
      if (segment.empty()) {
        auto files = env.ListDir(dir);
        ASSERT_TRUE(files.ok()) << files.status();
        for (const std::string& f : *files) {
          if (absl::EndsWith(f, ".log")) segment = absl::StrCat(dir, "/", f);
        }
        ASSERT_FALSE(segment.empty());
      }
      auto size = env.FileSize(segment);
      ASSERT_TRUE(size.ok()) << size.status();
      ends.push_back(*size);
    }
    (*output)->Close(absl::Now());
  }
  // A byte in the middle of the second collection's record, then a torn append at the end.
  const uint64_t middle = ends[0] + (ends[1] - ends[0]) / 2;
  const uint64_t resume = (middle / kBlock + 1) * kBlock;  // the next block boundary
  {
    auto file = env.OpenFile(segment, storage::OpenMode::kReadWrite);
    ASSERT_TRUE(file.ok()) << file.status();
    char byte = 0;
    ASSERT_TRUE((*file)->ReadAt(middle, 1, &byte).ok());
    byte = static_cast<char>(byte ^ 0x5a);
    ASSERT_TRUE((*file)->WriteAt(middle, std::string_view(&byte, 1)).ok());
    const std::string torn =
        std::string("\x12\x34\x56\x78\xff\x00\x01\x01", 8) + std::string(29, 'x');
    ASSERT_TRUE((*file)->WriteAt(ends.back(), torn).ok());
    ASSERT_TRUE((*file)->Sync().ok());
  }
  // Collection k starts at ends[k - 1]: those starting before `resume` (after the first) are
  // lost with the damaged block, the others arrive.
  std::vector<int64_t> want;
  for (size_t k = 0; k < ends.size(); ++k) {
    if (k == 0 || ends[k - 1] >= resume) want.push_back(1000 * static_cast<int64_t>(k + 1));
  }
  ASSERT_GT(want.size(), ends.size() / 2);

  receiver.FailForever(0);
  ::testing::internal::CaptureStderr();
  auto reopened = RemoteWriteOutput::Create(config, {}, EnvOptions(&env));
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  const bool delivered = WaitFor([&] { return SampleCount(receiver) >= 2 * want.size(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*reopened)->Close(absl::Now() + absl::Seconds(2));
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(delivered) << SampleCount(receiver) << log;
  const std::map<std::string, int> samples = Samples(receiver);
  for (size_t k = 0; k < ends.size(); ++k) {
    const int64_t ms = 1000 * static_cast<int64_t>(k + 1);
    const bool wanted = std::find(want.begin(), want.end(), ms) != want.end();
    EXPECT_EQ(CollectionArrived(samples, ms, 1), wanted ? "whole" : "") << "collection " << k;
  }
  EXPECT_EQ(SampleCount(receiver), 2 * want.size());
  // Two reports: the damaged block when it is read, the torn tail at open.
  EXPECT_THAT(log, HasSubstr(absl::StrCat("\"reason\": \"checksum mismatch\", \"file\": \"",
                                          segment, "\", \"offset\": ", ends[0])));
  // (to the first record that starts after the boundary)
  const uint64_t next_start = ends[want[1] / 1000 - 2];
  EXPECT_THAT(log, HasSubstr(absl::StrCat("\"bytes\": ", next_start - ends[0])));
  EXPECT_THAT(log, HasSubstr("\"reason\": \"cut off at open: "));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("\"offset\": ", ends.back(), ", \"bytes\": 37")));
  EXPECT_THAT(log, HasSubstr("\"tenant\": \"t\", \"remote_name\": \"rw\""));
  size_t reports = 0;
  for (size_t at = log.find("The WAL was damaged"); at != std::string::npos;
       at = log.find("The WAL was damaged", at + 1)) {
    ++reports;
  }
  EXPECT_EQ(reports, 2u) << log;
  // And counted, for /metrics: the skipped bytes of the block plus the torn 37.
  const std::vector<RemoteWriteEndpointStats> stats = (*reopened)->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].wal_repaired_bytes, static_cast<int64_t>(next_start - ends[0]) + 37);
  EXPECT_GE(stats[0].wal_repaired_records, 1);
}

}  // namespace
}  // namespace sprout::traces::generator
