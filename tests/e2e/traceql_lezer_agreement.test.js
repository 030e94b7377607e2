'use strict';
// Issue 12: TraceQL parser agreement with an independent grammar. Every query of the TraceQL
// corpus (tests/traceql/corpus.jsonl: valid queries with their expected spans, invalid ones with
// Tempo's error) is parsed by Grafana's own lezer grammar, `@grafana/lezer-traceql` (pinned in
// package.json; syntax OK = the tree has no error node), and compared with the corpus's marking
// of the query (valid = has "spans", invalid = has "error"), which traceql_corpus.test.js checks
// against the real server (200 / 400 with that error). lezer-traceql is a syntax grammar only and
// is the grammar of Grafana's editor, not Tempo's, so the two legitimately differ on some queries:
// every disagreement is listed with its class and reason in
// testdata/traceql_lezer_disagreements.json. The test fails on a disagreement not listed, on a
// listed one that no longer disagrees (or goes the other way), on a listed query that is no
// longer in the corpus, and when the corpus's error for a listed refusal changes or no longer
// fits its class. No server needed.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { parser } = require('@grafana/lezer-traceql');

// The package's `exports` hide its package.json: read it beside the resolved entry.
const lezerVersion = JSON.parse(fs.readFileSync(
  path.join(path.dirname(require.resolve('@grafana/lezer-traceql')), 'package.json'), 'utf8')).version;

const CORPUS = path.join(__dirname, '..', 'traceql', 'corpus.jsonl');
const LIST = path.join(__dirname, 'testdata', 'traceql_lezer_disagreements.json');

function corpus() {
  return fs.readFileSync(CORPUS, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
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

// What the error must look like for each class of "lezer accepts, sprout refuses".
const CLASS_ERRORS = {
  'type-check': /: (binary operations must operate on the same type|illegal operation for the given types?|span filter field expressions must resolve to a boolean|aggregate field expressions must (resolve to a number type|reference the span)): /,
  regex: /: error parsing regexp: /,
  'literal-range': /: strconv\.(Atoi|ParseFloat): parsing "[^"]*": value out of range$/,
  'grammar-leniency': /: syntax error: unexpected /,
  metrics: /^metrics queries are not supported by search: /,
};

describe('TraceQL syntax: sprout agrees with lezer-traceql', () => {
  const list = JSON.parse(fs.readFileSync(LIST, 'utf8'));

  it('uses the lezer-traceql version the list was made with, and lezer finds syntax errors', () => {
    assert.equal(lezerVersion, list.lezer_traceql);
    for (const q of ['{', '{ .a = }', '{ .a = 1 } | ', '{ } >>', '{ .a = "x" ', 'by(']) {
      assert.equal(lezerAccepts(q), false, q);
    }
    for (const q of ['{ }', '{ .a = 1 && span.b =~ "x.*" } >> { kind = server }', '{ } | count() > 2',
      '{ resource.service.name = "a" } | by(span.b) | coalesce()', '{ } with (most_recent=true)']) {
      assert.equal(lezerAccepts(q), true, q);
    }
  });

  it('every listed disagreement has a known class and a reason', () => {
    const seen = new Set();
    for (const d of list.disagreements) {
      assert.ok(list.classes[d.class], `${d.query}: unknown class ${d.class}`);
      assert.ok(!seen.has(d.query), `${d.query} listed twice`);
      seen.add(d.query);
      if (d.sprout === 'refuses') {
        assert.equal(d.lezer, 'accepts', d.query);
        assert.ok(d.class in CLASS_ERRORS, `${d.query}: class ${d.class} is for queries sprout accepts`);
        assert.match(d.sprout_error, CLASS_ERRORS[d.class], d.query);
      } else {
        assert.equal(d.sprout, 'accepts', d.query);
        assert.equal(d.lezer, 'refuses', d.query);
        assert.equal(d.class, 'lezer-grammar-gap', d.query);
      }
      if (!(d.class in { 'type-check': 1, regex: 1, 'literal-range': 1 })) {
        assert.ok(typeof d.reason === 'string' && d.reason.length > 40, `${d.query}: no reason`);
      }
    }
  });

  it('agrees on every corpus query but the listed disagreements', () => {
    const entries = corpus();
    assert.ok(entries.length >= 150, `corpus has ${entries.length} queries`);
    const listed = new Map(list.disagreements.map((d) => [d.query, d]));
    const problems = [];
    const counts = {};
    let agree = 0;
    let bothRefuse = 0;
    const inCorpus = new Set();
    for (const e of entries) {
      const q = e.q;
      inCorpus.add(q);
      const lezer = lezerAccepts(q);
      const ours = e.error === undefined;
      const d = listed.get(q);
      if (lezer === ours) {
        agree += 1;
        if (!lezer) bothRefuse += 1;
        if (d) problems.push(`listed but agrees now (both ${ours ? 'accept' : 'refuse'}): ${JSON.stringify(q)}`);
        continue;
      }
      const line = `lezer ${lezer ? 'accepts' : 'refuses'}, sprout ${ours ? 'accepts' : `refuses (${e.error})`}: ${JSON.stringify(q)}`;
      if (!d) {
        problems.push(`not listed: ${line}`);
        continue;
      }
      counts[d.class] = (counts[d.class] ?? 0) + 1;
      if (d.lezer !== (lezer ? 'accepts' : 'refuses') || d.sprout !== (ours ? 'accepts' : 'refuses')) {
        problems.push(`listed the other way round: ${line}`);
      } else if (!ours && e.error !== d.sprout_error) {
        problems.push(`the corpus's error changed: ${line}, listed ${JSON.stringify(d.sprout_error)}`);
      }
    }
    for (const q of listed.keys()) {
      if (!inCorpus.has(q)) problems.push(`listed but not in the corpus: ${JSON.stringify(q)}`);
    }
    console.log(`lezer-traceql ${lezerVersion}: ${entries.length} queries, ${agree} agree ` +
                `(${bothRefuse} refused by both), ${entries.length - agree} listed disagreements ${JSON.stringify(counts)}`);
    // The corpus has invalid queries on which both must agree, not only valid ones.
    assert.ok(bothRefuse >= 10, `only ${bothRefuse} queries refused by both`);
    assert.deepEqual(problems, [], `${problems.length} problems`);
  });
});
