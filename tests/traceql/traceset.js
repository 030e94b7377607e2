'use strict';
// The TraceQL corpus's trace set (issue 12): a small, hand-designed set of 23 traces (134 spans) that makes
// every feature of the language testable, built deterministically (no randomness, no clock but
// the base time passed in). Every span has a stable label ("t03.db"); its span ID is the first 8
// bytes of sha256("span/" + label), the trace ID the first 16 bytes of sha256("trace/" + label)
// (re-hashed until its first hex digit is not 0, so that `trace:id` literals and Tempo's trimmed
// trace IDs read the same). The corpus (corpus.jsonl) writes its expectations as labels.
//
// What is where (the corpus's "why" notes refer to this):
//   Resources  frontend (prod, host web-1, region "eu"), checkout (prod, "cloud zone" "z1"),
//              payments (prod, version int 3), inventory (staging, region "us"),
//              db-proxy (prod, db.system "postgres"), mail (staging), batch (no environment).
//   Scopes     http (io.opentelemetry.http 1.2.0, scope attr tier=edge), jdbc
//              (io.opentelemetry.jdbc 2.0.1), manual (name "manual", no version, no attrs).
//   t01..t10   the "order" shape, 8 spans of depth 5 (root > auth, call > charge > db, cache,
//              publish > consume) with per-trace values (ORDERS below).
//   t11..t23   hand-made traces: see each one's comment.
//
// Times: trace k (k = 1..23) starts at base + 10 k s; every span lies inside its trace's root
// except t05.consume (ends after its root: trace:duration > root duration).

const crypto = require('node:crypto');

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

function traceIdOf(label) {
  let h = sha(`trace/${label}`);
  while (h[0] === '0') h = sha(h);
  return h.slice(0, 32);
}
const spanIdOf = (label) => sha(`span/${label}`).slice(0, 16);

const RESOURCES = {
  frontend: { 'service.name': 'frontend', 'deployment.environment': 'prod', 'host.name': 'web-1', region: 'eu' },
  checkout: { 'service.name': 'checkout', 'deployment.environment': 'prod', 'cloud zone': 'z1' },
  payments: { 'service.name': 'payments', 'deployment.environment': 'prod', 'service.version': 3 },
  inventory: { 'service.name': 'inventory', 'deployment.environment': 'staging', region: 'us' },
  db: { 'service.name': 'db-proxy', 'deployment.environment': 'prod', 'db.system': 'postgres' },
  mail: { 'service.name': 'mail', 'deployment.environment': 'staging' },
  batch: { 'service.name': 'batch' },
};

const SCOPES = {
  http: { name: 'io.opentelemetry.http', version: '1.2.0', attributes: { tier: 'edge' } },
  jdbc: { name: 'io.opentelemetry.jdbc', version: '2.0.1', attributes: {} },
  manual: { name: 'manual', version: '', attributes: {} },
};

// OTLP span kinds and status codes.
const KIND = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS = { unset: 0, ok: 1, error: 2 };

const US = 1000n;
const MS = 1000000n;
const S = 1000000000n;

// Attribute values: JS string → string, Number.isInteger or BigInt → int, other number → double,
// boolean → bool, {f: x} → double even when integral, arrays of those → arrays.
const F = (x) => ({ f: x });

// The "order" shape's per-trace values.
//   method/code: the root's http.method, http.status_code; callCode: the call span's status code
//   (>= 500 makes call and charge ERROR); amount (double), currency, tags (string array) on charge;
//   rows (int) and ports (int array) on db; hit (bool) on cache; ms: root duration in ms.
const ORDERS = [
  { t: 't01', method: 'GET', code: 200, callCode: 200, amount: 10.5, currency: 'EUR', tags: ['new', 'web'], rows: 3, ports: [5432], hit: true, ms: 120 },
  { t: 't02', method: 'GET', code: 200, callCode: 200, amount: 99.99, currency: 'USD', tags: ['web'], rows: 0, ports: [5432, 6432], hit: false, ms: 250 },
  { t: 't03', method: 'POST', code: 201, callCode: 201, amount: 5, currency: 'EUR', tags: ['mobile', 'promo'], rows: 12, ports: [6432], hit: true, ms: 80 },
  { t: 't04', method: 'POST', code: 500, callCode: 503, amount: 250.25, currency: 'GBP', tags: ['web', 'retry'], rows: 1, ports: [5432], hit: false, ms: 1500 },
  { t: 't05', method: 'GET', code: 200, callCode: 200, amount: 42, currency: 'USD', tags: ['web'], rows: 7, ports: [3306], hit: true, ms: 60 },
  { t: 't06', method: 'DELETE', code: 404, callCode: 404, amount: 0.5, currency: 'EUR', tags: ['mobile'], rows: 0, ports: [5432, 3306], hit: false, ms: 35 },
  { t: 't07', method: 'GET', code: 502, callCode: 500, amount: 1000, currency: 'JPY', tags: ['web', 'new', 'vip'], rows: 100, ports: [6432], hit: true, ms: 3200 },
  { t: 't08', method: 'PUT', code: 200, callCode: 200, amount: 12.75, currency: 'USD', tags: ['api'], rows: 2, ports: [5432], hit: true, ms: 400 },
  { t: 't09', method: 'GET', code: 200, callCode: 200, amount: 7.25, currency: 'EUR', tags: ['web', 'promo'], rows: 9, ports: [6432, 5432], hit: false, ms: 95 },
  { t: 't10', method: 'POST', code: 503, callCode: 504, amount: 64, currency: 'USD', tags: ['mobile', 'retry'], rows: 0, ports: [3306], hit: false, ms: 2100 },
];

// A span: { label, parent (label or undefined), res, scope, name, kind, status: [code, message],
// start (ns offset from the trace start), dur (ns), attrs, events: [{name, at (ns offset from
// the span start), attrs}], links: [{trace, span (labels), attrs}] }.
function orderTrace(o) {
  const t = o.t;
  const d = BigInt(o.ms) * MS;
  const err = o.callCode >= 500;
  const spans = [
    { label: `${t}.root`, res: 'frontend', scope: 'http', name: `${o.method} /orders`, kind: 'server',
      status: o.code >= 500 ? ['error', `HTTP ${o.code}`] : ['unset', ''],
      start: 0n, dur: d,
      attrs: { 'http.method': o.method, 'http.status_code': o.code, 'http.route': '/orders' } },
    { label: `${t}.auth`, parent: `${t}.root`, res: 'frontend', scope: 'manual', name: 'auth', kind: 'internal',
      status: ['ok', ''], start: 100n * US, dur: d / 10n,
      attrs: { 'user.id': `u-${t}`, 'cache.hit': o.hit } },
    { label: `${t}.call`, parent: `${t}.root`, res: 'frontend', scope: 'http', name: 'POST /charge', kind: 'client',
      status: err ? ['error', 'upstream failed'] : ['unset', ''],
      start: d / 5n, dur: d / 2n,
      attrs: { 'http.method': 'POST', 'http.status_code': o.callCode, 'peer.port': 8443 } },
    { label: `${t}.charge`, parent: `${t}.call`, res: 'payments', scope: 'http', name: 'charge', kind: 'server',
      status: err ? ['error', 'card declined'] : ['ok', ''],
      start: d / 5n + 50n * US, dur: d / 2n - 100n * US,
      attrs: { amount: F(o.amount), currency: o.currency, tags: o.tags } },
    { label: `${t}.db`, parent: `${t}.charge`, res: 'db', scope: 'jdbc', name: 'SELECT orders', kind: 'client',
      status: ['unset', ''], start: d / 5n + 100n * US, dur: d / 10n,
      attrs: { 'db.statement': 'SELECT * FROM orders WHERE id = ?', 'db.rows': o.rows, 'net.ports': o.ports } },
    { label: `${t}.cache`, parent: `${t}.charge`, res: 'payments', scope: 'manual', name: 'cache.get', kind: 'internal',
      status: ['unset', ''], start: d / 5n + d / 10n + 200n * US, dur: 40n * US,
      attrs: { 'cache.hit': o.hit } },
    { label: `${t}.publish`, parent: `${t}.charge`, res: 'payments', scope: 'manual', name: 'publish orders', kind: 'producer',
      status: ['unset', ''], start: d / 5n + d / 5n, dur: 2n * MS,
      attrs: { 'messaging.destination': 'orders' } },
    { label: `${t}.consume`, parent: `${t}.publish`, res: 'mail', scope: 'manual', name: 'consume orders', kind: 'consumer',
      status: ['unset', ''], start: d / 5n + d / 5n + 3n * MS,
      // t05's consumer runs long after the request: its trace lasts longer than its root.
      dur: t === 't05' ? 5n * S : 1n * MS,
      attrs: { 'messaging.destination': 'orders' } },
  ];
  return { label: t, spans };
}

const TRACES = [
  ...ORDERS.map(orderTrace),

  // t11: a batch job, 2.5 s, a chain of depth 6 with siblings; no deployment.environment; an
  // UNSPECIFIED span; durations down to nanoseconds.
  { label: 't11', spans: [
    { label: 't11.root', res: 'batch', scope: 'manual', name: 'nightly-report', kind: 'internal', status: ['ok', ''], start: 0n, dur: 2500n * MS,
      attrs: { 'job.id': 9, 'job.shard': 0 } },
    { label: 't11.load', parent: 't11.root', res: 'batch', scope: 'manual', name: 'load', kind: 'internal', status: ['unset', ''], start: 1n * MS, dur: 900n * MS,
      attrs: { 'job.shard': 1 } },
    { label: 't11.parse', parent: 't11.load', res: 'batch', scope: 'manual', name: 'parse', kind: 'internal', status: ['unset', ''], start: 2n * MS, dur: 300n * MS, attrs: {} },
    { label: 't11.tokenize', parent: 't11.parse', res: 'batch', scope: 'manual', name: 'tokenize', kind: 'unspecified', status: ['unset', ''], start: 3n * MS, dur: 800n, attrs: {} },
    { label: 't11.intern', parent: 't11.tokenize', res: 'batch', scope: 'manual', name: 'intern', kind: 'internal', status: ['unset', ''], start: 3n * MS + 100n, dur: 250n, attrs: {} },
    { label: 't11.validate', parent: 't11.parse', res: 'batch', scope: 'manual', name: 'validate', kind: 'internal', status: ['error', 'bad row 17'], start: 200n * MS, dur: 50n * US,
      attrs: { 'row': 17 } },
    { label: 't11.write', parent: 't11.root', res: 'batch', scope: 'manual', name: 'write', kind: 'internal', status: ['unset', ''], start: 1000n * MS, dur: 1400n * MS,
      attrs: { 'job.shard': 2 } },
    { label: 't11.flush', parent: 't11.write', res: 'db', scope: 'jdbc', name: 'INSERT report', kind: 'client', status: ['unset', ''], start: 1100n * MS, dur: 1200n * MS,
      attrs: { 'db.rows': 5000, 'db.system': 'mysql' } },
  ] },

  // t12: an error trace with exception events; status messages on two levels.
  { label: 't12', spans: [
    { label: 't12.root', res: 'frontend', scope: 'http', name: 'GET /fail', kind: 'server', status: ['error', 'upstream failed'], start: 0n, dur: 75n * MS,
      attrs: { 'http.method': 'GET', 'http.status_code': 503, 'http.route': '/fail' } },
    { label: 't12.call', parent: 't12.root', res: 'frontend', scope: 'http', name: 'GET /stock', kind: 'client', status: ['error', 'connection refused'], start: 5n * MS, dur: 60n * MS,
      attrs: { 'http.method': 'GET', 'peer.port': 9000 },
      events: [
        { name: 'exception', at: 10n * MS, attrs: { 'exception.type': 'IOError', 'exception.message': 'connection refused' } },
        { name: 'retry', at: 30n * MS, attrs: { attempt: 2 } },
        { name: 'exception', at: 55n * MS, attrs: { 'exception.type': 'TimeoutError', 'exception.escaped': true } },
      ] },
    { label: 't12.log', parent: 't12.root', res: 'frontend', scope: 'manual', name: 'log', kind: 'internal', status: ['unset', ''], start: 70n * MS, dur: 1n * MS,
      attrs: {}, events: [{ name: 'log', at: 0n, attrs: { level: 'warn' } }] },
  ] },

  // t13: a retry trace whose spans link to other traces (t01.root, t12.call) with link attributes.
  { label: 't13', spans: [
    { label: 't13.root', res: 'checkout', scope: 'manual', name: 'retry-order', kind: 'consumer', status: ['unset', ''], start: 0n, dur: 30n * MS,
      attrs: { attempt: 2 },
      links: [{ trace: 't01', span: 't01.root', attrs: { relation: 'retry-of' } },
        { trace: 't12', span: 't12.call', attrs: { relation: 'caused-by', weight: 3 } }] },
    { label: 't13.step', parent: 't13.root', res: 'checkout', scope: 'manual', name: 'step', kind: 'internal', status: ['unset', ''], start: 1n * MS, dur: 10n * MS,
      attrs: {}, links: [{ trace: 't13', span: 't13.root', attrs: {} }] },
  ] },

  // t14: quoted attribute names (spaces, quotes) and the resource attribute "cloud zone".
  { label: 't14', spans: [
    { label: 't14.root', res: 'checkout', scope: 'http', name: 'GET /cart', kind: 'server', status: ['unset', ''], start: 0n, dur: 15n * MS,
      attrs: { 'a b': 'spaced', 'say "hi"': 'quoted', 'http.method': 'GET', 'http.status_code': 200 } },
    { label: 't14.child', parent: 't14.root', res: 'checkout', scope: 'manual', name: 'render cart', kind: 'internal', status: ['unset', ''], start: 1n * MS, dur: 5n * MS,
      attrs: { 'a b': 'other', city: 'Zürich' } },
  ] },

  // t15: the unscoped-attribute case: `region` is a span attribute here (on a checkout span,
  // whose resource has no region) and a resource attribute of frontend / inventory; t15.mixed
  // carries span region "ap" under the inventory resource (resource region "us").
  { label: 't15', spans: [
    { label: 't15.root', res: 'checkout', scope: 'manual', name: 'route', kind: 'server', status: ['unset', ''], start: 0n, dur: 20n * MS,
      attrs: { region: 'eu' } },
    { label: 't15.mixed', parent: 't15.root', res: 'inventory', scope: 'manual', name: 'reserve', kind: 'client', status: ['unset', ''], start: 2n * MS, dur: 8n * MS,
      attrs: { region: 'ap' } },
    { label: 't15.plain', parent: 't15.root', res: 'inventory', scope: 'manual', name: 'reserve', kind: 'client', status: ['unset', ''], start: 11n * MS, dur: 8n * MS,
      attrs: {} },
  ] },

  // t16: inventory (staging), statuses ok with a message; a float array and a bool.
  { label: 't16', spans: [
    { label: 't16.root', res: 'inventory', scope: 'http', name: 'GET /stock', kind: 'server', status: ['ok', 'all good'], start: 0n, dur: 45n * MS,
      attrs: { 'http.method': 'GET', 'http.status_code': 200, 'http.route': '/stock' } },
    { label: 't16.lookup', parent: 't16.root', res: 'inventory', scope: 'jdbc', name: 'SELECT stock', kind: 'client', status: ['ok', ''], start: 1n * MS, dur: 30n * MS,
      attrs: { 'db.rows': 4, weights: [F(0.5), F(1.5), F(2.25)], 'db.system': 'postgres' } },
  ] },

  // t17: fan-out: a 4 s root with 12 children (siblings), alternating services and statuses.
  { label: 't17', spans: [
    { label: 't17.root', res: 'frontend', scope: 'http', name: 'GET /search', kind: 'server', status: ['unset', ''], start: 0n, dur: 4n * S,
      attrs: { 'http.method': 'GET', 'http.status_code': 200, 'http.route': '/search' } },
    ...Array.from({ length: 12 }, (_, i) => ({
      label: `t17.s${String(i + 1).padStart(2, '0')}`, parent: 't17.root',
      res: i % 2 === 0 ? 'inventory' : 'checkout', scope: 'http', name: `shard-${i + 1}`, kind: 'client',
      status: i % 4 === 3 ? ['error', 'shard timeout'] : ['unset', ''],
      start: BigInt(i) * 100n * MS, dur: BigInt(i + 1) * 100n * MS,
      attrs: { shard: i + 1 },
    })),
  ] },

  // t18: one span alone (root and leaf): UNSPECIFIED kind, unset status, 1 µs, no attributes.
  { label: 't18', spans: [
    { label: 't18.only', res: 'mail', scope: 'manual', name: 'heartbeat', kind: 'unspecified', status: ['unset', ''], start: 0n, dur: 1n * US, attrs: {} },
  ] },

  // t19: events with names and times (event:timeSinceStart) on a producer/consumer pair.
  { label: 't19', spans: [
    { label: 't19.root', res: 'payments', scope: 'manual', name: 'settle', kind: 'producer', status: ['unset', ''], start: 0n, dur: 500n * MS,
      attrs: { batch: 17 },
      events: [{ name: 'queued', at: 5n * MS, attrs: { depth: 3 } },
        { name: 'sent', at: 400n * MS, attrs: { bytes: 2048 } }] },
    { label: 't19.recv', parent: 't19.root', res: 'mail', scope: 'manual', name: 'receive', kind: 'consumer', status: ['unset', ''], start: 401n * MS, dur: 90n * MS,
      attrs: { batch: 17 }, events: [{ name: 'received', at: 1n * MS, attrs: { bytes: 2048 } }] },
  ] },

  // t20..t22: small two-span traces of several services (by()), string ordering, names.
  { label: 't20', spans: [
    { label: 't20.root', res: 'checkout', scope: 'http', name: 'POST /cart', kind: 'server', status: ['unset', ''], start: 0n, dur: 12n * MS,
      attrs: { 'http.method': 'POST', 'http.status_code': 200 } },
    { label: 't20.inv', parent: 't20.root', res: 'inventory', scope: 'http', name: 'GET /stock', kind: 'client', status: ['unset', ''], start: 1n * MS, dur: 9n * MS,
      attrs: { 'http.method': 'GET', 'http.status_code': 200 } },
    { label: 't20.inv2', parent: 't20.root', res: 'inventory', scope: 'http', name: 'GET /stock', kind: 'client', status: ['unset', ''], start: 2n * MS, dur: 8n * MS,
      attrs: { 'http.method': 'GET', 'http.status_code': 429 } },
    { label: 't20.pay', parent: 't20.root', res: 'payments', scope: 'http', name: 'POST /authorize', kind: 'client', status: ['unset', ''], start: 3n * MS, dur: 7n * MS,
      attrs: { 'http.method': 'POST', 'http.status_code': 200 } },
  ] },
  { label: 't21', spans: [
    { label: 't21.root', res: 'mail', scope: 'manual', name: 'send-mail', kind: 'internal', status: ['unset', ''], start: 0n, dur: 700n * US,
      // job.id is a string here and an int on t11.root: one key, two types.
      attrs: { recipients: 3, 'mail.tags': ['bulk', 'eu'], 'job.id': 'n-9' } },
    { label: 't21.smtp', parent: 't21.root', res: 'mail', scope: 'manual', name: 'smtp', kind: 'client', status: ['unset', ''], start: 100n * US, dur: 500n * US,
      attrs: { 'peer.port': 25 } },
  ] },
  { label: 't22', spans: [
    { label: 't22.root', res: 'checkout', scope: 'manual', name: 'Checkout', kind: 'server', status: ['unset', ''], start: 0n, dur: 9n * MS,
      attrs: { ratio: F(0.25), flag: false, delta: -5 } },
    { label: 't22.child', parent: 't22.root', res: 'checkout', scope: 'manual', name: 'checkout', kind: 'internal', status: ['unset', ''], start: 1n * MS, dur: 3n * MS,
      // big = 2^53 + 1: not a double; as doubles it and 2^53 are equal.
      attrs: { ratio: F(2.5), flag: true, big: 9007199254740993n } },
  ] },

  // t23: a tree for the structural operators and nested-set numbers, all inventory INTERNAL
  // spans named n-a..n-j with `level` = depth (root 0):
  //   a > b, c;  b > d, e;  c > f;  d > g;  e > h, i;  f > j
  { label: 't23', spans: [
    ['a', undefined, 0], ['b', 'a', 1], ['c', 'a', 1], ['d', 'b', 2], ['e', 'b', 2], ['f', 'c', 2],
    ['g', 'd', 3], ['h', 'e', 3], ['i', 'e', 3], ['j', 'f', 3],
  ].map(([n, p, level], i) => ({
    label: `t23.${n}`, ...(p ? { parent: `t23.${p}` } : {}), res: 'inventory', scope: 'manual', name: `n-${n}`,
    kind: 'internal', status: ['unset', ''], start: BigInt(i) * MS, dur: BigInt(20 - 2 * i) * MS, attrs: { level },
  })) },
];

// Sanity: labels unique, parents exist within the trace.
(function check() {
  const seen = new Set();
  for (const t of TRACES) {
    const own = new Set(t.spans.map((s) => s.label));
    for (const s of t.spans) {
      if (seen.has(s.label)) throw new Error(`duplicate label ${s.label}`);
      seen.add(s.label);
      if (!s.label.startsWith(`${t.label}.`)) throw new Error(`${s.label} outside ${t.label}`);
      if (s.parent && !own.has(s.parent)) throw new Error(`${s.label}: parent ${s.parent} missing`);
    }
  }
}());

// Every span with its trace and computed facts, in trace order: the corpus's helper and tests use
// it. `start`/`end` are absolute ns (BigInt) given a base.
function spans(baseNs = 0n) {
  const out = [];
  TRACES.forEach((t, k) => {
    const t0 = baseNs + BigInt(k + 1) * 10n * S;
    for (const s of t.spans) {
      out.push({ ...s, trace: t.label, traceId: traceIdOf(t.label), spanId: spanIdOf(s.label),
        parentId: s.parent ? spanIdOf(s.parent) : '', startNs: t0 + s.start, endNs: t0 + s.start + s.dur });
    }
  });
  return out;
}

function anyValue(v) {
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'bigint') return { intValue: String(v) };
  if (typeof v === 'object' && v !== null && 'f' in v) return { doubleValue: v.f };
  if (Number.isInteger(v)) return { intValue: String(v) };
  return { doubleValue: v };
}
const keyValues = (attrs) => Object.entries(attrs || {}).map(([key, v]) => ({ key, value: anyValue(v) }));

// The OTLP/JSON ExportTraceServiceRequest body of the whole set (or of the traces whose labels
// `only` holds), trace k starting 10 k s after `baseNs`. Spans are grouped by resource, then scope
// (each group in trace order).
function otlpJson(baseNs, only = null) {
  const byRes = new Map();
  for (const s of spans(baseNs)) {
    if (only && !only.includes(s.trace)) continue;
    if (!byRes.has(s.res)) byRes.set(s.res, new Map());
    const byScope = byRes.get(s.res);
    if (!byScope.has(s.scope)) byScope.set(s.scope, []);
    byScope.get(s.scope).push({
      traceId: s.traceId,
      spanId: s.spanId,
      ...(s.parentId ? { parentSpanId: s.parentId } : {}),
      name: s.name,
      kind: KIND[s.kind],
      startTimeUnixNano: String(s.startNs),
      endTimeUnixNano: String(s.endNs),
      attributes: keyValues(s.attrs),
      events: (s.events || []).map((e) => ({
        timeUnixNano: String(s.startNs + e.at), name: e.name, attributes: keyValues(e.attrs),
      })),
      links: (s.links || []).map((l) => ({
        traceId: traceIdOf(l.trace), spanId: spanIdOf(l.span), attributes: keyValues(l.attrs),
      })),
      status: { code: STATUS[s.status[0]], ...(s.status[1] ? { message: s.status[1] } : {}) },
    });
  }
  return {
    resourceSpans: [...byRes].map(([res, byScope]) => ({
      resource: { attributes: keyValues(RESOURCES[res]) },
      scopeSpans: [...byScope].map(([scope, list]) => ({
        scope: { name: SCOPES[scope].name, ...(SCOPES[scope].version ? { version: SCOPES[scope].version } : {}),
          attributes: keyValues(SCOPES[scope].attributes) },
        spans: list,
      })),
    })),
  };
}

// label → span ID (16 hex), trace label → trace ID (32 hex), span label → trace label.
const SPAN_IDS = Object.fromEntries(spans().map((s) => [s.label, s.spanId]));
const TRACE_IDS = Object.fromEntries(TRACES.map((t) => [t.label, traceIdOf(t.label)]));
const TRACE_OF = Object.fromEntries(spans().map((s) => [s.label, s.trace]));

module.exports = {
  TRACES, RESOURCES, SCOPES, ORDERS, spans, otlpJson, SPAN_IDS, TRACE_IDS, TRACE_OF, traceIdOf, spanIdOf,
};
