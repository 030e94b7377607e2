#!/usr/bin/env bash
# fsyncs per batch of the prometheusremotewrite exporter's WAL: sprout with `wal` (bench/configs/
# otlp-to-prw-wal.yaml) receives metrics at a fixed rate, one request per batch (no batch
# processor), and strace counts its fsync/fdatasync calls (directory syncs included) over a
# window. batches = requests the receiver accepted in that window.
#
#   bench/run_prw_wal_syncs.sh [build-dir]
#   env: RATE (2000 data points/s), POINTS (100 per request), WINDOW (10 s), CONCURRENCY (1)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
RATE=${RATE:-2000}
POINTS=${POINTS:-100}
WINDOW=${WINDOW:-10}
CONCURRENCY=${CONCURRENCY:-1}
export BENCH_RECEIVER_PORT=${BENCH_RECEIVER_PORT:-25317}
export BENCH_HTTP_SINK_PORT=${BENCH_HTTP_SINK_PORT:-25090}
export BENCH_SINK_PORT=${BENCH_SINK_PORT:-25399}
export BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-25888}
export BENCH_WAL_DIR=${BENCH_WAL_DIR:-$WORK/wal}

"$BIN/sprout-sink" --endpoint "localhost:$BENCH_SINK_PORT" \
  --http-endpoint "localhost:$BENCH_HTTP_SINK_PORT" 2>"$WORK/sink.log" &
PIDS+=($!)
start_collector bench/configs/otlp-to-prw-wal.yaml

"$BIN/sprout-loadgen" --endpoint "localhost:$BENCH_RECEIVER_PORT" --signal metrics \
  --rate "$RATE" --batch "$POINTS" --concurrency "$CONCURRENCY" \
  --duration "$((WINDOW + 6))s" >"$WORK/load.json" &
LOAD=$!
sleep 3
a0=$(accepted otelcol_receiver_accepted_metric_points_total)
timeout -s INT "$WINDOW" strace -f -c -e trace=fsync,fdatasync -p "$COLLECTOR" \
  -o "$WORK/strace.txt" || true
a1=$(accepted otelcol_receiver_accepted_metric_points_total)
wait $LOAD
syncs=$(awk '$NF == "fsync" || $NF == "fdatasync" {s += $4} END {print s + 0}' "$WORK/strace.txt")
cat "$WORK/strace.txt"
awk -v s="$syncs" -v a=$((a1 - a0)) -v p="$POINTS" 'BEGIN {
  b = a / p
  printf "%d batches (%d data points) in the window, %d fsync+fdatasync calls: %.2f per batch\n", b, a, s, s / b }'
