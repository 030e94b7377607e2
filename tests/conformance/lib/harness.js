'use strict';
// One conformance run: start the reference and the target, write the data set to both, wait
// until both hold it, run every case as a range query against both, compare, and summarise.

const { classifyAnswer, compareAnswers, DEFAULT_TOLERANCE } = require('./compare');
const { WINDOW, batches, generate } = require('./data');
const { reference, target: makeTarget } = require('./peers');
const { writeAll } = require('./write');
const { sleep } = require('../../e2e/lib/sprout');

// Polls until the peer reports `series` series under job="demo" (and, where it has PromQL and
// `countSamples`, `floats` samples); returns a note on what it saw, or throws after timeoutMs.
async function waitForData(peer, expected, { timeoutMs = 60000, countSamples = true } = {}) {
  const deadline = Date.now() + timeoutMs;
  let seen = 'nothing';
  for (;;) {
    try {
      await peer.flush();
      const series = await peer.seriesCount(expected);
      seen = `${series} series`;
      if (series === expected.series) {
        if (!countSamples) return `${series} series`;
        const samples = await peer.sampleCount(expected);
        if (samples === null) {
          const raw = await peer.rawCounts(expected);
          if (raw === null) return `${series} series (no PromQL to count samples)`;
          seen += `, ${raw.floats} samples and ${raw.stale} staleness markers by remote read`;
          if (raw.floats === expected.floats && raw.stale === expected.staleMarkers) return seen;
        } else {
          seen += `, ${samples} samples`;
          if (samples === expected.floats) return seen;
        }
      }
    } catch (err) {
      seen = err.message.slice(0, 300);
    }
    if (Date.now() >= deadline) throw new Error(`${peer.name} does not hold the data after ${timeoutMs} ms: expected ${expected.series} series and ${expected.floats} samples, saw ${seen}`);
    await sleep(250);
  }
}

// Runs `fn` over `items` with at most `limit` at once, results in item order.
async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

// Options: target ('sprout' | 'victoria' | 'prometheus'), cases (from lib/cases.js), window
// ({startMs, endMs, stepMs}), tolerance, concurrency, log (a function for progress lines).
// `inspect`: an async function called with the reference peer once it holds the data (tests).
// `instantTimes` (a list of ms): each case runs as instant queries at those times instead of one
// range query, compared the same way, and a vector's series must come in the reference's order
// when its outermost function or aggregation orders them (sort, sort_desc, topk, bottomk).
async function runConformance({ target = 'sprout', cases, window = WINDOW, tolerance = DEFAULT_TOLERANCE, concurrency = 4, log = () => {}, inspect, instantTimes }) {
  const began = Date.now();
  const data = generate();
  const names = [...new Set(data.samples.map((s) => s.labels.__name__))].sort();
  const expected = { series: data.series, floats: data.floats, staleMarkers: data.staleMarkers, minMs: data.minMs, maxMs: data.maxMs, names };
  const tgt = makeTarget(target); // first: an unknown target leaves nothing behind
  const ref = reference();
  const notes = [];
  let failed = false;
  try {
    log(`starting ${ref.name} and ${tgt.name}`);
    await Promise.all([ref.start(), tgt.start()]);
    const reqs = batches(data.samples);
    log(`writing ${data.samples.length} samples (${data.staleMarkers} stale markers) of ${data.series} series in ${reqs.length} requests to both`);
    const results = await Promise.allSettled([
      writeAll(reqs, [{ url: ref.writeUrl }]),
      writeAll(reqs, [{ url: tgt.writeUrl }]),
    ]);
    if (results[0].status === 'rejected') throw new Error(`writing to the reference failed: ${results[0].reason.message}`);
    if (results[1].status === 'rejected') notes.push(`writing to the target failed: ${results[1].reason.message}`);
    notes.push(`reference: ${await waitForData(ref, expected)}`);
    if (results[1].status === 'fulfilled') {
      // VictoriaMetrics counts staleness markers its own way: only its series are awaited.
      try {
        notes.push(`target: ${await waitForData(tgt, expected, { countSamples: target !== 'victoria' })}`);
      } catch (err) {
        notes.push(`target: ${err.message}`);
      }
    }
    log(notes.join('; '));
    if (inspect) await inspect(ref);
    log(`running ${cases.length} cases`);
    const outcomes = await mapLimit(cases, concurrency, async (c) => {
      if (instantTimes) return instantOutcome(c, instantTimes, ref, tgt, tolerance);
      const [a, b] = await Promise.all([ref.rangeQuery(c.query, window), tgt.rangeQuery(c.query, window)]);
      const refAnswer = classifyAnswer(a);
      const tgtAnswer = classifyAnswer(b);
      const { pass, diff } = compareAnswers(refAnswer, tgtAnswer, { shouldFail: c.shouldFail, tolerance });
      // What the reference answered, to show that a case compares something: series and points.
      const reference = refAnswer.kind === 'result'
        ? { series: refAnswer.result.length, points: refAnswer.result.reduce((n, s) => n + ((s.values || []).length + (s.histograms || []).length), 0) }
        : { [refAnswer.kind]: refAnswer.kind === 'error' ? `${refAnswer.errorType}: ${refAnswer.error}` : refAnswer.reason };
      return { id: c.id, query: c.query, shouldFail: c.shouldFail, pass, ...(pass ? {} : { diff }), reference };
    });
    const passed = outcomes.filter((o) => o.pass).length;
    return {
      reference: 'prometheus (Debian 2.42)',
      target,
      generatedAt: new Date().toISOString(),
      seconds: Math.round((Date.now() - began) / 100) / 10,
      window: { start: new Date(window.startMs).toISOString(), end: new Date(window.endMs).toISOString(), stepSeconds: window.stepMs / 1000 },
      tolerance,
      data: { series: data.series, floatSamples: data.floats, staleMarkers: data.staleMarkers, from: new Date(data.minMs).toISOString(), to: new Date(data.maxMs).toISOString() },
      notes,
      total: outcomes.length,
      passed,
      failed: outcomes.length - passed,
      passRate: outcomes.length ? passed / outcomes.length : 0,
      cases: outcomes,
    };
  } catch (err) {
    failed = true;
    err.message += `\n(data dirs and logs kept in ${ref.server.dir} ${tgt.server.dir})`;
    throw err;
  } finally {
    await Promise.all([ref.kill(), tgt.kill()]);
    if (!failed && !process.env.SPROUT_E2E_KEEP) {
      ref.removeDir();
      tgt.removeDir();
    }
  }
}

// Whether an instant query's answer order is defined: its outermost call or aggregation sorts.
function ordered(query) {
  return /^\s*\(*\s*(sort|sort_desc|topk|bottomk)\b/.test(query);
}

async function instantOutcome(c, times, ref, tgt, tolerance) {
  let points = 0;
  let series = 0;
  for (const t of times) {
    const [a, b] = await Promise.all([ref.instantQuery(c.query, t), tgt.instantQuery(c.query, t)]);
    const refAnswer = classifyAnswer(a);
    const tgtAnswer = classifyAnswer(b);
    const { pass, diff } = compareAnswers(refAnswer, tgtAnswer, { shouldFail: c.shouldFail, tolerance });
    const at = new Date(t).toISOString();
    if (!pass) return { id: c.id, query: c.query, shouldFail: c.shouldFail, pass, diff: `@ ${at}: ${diff}`, reference: { series, points } };
    if (refAnswer.kind === 'result' && Array.isArray(refAnswer.result)) {
      series += refAnswer.result.length;
      points += refAnswer.result.reduce((n, s) => n + (s.values ? s.values.length : 1), 0);
      if (ordered(c.query) && refAnswer.resultType === 'vector') {
        const key = (s) => JSON.stringify(s.metric);
        const want = refAnswer.result.map(key);
        const got = tgtAnswer.result.map(key);
        if (JSON.stringify(want) !== JSON.stringify(got)) {
          return { id: c.id, query: c.query, shouldFail: c.shouldFail, pass: false, diff: `@ ${at}: order ${got.join(' ')} instead of ${want.join(' ')}`, reference: { series, points } };
        }
      }
    } else if (refAnswer.kind === 'result') {
      points += 1;
    }
  }
  return { id: c.id, query: c.query, shouldFail: c.shouldFail, pass: true, reference: { series, points } };
}

const percent = (r) => `${(Math.floor(r * 1000) / 10).toFixed(1)} %`;

// The Markdown report: summary, then one line per failure (query and first difference).
function reportMarkdown(summary) {
  const lines = [
    `# PromQL conformance: ${summary.target} against ${summary.reference}`,
    '',
    `**${summary.passed} / ${summary.total} cases pass (${percent(summary.passRate)})**, ${summary.failed} fail.`,
    '',
    `- generated ${summary.generatedAt} in ${summary.seconds} s`,
    `- data: ${summary.data.series} series, ${summary.data.floatSamples} samples and ${summary.data.staleMarkers} staleness markers from ${summary.data.from} to ${summary.data.to}`,
    `- range queries from ${summary.window.start} to ${summary.window.end}, step ${summary.window.stepSeconds} s; values equal within relative tolerance ${summary.tolerance}, NaN = NaN`,
    ...summary.notes.map((n) => `- ${n}`),
    '',
    '## Failures',
    '',
  ];
  const failures = summary.cases.filter((c) => !c.pass);
  if (failures.length === 0) lines.push('None.');
  for (const c of failures) lines.push(`- #${c.id} \`${c.query}\`${c.shouldFail ? ' (should_fail)' : ''}: ${c.diff}`);
  return `${lines.join('\n')}\n`;
}

module.exports = { mapLimit, percent, reportMarkdown, runConformance, waitForData };
