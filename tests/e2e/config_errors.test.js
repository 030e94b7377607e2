'use strict';
// Configuration handling end to end: `sprout validate`, startup failures, ${env:...} expansion,
// --set overrides and port conflicts between collectors.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');

const { Collector, freePorts, makeTempDir, run, SPROUT_BIN, validate, writeConfig } = require('./lib/sprout');

const dir = makeTempDir('sprout-config-');
const started = [];
after(async () => {
  await Promise.all(started.map((c) => c.kill()));
});

function startCollector(config, opts) {
  const c = new Collector(config, { dir, ...opts });
  started.push(c);
  return c;
}

// A minimal valid config as YAML text; `extra` lines are spliced in where marked.
function yaml({ receiverExtra = '', processors = '', pipelineProcessors = '', exporters = '  debug:\n', pipelineExporters = 'debug', receivers = '' } = {}) {
  return `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
${receiverExtra}${receivers}${processors}exporters:
${exporters}service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
${pipelineProcessors}      exporters: [${pipelineExporters}]
`;
}

const INVALID = [
  {
    name: 'an unknown key',
    config: yaml({ receiverExtra: '        bogus: 1\n' }),
    message: "'receivers::otlp::protocols::grpc' has invalid keys: bogus",
  },
  {
    name: 'an unknown component type',
    config: yaml({ receivers: '  zipkin:\n' }),
    message: 'receivers: unknown type: "zipkin" for id: "zipkin" (valid values: [otlp])',
  },
  {
    name: 'a pipeline naming a processor that is not configured',
    config: yaml({ pipelineProcessors: '      processors: [batch]\n' }),
    message: 'service::pipelines::traces: references processor "batch" which is not configured',
  },
  {
    name: 'a pipeline naming an exporter that is not configured',
    config: yaml({ pipelineExporters: 'debug, otlp/missing' }),
    message: 'service::pipelines::traces: references exporter "otlp/missing" which is not configured',
  },
];

describe('sprout validate', () => {
  for (const { name, config, message } of INVALID) {
    it(`rejects ${name}`, async () => {
      const file = writeConfig(dir, `invalid-${name.replace(/\W+/g, '-')}.yaml`, config);
      const res = await validate(file);
      assert.notEqual(res.code, 0, `exit code; stderr: ${res.stderr}`);
      assert.ok(res.stderr.includes(message), `stderr names the problem: expected ${JSON.stringify(message)} in:\n${res.stderr}`);
      assert.match(res.stderr, /^Error: invalid configuration: /m);
    });
  }

  it('accepts a valid config', async () => {
    const file = writeConfig(dir, 'valid.yaml', yaml());
    const res = await validate(file);
    assert.equal(res.code, 0, `exit code; stderr: ${res.stderr}`);
    assert.doesNotMatch(res.stderr, /Error/);
  });

  it('rejects a file that does not exist', async () => {
    const res = await validate(`${dir}/does-not-exist.yaml`);
    assert.notEqual(res.code, 0);
    assert.ok(res.stderr.includes('does-not-exist.yaml'), res.stderr);
  });
});

describe('sprout collector with an invalid config', () => {
  for (const { name, config, message } of INVALID) {
    it(`fails to start with ${name}, with the same message as validate`, async () => {
      const file = writeConfig(dir, `collector-invalid-${name.replace(/\W+/g, '-')}.yaml`, config);
      const res = await run(SPROUT_BIN, ['collector', '--config', file], { timeoutMs: 10000 });
      assert.notEqual(res.code, 0, `exit code; stderr: ${res.stderr}`);
      assert.ok(res.stderr.includes(message), `expected ${JSON.stringify(message)} in:\n${res.stderr}`);
      const validated = await validate(file);
      const errorLine = (s) => s.split('\n').find((l) => l.startsWith('Error: '));
      assert.equal(errorLine(res.stderr), errorLine(validated.stderr), 'collector and validate report the same error');
    });
  }
});

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function healthStatus(port) {
  const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
  return res ? res.status : null;
}

function healthConfig({ grpc, http, health, healthEndpoint }) {
  return {
    receivers: {
      otlp: {
        protocols: {
          ...(grpc !== undefined ? { grpc: { endpoint: typeof grpc === 'number' ? `127.0.0.1:${grpc}` : grpc } } : {}),
          ...(http !== undefined ? { http: { endpoint: typeof http === 'number' ? `127.0.0.1:${http}` : http } } : {}),
        },
      },
    },
    exporters: { debug: {} },
    extensions: { health_check: { endpoint: healthEndpoint || `127.0.0.1:${health}` } },
    service: {
      extensions: ['health_check'],
      telemetry: { metrics: { level: 'none' } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
    },
  };
}

describe('config sources', () => {
  it('expands ${env:VAR} and ${env:VAR:-default} from the child environment', async () => {
    const [grpc, http, health] = await freePorts(3);
    const config = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:\${env:E2E_GRPC_PORT}
      http:
        endpoint: \${env:E2E_SURELY_UNSET_VARIABLE:-127.0.0.1:${http}}
exporters:
  debug:
    verbosity: \${env:E2E_VERBOSITY}
extensions:
  health_check:
    endpoint: \${env:E2E_HEALTH_ENDPOINT}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`;
    const env = { E2E_GRPC_PORT: String(grpc), E2E_HEALTH_ENDPOINT: `127.0.0.1:${health}`, E2E_VERBOSITY: 'detailed' };
    delete process.env.E2E_SURELY_UNSET_VARIABLE;
    const file = writeConfig(dir, 'env.yaml', config);
    const invalidWithoutEnv = await validate(file, [], { env: { E2E_VERBOSITY: 'loud' } });
    assert.notEqual(invalidWithoutEnv.code, 0, 'an expanded value is validated like a literal one');
    assert.match(invalidWithoutEnv.stderr, /loud/);

    const c = startCollector(config, { name: 'env-expansion', env, healthPort: health });
    await c.start();
    assert.equal(await healthStatus(health), 200, 'health_check listens on the expanded endpoint');
    assert.ok(await canConnect(grpc), 'gRPC listens on the expanded port');
    assert.ok(await canConnect(http), 'HTTP listens on the default of the unset variable');
    const grpcLine = c.logs().find((e) => e.message === 'Starting GRPC server');
    assert.equal(grpcLine && grpcLine.fields.endpoint, `127.0.0.1:${grpc}`);

    // The expanded verbosity took effect: detailed output for a span sent over HTTP.
    const res = await fetch(`http://127.0.0.1:${http}/v1/traces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'env-span' }] }] }],
      }),
    });
    assert.equal(res.status, 200);
    await c.waitForLogs((entries) => entries.some((e) => e.message.includes('    Name           : env-span')), {
      describe: 'a detailed dump of env-span',
    });
    assert.equal(await c.stop(), 0);
  });

  it('applies --set overrides on top of the file', async () => {
    const [grpc, fileHealth, setHealth] = await freePorts(3);
    const c = startCollector(healthConfig({ grpc, health: fileHealth }), {
      name: 'set-override',
      healthPort: setHealth,
      args: ['--set', `extensions::health_check::endpoint=127.0.0.1:${setHealth}`],
    });
    await c.start();
    assert.equal(await healthStatus(setHealth), 200, 'the --set endpoint answers');
    assert.equal(await canConnect(fileHealth), false, "the file's endpoint was overridden");
    assert.equal(await c.stop(), 0);
  });
});

describe('several collectors', () => {
  it('run side by side on different ports; a second one on a taken port fails to start', async () => {
    const [grpc1, http1, health1, grpc2, http2, health2, health3, health4, grpc4] = await freePorts(9);
    const first = startCollector(healthConfig({ grpc: grpc1, http: http1, health: health1 }), { name: 'first', healthPort: health1 });
    const second = startCollector(healthConfig({ grpc: grpc2, http: http2, health: health2 }), { name: 'second', healthPort: health2 });
    await Promise.all([first.start(), second.start()]);
    for (const port of [http1, http2]) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 200, `collector on ${port} answers`);
    }

    // Same gRPC port as the first one.
    const grpcClash = startCollector(healthConfig({ grpc: grpc1, health: health3 }), { name: 'grpc-clash' }).spawn();
    const grpcExit = await grpcClash.waitExit(15000);
    assert.notEqual(grpcExit.code, 0, `exit code; stderr:\n${grpcClash.stderr}`);
    assert.match(grpcClash.stderr, /address already in use/, grpcClash.stderr);
    assert.ok(grpcClash.stderr.includes(String(grpc1)), 'the message names the port');

    // Same HTTP port as the second one.
    const httpClash = startCollector(healthConfig({ grpc: grpc4, http: http2, health: health4 }), { name: 'http-clash' }).spawn();
    const httpExit = await httpClash.waitExit(15000);
    assert.notEqual(httpExit.code, 0, `exit code; stderr:\n${httpClash.stderr}`);
    assert.match(httpClash.stderr, /address already in use/, httpClash.stderr);
    assert.ok(httpClash.stderr.includes(String(http2)), 'the message names the port');

    // The failed starts released what they had bound, and did not disturb the running ones.
    assert.equal(await canConnect(health3), false);
    assert.equal(await canConnect(grpc4), false);
    assert.equal(await healthStatus(health1), 200);
    assert.equal(await healthStatus(health2), 200);
    assert.deepEqual(await Promise.all([first.stop(), second.stop()]), [0, 0]);
  });
});
