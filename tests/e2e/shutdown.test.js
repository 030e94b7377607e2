'use strict';
// A clean shutdown under load loses nothing that was acknowledged: sprout-loadgen → collector A
// (otlp receiver → otlp exporter) → collector B (otlp receiver → debug). A gets SIGTERM while
// the load runs; B must end up with at least every span A acknowledged.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { Collector, traceSinkConfig, debugCounts, freePorts, makeTempDir, metricValue, runLoadgen, scrapeMetrics, sleep, waitFor } = require('./lib/sprout');

const BATCH = 100;

const SCENARIOS = [
  {
    name: 'steady load of 20000 spans/s',
    loadgen: { rate: 20000, duration: 6, concurrency: 2 },
    termAfterMs: 2000,
    sendingQueue: undefined, // the exporter's defaults
  },
  {
    // Flat out into a single-consumer queue: at SIGTERM the queue is full, and the drain
    // has real work to do.
    name: 'flat out with a backlog in the exporter queue',
    loadgen: { rate: 0, duration: 3, concurrency: 4 },
    termAfterMs: 1500,
    sendingQueue: { num_consumers: 1, queue_size: 200 },
    expectBacklog: true,
  },
];

for (const scenario of SCENARIOS) {
  describe(`shutdown under load: ${scenario.name}`, () => {
    let a;
    let b;
    let ports;

    before(async () => {
      const [aGrpc, aMetrics, bGrpc, bMetrics] = await freePorts(4);
      ports = { aGrpc, aMetrics, bGrpc, bMetrics };
      const dir = makeTempDir('sprout-shutdown-');
      b = new Collector(traceSinkConfig(bGrpc, bMetrics), { name: 'collector-b', dir });
      const exporter = { endpoint: `127.0.0.1:${bGrpc}`, tls: { insecure: true } };
      if (scenario.sendingQueue) exporter.sending_queue = scenario.sendingQueue;
      a = new Collector(
        {
          receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${aGrpc}` } } } },
          exporters: { otlp: exporter },
          service: {
            telemetry: { metrics: { address: `127.0.0.1:${aMetrics}` } },
            pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp'] } },
          },
        },
        { name: 'collector-a', dir, args: ['--shutdown-timeout', '20s'] },
      );
      await b.start();
      await a.start();
    });

    after(async () => {
      await Promise.all([a && a.kill(), b && b.kill()]);
    });

    it('delivers every acknowledged span to B when A is stopped mid-load', async (t) => {
      const { rate, duration, concurrency } = scenario.loadgen;
      const load = runLoadgen([
        '--endpoint', `127.0.0.1:${ports.aGrpc}`,
        '--rate', String(rate),
        '--duration', `${duration}s`,
        '--batch', String(BATCH),
        '--concurrency', String(concurrency),
      ]);

      // Wait until A is really taking load, then let it run a little before stopping it.
      const t0 = Date.now();
      const accepted = { receiver: 'otlp', transport: 'grpc' };
      await waitFor(
        async () => (metricValue(await scrapeMetrics(ports.aMetrics), 'otelcol_receiver_accepted_spans_total', accepted) || 0) > 0,
        { timeoutMs: 5000, describe: 'collector A accepting spans from sprout-loadgen' },
      );
      await sleep(Math.max(0, scenario.termAfterMs - (Date.now() - t0)));
      const beforeTerm = await scrapeMetrics(ports.aMetrics);
      const acceptedByA = metricValue(beforeTerm, 'otelcol_receiver_accepted_spans_total', accepted);
      const queued = metricValue(beforeTerm, 'otelcol_exporter_queue_size', { exporter: 'otlp' });
      a.signal('SIGTERM');
      const aExit = await a.waitExit(25000);
      assert.equal(aExit.code, 0, `A's exit code; stderr:\n${a.stderr.slice(-5000)}`);
      if (scenario.expectBacklog) {
        assert.ok(queued > 0, `A's exporter queue held a backlog at SIGTERM (queue size ${queued})`);
      }

      const report = await load;
      assert.ok(report.acked_spans > 0, `sprout-loadgen got acknowledgements: ${JSON.stringify(report)}`);
      assert.ok(report.acked_spans >= acceptedByA, `acked (${report.acked_spans}) covers what A had accepted before SIGTERM (${acceptedByA})`);
      assert.ok(report.failed_spans > 0, `requests after SIGTERM were refused: ${JSON.stringify(report)}`);

      // A has exited, so everything it will ever send has reached B.
      let receivedByB = 0;
      await waitFor(
        async () => {
          receivedByB = metricValue(await scrapeMetrics(ports.bMetrics), 'otelcol_receiver_accepted_spans_total', accepted) || 0;
          return receivedByB >= report.acked_spans;
        },
        { timeoutMs: 3000 },
      ).catch(() => {});
      assert.ok(
        receivedByB >= report.acked_spans,
        `B received ${receivedByB} spans, fewer than the ${report.acked_spans} A acknowledged: ${report.acked_spans - receivedByB} lost`,
      );
      assert.ok(receivedByB <= report.requests * BATCH, `B received ${receivedByB} spans, more than were sent`);

      // Cross-check with the debug exporter's own count lines.
      const counted = await b.waitForLogs(
        (entries) => {
          const c = debugCounts(entries);
          return c.spans === receivedByB ? c : null;
        },
        { timeoutMs: 5000, describe: `debug exporter lines adding up to ${receivedByB} spans` },
      );
      assert.equal(counted.spans, receivedByB);
      t.diagnostic(
        `loadgen ${JSON.stringify(report)}; A: accepted ${acceptedByA} and queued ${queued} requests at SIGTERM, exited after ${aExit.ms} ms; B received ${receivedByB}`,
      );

      const messages = a.logs().map((e) => e.message);
      assert.ok(messages.includes('Shutdown complete.'), "A logged 'Shutdown complete.'");
      assert.equal(b.running, true, 'B is still running');
    });

    it('B exits 0 on SIGTERM', async () => {
      assert.equal(await b.stop(10000), 0);
    });
  });
}

// The batch processor holds what it has not sent yet; a shutdown must send it before the
// exporters stop (processors shut down before exporters). With a timeout of an hour and a size
// that is never reached, only the shutdown can move the spans.
describe('shutdown flushes the batch processor', () => {
  let a;
  let b;
  let ports;

  before(async () => {
    const [aGrpc, aMetrics, bGrpc, bMetrics] = await freePorts(4);
    ports = { aGrpc, aMetrics, bGrpc, bMetrics };
    const dir = makeTempDir('sprout-batch-shutdown-');
    b = new Collector(traceSinkConfig(bGrpc, bMetrics), { name: 'collector-b', dir });
    a = new Collector(
      {
        receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${aGrpc}` } } } },
        processors: { batch: { timeout: '1h', send_batch_size: 1000000 } },
        exporters: { otlp: { endpoint: `127.0.0.1:${bGrpc}`, tls: { insecure: true } } },
        service: {
          telemetry: { metrics: { address: `127.0.0.1:${aMetrics}` } },
          pipelines: { traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['otlp'] } },
        },
      },
      { name: 'collector-a', dir },
    );
    await b.start();
    await a.start();
  });

  after(async () => {
    await Promise.all([a && a.kill(), b && b.kill()]);
  });

  it('sends what was pending when SIGTERM arrives', async () => {
    const report = await runLoadgen([
      '--endpoint', `127.0.0.1:${ports.aGrpc}`, '--rate', '2000', '--duration', '1s', '--batch', String(BATCH),
    ]);
    assert.ok(report.acked_spans > 0);
    await sleep(300);
    assert.equal(debugCounts(b.logs()).spans, 0, 'nothing reached B before the shutdown');
    assert.equal(await a.stop(), 0);
    const counts = await b.waitForLogs((logs) => {
      const c = debugCounts(logs);
      return c.spans >= report.acked_spans ? c : null;
    }, { describe: `${report.acked_spans} spans at B` });
    assert.equal(counts.spans, report.acked_spans);
    assert.equal(counts.batches, 1, 'one merged batch');
  });
});
