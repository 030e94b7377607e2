'use strict';
// `sprout traces` end to end: started with no config (local defaults, data under
// ./data/traces in a temp dir) on free ports, traces sent by the real OpenTelemetry JS SDK over
// OTLP gRPC, HTTP/protobuf and HTTP/JSON, then read back by ID from Tempo's v1 and v2 endpoints
// and compared with what the SDK made; then the process is restarted and the same traces are
// read again (replayed from the WAL). Also: multitenancy routes each push by X-Scope-OrgID.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');

const { SPROUT_BIN, freePorts, makeTempDir, trackChild, waitFor } = require('./lib/sprout');
const { sdkFor } = require('./lib/otel');

const started = [];
after(async () => {
  for (const s of started) await s.stop();
});

// Starts `sprout traces` in `cwd` on the given ports; resolves once /ready answers 200.
async function startTraces(cwd, ports, extraArgs = []) {
  const args = ['traces',
    '--set', 'server.http_listen_address=127.0.0.1',
    '--set', `server.http_listen_port=${ports.api}`,
    '--set', `distributor.receivers.otlp.protocols.grpc.endpoint=127.0.0.1:${ports.grpc}`,
    '--set', `distributor.receivers.otlp.protocols.http.endpoint=127.0.0.1:${ports.http}`,
    ...extraArgs];
  const child = trackChild(spawn(SPROUT_BIN, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${ports.api}`;
  const s = {
    base,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  started.push(s);
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`sprout traces exited: ${log}`);
    const res = await fetch(`${base}/ready`).catch(() => null);
    return res && res.status === 200;
  }, { describe: () => `sprout traces ready on ${base}\n${log}` });
  return s;
}

const b64 = (hex) => Buffer.from(hex, 'hex').toString('base64');

// OTLP/JSON AnyValue → JS value (as the SDK's attribute was set).
function anyValue(v) {
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  throw new Error(`unexpected value ${JSON.stringify(v)}`);
}
const attrs = (list = []) => Object.fromEntries(list.map((kv) => [kv.key, anyValue(kv.value)]));

// Every span of a JSON ResourceSpans array, with its resource's service.name, sorted by name.
function flatten(resourceSpans) {
  const out = [];
  for (const rs of resourceSpans) {
    const service = attrs(rs.resource && rs.resource.attributes)['service.name'];
    for (const ss of rs.scopeSpans || []) {
      for (const sp of ss.spans || []) {
        out.push({
          service,
          scope: ss.scope && ss.scope.name,
          name: sp.name,
          traceId: sp.traceId,
          spanId: sp.spanId,
          parentSpanId: sp.parentSpanId || '',
          attributes: attrs(sp.attributes),
        });
      }
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

// Sends one trace (a root span and two children) per transport through the SDK; returns what
// each trace must read back as, by hex trace ID.
async function sendTraces(ports) {
  const expected = new Map();
  for (const transport of ['grpc', 'http/protobuf', 'http/json']) {
    const service = `svc-${transport.replace('/', '-')}`;
    const sdk = sdkFor(transport, ports, { 'service.name': service });
    const tracer = sdk.tracerProvider.getTracer('traces-e2e');
    const root = tracer.startSpan(`root ${transport}`, { attributes: { 'http.method': 'GET', transport } });
    const ctx = require('@opentelemetry/api').trace.setSpan(require('@opentelemetry/api').context.active(), root);
    const children = [1, 2].map((i) => {
      const child = tracer.startSpan(`child ${transport} ${i}`, { attributes: { index: i, ok: i === 1 } }, ctx);
      child.end();
      return child;
    });
    root.end();
    await sdk.tracerProvider.forceFlush();
    assert.deepEqual(sdk.failures().traces, [], `${transport} exports failed`);
    assert.ok(sdk.results.traces.length >= 1, `${transport}: nothing exported`);
    await sdk.shutdown();
    const traceHex = root.spanContext().traceId;
    const rootId = root.spanContext().spanId;
    const spans = [
      { name: `root ${transport}`, spanId: rootId, parent: '', attributes: { 'http.method': 'GET', transport } },
      ...children.map((c, i) => ({
        name: `child ${transport} ${i + 1}`, spanId: c.spanContext().spanId, parent: rootId,
        attributes: { index: i + 1, ok: i === 0 },
      })),
    ];
    expected.set(traceHex, spans.map((sp) => ({
      service,
      scope: 'traces-e2e',
      name: sp.name,
      traceId: b64(traceHex),
      spanId: b64(sp.spanId),
      parentSpanId: sp.parent ? b64(sp.parent) : '',
      attributes: sp.attributes,
    })).sort((a, b) => a.name.localeCompare(b.name)));
  }
  return expected;
}

async function assertTracesReadBack(base, expected) {
  for (const [traceHex, spans] of expected) {
    const v1 = await fetch(`${base}/api/traces/${traceHex}`);
    assert.equal(v1.status, 200, `v1 ${traceHex}`);
    const v1Body = await v1.json();
    assert.deepEqual(flatten(v1Body.batches), spans, `v1 ${traceHex}`);

    const v2 = await fetch(`${base}/api/v2/traces/${traceHex}`);
    assert.equal(v2.status, 200, `v2 ${traceHex}`);
    const v2Body = await v2.json();
    assert.equal(v2Body.status, undefined);
    assert.deepEqual(flatten(v2Body.trace.resourceSpans), spans, `v2 ${traceHex}`);
  }
  // An ID never sent: v1 404, v2 200 with an empty trace.
  const missing = await fetch(`${base}/api/traces/0123456789abcdef0123456789abcdef`);
  assert.equal(missing.status, 404);
  const missingV2 = await fetch(`${base}/api/v2/traces/0123456789abcdef0123456789abcdef`);
  assert.equal(missingV2.status, 200);
  assert.deepEqual((await missingV2.json()).trace, {});
}

describe('sprout traces: OTLP in, trace by ID out, WAL replay', () => {
  const cwd = makeTempDir('sprout-traces-');
  let ports;
  let expected;

  it('stores traces sent by the SDK over gRPC, HTTP/protobuf and HTTP/JSON', async () => {
    const [api, grpc, http] = await freePorts(3);
    ports = { api, grpc, http };
    const s = await startTraces(cwd, ports);
    expected = await sendTraces(ports);
    assert.equal(expected.size, 3);
    await assertTracesReadBack(s.base, expected);
    const { code } = await s.stop();
    assert.equal(code, 0, s.log());
  });

  it('reads the same traces after a restart (replayed from the WAL)', async () => {
    const s = await startTraces(cwd, ports);
    await assertTracesReadBack(s.base, expected);
    const { code } = await s.stop();
    assert.equal(code, 0, s.log());
  });
});

describe('sprout traces with multitenancy_enabled', () => {
  it('stores each push under its X-Scope-OrgID and refuses a push without one', async () => {
    const [api, grpc, http] = await freePorts(3);
    const s = await startTraces(makeTempDir('sprout-traces-mt-'), { api, grpc, http },
      ['--set', 'multitenancy_enabled=true']);
    const traceHex = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const body = JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tenant-svc' } }] },
        scopeSpans: [{
          scope: { name: 'raw' },
          spans: [{
            traceId: traceHex, spanId: '0102030405060708', name: 'tenant span', kind: 1,
            startTimeUnixNano: String(BigInt(Date.now() - 1000) * 1000000n),
            endTimeUnixNano: String(BigInt(Date.now()) * 1000000n),
          }],
        }],
      }],
    });
    const post = (headers) => fetch(`http://127.0.0.1:${http}/v1/traces`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body,
    });
    const withTenant = await post({ 'X-Scope-OrgID': 'team-a' });
    assert.equal(withTenant.status, 200, await withTenant.text());
    const without = await post({});
    assert.equal(without.status, 401);

    const a = await fetch(`${s.base}/api/traces/${traceHex}`, { headers: { 'X-Scope-OrgID': 'team-a' } });
    assert.equal(a.status, 200);
    const spans = flatten((await a.json()).batches);
    assert.deepEqual(spans.map((sp) => [sp.service, sp.name, sp.traceId, sp.spanId]),
      [['tenant-svc', 'tenant span', b64(traceHex), b64('0102030405060708')]]);
    const b = await fetch(`${s.base}/api/traces/${traceHex}`, { headers: { 'X-Scope-OrgID': 'team-b' } });
    assert.equal(b.status, 404);
    const { code } = await s.stop();
    assert.equal(code, 0, s.log());
  });
});
