'use strict';
// Issue 9's acceptance item "every bad input gets its status code and Mimir's message (the
// metric name in it), and the good part of a mixed request is stored": hand-built remote-write
// requests (protobufjs + snappyjs) against `sprout metrics` with multi-tenancy on. Each case uses
// a tenant of its own (tenants are separate), the limit cases an instance of their own. Expected
// texts are Mimir's (pkg/distributor/validate.go, pkg/ingester/errors.go, pkg/util/globalerror,
// pkg/util/http.go as of Mimir 2.x/main), written out here from their format strings; Mimir's
// push handler answers them with Go's http.Error, i.e. the text and a newline. After every mixed
// request the good series is checked through /api/v1/series and remote read, the bad one is
// checked absent.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { encodeWriteRequest } = require('./lib/proto');
const { labelKey } = require('./lib/prom');
const { makeTempDir, sleep } = require('./lib/sprout');
const { SproutMetrics, STALE_NAN_HEX, rawSampleBytes, writeRequestBody } = require('./lib/sprout_metrics');
const snappy = require('snappyjs');

// ---------------------------------------------------------------------------------------------
// Mimir's formatting

// Go's time.Time.Format(time.RFC3339Nano) of a UTC millisecond timestamp: trailing zeros of the
// fraction dropped, and the dot with them.
function rfc3339Nano(ms) {
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.120Z
  const [head, frac] = iso.slice(0, -1).split('.');
  const f = frac.replace(/0+$/, '');
  return `${head}${f ? `.${f}` : ''}Z`;
}

// Go's %q / strconv.Quote for the plain ASCII values used here.
const goQuote = (s) => JSON.stringify(s);

// Prometheus's labels.Labels.String() (the ingester's series text): {a="x", b="y"}, sorted.
function promLabels(labels) {
  return `{${Object.keys(labels).sort().map((k) => `${k}=${goQuote(labels[k])}`).join(', ')}}`;
}

// Mimir's distributor formatLabelSet: name{a="x", b="y"} in the order sent, duplicates kept.
function mimirSeries(pairs) {
  let name = null;
  const rest = [];
  for (const [k, v] of pairs) {
    if (k === '__name__' && name === null && v !== '') name = v;
    else rest.push(`${k}=${goQuote(v)}`);
  }
  if (rest.length === 0) return name === null ? '{}' : name;
  return `${name === null ? '' : name}{${rest.join(', ')}}`;
}

const sampleSuffix = (t, labels) => `. The affected sample has timestamp ${rfc3339Nano(t)} and is from series ${promLabels(labels)}`;

const MSG = {
  noName: 'received series has no metric name (err-mimir-missing-metric-name)',
  badName: (n) => `received a series with invalid metric name: '${n}' (err-mimir-metric-name-invalid)`,
  badLabel: (l, pairs) => `received a series with an invalid label: '${l}' series: '${mimirSeries(pairs)}' (err-mimir-label-invalid)`,
  dupLabel: (l, pairs) => `received a series with duplicate label name, label: '${l}' series: '${mimirSeries(pairs)}' (err-mimir-duplicate-label-names)`,
  unsorted: (l, pairs) =>
    `received a series where the label names are not alphabetically sorted, label: '${l}' series: '${mimirSeries(pairs)}' (err-mimir-labels-not-sorted)`,
  outOfOrder: (t, labels) =>
    'the sample has been rejected because another sample with a more recent timestamp has already been ingested and out-of-order samples are not allowed (err-mimir-sample-out-of-order)' +
    sampleSuffix(t, labels),
  tooOld: (t, labels) => `the sample has been rejected because its timestamp is too old (err-mimir-sample-timestamp-too-old)${sampleSuffix(t, labels)}`,
  duplicate: (t, labels) =>
    'the sample has been rejected because another sample with the same timestamp, but a different value, has already been ingested (err-mimir-sample-duplicate-timestamp)' +
    sampleSuffix(t, labels),
  seriesLimit: (n) =>
    `per-user series limit of ${n} exceeded (err-mimir-max-series-per-user). To adjust the related per-tenant limit, configure -ingester.max-global-series-per-user, or contact your service administrator.`,
  rate: (rate, burst) =>
    `the request has been rejected because the tenant exceeded the ingestion rate limit, set to ${rate} items/s with a maximum allowed burst of ${burst}. This limit is applied on the total number of samples, exemplars and metadata received across all distributors (err-mimir-tenant-max-ingestion-rate). To adjust the related per-tenant limits, configure -distributor.ingestion-rate-limit and -distributor.ingestion-burst-size, or contact your service administrator.`,
  tooLarge: (size, kind, limit) =>
    `the incoming push request has been rejected because its message size of ${size} bytes (${kind}) is larger than the allowed limit of ${limit} bytes (err-mimir-distributor-max-write-message-size). To adjust the related limit, configure -distributor.max-recv-msg-size, or contact your service administrator.`,
};

// ---------------------------------------------------------------------------------------------
// Requests

// A TimeSeries from [name, value] pairs (kept in that order) and [t, v] samples.
const ts = (pairs, samples) => ({
  labels: pairs.map(([name, value]) => ({ name, value })),
  samples: samples.map(([timestamp, value]) => ({ timestamp, value })),
});
const obj = (pairs) => Object.fromEntries(pairs);

function expectAnswer(res, status, message, what) {
  assert.equal(res.status, status, `${what}: HTTP ${res.status} ${res.text}`);
  if (message !== undefined) assert.equal(res.text, `${message}\n`, what);
}

// Accepted: Mimir's push handler answers 200 with an empty body (Prometheus's /api/v1/write
// answers 204: `status`).
function expectOk(res, what, status = 200) {
  assert.equal(res.status, status, `${what}: HTTP ${res.status} ${res.text}`);
  assert.equal(res.text, '', `${what}: empty body`);
}

// The series matching `selector` (labels) and their samples [[t, v]] through remote read.
async function read(peer, selector, start = 0, end = Date.now() + 3600000) {
  const [series] = await peer.remoteRead([{ start, end, matchers: selector }]);
  return series
    .map((s) => ({ labels: s.labels, samples: s.samples.map(([t, v]) => [t, v]) }))
    .sort((a, b) => (labelKey(a.labels) < labelKey(b.labels) ? -1 : 1));
}

async function seriesOf(peer, selector) {
  return peer.api('/api/v1/series', { 'match[]': selector, start: 0, end: Date.now() / 1000 + 3600 });
}

// The good series of a mixed request is there (series API and remote read), alone.
async function expectStoredAlone(peer, labels, samples) {
  assert.deepEqual(await seriesOf(peer, '{__name__=~"e2e_.+"}'), [labels], 'series API: only the good series');
  assert.deepEqual(await read(peer, '{__name__=~"e2e_.+"}'), [{ labels, samples }], 'remote read: only the good series');
}

// ---------------------------------------------------------------------------------------------

describe('sprout metrics: refused inputs, Mimir status codes and messages', () => {
  let s; // multi-tenancy on, defaults otherwise
  const now = Date.now();

  before(async () => {
    s = new SproutMetrics({ dir: makeTempDir('sprout-metrics-ingest-'), multitenancy: true });
    await s.start();
  });
  after(async () => s && s.kill());

  const good = (c) => [['__name__', 'e2e_good'], ['case', c]];

  // Validation (distributor): one bad series before a good one; 400 with the bad one's text,
  // the good one stored.
  const VALIDATION = [
    ['missing metric name', [['job', 'x']], () => MSG.noName],
    ['invalid metric name', [['__name__', 'bad-name']], () => MSG.badName('bad-name')],
    ['invalid label name', [['__name__', 'e2e_bad'], ['bad-label', 'v']], (p) => MSG.badLabel('bad-label', p)],
    ['duplicate label names', [['__name__', 'e2e_bad'], ['a', '1'], ['a', '2']], (p) => MSG.dupLabel('a', p)],
    ['unsorted label names', [['__name__', 'e2e_bad'], ['b', '1'], ['a', '2']], (p) => MSG.unsorted('a', p)],
  ];
  for (const [what, pairs, message] of VALIDATION) {
    it(`${what}: 400 with Mimir's message; the good series of the request is stored`, async () => {
      const t = s.as(`val-${what.replace(/\W+/g, '-')}`);
      const res = await t.push({ timeseries: [ts(pairs, [[now, 1]]), ts(good(what), [[now, 2]])] });
      expectAnswer(res, 400, message(pairs), what);
      await expectStoredAlone(t, obj(good(what)), [[now, 2]]);
    });
  }

  it('an empty label value is dropped (as Mimir does): 2xx, the series stored without it', async () => {
    const t = s.as('empty-value');
    expectOk(await t.push({ timeseries: [ts([['__name__', 'e2e_empty'], ['a', ''], ['b', 'x']], [[now, 3]])] }), 'empty value');
    await expectStoredAlone(t, { __name__: 'e2e_empty', b: 'x' }, [[now, 3]]);
  });

  it('out-of-order sample: 400 naming the series and time; the rest of the request is stored', async () => {
    const t = s.as('ooo');
    const series = [['__name__', 'e2e_ooo'], ['case', 'ooo']];
    expectOk(await t.push({ timeseries: [ts(series, [[now - 2000, 1], [now - 1000, 2]])] }), 'in order');
    const res = await t.push({ timeseries: [ts(series, [[now - 1500, 9]]), ts(good('ooo'), [[now - 1500, 4]])] });
    expectAnswer(res, 400, MSG.outOfOrder(now - 1500, obj(series)), 'out of order');
    assert.deepEqual(await read(t, '{__name__=~"e2e_.+"}'), [
      { labels: obj(good('ooo')), samples: [[now - 1500, 4]] },
      { labels: obj(series), samples: [[now - 2000, 1], [now - 1000, 2]] },
    ]);
  });

  it('too old is judged against the tenant\'s newest sample, not the wall clock: a new tenant takes 1970', async () => {
    const t = s.as('too-old');
    const epoch = [['__name__', 'e2e_old'], ['case', 'epoch']];
    expectOk(await t.push({ timeseries: [ts(epoch, [[1000, 1], [1500, 2]])] }), 'a 1970 sample into a new tenant');
    assert.deepEqual(await read(t, 'e2e_old', 0, 2000), [{ labels: obj(epoch), samples: [[1000, 1], [1500, 2]] }]);
    const recent = [['__name__', 'e2e_old'], ['case', 'now']];
    expectOk(await t.push({ timeseries: [ts(recent, [[now, 1]])] }), 'a sample at now');
    // Now the tenant's newest is `now`: a new series two hours back is too old (more than half
    // the 2 h block range behind), one half an hour back is not.
    const late = [['__name__', 'e2e_old'], ['case', 'late']];
    const ok = [['__name__', 'e2e_old'], ['case', 'ok']];
    const res = await t.push({ timeseries: [ts(late, [[now - 7200000, 5]]), ts(ok, [[now - 1800000, 6]])] });
    expectAnswer(res, 400, MSG.tooOld(now - 7200000, obj(late)), 'too old');
    assert.deepEqual(await read(t, 'e2e_old'), [
      { labels: obj(epoch), samples: [[1000, 1], [1500, 2]] },
      { labels: obj(recent), samples: [[now, 1]] },
      { labels: obj(ok), samples: [[now - 1800000, 6]] },
    ]);
    // Another tenant is not affected by this one's newest sample.
    expectOk(await s.as('too-old-2').push({ timeseries: [ts(late, [[now - 7200000, 5]])] }), 'another tenant');
  });

  it('duplicate timestamp: the same value is accepted, another value is a 400', async () => {
    const t = s.as('dup');
    const series = [['__name__', 'e2e_dup']];
    expectOk(await t.push({ timeseries: [ts(series, [[now, 1]])] }), 'first');
    expectOk(await t.push({ timeseries: [ts(series, [[now, 1]])] }), 'same value again');
    const res = await t.push({ timeseries: [ts(series, [[now, 2]]), ts(good('dup'), [[now, 7]])] });
    expectAnswer(res, 400, MSG.duplicate(now, obj(series)), 'another value');
    assert.deepEqual(await read(t, '{__name__=~"e2e_.+"}'), [
      { labels: obj(series), samples: [[now, 1]] },
      { labels: obj(good('dup')), samples: [[now, 7]] },
    ]);
  });

  it('corrupt snappy: 400 with Mimir\'s texts (length header, then data)', async () => {
    const t = s.as('snappy');
    expectAnswer(await t.pushRaw(Buffer.from([0x80, 0x80])), 400, 'getting snappy decoded length: snappy: corrupt input', 'length');
    // Announces 10 bytes, then a 10-byte literal with only 3 bytes behind it.
    expectAnswer(await t.pushRaw(Buffer.from([0x0a, 0x24, 1, 2, 3])), 400, 'decompress snappy: snappy: corrupt input', 'data');
  });

  it('corrupt protobuf: 400 (gogo/protobuf\'s "unexpected EOF" for a truncated field)', async () => {
    const t = s.as('proto');
    const body = Buffer.from(snappy.compress(Buffer.from([0x0a, 0x10, 0x0a])));
    expectAnswer(await t.pushRaw(body), 400, 'unexpected EOF', 'truncated');
    assert.deepEqual(await seriesOf(t, '{__name__=~".+"}'), []);
  });

  it('a metadata-only request is accepted and /api/v1/metadata shows it', async () => {
    const t = s.as('meta');
    const res = await t.push({ metadata: [{ type: 1, metricFamilyName: 'e2e_meta_total', help: 'Things counted.', unit: '' }] });
    expectOk(res, 'metadata only');
    assert.deepEqual(await t.api('/api/v1/metadata', { metric: 'e2e_meta_total' }), {
      e2e_meta_total: [{ type: 'counter', help: 'Things counted.', unit: '' }],
    });
  });

  it('without X-Scope-OrgID (multi-tenancy on): 401 no org id, for writes and reads', async () => {
    const anon = s.as(undefined);
    expectAnswer(await anon.push({ timeseries: [ts(good('anon'), [[now, 1]])] }), 401, 'no org id', 'push');
    const read401 = await anon.remoteReadRaw([{ start: 0, end: now, matchers: 'e2e_good' }]);
    assert.equal(read401.status, 401);
    assert.equal(read401.body.toString(), 'no org id\n');
    const res = await fetch(`${s.baseUrl}/api/v1/series?match[]=up`);
    assert.equal(res.status, 401);
    assert.equal(await res.text(), 'no org id\n');
  });

  it('tenants are separate: one tenant never sees another\'s series', async () => {
    const a = s.as('sep-a');
    const b = s.as('sep-b');
    expectOk(await a.push({ timeseries: [ts(good('a'), [[now, 1]])] }), 'a');
    assert.deepEqual(await seriesOf(a, 'e2e_good'), [obj(good('a'))]);
    assert.deepEqual(await seriesOf(b, 'e2e_good'), []);
    assert.deepEqual(await read(b, 'e2e_good'), []);
  });

  it('/api/v1/write (Prometheus\'s path) takes the same requests', async () => {
    const t = s.as('write-path');
    const res = await t.push({ timeseries: [ts(good('write'), [[now, 11]])] }, { url: `${s.baseUrl}/api/v1/write` });
    expectOk(res, '/api/v1/write', 204);
    await expectStoredAlone(t, obj(good('write')), [[now, 11]]);
  });

  it('keeps the stale marker and other NaN payloads bit for bit (remote read)', async () => {
    const t = s.as('stale');
    const series = [['__name__', 'e2e_stale']];
    // Placeholder values replaced in the encoded bytes, so that no JS number carries the NaNs.
    const A = 1234.5678;
    const B = 8765.4321;
    const NAN_PAYLOAD = '7ff8000000000001';
    let wire = encodeWriteRequest({ timeseries: [ts(series, [[now - 3000, 1], [now - 2000, A], [now - 1000, B], [now, 2]])] });
    const le = (x) => {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(x);
      return b;
    };
    const put = (placeholder, hex) => {
      const at = wire.indexOf(le(placeholder));
      assert.ok(at >= 0);
      Buffer.from(hex, 'hex').reverse().copy(wire, at);
    };
    put(A, STALE_NAN_HEX);
    put(B, NAN_PAYLOAD);
    expectOk(await t.pushRaw(Buffer.from(snappy.compress(wire))), 'stale marker');
    const r = await t.remoteReadRaw([{ start: now - 10000, end: now, matchers: 'e2e_stale' }]);
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual(rawSampleBytes(r.raw), [{
      labels: obj(series),
      samples: [
        { timestamp: now - 3000, valueHex: le(1).reverse().toString('hex') },
        { timestamp: now - 2000, valueHex: STALE_NAN_HEX },
        { timestamp: now - 1000, valueHex: NAN_PAYLOAD },
        { timestamp: now, valueHex: le(2).reverse().toString('hex') },
      ],
    }]);
  });
});

describe('sprout metrics: per-tenant series limit (max_global_series_per_user=5)', () => {
  let s;
  before(async () => {
    s = new SproutMetrics({ dir: makeTempDir('sprout-metrics-series-limit-'), multitenancy: true, sets: ['limits.max_global_series_per_user=5'] });
    await s.start();
  });
  after(async () => s && s.kill());

  it('400 with Mimir\'s message for the series beyond the limit; the rest of the request is stored', async () => {
    const now = Date.now();
    const t = s.as('limited');
    const sx = (i) => [['__name__', 'e2e_limit'], ['i', String(i)]];
    expectOk(await t.push({ timeseries: [0, 1, 2, 3].map((i) => ts(sx(i), [[now - 1000, i]])) }), 'four series');
    const res = await t.push({ timeseries: [4, 5, 6, 0].map((i) => ts(sx(i), [[now, 10 + i]])) });
    expectAnswer(res, 400, MSG.seriesLimit(5), 'beyond the limit');
    const held = await read(t, 'e2e_limit');
    assert.deepEqual(held.map((h) => h.labels.i).sort(), ['0', '1', '2', '3', '4'], 'the first new series fits, the next two do not');
    assert.deepEqual(held.find((h) => h.labels.i === '0').samples, [[now - 1000, 0], [now, 10]], 'the known series got its sample');
    assert.equal((await seriesOf(t, 'e2e_limit')).length, 5);
    // Existing series still take samples; the limit is per tenant.
    expectOk(await t.push({ timeseries: [ts(sx(1), [[now + 1000, 1]])] }), 'a known series');
    expectOk(await s.as('other').push({ timeseries: [0, 1, 2, 3, 4].map((i) => ts(sx(i), [[now, i]])) }), 'another tenant, five series');
  });
});

describe('sprout metrics: ingestion rate (ingestion_rate=10, ingestion_burst_size=20)', () => {
  let s;
  before(async () => {
    s = new SproutMetrics({
      dir: makeTempDir('sprout-metrics-rate-'),
      multitenancy: true,
      sets: ['limits.ingestion_rate=10', 'limits.ingestion_burst_size=20'],
    });
    await s.start();
  });
  after(async () => s && s.kill());

  it('429 with Mimir\'s message once the burst is spent; nothing of the refused request is stored', async () => {
    const t = s.as('rate');
    const t0 = Date.now() - 60000;
    const samples = (from, n) => Array.from({ length: n }, (_, k) => [t0 + (from + k) * 10, from + k]);
    const series = [['__name__', 'e2e_rate']];
    expectOk(await t.push({ timeseries: [ts(series, samples(0, 15))] }), 'within the burst');
    expectAnswer(await t.push({ timeseries: [ts(series, samples(15, 15))] }), 429, MSG.rate(10, 20), 'over the rate');
    assert.deepEqual(await read(t, 'e2e_rate'), [{ labels: obj(series), samples: samples(0, 15) }]);
    // The bucket refills at 10/s.
    await sleep(2000);
    expectOk(await t.push({ timeseries: [ts(series, samples(30, 10))] }), 'after the refill');
    assert.deepEqual((await read(t, 'e2e_rate'))[0].samples, [...samples(0, 15), ...samples(30, 10)]);
  });
});

describe('sprout metrics: max message size (distributor.max_recv_msg_size=2048)', () => {
  let s;
  before(async () => {
    s = new SproutMetrics({ dir: makeTempDir('sprout-metrics-size-'), multitenancy: true, sets: ['distributor.max_recv_msg_size=2048'] });
    await s.start();
  });
  after(async () => s && s.kill());

  it('a compressed body over the limit: 400 with Mimir\'s message (compressed size)', async () => {
    const t = s.as('size');
    const body = Buffer.alloc(3000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919 + 13) & 0xff;
    expectAnswer(await t.pushRaw(body), 400, MSG.tooLarge(3000, 'compressed', 2048), 'compressed');
  });

  it('a small body announcing more than the limit: 400 with Mimir\'s message (uncompressed size)', async () => {
    const t = s.as('size');
    const wire = encodeWriteRequest({ timeseries: [ts([['__name__', 'e2e_big'], ['pad', 'x'.repeat(3000)]], [[Date.now(), 1]])] });
    const body = Buffer.from(snappy.compress(wire));
    assert.ok(body.length < 2048 && wire.length > 2048);
    expectAnswer(await t.pushRaw(body), 400, MSG.tooLarge(wire.length, 'uncompressed', 2048), 'uncompressed');
    assert.deepEqual(await seriesOf(t, 'e2e_big'), []);
  });

  it('a request under the limit is stored', async () => {
    const t = s.as('size');
    const now = Date.now();
    const body = writeRequestBody({ timeseries: [ts([['__name__', 'e2e_small']], [[now, 1]])] });
    expectOk(await t.pushRaw(body), 'small');
    assert.deepEqual(await read(t, 'e2e_small'), [{ labels: { __name__: 'e2e_small' }, samples: [[now, 1]] }]);
  });
});
