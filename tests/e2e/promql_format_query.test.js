'use strict';
// Issue 10, item 1: /api/v1/format_query of `sprout metrics` against Debian's Prometheus 2.42,
// live, over the parser corpus (src/metrics/promql/testdata/format_query_2.42.txt: the
// compliance tester's queries expanded and our own valid and invalid edge cases). Every query is
// sent as a form POST to both; status, errorType, error text and the formatted query must be
// identical, at `/api/v1` and under `/prometheus`. The deliberate differences
// (testdata/deliberate_differences.txt: later syntax that 2.42 refuses) are excluded from the
// comparison and checked against Sprout's own expected answer instead.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { Prometheus } = require('./lib/prom');
const { makeTempDir } = require('./lib/sprout');
const { SproutMetrics } = require('./lib/sprout_metrics');

const TESTDATA = path.join(__dirname, '..', '..', 'src', 'metrics', 'promql', 'testdata');

function unescape(s) {
  return s.replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t', r: '\r' }[c] ?? c));
}

function corpus() {
  const text = fs.readFileSync(path.join(TESTDATA, 'format_query_2.42.txt'), 'utf8');
  return text.split('\n').filter((l) => l.startsWith('query: ')).map((l) => unescape(l.slice(7)));
}

function differences() {
  const out = new Map();
  for (const line of fs.readFileSync(path.join(TESTDATA, 'deliberate_differences.txt'), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [q, want] = line.split('\t');
    out.set(unescape(q), unescape(want));
  }
  return out;
}

async function formatQuery(base, query, headers = {}) {
  const res = await fetch(`${base}/api/v1/format_query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ query }),
  });
  return { status: res.status, body: await res.text() };
}

describe('format_query: sprout metrics answers as Prometheus 2.42', () => {
  let prometheus;
  let sprout;

  before(async () => {
    const dir = makeTempDir('sprout-promql-format-');
    prometheus = new Prometheus({ dir });
    await prometheus.start();
    sprout = new SproutMetrics({ dir, tenant: 'promql' });
    await sprout.start();
  });

  after(async () => {
    await sprout?.stop();
    await prometheus?.stop();
  });

  it('gives the same answer for every query of the corpus', async () => {
    const queries = corpus();
    const skip = differences();
    assert.ok(queries.length > 1000, `corpus has ${queries.length} queries`);
    const mismatches = [];
    let compared = 0;
    let errors = 0;
    for (const q of queries) {
      if (skip.has(q)) continue;
      const [want, got] = await Promise.all([
        formatQuery(prometheus.baseUrl, q),
        formatQuery(sprout.baseUrl, q, sprout.headers()),
      ]);
      compared += 1;
      if (want.status !== 200) errors += 1;
      if (want.status !== got.status || want.body !== got.body) {
        mismatches.push(`${JSON.stringify(q)}\n  prometheus: ${want.status} ${want.body}\n  sprout:     ${got.status} ${got.body}`);
      }
    }
    assert.ok(errors > 150, `only ${errors} invalid queries compared`);
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} differ`);
  });

  it('answers the same under /prometheus and with GET', async () => {
    for (const q of ['sum by (job) (rate(x[5m])) > bool 1', 'foo{', 'a>b&&']) {
      const want = await formatQuery(prometheus.baseUrl, q);
      const got = await formatQuery(`${sprout.baseUrl}/prometheus`, q, sprout.headers());
      assert.equal(got.status, want.status);
      assert.equal(got.body, want.body);
      const viaGet = await fetch(`${sprout.baseUrl}/api/v1/format_query?${new URLSearchParams({ query: q })}`, {
        headers: sprout.headers(),
      });
      const wantGet = await fetch(`${prometheus.baseUrl}/api/v1/format_query?${new URLSearchParams({ query: q })}`);
      assert.equal(viaGet.status, wantGet.status);
      assert.equal(await viaGet.text(), await wantGet.text());
    }
  });

  it('accepts the later syntax 2.42 refuses (deliberate differences)', async () => {
    for (const [q, want] of differences()) {
      const got = await formatQuery(sprout.baseUrl, q, sprout.headers());
      assert.equal(got.status, 200, `${q}: ${got.body}`);
      assert.equal(JSON.parse(got.body).data, want, q);
      const prom = await formatQuery(prometheus.baseUrl, q);
      assert.notEqual(prom.body, got.body, `${q} is no difference`);
    }
  });
});
