'use strict';
// `sprout metrics` started as users start it: with no config at all (local defaults,
// multi-tenancy off) and with the seed's Mimir config (examples/seed/mimir.yaml, its S3 part
// overridden to the filesystem by --set, multi-tenancy on as in Mimir). Checks the endpoints
// that exist before the TSDB does: /ready, buildinfo (as Grafana detects Mimir), empty rules
// and alerts, /metrics, /config, tenancy; and `sprout validate --metrics-config`.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

const { SPROUT_BIN, freePort, makeTempDir, run, trackChild, waitFor, writeConfig } = require('./lib/sprout');

const SEED = path.resolve(__dirname, '../../examples/seed/mimir.yaml');
const started = [];
after(async () => {
  for (const s of started) await s.stop();
});

// Starts `sprout metrics` in `cwd` with `args`, on 127.0.0.1:<free port>; resolves once /ready
// answers 200.
async function startMetrics(args, { cwd = makeTempDir('sprout-metrics-') } = {}) {
  const port = await freePort();
  const child = trackChild(
    spawn(SPROUT_BIN, ['metrics', ...args, '--set', `server.http_listen_port=${port}`,
      '--set', 'server.http_listen_address=127.0.0.1'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  const s = {
    base,
    cwd,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  started.push(s);
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`sprout metrics exited: ${log}`);
    const res = await fetch(`${base}/ready`).catch(() => null);
    return res && res.status === 200;
  }, { describe: () => `sprout metrics ready on ${base}\n${log}` });
  return s;
}

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json() };
}

describe('sprout metrics with no config', () => {
  let s;
  it('starts with local defaults and answers /ready', async () => {
    s = await startMetrics([]);
    const res = await fetch(`${s.base}/ready`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ready');
  });

  it('serves buildinfo as Mimir at both prefixes, without the ruler config API', async () => {
    for (const p of ['/api/v1/status/buildinfo', '/prometheus/api/v1/status/buildinfo']) {
      const { status, body } = await getJson(`${s.base}${p}`);
      assert.equal(status, 200);
      assert.equal(body.status, 'success');
      assert.equal(body.data.application, 'Grafana Mimir');
      assert.match(body.data.version, /^\d+\.\d+\.\d+/);
      for (const k of ['revision', 'branch', 'buildUser', 'buildDate', 'goVersion']) {
        assert.equal(typeof body.data[k], 'string', k);
      }
      assert.deepEqual(body.data.features, {
        ruler_config_api: 'false',
        alertmanager_config_api: 'false',
        query_sharding: 'false',
        federated_rules: 'false',
      });
    }
  });

  it('answers empty rules and alerts without a tenant (multi-tenancy off)', async () => {
    assert.deepEqual(await getJson(`${s.base}/api/v1/rules`),
      { status: 200, body: { status: 'success', data: { groups: [] } } });
    assert.deepEqual(await getJson(`${s.base}/prometheus/api/v1/rules`),
      { status: 200, body: { status: 'success', data: { groups: [] } } });
    assert.deepEqual(await getJson(`${s.base}/prometheus/api/v1/alerts`),
      { status: 200, body: { status: 'success', data: { alerts: [] } } });
  });

  it('serves its own telemetry on /metrics', async () => {
    const res = await fetch(`${s.base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^process_resident_memory_bytes \d+/m);
    assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
    assert.match(text, /sprout_metrics_http_requests_total\{method="GET",route="\/api\/v1\/rules",status_code="200"\} 1/);
  });

  it('shows the effective local defaults on /config', async () => {
    const text = await (await fetch(`${s.base}/config`)).text();
    assert.match(text, /^multitenancy_enabled: false$/m);
    assert.match(text, /max_global_exemplars_per_user: 100000/);
    assert.match(text, /dir: \.\/data\/metrics\/tsdb\//);
    assert.match(text, /http_listen_port: \d+/);
  });

  it('exits 0 on SIGTERM', async () => {
    const { code } = await s.stop();
    assert.equal(code, 0);
  });
});

describe('sprout metrics with the seed mimir.yaml', () => {
  let s;
  it('starts with the S3 part overridden, warning about what it does not implement', async () => {
    s = await startMetrics(['--config', SEED, '--set', 'common.storage.backend=filesystem']);
    assert.match(s.log(), /'ingester::ring::replication_factor' is a Mimir setting that sprout metrics does not implement yet/);
    assert.match(s.log(), /'store_gateway::sharding_ring::replication_factor'/);
  });

  it('requires X-Scope-OrgID as Mimir does (401 no org id)', async () => {
    const res = await fetch(`${s.base}/prometheus/api/v1/rules`);
    assert.equal(res.status, 401);
    assert.equal(await res.text(), 'no org id\n');
    const ok = await getJson(`${s.base}/prometheus/api/v1/rules`, { 'X-Scope-OrgID': 'team-a' });
    assert.deepEqual(ok, { status: 200, body: { status: 'success', data: { groups: [] } } });
    // buildinfo needs no tenant (Grafana's detection runs before any tenant is known).
    assert.equal((await fetch(`${s.base}/prometheus/api/v1/status/buildinfo`)).status, 200);
  });

  it('shows the seed values on /config, secrets masked', async () => {
    const text = await (await fetch(`${s.base}/config`)).text();
    assert.match(text, /^multitenancy_enabled: true$/m);
    assert.match(text, /compactor_blocks_retention_period: 30d/);
    assert.match(text, /filepath: \/data\/metrics-activity\.log/);
    assert.match(text, /storage_prefix: blocks/);
    assert.match(text, /bucket_name: My_Bucket_Name/);
  });

  it('refuses s3 at start with a clear message', async () => {
    const res = await run(SPROUT_BIN, ['metrics', '--config', SEED, '--set', 'server.http_listen_port=0']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /s3 is not available yet/);
  });
});

describe('sprout validate --metrics-config', () => {
  const dir = makeTempDir('sprout-metrics-validate-');
  it('accepts the seed config (s3 included) and prints the warnings', async () => {
    const res = await run(SPROUT_BIN, ['validate', '--metrics-config', SEED]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /Warning: 'ingester::ring::replication_factor'/);
  });

  it('refuses unknown keys and wrong types with their path, as sprout metrics does', async () => {
    const file = writeConfig(dir, 'bad.yaml', 'limits:\n  ingestion_rat: 5\nserver:\n  http_listen_port: abc\n');
    const res = await run(SPROUT_BIN, ['validate', '--metrics-config', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^Error: invalid configuration: /);
    assert.match(res.stderr, /'limits' has invalid keys: ingestion_rat/);
    assert.match(res.stderr, /'server::http_listen_port' expected type 'int'/);
    const start = await run(SPROUT_BIN, ['metrics', '--config', file]);
    assert.equal(start.code, 1);
    assert.equal(start.stderr, res.stderr);
  });
});
