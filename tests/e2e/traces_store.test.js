'use strict';
// `sprout traces` end to end: started with no config (local defaults, data under
// ./data/traces in a temp dir) on free ports, traces sent by the real OpenTelemetry JS SDK over
// OTLP gRPC, HTTP/protobuf and HTTP/JSON (nested spans, events, links, every attribute type, two
// resources per trace), then read back by ID from Tempo's v1 (JSON and protobuf) and v2 endpoints
// and compared field by field with the SDK's own finished spans; then the process is restarted
// and the same traces are read again (replayed from the WAL). Also: multitenancy routes each push
// by X-Scope-OrgID; a push over the ingestion byte rate limit is refused (429, nothing stored);
// blocks on short ingester periods: the traces are flushed into a block and read back from it
// field by field (JSON and protobuf), again after a restart (loaded from the block store), and a
// trace whose spans land in two blocks is read whole after the compactor merged them (and after
// another restart), with the flush and compaction counters on /metrics; `sprout validate
// --traces-config` and the start-up refusals (unknown key, s3).

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const api = require('@opentelemetry/api');
const protobuf = require('protobufjs');

const {
  SPROUT_BIN, freePorts, hrTimeToNanos, makeTempDir, metricValue, parsePrometheusText, run, waitFor,
  writeConfig,
} = require('./lib/sprout');
const { Metadata } = require('@grpc/grpc-js');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const { sdkFor, simpleTracer } = require('./lib/otel');
const { startTraces, stopStartedTraces } = require('./lib/traces');

after(stopStartedTraces);

const b64 = (hex) => Buffer.from(hex, 'hex').toString('base64');

// The OTLP TracesData schema from the repository's proto/, to read `Accept: application/protobuf`
// answers (bytes as base64, enums by name, 64-bit numbers as strings: the shape of the JSON).
const PROTO_ROOT = path.resolve(__dirname, '../../proto');
const protoRoot = new protobuf.Root();
protoRoot.resolvePath = (origin, target) => path.join(PROTO_ROOT, target);
protoRoot.loadSync(['opentelemetry/proto/trace/v1/trace.proto'], { keepCase: false });
const TracesData = protoRoot.lookupType('opentelemetry.proto.trace.v1.TracesData');
const decodeTracesData = (buf) => TracesData.toObject(TracesData.decode(buf),
  { longs: String, enums: String, bytes: String, defaults: false });

// OTLP AnyValue (JSON or the decoded protobuf) → the JS value the SDK's attribute was set to.
function anyValue(v) {
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values || []).map(anyValue);
  throw new Error(`unexpected value ${JSON.stringify(v)}`);
}
const attrs = (list = []) => Object.fromEntries(list.map((kv) => [kv.key, anyValue(kv.value)]));

const KINDS = ['SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER'];
const STATUS = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

// Every span of a ResourceSpans array (JSON or decoded protobuf) in a comparable form, with its
// resource's attributes and scope name, sorted by span name.
function flatten(resourceSpans) {
  const out = [];
  for (const rs of resourceSpans) {
    const resource = attrs(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans || []) {
      for (const sp of ss.spans || []) {
        out.push({
          resource,
          scope: ss.scope && ss.scope.name,
          name: sp.name,
          kind: sp.kind,
          traceId: sp.traceId,
          spanId: sp.spanId,
          parentSpanId: sp.parentSpanId || '',
          start: String(sp.startTimeUnixNano),
          end: String(sp.endTimeUnixNano),
          attributes: attrs(sp.attributes),
          events: (sp.events || []).map((e) => ({
            time: String(e.timeUnixNano), name: e.name, attributes: attrs(e.attributes),
          })),
          links: (sp.links || []).map((l) => ({
            traceId: l.traceId, spanId: l.spanId, attributes: attrs(l.attributes),
          })),
          status: {
            code: (sp.status && sp.status.code) || 'STATUS_CODE_UNSET',
            message: (sp.status && sp.status.message) || '',
          },
        });
      }
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

// The same form, built from the SDK's own finished spans (what it was asked to send).
function expectedSpan(span) {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext ? span.parentSpanContext.spanId
    : (span.parentSpanId || '');
  return {
    resource: { ...span.resource.attributes },
    scope: span.instrumentationScope.name,
    name: span.name,
    kind: KINDS[span.kind],
    traceId: b64(ctx.traceId),
    spanId: b64(ctx.spanId),
    parentSpanId: parent ? b64(parent) : '',
    start: String(hrTimeToNanos(span.startTime)),
    end: String(hrTimeToNanos(span.endTime)),
    attributes: { ...span.attributes },
    events: span.events.map((e) => ({
      time: String(hrTimeToNanos(e.time)), name: e.name, attributes: { ...(e.attributes || {}) },
    })),
    links: span.links.map((l) => ({
      traceId: b64(l.context.traceId), spanId: b64(l.context.spanId), attributes: { ...(l.attributes || {}) },
    })),
    status: { code: STATUS[span.status.code], message: span.status.message || '' },
  };
}

// Sends one trace per transport through the SDK: a SERVER root span (every attribute type, an
// event, error status) and an INTERNAL child with a link from the frontend's resource, and a
// CLIENT child from a second resource (a second SDK, the backend, continuing the trace); returns
// what each trace must read back as, by hex trace ID.
async function sendTraces(ports) {
  const expected = new Map();
  for (const transport of ['grpc', 'http/protobuf', 'http/json']) {
    const name = transport.replace('/', '-');
    const front = sdkFor(transport, ports, { 'service.name': `front-${name}`, 'deployment.environment': 'e2e' });
    const back = sdkFor(transport, ports, { 'service.name': `back-${name}`, 'host.cores': 8 });
    const tracer = front.tracerProvider.getTracer('traces-e2e-front');
    const root = tracer.startSpan(`root ${transport}`, {
      kind: api.SpanKind.SERVER,
      attributes: {
        'http.method': 'GET', 'http.status_code': 500, ratio: 0.25, cached: false,
        tags: ['a', 'b'], sizes: [1, 2, 3], weights: [1.5, 2.5], flags: [true, false],
      },
    });
    root.addEvent('exception', { 'exception.message': 'boom', attempt: 2 });
    root.setStatus({ code: api.SpanStatusCode.ERROR, message: 'it failed' });
    const ctx = api.trace.setSpan(api.context.active(), root);
    const linked = { traceId: 'f'.repeat(32), spanId: '1234567890abcdef', traceFlags: 1 };
    const inner = tracer.startSpan(`inner ${transport}`,
      { kind: api.SpanKind.INTERNAL, links: [{ context: linked, attributes: { why: 'retry of' } }] }, ctx);
    inner.end();
    const call = back.tracerProvider.getTracer('traces-e2e-back').startSpan(`call ${transport}`,
      { kind: api.SpanKind.CLIENT, attributes: { 'peer.service': 'db', rows: 7 } }, ctx);
    call.end();
    root.end();
    for (const sdk of [front, back]) {
      await sdk.tracerProvider.forceFlush();
      assert.deepEqual(sdk.failures().traces, [], `${transport} exports failed`);
      assert.ok(sdk.results.traces.length >= 1, `${transport}: nothing exported`);
      await sdk.shutdown();
    }
    expected.set(root.spanContext().traceId,
      [root, inner, call].map(expectedSpan).sort((a, b) => a.name.localeCompare(b.name)));
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

    const pb = await fetch(`${base}/api/traces/${traceHex}`, { headers: { Accept: 'application/protobuf' } });
    assert.equal(pb.status, 200, `protobuf ${traceHex}`);
    assert.match(pb.headers.get('content-type'), /application\/protobuf/);
    const decoded = decodeTracesData(Buffer.from(await pb.arrayBuffer()));
    assert.deepEqual(flatten(decoded.resourceSpans), spans, `protobuf ${traceHex}`);
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
    // Every span the SDKs sent is counted once, for the single tenant.
    const samples = parsePrometheusText(await (await fetch(`${s.base}/metrics`)).text());
    assert.equal(metricValue(samples, 'tempo_distributor_spans_received_total', { tenant: 'single-tenant' }), 9);
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
  it('stores each push under its X-Scope-OrgID (HTTP header, gRPC metadata) and refuses one without', async () => {
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
    assert.deepEqual(spans.map((sp) => [sp.resource['service.name'], sp.name, sp.traceId, sp.spanId]),
      [['tenant-svc', 'tenant span', b64(traceHex), b64('0102030405060708')]]);
    const b = await fetch(`${s.base}/api/traces/${traceHex}`, { headers: { 'X-Scope-OrgID': 'team-b' } });
    assert.equal(b.status, 404);

    // gRPC: the tenant is the `x-scope-orgid` metadata; without it the export is refused.
    const metadata = new Metadata();
    metadata.set('x-scope-orgid', 'team-g');
    const { provider, tracer, results } = simpleTracer(
      new OTLPTraceExporter({ url: `http://127.0.0.1:${grpc}`, metadata, timeoutMillis: 10000 }),
      { serviceName: 'grpc-tenant', tracerName: 'raw' });
    const span = tracer.startSpan('grpc tenant span');
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    assert.deepEqual(results.map((r) => r.code), [0]);
    const grpcHex = span.spanContext().traceId;
    const g = await fetch(`${s.base}/api/traces/${grpcHex}`, { headers: { 'X-Scope-OrgID': 'team-g' } });
    assert.equal(g.status, 200);
    assert.deepEqual(flatten((await g.json()).batches).map((sp) => [sp.name, sp.spanId]),
      [['grpc tenant span', b64(span.spanContext().spanId)]]);
    const ga = await fetch(`${s.base}/api/traces/${grpcHex}`, { headers: { 'X-Scope-OrgID': 'team-a' } });
    assert.equal(ga.status, 404);
    const anon = simpleTracer(new OTLPTraceExporter({ url: `http://127.0.0.1:${grpc}`, timeoutMillis: 10000 }),
      { serviceName: 'grpc-anon', tracerName: 'raw' });
    anon.tracer.startSpan('anonymous').end();
    await Promise.allSettled([anon.provider.forceFlush()]);
    await Promise.allSettled([anon.provider.shutdown()]);
    assert.equal(anon.results.length, 1);
    assert.notEqual(anon.results[0].code, 0);
    assert.match(anon.results[0].error.message, /no org id/);
    const { code } = await s.stop();
    assert.equal(code, 0, s.log());
  });
});

describe('sprout traces ingestion rate limit', () => {
  it('refuses a push over the byte burst with 429 and Tempo\'s RATE_LIMITED text, storing nothing', async () => {
    const [api, grpc, http] = await freePorts(3);
    const s = await startTraces(makeTempDir('sprout-traces-rl-'), { api, grpc, http }, [
      '--set', 'overrides.defaults.ingestion.rate_limit_bytes=1',
      '--set', 'overrides.defaults.ingestion.burst_size_bytes=1000']);
    // One span; `padding` makes its serialized request larger than the 1000-byte burst.
    const body = (traceHex, padding) => JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'rl-svc' } }] },
        scopeSpans: [{
          scope: { name: 'raw' },
          spans: [{
            traceId: traceHex, spanId: '0102030405060708', name: 'rl span', kind: 1,
            startTimeUnixNano: String(BigInt(Date.now() - 1000) * 1000000n),
            endTimeUnixNano: String(BigInt(Date.now()) * 1000000n),
            attributes: [{ key: 'pad', value: { stringValue: 'x'.repeat(padding) } }],
          }],
        }],
      }],
    });
    const post = (b) => fetch(`http://127.0.0.1:${http}/v1/traces`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: b,
    });
    const smallHex = '11111111111111111111111111111111';
    const bigHex = '22222222222222222222222222222222';
    const small = await post(body(smallHex, 10));
    assert.equal(small.status, 200, await small.text());
    const big = await post(body(bigHex, 2000));
    assert.equal(big.status, 429);
    assert.match(await big.text(), /RATE_LIMITED: ingestion rate limit \(1 bytes\) exceeded while adding \d+ bytes/);

    assert.equal((await fetch(`${s.base}/api/traces/${smallHex}`)).status, 200);
    assert.equal((await fetch(`${s.base}/api/traces/${bigHex}`)).status, 404);
    const samples = parsePrometheusText(await (await fetch(`${s.base}/metrics`)).text());
    assert.equal(metricValue(samples, 'tempo_discarded_spans_total',
      { reason: 'rate_limited', tenant: 'single-tenant' }), 1);
    assert.equal(metricValue(samples, 'tempo_distributor_spans_received_total', { tenant: 'single-tenant' }), 1);
    const { code } = await s.stop();
    assert.equal(code, 0, s.log());
  });
});

describe('sprout traces blocks: flush, restart, compaction', () => {
  const cwd = makeTempDir('sprout-traces-blocks-');
  const args = [
    // Traces are cut 1 s after their last span and a block is due 5 s after the first cut: the
    // SDK's three traces (sent within a second or two) land in one block.
    '--set', 'ingester.trace_idle_period=1s',
    '--set', 'ingester.flush_check_period=100ms',
    '--set', 'ingester.max_block_duration=5s',
    '--set', 'compactor.compaction.compaction_cycle=500ms',
    '--set', 'compactor.compaction.compacted_block_retention=1s'];
  const tenant = { tenant: 'single-tenant' };
  let ports;
  let expected;
  let s;
  const scrape = async () => parsePrometheusText(await (await fetch(`${s.base}/metrics`)).text());
  const metric = async (name, labels = tenant) => metricValue(await scrape(), name, labels) || 0;
  // Waits until nothing of the tenant is left in memory and `blocks` blocks are listed.
  const waitFlushed = async (blocks) => waitFor(async () => {
    const samples = await scrape();
    return (metricValue(samples, 'tempo_ingester_live_traces', tenant) || 0) === 0
      && (metricValue(samples, 'sprout_traces_pending_traces', tenant) || 0) === 0
      && (metricValue(samples, 'tempodb_blocklist_length', tenant) || 0) === blocks;
  }, { describe: () => `everything flushed into ${blocks} block(s)\n${s.log()}` });

  it('reads traces back from their block once flushed (JSON and protobuf)', async () => {
    const [api, grpc, http] = await freePorts(3);
    ports = { api, grpc, http };
    s = await startTraces(cwd, ports, args);
    expected = await sendTraces(ports);
    await waitFlushed(1);
    await assertTracesReadBack(s.base, expected);
    const samples = await scrape();
    assert.equal(metricValue(samples, 'tempo_ingester_blocks_flushed_total', tenant), 1);
    assert.equal(metricValue(samples, 'sprout_traces_flushed_traces_total', tenant), 3);
    assert.ok(metricValue(samples, 'sprout_traces_flushed_bytes_total', tenant) > 0);
    const blockBytes = metricValue(samples, 'sprout_traces_block_bytes', tenant);
    assert.ok(blockBytes > 0);
    assert.equal(metricValue(samples, 'sprout_traces_block_bytes_written_total', tenant), blockBytes);
    assert.equal(metricValue(samples, 'tempo_ingester_failed_flushes_total', tenant), 0);
    const { code } = await s.stop();
    assert.equal(code, 0, s.log());
  });

  it('reads the same traces from the block after a restart', async () => {
    s = await startTraces(cwd, ports, args);
    assert.equal(await metric('tempodb_blocklist_length'), 1);
    assert.equal(await metric('tempo_ingester_live_traces'), 0);
    await assertTracesReadBack(s.base, expected);
  });

  it('compacts a trace whose spans are in two blocks and reads it whole', async () => {
    // More spans of the first trace, later: a second block.
    const [traceHex, spans] = expected.entries().next().value;
    const root = spans.find((sp) => sp.name.startsWith('root '));
    const start = BigInt(root.start) + 1000n;
    const late = {
      resource: { 'service.name': 'late-svc' },
      scope: 'late',
      name: 'late span',
      kind: 'SPAN_KIND_CONSUMER',
      traceId: root.traceId,
      spanId: b64('a1a2a3a4a5a6a7a8'),
      parentSpanId: root.spanId,
      start: String(start),
      end: String(start + 5000n),
      attributes: { queue: 'q1', depth: 3 },
      events: [],
      links: [],
      status: { code: 'STATUS_CODE_OK', message: '' },
    };
    const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'late-svc' } }] },
          scopeSpans: [{
            scope: { name: 'late' },
            spans: [{
              traceId: traceHex, spanId: 'a1a2a3a4a5a6a7a8',
              parentSpanId: Buffer.from(root.spanId, 'base64').toString('hex'),
              name: 'late span', kind: 5,
              startTimeUnixNano: late.start, endTimeUnixNano: late.end,
              attributes: [{ key: 'queue', value: { stringValue: 'q1' } },
                { key: 'depth', value: { intValue: '3' } }],
              status: { code: 1 },
            }],
          }],
        }],
      }),
    });
    assert.equal(res.status, 200, await res.text());
    const whole = [...spans, late].sort((a, b) => a.name.localeCompare(b.name));
    expected.set(traceHex, whole);
    // Flushed into a second block, then the two are compacted into one.
    await waitFor(async () => {
      const samples = await scrape();
      return (metricValue(samples, 'tempodb_compaction_blocks_total', {}) || 0) >= 2
        && (metricValue(samples, 'tempodb_blocklist_length', tenant) || 0) === 1
        && (metricValue(samples, 'tempo_ingester_live_traces', tenant) || 0) === 0
        && (metricValue(samples, 'sprout_traces_pending_traces', tenant) || 0) === 0;
    }, { describe: () => `two blocks compacted into one\n${s.log()}` });
    const samples = await scrape();
    assert.equal(metricValue(samples, 'tempo_ingester_blocks_flushed_total', tenant), 1);  // since this start
    assert.equal(metricValue(samples, 'sprout_traces_compaction_blocks_written_total', {}), 1);
    assert.equal(metricValue(samples, 'tempodb_compaction_errors_total', {}), 0);
    await assertTracesReadBack(s.base, expected);
    // The inputs are deleted after compacted_block_retention (1 s).
    await waitFor(async () => (await metric('tempodb_retention_deleted_total', {})) >= 2,
      { describe: () => `compacted inputs deleted\n${s.log()}` });
    await assertTracesReadBack(s.base, expected);
    let { code } = await s.stop();
    assert.equal(code, 0, s.log());
    s = await startTraces(cwd, ports, args);
    assert.equal(await metric('tempodb_blocklist_length'), 1);
    await assertTracesReadBack(s.base, expected);
    ({ code } = await s.stop());
    assert.equal(code, 0, s.log());
  });
});

describe('sprout validate --traces-config and start-up refusals', () => {
  const SEED = path.resolve(__dirname, '../../examples/seed/tempo.yaml');
  const dir = makeTempDir('sprout-traces-validate-');

  it('accepts the seed config (s3 included)', async () => {
    const res = await run(SPROUT_BIN, ['validate', '--traces-config', SEED]);
    assert.equal(res.code, 0, res.stderr);
  });

  it('refuses an unknown key with its path, in validate and at start', async () => {
    const file = writeConfig(dir, 'bad.yaml',
      'storage:\n  trace:\n    backend: local\ningester:\n  max_block_byte: 5\n');
    const expected = "Error: invalid configuration: 'ingester' has invalid keys: max_block_byte\n";
    const validated = await run(SPROUT_BIN, ['validate', '--traces-config', file]);
    assert.equal(validated.code, 1);
    assert.equal(validated.stderr, expected);
    const started = await run(SPROUT_BIN, ['traces', '--config', file], { cwd: dir });
    assert.equal(started.code, 1);
    assert.equal(started.stderr, expected);
  });

  it('refuses the s3 backend at start', async () => {
    const res = await run(SPROUT_BIN, ['traces', '--config', SEED], { cwd: dir });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^Error: .*s3 is not available yet; use the local backend \(--set storage\.trace\.backend=local\)\n$/);
  });
});
