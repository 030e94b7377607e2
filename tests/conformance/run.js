#!/usr/bin/env node
'use strict';
// `make conformance`: every case (or the reduced set) against CONFORMANCE_TARGET; writes
// report.md and report.json to CONFORMANCE_OUT and exits 1 when the pass rate is below
// CONFORMANCE_MIN_PASS percent (default 99, the acceptance bar), 2 when the harness
// itself could not run (a peer did not start, the reference did not take the data).
//
// Environment: CONFORMANCE_TARGET (sprout | victoria | prometheus; default sprout),
// CONFORMANCE_CASES (all | reduced; default all), CONFORMANCE_OUT (default ../../build/conformance),
// CONFORMANCE_MIN_PASS (percent), CONFORMANCE_STEP (seconds), CONFORMANCE_CONCURRENCY,
// SPROUT_BIN (the sprout binary for the sprout target).

const fs = require('node:fs');
const path = require('node:path');

const { loadCases, missingQueryFile, reducedCases } = require('./lib/cases');
const { WINDOW } = require('./lib/data');
const { percent, reportMarkdown, runConformance } = require('./lib/harness');

async function main() {
  const target = process.env.CONFORMANCE_TARGET || 'sprout';
  const which = process.env.CONFORMANCE_CASES || 'all';
  const outDir = path.resolve(process.env.CONFORMANCE_OUT || path.join(__dirname, '../../build/conformance'));
  const minPass = Number(process.env.CONFORMANCE_MIN_PASS || 99);
  const window = { ...WINDOW };
  if (process.env.CONFORMANCE_STEP) window.stepMs = Number(process.env.CONFORMANCE_STEP) * 1000;
  const missing = missingQueryFile();
  if (missing) {
    process.stderr.write(`conformance: ${missing}\n`);
    process.exit(2);
  }
  const all = loadCases();
  const cases = which === 'reduced' ? reducedCases(all) : all;
  const log = (line) => process.stderr.write(`conformance: ${line}\n`);
  const summary = await runConformance({
    target,
    cases,
    window,
    concurrency: Number(process.env.CONFORMANCE_CONCURRENCY || 4),
    log,
  });
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(summary, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'report.md'), reportMarkdown(summary));
  for (const c of summary.cases) if (!c.pass) process.stdout.write(`FAIL #${c.id} ${c.query}: ${c.diff}\n`);
  process.stdout.write(`${summary.target}: ${summary.passed}/${summary.total} cases pass (${percent(summary.passRate)}); report: ${path.join(outDir, 'report.md')}\n`);
  if (summary.passRate * 100 < minPass) {
    process.stdout.write(`below CONFORMANCE_MIN_PASS=${minPass} %\n`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`conformance: the harness could not run: ${err.stack || err.message}\n`);
  process.exitCode = 2;
});
