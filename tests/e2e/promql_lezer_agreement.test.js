'use strict';
// Issue 10: parser agreement with an independent grammar. Every query of the parser corpus
// (src/metrics/promql/testdata/format_query_2.42.txt: the compliance tester's queries expanded
// and our own valid and invalid edge cases) is parsed by Prometheus's own lezer grammar,
// `@prometheus-io/lezer-promql` (pinned in package.json; syntax OK = the tree has no error node),
// and sent to `/api/v1/format_query` of the real `sprout metrics` (syntax OK = 200 success; a
// refusal must be 400 bad_data). Acceptance is compared. lezer-promql is a syntax grammar only
// (no type checking, no value checks), so the two legitimately differ on some queries: every
// disagreement is listed with its class and reason in testdata/lezer_disagreements.json. The
// test fails on a disagreement not listed, on a listed one that no longer disagrees (or the other
// way round), on a listed query that is no longer in the corpus, and when sprout's error text for
// a listed refusal changes or no longer fits its class.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { parser } = require('@prometheus-io/lezer-promql');

// The package's `exports` hide its package.json: read it beside the resolved entry (dist/).
const lezerVersion = JSON.parse(fs.readFileSync(
  path.join(path.dirname(require.resolve('@prometheus-io/lezer-promql')), '..', 'package.json'), 'utf8')).version;

const { makeTempDir } = require('./lib/sprout');
const { SproutMetrics } = require('./lib/sprout_metrics');

const TESTDATA = path.join(__dirname, '..', '..', 'src', 'metrics', 'promql', 'testdata');
const LIST = path.join(__dirname, 'testdata', 'lezer_disagreements.json');

function unescape(s) {
  return s.replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t', r: '\r' }[c] ?? c));
}

function corpus() {
  const text = fs.readFileSync(path.join(TESTDATA, 'format_query_2.42.txt'), 'utf8');
  return text.split('\n').filter((l) => l.startsWith('query: ')).map((l) => unescape(l.slice(7)));
}

// lezer never throws: a syntax error shows as an error node (⚠) in the tree.
function lezerAccepts(query) {
  let ok = true;
  parser.parse(query).iterate({
    enter(node) {
      if (node.type.isError) ok = false;
      return ok;
    },
  });
  return ok;
}

// What sprout's error text must look like for each class of "lezer accepts, sprout refuses".
// The later-syntax and lezer-grammar-gap classes are checked by direction and reason instead.
const CLASS_ERRORS = {
  'type-check': /expected type|wrong number of arguments|no arguments for aggregate|argument\(s\) in call|binary expression must contain only|comparisons between scalars|not allowed in binary scalar|bool modifier can only|no grouping allowed|vector matching only allowed|unary expression only allowed|subquery is only allowed on instant vector/,
  'semantic-check': /at least one non-empty matcher|metric name must not be set twice|may not be set multiple times|ranges only allowed for vector selectors|must be preceded by|duration must be greater than 0|must not occur in ON and GROUP|modifiers allowed before range|timestamp out of bounds/,
  'string-escape': /escape sequence/,
  'unterminated-string': /unterminated quoted string/,
  regex: /error parsing regexp/,
  'literal-range': /error parsing number|duration out of range/,
};

async function formatQuery(sprout, query) {
  const res = await fetch(`${sprout.baseUrl}/api/v1/format_query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...sprout.headers() },
    body: new URLSearchParams({ query }),
  });
  return { status: res.status, body: JSON.parse(await res.text()) };
}

describe('PromQL syntax: sprout agrees with lezer-promql', () => {
  let sprout;
  const list = JSON.parse(fs.readFileSync(LIST, 'utf8'));

  before(async () => {
    sprout = new SproutMetrics({ dir: makeTempDir('sprout-promql-lezer-'), tenant: 'lezer' });
    await sprout.start();
  });

  after(async () => {
    await sprout?.stop();
  });

  it('uses the lezer-promql version the list was made with, and lezer finds syntax errors', () => {
    assert.equal(lezerVersion, list.lezer_promql);
    for (const q of ['foo{', 'sum(foo', 'foo[5m', '1 +', 'foo bar', 'rate(foo[5m]']) {
      assert.equal(lezerAccepts(q), false, q);
    }
    for (const q of ['foo', 'sum by (job) (rate(foo[5m])) > bool 1', 'foo[5m:1m] offset -1m @ start()']) {
      assert.equal(lezerAccepts(q), true, q);
    }
  });

  it('every listed disagreement has a known class and a reason', () => {
    const seen = new Set();
    for (const d of list.disagreements) {
      assert.ok(list.classes[d.class], `${d.query}: unknown class ${d.class}`);
      assert.ok(!seen.has(d.query), `${d.query} listed twice`);
      seen.add(d.query);
      if (d.class in CLASS_ERRORS) {
        assert.equal(d.lezer, 'accepts', d.query);
        assert.equal(d.sprout, 'refuses', d.query);
        assert.match(d.sprout_error, CLASS_ERRORS[d.class], d.query);
      } else {
        assert.ok(typeof d.reason === 'string' && d.reason.length > 40, `${d.query}: no reason`);
      }
      if (d.class === 'later-syntax') {
        assert.equal(d.lezer, 'refuses', d.query);
        assert.equal(d.sprout, 'accepts', d.query);
      }
    }
  });

  it('agrees on every corpus query but the listed disagreements', async () => {
    const queries = corpus();
    assert.ok(queries.length > 1000, `corpus has ${queries.length} queries`);
    const listed = new Map(list.disagreements.map((d) => [d.query, d]));
    const problems = [];
    const counts = {};
    let agree = 0;
    let bothRefuse = 0;
    const inCorpus = new Set();
    for (const q of queries) {
      inCorpus.add(q);
      const lezer = lezerAccepts(q);
      const got = await formatQuery(sprout, q);
      if (got.status !== 200) {
        assert.equal(got.status, 400, `${q}: ${JSON.stringify(got.body)}`);
        assert.equal(got.body.errorType, 'bad_data', q);
      }
      const ours = got.status === 200;
      const d = listed.get(q);
      if (lezer === ours) {
        agree += 1;
        if (!lezer) bothRefuse += 1;
        if (d) problems.push(`listed but agrees now (both ${ours ? 'accept' : 'refuse'}): ${JSON.stringify(q)}`);
        continue;
      }
      const line = `lezer ${lezer ? 'accepts' : 'refuses'}, sprout ${ours ? 'accepts' : `refuses (${got.body.error})`}: ${JSON.stringify(q)}`;
      if (!d) {
        problems.push(`not listed: ${line}`);
        continue;
      }
      counts[d.class] = (counts[d.class] ?? 0) + 1;
      if (d.lezer !== (lezer ? 'accepts' : 'refuses') || d.sprout !== (ours ? 'accepts' : 'refuses')) {
        problems.push(`listed the other way round: ${line}`);
      } else if (!ours && got.body.error !== `invalid parameter "query": ${d.sprout_error}`) {
        problems.push(`sprout's error changed: ${line}, listed ${JSON.stringify(d.sprout_error)}`);
      }
    }
    for (const q of listed.keys()) {
      if (!inCorpus.has(q)) problems.push(`listed but not in the corpus: ${JSON.stringify(q)}`);
    }
    const disagree = queries.length - agree;
    console.log(`lezer-promql ${lezerVersion}: ${queries.length} queries, ${agree} agree ` +
                `(${bothRefuse} refused by both), ${disagree} listed disagreements ${JSON.stringify(counts)}`);
    // The corpus has invalid queries on which both must agree, not only valid ones.
    assert.ok(bothRefuse > 100, `only ${bothRefuse} queries refused by both`);
    assert.deepEqual(problems, [], `${problems.length} problems`);
  });
});
