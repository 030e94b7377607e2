'use strict';
// kill -9 loop of the metrics-generator's remote-write WAL (issue 13): `sprout traces` with the
// seed's processors (service-graphs, span-metrics), `collection_interval: 1s`, `storage.path`
// and one `storage.remote_write` entry to a receiver in this process (node's http server,
// snappyjs + protobufjs: every request is decoded, every sample recorded) takes a steady load of
// hand-built OTLP/HTTP client/server span pairs while it is SIGKILLed at a random moment 3–4.5 s
// into each run and started again on the same directories, SPROUT_E2E_KILL_ITERATIONS times
// (default 4; `make soak` runs more). In every other run the receiver answers 503, so the
// collections of that run exist only in the WAL when the kill comes; every fourth run (the third,
// the seventh, …; accepting) is killed while the receiver holds a request it received whole but
// has not answered; after every third kill (the second, the fifth, …) the restart is itself
// killed 20–320 ms into its start-up first.
//
// Each run's config differs from the others' in one external label, `life=<run>` (the WAL's
// directory depends on the entry only, so every run opens the same WAL): a sample then says
// which process collected it, and each run's series start afresh (with Tempo's initial 0
// sample), as a restarted generator's do.
//
// At the end:
// - sprout started every time (WAL recovery works) with no error in its log, and the last run
//   stops cleanly (SIGTERM: the WAL delivered);
// - every request decodes (snappy, WriteRequest) with the protocol's headers; every series is
//   one the generator makes (its names and label names, labels sorted, `le` exactly on
//   `_bucket`), every sample finite and ≥ 0, every exemplar a trace ID; a request cut by a kill
//   in transit is counted, not decoded;
// - every run's samples arrive: at least as many distinct (series, timestamp) as its
//   `sprout_metrics_generator_samples_written_total` read just before the kill (with no
//   failed write), its collections ~1 s apart without a gap, the last close to the kill — in the
//   refused runs, all of it after the restart;
// - no (series, timestamp) twice with different values (a collection sent again after a restart
//   is the same collection: at least once), and each series' values never go down over time
//   (cumulative);
// - the request that was never answered is sent again, whole, after the restart (the WAL is at
//   least once: what was not acknowledged is re-sent);
// - per delivering process, each series' timestamps never go back (delivery in WAL order).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const snappy = require('snappyjs');

const { TracesServer, requestBytes } = require('./lib/traces_kill');
const { decodeWriteRequest } = require('./lib/proto');
const { makeTempDir, metricValue, parsePrometheusText, sleep, waitFor } = require('./lib/sprout');

const ITERATIONS = Number(process.env.SPROUT_E2E_KILL_ITERATIONS || 4);
const SEED_TEMPO = path.resolve(__dirname, '../../examples/seed/tempo.yaml');
const TENANT = 'single-tenant';

// What the generator writes (reference tempo.md §4.2, §4.3): these names, these labels.
const NAMES = new Set([
  'traces_spanmetrics_calls_total', 'traces_spanmetrics_size_total',
  'traces_spanmetrics_latency_bucket', 'traces_spanmetrics_latency_sum', 'traces_spanmetrics_latency_count',
  'traces_service_graph_request_total', 'traces_service_graph_request_failed_total',
  ...['server', 'client'].flatMap((side) => ['bucket', 'sum', 'count'].map((s) => `traces_service_graph_request_${side}_seconds_${s}`)),
]);
const LABELS = new Set(['__name__', 'service', 'span_name', 'span_kind', 'status_code', 'le', 'client', 'server', 'connection_type', 'life']);

// The seed's processors (examples/seed/tempo.yaml's overrides block).
function seedProcessors() {
  const text = fs.readFileSync(SEED_TEMPO, 'utf8');
  const m = /^overrides:[\s\S]*?processors:\s*(\[.*\])/m.exec(text);
  assert.ok(m, 'the seed tempo.yaml names its processors');
  return JSON.parse(m[1]);
}

// The remote-write receiver: answers 503 while `refusing`, else 204; records every request.
class Receiver {
  constructor() {
    this.refusing = false;
    this.run = 0; // the sprout process alive now (set by the test)
    this.accepted = []; // {run, series: [{key, labels, samples, exemplars}]}
    this.refused = 0;
    this.garbage = []; // requests that did not decode or lacked the protocol's headers
    this.cut = 0; // requests whose body a kill cut in transit
    this.onRequest = null; // called with the next request accepted, which is then not answered
  }

  async start() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}/api/v1/write`;
  }

  handle(req, res) {
    const run = this.run;
    const chunks = [];
    let ended = false;
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      ended = true;
      const problem = [];
      if (req.method !== 'POST') problem.push(`method ${req.method}`);
      if (req.headers['content-encoding'] !== 'snappy') problem.push(`content-encoding ${req.headers['content-encoding']}`);
      if (req.headers['content-type'] !== 'application/x-protobuf') problem.push(`content-type ${req.headers['content-type']}`);
      if (req.headers['x-prometheus-remote-write-version'] !== '0.1.0') problem.push('no X-Prometheus-Remote-Write-Version');
      let write = null;
      try {
        write = decodeWriteRequest(Buffer.from(snappy.uncompress(Buffer.concat(chunks))));
      } catch (err) {
        problem.push(`undecodable: ${err.message}`);
      }
      if (problem.length > 0) {
        this.garbage.push({ run, problem });
        res.writeHead(400).end(problem.join('; '));
        return;
      }
      if (this.refusing) {
        this.refused += 1;
        res.writeHead(503).end('refusing for the test');
        return;
      }
      const series = (write.timeseries || []).map((ts) => {
        const labels = ts.labels || [];
        return { key: labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(','), labels, samples: ts.samples || [], exemplars: ts.exemplars || [] };
      });
      const got = { run, series };
      this.accepted.push(got);
      if (this.onRequest) {
        // Received whole, never answered: the test kills sprout now.
        const hook = this.onRequest;
        this.onRequest = null;
        got.unanswered = true;
        hook(got);
        setTimeout(() => res.writeHead(204).end(), 5000);
        return;
      }
      res.writeHead(204).end();
    });
    req.on('close', () => {
      if (!ended) this.cut += 1;
    });
  }

  close() {
    return new Promise((resolve) => this.server.close(resolve));
  }
}

// Hand-built OTLP/HTTP protobuf: a frontend CLIENT span and its api SERVER child, ending now.
function spanPair(i) {
  const now = BigInt(Date.now()) * 1000000n;
  const traceId = crypto.randomBytes(16);
  const clientId = crypto.randomBytes(8);
  const ms = 1000000n;
  const client = { traceId, spanId: clientId, name: 'GET /api', kind: 3, start: now - 120n * ms, end: now - 10n * ms };
  const server = { traceId, spanId: crypto.randomBytes(8), parentSpanId: clientId, name: 'GET /api', kind: 2, start: now - 100n * ms, end: now - (20n + BigInt(i % 5)) * ms };
  return [requestBytes('frontend', 'e2e.generator.kill', [client]), requestBytes('api', 'e2e.generator.kill', [server])];
}

describe(`metrics-generator remote-write WAL: kill -9 under load, ${ITERATIONS} times`, () => {
  let dir;
  let server;
  let receiver;
  let configText;
  let loading = false;
  let load;
  let sent = 0;
  let acked = 0;
  const runs = []; // {run, refusing, startMs, killMs, written, failures}
  const startKills = []; // ms after spawn of each start killed during start-up

  async function loadLoop() {
    for (let i = 0; loading; i++) {
      for (const body of spanPair(i)) {
        sent += 1;
        const res = await fetch(`http://127.0.0.1:${server.httpPort}/v1/traces`, {
          method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body,
        }).catch(() => null);
        if (res) {
          await res.arrayBuffer().catch(() => {});
          if (res.status === 200) acked += 1;
        }
      }
      await sleep(50);
    }
  }

  function writeConfigFor(life) {
    fs.writeFileSync(server.configFile, configText.replace('life: "0"', `life: "${life}"`));
  }

  async function scrape() {
    const res = await fetch(`${server.base}/metrics`);
    assert.equal(res.status, 200);
    const samples = parsePrometheusText(await res.text());
    return {
      written: metricValue(samples, 'sprout_metrics_generator_samples_written_total', { tenant: TENANT }) || 0,
      failures: metricValue(samples, 'sprout_metrics_generator_write_failures_total', { tenant: TENANT }) || 0,
      walFailures: metricValue(samples, 'sprout_metrics_generator_wal_writes_failed_total') || 0,
    };
  }

  async function startRun(run, refusing) {
    writeConfigFor(run);
    receiver.refusing = refusing;
    receiver.run = run;
    await server.start({ timeoutMs: 30000 });
    const entry = { run, refusing, startMs: Date.now() };
    runs.push(entry);
    return entry;
  }

  before(async () => {
    dir = makeTempDir('sprout-e2e-generator-kill-');
    receiver = new Receiver();
    await receiver.start();
    server = new TracesServer({ name: 'generator-kill', dir });
    const { dropped } = await server.configure({
      optional: {
        'metrics_generator.registry.collection_interval': '1s',
        'metrics_generator.registry.external_labels': { life: '0' },
        'metrics_generator.storage.path': path.join(dir, 'generator'),
        'metrics_generator.storage.remote_write': [{ url: receiver.url, name: 'receiver', remote_timeout: '5s' }],
        'overrides.defaults.metrics_generator.processors': seedProcessors(),
      },
    });
    assert.deepEqual(dropped, [], 'every generator setting is implemented');
    configText = fs.readFileSync(server.configFile, 'utf8');
    assert.match(configText, /life: "0"/);

    await startRun(0, false);
    loading = true;
    load = loadLoop();
    for (let i = 0; i < ITERATIONS; i++) {
      const current = runs[runs.length - 1];
      if (i % 4 === 2) {
        // An accepting run killed while a request it sent is with the receiver, unanswered.
        await sleep(2500);
        // Bounded: a run that never sends fails here with its log, not as a hung test.
        current.unanswered = await new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            receiver.onRequest = null;
            reject(new Error(`run ${current.run}: no remote-write request within 30 s (sprout alive: ${server.alive})\n${server.log.slice(-3000)}`));
          }, 30000);
          receiver.onRequest = (got) => {
            clearTimeout(timer);
            resolve(got);
          };
        });
      } else {
        await sleep(3000 + Math.floor(Math.random() * 1500));
      }
      Object.assign(current, await scrape());
      const exit = await server.kill();
      current.killMs = Date.now();
      assert.equal(exit.signal, 'SIGKILL', `run ${current.run}: ${JSON.stringify(exit)}`);
      if (i % 3 === 1) {
        // The restart is itself killed during its start-up (WAL recovery, the output's reopening).
        const ms = 20 + Math.floor(Math.random() * 300);
        writeConfigFor(i + 0.5);
        receiver.run = i + 0.5;
        const early = await server.killDuringStart(ms);
        assert.equal(early.signal, 'SIGKILL', `the start killed after ${ms} ms: ${JSON.stringify(early)}\n${server.log.slice(-3000)}`);
        startKills.push(ms);
      }
      await startRun(i + 1, (i + 1) % 2 === 1);
    }
    // The last run: accepting, some load, then a clean stop that delivers the WAL.
    const last = runs[runs.length - 1];
    receiver.refusing = false;
    await sleep(2500);
    loading = false;
    await load;
    await sleep(1200); // a collection after the last spans
    Object.assign(last, await scrape());
    const exit = await server.stop();
    last.killMs = Date.now();
    assert.deepEqual(exit, { code: 0, signal: null }, server.log.slice(-3000));
  });

  after(async () => {
    loading = false;
    if (server) await server.kill();
    if (receiver) await receiver.close();
  });

  it('took spans and started every time without an error in the log', () => {
    assert.equal(runs.length, ITERATIONS + 1);
    assert.ok(acked > 20 * ITERATIONS, `${acked} of ${sent} OTLP requests acknowledged`);
    const errors = server.log.split('\n').filter((l) => /\terror\t|"level":\s*"error"/.test(l));
    assert.deepEqual(errors, [], 'error lines in the log');
  });

  it('every request decodes and holds only the generator\'s series', () => {
    assert.deepEqual(receiver.garbage, [], 'requests that did not decode');
    assert.ok(receiver.accepted.length > 0);
    assert.ok(runs.filter((r) => r.refusing).length === 0 || receiver.refused > 0, 'the refused runs were refused');
    const bad = [];
    for (const req of receiver.accepted) {
      for (const s of req.series) {
        const names = s.labels.map((l) => l.name);
        const name = (s.labels.find((l) => l.name === '__name__') || {}).value;
        if (!NAMES.has(name)) bad.push(`unknown name: ${s.key}`);
        if (names.some((n) => !LABELS.has(n))) bad.push(`unknown label: ${s.key}`);
        if (names.join('\0') !== [...names].sort().join('\0') || new Set(names).size !== names.length) bad.push(`labels not sorted/unique: ${s.key}`);
        if (names.includes('le') !== /_bucket$/.test(name)) bad.push(`le: ${s.key}`);
        if (s.labels.some((l) => l.value === '')) bad.push(`empty label value: ${s.key}`);
        if (!s.labels.some((l) => l.name === 'life')) bad.push(`no life label: ${s.key}`);
        if (s.samples.length === 0) bad.push(`no sample: ${s.key}`);
        for (const smp of s.samples) {
          const v = smp.value === undefined ? 0 : smp.value;
          if (!Number.isFinite(v) || v < 0 || !(smp.timestamp > 0)) bad.push(`sample ${JSON.stringify(smp)}: ${s.key}`);
        }
        for (const e of s.exemplars) {
          const labels = e.labels || [];
          if (labels.length !== 1 || labels[0].name !== 'traceID' || !/^[0-9a-f]{32}$/.test(labels[0].value)) bad.push(`exemplar ${JSON.stringify(e)}: ${s.key}`);
        }
      }
    }
    assert.deepEqual(bad.slice(0, 20), [], `${bad.length} malformed series`);
  });

  it('every run\'s collections arrive, the refused ones after the restart', (t) => {
    // Distinct samples per life: key → ts → value.
    const byLife = new Map();
    const conflicts = [];
    for (const req of receiver.accepted) {
      for (const s of req.series) {
        const life = Number(s.labels.find((l) => l.name === 'life').value);
        if (!byLife.has(life)) byLife.set(life, new Map());
        const series = byLife.get(life);
        if (!series.has(s.key)) series.set(s.key, new Map());
        const points = series.get(s.key);
        for (const smp of s.samples) {
          const v = smp.value === undefined ? 0 : smp.value;
          if (points.has(smp.timestamp) && !Object.is(points.get(smp.timestamp), v)) {
            conflicts.push(`${s.key} @${smp.timestamp}: ${points.get(smp.timestamp)} and ${v}`);
          }
          points.set(smp.timestamp, v);
        }
      }
    }
    assert.deepEqual(conflicts.slice(0, 10), [], 'a (series, timestamp) with two values');
    const problems = [];
    for (const r of runs) {
      assert.equal(r.failures, 0, `run ${r.run}: the output refused a collection`);
      assert.equal(r.walFailures, 0, `run ${r.run}: a WAL append failed`);
      assert.ok(r.written > 0, `run ${r.run} wrote collections before it was killed`);
      const series = byLife.get(r.run) || new Map();
      let distinct = 0;
      const times = new Set();
      for (const [key, points] of series) {
        distinct += points.size;
        const ordered = [...points.entries()].sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < ordered.length; i++) {
          if (ordered[i][1] < ordered[i - 1][1]) problems.push(`run ${r.run} ${key}: ${ordered[i - 1]} then ${ordered[i]} (a cumulative series went down)`);
        }
        // Collection times: those of the `_sum` series (which have no initial 0 sample).
        if (/^__name__="[a-z_]+_sum"/.test(key)) for (const [ts] of ordered) times.add(ts);
      }
      r.arrived = distinct;
      r.collections = [...times].length;
      if (distinct < r.written) problems.push(`run ${r.run} (${r.refusing ? 'refused' : 'accepted'}): ${distinct} distinct samples arrived, ${r.written} were written before the kill`);
      const collections = [...times].sort((a, b) => a - b);
      for (let i = 1; i < collections.length; i++) {
        if (collections[i] - collections[i - 1] > 2500) problems.push(`run ${r.run}: no collection between ${collections[i - 1]} and ${collections[i]}`);
      }
      if (collections.length === 0 || collections[collections.length - 1] < r.killMs - 3000) {
        problems.push(`run ${r.run}: last collection ${collections[collections.length - 1]}, killed at ${r.killMs}`);
      }
      if (r.refusing) {
        const during = receiver.accepted.filter((q) => q.run === r.run && q.series.some((s) => s.labels.some((l) => l.name === 'life' && l.value === String(r.run))));
        if (during.length > 0) problems.push(`run ${r.run}: the receiver accepted its samples while refusing`);
      }
    }
    t.diagnostic(`receiver: ${receiver.accepted.length} requests accepted, ${receiver.refused} refused, ${receiver.cut} cut in transit; starts killed after ${JSON.stringify(startKills)} ms`);
    for (const r of runs) t.diagnostic(JSON.stringify({ ...r, unanswered: r.unanswered ? r.unanswered.series.length : undefined }));
    assert.deepEqual(problems, [], `runs ${JSON.stringify(runs)}`);
  });

  it('a request killed before its answer is sent again after the restart (at least once)', () => {
    const killed = runs.filter((r) => r.unanswered);
    assert.equal(killed.length, ITERATIONS > 2 ? Math.floor((ITERATIONS - 3) / 4) + 1 : 0);
    for (const r of killed) {
      const again = new Set();
      for (const req of receiver.accepted) {
        if (req.run <= r.run) continue;
        for (const s of req.series) for (const smp of s.samples) again.add(`${s.key}@${smp.timestamp}=${smp.value || 0}`);
      }
      const missing = [];
      for (const s of r.unanswered.series) {
        for (const smp of s.samples) {
          const k = `${s.key}@${smp.timestamp}=${smp.value || 0}`;
          if (!again.has(k)) missing.push(k);
        }
      }
      assert.deepEqual(missing.slice(0, 5), [], `run ${r.run}: ${missing.length} samples of the unanswered request not sent again by a later run`);
    }
  });

  it('each process delivers every series in time order', () => {
    const last = new Map(); // run|series → newest timestamp delivered by that process
    const back = [];
    for (const req of receiver.accepted) {
      for (const s of req.series) {
        const key = `${req.run}|${s.key}`;
        for (const smp of s.samples) {
          if (last.has(key) && smp.timestamp < last.get(key)) back.push(`process ${req.run}: ${s.key} @${smp.timestamp} after @${last.get(key)}`);
          last.set(key, smp.timestamp);
        }
      }
    }
    assert.deepEqual(back.slice(0, 10), [], `${back.length} samples went back in time`);
  });
});
