'use strict';
// The otlp exporter's queue modes behind a gRPC receiver: without a sending queue the receiver
// answers only after the export finished (so a downstream failure reaches the client), and with
// `block_on_overflow` a full queue makes the receiver wait instead of refusing. Both keep a
// receiver thread waiting on an export — which must not deadlock.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { Collector, traceSinkConfig, freePorts, makeTempDir, metricValue, runLoadgen, scrapeMetrics } = require('./lib/sprout');

const BATCH = 50;

function pipeline(aGrpc, aMetrics, bGrpc, exporterExtra) {
  return {
    receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${aGrpc}` } } } },
    exporters: { otlp: { endpoint: `127.0.0.1:${bGrpc}`, tls: { insecure: true }, ...exporterExtra } },
    service: {
      telemetry: { metrics: { address: `127.0.0.1:${aMetrics}` } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp'] } },
    },
  };
}

const MODES = [
  { name: 'without a sending queue', exporter: { sending_queue: { enabled: false } } },
  {
    name: 'with a one-slot queue that blocks when full',
    exporter: { sending_queue: { num_consumers: 1, queue_size: 1, block_on_overflow: true } },
  },
];

for (const mode of MODES) {
  describe(`otlp exporter ${mode.name}`, () => {
    let a;
    let b;
    let ports;

    before(async () => {
      const [aGrpc, aMetrics, bGrpc, bMetrics] = await freePorts(4);
      ports = { aGrpc, aMetrics, bGrpc, bMetrics };
      const dir = makeTempDir('sprout-modes-');
      b = new Collector(traceSinkConfig(bGrpc, bMetrics), { name: 'collector-b', dir });
      a = new Collector(pipeline(aGrpc, aMetrics, bGrpc, mode.exporter), { name: 'collector-a', dir });
      await b.start();
      await a.start();
    });

    after(async () => {
      await Promise.all([a && a.kill(), b && b.kill()]);
    });

    it('forwards everything from several concurrent senders without stalling', async () => {
      const report = await runLoadgen([
        '--endpoint', `127.0.0.1:${ports.aGrpc}`,
        '--rate', '0',
        '--duration', '2s',
        '--batch', String(BATCH),
        '--concurrency', '4',
      ]);
      assert.equal(report.failed_requests, 0, `no request failed: ${JSON.stringify(report)}`);
      assert.ok(report.requests > 20, `requests kept flowing: ${JSON.stringify(report)}`);
      const received = metricValue(await scrapeMetrics(ports.bMetrics), 'otelcol_receiver_accepted_spans_total', {
        receiver: 'otlp',
      });
      // Acknowledged means delivered here: the receiver waited for the export (or its slot).
      assert.ok(received >= report.acked_spans - (mode.exporter.sending_queue.enabled === false ? 0 : BATCH * 2),
        `B received ${received} of ${report.acked_spans} acknowledged spans`);
    });

    it('shuts down promptly and cleanly', async () => {
      assert.equal(await a.stop(15000), 0);
      assert.equal(await b.stop(15000), 0);
    });
  });
}

describe('otlp exporter without a sending queue, downstream unreachable', () => {
  let a;
  let ports;

  before(async () => {
    const [aGrpc, aMetrics, deadPort] = await freePorts(3);
    ports = { aGrpc, aMetrics };
    a = new Collector(
      pipeline(aGrpc, aMetrics, deadPort, {
        sending_queue: { enabled: false },
        retry_on_failure: { enabled: false },
        timeout: '1s',
      }),
      { name: 'collector-a', dir: makeTempDir('sprout-modes-dead-') },
    );
    await a.start();
  });

  after(async () => {
    if (a) await a.kill();
  });

  it('passes the export failure back to the client', async () => {
    const report = await runLoadgen([
      '--endpoint', `127.0.0.1:${ports.aGrpc}`,
      '--rate', '500',
      '--duration', '1s',
      '--batch', '10',
      '--concurrency', '1',
    ]);
    assert.ok(report.requests > 0, JSON.stringify(report));
    assert.equal(report.acked_spans, 0, `nothing was acknowledged: ${JSON.stringify(report)}`);
    const refused = metricValue(await scrapeMetrics(ports.aMetrics), 'otelcol_receiver_refused_spans_total', {
      receiver: 'otlp',
    });
    assert.ok(refused > 0, `the receiver counted refused spans (${refused})`);
    assert.equal(await a.stop(15000), 0);
  });
});
