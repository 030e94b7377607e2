'use strict';
// Round trip: JS SDK → collector A (otlp receiver → otlp exporter) → collector B (otlp receiver
// → debug exporter, detailed). Everything the SDK sent must come out of B field by field.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const api = require('@opentelemetry/api');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const {
  Collector,
  debugResources,
  formatDebugTimestamp,
  freePorts,
  hrTimeToNanos,
  makeTempDir,
} = require('./lib/sprout');
const { sdkFor } = require('./lib/otel');

const { SpanKind, SpanStatusCode, TraceFlags, ValueType } = api;

// ---------------------------------------------------------------------------------------------
// Collectors

let a;
let b;
let aPorts;

function collectorConfig({ grpc, http, metrics, exporters, pipelineExporters }) {
  const pipeline = { receivers: ['otlp'], exporters: pipelineExporters };
  return {
    receivers: {
      otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpc}` }, http: { endpoint: `127.0.0.1:${http}` } } },
    },
    exporters,
    service: {
      telemetry: { metrics: { address: `127.0.0.1:${metrics}` } },
      pipelines: { traces: pipeline, metrics: pipeline, logs: pipeline },
    },
  };
}

before(async () => {
  const [bGrpc, bHttp, bMetrics, aGrpc, aHttp, aMetrics] = await freePorts(6);
  const dir = makeTempDir('sprout-roundtrip-');
  b = new Collector(
    collectorConfig({
      grpc: bGrpc,
      http: bHttp,
      metrics: bMetrics,
      exporters: { debug: { verbosity: 'detailed' } },
      pipelineExporters: ['debug'],
    }),
    { name: 'collector-b', dir },
  );
  a = new Collector(
    collectorConfig({
      grpc: aGrpc,
      http: aHttp,
      metrics: aMetrics,
      exporters: { otlp: { endpoint: `127.0.0.1:${bGrpc}`, tls: { insecure: true } } },
      pipelineExporters: ['otlp'],
    }),
    { name: 'collector-a', dir },
  );
  await b.start();
  await a.start();
  aPorts = { grpc: aGrpc, http: aHttp };
});

after(async () => {
  await Promise.all([a && a.kill(), b && b.kill()]);
});

// ---------------------------------------------------------------------------------------------
// Expected encodings

// How the OTLP JS transformer encodes a JS attribute value, in the debug exporter's terms.
function expectedValue(v) {
  if (typeof v === 'string') return { type: 'Str', value: v };
  if (typeof v === 'boolean') return { type: 'Bool', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'Int', value: v } : { type: 'Double', value: v };
  if (Array.isArray(v)) return { type: 'Slice', value: v };
  if (v instanceof Uint8Array) return { type: 'Bytes', value: Buffer.from(v) };
  return { type: 'Map', value: v };
}

function assertAttributes(actual, expected, where) {
  const want = Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, expectedValue(v)]));
  assert.deepStrictEqual(actual, want, `${where}: attributes differ`);
}

const KIND_NAMES = {
  [SpanKind.INTERNAL]: 'Internal',
  [SpanKind.SERVER]: 'Server',
  [SpanKind.CLIENT]: 'Client',
  [SpanKind.PRODUCER]: 'Producer',
  [SpanKind.CONSUMER]: 'Consumer',
};
const STATUS_NAMES = { [SpanStatusCode.UNSET]: 'Unset', [SpanStatusCode.OK]: 'Ok', [SpanStatusCode.ERROR]: 'Error' };

const RESOURCE_SCHEMA_URL = 'https://opentelemetry.io/schemas/1.25.0';
const SPAN_LIMITS = { attributeCountLimit: 20, eventCountLimit: 3, linkCountLimit: 3 };

const ALL_TYPES = {
  'str': 'hello wörld ✓',
  'str.empty': '',
  'int': 42,
  'int.zero': 0,
  'int.negative': -17,
  'int.max_safe': Number.MAX_SAFE_INTEGER,
  'int.min_safe': Number.MIN_SAFE_INTEGER,
  'double': 3.14159,
  'double.negative': -0.5,
  'double.tiny': 0.000123,
  'bool.true': true,
  'bool.false': false,
  'array.str': ['a', 'b c', ''],
  'array.int': [1, -2, 300000],
  'array.bool': [true, false, true],
  'array.double': [1.5, -2.25],
};

// Resource of one test run: every attribute type, plus the transport and a unique run id that
// let each test find its own data in B's output.
function resourceAttributes(transport, runId) {
  return {
    'service.name': 'e2e-roundtrip',
    'service.version': '1.2.3',
    'test.transport': transport,
    'test.run_id': runId,
    'host.cpu.count': 8,
    'deployment.ratio': 0.75,
    'feature.enabled': true,
    'team.members': ['ann', 'bob', 'cy'],
  };
}

function findResources(signal, runId) {
  return debugResources(b.logs(), signal).filter(
    (r) => r.attributes['test.run_id'] && r.attributes['test.run_id'].value === runId,
  );
}

// Waits until B wrote at least `count` items of `signal` for this run; returns its resources.
async function waitForItems(signal, runId, count, itemsOf) {
  return b.waitForLogs(
    () => {
      const resources = findResources(signal, runId);
      const n = resources.reduce((sum, r) => sum + itemsOf(r).length, 0);
      return n >= count ? resources : null;
    },
    { timeoutMs: 15000, describe: `${count} ${signal} items of run ${runId} in collector B` },
  );
}

const spansOf = (r) => r.scopes.flatMap((s) => s.items);

// ---------------------------------------------------------------------------------------------
// Traces

function randomHex(bytes) {
  return crypto.randomBytes(bytes).toString('hex');
}

function sendTraces(sdk) {
  const frontend = sdk.tracerProvider.getTracer('e2e-frontend', '1.0.0', {
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  });
  const worker = sdk.tracerProvider.getTracer('e2e-worker', '2.0.0');

  // A remote parent with a trace state, as if propagated in from another service.
  const remote = {
    traceId: randomHex(16),
    spanId: randomHex(8),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: api.createTraceState('vendor1=alpha,vendor2=beta'),
  };
  const remoteCtx = api.trace.setSpanContext(api.ROOT_CONTEXT, remote);

  const spans = {};
  const expect = {};

  // Server span, child of the remote parent; explicit nanosecond timestamps.
  const serverStart = [1767323045, 123456789];
  const serverEnd = [1767323045, 987654321];
  spans.server = frontend.startSpan(
    'GET /checkout',
    { kind: SpanKind.SERVER, attributes: ALL_TYPES, startTime: serverStart },
    remoteCtx,
  );
  spans.server.setStatus({ code: SpanStatusCode.OK });
  expect.server = { parent: remote.spanId, attributes: ALL_TYPES, status: ['Ok', ''], events: [], links: [], traceState: 'vendor1=alpha,vendor2=beta' };
  const serverCtx = api.trace.setSpan(remoteCtx, spans.server);

  // Client span with an error status and events.
  const clientAttributes = { 'db.system': 'postgresql', 'db.rows': -1, 'db.latency_ratio': 1.25, 'db.cached': false };
  spans.client = frontend.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: clientAttributes }, serverCtx);
  spans.client.addEvent('retry', { attempt: 2, 'backoff.ms': 12.5, final: false, hosts: ['db1', 'db2'] });
  spans.client.addEvent('gave up');
  spans.client.setStatus({ code: SpanStatusCode.ERROR, message: 'db timeout after 3 attempts' });
  spans.client.end();
  expect.client = {
    parent: () => spans.server.spanContext().spanId,
    attributes: clientAttributes,
    status: ['Error', 'db timeout after 3 attempts'],
    events: [
      { name: 'retry', attributes: { attempt: 2, 'backoff.ms': 12.5, final: false, hosts: ['db1', 'db2'] } },
      { name: 'gave up', attributes: {} },
    ],
    links: [],
    traceState: 'vendor1=alpha,vendor2=beta',
  };

  // Producer span.
  spans.producer = frontend.startSpan('orders publish', { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'kafka', 'messaging.batch.message_count': 3 } }, serverCtx);
  spans.producer.end();
  spans.server.end(serverEnd);
  expect.producer = {
    parent: () => spans.server.spanContext().spanId,
    attributes: { 'messaging.system': 'kafka', 'messaging.batch.message_count': 3 },
    status: ['Unset', ''],
    events: [],
    links: [],
    traceState: 'vendor1=alpha,vendor2=beta',
  };

  // Consumer span in a new trace, linked to the producer and to the remote span.
  const linkAttributes = { 'link.kind': 'follows_from', 'link.count': 7, 'link.weight': 0.5, 'link.sampled': true, 'link.tags': ['x', 'y'] };
  spans.consumer = worker.startSpan(
    'orders process',
    {
      kind: SpanKind.CONSUMER,
      attributes: { 'messaging.operation': 'process' },
      links: [{ context: spans.producer.spanContext(), attributes: linkAttributes }, { context: remote }],
    },
    api.ROOT_CONTEXT,
  );
  expect.consumer = {
    parent: '',
    attributes: { 'messaging.operation': 'process' },
    status: ['Unset', ''],
    events: [],
    links: [
      { traceId: () => spans.producer.spanContext().traceId, spanId: () => spans.producer.spanContext().spanId, traceState: 'vendor1=alpha,vendor2=beta', attributes: linkAttributes },
      { traceId: remote.traceId, spanId: remote.spanId, traceState: 'vendor1=alpha,vendor2=beta', attributes: {} },
    ],
    traceState: '',
  };

  // Internal child of the consumer, with an event carrying array attributes.
  spans.internal = worker.startSpan(
    'compute totals',
    { kind: SpanKind.INTERNAL, attributes: { 'items': [3, 1, 2], 'currency': 'EUR' } },
    api.trace.setSpan(api.ROOT_CONTEXT, spans.consumer),
  );
  spans.internal.addEvent('checkpoint', { 'flags': [false, true], 'ratio': -3.75, 'label': 'half' });
  spans.internal.setStatus({ code: SpanStatusCode.ERROR, message: 'überlauf: total > 1e9' });
  spans.internal.end();

  // A span over the SDK's limits (see SPAN_LIMITS): what the SDK dropped is counted, and the
  // counts travel with the span.
  const many = Object.fromEntries(Array.from({ length: SPAN_LIMITS.attributeCountLimit + 5 }, (_, i) => [`attr.${String(i).padStart(2, '0')}`, i]));
  const links = Array.from({ length: SPAN_LIMITS.linkCountLimit + 1 }, (_, i) => ({
    context: { traceId: randomHex(16), spanId: randomHex(8), traceFlags: TraceFlags.NONE },
    attributes: { 'link.index': i },
  }));
  spans.overflow = worker.startSpan('overflowing', { kind: SpanKind.INTERNAL, attributes: many, links }, api.trace.setSpan(api.ROOT_CONTEXT, spans.consumer));
  for (let i = 0; i < SPAN_LIMITS.eventCountLimit + 2; i++) spans.overflow.addEvent(`event-${i}`, { 'event.index': i });
  spans.overflow.end();
  spans.consumer.end();
  // What the SDK kept is read back from the span itself.
  expect.overflow = {
    parent: () => spans.consumer.spanContext().spanId,
    attributes: spans.overflow.attributes,
    status: ['Unset', ''],
    events: spans.overflow.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    links: spans.overflow.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, traceState: '', attributes: l.attributes })),
    traceState: '',
    dropped: { attributes: '5', events: '2', links: '1' },
  };
  assert.equal(Object.keys(spans.overflow.attributes).length, SPAN_LIMITS.attributeCountLimit, 'the SDK applied its limits');
  expect.internal = {
    parent: () => spans.consumer.spanContext().spanId,
    attributes: { 'items': [3, 1, 2], 'currency': 'EUR' },
    status: ['Error', 'überlauf: total > 1e9'],
    events: [{ name: 'checkpoint', attributes: { 'flags': [false, true], 'ratio': -3.75, 'label': 'half' } }],
    links: [],
    traceState: '',
  };

  const scopes = { server: 'e2e-frontend', client: 'e2e-frontend', producer: 'e2e-frontend', consumer: 'e2e-worker', internal: 'e2e-worker', overflow: 'e2e-worker' };
  return { spans, expect, scopes };
}

const resolve = (v) => (typeof v === 'function' ? v() : v);

async function checkTraces(sdk, runId, sent, transport) {
  const resources = await waitForItems('traces', runId, 6, spansOf);
  // Every resource B printed for this run carries exactly the resource the SDK sent.
  for (const r of resources) {
    assertAttributes(r.attributes, resourceAttributes(transport, runId), 'resource');
    assert.equal(r.schemaUrl, RESOURCE_SCHEMA_URL, 'resource schema URL');
  }
  const all = resources.flatMap((r) => r.scopes.flatMap((s) => s.items.map((span) => ({ span, scope: s }))));
  assert.equal(all.length, 6, `expected exactly 6 spans, got ${all.length}: ${all.map((x) => x.span.name)}`);

  const scopeInfo = {
    'e2e-frontend': { version: '1.0.0', schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
    'e2e-worker': { version: '2.0.0', schemaUrl: '' },
  };
  for (const [key, span] of Object.entries(sent.spans)) {
    const ctx = span.spanContext();
    const want = sent.expect[key];
    const matches = all.filter((x) => x.span.id === ctx.spanId);
    assert.equal(matches.length, 1, `span ${span.name} (${ctx.spanId}) arrived ${matches.length} times`);
    const { span: got, scope } = matches[0];
    const where = `span ${span.name}`;
    assert.equal(got.name, span.name, `${where}: name`);
    assert.equal(got.traceId, ctx.traceId, `${where}: trace id`);
    assert.equal(got.parentId, resolve(want.parent), `${where}: parent id`);
    assert.equal(got.kind, KIND_NAMES[span.kind], `${where}: kind`);
    assert.equal(got.traceState, want.traceState, `${where}: trace state`);
    assert.equal(got.statusCode, want.status[0], `${where}: status code`);
    assert.equal(got.statusCode, STATUS_NAMES[span.status.code], `${where}: status code vs SDK`);
    assert.equal(got.statusMessage, want.status[1], `${where}: status message`);
    assert.equal(got.startTime, formatDebugTimestamp(hrTimeToNanos(span.startTime)), `${where}: start time`);
    assert.equal(got.endTime, formatDebugTimestamp(hrTimeToNanos(span.endTime)), `${where}: end time`);
    const dropped = want.dropped || { attributes: '0', events: '0', links: '0' };
    assert.equal(got.droppedAttributesCount, dropped.attributes, `${where}: dropped attributes`);
    assert.equal(got.droppedEventsCount, dropped.events, `${where}: dropped events`);
    assert.equal(got.droppedLinksCount, dropped.links, `${where}: dropped links`);
    assertAttributes(got.attributes, want.attributes, where);

    assert.equal(got.events.length, want.events.length, `${where}: number of events`);
    want.events.forEach((we, i) => {
      const ge = got.events[i];
      assert.equal(ge.name, we.name, `${where}: event ${i} name`);
      assert.equal(ge.timestamp, formatDebugTimestamp(hrTimeToNanos(span.events[i].time)), `${where}: event ${i} time`);
      assertAttributes(ge.attributes, we.attributes, `${where}: event ${we.name}`);
    });

    assert.equal(got.links.length, want.links.length, `${where}: number of links`);
    want.links.forEach((wl, i) => {
      const gl = got.links[i];
      assert.equal(gl.traceId, resolve(wl.traceId), `${where}: link ${i} trace id`);
      assert.equal(gl.id, resolve(wl.spanId), `${where}: link ${i} span id`);
      assert.equal(gl.traceState, wl.traceState, `${where}: link ${i} trace state`);
      assertAttributes(gl.attributes, wl.attributes, `${where}: link ${i}`);
    });

    const tracerName = sent.scopes[key];
    assert.equal(scope.name, tracerName, `${where}: scope (tracer) name`);
    assert.equal(scope.version, scopeInfo[scope.name].version, `${where}: scope version`);
    assert.equal(scope.schemaUrl, scopeInfo[scope.name].schemaUrl, `${where}: scope schema URL`);
  }
  // The parent/child structure: the client and producer share the server's trace; the internal
  // span is in the consumer's trace, which is a different one.
  assert.equal(sent.spans.client.spanContext().traceId, sent.spans.server.spanContext().traceId);
  assert.notEqual(sent.spans.consumer.spanContext().traceId, sent.spans.server.spanContext().traceId);
  assert.ok(
    all.find((x) => x.span.id === sent.spans.consumer.spanContext().spanId).scope.name === 'e2e-worker' &&
      all.find((x) => x.span.id === sent.spans.server.spanContext().spanId).scope.name === 'e2e-frontend',
    'spans are grouped under the tracer (scope) that created them',
  );
}

// ---------------------------------------------------------------------------------------------
// Metrics

function recordMetrics(sdk) {
  const meter = sdk.meterProvider.getMeter('e2e-meter', '0.3.0');
  const counter = meter.createCounter('e2e.requests', { description: 'Requests handled', unit: '{request}', valueType: ValueType.INT });
  counter.add(5, { route: '/a', ok: true });
  counter.add(3, { route: '/a', ok: true });
  counter.add(2, { route: '/b', ok: false });

  const depth = meter.createUpDownCounter('e2e.queue.depth', { description: 'Items waiting', valueType: ValueType.INT });
  depth.add(10, { queue: 'q1' });
  depth.add(-14, { queue: 'q1' });

  const latency = meter.createHistogram('e2e.latency', {
    description: 'Request latency',
    unit: 'ms',
    advice: { explicitBucketBoundaries: [10, 100, 1000] },
  });
  for (const v of [5, 50, 50.5, 500, 5000]) latency.record(v, { route: '/a' });

  const temperature = meter.createGauge('e2e.temperature', { description: 'Room temperature', unit: 'Cel' });
  temperature.record(21.5, { room: 'lab', floor: 2 });

  const workers = meter.createGauge('e2e.workers', { valueType: ValueType.INT });
  workers.record(7, { pool: 'main' });
}

async function checkMetrics(runId, transport) {
  const metricsOf = (r) => r.scopes.flatMap((s) => s.items);
  const resources = await waitForItems('metrics', runId, 5, metricsOf);
  for (const r of resources) {
    assertAttributes(r.attributes, resourceAttributes(transport, runId), 'metrics resource');
    assert.equal(r.schemaUrl, RESOURCE_SCHEMA_URL, 'metrics resource schema URL');
  }
  const scopes = resources.flatMap((r) => r.scopes);
  for (const s of scopes) {
    assert.equal(s.name, 'e2e-meter', 'meter name');
    assert.equal(s.version, '0.3.0', 'meter version');
  }
  const metrics = Object.fromEntries(scopes.flatMap((s) => s.items).map((m) => [m.name, m]));
  assert.deepEqual(Object.keys(metrics).sort(), ['e2e.latency', 'e2e.queue.depth', 'e2e.requests', 'e2e.temperature', 'e2e.workers']);

  const byAttrs = (m) => Object.fromEntries(m.points.map((p) => [JSON.stringify(p.attributes), p]));
  const key = (attrs) =>
    JSON.stringify(Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, expectedValue(v)])));

  const requests = metrics['e2e.requests'];
  assert.equal(requests.description, 'Requests handled');
  assert.equal(requests.unit, '{request}');
  assert.equal(requests.dataType, 'Sum');
  assert.equal(requests.isMonotonic, 'true');
  assert.equal(requests.aggregationTemporality, 'Cumulative');
  assert.equal(requests.points.length, 2);
  const rp = byAttrs(requests);
  assert.equal(rp[key({ route: '/a', ok: true })]?.value, '8', 'counter /a value');
  assert.equal(rp[key({ route: '/b', ok: false })]?.value, '2', 'counter /b value');
  assert.equal(requests.points[0].kind, 'Number');

  const depth = metrics['e2e.queue.depth'];
  assert.equal(depth.dataType, 'Sum');
  assert.equal(depth.isMonotonic, 'false');
  assert.equal(depth.description, 'Items waiting');
  assert.equal(depth.points.length, 1);
  assert.equal(byAttrs(depth)[key({ queue: 'q1' })]?.value, '-4', 'up-down counter value');

  const latency = metrics['e2e.latency'];
  assert.equal(latency.dataType, 'Histogram');
  assert.equal(latency.unit, 'ms');
  assert.equal(latency.aggregationTemporality, 'Cumulative');
  assert.equal(latency.points.length, 1);
  const hp = byAttrs(latency)[key({ route: '/a' })];
  assert.ok(hp, 'histogram point with route=/a');
  assert.equal(hp.kind, 'Histogram');
  assert.equal(hp.count, '5');
  assert.equal(hp.sum, '5605.500000');
  assert.equal(hp.min, '5.000000');
  assert.equal(hp.max, '5000.000000');
  assert.deepEqual(hp.explicitBounds, [10, 100, 1000]);
  assert.deepEqual(hp.bucketCounts, [1, 2, 1, 1]);

  const temperature = metrics['e2e.temperature'];
  assert.equal(temperature.dataType, 'Gauge');
  assert.equal(temperature.unit, 'Cel');
  assert.equal(byAttrs(temperature)[key({ room: 'lab', floor: 2 })]?.value, '21.500000', 'double gauge value');

  const workers = metrics['e2e.workers'];
  assert.equal(workers.dataType, 'Gauge');
  assert.equal(byAttrs(workers)[key({ pool: 'main' })]?.value, '7', 'int gauge value');

  for (const m of Object.values(metrics)) {
    for (const p of m.points) {
      assert.match(p.timestamp, /^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/, `${m.name}: timestamp`);
      assert.match(p.startTimestamp, /^20\d\d-/, `${m.name}: start timestamp`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Logs

function emitLogs(sdk, spanContext) {
  const logger = sdk.loggerProvider.getLogger('e2e-logger', '0.2.0');
  const ctx = api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext);
  logger.emit({
    timestamp: [1767323045, 678901234],
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body: 'disk almost full',
    attributes: { 'disk.path': '/var', 'disk.free_pct': 3.5, 'disk.id': 12, 'alert': true, 'tags': ['a', 'b'] },
    context: ctx,
  });
  logger.emit({
    timestamp: [1767323046, 0],
    severityNumber: SeverityNumber.ERROR2,
    severityText: 'ERROR2',
    eventName: 'order.failed',
    body: { code: 500, reason: 'boom', nested: { x: 1.5, ok: false } },
    attributes: { 'payload': new Uint8Array([1, 2, 3, 250]) },
  });
}

async function checkLogs(runId, transport, spanContext) {
  const recordsOf = (r) => r.scopes.flatMap((s) => s.items);
  const resources = await waitForItems('logs', runId, 2, recordsOf);
  for (const r of resources) {
    assertAttributes(r.attributes, resourceAttributes(transport, runId), 'logs resource');
    assert.equal(r.schemaUrl, RESOURCE_SCHEMA_URL, 'logs resource schema URL');
  }
  const scopes = resources.flatMap((r) => r.scopes);
  for (const s of scopes) {
    assert.equal(s.name, 'e2e-logger');
    assert.equal(s.version, '0.2.0');
  }
  const records = scopes.flatMap((s) => s.items);
  assert.equal(records.length, 2, 'exactly two log records');

  const warn = records.find((r) => r.severityText === 'WARN');
  assert.ok(warn, 'WARN record arrived');
  assert.equal(warn.severityNumber, 'Warn(13)');
  assert.deepEqual(warn.body, { type: 'Str', value: 'disk almost full' });
  assert.equal(warn.timestamp, '2026-01-02 03:04:05.678901234 +0000 UTC');
  assert.match(warn.observedTimestamp, /^20\d\d-/);
  assertAttributes(warn.attributes, { 'disk.path': '/var', 'disk.free_pct': 3.5, 'disk.id': 12, 'alert': true, 'tags': ['a', 'b'] }, 'WARN record');
  assert.equal(warn.traceId, spanContext.traceId, 'log record trace id');
  assert.equal(warn.spanId, spanContext.spanId, 'log record span id');
  assert.equal(warn.flags, '1', 'log record flags (sampled)');
  assert.equal(warn.eventName, undefined);

  const error = records.find((r) => r.severityText === 'ERROR2');
  assert.ok(error, 'ERROR2 record arrived');
  assert.equal(error.severityNumber, 'Error2(18)');
  assert.equal(error.eventName, 'order.failed');
  assert.equal(error.timestamp, '2026-01-02 03:04:06 +0000 UTC');
  assert.deepEqual(error.body, { type: 'Map', value: { code: 500, nested: { ok: false, x: 1.5 }, reason: 'boom' } });
  assertAttributes(error.attributes, { 'payload': new Uint8Array([1, 2, 3, 250]) }, 'ERROR2 record');
  assert.equal(error.traceId, '');
  assert.equal(error.spanId, '');
}

// ---------------------------------------------------------------------------------------------

for (const transport of ['grpc', 'http/protobuf', 'http/json']) {
  describe(`round trip over ${transport}`, () => {
    it('delivers traces, metrics and logs intact through A to B', async () => {
      const runId = crypto.randomUUID();
      const sdk = sdkFor(transport, aPorts, resourceAttributes(transport, runId), {
        resourceSchemaUrl: RESOURCE_SCHEMA_URL,
        spanLimits: SPAN_LIMITS,
      });
      try {
        const sent = sendTraces(sdk);
        recordMetrics(sdk);
        emitLogs(sdk, sent.spans.client.spanContext());
        await Promise.all([sdk.tracerProvider.forceFlush(), sdk.meterProvider.forceFlush(), sdk.loggerProvider.forceFlush()]);

        const failed = sdk.failures();
        assert.deepEqual(failed, { traces: [], metrics: [], logs: [] }, 'every SDK export succeeded');
        assert.ok(sdk.results.traces.length >= 1 && sdk.results.metrics.length >= 1 && sdk.results.logs.length >= 1, 'each signal was exported');

        await checkTraces(sdk, runId, sent, transport);
        await checkMetrics(runId, transport);
        await checkLogs(runId, transport, sent.spans.client.spanContext());
      } finally {
        await sdk.shutdown();
      }
    });
  });
}
