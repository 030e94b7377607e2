'use strict';
// Issue 11's search acceptance: `/api/search` by tags, duration bounds and time range, with a
// `limit` above the trace set's size, returns exactly the expected trace IDs on a known trace set
// — over live data, over blocks, and over both at once.
//
// The trace set is built here (OTLP/JSON over HTTP, hand-written requests): 48 traces, each of
// 3 spans (a SERVER root and two children) under one of three services, with span attributes
// `http.method` (GET/POST), `http.status_code` (an int: 200, or 500 for every 7th trace, whose
// root then has status ERROR), `region` (eu/us/ap), span names `GET /route-<k>`, `db-query`,
// `render`, a duration of (i + 1) × 10 ms and starts 2 s apart, 10 minutes ago. The expected IDs
// of every query come from that construction (a trace matches when every tag name=value is
// carried by some span or resource, its duration is within the bounds, and its time range meets
// [start, end]), never from the server's own answers.
//
// Phase 1: the first half is pushed and searched while live (in memory). Phase 2: the server is
// stopped with `ingester.flush_all_on_shutdown` (the traces go into a block) and started again:
// the same queries over the block. Phase 3: the second half is pushed (live) and the queries run
// over the block and the live traces together.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const { freePorts, makeTempDir, parsePrometheusText } = require('./lib/sprout');
const { startTraces: startTracesServer, stopStartedTraces } = require('./lib/traces');

after(stopStartedTraces);

// Every server of this file writes its blocks at shutdown (phase 2 reads them).
const startTraces = (cwd, ports, extraArgs = []) =>
  startTracesServer(cwd, ports, ['--set', 'ingester.flush_all_on_shutdown=true', ...extraArgs]);

const MS = 1000000n;
const SERVICES = ['checkout', 'payments', 'search'];
const REGIONS = ['eu', 'us', 'ap'];
const N = 48;
// A whole second, so that trace i starts exactly 2i s after it.
const BASE_NS = BigInt(Math.floor(Date.now() / 1000) - 600) * 1000n * MS;

// Trace i of the known set: its spans and the facts the expected answers are computed from.
function makeTrace(i) {
  const traceId = crypto.randomBytes(16).toString('hex');
  const start = BASE_NS + BigInt(i) * 2000n * MS;
  const duration = BigInt(i + 1) * 10n * MS;
  const end = start + duration;
  const error = i % 7 === 0;
  const service = SERVICES[i % 3];
  const region = REGIONS[Math.floor(i / 3) % 3];
  const method = i % 2 === 0 ? 'GET' : 'POST';
  const status = error ? 500 : 200;
  const rootName = `GET /route-${i % 5}`;
  const rootId = crypto.randomBytes(8).toString('hex');
  const kv = (key, value) => (typeof value === 'number'
    ? { key, value: { intValue: String(value) } }
    : { key, value: { stringValue: value } });
  const spans = [
    {
      traceId, spanId: rootId, name: rootName, kind: 2,
      startTimeUnixNano: String(start), endTimeUnixNano: String(end),
      attributes: [kv('http.method', method), kv('http.status_code', status)],
      status: error ? { code: 2, message: 'boom' } : {},
    },
    {
      traceId, spanId: crypto.randomBytes(8).toString('hex'), parentSpanId: rootId, name: 'db-query', kind: 3,
      startTimeUnixNano: String(start + duration / 4n), endTimeUnixNano: String(start + duration / 2n),
      attributes: [kv('region', region)],
    },
    {
      traceId, spanId: crypto.randomBytes(8).toString('hex'), parentSpanId: rootId, name: 'render', kind: 1,
      startTimeUnixNano: String(start + duration / 2n), endTimeUnixNano: String(end - duration / 10n),
      attributes: [],
    },
  ];
  return {
    traceId, service, spans,
    facts: { service, region, method, status, error, rootName, start, end, duration },
  };
}

const TRACES = Array.from({ length: N }, (_, i) => makeTrace(i));

async function push(ports, traces) {
  const body = {
    resourceSpans: traces.map((t) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: t.service } }] },
      scopeSpans: [{ scope: { name: 'e2e-search' }, spans: t.spans }],
    })),
  };
  const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
}

// A query: its URL parameters and the predicate over a trace's facts (the expected answer).
const sec = (ns) => Number(ns / 1000000000n);
const QUERIES = [
  { name: 'service', params: { tags: 'service.name=payments' }, want: (f) => f.service === 'payments' },
  { name: 'two tags on different spans', params: { tags: 'service.name=checkout region=us' },
    want: (f) => f.service === 'checkout' && f.region === 'us' },
  { name: 'int attribute', params: { tags: 'http.status_code=500' }, want: (f) => f.status === 500 },
  { name: 'status=error', params: { tags: 'status=error' }, want: (f) => f.error },
  { name: 'span name', params: { tags: 'name=db-query http.method=POST' }, want: (f) => f.method === 'POST' },
  { name: 'root name with a space (logfmt quoted)', params: { tags: 'name="GET /route-3"' },
    want: (f) => f.rootName === 'GET /route-3' },
  { name: 'minDuration', params: { minDuration: '205ms' }, want: (f) => f.duration >= 205n * MS },
  { name: 'maxDuration', params: { maxDuration: '95ms' }, want: (f) => f.duration <= 95n * MS },
  { name: 'tag and both duration bounds', params: { tags: 'region=eu', minDuration: '55ms', maxDuration: '305ms' },
    want: (f) => f.region === 'eu' && f.duration >= 55n * MS && f.duration <= 305n * MS },
  // Traces start 2 s apart and last under 0.5 s: [BASE+11 s, BASE+31 s] holds traces 6..15 whole,
  // and nothing of 5 (ends by BASE+10.06 s) or 16 (starts at BASE+32 s).
  { name: 'time range', params: { start: sec(BASE_NS) + 11, end: sec(BASE_NS) + 31 },
    want: (f) => f.start >= BASE_NS + 11000n * MS && f.start <= BASE_NS + 31000n * MS },
  { name: 'time range and tag', params: { tags: 'http.method=GET', start: sec(BASE_NS) + 11, end: sec(BASE_NS) + 61 },
    want: (f) => f.method === 'GET' && f.start >= BASE_NS + 11000n * MS && f.start <= BASE_NS + 61000n * MS },
  { name: 'no match', params: { tags: 'region=mars' }, want: () => false },
];

const norm = (id) => id.toLowerCase().padStart(32, '0');

async function search(base, params) {
  const q = new URLSearchParams({ limit: '1000', ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) });
  const res = await fetch(`${base}/api/search?${q}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text);
  return (body.traces || []).map((t) => norm(t.traceID)).sort();
}

async function checkAll(base, present) {
  for (const q of QUERIES) {
    const want = present.filter((t) => q.want(t.facts)).map((t) => t.traceId).sort();
    const got = await search(base, q.params);
    assert.deepEqual(got, want, `${q.name}: /api/search?${new URLSearchParams(q.params)}`);
  }
  // Sanity of the known set itself: the queries are not all trivially empty.
  const nonEmpty = QUERIES.filter((q) => present.some((t) => q.want(t.facts))).length;
  assert.ok(nonEmpty >= QUERIES.length - 1, `only ${nonEmpty} queries have matches`);
}

async function metric(base, name) {
  const res = await fetch(`${base}/metrics`);
  const samples = parsePrometheusText(await res.text());
  return samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}

describe('sprout traces: search over live data and blocks', () => {
  const dir = makeTempDir('sprout-e2e-tsearch-');
  let ports;
  const first = TRACES.slice(0, N / 2);
  const second = TRACES.slice(N / 2);

  it('finds exactly the expected traces while they are live', async () => {
    const [api, grpc, http] = await freePorts(3);
    ports = { api, grpc, http };
    const s = await startTraces(dir, ports);
    await push(ports, first);
    await checkAll(s.base, first);
    assert.equal(await metric(s.base, 'tempodb_blocklist_length'), 0, 'no block yet');
    const exit = await s.stop();
    assert.equal(exit.code, 0, s.log());
  });

  it('finds exactly the same traces in the block written at shutdown, after a restart', async () => {
    const s = await startTraces(dir, ports);
    assert.ok(await metric(s.base, 'tempodb_blocklist_length') >= 1, `no block loaded\n${s.log()}`);
    // Everything is in the block: nothing live or pending was replayed from the WAL.
    assert.equal(await metric(s.base, 'tempo_ingester_live_traces'), 0);
    assert.equal(await metric(s.base, 'sprout_traces_pending_traces'), 0);
    await checkAll(s.base, first);
    await s.stop();
  });

  it('finds exactly the expected traces over a block and live data together', async () => {
    const s = await startTraces(dir, ports);
    await push(ports, second);
    assert.ok(await metric(s.base, 'tempodb_blocklist_length') >= 1);
    await checkAll(s.base, TRACES);
    await s.stop();
  });
});
