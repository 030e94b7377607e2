'use strict';
// `sprout traces` for the trace store's e2e tests: started in a directory on given ports (API,
// OTLP gRPC, OTLP HTTP on 127.0.0.1) with extra `--set`/`--config` arguments; every server
// started is stopped by stopStartedTraces (call it from the test file's `after`).

const { spawn } = require('node:child_process');
const { SPROUT_BIN, trackChild, waitFor } = require('./sprout');

const started = [];

// Starts `sprout traces` in `cwd`; resolves once /ready answers 200. The returned handle has
// `base` (the API's URL), `log()` (stdout + stderr so far) and `stop()` (SIGTERM, resolves with
// the exit's {code, signal}).
async function startTraces(cwd, ports, extraArgs = [], { timeoutMs = 30000 } = {}) {
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
  }, { timeoutMs, describe: () => `sprout traces ready on ${base}\n${log}` });
  return s;
}

async function stopStartedTraces() {
  for (const s of started.splice(0)) await s.stop();
}

module.exports = { startTraces, stopStartedTraces };
