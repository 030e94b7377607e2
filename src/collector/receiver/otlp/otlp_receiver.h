// The `otlp` receiver: OTLP over gRPC (the three Export services) and over HTTP (POST
// /v1/traces, /v1/metrics, /v1/logs with protobuf or JSON bodies), feeding the pipelines.
//
// One instance per configuration entry serves every pipeline that names it. A signal without a
// pipeline is not served (gRPC UNIMPLEMENTED, HTTP 404), as in the Collector. Responses and
// error codes follow the Collector (reference §2.2–2.3).
//
// Thread-safety: requests are handled concurrently on the gRPC and HTTP server threads.
#pragma once

#include <memory>

#include "collector/factory.h"

namespace sprout::collector::otlpreceiver {

std::unique_ptr<ReceiverFactory> NewFactory();

// The TCP ports a started otlp receiver listens on (its endpoints may say port 0, so that the
// system picks a free one); 0 for a protocol that is off, and for any other component.
struct ListeningPorts {
  int grpc = 0;
  int http = 0;
};
ListeningPorts PortsOf(const Component& receiver);

}  // namespace sprout::collector::otlpreceiver
