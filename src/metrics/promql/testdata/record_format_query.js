#!/usr/bin/env node
// Records what a real Prometheus answers to /api/v1/format_query for every query of the test
// corpus, into format_query_2.42.txt (read by promql_test.cc and tests/e2e/promql_format_query.test.js).
//
//   node record_format_query.js [conformance.yml] [prometheus-binary]
//
// The corpus is the PromQL compliance tester's queries (promql-test-queries.yml, every template
// expanded with the tester's variant values) followed by own_queries.txt. Prometheus (Debian's
// 2.42 package) is started on a free port with a temporary storage directory and stopped after.
// For every refused query /api/v1/query is asked too and must give the same error (it does for
// every query of the corpus). Output records are separated by a blank line:
//   query: <escaped query>
//   format: <escaped answer>        (status success)
//   error: <escaped error message>  (status error, errorType bad_data, HTTP 400)
// Escapes: \\ \n \t \r. An answer of any other shape stops the script.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const { spawn } = require('child_process');

const here = __dirname;
// The template expansion is the conformance harness's (needs `make deps` for its npm packages).
const { QUERY_FILE, loadCases } = require('../../../../tests/conformance/lib/cases');
const ymlPath = process.argv[2] || QUERY_FILE;
const binary = process.argv[3] || 'prometheus';

function unescapeLine(s) {
  return s.replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' }[c] ?? '\\' + c));
}
function escapeLine(s) {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
  });
}

async function main() {
  const queries = loadCases(ymlPath).map((c) => c.query);
  for (const line of fs.readFileSync(path.join(here, 'own_queries.txt'), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    queries.push(unescapeLine(line));
  }
  const seen = new Set();
  const unique = queries.filter((q) => (seen.has(q) ? false : (seen.add(q), true)));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promql-record-'));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n');
  const port = await freePort();
  const prom = spawn(binary, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${base}/-/ready`)).ok) break; } catch (e) { /* not up yet */ }
      if (i > 100) throw new Error('prometheus did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const version = (await (await fetch(`${base}/api/v1/status/buildinfo`)).json()).data.version;
    let out = `# Recorded by record_format_query.js from Prometheus ${version}: ${unique.length} queries.\n\n`;
    for (const q of unique) {
      const res = await fetch(`${base}/api/v1/format_query`, {
        method: 'POST', body: new URLSearchParams({ query: q }),
      });
      const body = await res.json();
      out += `query: ${escapeLine(q)}\n`;
      if (res.status === 200 && body.status === 'success') {
        out += `format: ${escapeLine(body.data)}\n\n`;
      } else if (res.status === 400 && body.errorType === 'bad_data') {
        const prefix = 'invalid parameter "query": ';
        if (!body.error.startsWith(prefix)) throw new Error(`unexpected error text for ${q}: ${body.error}`);
        out += `error: ${escapeLine(body.error.slice(prefix.length))}\n\n`;
        // /api/v1/query must refuse the query with the same text (both run the same parser);
        // the recording stops if it does not, so the one error column serves both endpoints.
        const q2 = await fetch(`${base}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: q }) });
        const b2 = await q2.json();
        if (q2.status !== 400 || b2.errorType !== 'bad_data' || b2.error !== body.error) {
          throw new Error(`/api/v1/query answers ${q} differently: ${q2.status} ${JSON.stringify(b2)}`);
        }
      } else {
        throw new Error(`unexpected answer for ${q}: ${res.status} ${JSON.stringify(body)}`);
      }
    }
    fs.writeFileSync(path.join(here, 'format_query_2.42.txt'), out);
    console.log(`recorded ${unique.length} queries from Prometheus ${version}`);
  } finally {
    prom.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
