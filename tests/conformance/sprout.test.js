'use strict';
// Sprout against the reference: `sprout metrics` (the built binary) and Debian's `prometheus`
// 2.42 take the same generated samples, and every expanded case of promql-test-queries.yml runs
// as a range query against both (what `make conformance` runs, here with its report written to
// CONFORMANCE_OUT). Every case must pass: docs/promql-compatibility.md lists no accepted
// difference on this data.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');

const { loadCases, missingQueryFile } = require('./lib/cases');
const { reportMarkdown, runConformance } = require('./lib/harness');

describe('conformance: sprout against prometheus 2.42', { skip: missingQueryFile() }, () => {
  it('every case of the compliance query list gives Prometheus\'s answer', async () => {
    const cases = loadCases();
    const summary = await runConformance({ target: 'sprout', cases });
    const out = process.env.CONFORMANCE_OUT;
    if (out) {
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'sprout-report.md'), reportMarkdown(summary));
    }
    assert.equal(summary.total, 539);
    const failures = summary.cases.filter((c) => !c.pass).map((c) => `#${c.id} ${c.query}: ${c.diff}`);
    assert.deepEqual(failures, []);
    // The comparison had something to compare: most cases answered series with points, and the
    // should_fail cases failed on both sides.
    assert.ok(summary.cases.filter((c) => c.reference.points > 0).length > cases.length * 0.7);
  });
});

// Our own cases beyond the compliance list (testdata/extra-queries.yml: `@`, negative offsets,
// subqueries with offsets, label functions, the remaining functions and aggregations, matching
// with group labels, NaN/Inf arithmetic, atan2's kept name), same data, same comparison.
describe('conformance: sprout against prometheus 2.42, extra cases', () => {
  it('every extra case gives Prometheus\'s answer', async () => {
    const cases = loadCases(path.join(__dirname, 'testdata', 'extra-queries.yml'));
    const summary = await runConformance({ target: 'sprout', cases });
    const out = process.env.CONFORMANCE_OUT;
    if (out) {
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'sprout-extra-report.md'), reportMarkdown(summary));
    }
    assert.ok(cases.length >= 90);
    const failures = summary.cases.filter((c) => !c.pass).map((c) => `#${c.id} ${c.query}: ${c.diff}`);
    assert.deepEqual(failures, []);
    assert.ok(summary.cases.filter((c) => c.reference.points > 0).length > cases.length * 0.7);
  });
});

// Instant queries: every case of both lists at four times (the window's start, 10 s into the
// restart, 2 s after the counter reset, the window's end), compared the same way; the series of
// sort, sort_desc, topk and bottomk answers must come in the reference's order.
describe('conformance: sprout against prometheus 2.42, instant queries', { skip: missingQueryFile() }, () => {
  it('every case gives Prometheus\'s answer as an instant query', async () => {
    const d = require('./lib/data');
    const cases = [
      ...loadCases(),
      ...loadCases(path.join(__dirname, 'testdata', 'extra-queries.yml')).map((c) => ({ ...c, id: `extra-${c.id}` })),
    ];
    const times = [d.WINDOW.startMs, d.RESTART_AT_MS + 10000, d.RESET_AT_MS + 2000, d.WINDOW.endMs];
    const summary = await runConformance({ target: 'sprout', cases, instantTimes: times });
    const out = process.env.CONFORMANCE_OUT;
    if (out) {
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'sprout-instant-report.md'), reportMarkdown(summary));
    }
    const failures = summary.cases.filter((c) => !c.pass).map((c) => `#${c.id} ${c.query}: ${c.diff}`);
    assert.deepEqual(failures, []);
    assert.ok(summary.cases.filter((c) => c.reference.points > 0).length > cases.length * 0.7);
  });
});
