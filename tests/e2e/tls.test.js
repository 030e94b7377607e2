'use strict';
// TLS on the otlp receiver's HTTP endpoint: the JS SDK exports over TLS and over mutual TLS
// (certificates made by the openssl command in the test), a client without a certificate is
// refused under mTLS, and what is accepted arrives downstream (debug exporter counts).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');

const { ExportResultCode } = require('@opentelemetry/core');
const { OTLPTraceExporter: ProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPTraceExporter: JsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');

const { exportSpans } = require('./lib/otel');
const { Collector, debugCounts, freePorts, makeTempDir, waitFor } = require('./lib/sprout');
const { makeCerts, pem } = require('./lib/tls');

let certs;

before(() => {
  certs = makeCerts(makeTempDir('sprout-e2e-tls-'));
});

function collectorConfig(httpPort, metricsPort, tls) {
  return {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}`, tls } } } },
    exporters: { debug: { verbosity: 'basic' } },
    service: {
      telemetry: { metrics: { address: `127.0.0.1:${metricsPort}` } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
    },
  };
}

// Exports `n` spans through `Exporter` (a real SDK exporter with the given agent options) one
// by one; returns the export results.
// A refused export fails fast unless the SDK sees a retryable network error: `timeoutMillis`
// bounds its retries.
function exportSpansOver(Exporter, url, agentOptions, n, name, timeoutMillis = 5000) {
  const exporter = new Exporter({ url, timeoutMillis, httpAgentOptions: agentOptions });
  return exportSpans(exporter, n, { serviceName: `tls-${name}`, tracerName: 'tls-test', spanName: name });
}

const succeeded = (results) => results.filter((r) => r.code === ExportResultCode.SUCCESS).length;

describe('OTLP/HTTP over TLS', () => {
  let collector;
  let url;

  before(async () => {
    const [httpPort, metricsPort] = await freePorts(2);
    url = `https://127.0.0.1:${httpPort}/v1/traces`;
    collector = new Collector(
      collectorConfig(httpPort, metricsPort, { cert_file: certs.server.cert, key_file: certs.server.key }),
      { name: 'tls' },
    );
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('the SDK exports over TLS (protobuf and JSON) and every span arrives', async () => {
    const ca = fs.readFileSync(certs.ca.cert);
    const proto = await exportSpansOver(ProtoExporter, url, { ca }, 5, 'proto');
    const json = await exportSpansOver(JsonExporter, url, { ca }, 4, 'json');
    assert.equal(succeeded(proto), 5, JSON.stringify(proto));
    assert.equal(succeeded(json), 4, JSON.stringify(json));
    await waitFor(() => debugCounts(collector.logs()).spans === 9, {
      describe: () => `9 spans at the debug exporter, got ${debugCounts(collector.logs()).spans}`,
    });
  });

  it('a client that does not trust the CA cannot export, and plain HTTP is not served', async () => {
    const before = debugCounts(collector.logs()).spans;
    const untrusted = await exportSpansOver(ProtoExporter, url, {}, 1, 'untrusted', 1500);
    assert.equal(succeeded(untrusted), 0);
    const plain = await fetch(url.replace('https:', 'http:'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf' },
      body: Buffer.alloc(0),
    }).then(
      (res) => `HTTP ${res.status}`,
      (err) => `error: ${err.cause ? err.cause.code || err.cause.message : err.message}`,
    );
    assert.match(plain, /^error: /);
    assert.equal(debugCounts(collector.logs()).spans, before);
  });
});

describe('OTLP/HTTP over mutual TLS', () => {
  let collector;
  let url;

  before(async () => {
    const [httpPort, metricsPort] = await freePorts(2);
    url = `https://127.0.0.1:${httpPort}/v1/traces`;
    collector = new Collector(
      collectorConfig(httpPort, metricsPort, {
        cert_file: certs.server.cert,
        key_file: certs.server.key,
        client_ca_file: certs.ca.cert,
        min_version: '1.2',
      }),
      { name: 'mtls' },
    );
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('the SDK with a client certificate from the CA exports, and every span arrives', async () => {
    const ca = fs.readFileSync(certs.ca.cert);
    const results = await exportSpansOver(ProtoExporter, url, { ca, ...pem(certs.client) }, 6, 'mtls');
    assert.equal(succeeded(results), 6, JSON.stringify(results));
    await waitFor(() => debugCounts(collector.logs()).spans === 6, {
      describe: () => `6 spans at the debug exporter, got ${debugCounts(collector.logs()).spans}`,
    });
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    const ca = fs.readFileSync(certs.ca.cert);
    const anonymous = await exportSpansOver(ProtoExporter, url, { ca }, 2, 'anonymous', 1500);
    const stranger = await exportSpansOver(ProtoExporter, url, { ca, ...pem(certs.stranger) }, 2, 'stranger', 1500);
    assert.equal(succeeded(anonymous), 0, JSON.stringify(anonymous));
    assert.equal(succeeded(stranger), 0, JSON.stringify(stranger));
    // What a raw client sees: the handshake is refused, no HTTP answer comes back.
    const outcome = await new Promise((resolve) => {
      const req = https.request(url, { method: 'POST', ca, agent: false }, (res) => resolve(`HTTP ${res.statusCode}`));
      req.on('error', (err) => resolve(`error: ${err.code || err.message}`));
      req.end();
    });
    assert.match(outcome, /^error: /);
    // Nothing of theirs arrived.
    assert.equal(debugCounts(collector.logs()).spans, 6);
  });
});
