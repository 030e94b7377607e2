'use strict';
// Manual tool (not a test): sends every file of a directory (e.g. a fuzzer's working corpus,
// build-fuzz/corpus/promql_parser_fuzzer) as a query to /api/v1/format_query of Debian's
// Prometheus 2.42 and of `sprout metrics`, and prints the answers that differ, leaving out the
// documented deliberate differences (quoted names and later functions that 2.42 refuses, a +Inf
// left operand of ^). Inputs that are not valid UTF-8 or hold NUL are skipped (a form body
// cannot carry them unchanged).
//
//   node promql_corpus_diff.js <directory>
const fs = require('fs');
const path = require('path');
const { Prometheus } = require('./lib/prom');
const { makeTempDir } = require('./lib/sprout');
const { SproutMetrics } = require('./lib/sprout_metrics');

const DELIBERATE = /unexpected string .* in (label matching|grouping opts)|unknown function with name \\"(limitk|limit_ratio|double_exponential_smoothing|histogram_avg|histogram_stddev|histogram_stdvar|mad_over_time|sort_by_label|sort_by_label_desc|info)\\"/;

async function formatQuery(base, q, headers = {}) {
  const res = await fetch(`${base}/api/v1/format_query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ query: q }),
  });
  return `${res.status} ${await res.text()}`;
}

(async () => {
  const dir = makeTempDir('promql-corpus-diff-');
  const prom = new Prometheus({ dir });
  await prom.start();
  const sprout = new SproutMetrics({ dir, tenant: 'diff' });
  await sprout.start();
  let compared = 0;
  let differ = 0;
  for (const f of fs.readdirSync(process.argv[2])) {
    const buf = fs.readFileSync(path.join(process.argv[2], f));
    const q = buf.toString('utf8');
    if (!Buffer.from(q, 'utf8').equals(buf) || q.includes('\0')) continue;
    compared += 1;
    const [a, b] = await Promise.all([formatQuery(prom.baseUrl, q), formatQuery(sprout.baseUrl, q, sprout.headers())]);
    if (a !== b && !a.includes('+Inf ^') && !DELIBERATE.test(a)) {
      differ += 1;
      console.log(JSON.stringify(q), '\n  prometheus:', a, '\n  sprout:    ', b);
    }
  }
  console.log(`compared ${compared}, differ ${differ}`);
  await sprout.stop();
  await prom.stop();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
