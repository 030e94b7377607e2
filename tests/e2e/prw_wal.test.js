'use strict';
// prometheusremotewrite with `wal`: Prometheus is down while the SDK sends a counter every
// 200 ms; sprout is stopped (SIGTERM: it must exit 0 within its 3 s shutdown timeout, with the
// data only in its write-ahead log), Prometheus is started, sprout is started again on the same
// WAL directory — and Prometheus must then hold every sample the SDK exported before the restart.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { Prometheus } = require('./lib/prom');
const { TickingSdk, checkEverySample, prwCollectorConfig } = require('./lib/prw');
const { Collector, freePorts, makeTempDir, sleep } = require('./lib/sprout');

describe('prometheusremotewrite with a write-ahead log across a restart of sprout', () => {
  let prometheus;
  let first;
  let second;
  let stream;
  let config;
  let firstExit;

  before(async () => {
    const dir = makeTempDir('sprout-prw-wal-');
    const [grpc, http, metrics, promPort] = await freePorts(4);
    prometheus = new Prometheus({ dir, port: promPort }); // not started yet: the peer is down
    config = prwCollectorConfig(
      { grpc, http, metrics },
      { endpoint: prometheus.writeUrl, wal: { directory: path.join(dir, 'wal') } },
    );
    first = new Collector(config, { name: 'sprout-1', dir, args: ['--shutdown-timeout', '3s'] });
    await first.start();

    stream = new TickingSdk('grpc', { grpc, http }, 'wal', { exportIntervalMillis: 200 });
    stream.start();
    await sleep(4000);
    await stream.stop();

    first.signal('SIGTERM');
    firstExit = await first.waitExit(20000);
  });

  after(async () => {
    if (stream) clearInterval(stream.timer);
    await Promise.all([first && first.kill(), second && second.kill(), prometheus && prometheus.kill()]);
  });

  it('acknowledges every export while Prometheus is down', () => {
    assert.deepEqual(stream.failures(), []);
    assert.ok(stream.samples().length >= 10, `${stream.samples().length} exports`);
  });

  it('exits 0 on SIGTERM within the shutdown timeout although nothing could be sent', () => {
    assert.equal(firstExit.code, 0, `sprout-1 stderr:\n${first.stderr.slice(-3000)}`);
    assert.ok(firstExit.ms < 3000 + 4000, `sprout-1 took ${firstExit.ms} ms to exit (shutdown timeout 3 s)`);
  });

  it('sends everything from the WAL after a restart once Prometheus is up', async () => {
    await prometheus.start();
    second = new Collector(config, { name: 'sprout-2', dir: first.dir, args: ['--shutdown-timeout', '3s'] });
    await second.start();
    await checkEverySample(prometheus, stream.selector, stream.samples(), { collector: second, timeoutMs: 60000 });
    assert.equal(await second.stop(), 0);
  });
});
