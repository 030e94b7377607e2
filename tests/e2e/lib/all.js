'use strict';
// `sprout all` for the e2e tests: started in `dir` (data under `dir/data`) on given ports (the API,
// OTLP gRPC and HTTP on 127.0.0.1), with a collection every second and service-graph edges
// expired after 2 s so tests need not wait Tempo's 15 s / 10 s; `extraArgs` are more `--set` /
// `--config` arguments. The handle: `base`, `log()`, `ready()` (waits for /ready 200), `stop()`
// (SIGTERM; resolves with the exit's {code, signal}).

const { spawn } = require('node:child_process');
const { SPROUT_BIN, trackChild, waitFor } = require('./sprout');

// The command line of `sprout all` for `dir` and `ports` (shared with lib/all_kill.js).
function allArgs(dir, ports, extraArgs = []) {
  return ['all', '--data-dir', `${dir}/data`,
    '--set', 'http.listen_address=127.0.0.1', '--set', `http.port=${ports.api}`,
    '--set', `collector.receivers.otlp.protocols.grpc.endpoint=127.0.0.1:${ports.grpc}`,
    '--set', `collector.receivers.otlp.protocols.http.endpoint=127.0.0.1:${ports.http}`,
    // A collection every second and edges expired after 2 s, so the test need not wait 15 s.
    '--set', 'traces.metrics_generator.registry.collection_interval=1s',
    '--set', 'traces.metrics_generator.processor.service_graphs.wait=2s',
    ...extraArgs];
}

function startAll(dir, ports, extraArgs = []) {
  const args = allArgs(dir, ports, extraArgs);
  const child = trackChild(spawn(SPROUT_BIN, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${ports.api}`;
  return {
    base,
    log: () => log,
    async ready() {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`sprout all exited: ${log}`);
        const res = await fetch(`${base}/ready`).catch(() => null);
        return res && res.status === 200;
      }, { timeoutMs: 30000, describe: () => `sprout all ready on ${base}\n${log}` });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

module.exports = { allArgs, startAll };
