// A pinned, realistic span corpus for the trace store's benchmarks (bench/run_traces_bench.sh).
//
// TracesCorpus(options) yields OTLP ExportTraceServiceRequest batches of whole traces, the same
// bytes for the same options on every run and machine (its own PRNG and distributions, no
// std:: distributions, whose output is implementation-defined). The shape of the data:
//
// - 24 services (frontend, api-gateway, checkout, payment, ... ; 2–4 pods each), each span's
//   resource: service.name, service.namespace, service.version, service.instance.id,
//   deployment.environment, host.name, k8s.namespace.name, k8s.pod.name, k8s.node.name,
//   telemetry.sdk.{name,language,version}; one ResourceSpans (one ScopeSpans with the
//   instrumentation library of that service's language) per pod present in a batch.
// - Traces of 1–40 spans (mean ≈ 10): a root SERVER span (an HTTP route of its service), and
//   under server/consumer/internal spans: HTTP calls (a CLIENT span and the callee's SERVER span
//   in another service), database CLIENT spans (postgresql/mysql with SQL texts whose literals
//   vary, redis commands with keys), messaging PRODUCER spans with the CONSUMER span of another
//   service under them, and INTERNAL spans. Children lie inside their parent's interval (a
//   consumer starts after its producer ends); span durations are log-normal.
// - ≈ 8 attributes per span, with real-world cardinalities: http.request.method,
//   http.route (61 distinct routes), http.response.status_code (mostly 200; some
//   201/204/302/4xx/5xx), url.full / url.path with ids, user_agent.original (≈ 30 strings),
//   client.address, server.address / server.port, network.protocol.version, db.system, db.name,
//   db.statement, db.operation, db.sql.table, messaging.system, messaging.destination.name,
//   messaging.operation, messaging.kafka.message.key, code.function, ... Services whose SDK
//   language is nodejs/python/ruby/php use the older names (http.method, http.status_code,
//   http.url, http.target, net.peer.name), the others the current ones.
// - Events: exception events (type, message, stack trace text) on error spans, a few log-like
//   events elsewhere; links: every consumer span links to its producer's context, and a few
//   server spans link to a span of an earlier trace.
// - Random 16-byte trace IDs and 8-byte span IDs. Trace i's ID is TraceId(seed, i), so a query
//   client can sample IDs of a sent corpus without generating it.
// - Timing: trace i starts at start_time_unix_nano + i * trace_interval_nanos (+ jitter).
//
// The mean is ≈ 400 bytes of OTLP protobuf per span (traces_corpus_test pins the statistics).
//
// Thread-compatibility: one TracesCorpus per thread; batches come out in corpus order.
#pragma once

#include <cstdint>
#include <string>

#include "otlp/signal.h"

namespace sprout::bench {

struct TracesCorpusOptions {
  uint64_t seed = 1;
  // Start of trace 0 (Unix ns); 0 means 2026-01-01T00:00:00Z.
  uint64_t start_time_unix_nano = 0;
  // Distance between consecutive traces' start times (corpus time, ns): 100 µs.
  uint64_t trace_interval_nanos = 100'000;
};

class TracesCorpus {
 public:
  explicit TracesCorpus(const TracesCorpusOptions& options);
  ~TracesCorpus();
  TracesCorpus(const TracesCorpus&) = delete;
  TracesCorpus& operator=(const TracesCorpus&) = delete;

  // The next whole traces of the corpus, at least `min_spans` spans (the last trace may take
  // the batch past it, by at most 39 spans), grouped by resource (pod) and scope.
  void NextBatch(int min_spans, otlp::pb::trace_service::ExportTraceServiceRequest* request);

  int64_t traces() const { return traces_; }  // traces generated so far
  int64_t spans() const { return spans_; }    // spans generated so far

  // The 16-byte ID of trace `index` (0-based, in corpus order) of the corpus with `seed`.
  static std::string TraceId(uint64_t seed, uint64_t index);

  // Values a search benchmark can ask for (each occurs in the corpus).
  static int ServiceCount();
  static std::string ServiceName(int i);

 private:
  struct Impl;
  Impl* impl_;
  int64_t traces_ = 0;
  int64_t spans_ = 0;
};

// FNV-1a 64 of a byte string (the unit test pins the corpus with it).
uint64_t Fnv1a64(const std::string& bytes, uint64_t hash = 0xcbf29ce484222325ULL);

}  // namespace sprout::bench
