'use strict';
// Issue 16: TraceQL metrics as Grafana's Traces Drilldown app uses them, against `sprout traces`
// (live traces; the same traces from blocks after a restart; then with four more SDK spans live
// beside the block) and `sprout all` (live).
//
// Label `pending16` (tests/e2e/CMakeLists.txt): written before the feature landed, to Tempo's
// documented behaviour; out of `make test` until the lead removes the label.
//
// The trace set (built here, every fact of it known):
// - hand-built OTLP/protobuf (protobufjs) over OTLP/HTTP: services shop-frontend, shop-cart and
//   shop-payments (si = 0, 1, 2); in minute k (k = 0..5) of a 6-minute window starting at T0 (a
//   multiple of 360 s, about 50 minutes ago) service si has (si + 1)(k + 1) root SERVER spans,
//   each its own trace; span j of the group starts at T0 + 60k s + 32.5 s + 50j ms + 10si ms
//   (inside [30 s, 35 s) of its minute: no step boundary of 5 s, 15 s, 60 s or 360 s is near),
//   lasts DURATIONS[(j + k + si) % 5] (3 ms, 12 ms, 50 ms, 300 ms, 1.5 s: none near a power of two
//   of nanoseconds), has status ERROR when j % 3 == 2 (else unset), name `GET /r<j % 2>`,
//   span.http.route `/r<j % 2>`. Every even-j frontend root has one child (service shop-db,
//   CLIENT, `SELECT orders`, span.db.name `orders`, 1 ms after its parent, 2 ms long).
// - the OpenTelemetry JS SDK (BasicTracerProvider, OTLP/HTTP protobuf exporter), service
//   shop-sdk: 4 root SERVER spans in minute 2, starting at +40 s + 100i ms with explicit start and
//   end times (7 ms, 20 ms, 90 ms, 700 ms), the last with status ERROR.
//
// Expected values are computed from that construction with the semantics below, never from
// sprout's answers. The semantics assumed, and where each fact comes from (grafana/tempo unless
// noted; reference = ../shared/reference/tempo.md):
// - A span counts in the step whose interval holds its start time: pkg/traceql/engine_metrics.go
//   IntervalOf(span start). Steps are aligned to multiples of the step (AlignRequest). A sample's
//   timestampMs names its interval by its start (TimestampOf = start + i * step) in some Tempo
//   releases and by its end in others; the test accepts either, but the same for every answer of
//   a run (and prints which).
// - rate() = spans in the step / step seconds; count_over_time() = spans in the step (Tempo docs
//   "TraceQL metrics functions"; reference §3).
// - A step without spans has no sample or a 0 (the test reads both as "no value").
// - by() labels are typed OTLP AnyValues: strings as stringValue; the intrinsic `status` as its
//   name (stringValue "error", "unset": Static.AsAnyValue in pkg/traceql); label keys as the
//   attribute is written (`resource.service.name`, `status`, `span.http.route`).
// - quantile_over_time(duration, q...): each duration (ns) goes to the power-of-two bucket
//   2^ceil(log2 ns) (Log2Bucketize), in seconds; the quantile is Log2Quantile: n = ceil(q × total)
//   samples (at least 1), the bucket where the running count reaches n, exponential interpolation
//   between the previous bucket's bound (or half the first bucket's) and this one's by
//   (n − count before) / bucket count, the bucket's bound exactly when n is reached at its end.
//   One series per q with label `p` (doubleValue q) after the by() labels (HistogramAggregator).
// - histogram_over_time(duration): one series per bucket, label `__bucket` (doubleValue: the
//   bound in seconds), value = spans in the step (reference §3).
// - compare({sel}, topN[, start, end]): a span of the outer filter is in the selection when it
//   matches sel (and, with start/end, starts in [start, end)), else in the baseline; for every
//   attribute of the span (not the duration-typed ones, start time or trace ID) it counts in the
//   series {__meta_type: baseline|selection, <attribute>: value}, and in the total series
//   {__meta_type: baseline_total|selection_total, <attribute>}; the topN values per attribute
//   by total count are kept (pkg/traceql/engine_metrics_compare.go). Grafana's Drilldown sums
//   every sample of each series (AttributesComparisonScene), so the test compares sums.
// - topk(k): at each step the k series with the largest values keep that step's value, the
//   others none (engine_metrics.go processTopK).
// - Exemplars (exemplars=N): at most N, labels include `trace:id` and `span:id` (reference §3),
//   timestampMs the span's start in ms (engine_metrics.go); each must name a span of the set,
//   found again by trace ID on /api/traces/<id>.
// - /api/metrics/query (instant): one value per series over [start, end) (reference §1.6).
// - Response JSON (jsonpb, reference §1.6): {series:[{labels:[{key, value:{stringValue|...}}],
//   samples:[{timestampMs:"<int64 as string>", value}], exemplars}], metrics}; instant:
//   {series:[{labels, value}]}.
//
// The Drilldown requests are tests/e2e/fixtures/traces_drilldown_requests.json (see its `about`:
// the app is not on npm, they were read from its public source); every one is replayed with the
// app's step and Grafana's parameters, checked against Grafana's metrics-query regex (reference
// §1.6), its answer read the way Grafana and the app read it, and its values checked.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { freePorts, makeTempDir, waitFor } = require('./lib/sprout');
const { startTraces, stopStartedTraces } = require('./lib/traces');
const { startAll } = require('./lib/all');
const { simpleTracer } = require('./lib/otel');
const { encodeTraceRequest } = require('./lib/proto');

const FIXTURES = JSON.parse(fs.readFileSync(
  path.join(__dirname, 'fixtures', 'traces_drilldown_requests.json'), 'utf8')).requests;

// Grafana's test for a metrics query and for a heatmap (reference §1.6; grafana/grafana
// pkg/tsdb/tempo/traceql_query.go isMetricsQuery, traceql/metrics.go isHistogramQuery).
const GRAFANA_METRICS_RE =
  /\|\s*(rate|count_over_time|avg_over_time|sum_over_time|max_over_time|min_over_time|quantile_over_time|histogram_over_time|compare)\s*\(/;
const GRAFANA_HISTOGRAM_RE = /\|\s*(histogram_over_time)\s*\(/;

// ---- the trace set ----------------------------------------------------------------------------

const MS = 1000000n;
const S = 1000000000n;
const STEP_WINDOW_S = 360;
const NOW_S = Math.floor(Date.now() / 1000);
const T0_S = Math.floor((NOW_S - 50 * 60) / STEP_WINDOW_S) * STEP_WINDOW_S;
const T0 = BigInt(T0_S) * S;
const RANGE = { start: T0_S, end: T0_S + STEP_WINDOW_S };
const SERVICES = ['shop-frontend', 'shop-cart', 'shop-payments'];
const DURATIONS = [3n * MS, 12n * MS, 50n * MS, 300n * MS, 1500n * MS];
const SDK_DURATIONS_MS = [7, 20, 90, 700];
// The comparison's heatmap selection window: minutes 2 and 3.
const WINDOW = { startNs: T0 + 120n * S, endNs: T0 + 240n * S };

const hex = (n) => crypto.randomBytes(n).toString('hex');

// Every span of the set with the facts the expectations use.
const SPANS = [];
function addSpan(f) {
  SPANS.push({ ...f, durationNs: f.end - f.start });
}
for (let si = 0; si < SERVICES.length; si++) {
  for (let k = 0; k < 6; k++) {
    const c = (si + 1) * (k + 1);
    for (let j = 0; j < c; j++) {
      const start = T0 + BigInt(60 * k) * S + 32500n * MS + BigInt(50 * j + 10 * si) * MS;
      const traceId = hex(16);
      const spanId = hex(8);
      const route = `/r${j % 2}`;
      addSpan({
        traceId, spanId, parentSpanId: '', service: SERVICES[si], name: `GET ${route}`, kind: 'server',
        start, end: start + DURATIONS[(j + k + si) % 5], error: j % 3 === 2, route, dbName: null, sdk: false,
      });
      if (si === 0 && j % 2 === 0) {
        addSpan({
          traceId, spanId: hex(8), parentSpanId: spanId, service: 'shop-db', name: 'SELECT orders',
          kind: 'client', start: start + MS, end: start + 3n * MS, error: false, route: null, dbName: 'orders',
          sdk: false,
        });
      }
    }
  }
}
// The SDK's spans: IDs are known once they are made (sendSdkSpans fills them in).
const SDK_SPANS = SDK_DURATIONS_MS.map((d, i) => {
  const start = T0 + 120n * S + 40n * S + BigInt(100 * i) * MS;
  return { start, end: start + BigInt(d) * MS, error: i === 3, name: `sdk-op-${i}` };
});

const b = (hex16) => Buffer.from(hex16, 'hex');
const kvs = (obj) => Object.entries(obj).map(([key, v]) => ({ key, value: { stringValue: v } }));

// The hand-built spans as one ExportTraceServiceRequest (a ResourceSpans per service).
function handBuiltRequest() {
  const byService = new Map();
  for (const s of SPANS) {
    if (s.sdk) continue;
    if (!byService.has(s.service)) byService.set(s.service, []);
    const attrs = {};
    if (s.route) attrs['http.route'] = s.route;
    if (s.dbName) attrs['db.name'] = s.dbName;
    byService.get(s.service).push({
      traceId: b(s.traceId), spanId: b(s.spanId),
      parentSpanId: s.parentSpanId ? b(s.parentSpanId) : undefined,
      name: s.name, kind: s.kind === 'server' ? 2 : 3,
      startTimeUnixNano: s.start.toString(), endTimeUnixNano: s.end.toString(),
      attributes: kvs(attrs),
      status: s.error ? { code: 2, message: 'failed' } : {},
    });
  }
  return {
    resourceSpans: [...byService].map(([service, spans]) => ({
      resource: { attributes: kvs({ 'service.name': service }) },
      scopeSpans: [{ scope: { name: 'e2e-drilldown', version: '1' }, spans }],
    })),
  };
}

async function sendHandBuilt(httpPort) {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' },
    body: encodeTraceRequest(handBuiltRequest()),
  });
  assert.equal(res.status, 200, await res.text());
}

const hrTime = (ns) => [Number(ns / S), Number(ns % S)];

// The SDK's spans, with explicit start and end times; their IDs (new on every call) replace the
// previous calls' in SPANS (a new server), or join them (`keep`: more spans for the same server).
async function sendSdkSpans(httpPort, { keep = false } = {}) {
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` });
  const { provider, tracer, results } = simpleTracer(exporter, { serviceName: 'shop-sdk', tracerName: 'e2e-drilldown' });
  const made = [];
  for (const f of SDK_SPANS) {
    const span = tracer.startSpan(f.name, { kind: SpanKind.SERVER, startTime: hrTime(f.start) });
    if (f.error) span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    span.end(hrTime(f.end));
    made.push({ f, ctx: span.spanContext() });
  }
  await provider.forceFlush();
  await provider.shutdown();
  assert.ok(results.length >= SDK_SPANS.length && results.every((r) => r.code === 0),
    `SDK exports: ${JSON.stringify(results)}`);
  if (!keep) for (let i = SPANS.length - 1; i >= 0; i--) if (SPANS[i].sdk) SPANS.splice(i, 1);
  for (const { f, ctx } of made) {
    addSpan({
      traceId: ctx.traceId, spanId: ctx.spanId, parentSpanId: '', service: 'shop-sdk', name: f.name,
      kind: 'server', start: f.start, end: f.end, error: f.error, route: null, dbName: null, sdk: true,
    });
  }
}

// ---- expected values from the construction -------------------------------------------------------

const PREDICATES = {
  root: (s) => s.parentSpanId === '',
  error: (s) => s.error,
  not_error: (s) => !s.error,
  server: (s) => s.kind === 'server',
  has_route: (s) => s.route !== null,
  'service=shop-cart': (s) => s.service === 'shop-cart',
  'service=shop-payments': (s) => s.service === 'shop-payments',
  'duration>=200ms': (s) => s.durationNs >= 200n * MS,
  in_window: (s) => s.start >= WINDOW.startNs && s.start < WINDOW.endNs,
};
const matches = (names) => (s) => names.every((n) => PREDICATES[n](s));

// A label value as the test compares it: typed, e.g. "s:shop-cart", "d:0.9".
function labelValue(v) {
  if (v === undefined || v === null) return 'none';
  if ('stringValue' in v) return `s:${v.stringValue}`;
  if ('intValue' in v) return `i:${Number(v.intValue)}`;
  if ('doubleValue' in v) return `d:${Number(v.doubleValue)}`;
  if ('boolValue' in v) return `b:${v.boolValue}`;
  return `?:${JSON.stringify(v)}`;
}
// Label order is not compared (Grafana reads the labels into a map).
const seriesKey = (pairs) => pairs.map(([k, v]) => `${k}=${v}`).sort().join(', ');
// A series' labels as a key; a `__name__` label (the function's name, which Tempo may give a
// series without by()) is left out.
const keyOfLabels = (labels) => seriesKey((labels || []).filter((l) => l.key !== '__name__')
  .map((l) => [l.key, labelValue(l.value)]));

function byValue(s, attr) {
  switch (attr) {
    case 'resource.service.name': return `s:${s.service}`;
    case 'status': return `s:${s.error ? 'error' : 'unset'}`;
    case 'span.http.route': return s.route === null ? 's:nil' : `s:${s.route}`;
    default: throw new Error(`no fact for ${attr}`);
  }
}

// Log2Bucketize of a duration in ns, in seconds.
function bucketSeconds(ns) {
  let p = 1n;
  while (p < ns) p <<= 1n;
  return Number(p) / 1e9;
}

// Log2Quantile over {bound seconds → count}.
function log2Quantile(q, counts) {
  const buckets = [...counts].sort((a, c) => a[0] - c[0]);
  const total = buckets.reduce((a, [, n]) => a + n, 0);
  let want = Math.ceil(q * total);
  if (want === 0) want = 1;
  let seen = 0;
  let i = 0;
  for (; i < buckets.length; i++) {
    if (seen + buckets[i][1] > want) break;
    seen += buckets[i][1];
    if (seen === want) return buckets[i][0];
  }
  const interp = (want - seen) / buckets[i][1];
  const maxV = Math.log2(buckets[i][0]);
  const minV = i > 0 ? Math.log2(buckets[i - 1][0]) : maxV - 1;
  return 2 ** (minV + (maxV - minV) * interp);
}

// Expected series {key → {points: Map(interval start ms → value)}} of a range query.
function expectedRange({ fn, filter = [], by = [], qs = [], topk }, stepS) {
  const stepNs = BigInt(stepS) * S;
  const groups = new Map();
  for (const s of SPANS.filter(matches(filter))) {
    const labels = by.map((a) => [a, byValue(s, a)]);
    const at = Number((s.start / stepNs) * stepNs / MS);
    const extra = fn === 'histogram' ? [['__bucket', `d:${bucketSeconds(s.durationNs)}`]] : [];
    const key = seriesKey([...labels, ...extra]);
    if (!groups.has(key)) groups.set(key, { labels: [...labels, ...extra], steps: new Map() });
    const g = groups.get(key);
    if (!g.steps.has(at)) g.steps.set(at, []);
    g.steps.get(at).push(s);
  }
  const out = new Map();
  for (const g of groups.values()) {
    if (fn === 'quantile') {
      for (const q of qs) {
        const points = new Map();
        for (const [at, spans] of g.steps) {
          const counts = new Map();
          for (const s of spans) {
            const bnd = bucketSeconds(s.durationNs);
            counts.set(bnd, (counts.get(bnd) || 0) + 1);
          }
          points.set(at, log2Quantile(q, counts));
        }
        out.set(seriesKey([...g.labels, ['p', `d:${q}`]]), { points });
      }
    } else {
      const points = new Map();
      for (const [at, spans] of g.steps) points.set(at, fn === 'rate' ? spans.length / stepS : spans.length);
      out.set(seriesKey(g.labels), { points });
    }
  }
  if (topk) {
    // At each step the k largest values keep their value.
    const steps = new Set([...out.values()].flatMap((e) => [...e.points.keys()]));
    const kept = new Map([...out.keys()].map((k) => [k, new Map()]));
    for (const at of steps) {
      const ranked = [...out].filter(([, e]) => e.points.has(at))
        .sort((a, c) => c[1].points.get(at) - a[1].points.get(at)).slice(0, topk);
      for (const [k, e] of ranked) kept.get(k).set(at, e.points.get(at));
    }
    for (const [k, points] of kept) {
      if (points.size) out.set(k, { points }); else out.delete(k);
    }
  }
  return out;
}

// compare(): expected sums per series key for the attributes the test checks.
const COMPARE_ATTRS = {
  'resource.service.name': (s) => `s:${s.service}`,
  'span.http.route': (s) => (s.route === null ? null : `s:${s.route}`),
  status: (s) => `s:${s.error ? 'error' : 'unset'}`,
};
function expectedCompare({ filter = [], selection }) {
  const sums = new Map();
  const totals = new Map();
  const add = (m, k) => m.set(k, (m.get(k) || 0) + 1);
  for (const s of SPANS.filter(matches(filter))) {
    const type = matches(selection)(s) ? 'selection' : 'baseline';
    for (const [attr, f] of Object.entries(COMPARE_ATTRS)) {
      const v = f(s);
      if (v === null) continue;
      add(sums, seriesKey([['__meta_type', `s:${type}`], [attr, v]]));
      add(totals, `${type}_total ${attr}`);
    }
  }
  return { sums, totals };
}

// ---- reading answers as Grafana and the app do ---------------------------------------------------

function num(v) {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number(v);
}

// Checks the shape Grafana's Tempo data source unmarshals (jsonpb QueryRangeResponse) and turns
// it into frames (pkg/tsdb/tempo/traceql/metrics.go): every label a typed KeyValue, every sample
// an int64 timestampMs (a string in jsonpb) and a number. Returns the series with parsed samples.
function readRange(body, query) {
  assert.ok(Array.isArray(body.series), `series array: ${JSON.stringify(body).slice(0, 300)}`);
  assert.equal(typeof body.metrics, 'object', 'metrics object');
  return body.series.map((s) => {
    assert.ok(Array.isArray(s.labels), `labels: ${JSON.stringify(s)}`);
    for (const l of s.labels) {
      assert.equal(typeof l.key, 'string');
      assert.ok(l.value && typeof l.value === 'object', `typed value: ${JSON.stringify(l)}`);
      const kinds = Object.keys(l.value);
      assert.ok(kinds.length <= 1 && kinds.every((k) => /^(string|int|double|bool)Value$/.test(k)),
        `one OTLP value: ${JSON.stringify(l)}`);
    }
    const samples = (s.samples || []).map((p) => {
      assert.equal(typeof p.timestampMs, 'string', `timestampMs as jsonpb int64: ${JSON.stringify(p)}`);
      assert.match(p.timestampMs, /^\d+$/);
      const v = num(p.value === undefined ? 0 : p.value);
      assert.ok(!Number.isNaN(v) || p.value === 'NaN', `value: ${JSON.stringify(p)}`);
      return { ts: Number(p.timestampMs), value: v };
    });
    for (let i = 1; i < samples.length; i++) assert.ok(samples[i].ts > samples[i - 1].ts, 'ascending samples');
    const exemplars = (s.exemplars || []).map((e) => {
      const labels = Object.fromEntries((e.labels || []).map((l) => [l.key, l.value]));
      // Grafana: traceId = the trace:id label's string with quotes removed (exemplars.go).
      const tid = labels['trace:id'];
      const sid = labels['span:id'];
      return {
        traceId: tid && 'stringValue' in tid ? tid.stringValue.replaceAll('"', '') : '',
        spanId: sid && 'stringValue' in sid ? sid.stringValue.replaceAll('"', '') : '',
        ts: Number(e.timestampMs), value: num(e.value),
      };
    });
    // Grafana names a one-label series by that label's value; the heatmap reads it as a number.
    if (GRAFANA_HISTOGRAM_RE.test(query) && s.labels.length === 1) {
      assert.equal(s.labels[0].key, '__bucket');
      assert.ok(Number.isFinite(parseFloat(String(Object.values(s.labels[0].value)[0]))),
        `bucket name: ${JSON.stringify(s.labels)}`);
    }
    return { key: keyOfLabels(s.labels), labels: s.labels, samples, exemplars };
  });
}

// The run's sample-timestamp convention (0: the interval's start; the step: its end), fixed by
// the first answer that tells them apart.
let sampleOffsetMs = null;

// Compares one answer's series with the expected ones: the same series, and in each the same
// values at the same intervals (samples of 0 or NaN read as none).
function assertSeries(actual, expected, stepS, what) {
  const stepMs = stepS * 1000;
  // A series whose every sample is 0 (or NaN) says nothing: Tempo's topk keeps, at a step where
  // fewer than k series have a value, arbitrary series with their 0 there (processTopK).
  const hasValue = (s) => s.samples.some((p) => p.value !== 0 && !Number.isNaN(p.value));
  const got = new Map(actual.filter(hasValue).map((s) => [s.key, s]));
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), `${what}: series`);
  const fits = (offset) => [...expected].every(([key, e]) => {
    const pts = got.get(key).samples.filter((p) => p.value !== 0 && !Number.isNaN(p.value));
    if (pts.length !== e.points.size) return false;
    return pts.every((p) => e.points.has(p.ts - offset)
      && Math.abs(e.points.get(p.ts - offset) - p.value) <= 1e-9 * Math.max(1, Math.abs(p.value)));
  });
  const offsets = sampleOffsetMs === null ? [0, stepMs] : [sampleOffsetMs === 0 ? 0 : stepMs];
  const ok = offsets.filter(fits);
  if (!ok.length) {
    const show = (m) => JSON.stringify([...m].map(([k, v]) => [k, v.samples
      ? v.samples.map((p) => [p.ts, p.value]) : [...v.points]]));
    assert.fail(`${what}: values (step ${stepS} s, sample timestamps ${sampleOffsetMs === null ? 'at the start or end'
      : sampleOffsetMs === 0 ? 'at the start' : 'at the end'} of their interval)\n  got ${show(got)}\n  want ${show(expected)}`);
  }
  if (sampleOffsetMs === null && ok.length === 1) {
    sampleOffsetMs = ok[0];
    console.log(`sample timestamps name the ${ok[0] === 0 ? 'start' : 'end'} of their interval`);
  }
}

// ---- requests ---------------------------------------------------------------------------------

function render(template) {
  return template
    .replaceAll('${primarySignal}', 'nestedSetParent<0')
    .replaceAll('${filters}', 'true')
    .replaceAll('${fromNs}', WINDOW.startNs.toString())
    .replaceAll('${toNs}', WINDOW.endNs.toString());
}

// The step a fixture is sent with: the app's rule (see the fixture file).
function fixtureStep(f) {
  if (f.step === 'range') return `${RANGE.end - RANGE.start}s`;
  if (f.step) return f.step;
  return `${Math.floor((RANGE.end - RANGE.start) / f.maxDataPoints) || 1}s`;
}

// GET as Grafana does (Accept: application/json; start/end in Unix seconds).
async function getJson(base, route, params) {
  const url = `${base}${route}?${new URLSearchParams(params)}`;
  const res = await fetch(url, { headers: { Accept: 'application/json' } });
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${url}: not JSON (${res.headers.get('content-type')}): ${text.slice(0, 200)}`);
  }
}
const queryRange = (base, q, step, extra = {}) =>
  getJson(base, '/api/metrics/query_range', { q, start: RANGE.start, end: RANGE.end, step, ...extra });

// A span ID as 16 hex digits: from hex (leading zeros possibly left out) or base64 (OTLP JSON).
const spanIdHex = (id) => (/^[0-9a-f]{1,16}$/i.test(id) ? id.toLowerCase().padStart(16, '0')
  : Buffer.from(id, 'base64').toString('hex'));
const fullTraceId = (id) => id.toLowerCase().padStart(32, '0');

// The trace read back by ID (the JSON of /api/traces/<id>): its span IDs.
async function traceSpanIds(base, traceId) {
  const res = await fetch(`${base}/api/traces/${traceId}`);
  if (res.status !== 200) return null;
  const body = await res.json();
  const ids = [];
  for (const rs of body.batches || body.resourceSpans || []) {
    for (const ss of rs.scopeSpans || rs.instrumentationLibrarySpans || []) {
      for (const sp of ss.spans || []) ids.push(spanIdHex(sp.spanId));
    }
  }
  return ids;
}

// Waits until every trace of the set is readable by ID (the whole set is ingested).
async function waitIngested(base) {
  const byTrace = new Map();
  for (const s of SPANS) {
    if (!byTrace.has(s.traceId)) byTrace.set(s.traceId, []);
    byTrace.get(s.traceId).push(s.spanId);
  }
  await waitFor(async () => {
    for (const [traceId, spans] of byTrace) {
      const ids = await traceSpanIds(base, traceId);
      if (!ids || spans.some((id) => !ids.includes(id))) return false;
    }
    return true;
  }, { timeoutMs: 30000, intervalMs: 250, describe: 'every trace of the set readable by ID' });
}

// ---- the checks, run against each server and phase ------------------------------------------------

function checks(label, server) {
  it(`${label}: rate() by (resource.service.name)`, async () => {
    const q = '{} | rate() by (resource.service.name)';
    const got = readRange(await queryRange(server().base, q, '60s'), q);
    assertSeries(got, expectedRange({ fn: 'rate', by: ['resource.service.name'] }, 60), 60, q);
    // The construction: shop-payments has 3(k + 1) spans in minute k → rate (k + 1) / 20.
    const pay = got.find((s) => s.key === 'resource.service.name=s:shop-payments');
    assert.equal(pay.samples.filter((p) => p.value > 0).length, 6);
  });

  it(`${label}: count_over_time() by (resource.service.name), range and instant`, async () => {
    const q = '{} | count_over_time() by (resource.service.name)';
    const got = readRange(await queryRange(server().base, q, '60s'), q);
    assertSeries(got, expectedRange({ fn: 'count', by: ['resource.service.name'] }, 60), 60, q);
    const inst = await getJson(server().base, '/api/metrics/query', { q, start: RANGE.start, end: RANGE.end });
    assert.ok(Array.isArray(inst.series), JSON.stringify(inst));
    const want = new Map();
    for (const s of SPANS) want.set(`resource.service.name=s:${s.service}`, (want.get(`resource.service.name=s:${s.service}`) || 0) + 1);
    const have = new Map(inst.series.map((s) => [keyOfLabels(s.labels), num(s.value ?? 0)]));
    assert.deepEqual(have, want, 'instant: every span of the window once, per service');
  });

  it(`${label}: quantile_over_time(duration, .5, .9, .99)`, async () => {
    const q = '{} | quantile_over_time(duration, .5, .9, .99)';
    const got = readRange(await queryRange(server().base, q, '60s'), q);
    assertSeries(got, expectedRange({ fn: 'quantile', qs: [0.5, 0.9, 0.99] }, 60), 60, q);
  });

  it(`${label}: quantile_over_time(duration, .9) by (resource.service.name)`, async () => {
    const q = '{} | quantile_over_time(duration, .9) by (resource.service.name)';
    const got = readRange(await queryRange(server().base, q, '60s'), q);
    assertSeries(got, expectedRange({ fn: 'quantile', qs: [0.9], by: ['resource.service.name'] }, 60), 60, q);
  });

  it(`${label}: histogram_over_time(duration)`, async () => {
    const q = '{} | histogram_over_time(duration)';
    const got = readRange(await queryRange(server().base, q, '60s'), q);
    const want = expectedRange({ fn: 'histogram' }, 60);
    // The buckets of the construction: 2 ms → 2^21 ns … 1.5 s → 2^31 ns, and the SDK's.
    for (const key of want.keys()) assert.match(key, /^__bucket=d:0\.\d+|^__bucket=d:\d/);
    assertSeries(got, want, 60, q);
    const total = got.reduce((a, s) => a + s.samples.reduce((x, p) => x + (p.value || 0), 0), 0);
    assert.equal(total, SPANS.length, 'every span in one bucket of one step');
  });

  it(`${label}: compare({status=error})`, async () => {
    const q = '{} | compare({status=error})';
    const got = readRange(await queryRange(server().base, q, `${RANGE.end - RANGE.start}s`), q);
    checkCompare(got, expectedCompare({ selection: ['error'] }), q);
  });

  it(`${label}: exemplars name spans that exist`, async () => {
    const q = '{} | rate() by (resource.service.name)';
    const got = readRange(await queryRange(server().base, q, '60s', { exemplars: 10 }), q);
    const exemplars = got.flatMap((s) => s.exemplars);
    // At most the `exemplars` asked for (reference §3: up to the parameter).
    assert.ok(exemplars.length > 0 && exemplars.length <= 10, `exemplars: ${exemplars.length}`);
    const bySpan = new Map(SPANS.map((s) => [s.spanId, s]));
    for (const e of exemplars) {
      // Hex; Tempo may leave out leading zeros (util.TraceIDToHexString).
      assert.match(e.traceId, /^[0-9a-f]{1,32}$/i, JSON.stringify(e));
      const span = bySpan.get(spanIdHex(e.spanId));
      assert.ok(span, `exemplar span ${e.spanId} is one of the set`);
      assert.equal(span.traceId, fullTraceId(e.traceId));
      assert.equal(e.ts, Number(span.start / MS), 'exemplar at the span start (ms)');
      // Read back by the ID as the exemplar gives it (Grafana's "View trace" link does so).
      const ids = await traceSpanIds(server().base, e.traceId);
      assert.ok(ids && ids.includes(span.spanId), `trace ${e.traceId} read by ID holds span ${span.spanId}`);
    }
    // Each exemplar sits on the series of its span's service.
    for (const s of got) {
      for (const e of s.exemplars) {
        assert.equal(s.key, `resource.service.name=s:${bySpan.get(spanIdHex(e.spanId)).service}`);
      }
    }
  });

  it(`${label}: the Traces Drilldown requests answer as Grafana and the app read them`, async () => {
    for (const f of FIXTURES) {
      const q = render(f.template);
      assert.match(q, GRAFANA_METRICS_RE, `${f.id}: Grafana sees a metrics query`);
      const step = fixtureStep(f);
      const stepS = Number(step.replace(/s$/, ''));
      const extra = f.exemplars ? { exemplars: f.exemplars } : {};
      const got = readRange(await queryRange(server().base, q, step, extra), q);
      const e = f.expect;
      if (e.fn === 'compare') {
        checkCompare(got, expectedCompare(e), `${f.id}: ${q}`);
        continue;
      }
      assertSeries(got, expectedRange(e, stepS), stepS, `${f.id}: ${q} (step ${step})`);
      if (e.exemplars) {
        const n = got.reduce((a, s) => a + s.exemplars.length, 0);
        assert.ok(n > 0, `${f.id}: exemplars`);
        for (const s of got) {
          for (const x of s.exemplars) {
            assert.ok(SPANS.some((sp) => sp.spanId === spanIdHex(x.spanId) && sp.traceId === fullTraceId(x.traceId)),
              `${f.id}: exemplar ${JSON.stringify(x)} names a span of the set`);
          }
        }
      }
    }
  });
}

// compare()'s answer as the app reads it: one non-internal label per series, __meta_type of the
// four kinds (quotes tolerated), the sums of the checked attributes' series and totals.
function checkCompare(got, { sums, totals }, what) {
  const metaOf = (s) => {
    const l = s.labels.find((x) => x.key === '__meta_type');
    return l && 'stringValue' in l.value ? l.value.stringValue.replace(/^"(.*)"$/, '$1') : null;
  };
  const sum = (s) => s.samples.reduce((a, p) => a + (Number.isFinite(p.value) ? p.value : 0), 0);
  const have = new Map();
  const haveTotals = new Map();
  for (const s of got) {
    if (s.labels.some((l) => l.key === '__meta_error')) continue;
    const meta = metaOf(s);
    assert.ok(['baseline', 'selection', 'baseline_total', 'selection_total'].includes(meta),
      `${what}: __meta_type of ${s.key}`);
    const own = s.labels.filter((l) => !l.key.startsWith('__'));
    assert.equal(own.length, 1, `${what}: one attribute label in ${s.key}`);
    const attr = own[0].key;
    if (!(attr in COMPARE_ATTRS)) continue;
    if (meta.endsWith('_total')) haveTotals.set(`${meta} ${attr}`, sum(s));
    else have.set(seriesKey([['__meta_type', `s:${meta}`], [attr, labelValue(own[0].value)]]), sum(s));
  }
  assert.deepEqual(new Map([...have].sort()), new Map([...sums].sort()), `${what}: baseline/selection counts`);
  assert.deepEqual(new Map([...haveTotals].sort()), new Map([...totals].sort()), `${what}: totals`);
}

// ---- the servers --------------------------------------------------------------------------------

after(stopStartedTraces);

describe('the fixtures', () => {
  it('every Drilldown request is a metrics query to Grafana, the heatmap one a histogram', () => {
    assert.ok(FIXTURES.length >= 10);
    for (const f of FIXTURES) {
      const q = render(f.template);
      assert.match(q, GRAFANA_METRICS_RE, f.id);
      assert.equal(GRAFANA_HISTOGRAM_RE.test(q), f.expect.fn === 'histogram', f.id);
      assert.ok(!/\$\{/.test(q), `${f.id}: rendered ${q}`);
    }
    // A search query is not a metrics query.
    assert.doesNotMatch('{nestedSetParent<0 && true && status = error} | select(resource.service.name)', GRAFANA_METRICS_RE);
  });

  it('the construction is what the header says', () => {
    const roots = SPANS.filter((s) => s.parentSpanId === '' && !s.sdk);
    assert.equal(roots.length, 126);
    assert.equal(SPANS.filter((s) => s.service === 'shop-db').length, 12);
    for (const s of SPANS) {
      const inMinute = Number((s.start - T0) % (60n * S)) / 1e9;
      assert.ok(inMinute >= 30 && inMinute < 35, `${s.spanId} at +${inMinute} s of its minute`);
    }
    // Log2Quantile on Tempo's own worked example (20 spans in the 2^29 ns bucket): p50 is the
    // exponential midpoint of (2^28, 2^29] ns.
    assert.ok(Math.abs(log2Quantile(0.5, new Map([[0.536870912, 20]])) - 2 ** (Math.log2(0.536870912) - 0.5)) < 1e-12);
    assert.equal(log2Quantile(1, new Map([[0.004194304, 3], [0.134217728, 1]])), 0.134217728);
  });
});

describe('sprout traces: live, then from blocks after a restart', () => {
  let server;
  let dir;
  let ports;
  before(async () => {
    dir = makeTempDir('sprout-e2e-tqlm-');
    const [api, grpc, http] = await freePorts(3);
    ports = { api, grpc, http };
    server = await startTraces(dir, ports, ['--set', 'ingester.flush_all_on_shutdown=true']);
    await sendHandBuilt(ports.http);
    await sendSdkSpans(ports.http);
    await waitIngested(server.base);
  });

  describe('live', () => checks('traces live', () => server));

  describe('blocks', () => {
    before(async () => {
      const exit = await server.stop();
      assert.equal(exit.code, 0, server.log());
      // The shutdown wrote the live traces into a block (flush_all_on_shutdown).
      const metas = fs.readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('meta.json'));
      assert.ok(metas.length > 0, `a block under ${dir}`);
      server = await startTraces(dir, ports, ['--set', 'ingester.flush_all_on_shutdown=true']);
      await waitIngested(server.base);
    });
    checks('traces blocks', () => server);
  });

  // The SDK's four spans again (new IDs, same times) into the live set of the restarted server:
  // one answer from the block and the live traces together (minute 2 then has 8 SDK spans).
  describe('blocks and live together', () => {
    before(async () => {
      await sendSdkSpans(ports.http, { keep: true });
      assert.equal(SPANS.filter((s) => s.sdk).length, 8);
      await waitIngested(server.base);
    });
    checks('traces blocks+live', () => server);
  });
});

describe('sprout all: live', () => {
  let all;
  before(async () => {
    const dir = makeTempDir('sprout-e2e-tqlm-all-');
    const [api, grpc, http] = await freePorts(3);
    all = startAll(dir, { api, grpc, http });
    await all.ready();
    await sendHandBuilt(http);
    await sendSdkSpans(http);
    await waitIngested(all.base);
  });
  after(async () => { if (all) await all.stop(); });
  checks('all live', () => all);
});
