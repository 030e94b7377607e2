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
