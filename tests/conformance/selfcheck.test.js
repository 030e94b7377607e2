'use strict';
// The harness checking itself: a second Debian `prometheus` as the target must agree with the
// reference on the reduced case list (one case per template, every should_fail case): 100 %.
// Also checks, through the reference's API, that the data's events arrived as designed: the
// stale markers end series at once (not after the 5 m lookback), the restart and the counter
// reset are counter resets, the intermittent metric has gaps in the window.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');

const { loadCases, missingQueryFile, reducedCases } = require('./lib/cases');
const { classifyAnswer } = require('./lib/compare');
const d = require('./lib/data');
const { reportMarkdown, runConformance } = require('./lib/harness');

async function matrix(peer, query, window) {
  const a = classifyAnswer(await peer.rangeQuery(query, window));
  assert.equal(a.kind, 'result', `${query}: ${a.error || a.reason}`);
  return a.result;
}
const at = (ms) => ({ startMs: ms, endMs: ms, stepMs: 1000 });

describe('conformance self-check: prometheus against prometheus', { skip: missingQueryFile() }, () => {
  it('every reduced case passes, and the data carries its events', async () => {
    const cases = reducedCases(loadCases());
    const checked = [];
    const summary = await runConformance({
      target: 'prometheus',
      cases,
      inspect: async (ref) => {
        const inst1 = d.INSTANCES[d.RESTART_INSTANCE];
        // A stale marker hides the series at once: 10 s after the restart began, nothing.
        assert.deepEqual(await matrix(ref, `demo_num_cpus{instance="${inst1}"}`, at(d.RESTART_AT_MS + 10000)), []);
        assert.equal((await matrix(ref, `demo_num_cpus{instance="${inst1}"}`, at(d.RESTART_AT_MS - 1000))).length, 1);
        // The restart and the reset are counter resets inside the window.
        const resets = await matrix(ref, `resets(demo_cpu_usage_seconds_total{mode="system"}[40m])`, at(d.WINDOW.endMs));
        const byInstance = Object.fromEntries(resets.map((r) => [r.metric.instance, Number(r.values[0][1])]));
        assert.deepEqual(byInstance, { [d.INSTANCES[0]]: 0, [d.INSTANCES[1]]: 1, [d.INSTANCES[2]]: 1 });
        // The intermittent metric is absent for part of the window on every instance.
        const inter = await matrix(ref, 'demo_intermittent_metric', d.WINDOW);
        const full = Math.floor((d.WINDOW.endMs - d.WINDOW.startMs) / d.WINDOW.stepMs) + 1;
        assert.equal(inter.length, 3);
        for (const s of inter) assert.ok(s.values.length > 0 && s.values.length < full * 0.8, `${s.metric.instance}: ${s.values.length} of ${full}`);
        checked.push('events');
      },
    });
    assert.deepEqual(checked, ['events']);
    const out = process.env.CONFORMANCE_OUT;
    if (out) {
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'selfcheck-report.md'), reportMarkdown(summary));
    }
    assert.equal(summary.total, cases.length);
    const failures = summary.cases.filter((c) => !c.pass).map((c) => `#${c.id} ${c.query}: ${c.diff}`);
    assert.deepEqual(failures, []);
    assert.equal(summary.passed, cases.length);
    // The comparison had something to compare: most cases answered series with points.
    assert.ok(summary.cases.filter((c) => c.reference.points > 0).length > cases.length * 0.7);
  });
});
