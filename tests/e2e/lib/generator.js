'use strict';
// The metrics-generator e2e test's workload (generator_prometheus.test.js): a three-service
// topology sent with the JS SDK, and every series the generator must make of it, written down
// from the topology and the rules of the shared Tempo reference (tempo.md §4.2, §4.3), never
// from sprout's output.
//
// Request i (0..9) of the topology, durations in ms from REQUESTS[i]:
//   frontend  SERVER   `GET /shop`          root, R = S + 20, ERROR when i ∈ {3, 7}
//   frontend  CLIENT   `GET /api/cart`      child of the root, C = S + 10
//   api       SERVER   `GET /api/cart`      child of frontend's client span, S, ERROR when i ∈ {3, 7}
//   api       CLIENT   `SELECT shop.items`  db.system=postgresql, db.name=shop: D, ERROR when i = 5
//   api       PRODUCER `orders publish`     messaging.system=kafka, P            (i even)
//   worker    CONSUMER `orders process`     child of the producer span, K        (i even)
//   api       CLIENT   `POST /charge`       peer.service=payments, Y, no server  (i % 3 = 0)
// which makes the edges (client → server, connection_type):
//   user → frontend      virtual_node      (a root server span without a client, after `wait`)
//   frontend → api       (none: a plain client/server pair has no connection_type label)
//   api → shop           database          (server name: the first database attribute found,
//                                           db.name, since the span has no peer.service,
//                                           server.address or network.peer.address)
//   api → worker         messaging_system
//   api → payments       virtual_node      (a client span with peer.service and no server)
// Latencies are chosen away from every bucket bound of both bucket lists, so that which bucket a
// span falls in never depends on rounding.

const api = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');

// Tempo's buckets (reference §4.3 and §4.2).
const SPAN_METRICS_BUCKETS = [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
  2.048, 4.096, 8.192, 16.384];
const SERVICE_GRAPH_BUCKETS = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];

// S: api's server span; D: the database call; P/K: producer/consumer (i even); Y: the call to
// payments (i % 3 = 0). Milliseconds.
const S = [40, 120, 260, 550, 900, 70, 185, 1400, 3000, 95];
const D = [3, 7, 15, 30, 60, 50, 110, 5, 10, 20];
const P = [3, null, 6, null, 11, null, 25, null, 45, null];
const K = [9, null, 33, null, 70, null, 130, null, 600, null];
const Y = [30, null, null, 350, null, null, 150, null, null, 85];
const REQUESTS = S.map((s, i) => ({
  i,
  phase: i < 5 ? 1 : 2,
  root: s + 20,
  feClient: s + 10,
  apiServer: s,
  db: D[i],
  producer: P[i],
  consumer: K[i],
  payments: Y[i],
  error: i === 3 || i === 7,
  dbError: i === 5,
}));

const MS = 1000000n;
const hr = (ns) => [Number(ns / 1000000000n), Number(ns % 1000000000n)];

// One SDK (BasicTracerProvider, OTLP/HTTP protobuf exporter, batch processor flushed by hand) per
// service; `headers` on every export (X-Scope-OrgID).
function serviceSdk(httpPort, serviceName, { headers } = {}) {
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces`, timeoutMillis: 10000, headers });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, {
      scheduledDelayMillis: 600000, maxExportBatchSize: 10000, maxQueueSize: 10000,
    })],
  });
  return { provider, tracer: provider.getTracer('sprout-e2e-generator') };
}

function makeSdks(httpPort) {
  return {
    frontend: serviceSdk(httpPort, 'frontend'),
    api: serviceSdk(httpPort, 'api'),
    worker: serviceSdk(httpPort, 'worker'),
  };
}

// A span with explicit start and duration (BigInt ns); `parent` a span or null (a root).
function spanAt(sdk, name, kind, startNs, durationMs, { parent = null, attributes = {}, error = false } = {}) {
  const ctx = parent ? api.trace.setSpan(api.ROOT_CONTEXT, parent) : api.ROOT_CONTEXT;
  const span = sdk.tracer.startSpan(name, { kind, attributes, startTime: hr(startNs) }, ctx);
  if (error) span.setStatus({ code: api.SpanStatusCode.ERROR, message: 'failed' });
  const endNs = startNs + BigInt(durationMs) * MS;
  span.end(hr(endNs));
  return { span, endNs };
}

// Sends the requests of `phase` (every span ends at most ~1 s from now, inside the generator's
// ingestion slack) and flushes each SDK; returns [{i, traceId (hex), spans: [{service, name,
// kind, status, durationMs}]}].
async function sendPhase(sdks, phase) {
  const sent = [];
  const nowNs = BigInt(Date.now()) * MS;
  for (const r of REQUESTS.filter((q) => q.phase === phase)) {
    const t0 = nowNs - BigInt(r.root + 50) * MS; // the root ends 50 ms before now
    const spans = [];
    const rec = (service, name, kind, durationMs, status = 'STATUS_CODE_UNSET') =>
      spans.push({ service, name, kind, durationMs, status });
    const root = spanAt(sdks.frontend, 'GET /shop', api.SpanKind.SERVER, t0, r.root,
      { attributes: { 'http.request.method': 'GET', 'http.route': '/shop' }, error: r.error });
    rec('frontend', 'GET /shop', 'SPAN_KIND_SERVER', r.root, r.error ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET');
    const feClient = spanAt(sdks.frontend, 'GET /api/cart', api.SpanKind.CLIENT, t0 + 5n * MS, r.feClient,
      { parent: root.span, attributes: { 'http.request.method': 'GET' } });
    rec('frontend', 'GET /api/cart', 'SPAN_KIND_CLIENT', r.feClient);
    const apiServer = spanAt(sdks.api, 'GET /api/cart', api.SpanKind.SERVER, t0 + 10n * MS, r.apiServer,
      { parent: feClient.span, attributes: { 'http.request.method': 'GET', 'http.route': '/api/cart' }, error: r.error });
    rec('api', 'GET /api/cart', 'SPAN_KIND_SERVER', r.apiServer, r.error ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET');
    spanAt(sdks.api, 'SELECT shop.items', api.SpanKind.CLIENT, t0 + 12n * MS, r.db,
      { parent: apiServer.span, attributes: { 'db.system': 'postgresql', 'db.name': 'shop' }, error: r.dbError });
    rec('api', 'SELECT shop.items', 'SPAN_KIND_CLIENT', r.db, r.dbError ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET');
    if (r.producer !== null) {
      const producer = spanAt(sdks.api, 'orders publish', api.SpanKind.PRODUCER, t0 + 13n * MS, r.producer,
        { parent: apiServer.span, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } });
      rec('api', 'orders publish', 'SPAN_KIND_PRODUCER', r.producer);
      spanAt(sdks.worker, 'orders process', api.SpanKind.CONSUMER, producer.endNs + 2n * MS, r.consumer,
        { parent: producer.span, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } });
      rec('worker', 'orders process', 'SPAN_KIND_CONSUMER', r.consumer);
    }
    if (r.payments !== null) {
      spanAt(sdks.api, 'POST /charge', api.SpanKind.CLIENT, t0 + 14n * MS, r.payments,
        { parent: apiServer.span, attributes: { 'peer.service': 'payments', 'http.request.method': 'POST' } });
      rec('api', 'POST /charge', 'SPAN_KIND_CLIENT', r.payments);
    }
    sent.push({ i: r.i, traceId: root.span.spanContext().traceId, spans });
  }
  // The server side first, then the clients: the pairing must not depend on the order.
  for (const name of ['worker', 'api', 'frontend']) await sdks[name].provider.forceFlush();
  return sent;
}

async function shutdownSdks(sdks) {
  await Promise.allSettled(Object.values(sdks).map((s) => s.provider.shutdown()));
}

// ---------------------------------------------------------------------------------------------
// Expected series

const sec = (ms) => ms / 1000;

// The requests' span-metrics groups: key → {labels, durations (s)}. Labels: Tempo's default
// intrinsic dimensions (service, span_name, span_kind, status_code).
function spanMetricsGroups(requests = REQUESTS) {
  const groups = new Map();
  const add = (service, name, kind, ms, error) => {
    const labels = { service, span_name: name, span_kind: kind, status_code: error ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET' };
    const key = JSON.stringify(labels);
    if (!groups.has(key)) groups.set(key, { labels, durations: [] });
    groups.get(key).durations.push(sec(ms));
  };
  for (const r of requests) {
    add('frontend', 'GET /shop', 'SPAN_KIND_SERVER', r.root, r.error);
    add('frontend', 'GET /api/cart', 'SPAN_KIND_CLIENT', r.feClient, false);
    add('api', 'GET /api/cart', 'SPAN_KIND_SERVER', r.apiServer, r.error);
    add('api', 'SELECT shop.items', 'SPAN_KIND_CLIENT', r.db, r.dbError);
    if (r.producer !== null) {
      add('api', 'orders publish', 'SPAN_KIND_PRODUCER', r.producer, false);
      add('worker', 'orders process', 'SPAN_KIND_CONSUMER', r.consumer, false);
    }
    if (r.payments !== null) add('api', 'POST /charge', 'SPAN_KIND_CLIENT', r.payments, false);
  }
  return groups;
}

// The requests' service-graph edges: key "client→server" → {labels, count, failed,
// serverSeconds [], clientSeconds []}. A virtual-node edge observes its missing side as 0 s; a
// database edge's server seconds are its client span's duration.
function serviceGraphEdges(requests = REQUESTS) {
  const edges = new Map();
  const add = (client, server, connectionType, failed, serverMs, clientMs) => {
    const key = `${client}→${server}`;
    if (!edges.has(key)) {
      const labels = { client, server };
      if (connectionType) labels.connection_type = connectionType;
      edges.set(key, { labels, count: 0, failed: 0, serverSeconds: [], clientSeconds: [] });
    }
    const e = edges.get(key);
    e.count += 1;
    if (failed) e.failed += 1;
    e.serverSeconds.push(sec(serverMs));
    e.clientSeconds.push(sec(clientMs));
  };
  for (const r of requests) {
    add('user', 'frontend', 'virtual_node', r.error, r.root, 0);
    add('frontend', 'api', '', r.error, r.apiServer, r.feClient);
    add('api', 'shop', 'database', r.dbError, r.db, r.db);
    if (r.producer !== null) add('api', 'worker', 'messaging_system', false, r.consumer, r.producer);
    if (r.payments !== null) add('api', 'payments', 'virtual_node', false, 0, r.payments);
  }
  return edges;
}

// Cumulative bucket counts [[le text, count], ...] (+Inf last) of `values` over `bounds` (le is
// inclusive).
function cumulativeBuckets(values, bounds) {
  const out = bounds.map((b) => [String(b), values.filter((v) => v <= b).length]);
  out.push(['+Inf', values.length]);
  return out;
}

const sum = (values) => values.reduce((a, b) => a + b, 0);

// Every series the generator must hold after `requests`, with its last value:
// Map(labelKey incl. __name__ → {labels, value}); `value` null where it is not known from the
// topology (traces_spanmetrics_size_total: the spans' protobuf sizes; checked > 0).
function expectedSeries(requests = REQUESTS) {
  const out = [];
  const put = (name, labels, value) => out.push({ labels: { __name__: name, ...labels }, value });
  const histogram = (name, labels, values, bounds) => {
    put(`${name}_count`, labels, values.length);
    put(`${name}_sum`, labels, sum(values));
    for (const [le, n] of cumulativeBuckets(values, bounds)) put(`${name}_bucket`, { ...labels, le }, n);
  };
  for (const g of spanMetricsGroups(requests).values()) {
    put('traces_spanmetrics_calls_total', g.labels, g.durations.length);
    put('traces_spanmetrics_size_total', g.labels, null);
    histogram('traces_spanmetrics_latency', g.labels, g.durations, SPAN_METRICS_BUCKETS);
  }
  for (const e of serviceGraphEdges(requests).values()) {
    put('traces_service_graph_request_total', e.labels, e.count);
    if (e.failed > 0) put('traces_service_graph_request_failed_total', e.labels, e.failed);
    histogram('traces_service_graph_request_server_seconds', e.labels, e.serverSeconds, SERVICE_GRAPH_BUCKETS);
    histogram('traces_service_graph_request_client_seconds', e.labels, e.clientSeconds, SERVICE_GRAPH_BUCKETS);
  }
  return out;
}

// histogram_quantile over cumulative buckets [[le (number or Infinity), count], ...] sorted by
// le, as PromQL defines it: the bucket where the rank q × total falls, linear interpolation
// inside it (from 0 for the first bucket); a rank in the +Inf bucket gives the highest finite
// bound.
function bucketQuantile(q, buckets) {
  const total = buckets[buckets.length - 1][1];
  if (total === 0) return NaN;
  let rank = q * total;
  let b = buckets.findIndex(([, c]) => c >= rank);
  if (b === buckets.length - 1) return buckets[buckets.length - 2][0];
  if (b === 0 && buckets[0][0] <= 0) return buckets[0][0];
  const start = b === 0 ? 0 : buckets[b - 1][0];
  const end = buckets[b][0];
  const below = b === 0 ? 0 : buckets[b - 1][1];
  const count = buckets[b][1] - below;
  rank -= below;
  return start + (end - start) * (rank / count);
}

module.exports = {
  REQUESTS,
  SERVICE_GRAPH_BUCKETS,
  SPAN_METRICS_BUCKETS,
  bucketQuantile,
  cumulativeBuckets,
  expectedSeries,
  makeSdks,
  sendPhase,
  serviceGraphEdges,
  serviceSdk,
  shutdownSdks,
  spanAt,
  spanMetricsGroups,
  sum,
};
