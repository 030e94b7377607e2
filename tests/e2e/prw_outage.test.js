'use strict';
// prometheusremotewrite through a Prometheus outage: the SDK exports a counter every 200 ms to
// `sprout collector`, Prometheus is stopped for SPROUT_E2E_OUTAGE_SECONDS (default 30) and
// started again on the same data dir; afterwards Prometheus must hold every sample the SDK
// exported — those of the outage included — each at its time with its value, and nothing else.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { Prometheus } = require('./lib/prom');
const { TickingSdk, checkEverySample, prwCollectorConfig, rawSeriesSamples } = require('./lib/prw');
const { Collector, freePorts, makeTempDir, sleep } = require('./lib/sprout');

const OUTAGE_SECONDS = Number(process.env.SPROUT_E2E_OUTAGE_SECONDS || 30);
const EXPORT_MS = 200;

describe('prometheusremotewrite across a Prometheus outage', () => {
  let prometheus;
  let sprout;
  let stream;
  const timeline = {};

  before(async () => {
    const dir = makeTempDir('sprout-prw-outage-');
    prometheus = new Prometheus({ dir });
    await prometheus.start();
    const [grpc, http, metrics] = await freePorts(3);
    // The exporter's defaults: retries from 50 ms up to 30 s apart, for up to 300 s.
    const config = prwCollectorConfig({ grpc, http, metrics }, { endpoint: prometheus.writeUrl });
    sprout = new Collector(config, { name: 'sprout', dir });
    await sprout.start();

    stream = new TickingSdk('grpc', { grpc, http }, 'outage', { exportIntervalMillis: EXPORT_MS });
    stream.start();
    await sleep(3000);
    timeline.stop = Date.now();
    const { code } = await prometheus.stop();
    assert.equal(code, 0, 'Prometheus stopped cleanly');
    timeline.stopped = Date.now();
    await sleep(OUTAGE_SECONDS * 1000);
    timeline.restart = Date.now();
    await prometheus.start();
    await sleep(3000);
    await stream.stop();
    timeline.end = Date.now();
  });

  after(async () => {
    if (stream) clearInterval(stream.timer);
    await Promise.all([sprout && sprout.kill(), prometheus && prometheus.kill()]);
  });

  it('accepted every export while Prometheus was down', () => {
    assert.deepEqual(stream.failures(), []);
    const during = stream.samples().filter(([t]) => t > timeline.stopped && t < timeline.restart);
    // A stream that kept going: about one export per interval during the outage.
    assert.ok(during.length >= (OUTAGE_SECONDS * 1000) / EXPORT_MS / 2,
      `${during.length} exports during the ${OUTAGE_SECONDS} s outage`);
  });

  it('delivers every sample once Prometheus is back, those of the outage included', async () => {
    const expected = stream.samples();
    const held = await checkEverySample(prometheus, stream.selector, expected, {
      collector: sprout,
      timeoutMs: 120000,
    });
    const outage = held.filter(([t]) => t > timeline.stopped && t < timeline.restart);
    assert.equal(outage.length, expected.filter(([t]) => t > timeline.stopped && t < timeline.restart).length);
  });

  it('keeps running and shuts down cleanly', async () => {
    assert.ok(sprout.running, `sprout exited: ${JSON.stringify(sprout.exit)}\n${sprout.stderr.slice(-3000)}`);
    // Nothing more arrives after the stream stopped (no duplicate resends under new times).
    const before = await rawSeriesSamples(prometheus, stream.selector, 3600);
    assert.equal(await sprout.stop(), 0);
    const afterStop = await rawSeriesSamples(prometheus, stream.selector, 3600);
    assert.deepEqual(afterStop, before);
  });
});
