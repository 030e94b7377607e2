#include "collector/service_config.h"

#include <gtest/gtest.h>

#include "collector/components.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector {
namespace {

absl::StatusOr<ServiceConfig> Decode(const std::string& yaml) {
  static const Factories factories = BuiltinFactories();
  return DecodeServiceConfig(YAML::Load(yaml), factories);
}

std::string Error(const std::string& yaml) {
  auto cfg = Decode(yaml);
  return cfg.ok() ? "OK" : std::string(cfg.status().message());
}

constexpr char kValid[] = R"(
receivers:
  otlp:
    protocols:
      grpc:
      http:
        endpoint: 0.0.0.0:4318
exporters:
  debug:
    verbosity: detailed
  otlp/tempo:
    endpoint: tempo:4317
    tls:
      insecure: true
extensions:
  health_check: {}
service:
  extensions: [health_check]
  telemetry:
    logs:
      level: debug
    metrics:
      address: localhost:9999
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp/tempo, debug]
    metrics/second:
      receivers: [otlp]
      exporters: [debug]
)";

TEST(ServiceConfigTest, DecodesAValidConfig) {
  auto cfg = Decode(kValid);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->pipelines.size(), 2u);
  EXPECT_EQ(cfg->pipelines[0].id.String(), "traces");
  EXPECT_EQ(cfg->pipelines[1].id.String(), "metrics/second");
  EXPECT_EQ(cfg->pipelines[0].exporters[0].String(), "otlp/tempo");
  EXPECT_EQ(cfg->telemetry.metrics_address, "localhost:9999");
  EXPECT_EQ(cfg->telemetry.log_level, log::Level::kDebug);
  ASSERT_EQ(cfg->service_extensions.size(), 1u);
}

TEST(ServiceConfigTest, UnknownKeyNamesItsPath) {
  EXPECT_EQ(Error(R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
        bogus: 1
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
)"),
            "'receivers::otlp::protocols::grpc' has invalid keys: bogus");
  EXPECT_EQ(Error(std::string(kValid) + "foo: 1\n"), "'' has invalid keys: foo");
}

TEST(ServiceConfigTest, UnknownTypeListsValidOnes) {
  EXPECT_EQ(Error(R"(
receivers: {zipkin: {}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [zipkin], exporters: [debug]}}}
)"),
            "receivers: unknown type: \"zipkin\" for id: \"zipkin\" (valid values: [otlp])");
}

TEST(ServiceConfigTest, PipelineReferencesMustExist) {
  EXPECT_EQ(Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [debug]}}}
)"),
            "service::pipelines::traces: references processor \"batch\" which is not configured");
  EXPECT_EQ(
      Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug, otlp/missing]}}}
)"),
      "service::pipelines::traces: references exporter \"otlp/missing\" which is not configured");
  EXPECT_EQ(Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp, otlp], exporters: [debug]}}}
)"),
            "service::pipelines::traces: references receiver \"otlp\" multiple times");
  EXPECT_EQ(Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {debug: {}}
service:
  extensions: [health_check]
  pipelines: {traces: {receivers: [otlp], exporters: [debug]}}
)"),
            "service::extensions: references extension \"health_check\" which is not configured");
}

TEST(ServiceConfigTest, StructuralErrors) {
  EXPECT_EQ(Error("exporters: {debug: {}}\nservice: {pipelines: {}}\n"),
            "no receiver configuration specified in config");
  EXPECT_EQ(Error("receivers: {otlp: {protocols: {grpc: }}}\nservice: {pipelines: {}}\n"),
            "no exporter configuration specified in config");
  EXPECT_EQ(
      Error("receivers: {otlp: {protocols: {grpc: }}}\nexporters: {debug: {}}\nservice: {}\n"),
      "service::pipelines: service must have at least one pipeline");
  EXPECT_EQ(Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp]}}}
)"),
            "service::pipelines::traces: must have at least one exporter");
  EXPECT_EQ(Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {debug: {}}
service: {pipelines: {profiles: {receivers: [otlp], exporters: [debug]}}}
)"),
            "service::pipelines: pipeline \"profiles\": unknown signal \"profiles\"");
}

TEST(ServiceConfigTest, ComponentValidationIsPrefixed) {
  EXPECT_EQ(Error(R"(
receivers: {otlp: {}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
)"),
            "receivers::otlp: must specify at least one protocol when using the OTLP receiver");
  EXPECT_EQ(Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {otlp: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp]}}}
)"),
            "exporters::otlp: requires a non-empty \"endpoint\"");
  EXPECT_EQ(Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {debug: {verbosity: loud}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
)"),
            "exporters::debug: unrecognized verbosity level \"loud\" (valid values: basic, normal, "
            "detailed)");
}

TEST(ServiceConfigTest, TypeErrorsNameTheKey) {
  const std::string error = Error(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {otlp: {endpoint: "x:1", timeout: soon}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp]}}}
)");
  EXPECT_EQ(error, "'exporters::otlp::timeout' time: invalid duration \"soon\"");
}

TEST(ServiceConfigTest, TelemetryReaders) {
  auto cfg = Decode(R"(
receivers: {otlp: {protocols: {grpc: }}}
exporters: {debug: {}}
service:
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: 18888
  pipelines: {traces: {receivers: [otlp], exporters: [debug]}}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->telemetry.metrics_address, "127.0.0.1:18888");
  EXPECT_EQ(cfg->telemetry.metrics_level, "detailed");
}

}  // namespace
}  // namespace sprout::collector
