'use strict';
// The workload and expectations shared by the prometheusremotewrite tests (Prometheus and
// VictoriaMetrics): the real JS SDK sends a counter, an up-down counter, a gauge, an
// explicit-bucket histogram and an exponential histogram, in two phases; between them a
// hand-built OTLP/HTTP protobuf request carries the exemplars (this SDK release has exemplar
// reservoirs in its sources but never records or exports an exemplar, so the data points that
// carry exemplars cannot come from it). The expected Prometheus names and label sets follow the
// Collector's translation (team reference collector.md §10) and are spelled out by hand below;
// the expected values are the cumulative sums of what each phase records.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { AggregationType } = require('@opentelemetry/sdk-metrics');

const { metricsSdkFor } = require('./otel');
const { decodeStatus, encodeMetricsRequest } = require('./proto');
const { byLabels, labelKey } = require('./prom');
const { bucketIndex, expandBuckets, mapEntries, nativeHistogram } = require('./native_histogram');
const { Collector, freePorts, hrTimeToNanos, sleep, waitFor } = require('./sprout');

// ---------------------------------------------------------------------------------------------
// What is sent

const RESOURCE = {
  'service.name': 'checkout',
  'service.namespace': 'shop',
  'service.instance.id': 'checkout-1',
  'deployment.environment': 'e2e',
  'host.name': 'e2e-host',
};
const JOB = 'shop/checkout'; // service.namespace/service.name
const INSTANCE = 'checkout-1'; // service.instance.id

const SDK_SCOPE = { name: 'e2e.prw.meter', version: '1.2.3', schemaUrl: 'https://opentelemetry.io/schemas/1.24.0' };
const HAND_SCOPE = { name: 'e2e.prw.exemplars', version: '0.1.0' };

// What the SDK records in each phase (the SDK exports cumulative values after each phase).
const PHASES = [
  {
    requests: [
      [{ 'http.request.method': 'GET', 'http.response.status_code': 200 }, 5],
      [{ 'http.request.method': 'POST', 'http.response.status_code': 500 }, 1],
    ],
    memory: 1000,
    cpu: 0.25,
    durations: [0.05, 0.3],
    sizes: [100, 200],
  },
  {
    requests: [[{ 'http.request.method': 'GET', 'http.response.status_code': 200 }, 2]],
    memory: -300,
    cpu: 0.75,
    durations: [0.3, 2, 10],
    sizes: [400, 800],
  },
];
const DURATION_BOUNDS = [0.1, 0.5, 1, 5];

// The hand-built request of each phase: cumulative points and their exemplars.
const HAND_PHASES = [
  {
    orders: 7,
    orderExemplar: { value: 1, userId: 'u-42' },
    db: { counts: [1, 1, 0], count: 2, sum: 55, exemplars: [5, 50] },
    upload: { counts: [1, 1], count: 2, sum: 30, exemplar: 12 },
  },
  {
    orders: 9,
    orderExemplar: { value: 2, userId: 'u-43' },
    db: { counts: [1, 2, 0], count: 3, sum: 95, exemplars: [40] },
    upload: { counts: [1, 2], count: 3, sum: 50, exemplar: 20 },
  },
];
const DB_BOUNDS = [10, 100];
const UPLOAD_SCALE = 0;
const UPLOAD_OFFSET = 3; // buckets (8,16] and (16,32]

// ---------------------------------------------------------------------------------------------
// sprout

// A collector: OTLP gRPC + HTTP in, prometheusremotewrite out (`exporter`: its settings).
function prwCollectorConfig({ grpc, http, metrics }, exporter) {
  return {
    receivers: {
      otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpc}` }, http: { endpoint: `127.0.0.1:${http}` } } },
    },
    exporters: { prometheusremotewrite: exporter },
    service: {
      telemetry: { metrics: { address: `127.0.0.1:${metrics}` } },
      pipelines: { metrics: { receivers: ['otlp'], exporters: ['prometheusremotewrite'] } },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The SDK side

class SdkWorkload {
  constructor(transport, ports) {
    this.sdk = metricsSdkFor(transport, ports, RESOURCE, {
      views: [
        { instrumentName: 'messaging.message.body.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
      ],
    });
    const { name, version, schemaUrl } = SDK_SCOPE;
    const meter = this.sdk.meterProvider.getMeter(name, version, { schemaUrl });
    this.requests = meter.createCounter('http.server.requests', { unit: '{request}', description: 'Requests served' });
    this.memory = meter.createUpDownCounter('process.memory.usage', { unit: 'By', description: 'Memory in use' });
    this.cpu = meter.createGauge('system.cpu.utilization', { unit: '1', description: 'CPU busy fraction' });
    this.durations = meter.createHistogram('http.server.request.duration', {
      unit: 's',
      description: 'Request latency',
      advice: { explicitBucketBoundaries: DURATION_BOUNDS },
    });
    this.sizes = meter.createHistogram('messaging.message.body.size', { unit: 'By', description: 'Body sizes' });
  }

  // Records phase `i`, exports, and returns the export's data point time in ms.
  async phase(i) {
    const p = PHASES[i];
    for (const [attrs, n] of p.requests) this.requests.add(n, attrs);
    this.memory.add(p.memory, { 'pool name (primary)': 'p1' });
    this.cpu.record(p.cpu, { 'cpu.logical_number': 3 });
    for (const d of p.durations) this.durations.record(d, { 'http.route': '/cart' });
    for (const s of p.sizes) this.sizes.record(s, { 'messaging.system': 'kafka' });
    const before = this.sdk.exports.length;
    await this.sdk.meterProvider.forceFlush();
    assert.equal(this.sdk.exports.length, before + 1, 'forceFlush made one export');
    const { items, result } = this.sdk.exports[before];
    assert.equal(result.code, 0, `SDK export ${i} failed: ${result.error && result.error.message}`);
    const metrics = items.scopeMetrics.flatMap((sm) => sm.metrics);
    assert.equal(metrics.length, 5, 'the SDK exported all five instruments');
    const times = new Set(metrics.flatMap((m) => m.dataPoints.map((dp) => nanosToMs(hrTimeToNanos(dp.endTime)))));
    assert.equal(times.size, 1, 'one collection time for every point of an export');
    const exp = metrics.find((m) => m.descriptor.name === 'messaging.message.body.size').dataPoints[0].value;
    return { timeMs: [...times][0], exponential: exp };
  }

  // Without a last export: the peers must hold exactly the two phases.
  shutdown() {
    return this.sdk.shutdown({ flush: false });
  }
}

const nanosToMs = (nanos) => Number(BigInt(nanos) / 1000000n);

// ---------------------------------------------------------------------------------------------
// The hand-built OTLP/HTTP request (exemplars)

const str = (key, value) => ({ key, value: { stringValue: value } });
const nanos = (ms) => (BigInt(ms) * 1000000n).toString();

function handBuiltRequest(i, timeMs, startMs, ids) {
  const h = HAND_PHASES[i];
  const id = ids[i];
  return {
    resourceMetrics: [
      {
        resource: { attributes: Object.entries(RESOURCE).map(([k, v]) => str(k, v)) },
        scopeMetrics: [
          {
            scope: { name: HAND_SCOPE.name, version: HAND_SCOPE.version },
            metrics: [
              {
                name: 'orders.processed',
                unit: '{order}',
                description: 'Orders processed',
                sum: {
                  aggregationTemporality: 2, // cumulative
                  isMonotonic: true,
                  dataPoints: [
                    {
                      attributes: [str('order.channel', 'web')],
                      startTimeUnixNano: nanos(startMs),
                      timeUnixNano: nanos(timeMs),
                      asInt: h.orders,
                      exemplars: [
                        {
                          filteredAttributes: [str('user_id', h.orderExemplar.userId)],
                          timeUnixNano: nanos(timeMs - 10),
                          asInt: h.orderExemplar.value,
                          traceId: id.orders.traceId,
                          spanId: id.orders.spanId,
                        },
                      ],
                    },
                  ],
                },
              },
              {
                name: 'db.query.duration',
                unit: 'ms',
                description: 'Query latency',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      attributes: [str('db.system', 'postgresql')],
                      startTimeUnixNano: nanos(startMs),
                      timeUnixNano: nanos(timeMs),
                      count: h.db.count,
                      sum: h.db.sum,
                      bucketCounts: h.db.counts,
                      explicitBounds: DB_BOUNDS,
                      exemplars: h.db.exemplars.map((value, k) => ({
                        timeUnixNano: nanos(timeMs - 20 + k),
                        asDouble: value,
                        traceId: id.db[k].traceId,
                        spanId: id.db[k].spanId,
                      })),
                    },
                  ],
                },
              },
              {
                name: 'upload.size',
                unit: 'By',
                description: 'Upload sizes',
                exponentialHistogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      attributes: [str('upload.kind', 'avatar')],
                      startTimeUnixNano: nanos(startMs),
                      timeUnixNano: nanos(timeMs),
                      count: h.upload.count,
                      sum: h.upload.sum,
                      scale: UPLOAD_SCALE,
                      zeroCount: 0,
                      positive: { offset: UPLOAD_OFFSET, bucketCounts: h.upload.counts },
                      exemplars: [
                        {
                          timeUnixNano: nanos(timeMs - 30),
                          asDouble: h.upload.exemplar,
                          traceId: id.upload.traceId,
                          spanId: id.upload.spanId,
                        },
                      ],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

function randomIds() {
  const one = () => ({ traceId: crypto.randomBytes(16), spanId: crypto.randomBytes(8) });
  return HAND_PHASES.map((h) => ({ orders: one(), db: h.db.exemplars.map(one), upload: one() }));
}

async function postOtlpMetrics(httpPort, data) {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/metrics`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf' },
    body: encodeMetricsRequest(data),
  });
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, `OTLP/HTTP metrics request answered ${res.status}: ${body.toString('latin1')}`);
}

// ---------------------------------------------------------------------------------------------
// Expectations

const SDK_LABELS = {
  job: JOB,
  instance: INSTANCE,
  otel_scope_name: SDK_SCOPE.name,
  otel_scope_version: SDK_SCOPE.version,
  otel_scope_schema_url: SDK_SCOPE.schemaUrl,
};
const HAND_LABELS = {
  job: JOB,
  instance: INSTANCE,
  otel_scope_name: HAND_SCOPE.name,
  otel_scope_version: HAND_SCOPE.version,
};

// Cumulative totals after each phase.
function cumulative(values) {
  const out = [];
  let acc = 0;
  for (const v of values) out.push((acc += v));
  return out;
}

// Classic histogram series of cumulative bucket counts: {le: [phase values]}, sums, counts.
function classicSeries(name, labels, bounds, perPhaseCounts, sums, counts) {
  const series = [];
  const les = [...bounds.map(String), '+Inf'];
  les.forEach((le, b) => {
    series.push({
      labels: { __name__: `${name}_bucket`, ...labels, le },
      values: perPhaseCounts.map((c) => (b === bounds.length ? c.reduce((x, y) => x + y, 0) : cumulative(c)[b])),
    });
  });
  series.push({ labels: { __name__: `${name}_sum`, ...labels }, values: sums });
  series.push({ labels: { __name__: `${name}_count`, ...labels }, values: counts });
  return series;
}

// Bucket counts of raw values for explicit bounds (value ≤ bound goes to that bucket).
function bucketize(values, bounds) {
  const counts = new Array(bounds.length + 1).fill(0);
  for (const v of values) {
    let b = bounds.findIndex((bound) => v <= bound);
    if (b < 0) b = bounds.length;
    counts[b] += 1;
  }
  return counts;
}

// The float series every peer must hold, with their value after each phase, and the native
// histogram series (Prometheus only). `sdkExponential`: the SDK's exponential histogram value of
// each phase (its scale and buckets decide the native histogram's buckets).
function expectations(sdkExponential) {
  const float = [];
  const reqTotals = new Map();
  const reqPhases = PHASES.map((p) => {
    for (const [attrs, n] of p.requests) {
      const k = JSON.stringify(attrs);
      reqTotals.set(k, (reqTotals.get(k) || 0) + n);
    }
    return new Map(reqTotals);
  });
  for (const k of reqTotals.keys()) {
    const attrs = JSON.parse(k);
    float.push({
      labels: {
        __name__: 'http_server_requests_total', // {request} dropped, monotonic → _total
        ...SDK_LABELS,
        http_request_method: attrs['http.request.method'],
        http_response_status_code: String(attrs['http.response.status_code']),
      },
      values: reqPhases.map((m) => m.get(k)),
    });
  }
  float.push({
    // By → bytes, not monotonic → no _total; every other rune of the key → _, not collapsed
    labels: { __name__: 'process_memory_usage_bytes', ...SDK_LABELS, pool_name__primary_: 'p1' },
    values: cumulative(PHASES.map((p) => p.memory)),
  });
  float.push({
    // a gauge of unit 1 → _ratio; an int attribute → its decimal text
    labels: { __name__: 'system_cpu_utilization_ratio', ...SDK_LABELS, cpu_logical_number: '3' },
    values: PHASES.map((p) => p.cpu),
  });
  const durationsSoFar = PHASES.map((_, i) => PHASES.slice(0, i + 1).flatMap((p) => p.durations));
  float.push(
    ...classicSeries(
      'http_server_request_duration_seconds',
      { ...SDK_LABELS, http_route: '/cart' },
      DURATION_BOUNDS,
      durationsSoFar.map((vs) => bucketize(vs, DURATION_BOUNDS)),
      durationsSoFar.map((vs) => vs.reduce((a, b) => a + b, 0)),
      durationsSoFar.map((vs) => vs.length),
    ),
  );
  float.push({
    labels: { __name__: 'orders_processed_total', ...HAND_LABELS, order_channel: 'web' },
    values: HAND_PHASES.map((h) => h.orders),
  });
  float.push(
    ...classicSeries(
      'db_query_duration_milliseconds',
      { ...HAND_LABELS, db_system: 'postgresql' },
      DB_BOUNDS,
      HAND_PHASES.map((h) => h.db.counts),
      HAND_PHASES.map((h) => h.db.sum),
      HAND_PHASES.map((h) => h.db.count),
    ),
  );

  const sizesSoFar = PHASES.map((_, i) => PHASES.slice(0, i + 1).flatMap((p) => p.sizes));
  const native = [
    {
      labels: { __name__: 'messaging_message_body_size_bytes', ...SDK_LABELS, messaging_system: 'kafka' },
      histograms: sdkExponential.map((e, i) => ({
        count: sizesSoFar[i].length,
        sum: sizesSoFar[i].reduce((a, b) => a + b, 0),
        buckets: nativeBuckets(e.scale, e.positive.offset, e.positive.bucketCounts),
        values: sizesSoFar[i],
      })),
    },
    {
      labels: { __name__: 'upload_size_bytes', ...HAND_LABELS, upload_kind: 'avatar' },
      histograms: HAND_PHASES.map((h) => ({
        count: h.upload.count,
        sum: h.upload.sum,
        buckets: nativeBuckets(UPLOAD_SCALE, UPLOAD_OFFSET, h.upload.counts),
      })),
    },
  ];
  const targetInfo = {
    __name__: 'target_info',
    job: JOB,
    instance: INSTANCE,
    deployment_environment: 'e2e',
    host_name: 'e2e-host',
  };
  return { float, native, targetInfo };
}

// The non-empty positive buckets of an OTel exponential histogram as Prometheus reports them:
// [{left, right, count}], bounds base^index, base = 2^(2^-scale); scales above 8 are merged down
// to 8 (the Collector's downscaling).
function nativeBuckets(scale, offset, counts) {
  const merged = new Map();
  const shift = Math.max(0, scale - 8);
  for (let k = 0; k < counts.length; k++) {
    if (!counts[k]) continue;
    const index = (offset + k) >> shift; // OTel bucket index at the reported scale
    merged.set(index, (merged.get(index) || 0) + Number(counts[k]));
  }
  const s = Math.min(scale, 8);
  const bound = (i) => 2 ** (i / 2 ** s);
  return [...merged.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([i, count]) => ({ left: bound(i), right: bound(i + 1), count }));
}

// ---------------------------------------------------------------------------------------------
// Running the scenario

// The sample and histogram times of a matrix result, in ms.
const times = (r) => [...(r.values || []), ...(r.histograms || [])].map(([t]) => Math.round(t * 1000));

// Waits until `count` series matching `selector` hold a sample (or histogram) at `timeMs`.
async function waitForSamplesAt(peer, selector, timeMs, count, collector) {
  let last = [];
  await waitFor(
    async () => {
      last = await peer.rawSamples(selector, { windowSeconds: 3600 });
      const at = last.filter((r) => times(r).includes(timeMs));
      return at.length >= count;
    },
    {
      timeoutMs: 20000,
      intervalMs: 200,
      describe: () =>
        `${count} series ${selector} with a sample at ${timeMs} in ${peer.name}; it holds:\n` +
        `${JSON.stringify(last.map((r) => ({ metric: r.metric, t: times(r) })), null, 1).slice(0, 6000)}\n` +
        `sprout stderr (tail):\n${collector.stderr.slice(-6000)}`,
    },
  );
}

// Starts sprout in front of `peer`, sends both phases (SDK export, then the hand-built request,
// each awaited in the peer before the next so that every series gets its samples in time order)
// and returns what is needed to check the peer.
async function runWorkload({ peer, transport, dir, nativeHistograms }) {
  const [grpc, http, metrics] = await freePorts(3);
  const collector = new Collector(prwCollectorConfig({ grpc, http, metrics }, { endpoint: peer.writeUrl }), {
    name: 'sprout',
    dir,
  });
  await collector.start();
  const workload = new SdkWorkload(transport, { grpc, http });
  const ids = randomIds();
  const sdkTimes = [];
  const handTimes = [];
  const sdkExponential = [];
  const startMs = Date.now() - 60000;
  const perScope = expectations(PHASES.map(() => ({ scale: 0, positive: { offset: 0, bucketCounts: [] } })));
  const count = (labels) =>
    perScope.float.filter((s) => s.labels.otel_scope_name === labels.otel_scope_name).length +
    (nativeHistograms ? perScope.native.filter((s) => s.labels.otel_scope_name === labels.otel_scope_name).length : 0);
  try {
    for (let i = 0; i < PHASES.length; i++) {
      const { timeMs, exponential } = await workload.phase(i);
      sdkTimes.push(timeMs);
      sdkExponential.push(exponential);
      await waitForSamplesAt(peer, `{otel_scope_name="${SDK_SCOPE.name}"}`, timeMs, count(SDK_LABELS), collector);
      await sleep(20);
      const handTime = Date.now();
      handTimes.push(handTime);
      await postOtlpMetrics(http, handBuiltRequest(i, handTime, startMs, ids));
      await waitForSamplesAt(peer, `{otel_scope_name="${HAND_SCOPE.name}"}`, handTime, count(HAND_LABELS), collector);
      await sleep(20);
    }
  } catch (err) {
    await collector.kill(); // the caller's `after` hook never sees it
    throw err;
  } finally {
    await workload.shutdown();
  }
  return { collector, sdkTimes, handTimes, ids, sdkExponential, expected: expectations(sdkExponential) };
}

// ---------------------------------------------------------------------------------------------
// Checks

const near = (actual, expected) => Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));

function assertNear(actual, expected, what) {
  assert.ok(near(Number(actual), expected), `${what}: got ${actual}, expected ${expected}`);
}

// The time of each phase's sample of a series.
function phaseTimes(run, labels) {
  return labels.otel_scope_name === HAND_SCOPE.name ? run.handTimes : run.sdkTimes;
}

// Every series of the job, exactly: names and label sets.
async function checkSeriesSet(peer, run, { nativeHistograms }) {
  const { float, native, targetInfo } = run.expected;
  const expected = [...float, ...(nativeHistograms ? native : [])].map((s) => s.labels).concat([targetInfo]);
  const actual = await peer.series(`{job="${JOB}"}`);
  assert.deepEqual(actual.map(labelKey).sort(), expected.map(labelKey).sort());
}

// Every float series holds exactly one sample per phase, at the time of that phase's data
// points, with the phase's value; the latest value is the last phase's (an instant query: skipped
// with `promql: false`, for a peer without PromQL).
async function checkFloatSamples(peer, run, { promql = true } = {}) {
  const raw = byLabels(await peer.rawSamples(`{job="${JOB}"}`));
  for (const s of run.expected.float) {
    const what = labelKey(s.labels);
    const r = raw.get(what);
    assert.ok(r, `no samples for ${what}`);
    const times = phaseTimes(run, s.labels);
    assert.deepEqual(r.values.map(([t]) => Math.round(t * 1000)), times, `sample times of ${what}`);
    r.values.forEach(([, v], i) => assertNear(v, s.values[i], `${what} phase ${i}`));
  }
  if (!promql) return;
  const latest = byLabels(await peer.query(`{job="${JOB}"}`));
  for (const s of run.expected.float) {
    const r = latest.get(labelKey(s.labels));
    assert.ok(r && r.value, `no latest value for ${labelKey(s.labels)}`);
    assertNear(r.value[1], s.values[s.values.length - 1], `latest ${labelKey(s.labels)}`);
  }
}

// target_info: value 1 at the time of every request's points (both sources share the resource).
async function checkTargetInfo(peer, run) {
  const raw = await peer.rawSamples('target_info');
  assert.equal(raw.length, 1, `one target_info series: ${JSON.stringify(raw.map((r) => r.metric))}`);
  assert.deepEqual(raw[0].metric, run.expected.targetInfo);
  const times = [...run.sdkTimes, ...run.handTimes].sort((a, b) => a - b);
  assert.deepEqual(raw[0].values.map(([t]) => Math.round(t * 1000)), times);
  for (const [, v] of raw[0].values) assert.equal(v, '1');
}

// Prometheus's native histogram object against an expected {count, sum, buckets}.
function assertNativeHistogram(h, exp, what) {
  assertNear(h.count, exp.count, `${what} count`);
  assertNear(h.sum, exp.sum, `${what} sum`);
  const buckets = (h.buckets || []).map(([rule, left, right, count]) =>
    ({ rule, left: Number(left), right: Number(right), count: Number(count) }));
  assert.equal(buckets.length, exp.buckets.length,
    `${what} buckets ${JSON.stringify(h.buckets)} vs ${JSON.stringify(exp.buckets)}`);
  buckets.forEach((b, i) => {
    const e = exp.buckets[i];
    assert.equal(b.rule, 0, `${what} bucket ${i}: positive buckets are open left`);
    assert.ok(near(b.left, e.left) && near(b.right, e.right) && b.count === e.count,
      `${what} bucket ${i}: got (${b.left}, ${b.right}] × ${b.count}, expected (${e.left}, ${e.right}] × ${e.count}`);
  });
  if (exp.values) {
    // Every recorded value lies in a bucket (a check of the expected buckets themselves).
    for (const v of exp.values) {
      assert.ok(buckets.some((b) => b.left < v && v <= b.right), `${what}: ${v} in no bucket`);
    }
  }
}

// `promql: false`: the raw histograms only, not the histogram functions.
async function checkNativeHistograms(peer, run, { promql = true } = {}) {
  const raw = byLabels(await peer.rawSamples(`{job="${JOB}"}`));
  for (const s of run.expected.native) {
    const what = labelKey(s.labels);
    const r = raw.get(what);
    assert.ok(r && r.histograms, `no native histogram for ${what}: ${JSON.stringify(r)}`);
    assert.equal(r.values, undefined, `${what} has float samples besides the histogram`);
    assert.deepEqual(times(r), phaseTimes(run, s.labels), `histogram times of ${what}`);
    r.histograms.forEach(([, h], i) => assertNativeHistogram(h, s.histograms[i], `${what} phase ${i}`));
  }
  if (!promql) return;
  // The histogram functions see them too.
  const count = await peer.query('histogram_count(messaging_message_body_size_bytes)');
  assert.equal(count.length, 1);
  assertNear(count[0].value[1], 4, 'histogram_count');
  const sum = await peer.query('histogram_sum(upload_size_bytes)');
  assertNear(sum[0].value[1], HAND_PHASES[HAND_PHASES.length - 1].upload.sum, 'histogram_sum');
}

// The SDK's exponential histogram (a remote-read peer: sprout) against what the recorded values
// imply, worked out independently of the SDK, the Collector and the store: the scale the SDK must
// pick (the largest ≤ 20 at which the values' bucket indexes span at most its default 160
// buckets; the SDK keeps every value of a cumulative histogram), the schema (that scale, at most
// 8: the Collector merges finer scales down), count, sum, zero count, zero threshold (the
// Collector's 1e-128 for a point that has none) and the absolute count of every bucket, read as
// prometheus.Histogram fields (integer counts, spans and deltas), one per phase at its time.
async function checkExponentialFromValues(peer, run) {
  const { labels } = run.expected.native.find((s) => s.labels.__name__ === 'messaging_message_body_size_bytes');
  const matchers = Object.entries(labels).map(([name, value]) => ({ type: 0, name, value }));
  const [series] = await peer.remoteRead([{ start: run.sdkTimes[0], end: run.sdkTimes[run.sdkTimes.length - 1], matchers }]);
  assert.equal(series.length, 1, `one series ${labelKey(labels)}: ${JSON.stringify(series.map((s) => s.labels))}`);
  const hs = series[0].histograms;
  assert.deepEqual(hs.map((h) => Number(h.timestamp)), run.sdkTimes, 'one histogram per phase, at its time');
  const MAX_SIZE = 160;
  const expectedScale = (values) => {
    for (let s = 20; s >= -10; s--) {
      const idx = values.map((v) => bucketIndex(v, s));
      if (Math.max(...idx) - Math.min(...idx) + 1 <= MAX_SIZE) return s;
    }
    throw new Error('no scale');
  };
  PHASES.forEach((_, i) => {
    const values = PHASES.slice(0, i + 1).flatMap((p) => p.sizes);
    const scale = expectedScale(values);
    assert.equal(run.sdkExponential[i].scale, scale, `phase ${i}: the SDK's scale for ${values}`);
    const schema = Math.min(scale, 8);
    const exp = nativeHistogram(values, schema, 1e-128);
    const h = hs[i];
    const what = `phase ${i} (${values})`;
    assert.equal(h.countFloat, undefined, `${what}: integer counts`);
    assert.equal(h.schema || 0, schema, `${what} schema`);
    assert.equal(Number(h.countInt), exp.count, `${what} count`);
    assert.equal(h.sum, exp.sum, `${what} sum`);
    assert.equal(Number(h.zeroCountInt || 0), exp.zeroCount, `${what} zero count`);
    assert.equal(h.zeroThreshold, 1e-128, `${what} zero threshold`);
    assert.deepEqual(mapEntries(expandBuckets(h.positiveSpans, h.positiveDeltas)), mapEntries(exp.positive), `${what} buckets`);
    assert.deepEqual(mapEntries(expandBuckets(h.negativeSpans, h.negativeDeltas)), [], `${what} negative buckets`);
  });
}

// Exemplars (Prometheus, sprout): trace_id/span_id as lowercase hex labels, filtered attributes
// as labels, value and time; histogram exemplars on the first bucket whose bound holds the value.
// `everyNativeExemplar`: every phase's exemplar of the native histogram is there (Prometheus 2.42
// refuses the first one, see below; sprout keeps it).
async function checkExemplars(peer, run, { everyNativeExemplar = false } = {}) {
  const hex = (b) => b.toString('hex');
  const all = await peer.queryExemplars(`{job="${JOB}"}`);
  const bySeries = byLabels(all.map((e) => ({ metric: e.seriesLabels, exemplars: e.exemplars })));
  const found = (labels) => {
    const e = bySeries.get(labelKey(labels));
    return e ? e.exemplars : [];
  };
  const norm = (ex) =>
    ex.map((e) => ({ labels: e.labels, value: Number(e.value), timeMs: Math.round(e.timestamp * 1000) }));

  // Counter: both phases' exemplars, with the filtered attribute.
  const orders = { __name__: 'orders_processed_total', ...HAND_LABELS, order_channel: 'web' };
  assert.deepEqual(
    norm(found(orders)),
    HAND_PHASES.map((h, i) => ({
      labels: {
        trace_id: hex(run.ids[i].orders.traceId),
        span_id: hex(run.ids[i].orders.spanId),
        user_id: h.orderExemplar.userId, // a filtered attribute
      },
      value: h.orderExemplar.value,
      timeMs: run.handTimes[i] - 10,
    })),
    `exemplars of orders_processed_total; all exemplars: ${JSON.stringify(all)}`,
  );

  // Classic histogram: each exemplar on its bucket.
  const expectedByLe = new Map();
  HAND_PHASES.forEach((h, i) =>
    h.db.exemplars.forEach((value, k) => {
      const b = DB_BOUNDS.findIndex((bound) => value <= bound);
      const le = b < 0 ? '+Inf' : String(DB_BOUNDS[b]);
      if (!expectedByLe.has(le)) expectedByLe.set(le, []);
      expectedByLe.get(le).push({
        labels: { trace_id: hex(run.ids[i].db[k].traceId), span_id: hex(run.ids[i].db[k].spanId) },
        value,
        timeMs: run.handTimes[i] - 20 + k,
      });
    }));
  for (const le of [...DB_BOUNDS.map(String), '+Inf']) {
    const labels = { __name__: 'db_query_duration_milliseconds_bucket', ...HAND_LABELS, db_system: 'postgresql', le };
    assert.deepEqual(norm(found(labels)), expectedByLe.get(le) || [],
      `exemplars of the le="${le}" bucket; all: ${JSON.stringify(all)}`);
  }

  // Native histogram: Prometheus 2.42's write handler appends a series' exemplars before its
  // histograms, so the exemplar of the request that creates the series is refused ("unknown
  // HeadSeriesRef", debug log); the second phase's exemplar must be there.
  const upload = { __name__: 'upload_size_bytes', ...HAND_LABELS, upload_kind: 'avatar' };
  const last = HAND_PHASES.length - 1;
  const uploadExemplars = norm(found(upload));
  if (everyNativeExemplar) {
    assert.deepEqual(
      uploadExemplars,
      HAND_PHASES.map((h, i) => ({
        labels: { trace_id: hex(run.ids[i].upload.traceId), span_id: hex(run.ids[i].upload.spanId) },
        value: h.upload.exemplar,
        timeMs: run.handTimes[i] - 30,
      })),
      `exemplars of upload_size_bytes; all: ${JSON.stringify(all)}`,
    );
  }
  assert.deepEqual(
    uploadExemplars[uploadExemplars.length - 1],
    {
      labels: { trace_id: hex(run.ids[last].upload.traceId), span_id: hex(run.ids[last].upload.spanId) },
      value: HAND_PHASES[last].upload.exemplar,
      timeMs: run.handTimes[last] - 30,
    },
    `exemplars of upload_size_bytes; all: ${JSON.stringify(all)}`,
  );

  // Nothing else carries exemplars (the SDK sent none).
  const carriers = [...bySeries.keys()].filter((k) => bySeries.get(k).exemplars.length > 0).sort();
  const expectedCarriers = [orders, upload, ...[...expectedByLe.keys()].map((le) => ({
    __name__: 'db_query_duration_milliseconds_bucket', ...HAND_LABELS, db_system: 'postgresql', le,
  }))].map(labelKey).sort();
  assert.deepEqual(carriers, expectedCarriers);
}

// ---------------------------------------------------------------------------------------------
// A steady stream for the outage and WAL tests: the SDK exports every `exportIntervalMillis`
// while a counter is incremented every `tickMillis`; each successful export is one expected
// sample of the counter's series (its time, its cumulative value).

class TickingSdk {
  constructor(transport, ports, serviceName, { exportIntervalMillis = 200, tickMillis = 20 } = {}) {
    this.serviceName = serviceName;
    const resource = { 'service.name': serviceName, 'service.instance.id': `${serviceName}-1` };
    this.sdk = metricsSdkFor(transport, ports, resource, { exportIntervalMillis });
    this.counter = this.sdk.meterProvider.getMeter('e2e.prw.ticks').createCounter('e2e.ticks', { unit: '{tick}' });
    this.tickMillis = tickMillis;
    this.ticks = 0;
    this.timer = null;
  }

  // The series name and selector of the counter.
  get selector() {
    return `e2e_ticks_total{job="${this.serviceName}"}`;
  }

  start() {
    this.timer = setInterval(() => {
      this.counter.add(1, { stream: 'steady' });
      this.ticks += 1;
    }, this.tickMillis);
  }

  // Stops ticking and shuts the SDK down (one last export).
  async stop() {
    clearInterval(this.timer);
    await this.sdk.shutdown();
  }

  failures() {
    return this.sdk.failures();
  }

  // [[timeMs, value]] of every successful export that carried the counter, in time order.
  samples() {
    const out = [];
    for (const { items, result } of this.sdk.exports) {
      if (result.code !== 0) continue;
      for (const sm of items.scopeMetrics) {
        for (const m of sm.metrics) {
          if (m.descriptor.name !== 'e2e.ticks') continue;
          for (const dp of m.dataPoints) out.push([nanosToMs(hrTimeToNanos(dp.endTime)), dp.value]);
        }
      }
    }
    return out.sort((a, b) => a[0] - b[0]);
  }
}

// The raw samples of `selector` in `peer`: [[timeMs, value]] in time order (one series expected).
async function rawSeriesSamples(peer, selector, windowSeconds) {
  const result = await peer.rawSamples(selector, { windowSeconds });
  if (result.length === 0) return [];
  assert.equal(result.length, 1, `one series for ${selector}: ${JSON.stringify(result.map((r) => r.metric))}`);
  return result[0].values.map(([t, v]) => [Math.round(t * 1000), Number(v)]);
}

// Waits until `peer` holds the sample at the time of the last expected one, then checks that it
// holds exactly the expected samples: none missing (a gap), none extra.
async function checkEverySample(peer, selector, expected, { timeoutMs = 90000, collector } = {}) {
  assert.ok(expected.length > 0, 'the SDK exported something');
  const windowSeconds = (Date.now() - expected[0][0]) / 1000 + 120;
  const lastTime = expected[expected.length - 1][0];
  let actual = [];
  await waitFor(
    async () => {
      actual = await rawSeriesSamples(peer, selector, windowSeconds);
      return actual.some(([t]) => t === lastTime);
    },
    {
      timeoutMs,
      intervalMs: 500,
      describe: () =>
        `${peer.name} to hold the last sample (${lastTime}) of ${selector}; it holds ${actual.length} of ` +
        `${expected.length}, the last at ${actual.length ? actual[actual.length - 1][0] : '-'}` +
        (collector ? `\nsprout stderr (tail):\n${collector.stderr.slice(-6000)}` : ''),
    },
  );
  const have = new Map(actual);
  const missing = expected.filter(([t]) => !have.has(t));
  const want = new Map(expected);
  const extra = actual.filter(([t]) => !want.has(t));
  const wrong = expected.filter(([t, v]) => have.has(t) && have.get(t) !== v);
  assert.deepEqual(
    { missing: missing.length, extra: extra.length, wrong: wrong.length },
    { missing: 0, extra: 0, wrong: 0 },
    `samples of ${selector}: ${expected.length} expected, ${actual.length} held; missing ` +
      `${JSON.stringify(missing.slice(0, 20))}; extra ${JSON.stringify(extra.slice(0, 20))}; ` +
      `wrong values ${JSON.stringify(wrong.slice(0, 20).map(([t, v]) => [t, v, have.get(t)]))}`,
  );
  return actual;
}

// ---------------------------------------------------------------------------------------------
// Hand-built gauge requests for the WAL tests: request k carries one point of each series
// e2e_wal_gauge{job, series="<i>"} at its own time, with the value k * 1000 + i, so every
// request the receiver acknowledged is one known sample per series.

class GaugeStream {
  constructor(job, seriesCount, { startMs = Date.now() - 120000, stepMs = 10 } = {}) {
    this.job = job;
    this.seriesCount = seriesCount;
    this.startMs = startMs;
    this.stepMs = stepMs;
    this.next = 0;
    this.acked = []; // [{k, timeMs}]
    this.unacked = []; // sent, answered otherwise (or not at all): may or may not arrive
  }

  get selector() {
    return `e2e_wal_gauge{job="${this.job}"}`;
  }

  request(k) {
    const timeUnixNano = String(BigInt(this.startMs + k * this.stepMs) * 1000000n);
    const dataPoints = [];
    for (let i = 0; i < this.seriesCount; i++) {
      dataPoints.push({ attributes: [{ key: 'series', value: { stringValue: String(i) } }], timeUnixNano, asDouble: k * 1000 + i });
    }
    return {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: this.job } }] },
          scopeMetrics: [{ scope: { name: 'e2e.wal' }, metrics: [{ name: 'e2e.wal.gauge', gauge: { dataPoints } }] }],
        },
      ],
    };
  }

  // Posts the next request over OTLP/HTTP; returns {status, message} (status 0: no answer).
  async post(httpPort) {
    const k = this.next++;
    const timeMs = this.startMs + k * this.stepMs;
    let res;
    try {
      res = await fetch(`http://127.0.0.1:${httpPort}/v1/metrics`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf' },
        body: encodeMetricsRequest(this.request(k)),
      });
    } catch (err) {
      this.unacked.push({ k, timeMs });
      return { status: 0, message: String(err.cause ? err.cause.code || err.cause : err) };
    }
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status === 200) {
      this.acked.push({ k, timeMs });
      return { status: 200, message: '' };
    }
    this.unacked.push({ k, timeMs });
    let message = body.toString('latin1');
    try {
      message = decodeStatus(body).message;
    } catch {
      /* not a google.rpc.Status */
    }
    return { status: res.status, message };
  }
}

// Waits until `peer` holds every sample `stream` had acknowledged, then checks, per series: each
// acknowledged sample is there with its value, and every sample there was sent (a request
// answered with an error, or cut off by a kill, may or may not have been stored).
async function checkAcknowledgedGauges(peer, stream, { timeoutMs = 90000, collector } = {}) {
  assert.ok(stream.acked.length > 0, 'something was acknowledged');
  const windowSeconds = (Date.now() - stream.startMs) / 1000 + 600;
  const time = (stream.startMs + stream.next * stream.stepMs) / 1000 + 1;
  const sent = new Map([...stream.acked, ...stream.unacked].map(({ k, timeMs }) => [timeMs, k]));
  let bySeries = new Map();
  const missing = () => {
    const out = [];
    for (let i = 0; i < stream.seriesCount; i++) {
      const have = bySeries.get(String(i)) || new Map();
      for (const { k, timeMs } of stream.acked) {
        if (have.get(timeMs) !== k * 1000 + i) out.push({ series: i, k, timeMs, got: have.get(timeMs) });
      }
    }
    return out;
  };
  await waitFor(
    async () => {
      const result = await peer.rawSamples(stream.selector, { windowSeconds, time });
      bySeries = new Map(
        result.map((r) => [r.metric.series, new Map((r.values || []).map(([t, v]) => [Math.round(t * 1000), Number(v)]))]),
      );
      return missing().length === 0;
    },
    {
      timeoutMs,
      intervalMs: 500,
      describe: () =>
        `${peer.name} to hold all ${stream.acked.length} acknowledged samples of ${stream.seriesCount} series; ` +
        `missing ${missing().length}, e.g. ${JSON.stringify(missing().slice(0, 10))}` +
        (collector ? `\nsprout stderr (tail):\n${collector.stderr.slice(-6000)}` : ''),
    },
  );
  assert.equal(bySeries.size, stream.seriesCount, `series held: ${[...bySeries.keys()]}`);
  for (const [series, samples] of bySeries) {
    for (const [timeMs, value] of samples) {
      assert.ok(sent.has(timeMs), `series ${series}: a sample at ${timeMs} that was never sent`);
      assert.equal(value, sent.get(timeMs) * 1000 + Number(series), `series ${series} at ${timeMs}`);
    }
  }
  return bySeries;
}

module.exports = {
  GaugeStream,
  checkAcknowledgedGauges,
  HAND_PHASES,
  HAND_SCOPE,
  INSTANCE,
  JOB,
  RESOURCE,
  SDK_SCOPE,
  TickingSdk,
  checkEverySample,
  checkExemplars,
  checkExponentialFromValues,
  checkFloatSamples,
  checkNativeHistograms,
  checkSeriesSet,
  checkTargetInfo,
  nanosToMs,
  prwCollectorConfig,
  rawSeriesSamples,
  runWorkload,
};
