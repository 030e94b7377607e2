'use strict';
// Issue 12's Grafana acceptance item: the requests Grafana's Tempo data source makes for search
// and for tag and value autocomplete — with a partial TraceQL query as its editors send it —
// replayed against `sprout traces` and `sprout all`, answered in the shapes Grafana parses (docs/grafana.md,
// "Tempo data source"), with the values the trace set implies.
//
// The requests, as Grafana's public source builds them (grafana/grafana,
// public/app/plugins/datasource/tempo):
//   - language_provider.ts fetchTags: GET /api/v2/search/tags?limit=5000[&start&end]
//     (TAGS_LIMIT; start/end when the data source limits the tags' time range); it reads
//     `scopes[].name` and `scopes[].tags[]`. Older releases fall back to /api/search/tags
//     (`tagNames[]`).
//   - language_provider.ts getOptionsV2: GET /api/v2/search/tag/<tag>/values?q=<query>&limit=5000
//     [&start&end], the tag encoded with encodeURIComponent twice (encodeTag); it reads
//     `tagValues[].type` and `tagValues[].value` (values without `value` are skipped). `q` is
//     the query of the search builder's other filters (generateQueryFromFilters:
//     `{resource.service.name="x" && name="y"}`, no spaces around the operator) or the code
//     editor's text up to the value being completed (an unfinished matcher at the end).
//     Older releases fall back to /api/search/tag/<tag>/values (`tagValues[]` strings).
//   - health check (pkg/tsdb/tempo and datasource.ts testDatasource / featuresToTempoVersion):
//     GET /api/echo (body `echo`) and GET /api/status/buildinfo (`version`, semver).
//   - trace by ID (pkg/tsdb/tempo/trace.go): GET /api/v2/traces/<id>?start=<s>&end=<s> with
//     `Accept: application/protobuf`, a TraceByIDResponse {trace 1: Trace{resourceSpans 1},
//     metrics 2, status 3, message 4} (reference/tempo.md §1); v1 /api/traces/<id> on a 404.
//   - datasource.ts handleTraceQlQuery (streaming off): GET /api/search?q=<TraceQL>&limit=20
//     &spss=3&start=<s>&end=<s> (DEFAULT_LIMIT, DEFAULT_SPSS); resultTransformer.ts
//     formatTraceQLResponse reads traces[].traceID, rootServiceName, rootTraceName,
//     startTimeUnixNano, durationMs, spanSets[] (or spanSet) with spans[].spanID, name,
//     startTimeUnixNano, durationNanos, attributes[] (OTLP KeyValue), matched, attributes.
//
// The trace set (OTLP/JSON over HTTP, built here): 6 traces t = 0..5, each three spans under
// three services: a SERVER root on `frontend` (resource also deployment.environment=prod) named
// `GET /cart` (t even) or `POST /checkout` (t odd) with http.method GET/POST, int
// http.status_code 200 (500 and status ERROR for t = 3) and `http/route` /cart or /checkout; an
// INTERNAL child `cart.load` on `cart` with int cart.items = t + 1 and `team name` basket (t < 3)
// or orders; a CLIENT grandchild `SELECT`
// on `db` with db.system postgres (t even) or redis (t odd). Every expected value below comes from
// that construction.
//
// Each replay runs over the traces live (in memory), then again after a restart with
// `ingester.flush_all_on_shutdown` (from the block).

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const protobuf = require('protobufjs');

const { freePorts, makeTempDir, parsePrometheusText } = require('./lib/sprout');
const { startTraces: startTracesServer, stopStartedTraces } = require('./lib/traces');
const { startAll } = require('./lib/all');

after(stopStartedTraces);

const startTraces = (cwd, ports) =>
  startTracesServer(cwd, ports, ['--set', 'ingester.flush_all_on_shutdown=true']);

const MS = 1000000n;
const NOW_S = Math.floor(Date.now() / 1000);
const BASE_NS = BigInt(NOW_S - 600) * 1000n * MS; // 10 minutes ago
// Grafana's time range: the last hour.
const RANGE = { start: NOW_S - 3600, end: NOW_S + 60 };

const kv = (key, value) => (typeof value === 'number'
  ? { key, value: { intValue: String(value) } }
  : { key, value: { stringValue: value } });

function makeTrace(t) {
  const traceId = crypto.randomBytes(16).toString('hex');
  const rootId = crypto.randomBytes(8).toString('hex');
  const cartId = crypto.randomBytes(8).toString('hex');
  const dbId = crypto.randomBytes(8).toString('hex');
  const start = BASE_NS + BigInt(t) * 1000n * MS;
  const get = t % 2 === 0;
  const error = t === 3;
  const ns = (ms) => String(start + BigInt(ms) * MS);
  return {
    traceId,
    frontend: [{
      traceId, spanId: rootId, name: get ? 'GET /cart' : 'POST /checkout', kind: 2,
      startTimeUnixNano: ns(0), endTimeUnixNano: ns(100),
      attributes: [kv('http.method', get ? 'GET' : 'POST'), kv('http.status_code', error ? 500 : 200),
        kv('http/route', get ? '/cart' : '/checkout')],
      status: error ? { code: 2, message: 'checkout failed' } : {},
    }],
    cart: [{
      traceId, spanId: cartId, parentSpanId: rootId, name: 'cart.load', kind: 1,
      startTimeUnixNano: ns(10), endTimeUnixNano: ns(60),
      attributes: [kv('cart.items', t + 1), kv('team name', t < 3 ? 'basket' : 'orders')],
    }],
    db: [{
      traceId, spanId: dbId, parentSpanId: cartId, name: 'SELECT', kind: 3,
      startTimeUnixNano: ns(20), endTimeUnixNano: ns(40),
      attributes: [kv('db.system', get ? 'postgres' : 'redis')],
    }],
  };
}

const TRACES = Array.from({ length: 6 }, (_, t) => makeTrace(t));

async function push(ports) {
  const resource = (service, extra = []) => ({ attributes: [kv('service.name', service), ...extra] });
  const body = {
    resourceSpans: [
      { resource: resource('frontend', [kv('deployment.environment', 'prod')]),
        scopeSpans: [{ scope: { name: 'e2e-grafana' }, spans: TRACES.flatMap((t) => t.frontend) }] },
      { resource: resource('cart'), scopeSpans: [{ scope: { name: 'e2e-grafana' }, spans: TRACES.flatMap((t) => t.cart) }] },
      { resource: resource('db'), scopeSpans: [{ scope: { name: 'e2e-grafana' }, spans: TRACES.flatMap((t) => t.db) }] },
    ],
  };
  const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
}

// Grafana's request helper: the parameters URL-encoded (encodeURIComponent).
function url(base, path, params) {
  const q = Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
  return `${base}${path}${q ? `?${q}` : ''}`;
}

async function getJson(u) {
  const res = await fetch(u);
  const text = await res.text();
  assert.equal(res.status, 200, `${u}: ${text}`);
  assert.match(res.headers.get('content-type') || '', /application\/json/);
  return JSON.parse(text);
}

// Grafana's encodeTag.
const encodeTag = (tag) => encodeURIComponent(encodeURIComponent(tag));

// GET /api/v2/search/tag/<tag>/values as getOptionsV2 sends it; checks the shape Grafana parses
// and returns the values as "type:value", sorted.
async function tagValuesV2(base, tag, q) {
  const params = {};
  if (q !== undefined) params.q = q;
  params.limit = 5000;
  params.start = RANGE.start;
  params.end = RANGE.end;
  const body = await getJson(url(base, `/api/v2/search/tag/${encodeTag(tag)}/values`, params));
  assert.equal(typeof body, 'object');
  assert.equal(typeof body.metrics, 'object', 'metrics');
  const values = body.tagValues || [];
  assert.ok(Array.isArray(values));
  for (const v of values) {
    assert.deepEqual(Object.keys(v).filter((k) => k !== 'type' && k !== 'value'), [], JSON.stringify(v));
    assert.equal(typeof v.type, 'string');
    assert.equal(typeof v.value, 'string');
  }
  return values.map((v) => `${v.type}:${v.value}`).sort();
}

// GET /api/v2/search/tags as fetchTags sends it (plus `q`, which Tempo also reads); returns
// {scope: [names]}.
async function tagsV2(base, q) {
  const params = {};
  if (q !== undefined) params.q = q;
  params.limit = 5000;
  params.start = RANGE.start;
  params.end = RANGE.end;
  const body = await getJson(url(base, '/api/v2/search/tags', params));
  assert.equal(typeof body.metrics, 'object');
  const out = {};
  for (const s of body.scopes || []) {
    assert.equal(typeof s.name, 'string');
    assert.ok(Array.isArray(s.tags), JSON.stringify(s));
    for (const t of s.tags) assert.equal(typeof t, 'string');
    out[s.name] = [...s.tags].sort();
  }
  return out;
}

const ALL_SERVICES = ['string:cart', 'string:db', 'string:frontend'];

async function replayAutocomplete(base) {
  // fetchTags: every scope Grafana shows.
  const tags = await tagsV2(base);
  assert.deepEqual(tags.resource, ['deployment.environment', 'service.name']);
  assert.deepEqual(tags.span, ['cart.items', 'db.system', 'http.method', 'http.status_code', 'http/route', 'team name']);
  assert.ok(tags.intrinsic.includes('name') && tags.intrinsic.includes('status') && tags.intrinsic.includes('kind'));
  assert.deepEqual(tags.instrumentation, undefined, 'no scope attributes were sent');

  // Tag names narrowed by a query: the names on the db spans and their resource.
  const dbTags = await tagsV2(base, '{ resource.service.name = "db" && span.db.system=');
  assert.deepEqual(dbTags.span, ['db.system']);
  assert.deepEqual(dbTags.resource, ['service.name']);
  assert.ok(dbTags.intrinsic.includes('name'));

  // getOptionsV2 without a query (the first value dropdown).
  assert.deepEqual(await tagValuesV2(base, 'resource.service.name'), ALL_SERVICES);
  assert.deepEqual(await tagValuesV2(base, 'name'),
    ['string:GET /cart', 'string:POST /checkout', 'string:SELECT', 'string:cart.load']);
  assert.deepEqual(await tagValuesV2(base, 'kind'), ['keyword:client', 'keyword:internal', 'keyword:server']);

  // The search builder's query of the other filters (generateQueryFromFilters' form).
  assert.deepEqual(await tagValuesV2(base, 'span.http.method', '{resource.service.name="frontend"}'),
    ['string:GET', 'string:POST']);
  assert.deepEqual(await tagValuesV2(base, 'name', '{resource.service.name="db" || resource.service.name="cart"}'),
    ['string:SELECT', 'string:cart.load']);
  assert.deepEqual(await tagValuesV2(base, 'resource.service.name', '{span.http.status_code=500}'),
    ['string:frontend']);
  assert.deepEqual(await tagValuesV2(base, 'status', '{resource.service.name="frontend"}'),
    ['keyword:error', 'keyword:unset']);
  assert.deepEqual(await tagValuesV2(base, 'span.cart.items', '{resource.service.name="cart" && name="cart.load"}'),
    ['int:1', 'int:2', 'int:3', 'int:4', 'int:5', 'int:6']);

  // The code editor's text with the matcher being typed unfinished at the end: narrowed to
  // its complete matchers.
  assert.deepEqual(await tagValuesV2(base, 'span.db.system', '{ resource.service.name = "db" && span.db.system='),
    ['string:postgres', 'string:redis']);
  assert.deepEqual(await tagValuesV2(base, 'span.http.method', '{ span.http.status_code = 500 && span.http.method = '),
    ['string:POST']);
  assert.deepEqual(await tagValuesV2(base, 'span.db.system', '{ name = "SELECT" && span.db.system = "redis" && resource.'),
    ['string:redis']);
  // A query Tempo cannot narrow (structural, or nothing complete): the unfiltered list.
  assert.deepEqual(await tagValuesV2(base, 'resource.service.name', '{ name = "SELECT" } >> { span.db.system = '),
    ALL_SERVICES);
  assert.deepEqual(await tagValuesV2(base, 'resource.service.name', '{ span.http.method = '), ALL_SERVICES);
  // A filter nothing matches: no values (`tagValues` omitted, as Tempo's jsonpb).
  assert.deepEqual(await tagValuesV2(base, 'span.http.method', '{resource.service.name="nobody"}'), []);

  // A tag name with a character encodeURIComponent changes (`/`): encoded twice by Grafana.
  assert.deepEqual(await tagValuesV2(base, 'span.http/route', '{span.http.method="POST"}'), ['string:/checkout']);
  assert.deepEqual(await tagValuesV2(base, 'span.http/route'), ['string:/cart', 'string:/checkout']);
  // A name with a space, as Grafana writes it (scope + '.' + name, unquoted; Tempo takes the
  // rest of the identifier literally), then encoded twice.
  assert.deepEqual(await tagValuesV2(base, 'span.team name'), ['string:basket', 'string:orders']);
  assert.deepEqual(await tagValuesV2(base, 'span.team name', '{span.cart.items > 3}'), ['string:orders']);

  // The v1 fallbacks (older Grafana: getOptionsV1 sends no `q`; Tempo's v1 routes ignore it):
  // names and plain values.
  const v1Tags = await getJson(url(base, '/api/search/tags', {}));
  assert.ok(Array.isArray(v1Tags.tagNames));
  assert.ok(v1Tags.tagNames.includes('service.name') && v1Tags.tagNames.includes('http/route'));
  const v1Values = await getJson(url(base, `/api/search/tag/${encodeTag('db.system')}/values`, {}));
  assert.deepEqual(v1Values.tagValues, ['postgres', 'redis']);
  const v1Ignored = await getJson(url(base, `/api/search/tag/${encodeTag('db.system')}/values`,
    { q: '{span.db.system = "postgres"}' }));
  assert.deepEqual(v1Ignored.tagValues, ['postgres', 'redis']);
}

// The search Grafana runs (handleTraceQlQuery, streaming off): the builder's and the editor's
// TraceQL, answered with the traces the set implies, in formatTraceQLResponse's shape.
// TraceByIDResponse {trace = 1 (tempopb.Trace {resourceSpans = 1}, wire-compatible with OTLP
// TracesData), metrics = 2, status = 3, message = 4}: only `trace` is read here, as OTLP TracesData
// from the repository's proto/ (the field numbers are Tempo's, reference/tempo.md §1).
const protoRoot = new protobuf.Root();
protoRoot.resolvePath = (origin, target) => path.join(path.resolve(__dirname, '../../proto'), target);
protoRoot.loadSync(['opentelemetry/proto/trace/v1/trace.proto'], { keepCase: false });
const TracesData = protoRoot.lookupType('opentelemetry.proto.trace.v1.TracesData');
const ByIdResponse = new protobuf.Type('TraceByIDResponse')
  .add(new protobuf.Field('trace', 1, 'opentelemetry.proto.trace.v1.TracesData'))
  .add(new protobuf.Field('status', 3, 'int32'))
  .add(new protobuf.Field('message', 4, 'string'));
protoRoot.add(ByIdResponse);

// Grafana's health check and its backend's trace-by-ID request, for every trace of the set.
async function replayHealthAndTraceById(base) {
  const echo = await fetch(`${base}/api/echo`);
  assert.equal(echo.status, 200);
  assert.equal((await echo.text()).trim(), 'echo');
  const info = await (await fetch(`${base}/api/status/buildinfo`)).json();
  assert.match(info.version, /^\d+\.\d+\.\d+/, JSON.stringify(info));
  for (const t of TRACES) {
    const res = await fetch(url(base, `/api/v2/traces/${t.traceId}`, { start: RANGE.start, end: RANGE.end }),
      { headers: { Accept: 'application/protobuf' } });
    assert.equal(res.status, 200, t.traceId);
    assert.match(res.headers.get('content-type'), /application\/protobuf/);
    const decoded = ByIdResponse.decode(Buffer.from(await res.arrayBuffer()));
    assert.equal(decoded.status || 0, 0, 'COMPLETE');
    const spans = new Map();
    for (const rs of decoded.trace.resourceSpans) {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name').value.stringValue;
      for (const ss of rs.scopeSpans) for (const sp of ss.spans) spans.set(Buffer.from(sp.spanId).toString('hex'), { service, name: sp.name });
    }
    const expected = new Map([...t.frontend.map((x) => [x.spanId, { service: 'frontend', name: x.name }]),
      ...t.cart.map((x) => [x.spanId, { service: 'cart', name: x.name }]),
      ...t.db.map((x) => [x.spanId, { service: 'db', name: x.name }])]);
    assert.deepEqual(spans, expected, t.traceId);
  }
}

async function replaySearch(base) {
  const search = async (q) => {
    const res = await fetch(url(base, '/api/search', { q, limit: 20, spss: 3, start: RANGE.start, end: RANGE.end }));
    const text = await res.text();
    assert.equal(res.status, 200, `${q}: ${text}`);
    return JSON.parse(text);
  };
  const checkShape = (body) => {
    assert.equal(typeof body.metrics, 'object');
    for (const tr of body.traces || []) {
      assert.match(tr.traceID, /^[0-9a-f]{1,32}$/);
      assert.equal(typeof tr.rootServiceName, 'string');
      assert.equal(typeof tr.rootTraceName, 'string');
      assert.match(tr.startTimeUnixNano, /^[0-9]+$/);
      assert.equal(typeof tr.durationMs, 'number');
      assert.ok(Array.isArray(tr.spanSets), JSON.stringify(tr));
      assert.deepEqual(tr.spanSet, tr.spanSets[0]);
      for (const set of tr.spanSets) {
        assert.equal(typeof set.matched, 'number');
        assert.ok(set.spans.length <= 3, 'spss=3');
        for (const sp of set.spans) {
          assert.match(sp.spanID, /^[0-9a-f]{16}$/);
          assert.match(sp.startTimeUnixNano, /^[0-9]+$/);
          assert.match(sp.durationNanos, /^[0-9]+$/);
          for (const a of sp.attributes || []) {
            assert.equal(typeof a.key, 'string');
            assert.equal(typeof a.value, 'object');
          }
        }
      }
    }
  };
  const ids = (body) => (body.traces || []).map((tr) => tr.traceID.padStart(32, '0')).sort();
  const all = TRACES.map((tr) => tr.traceId).sort();

  const every = await search('{}');
  checkShape(every);
  assert.deepEqual(ids(every), all);
  for (const tr of every.traces) {
    assert.equal(tr.rootServiceName, 'frontend');
    assert.ok(['GET /cart', 'POST /checkout'].includes(tr.rootTraceName));
    assert.equal(tr.durationMs, 100);
  }

  const filtered = [
    ['{resource.service.name="db" && span.db.system="redis"}', [1, 3, 5]],
    ['{ span.http.status_code = 500 }', [3]],
    ['{ status = error } | count() > 0', [3]],
    ['{ name = "cart.load" && span.cart.items >= 5 }', [4, 5]],
  ];
  for (const [q, want] of filtered) {
    const body = await search(q);
    checkShape(body);
    assert.deepEqual(ids(body), want.map((i) => TRACES[i].traceId).sort(), q);
  }
  // A set's spans are the matching ones: the db span of a redis trace.
  const redis = await search('{resource.service.name="db" && span.db.system="redis"}');
  for (const tr of redis.traces) {
    assert.equal(tr.spanSets.length, 1);
    assert.equal(tr.spanSets[0].matched, 1);
    assert.equal(tr.spanSets[0].spans[0].name, 'SELECT');
    assert.equal(tr.spanSets[0].spans[0].durationNanos, String(20n * MS));
  }
  // by(): the set's attributes (Grafana shows them per span set).
  const by = await search('{resource.service.name="db"} | by(span.db.system)');
  checkShape(by);
  assert.deepEqual(ids(by), all);
  for (const tr of by.traces) {
    const t = TRACES.findIndex((x) => x.traceId === tr.traceID.padStart(32, '0'));
    assert.deepEqual(tr.spanSets[0].attributes,
      [{ key: 'by(span.db.system)', value: { stringValue: t % 2 === 0 ? 'postgres' : 'redis' } }]);
  }
  // select(): the selected attributes on the spans.
  const sel = await search('{name="cart.load"} | select(span.cart.items)');
  checkShape(sel);
  for (const tr of sel.traces) {
    const t = TRACES.findIndex((x) => x.traceId === tr.traceID.padStart(32, '0'));
    const attrs = tr.spanSets[0].spans[0].attributes;
    assert.deepEqual(attrs.find((a) => a.key === 'cart.items'), { key: 'cart.items', value: { intValue: String(t + 1) } });
  }
}

function replayAgainst(target, start) {
  describe(`${target}: Grafana Tempo data source requests`, () => {
    const dir = makeTempDir(`sprout-e2e-tgrafana-${target.replace(' ', '-')}-`);
    let ports;

    it('answers autocomplete and search over live traces', async () => {
      const [api, grpc, http] = await freePorts(3);
      ports = { api, grpc, http };
      const s = await start(dir, ports);
      await push(ports);
      await replayHealthAndTraceById(s.base);
      await replayAutocomplete(s.base);
      await replaySearch(s.base);
      const exit = await s.stop();
      assert.equal(exit.code, 0, s.log());
    });

    it('answers the same from the block written at shutdown', async () => {
      const s = await start(dir, ports);
      const samples = parsePrometheusText(await (await fetch(`${s.base}/metrics`)).text());
      const blocks = samples.filter((m) => m.name === 'tempodb_blocklist_length').reduce((a, m) => a + m.value, 0);
      const live = samples.filter((m) => m.name === 'tempo_ingester_live_traces').reduce((a, m) => a + m.value, 0);
      assert.ok(blocks >= 1, 'a block is loaded');
      assert.equal(live, 0, 'nothing live: every answer comes from the block');
      await replayHealthAndTraceById(s.base);
      await replayAutocomplete(s.base);
      await replaySearch(s.base);
      await s.stop();
    });
  });
}

replayAgainst('sprout traces', startTraces);
// The same requests on `sprout all`'s one HTTP port, the spans sent through its collector pipeline.
replayAgainst('sprout all', async (cwd, ports) => {
  const all = startAll(cwd, ports, ['--set', 'traces.ingester.flush_all_on_shutdown=true']);
  await all.ready();
  return all;
});
