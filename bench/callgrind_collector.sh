#!/usr/bin/env bash
# Instructions per request of a collector pipeline, counted by callgrind: repeatable on a shared
# machine, where the CPU-time figures of run_collector_bench.sh move with the neighbours.
#
# sprout runs under `valgrind --tool=callgrind` twice, receiving RATE spans/s for SHORT and then
# for LONG seconds; the difference of the two totals divided by the difference of the requests
# accepted is the marginal cost of one request (start-up, shutdown and idle ticks cancel out).
# Counts are user-space instructions of the sprout process only (not the kernel's share).
#
#   bench/callgrind_collector.sh [build-dir]
#   env: CONFIG (bench/configs/otlp-to-otlp.yaml), SIGNAL (traces | metrics), RATE (1000 items/s),
#        BATCH (100 items per request), SHORT (10), LONG (20), ATTRIBUTES (8), LOADGEN_EXTRA
#   remote write: SIGNAL=metrics CONFIG=bench/configs/otlp-to-prw.yaml bench/callgrind_collector.sh
# Before/after a change: build the old commit in a worktree and run the script with its build dir.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
CONFIG=${CONFIG:-bench/configs/otlp-to-otlp.yaml}
RATE=${RATE:-1000}
BATCH=${BATCH:-100}
SHORT=${SHORT:-10}
LONG=${LONG:-20}
ATTRIBUTES=${ATTRIBUTES:-8}
SIGNAL=${SIGNAL:-traces}
if [ "$SIGNAL" = metrics ]; then
  COUNTER=otelcol_receiver_accepted_metric_points_total ITEM="data point"
  LOAD_ARGS=(--signal metrics)
else
  COUNTER=otelcol_receiver_accepted_spans_total ITEM=span
  LOAD_ARGS=(--attributes "$ATTRIBUTES")
fi
export BENCH_HTTP_SINK_PORT=${BENCH_HTTP_SINK_PORT:-25090}
export BENCH_RECEIVER_PORT=${BENCH_RECEIVER_PORT:-24317}
export BENCH_SINK_PORT=${BENCH_SINK_PORT:-24399}
export BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-24888}

"$BIN/sprout-sink" --endpoint "localhost:$BENCH_SINK_PORT" --http-endpoint "localhost:$BENCH_HTTP_SINK_PORT" \
  2>"$WORK/sink.log" >/dev/null &
PIDS+=($!)

# one_run <seconds>: prints "<instructions> <requests accepted>".
one_run() {
  local out="$WORK/callgrind.$1" log="$WORK/collector.$1.log"
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$BIN/sprout" collector --config "$CONFIG" 2>"$log" &
  local pid=$!
  for _ in $(seq 600); do
    grep -q "Everything is ready" "$log" && break
    sleep 0.1
  done
  grep -q "Everything is ready" "$log" || { cat "$log"; exit 1; }
  # shellcheck disable=SC2086
  "$BIN/sprout-loadgen" --endpoint "localhost:$BENCH_RECEIVER_PORT" --rate "$RATE" \
    --batch "$BATCH" --concurrency 1 "${LOAD_ARGS[@]}" --duration "${1}s" \
    ${LOADGEN_EXTRA:-} >"$WORK/load.json"
  grep -q '"failed_requests": 0' "$WORK/load.json" || { echo "loadgen saw failures: $(cat "$WORK/load.json")" >&2; exit 1; }
  local items
  items=$(accepted "$COUNTER")
  kill -TERM "$pid"
  wait "$pid" || true
  local ir
  ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
  echo "$ir $((items / BATCH))"
}

read -r ir1 req1 < <(one_run "$SHORT")
read -r ir2 req2 < <(one_run "$LONG")
echo "short run: $ir1 instructions, $req1 requests; long run: $ir2 instructions, $req2 requests"
awk -v a="$ir1" -v b="$ir2" -v r1="$req1" -v r2="$req2" -v batch="$BATCH" -v item="$ITEM" 'BEGIN {
  per = (b - a) / (r2 - r1)
  printf "marginal: %.0f instructions per request of %d %ss (%.0f per %s)\n", per, batch, item, per / batch, item }'
