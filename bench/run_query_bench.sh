#!/usr/bin/env bash
# Query benchmark: a dashboard's PromQL range queries against Debian's Prometheus 2.42 and
# `sprout metrics` holding the same data, in one run (issue 10). Each server is a fresh instance
# with a fresh data dir on a free loopback port, pinned to CPU_COLLECTOR (0); the driver
# (bench/query_bench.js, node) is pinned to CPU_LOAD (1). The driver generates 10,000 series over
# 6 h at 15 s (counters, a classic histogram, gauges; deterministic from SEED), remote-writes the
# same requests to both servers in time order, checks what each holds, waits until both are idle,
# then runs each query as a range query over the 6 h at a 15 s step: WARMUPS warm-ups per server
# (the first answers are compared: series, timestamps, values within 1e-6), then RUNS timed runs
# per server, the servers alternating. Printed per query and server: latency p50/p99
# (client-side, whole answer read), the server's CPU per run, peak RSS while the query ran (VmHWM
# after resetting it through /proc/<pid>/clear_refs) and its rise; sprout / Prometheus ratios.
#
#   bench/run_query_bench.sh [build-dir]
#   env: TARGETS ("prometheus sprout"; "prometheus prometheus2": the harness against itself), RUNS (20), WARMUPS (2), SEED (1), HOURS (6), STEP_S (15),
#        QUERIES (comma-separated names: sum_by_rate,rate,histogram_quantile,topk,regex,subquery),
#        PROFILE (a dir: perf record -g of sprout on its slowest query, top frames printed;
#        PROFILE_QUERY names another query, PROFILE_TARGET=prometheus profiles Prometheus, PROFILE_RUNS (10), PERF_ARGS
#        (perf record's options; default -e cpu-clock -F 499 --call-graph dwarf,16384)), PROMETHEUS_BIN, SPROUT_BIN ($BUILD/bin/sprout),
#        ACCEPT_ENCODING (gzip, as Grafana asks; identity: uncompressed answers),
#        SPROUT_ARGS (extra arguments to `sprout metrics`), RESULTS (a JSON file for all figures),
#        KEEP_DATA (a dir to copy the servers' dirs and logs into)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
TARGETS=${TARGETS:-"prometheus sprout"}
PROMETHEUS_BIN=${PROMETHEUS_BIN:-prometheus}
SPROUT_BIN=${SPROUT_BIN:-$BIN/sprout}

# ---- preflight ------------------------------------------------------------------------------
command -v node >/dev/null || { echo "node not found: the driver is bench/query_bench.js" >&2; exit 1; }
[ -d tests/e2e/node_modules/snappyjs ] ||
  { echo "tests/e2e/node_modules missing: (cd tests/e2e && npm ci) or make deps" >&2; exit 1; }
for t in $TARGETS; do
  case $t in
    prometheus|prometheus2)
      command -v "$PROMETHEUS_BIN" >/dev/null ||
        { echo "prometheus not found ($PROMETHEUS_BIN): scripts/deps.sh installs Debian's prometheus" >&2; exit 1; } ;;
    sprout)
      "$SPROUT_BIN" metrics --help >/dev/null 2>&1 ||
        { echo "'$SPROUT_BIN metrics --help' fails: cmake --build $BUILD --target sprout" >&2; exit 1; } ;;
    *) echo "unknown target '$t' (prometheus, sprout, prometheus2)" >&2; exit 1 ;;
  esac
done

# wait_http <url> <log>: until the URL answers 200 (60 s).
wait_http() {
  for _ in $(seq 600); do
    curl -fs -o /dev/null "$1" && return 0
    kill -0 "$SERVER" 2>/dev/null || { echo "server exited:"; tail -20 "$2"; exit 1; }
    sleep 0.1
  done
  echo "not ready after 60 s: $1"; tail -20 "$2"; exit 1
}

# ---- the servers (as bench/run_metrics_bench.sh starts them): start_<t> <dir> <port> sets
# SERVER (pid), BASE and WRITE_PATH --------------------------------------------------------------
start_prometheus() {
  printf 'global: {}\n' >"$1/prometheus.yml"  # no scrape jobs: only the remote-written data
  taskset -c "$CPU_COLLECTOR" "$PROMETHEUS_BIN" --config.file="$1/prometheus.yml" \
    --storage.tsdb.path="$1/data" --web.listen-address="127.0.0.1:$2" \
    --web.enable-remote-write-receiver 2>"$1/server.log" &
  SERVER=$!; PIDS+=("$SERVER")
  BASE="http://127.0.0.1:$2"; WRITE_PATH=/api/v1/write
  wait_http "$BASE/-/ready" "$1/server.log"
}

# Local filesystem storage, multitenancy off, limits that never refuse the data set.
start_sprout() {
  # shellcheck disable=SC2086
  taskset -c "$CPU_COLLECTOR" "$SPROUT_BIN" metrics \
    --set "server::http_listen_address=127.0.0.1" --set "server::http_listen_port=$2" \
    --set "common::storage::backend=filesystem" \
    --set "common::storage::filesystem::dir=$1/bucket" \
    --set "blocks_storage::tsdb::dir=$1/tsdb" \
    --set "multitenancy_enabled=false" \
    --set "limits::ingestion_rate=1000000000" --set "limits::ingestion_burst_size=1000000000" \
    --set "limits::max_global_series_per_user=0" \
    ${SPROUT_ARGS:-} >"$1/server.log" 2>&1 &
  SERVER=$!; PIDS+=("$SERVER")
  BASE="http://127.0.0.1:$2"; WRITE_PATH=/api/v1/push
  wait_http "$BASE/ready" "$1/server.log"
}

# A second Prometheus: TARGETS="prometheus prometheus2" checks the harness itself (same answers,
# latency ratios near 1.00 show how even the alternation is on this machine).
start_prometheus2() { start_prometheus "$@"; }

ARGS=()
for t in $TARGETS; do
  dir=$WORK/$t; mkdir -p "$dir"
  "start_$t" "$dir" "$(free_port)"
  ARGS+=(--target "$t" "$BASE" "$WRITE_PATH" "$SERVER" "$dir")
done

echo "== query bench: $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)," \
     "loadavg $(cut -d' ' -f1-3 /proc/loadavg); servers on CPU $CPU_COLLECTOR, driver on CPU $CPU_LOAD;" \
     "$("$PROMETHEUS_BIN" --version 2>&1 | head -1); sprout at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
status=0
QB_RUNS=${RUNS:-20} QB_WARMUPS=${WARMUPS:-2} QB_SEED=${SEED:-1} QB_HOURS=${HOURS:-6} \
QB_STEP_S=${STEP_S:-15} QB_QUERIES=${QUERIES:-} QB_PROFILE=${PROFILE:-} \
QB_PROFILE_QUERY=${PROFILE_QUERY:-} QB_PROFILE_TARGET=${PROFILE_TARGET:-sprout} QB_PERF_ARGS=${PERF_ARGS:-} QB_PROFILE_RUNS=${PROFILE_RUNS:-} QB_ACCEPT_ENCODING=${ACCEPT_ENCODING:-} QB_RESULTS=${RESULTS:-} \
  taskset -c "$CPU_LOAD" node bench/query_bench.js "${ARGS[@]}" || status=$?
echo "machine after the run: loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${KEEP_DATA:-}" ]; then
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  mkdir -p "$KEEP_DATA" && cp -a "$WORK"/. "$KEEP_DATA/"
fi
exit $status
