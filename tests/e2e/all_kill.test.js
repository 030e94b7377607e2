'use strict';
// Issue 14's acceptance item "kill -9 of `sprout all` under demo load, 10 times: every
// acknowledged span and sample is there after the restart". Label `soak`:
// SPROUT_E2E_KILL_ITERATIONS kills (default 3, what `make test` runs; `make soak` runs more; the
// acceptance's 10 by hand with SPROUT_E2E_KILL_ITERATIONS=10).
//
// `sprout all` (the default pipeline otlp → memory_limiter → sprout/traces, sprout/metrics: an
// acknowledgement means the data is in a store's WAL) runs on fixed ports and one data directory
// for the whole loop, with small trace-store settings so that flushes and block writes happen
// every few seconds (`ingester.trace_idle_period: 1s`, `max_block_duration: 2s`,
// `flush_check_period: 200ms`, `compaction_cycle: 1s`), the generator collecting every second,
// and ingestion limits out of the way. Load in every life:
// - `sprout demo` (the real binary) on the OTLP gRPC port at DEMO_RATE traces/s, for the whole
//   loop (it retries while sprout is down): background load, not tracked;
// - tracked senders, every request and answer recorded: OTLP traces over HTTP and over gRPC
//   (lib/traces_kill.js's TraceSender: traces that get spans over many requests and rounds),
//   OTLP metrics over HTTP and over gRPC (a gauge and a monotonic cumulative sum, SERIES series
//   per sender, one point per series per request at the request's own, always growing
//   timestamp), and Prometheus remote write to `/api/v1/push` on the API port
//   (lib/metrics_kill.js's Writer).
// Each round kills the process with SIGKILL from a worker thread, in turn (round % 3):
// - `random`: 0.3–2.5 s into the load; every other time (the fourth round, the tenth, …)
//   `shutdown`: a SIGTERM 0.3–2.5 s into the load and the SIGKILL 0–150 ms later, inside the
//   graceful shutdown (the pipeline draining into the stores, the live traces flushed, the
//   generator's last collection; a gRPC call may then be answered UNAVAILABLE or CANCELLED, an
//   HTTP one 503: not acknowledged, allowed in these rounds only);
// - `collection`: aimed at the metrics-generator's collection (every 1 s, written into the
//   metrics store in-process): the worker polls `/metrics` every 5 ms and, once
//   `sprout_metrics_generator_samples_written_total` or `..._write_failures_total` rises, kills
//   0–3 ms later (just after a collection's write) or, every other such round, about one
//   collection interval later (during the next one);
// - `flush`: aimed at the trace store's flush: right after (0–3 ms, or 0–30 ms) a flush counter
//   rises or an entry appears or goes under the trace blocks or WAL directory (a block being
//   written, a segment rotated for a flush, a truncation).
// No sign within the timeout: the kill comes then (logged). The metrics store's head cut is not
// reachable: it needs samples spanning more than 3 h (1.5 × the 2 h block range), and this load's
// timestamps are the wall clock. Every `collection` round, the restart is itself first SIGKILLed
// at a random moment of its start-up (up to the last time to ready: WAL replay).
// After every restart:
// - `/ready` 200 within 30 s, the ready line; no error in the log of the restart, nor (checked at
//   its kill) in the rest of that life, and no generator collection refused by the metrics store
//   (a restarted generator's series are all new, and Tempo's initial 0 sample, at the minute's
//   start minus 1 s, is older than what the previous process wrote: the store refuses those
//   zeros, which the in-process output writes on their own and counts, not as a failure);
// - every span of every request ever acknowledged (2xx / gRPC OK) found by its trace ID on
//   `/api/traces/<id>` (JSON in even rounds, protobuf in odd ones) under its trace with its name;
//   no span never sent, nor from a request whose connection was refused; no span ID twice;
// - every OTLP gauge and sum point of every acknowledged request read back through remote read
//   with its exact bits (`e2e_allkill_gauge`, `e2e_allkill_sum_total`: the Collector's naming),
//   each series with its sender's `job`; nothing at a time never sent; an instant query at the
//   exact timestamp of each sender's last acknowledged request answers every series with that
//   request's values; `count_over_time` over the run counts per series exactly what remote read
//   returned;
// - every remote-write sample acknowledged, with its exact bits, nothing never sent;
// - the generator's series (span metrics, service graph) are queryable, and the demo is still
//   running.
// At the end: the generator writes again after the last restart (a sample newer than it), the
// demo exits 0 on SIGINT, and `sprout all` exits 0 on SIGTERM.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { SPROUT_BIN, freePorts, makeTempDir, run, sleep, waitFor, writeConfig } = require('./lib/sprout');
const { TraceSender, checkAll: checkTraces, killLater, killOnSign, badLine } = require('./lib/traces_kill');
const { Writer, checkAll: checkRemoteWrite } = require('./lib/metrics_kill');
const { AllServer, Demo, OtlpMetricsSender, checkOtlpMetrics, checkOtlpMetricsPromql, killDuringShutdown } = require('./lib/all_kill');

const ITERATIONS = Number(process.env.SPROUT_E2E_KILL_ITERATIONS || 3);
// The demo's traces per second (8–15 spans each, plus its metrics every second).
const DEMO_RATE = Number(process.env.SPROUT_E2E_ALL_KILL_DEMO_RATE || 200);
const SERIES = 20; // per OTLP metrics sender and metric
const PRW_SERIES = 40; // per remote-write writer
const PRW_METRIC = 'sprout_e2e_all_kill';
const READY_DEADLINE_MS = 30000;
const KILL_MIN_MS = 300; // random rounds: the kill 0.3–2.5 s into the load
const KILL_MAX_MS = 2500;
// SPROUT_E2E_ALL_KILL_KINDS: the rounds' kinds in turn (comma-separated: random, shutdown,
// collection, flush) instead of the rotation above; for chasing one kind.
const KINDS = process.env.SPROUT_E2E_ALL_KILL_KINDS ? process.env.SPROUT_E2E_ALL_KILL_KINDS.split(',') : null;
const SHUTDOWN_KILL_MAX_MS = 150; // shutdown rounds: the SIGKILL 0–150 ms after the SIGTERM
const PHASE_MIN_MS = 200; // aimed rounds: load before the killer starts watching
const PHASE_TIMEOUT_MS = 8000; // aimed rounds: no sign within this, kill anyway
const COLLECTION_MS = 1000; // traces.metrics_generator.registry.collection_interval (lib/all.js)
// A collection's write into the metrics store: taken, or refused (which the log check below
// fails on).
const COLLECTION_COUNTERS = ['sprout_metrics_generator_samples_written_total', 'sprout_metrics_generator_write_failures_total'];
const FLUSH_COUNTERS = ['tempo_ingester_blocks_flushed_total', 'tempo_ingester_failed_flushes_total'];

const SETS = [
  'traces.ingester.trace_idle_period=1s',
  'traces.ingester.max_block_duration=2s',
  'traces.ingester.flush_check_period=200ms',
  'traces.compactor.compaction.compaction_cycle=1s',
  'traces.overrides.defaults.ingestion.rate_limit_bytes=1000000000',
  'traces.overrides.defaults.ingestion.burst_size_bytes=1000000000',
  'metrics.limits.ingestion_rate=100000000',
  'metrics.limits.ingestion_burst_size=100000000',
].flatMap((s) => ['--set', s]);
// The tracked trace senders' span names are unique per request (lib/traces_kill.js), so their
// span metrics would be new series at every request (about 20 per name: calls, size, latency's
// buckets) and reach the metrics store's 150000 series per tenant within a few kills; the
// generator's span metrics leave them out (Tempo's filter policy), and take the demo's spans.
const CONFIG = {
  traces: { overrides: { defaults: { metrics_generator: { processor: { span_metrics: { filter_policies: [
    { exclude: { match_type: 'regex', attributes: [{ key: 'resource.service.name', value: '^kill-sender-' }] } },
  ] } } } } } },
};

// The problems in the log of one life of the process (its start-up, its load and, but for a
// kill, its shutdown): lines that say something went wrong, and generator collections the metrics
// store refused (logged at warn). After a restart the store refuses the initial 0 samples of the
// generator's (new again) series as out of order; the output writes them on their own and counts
// them (sprout_metrics_generator_initial_samples_refused_total), so no collection is refused.
// Returns {bad, otherRefusals, refusedCollections}.
function lifeLogProblems(text) {
  const lines = text.split('\n');
  const refused = lines.filter((l) => l.includes('a collection could not be written'));
  return {
    bad: lines.filter(badLine),
    otherRefusals: refused,
    refusedCollections: refused.length,
  };
}

describe(`sprout all: kill -9 under demo load, ${ITERATIONS} times`, () => {
  const dir = makeTempDir('sprout-all-kill-');
  let server;
  let demo;
  const start = Date.now() - 1000;
  const spans = new Map();
  const traces = new Map();
  const traceSenders = [new TraceSender(0, { transport: 'http', spans, traces }), new TraceSender(1, { transport: 'grpc', spans, traces })];
  const metricSenders = [new OtlpMetricsSender(0, { transport: 'http', series: SERIES }), new OtlpMetricsSender(1, { transport: 'grpc', series: SERIES })];
  const writers = [0, 1].map((w) => new Writer(w, { metric: PRW_METRIC, series: PRW_SERIES }));
  const all = [...traceSenders, ...metricSenders, ...writers];
  const kindOf = (s) => (traceSenders.includes(s) ? 'traces' : metricSenders.includes(s) ? 'otlpMetrics' : 'remoteWrite');
  const triggers = [];
  let lastReadyMs = 200;
  let lastStartAt = 0;
  let lifeFrom = 0; // where the log of the process alive now begins
  let collectionRounds = 0;

  before(async () => {
    const [api, grpc, http] = await freePorts(3);
    const config = writeConfig(dir, 'sprout.yaml', CONFIG);
    server = new AllServer({ dir, ports: { api, grpc, http }, extraArgs: ['--config', config, ...SETS] });
    // Every setting is one sprout all reads (a warning would mean a key it ignores).
    const v = await run(SPROUT_BIN, ['validate', '--all-config', config, '--data-dir', `${dir}/data`, ...SETS]);
    assert.equal(v.code, 0, v.stderr);
    assert.doesNotMatch(v.stderr, /Warning/, v.stderr);
    await server.start({ timeoutMs: READY_DEADLINE_MS });
    lastStartAt = Date.now();
    demo = new Demo(server, { rate: DEMO_RATE });
    demo.start();
    // The demo's traffic reaches the generator before the first kill.
    await waitFor(async () => (await server.query('count(traces_spanmetrics_calls_total)')).length > 0,
      { timeoutMs: 15000, describe: () => `the generator's first collection\n${server.log.slice(-2000)}\n${demo.log.slice(-1000)}` });
  });

  after(async () => {
    if (demo && demo.running) demo.child.kill('SIGKILL');
    if (server) await server.kill();
  });

  for (let round = 0; round < ITERATIONS; round++) {
    it(`round ${round}: every acknowledged span and sample is there after kill -9 and replay`, async () => {
      // Every other random round (the fourth, the tenth, …): the kill lands in a graceful shutdown.
      let kind = ['random', 'collection', 'flush'][round % 3];
      if (kind === 'random' && Math.floor(round / 3) % 2 === 1) kind = 'shutdown';
      if (KINDS) kind = KINDS[round % KINDS.length];
      const info = { round, kind };
      // A failed round may have left no process running: start one, so this round is its own.
      if (!server.alive) {
        lifeFrom = server.log.length;
        await server.start({ timeoutMs: READY_DEADLINE_MS });
        lastStartAt = Date.now();
      }
      const state = { loading: true };
      const before = all.map((s) => s.requests.length);
      const running = all.map((s) => s.run(server, state, round));
      const exited = server.exited;
      let killer;
      let report = null;
      if (kind === 'random') {
        info.killAfterMs = KILL_MIN_MS + Math.floor(Math.random() * (KILL_MAX_MS - KILL_MIN_MS));
        killer = killLater(server.child.pid, info.killAfterMs);
      } else if (kind === 'shutdown') {
        info.termAfterMs = KILL_MIN_MS + Math.floor(Math.random() * (KILL_MAX_MS - KILL_MIN_MS));
        info.killAfterTermMs = Math.floor(Math.random() * SHUTDOWN_KILL_MAX_MS);
        killer = killDuringShutdown(server.child.pid, info.termAfterMs, info.killAfterTermMs);
      } else {
        await sleep(PHASE_MIN_MS);
        let opts;
        if (kind === 'collection') {
          // Every other collection round: about one interval after the rise (the next
          // collection, which the 5 ms poll saw late by up to ~10 ms); else right after it.
          const next = collectionRounds++ % 2 === 1;
          info.aim = next ? 'next collection' : 'after a collection';
          info.delayMs = next ? COLLECTION_MS - 10 + Math.round(Math.random() * 12) : Math.round(Math.random() * 30) / 10;
          opts = { counters: COLLECTION_COUNTERS, dirs: [], pollMs: 5 };
        } else {
          info.delayMs = Math.round(Math.random() * (Math.random() < 0.5 ? 3 : 30) * 10) / 10;
          opts = {
            counters: FLUSH_COUNTERS,
            dirs: [{ dir: server.tracesBlocksDir, label: 'blocks' }, { dir: server.tracesWalDir, label: 'wal' }],
          };
        }
        const k = killOnSign(server.child.pid, { metricsUrl: `${server.base}/metrics`, timeoutMs: PHASE_TIMEOUT_MS, delayMs: info.delayMs, ...opts });
        killer = k.worker;
        report = k.report;
      }
      const exit = await exited;
      state.loading = false;
      if (report) {
        const r = await report;
        info.trigger = r.trigger;
        if (r.name) info.sign = r.name;
        info.killAtMs = PHASE_MIN_MS + (r.atMs || 0);
        triggers.push(`${kind}:${r.trigger}`);
        if (r.trigger === 'timeout') console.log(`round ${round}: no ${kind} sign within ${PHASE_TIMEOUT_MS} ms: killed then`);
      }
      await killer.terminate();
      if (kind === 'shutdown' && exit.code === 0) info.shutdownFinished = true; // before the SIGKILL: a clean restart
      else assert.equal(exit.signal, 'SIGKILL', `round ${round}: ${JSON.stringify(exit)}\n${server.log.slice(-2000)}`);
      await Promise.all(running);
      // The whole life just killed: start-up and load.
      const life = lifeLogProblems(server.log.slice(lifeFrom));
      info.refusedCollections = life.refusedCollections;
      assert.deepEqual(life.bad, [], `round ${round}: errors in the log of the life killed`);
      assert.deepEqual(life.otherRefusals, [], `round ${round}: a generator collection refused by the metrics store`);

      const sent = all.flatMap((s, i) => s.requests.slice(before[i]).map((q) => ({ q, kind: kindOf(s) })));
      info.sent = sent.length;
      info.acked = {};
      for (const k of ['traces', 'otlpMetrics', 'remoteWrite']) info.acked[k] = sent.filter((x) => x.kind === k && x.q.acked).length;
      info.ackedSpans = sent.filter((x) => x.kind === 'traces' && x.q.acked).reduce((n, x) => n + x.q.spans, 0);
      info.lostAnswers = sent.filter(({ q }) => !q.acked && !q.status && q.error !== 'ECONNREFUSED').length;
      // Anything answered but not acknowledged: a refusal (not a kill's doing), but for a shutdown
      // round's HTTP 503 and gRPC UNAVAILABLE (14) or CANCELLED (1: a call gRPC had taken but not
      // yet handed to sprout when the server began to stop) — both retryable for an OTLP client.
      const closing = (q) => kind === 'shutdown' && (q.status === 503 || ((q.status === 14 || q.status === 1) && q.transport === 'grpc'));
      info.closingRefusals = sent.filter(({ q }) => !q.acked && closing(q)).length;
      const refused = sent.filter(({ q }) => !q.acked && q.status !== null && q.status !== 0 && !closing(q)).map(({ q, kind: k }) => `${k} ${q.transport || 'prw'} ${q.status} ${q.text}`);
      assert.deepEqual(refused.slice(0, 5), [], `round ${round}: refusals other than the kill`);
      assert.ok(Object.values(info.acked).reduce((a, b) => a + b, 0) >= 1, `round ${round}: nothing acknowledged: ${JSON.stringify(info)}`);

      // Every collection round: a start killed at a random moment of its start-up first.
      const logFrom = server.log.length;
      if (kind === 'collection') {
        info.killedStartAtMs = Math.floor(Math.random() * lastReadyMs);
        const early = await server.killDuringStart(info.killedStartAtMs);
        assert.equal(early.signal, 'SIGKILL', `round ${round}: the start to be killed ended by itself: ${JSON.stringify(early)}\n${server.log.slice(logFrom).slice(-3000)}`);
        info.killedStartWasReady = server.log.slice(logFrom).includes('sprout all is ready');
      }
      const t0 = Date.now();
      lifeFrom = server.log.length;
      await server.start({ timeoutMs: READY_DEADLINE_MS });
      lastStartAt = Date.now();
      info.readyMs = lastStartAt - t0;
      lastReadyMs = info.readyMs;
      const runLog = server.log.slice(logFrom);
      const replay = [...runLog.matchAll(/"replay": "([^"]*)"/g)].pop();
      info.replay = replay ? replay[1] : null;
      info.walDamage = runLog.split('\n').filter((l) => l.includes('WAL damage')).length;
      // The start-up killed, then the one that served (the rest of its life is checked at its kill).
      assert.deepEqual(runLog.split('\n').filter(badLine), [], `round ${round}: errors in the log of the restart`);
      assert.ok(info.replay, `round ${round}: no ready line:\n${runLog.slice(-2000)}`);

      // Traces: every acknowledged span by its trace ID.
      let t1 = Date.now();
      info.format = round % 2 ? 'protobuf' : 'json';
      const tr = await checkTraces(server, traceSenders, { spans, traces, format: info.format });
      info.traces = { ms: Date.now() - t1, traces: tr.traces, found: tr.found, acked: tr.acked, unacked: tr.unacked };
      const trDetail = () => JSON.stringify({ ...info, lost: tr.lost.slice(0, 10), lostCount: tr.lost.length, unsent: tr.unsent.slice(0, 10),
        wrong: tr.wrong.slice(0, 10), duplicates: tr.duplicates.slice(0, 10), errors: tr.errors.slice(0, 5), log: runLog.slice(-3000) }, null, 1);
      assert.deepEqual(tr.errors, [], `round ${round}: trace by ID failed: ${trDetail()}`);
      assert.equal(tr.lost.length, 0, `round ${round}: acknowledged spans lost: ${trDetail()}`);
      assert.equal(tr.unsent.length, 0, `round ${round}: spans never sent: ${trDetail()}`);
      assert.equal(tr.wrong.length, 0, `round ${round}: spans under another trace or name: ${trDetail()}`);
      assert.equal(tr.duplicates.length, 0, `round ${round}: a span ID twice in one trace: ${trDetail()}`);

      // OTLP metrics: remote read (exact bits), then PromQL at exact timestamps and counts.
      t1 = Date.now();
      const om = await checkOtlpMetrics(server, metricSenders, { series: SERIES, start, end: Date.now() + 3600000 });
      const omDetail = () => JSON.stringify({ ...info, lost: om.lost.slice(0, 10), lostCount: om.lost.length, wrong: om.wrong.slice(0, 10),
        unsent: om.unsent.slice(0, 10), duplicates: om.duplicates.slice(0, 5), badLabels: om.badLabels.slice(0, 5), log: runLog.slice(-3000) }, null, 1);
      assert.equal(om.lost.length, 0, `round ${round}: acknowledged OTLP points lost: ${omDetail()}`);
      assert.equal(om.wrong.length, 0, `round ${round}: OTLP points with another value than sent: ${omDetail()}`);
      assert.equal(om.unsent.length, 0, `round ${round}: OTLP points never sent: ${omDetail()}`);
      assert.deepEqual(om.duplicates, [], `round ${round}: an OTLP series twice: ${omDetail()}`);
      assert.deepEqual(om.badLabels, [], `round ${round}: OTLP series without their job: ${omDetail()}`);
      const problems = await checkOtlpMetricsPromql(server, metricSenders, { series: SERIES, stored: om.stored, start });
      assert.deepEqual(problems.slice(0, 10), [], `round ${round}: PromQL disagrees with what was acknowledged / remote read`);
      info.otlpMetrics = { ms: Date.now() - t1, acked: om.acked, samples: om.samples, unacked: om.unacked };

      // Remote write: every acknowledged sample with its exact bits.
      t1 = Date.now();
      const rw = await checkRemoteWrite(server, writers, { metric: PRW_METRIC, series: PRW_SERIES, start, end: Date.now() + 3600000 });
      const rwDetail = () => JSON.stringify({ ...info, lost: rw.lost.slice(0, 10), lostCount: rw.lost.length, wrong: rw.wrong.slice(0, 10), unsent: rw.unsent.slice(0, 10), log: runLog.slice(-3000) }, null, 1);
      assert.equal(rw.lost.length, 0, `round ${round}: acknowledged remote-write samples lost: ${rwDetail()}`);
      assert.equal(rw.wrong.length, 0, `round ${round}: remote-write samples with another value than sent: ${rwDetail()}`);
      assert.equal(rw.unsent.length, 0, `round ${round}: remote-write samples never sent: ${rwDetail()}`);
      assert.deepEqual(rw.duplicates, [], `round ${round}: a remote-write series twice`);
      info.remoteWrite = { ms: Date.now() - t1, acked: rw.acked, samples: rw.samples, unacked: rw.unacked };

      // The generator's series are still there; the demo still runs.
      for (const name of ['traces_spanmetrics_calls_total', 'traces_service_graph_request_total']) {
        const r = await server.query(`count(${name})`);
        assert.ok(r.length === 1 && Number(r[0].value[1]) > 0, `round ${round}: the generator's ${name}: ${JSON.stringify(r)}`);
      }
      assert.ok(demo.running, `round ${round}: sprout demo exited:\n${demo.log.slice(-2000)}`);
      console.log(`all-kill ${JSON.stringify(info)}`);
    });
  }

  it('writes the generator\'s series after the last restart, then stops cleanly', async () => {
    // The generator collects again after the restart (its newest sample is newer than it).
    let newest = 0;
    await waitFor(async () => {
      const r = await server.query('max(timestamp(traces_spanmetrics_calls_total))');
      newest = r.length ? Number(r[0].value[1]) * 1000 : 0;
      return newest > lastStartAt;
    }, { timeoutMs: 15000, describe: () => `a generator sample after ${lastStartAt} (newest ${newest})\n${server.log.slice(-2000)}` });
    const d = await demo.stop();
    assert.equal(d.code, 0, demo.log.slice(-2000));
    assert.match(demo.log, /sent \d+ traces/);
    const exit = await server.stop();
    assert.equal(exit.code, 0, server.log.slice(-3000));
    const life = lifeLogProblems(server.log.slice(lifeFrom));
    assert.deepEqual(life.bad, [], 'errors in the log of the last life');
    assert.deepEqual(life.otherRefusals, [], 'a generator collection refused by the metrics store');
    const totals = {};
    for (const s of all) {
      const k = `${kindOf(s)}/${s.transport || 'prw'}`;
      totals[k] = (totals[k] || 0) + s.requests.filter((q) => q.acked).length;
    }
    for (const [k, n] of Object.entries(totals)) assert.ok(n >= 1, `nothing acknowledged for ${k}: ${JSON.stringify(totals)}`);
    console.log(`all-kill total: acknowledged requests ${JSON.stringify(totals)}, ${traces.size} traces, over ${ITERATIONS} kills; ` +
      `triggers ${JSON.stringify(triggers)}; demo: ${(demo.log.match(/sent \d+ traces[^\n]*/) || [''])[0]}`);
  });
});
