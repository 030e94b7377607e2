// The Collector's component model: IDs, the component lifecycle, and consumers.
//
// A pipeline is a chain of consumers for one signal: receiver → processors → fan-out →
// exporters. Every component is started before data can reach it (exporters, then processors,
// then receivers) and shut down in the reverse order (receivers first, so nothing new arrives
// while queues drain).
//
// Thread-safety: Consume() is called concurrently from receiver threads; every Consumer must be
// thread-safe. Start() and Shutdown() are called once each, from the service's thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "otlp/batch.h"
#include "otlp/consumer.h"
#include "otlp/signal.h"

namespace sprout::collector {

using otlp::Signal;

enum class Kind { kReceiver, kProcessor, kExporter, kExtension, kConnector };

// "receiver", "processor", "exporter", "extension", "connector".
const char* KindName(Kind kind);
// "receivers", ... : the top-level configuration section of a kind.
const char* KindSection(Kind kind);

// `type` or `type/name`. Type: ^[a-zA-Z][0-9a-zA-Z_]{0,62}$; name: at most 1024 characters
// without whitespace, control characters or '/'.
struct ComponentID {
  std::string type;
  std::string name;

  static absl::StatusOr<ComponentID> Parse(std::string_view text);
  std::string String() const { return name.empty() ? type : type + "/" + name; }
  friend bool operator==(const ComponentID& a, const ComponentID& b) {
    return a.type == b.type && a.name == b.name;
  }
  friend bool operator<(const ComponentID& a, const ComponentID& b) {
    return a.type != b.type ? a.type < b.type : a.name < b.name;
  }
};

class Host;

class Component {
 public:
  virtual ~Component() = default;
  // Called once before any data arrives. An error stops the service from starting.
  virtual absl::Status Start(Host& host) { return absl::OkStatus(); }
  // Called on every component when the service begins to shut down, before any Shutdown():
  // work that would outlast `deadline` (retries, for example) should stop by then.
  virtual void PrepareShutdown(absl::Time deadline) {}
  // Called once; must return by `deadline`, dropping (and logging) what it could not finish.
  virtual absl::Status Shutdown(absl::Time deadline) { return absl::OkStatus(); }
};

// Gives components access to the service: extensions (e.g. authenticators) by ID.
class Host {
 public:
  virtual ~Host() = default;
  virtual Component* GetExtension(const ComponentID& id) const = 0;
};

// The consumer interface and context live in otlp/ so that stores can implement them.
using otlp::Consumer;
using otlp::Context;
using otlp::LogsConsumer;
using otlp::MetricsConsumer;
using otlp::TracesConsumer;

// A processor or exporter: a component that consumes one signal.
template <Signal S>
class ConsumerComponent : public Component, public Consumer<S> {};

// The next consumers handed to a receiver, one per signal it feeds (null when unused).
struct ReceiverConsumers {
  std::shared_ptr<TracesConsumer> traces;
  std::shared_ptr<MetricsConsumer> metrics;
  std::shared_ptr<LogsConsumer> logs;
};

}  // namespace sprout::collector
