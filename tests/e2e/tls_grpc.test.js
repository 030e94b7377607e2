'use strict';
// TLS and mutual TLS on the otlp receiver's gRPC endpoint, with the real JS SDK's gRPC exporter
// (@grpc/grpc-js credentials.createSsl) and certificates made with the openssl CLI for this run.
// Expected, as the Collector's configtls: with cert_file/key_file the receiver serves TLS and the
// SDK's spans arrive; with client_ca_file it requires and verifies a client certificate: the SDK
// with a certificate from that CA gets through, one without a certificate (or with one from
// another CA) is refused and nothing of it reaches the pipeline.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const { ExportResultCode } = require('@opentelemetry/core');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');

const { exportSpans } = require('./lib/otel');
const { Collector, freePorts, makeTempDir, metricValue, scrapeMetrics } = require('./lib/sprout');
const { makeCerts } = require('./lib/tls');

let dir;
let ca;
let otherCa;
let server;
let client;
let intruder;

before(() => {
  dir = makeTempDir('sprout-tls-grpc-');
  ({ ca, otherCa, server, client, stranger: intruder } = makeCerts(dir));
});

const read = (file) => fs.readFileSync(file);

function collectorConfig(grpcPort, metricsPort, tls) {
  return {
    receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpcPort}`, tls } } } },
    exporters: { debug: { verbosity: 'basic' } },
    service: {
      telemetry: { metrics: { address: `127.0.0.1:${metricsPort}` } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
    },
  };
}

// Sends `count` spans through the SDK's gRPC exporter with `credentials`; resolves to the export
// results (one per span).
function sendSpans(port, credentials, count, { timeoutMillis = 10000 } = {}) {
  const exporter = new OTLPTraceExporter({ url: `https://localhost:${port}`, credentials, timeoutMillis });
  return exportSpans(exporter, count, { serviceName: 'e2e-tls-grpc', tracerName: 'e2e-tls-grpc', spanName: 'tls-span' });
}

async function acceptedSpans(metricsPort) {
  return metricValue(await scrapeMetrics(metricsPort), 'otelcol_receiver_accepted_spans_total', { transport: 'grpc' }) || 0;
}

describe('OTLP/gRPC over TLS', () => {
  let collector;
  let ports;

  before(async () => {
    const [grpcPort, metricsPort] = await freePorts(2);
    ports = { grpc: grpcPort, metrics: metricsPort };
    collector = new Collector(collectorConfig(grpcPort, metricsPort, { cert_file: server.cert, key_file: server.key }), {
      name: 'tls',
      dir,
    });
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('the SDK that trusts the CA delivers its spans', async () => {
    const results = await sendSpans(ports.grpc, grpc.credentials.createSsl(read(ca.cert)), 3);
    assert.equal(results.length, 3);
    for (const r of results) assert.equal(r.code, ExportResultCode.SUCCESS, r.error && r.error.message);
    assert.equal(await acceptedSpans(ports.metrics), 3);
  });

  it('an SDK that trusts another CA is refused', async () => {
    const results = await sendSpans(ports.grpc, grpc.credentials.createSsl(read(otherCa.cert)), 1, { timeoutMillis: 3000 });
    assert.equal(results.length, 1);
    assert.equal(results[0].code, ExportResultCode.FAILED);
    assert.equal(await acceptedSpans(ports.metrics), 3);
  });
});

describe('OTLP/gRPC over mutual TLS (client_ca_file)', () => {
  let collector;
  let ports;

  before(async () => {
    const [grpcPort, metricsPort] = await freePorts(2);
    ports = { grpc: grpcPort, metrics: metricsPort };
    collector = new Collector(
      collectorConfig(grpcPort, metricsPort, { cert_file: server.cert, key_file: server.key, client_ca_file: ca.cert }),
      { name: 'mtls', dir },
    );
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('the SDK with a client certificate from the CA delivers its spans', async () => {
    const credentials = grpc.credentials.createSsl(read(ca.cert), read(client.key), read(client.cert));
    const results = await sendSpans(ports.grpc, credentials, 4);
    assert.equal(results.length, 4);
    for (const r of results) assert.equal(r.code, ExportResultCode.SUCCESS, r.error && r.error.message);
    assert.equal(await acceptedSpans(ports.metrics), 4);
  });

  it('an SDK without a client certificate is refused', async () => {
    const results = await sendSpans(ports.grpc, grpc.credentials.createSsl(read(ca.cert)), 2, { timeoutMillis: 3000 });
    assert.equal(results.length, 2);
    for (const r of results) assert.equal(r.code, ExportResultCode.FAILED);
    assert.equal(await acceptedSpans(ports.metrics), 4);
  });

  it('an SDK with a certificate from another CA is refused', async () => {
    const credentials = grpc.credentials.createSsl(read(ca.cert), read(intruder.key), read(intruder.cert));
    const results = await sendSpans(ports.grpc, credentials, 1, { timeoutMillis: 3000 });
    assert.equal(results[0].code, ExportResultCode.FAILED);
    assert.equal(await acceptedSpans(ports.metrics), 4);
  });
});
