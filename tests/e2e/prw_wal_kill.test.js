'use strict';
// kill -9 loop under load: sprout with `wal` takes a steady stream of hand-built OTLP/HTTP gauge
// requests (50 series each) while it is SIGKILLed at a random moment and started again on the
// same WAL directory and ports, SPROUT_E2E_KILL_ITERATIONS times (default 3; `make soak` runs
// more). Prometheus is down during every other iteration, so acknowledged data lives only in
// the WAL across kills. At the end every sample sprout acknowledged is in Prometheus with its
// value (Prometheus refuses out-of-order samples: a reordering shows as a missing sample), and
// nothing is there that was never sent.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { Prometheus } = require('./lib/prom');
const { GaugeStream, checkAcknowledgedGauges, prwCollectorConfig } = require('./lib/prw');
const { Collector, freePorts, makeTempDir, sleep, writeConfig } = require('./lib/sprout');

const ITERATIONS = Number(process.env.SPROUT_E2E_KILL_ITERATIONS || 3);

describe(`prometheusremotewrite WAL: kill -9 under load, ${ITERATIONS} times`, () => {
  let prometheus;
  let collector;
  let dir;
  let config;
  let ports;
  const stream = new GaugeStream('e2e-wal-kill', 50, { stepMs: 5 });
  const schedule = [];
  let loading = false;
  let load;
  let runs = 0;

  // Posts requests back to back while `loading`; the answers land in `stream`.
  async function loadLoop() {
    while (loading) {
      const result = await stream.post(ports.http);
      if (result.status === 0) await sleep(10); // sprout is down: do not spin
    }
  }

  async function startSprout() {
    runs += 1;
    collector = new Collector(null, { name: `sprout-${runs}`, dir, configFile: config });
    await collector.start({ timeoutMs: 30000 });
  }

  before(async () => {
    dir = makeTempDir('sprout-prw-wal-kill-');
    const [grpc, http, metrics, promPort] = await freePorts(4);
    ports = { grpc, http, metrics };
    prometheus = new Prometheus({ dir, port: promPort });
    await prometheus.start();
    config = writeConfig(
      dir,
      'sprout.yaml',
      prwCollectorConfig(ports, {
        endpoint: prometheus.writeUrl,
        target_info: { enabled: false },
        retry_on_failure: { initial_interval: '20ms', max_interval: '500ms' },
        wal: { directory: path.join(dir, 'wal') },
      }),
    );
    await startSprout();
    loading = true;
    load = loadLoop();
    for (let i = 0; i < ITERATIONS; i++) {
      const backendDown = i % 2 === 1;
      if (backendDown) await prometheus.stop();
      const runMs = 500 + Math.floor(Math.random() * 1500);
      schedule.push({ iteration: i, backendDown, killAfterMs: runMs, ackedBefore: stream.acked.length });
      await sleep(runMs);
      collector.signal('SIGKILL');
      const exit = await collector.waitExit(10000);
      assert.equal(exit.signal, 'SIGKILL', `iteration ${i}: ${JSON.stringify(exit)}`);
      if (backendDown) await prometheus.start();
      await startSprout();
    }
    // A little more load on the last start, then stop sending.
    await sleep(500);
    loading = false;
    await load;
  });

  after(async () => {
    loading = false;
    await Promise.all([collector && collector.kill(), prometheus && prometheus.kill()]);
  });

  it('acknowledged requests in every run', () => {
    assert.ok(stream.acked.length > 10 * ITERATIONS, `${stream.acked.length} acknowledged; schedule ${JSON.stringify(schedule)}`);
  });

  it('delivers every acknowledged sample after the kills, and nothing never sent', async () => {
    await checkAcknowledgedGauges(prometheus, stream, { collector, timeoutMs: 120000 });
    assert.equal(await collector.stop(), 0, collector.stderr.slice(-3000));
  });
});
