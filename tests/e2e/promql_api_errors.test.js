'use strict';
// The query API's errors against the real Prometheus 2.42, side by side: bad queries and bad
// parameters (400 bad_data, the message with the position), the sample limit (422 execution),
// the timeout (503 timeout), a client that goes away (the query is cancelled), and the server
// staying responsive to /ready and other queries while a slow query runs.
//
// The same samples are remote-written to Debian's `prometheus` (started with a small
// --query.max-samples) and to `sprout metrics` (the same querier.max_samples); every error
// answer is compared byte for byte (status, errorType, error text) with Prometheus's.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { Prometheus, remoteWrite } = require('./lib/prom');
const { SproutMetrics } = require('./lib/sprout_metrics');

const MAX_SAMPLES = 100;

class SmallPrometheus extends Prometheus {
  args() {
    return [...super.args(), `--query.max-samples=${MAX_SAMPLES}`];
  }
}

const nowS = Math.floor(Date.now() / 1000);
const end = nowS - (nowS % 60);
const start = end - 3600;

// One series, a sample every 10 s over the last hour; and one with the values whose JSON text
// is tricky (NaN, infinities, tiny and huge numbers, binary fractions), every 10 s over the last
// 5 minutes, with a label value that JSON-escapes.
const SPECIAL = [NaN, Infinity, -Infinity, 1e-7, 1e21, 0.1 + 0.2, -0, 123456789012345678, 5e-324, -1.5];
function data() {
  const samples = [];
  for (let t = start; t <= end; t += 10) samples.push({ timestamp: t * 1000, value: t % 7 });
  return {
    timeseries: [{
      labels: [{ name: '__name__', value: 'errs_e2e_gauge' }, { name: 'job', value: 'e2e' }],
      samples,
    }, {
      labels: [{ name: '__name__', value: 'errs_e2e_special' }, { name: 'note', value: 'a<b>&"c"\u2028' }],
      samples: SPECIAL.map((value, i) => ({ timestamp: (end - 300 + 10 * i) * 1000, value })),
    }],
  };
}

async function call(base, path, params, { method = 'GET', headers = {}, signal } = {}) {
  const search = new URLSearchParams(params);
  const res = method === 'GET'
    ? await fetch(`${base}${path}?${search}`, { headers, signal })
    : await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: search.toString(),
      signal,
    });
  return { status: res.status, text: await res.text() };
}

// The error cases compared with Prometheus: [path, params].
const CASES = [
  ['/api/v1/query', { query: '1+', time: '1' }],
  ['/api/v1/query', { query: '', time: '1' }],
  ['/api/v1/query', { time: '1' }],
  ['/api/v1/query', { query: 'foo{', time: '1' }],
  ['/api/v1/query', { query: 'sum(rate(x[5m])) by (', time: '1' }],
  ['/api/v1/query', { query: 'rate(x)', time: '1' }],
  ['/api/v1/query', { query: 'x[5m', time: '1' }],
  ['/api/v1/query', { query: 'foo{a="b"} offset', time: '1' }],
  ['/api/v1/query', { query: 'sum by (a) (x) + on', time: '1' }],
  ['/api/v1/query', { query: 'x >', time: '1' }],
  ['/api/v1/query', { query: '"unterminated', time: '1' }],
  ['/api/v1/query', { query: 'foo{a=<b}', time: '1' }],
  ['/api/v1/query', { query: '1', time: 'abc' }],
  ['/api/v1/query', { query: '1', timeout: 'abc' }],
  ['/api/v1/query', { query: '1', timeout: '-1s' }],
  ['/api/v1/query_range', { query: '1', start: '10', end: '5', step: '1' }],
  ['/api/v1/query_range', { query: '1', start: 'x', end: '5', step: '1' }],
  ['/api/v1/query_range', { query: '1', start: '1', end: 'x', step: '1' }],
  ['/api/v1/query_range', { query: '1', end: '5', step: '1' }],
  ['/api/v1/query_range', { query: '1', start: '1', step: '1' }],
  ['/api/v1/query_range', { query: '1', start: '1', end: '5' }],
  ['/api/v1/query_range', { query: '1', start: '1', end: '5', step: '0' }],
  ['/api/v1/query_range', { query: '1', start: '1', end: '5', step: '-1' }],
  ['/api/v1/query_range', { query: '1', start: '1', end: '5', step: 'x' }],
  ['/api/v1/query_range', { query: '1', start: '0', end: '2', step: '1.5s' }],
  ['/api/v1/query_range', { query: '1', start: '0', end: '2', step: '1e30' }],
  ['/api/v1/query_range', { query: '1', start: '0', end: '11001', step: '1' }],
  ['/api/v1/query_range', { query: '1', start: '0', end: '2', step: '0.0001' }],
  ['/api/v1/query_range', { query: 'x[5m]', start: '0', end: '2', step: '1' }],
  ['/api/v1/query_range', { query: '"a"', start: '0', end: '2', step: '1' }],
  ['/api/v1/query_range', { query: '1+', start: 'x', end: '2', step: '1' }],
  ['/api/v1/query_range', { query: 'foo{', start: '0', end: '2', step: '1' }],
];

describe('query API errors, compared with Prometheus 2.42', () => {
  let prom;
  let sm;
  before(async () => {
    prom = await new SmallPrometheus().start();
    sm = await new SproutMetrics({
      name: 'sprout-errors',
      sets: [`querier.max_samples=${MAX_SAMPLES}`, 'querier.timeout=20s'],
    }).start();
    const body = data();
    await remoteWrite(prom.writeUrl, body);
    const res = await sm.push(body);
    assert.equal(res.status, 200, res.text);
  });
  after(async () => {
    if (sm) await sm.stop();
    if (prom) await prom.stop();
  });

  for (const [path, params] of CASES) {
    for (const method of ['GET', 'POST']) {
      it(`${method} ${path} ${JSON.stringify(params)}: same status and body as Prometheus`, async () => {
        const want = await call(prom.baseUrl, path, params, { method });
        assert.ok(want.status >= 400, `Prometheus accepted it: ${want.text}`);
        const got = await call(sm.baseUrl, path, params, { method });
        assert.equal(got.status, want.status, got.text);
        assert.equal(got.text, want.text);
        // Mimir's prefix answers the same.
        const prefixed = await call(sm.baseUrl, `/prometheus${path}`, params, { method });
        assert.deepEqual(prefixed, got);
      });
    }
  }

  it('timeout=0 is 503 timeout before anything runs', async () => {
    // Prometheus's text depends on where its expired context is noticed (queue or execution).
    for (const method of ['GET', 'POST']) {
      const params = { query: '1', time: '2', timeout: '0' };
      const want = await call(prom.baseUrl, '/api/v1/query', params, { method });
      const got = await call(sm.baseUrl, '/api/v1/query', params, { method });
      assert.equal(want.status, 503);
      assert.equal(got.status, 503);
      for (const r of [want, got]) {
        const body = JSON.parse(r.text);
        assert.equal(body.errorType, 'timeout');
        assert.match(body.error, /^query timed out in query (queue|execution)$/);
      }
    }
  });

  it('answers byte-identical to Prometheus: scalars, strings, vectors, matrices, special values', async () => {
    const cases = [
      ['/api/v1/query', { query: '2.5', time: '1700000000.5' }],
      ['/api/v1/query', { query: '"a<b>&\\"c\\""', time: '17.25' }],
      ['/api/v1/query', { query: 'errs_e2e_gauge', time: String(end) }],
      ['/api/v1/query', { query: 'errs_e2e_gauge', time: String(end + 0.5) }],
      ['/api/v1/query', { query: 'errs_e2e_gauge{job="e2e"}', time: String(end - 0.05) }],
      ['/api/v1/query', { query: 'errs_e2e_gauge', time: String(start - 3600) }],
      ['/api/v1/query', { query: 'errs_e2e_nothing', time: String(end) }],
      ['/api/v1/query_range', { query: '2', start: '0', end: '5', step: '2.5' }],
      ['/api/v1/query_range', { query: 'errs_e2e_gauge', start: String(end - 300), end: String(end), step: '15' }],
      ['/api/v1/query_range', { query: 'errs_e2e_gauge', start: String(end - 300.5), end: String(end), step: '1m' }],
      ['/api/v1/query_range', { query: 'errs_e2e_special', start: String(end - 300), end: String(end), step: '10' }],
    ];
    for (let i = 0; i < SPECIAL.length; i++) {
      cases.push(['/api/v1/query', { query: 'errs_e2e_special', time: String(end - 300 + 10 * i) }]);
    }
    for (const [path, params] of cases) {
      const want = await call(prom.baseUrl, path, params);
      assert.equal(want.status, 200, want.text);
      for (const method of ['GET', 'POST']) {
        const got = await call(sm.baseUrl, path, params, { method });
        assert.equal(got.text, want.text, `${method} ${path} ${JSON.stringify(params)}`);
        assert.equal(got.status, 200);
      }
    }
  });

  it('stats: the same object as Prometheus (keys, types; the samples read and held)', async () => {
    for (const [path, params] of [
      ['/api/v1/query', { query: 'errs_e2e_gauge', time: String(end), stats: 'all' }],
      ['/api/v1/query_range', { query: 'errs_e2e_gauge', start: String(end - 300), end: String(end), step: '15', stats: 'true' }],
    ]) {
      const theirs = JSON.parse((await call(prom.baseUrl, path, params)).text).data.stats;
      const ours = JSON.parse((await call(sm.baseUrl, path, params, { method: 'POST' })).text).data.stats;
      const shape = (o) => JSON.parse(JSON.stringify(o), (k, v) => (typeof v === 'number' ? typeof v : v));
      assert.deepEqual(Object.keys(ours), ['timings', 'samples']);
      assert.deepEqual(shape(ours), shape(theirs));
      assert.deepEqual(Object.keys(ours.timings), Object.keys(theirs.timings));
      assert.deepEqual(Object.keys(ours.samples), Object.keys(theirs.samples));
      for (const v of Object.values(ours.timings)) assert.ok(v >= 0 && v < 10);
    }
  });

  it('a parse error carries the position', async () => {
    const got = await call(sm.baseUrl, '/api/v1/query', { query: 'sum(rate(x[5m])) by (' });
    assert.equal(got.status, 400);
    assert.deepEqual(JSON.parse(got.text), {
      status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:22: parse error: unclosed left parenthesis',
    });
  });

  it('a query over querier.max_samples is 422 execution with Prometheus\'s text', async () => {
    // A range query over 361 steps of one series holds 361 samples > 100.
    const params = { query: 'errs_e2e_gauge', start: String(start), end: String(end), step: '10' };
    const want = await call(prom.baseUrl, '/api/v1/query_range', params);
    assert.equal(want.status, 422, want.text);
    const got = await call(sm.baseUrl, '/api/v1/query_range', params, { method: 'POST' });
    assert.equal(got.status, 422);
    assert.equal(got.text, want.text);
    assert.equal(JSON.parse(got.text).error, 'query processing would load too many samples into memory in query execution');
    // Under the limit: the same data answers (60 steps).
    const ok = await call(sm.baseUrl, '/api/v1/query_range', { ...params, start: String(end - 590) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(JSON.parse(ok.text).data.result[0].values.length, 60);
  });

  // A slow query over real data: 3000 counters over 6 h at 15 s (4.3 M samples) on an instance
  // of its own with querier.timeout=3s, and 32 `sum by (job) (rate(...))` terms over the 6 h at
  // a 15 s step — each term reads every series again (the engine and the store check the query's
  // limiter between series and chunks), about 12 s in all on the reference machine, so the
  // 3 s querier.timeout always ends it.
  const SLOW_SERIES = 3000;
  const SLOW = Array.from({ length: 32 }, (_, i) => `sum by (job) (rate(slow_e2e_total[${5 + i}m]))`).join(' + ');
  const slowEnd = end;
  const slowStart = end - 6 * 3600;
  const slowParams = { query: SLOW, start: String(slowStart), end: String(slowEnd), step: '15' };
  const running = async (base) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = /^sprout_metrics_queries_running (\S+)$/m.exec(text);
    return m ? Number(m[1]) : NaN;
  };
  let big;
  const bigInstance = async () => {
    if (big) return big;
    big = await new SproutMetrics({
      name: 'sprout-slow',
      sets: ['querier.timeout=3s', 'limits.ingestion_rate=1000000000', 'limits.ingestion_burst_size=1000000000'],
    }).start();
    // In time order (the head refuses samples an hour older than its newest): 30 min slices.
    for (let from = slowStart; from <= slowEnd; from += 1800) {
      for (let b = 0; b < SLOW_SERIES; b += 500) {
        const timeseries = [];
        for (let i = b; i < b + 500; i++) {
          const samples = [];
          for (let t = from; t < from + 1800 && t <= slowEnd; t += 15) {
            samples.push({ timestamp: t * 1000, value: ((t - slowStart) / 15) * ((i % 7) + 1) });
          }
          timeseries.push({
            labels: [{ name: '__name__', value: 'slow_e2e_total' }, { name: 'i', value: String(i) }, { name: 'job', value: `j${i % 10}` }],
            samples,
          });
        }
        const res = await big.push({ timeseries });
        assert.equal(res.status, 200, res.text);
      }
    }
    return big;
  };
  after(async () => {
    if (big) await big.stop();
  });

  it('a query past its timeout parameter is 503 timeout, soon after the timeout', async () => {
    const b = await bigInstance();
    const t0 = Date.now();
    const got = await call(b.baseUrl, '/api/v1/query_range', { ...slowParams, timeout: '0.3' });
    assert.equal(got.status, 503, got.text);
    assert.deepEqual(JSON.parse(got.text), { status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' });
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms (timeout 300 ms, querier.timeout 3 s)`);
  });

  it('querier.timeout caps the timeout parameter', async () => {
    const b = await bigInstance();
    const t0 = Date.now();
    const got = await call(b.baseUrl, '/api/v1/query_range', { ...slowParams, timeout: '1h' }, { method: 'POST' });
    assert.equal(got.status, 503, got.text);
    assert.equal(JSON.parse(got.text).errorType, 'timeout');
    const took = Date.now() - t0;
    assert.ok(took >= 2900 && took < 6000, `took ${took} ms (querier.timeout 3 s)`);
  });

  it('while a slow query runs, /ready and other queries answer promptly', async () => {
    const b = await bigInstance();
    const slow = call(b.baseUrl, '/api/v1/query_range', slowParams);
    let checks = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 20000) {
      if ((await running(b.baseUrl)) < 1) {
        if (checks > 0) break;
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const t = Date.now();
      const ready = await fetch(`${b.baseUrl}/ready`);
      assert.equal(ready.status, 200);
      const other = await call(b.baseUrl, '/api/v1/query', { query: 'sum(slow_e2e_total{i="7"})', time: String(slowEnd) });
      assert.equal(other.status, 200, other.text);
      assert.equal(JSON.parse(other.text).data.result[0].value[1], String(((slowEnd - slowStart) / 15) * 1));
      assert.ok(Date.now() - t < 1000, `ready + a query took ${Date.now() - t} ms while the slow query ran`);
      checks += 1;
    }
    const got = await slow;
    assert.equal(got.status, 503, got.text); // ended by querier.timeout
    assert.ok(checks >= 5, `only ${checks} checks overlapped the slow query`);
  });

  it('a client that goes away cancels its query', async () => {
    const b = await bigInstance();
    const ctl = new AbortController();
    const slow = call(b.baseUrl, '/api/v1/query_range', slowParams, { signal: ctl.signal }).catch((e) => e);
    const t0 = Date.now();
    while ((await running(b.baseUrl)) !== 1) {
      assert.ok(Date.now() - t0 < 5000, 'the slow query never showed as running');
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 200));
    ctl.abort();
    assert.equal((await slow).name, 'AbortError');
    const t1 = Date.now();
    while ((await running(b.baseUrl)) !== 0) {
      assert.ok(Date.now() - t1 < 1000, 'the query still runs 1 s after its client left (querier.timeout is 3 s)');
      await new Promise((r) => setTimeout(r, 10));
    }
  });
});
