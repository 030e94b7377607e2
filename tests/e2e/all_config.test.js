'use strict';
// `sprout validate --all-config`: the `sprout all` configuration (sprout.yaml) checked by the real
// binary: the seed's three files as one sprout.yaml, the refusals of the roles' own listener
// keys, warnings for Tempo keys not implemented yet, --set and --data-dir; and
// `sprout all --print-config`, whose output is itself a valid sprout.yaml.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { SPROUT_BIN, makeTempDir, run, writeConfig } = require('./lib/sprout');

const SEED = path.resolve(__dirname, '../../examples/seed/sprout.yaml');

describe('sprout validate --all-config', () => {
  const dir = makeTempDir('sprout-all-config-');

  it('accepts the seed as one sprout.yaml, with the seed collector endpoint changed by --set', async () => {
    const res = await run(SPROUT_BIN, ['validate', '--all-config', SEED,
      '--set', 'collector.receivers.otlp.protocols.grpc.endpoint=127.0.0.1:4317', '--data-dir', dir]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
  });

  it('accepts no section at all (the defaults)', async () => {
    const file = writeConfig(dir, 'empty.yaml', '{}\n');
    const res = await run(SPROUT_BIN, ['validate', '--all-config', file]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
  });

  it("refuses a role's own HTTP port and OTLP receivers, naming the top-level settings", async () => {
    const file = writeConfig(dir, 'refused.yaml',
      'traces:\n  server:\n    http_listen_port: 8080\n' +
      '  distributor:\n    receivers:\n      otlp:\n        protocols:\n          grpc:\n');
    const res = await run(SPROUT_BIN, ['validate', '--all-config', file]);
    assert.equal(res.code, 1);
    assert.equal(res.stderr,
      "Error: invalid configuration: 'traces::server' is not read by sprout all: one process " +
      'serves one HTTP port: set it with the top-level http::listen_address and http::port (the ' +
      'log level: collector::service::telemetry::logs::level)\n' +
      "'traces::distributor::receivers' is not read by sprout all: the OTLP ingress of sprout " +
      "all is the collector section's otlp receiver (collector::receivers::otlp, by default on " +
      'localhost:4317 and localhost:4318)\n');
  });

  it('warns about a Tempo key not implemented yet and exits 0', async () => {
    const file = writeConfig(dir, 'warn.yaml', 'traces:\n  ingester:\n    concurrent_flushes: 4\n');
    const res = await run(SPROUT_BIN, ['validate', '--all-config', file]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr,
      "Warning: traces: 'ingester::concurrent_flushes' is a Tempo setting that sprout traces " +
      'does not implement yet; it is ignored\n');
  });

  it('refuses unknown top-level keys and a --config alongside', async () => {
    const file = writeConfig(dir, 'unknown.yaml', 'tempo: {}\n');
    const res = await run(SPROUT_BIN, ['validate', '--all-config', file]);
    assert.equal(res.code, 1);
    assert.equal(res.stderr,
      'Error: invalid configuration: configuration has invalid keys: tempo (valid keys: ' +
      'collector, data_dir, http, metrics, multitenancy_enabled, self_monitoring, traces)\n');
    const interval = await run(SPROUT_BIN, ['validate', '--all-config', SEED, '--set', 'self_monitoring.interval=0s']);
    assert.equal(interval.code, 1);
    assert.equal(interval.stderr,
      "Error: invalid configuration: configuration: 'self_monitoring::interval' must be at least 1ms, got 0\n");
    const ok = await run(SPROUT_BIN, ['validate', '--all-config', SEED, '--set', 'self_monitoring.enabled=false',
      '--set', 'self_monitoring.interval=1m']);
    assert.equal(ok.code, 0, ok.stderr);
    const both = await run(SPROUT_BIN, ['validate', '--all-config', SEED, '--config', SEED]);
    assert.equal(both.code, 1);
    assert.equal(both.stderr,
      'Error: use only one of --config, --metrics-config, --traces-config, --all-config\n');
  });

  it('sprout all --print-config prints the effective configuration, which validates as it is', async () => {
    const data = path.join(dir, 'printed-data');
    const res = await run(SPROUT_BIN, ['all', '--print-config', '--set', 'http.port=13200', '--data-dir', data]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    // The flags and the seed's defaults (720 h traces, 30 d metrics, the generator's processors).
    assert.match(res.stdout, new RegExp(`^data_dir: ${data}$`, 'm'));
    assert.match(res.stdout, /^http:\n  listen_address: localhost\n  port: 13200$/m);
    assert.match(res.stdout, /^\s+block_retention: 720h0m0s$/m);
    assert.match(res.stdout, /^\s+compactor_blocks_retention_period: 30d$/m);
    assert.match(res.stdout, /service-graphs/);
    assert.match(res.stdout, /span-metrics/);
    const file = writeConfig(dir, 'printed.yaml', res.stdout);
    const again = await run(SPROUT_BIN, ['validate', '--all-config', file]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '');
    const bad = await run(SPROUT_BIN, ['all', '--print-config', '--set', 'http.port=abc']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error: invalid configuration: .*http::port/);
    assert.equal(bad.stdout, '');
  });
});
