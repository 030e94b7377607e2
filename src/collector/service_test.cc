#include "collector/service.h"

#include <gtest/gtest.h>

#include <mutex>

#include "config/decoder.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector {
namespace {

// Test doubles of our own component interfaces, recording what happens to them.
struct Journal {
  std::mutex mu;
  std::vector<std::string> events;
  void Add(std::string e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(std::move(e));
  }
};
Journal* journal = nullptr;

struct EmptyConfig : ComponentConfig {
  std::string tag;
  void Decode(config::Decoder& d) override { d.Read("tag", &tag); }
};

class FakeReceiver : public Component {
 public:
  FakeReceiver(ComponentID id, ReceiverConsumers next)
      : id_(std::move(id)), next_(std::move(next)) {}
  absl::Status Start(Host&) override {
    journal->Add("start receiver " + id_.String());
    instances.push_back(this);
    return absl::OkStatus();
  }
  absl::Status Shutdown(absl::Time) override {
    journal->Add("stop receiver " + id_.String());
    return absl::OkStatus();
  }
  static inline std::vector<FakeReceiver*> instances;
  ComponentID id_;
  ReceiverConsumers next_;
};

class FakeReceiverFactory : public ReceiverFactory {
 public:
  FakeReceiverFactory() : ReceiverFactory("fakercv") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<EmptyConfig>();
  }
  bool SupportsSignal(Signal s) const override { return s != Signal::kLogs; }
  absl::StatusOr<std::unique_ptr<Component>> CreateReceiver(const CreateSettings& settings,
                                                            const ComponentConfig&,
                                                            ReceiverConsumers next) const override {
    return std::unique_ptr<Component>(new FakeReceiver(settings.id, std::move(next)));
  }
};

// Appends its tag as a span to every batch it sees (so it mutates data).
class TagProcessor : public ConsumerComponent<Signal::kTraces> {
 public:
  TagProcessor(ComponentID id, std::string tag, std::shared_ptr<TracesConsumer> next)
      : id_(std::move(id)), tag_(std::move(tag)), next_(std::move(next)) {}
  absl::Status Start(Host&) override {
    journal->Add("start processor " + id_.String());
    return absl::OkStatus();
  }
  absl::Status Shutdown(absl::Time) override {
    journal->Add("stop processor " + id_.String());
    return absl::OkStatus();
  }
  absl::Status Consume(const Context& ctx, otlp::TracesBatch batch) override {
    batch.mutable_request()->add_resource_spans()->add_scope_spans()->add_spans()->set_name(tag_);
    return next_->Consume(ctx, std::move(batch));
  }

 private:
  ComponentID id_;
  std::string tag_;
  std::shared_ptr<TracesConsumer> next_;
};

class TagProcessorFactory : public ProcessorFactory {
 public:
  TagProcessorFactory() : ProcessorFactory("tag") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<EmptyConfig>();
  }
  bool SupportsSignal(Signal s) const override { return s == Signal::kTraces; }
  absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> CreateTraces(
      const CreateSettings& settings, const ComponentConfig& config,
      std::shared_ptr<TracesConsumer> next) const override {
    return std::make_shared<TagProcessor>(settings.id, static_cast<const EmptyConfig&>(config).tag,
                                          std::move(next));
  }
};

template <Signal S>
class SinkExporter : public ConsumerComponent<S> {
 public:
  explicit SinkExporter(ComponentID id) : id_(std::move(id)) {}
  absl::Status Start(Host&) override {
    journal->Add("start exporter " + id_.String() + " " + otlp::SignalName(S));
    sinks.push_back(this);
    return absl::OkStatus();
  }
  absl::Status Shutdown(absl::Time) override {
    journal->Add("stop exporter " + id_.String() + " " + otlp::SignalName(S));
    return absl::OkStatus();
  }
  absl::Status Consume(const Context&, otlp::Batch<S> batch) override {
    received.push_back(batch);
    return absl::OkStatus();
  }
  static inline std::vector<SinkExporter*> sinks;
  ComponentID id_;
  std::vector<otlp::Batch<S>> received;
};

class SinkFactory : public ExporterFactory {
 public:
  SinkFactory() : ExporterFactory("sink") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<EmptyConfig>();
  }
  bool SupportsSignal(Signal s) const override { return s != Signal::kLogs; }
  absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> CreateTraces(
      const CreateSettings& settings, const ComponentConfig&) const override {
    return std::make_shared<SinkExporter<Signal::kTraces>>(settings.id);
  }
  absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> CreateMetrics(
      const CreateSettings& settings, const ComponentConfig&) const override {
    return std::make_shared<SinkExporter<Signal::kMetrics>>(settings.id);
  }
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    journal = &journal_;
    FakeReceiver::instances.clear();
    SinkExporter<Signal::kTraces>::sinks.clear();
    factories_.Register(std::make_unique<FakeReceiverFactory>());
    factories_.Register(std::make_unique<TagProcessorFactory>());
    factories_.Register(std::make_unique<SinkFactory>());
  }
  std::unique_ptr<Service> Build(const std::string& yaml) {
    auto cfg = DecodeServiceConfig(YAML::Load(yaml), factories_);
    EXPECT_TRUE(cfg.ok()) << cfg.status();
    ServiceSettings settings;
    settings.build_version = "test";
    auto service = Service::Create(std::move(*cfg), settings);
    EXPECT_TRUE(service.ok()) << service.status();
    return std::move(*service);
  }
  Journal journal_;
  Factories factories_;
};

constexpr char kConfig[] = R"(
receivers:
  fakercv: {}
processors:
  tag/a: {tag: a}
  tag/b: {tag: b}
exporters:
  sink/1: {}
  sink/2: {}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces:
      receivers: [fakercv]
      processors: [tag/a, tag/b]
      exporters: [sink/1, sink/2]
    traces/other:
      receivers: [fakercv]
      exporters: [sink/2]
    metrics:
      receivers: [fakercv]
      exporters: [sink/1]
)";

TEST_F(ServiceTest, StartsAndStopsInTheCollectorsOrder) {
  auto service = Build(kConfig);
  ASSERT_TRUE(service->Start().ok());
  service->Shutdown();
  const std::vector<std::string> expected = {
      "start exporter sink/1 traces",  "start exporter sink/2 traces",
      "start exporter sink/1 metrics", "start processor tag/b",
      "start processor tag/a",         "start receiver fakercv",
      "stop receiver fakercv",         "stop processor tag/a",
      "stop processor tag/b",          "stop exporter sink/1 metrics",
      "stop exporter sink/2 traces",   "stop exporter sink/1 traces"};
  EXPECT_EQ(journal_.events, expected);
}

// `sprout all` serves the registry on its own HTTP port: an empty address starts no listener.
TEST_F(ServiceTest, EmptyTelemetryAddressStartsNoListener) {
  std::string yaml = kConfig;
  yaml.replace(yaml.find("{level: none}"), 13, "{level: normal}");
  auto cfg = DecodeServiceConfig(YAML::Load(yaml), factories_);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  cfg->telemetry.metrics_address.clear();
  ServiceSettings settings;
  settings.build_version = "test";
  auto service = Service::Create(std::move(*cfg), settings);
  ASSERT_TRUE(service.ok()) << service.status();
  ASSERT_TRUE((*service)->Start().ok());
  EXPECT_EQ((*service)->telemetry_address(), "");
  (*service)->Shutdown();
}

TEST_F(ServiceTest, OneReceiverFeedsEveryPipelineAndFanOutIsolatesChanges) {
  auto service = Build(kConfig);
  ASSERT_TRUE(service->Start().ok());
  ASSERT_EQ(FakeReceiver::instances.size(), 1u);  // shared by three pipelines
  FakeReceiver* receiver = FakeReceiver::instances[0];
  ASSERT_NE(receiver->next_.traces, nullptr);
  ASSERT_NE(receiver->next_.metrics, nullptr);
  EXPECT_EQ(receiver->next_.logs, nullptr);

  otlp::TracesBatch batch;
  batch.mutable_request()->add_resource_spans()->add_scope_spans()->add_spans()->set_name("x");
  ASSERT_TRUE(receiver->next_.traces->Consume(Context{}, batch).ok());

  auto& sinks = SinkExporter<Signal::kTraces>::sinks;
  ASSERT_EQ(sinks.size(), 2u);
  // sink/1 gets the processed batch once; sink/2 gets it from both pipelines.
  ASSERT_EQ(sinks[0]->received.size(), 1u);
  ASSERT_EQ(sinks[1]->received.size(), 2u);
  EXPECT_EQ(sinks[0]->received[0].item_count(), 3);  // x, a, b
  EXPECT_EQ(sinks[1]->received[0].item_count(), 3);
  EXPECT_EQ(sinks[1]->received[1].item_count(), 1);  // the other pipeline has no processors
  // The caller's batch was not changed by the processors (copy-on-write).
  EXPECT_EQ(batch.item_count(), 1);
  service->Shutdown();
}

}  // namespace
}  // namespace sprout::collector
