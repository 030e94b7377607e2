'use strict';
// The systems compared: the reference (Debian's `prometheus` 2.42) and a target — `sprout`
// (`sprout metrics`, the built binary), `victoria` (Debian's `victoria-metrics`) or `prometheus`
// (a second Prometheus: the harness checking itself). Each runs on a free loopback port with a
// temp data dir (lib/prom.js and lib/sprout_metrics.js of the e2e tests), is killed with this
// process, and is wrapped here as {name, writeUrl, start(), kill(), rangeQuery(), ready()}.

const { Prometheus, VictoriaMetrics } = require('../../e2e/lib/prom');
const { SproutMetrics } = require('../../e2e/lib/sprout_metrics');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { STALE_NAN_HEX } = require('./data');

const TARGETS = ['sprout', 'victoria', 'prometheus'];

// Temp dirs are our own (not lib/sprout.js's, which keeps them whenever the process exits
// non-zero, as `make conformance` does below the pass bar): lib/harness.js removes them after a
// run and keeps them, with a note, when the harness itself failed.
const makeTempDir = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

class Peer {
  constructor(name, server, { queryPrefix = '', headers = {} } = {}) {
    this.name = name;
    this.server = server;
    this.queryPrefix = queryPrefix;
    this.headers = headers;
  }

  get writeUrl() {
    return this.server.writeUrl;
  }

  start() {
    return this.server.start();
  }

  kill() {
    return this.server.kill();
  }

  // Its data dir and logs (after kill()).
  removeDir() {
    fs.rmSync(this.server.dir, { recursive: true, force: true });
  }

  // Makes everything written visible to queries (VictoriaMetrics buffers recent rows).
  async flush() {
    if (typeof this.server.flush === 'function') await this.server.flush();
  }

  // POST /api/v1/query_range as a form (as Grafana sends it): the raw {status, text} or
  // {fetchError}, for lib/compare.js's classifyAnswer.
  async rangeQuery(query, { startMs, endMs, stepMs }) {
    const body = new URLSearchParams({ query, start: String(startMs / 1000), end: String(endMs / 1000), step: String(stepMs / 1000) });
    try {
      const res = await fetch(`${this.server.baseUrl}${this.queryPrefix}/api/v1/query_range`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...this.headers },
        body: body.toString(),
        signal: AbortSignal.timeout(60000),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      return { fetchError: err.message };
    }
  }

  // POST /api/v1/query (an instant query at timeMs), answered as rangeQuery answers.
  async instantQuery(query, timeMs) {
    const body = new URLSearchParams({ query, time: String(timeMs / 1000) });
    try {
      const res = await fetch(`${this.server.baseUrl}${this.queryPrefix}/api/v1/query`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...this.headers },
        body: body.toString(),
        signal: AbortSignal.timeout(60000),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      return { fetchError: err.message };
    }
  }

  // The number of series with job="demo" between the bounds (the series API every peer has).
  async seriesCount({ minMs, maxMs }) {
    const data = await this.server.api('/api/v1/series', { 'match[]': '{job="demo"}', start: minMs / 1000, end: maxMs / 1000 + 1 });
    return data.length;
  }

  // The number of float samples (staleness markers excluded) under job="demo" up to maxMs, by
  // PromQL, one metric name at a time (count_over_time drops the name, so a single selector over
  // every name would collide); null where the peer has no query API yet.
  async sampleCount({ minMs, maxMs, names }) {
    const spanS = Math.ceil((maxMs - minMs) / 1000) + 3600;
    let total = 0;
    for (const name of names) {
      const res = await this.rangeQuery(`sum(count_over_time(${name}{job="demo"}[${spanS}s]))`, { startMs: maxMs + 1, endMs: maxMs + 1, stepMs: 1000 });
      if (res.fetchError || res.status !== 200) return null;
      const body = JSON.parse(res.text);
      const r = body.data && body.data.result && body.data.result[0];
      total += r ? Number(r.values[0][1]) : 0;
    }
    return total;
  }

  // Without PromQL, where the server serves remote read (sprout metrics): {floats, stale} counted
  // from the raw samples, staleness markers by their exact bits; null elsewhere.
  async rawCounts({ minMs, maxMs }) {
    if (typeof this.server.remoteRead !== 'function') return null;
    const [series] = await this.server.remoteRead([{ start: minMs, end: maxMs, matchers: '{job="demo"}' }]);
    let floats = 0;
    let stale = 0;
    for (const s of series) for (const [, , hex] of s.samples) hex === STALE_NAN_HEX ? (stale += 1) : (floats += 1);
    return { floats, stale };
  }
}

function reference() {
  return new Peer('prometheus (reference)', new Prometheus({ dir: makeTempDir('sprout-conformance-ref-') }));
}

function target(kind) {
  switch (kind) {
    case 'sprout':
      return new Peer('sprout', new SproutMetrics({
        dir: makeTempDir('sprout-conformance-sprout-'),
        multitenancy: false,
        sets: ['limits.ingestion_rate=100000000', 'limits.ingestion_burst_size=100000000'],
      }));
    case 'victoria':
      return new Peer('victoria-metrics', new VictoriaMetrics({ dir: makeTempDir('sprout-conformance-vm-') }));
    case 'prometheus':
      return new Peer('prometheus (self-check)', new Prometheus({ dir: makeTempDir('sprout-conformance-self-') }));
    default:
      throw new Error(`CONFORMANCE_TARGET=${kind}: one of ${TARGETS.join(', ')}`);
  }
}

module.exports = { Peer, TARGETS, reference, target };
