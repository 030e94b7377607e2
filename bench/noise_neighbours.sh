#!/usr/bin/env bash
# How the collector's CPU per request at a fixed low rate moves with what else runs on the
# machine (BENCHMARKS.md, "Why the 10k spans/s figure is noise-sensitive"). The OTLP → OTLP
# set-up of run_collector_bench.sh, measured REPEAT times with each neighbour (sprout-hog):
#   none                          a quiet machine
#   spin on the collector's CPU   a busy loop sharing CPU 0 (no memory traffic)
#   mem 64 on the collector's CPU sweeping 64 MiB (more than the L3 share) on CPU 0
#   mem 64 on the other CPU       the same sweep on CPU 1 (shared L3, memory bandwidth)
#   mem 1 on the collector's CPU  sweeping 1 MiB (fits in L2/L3) on CPU 0
#
#   bench/noise_neighbours.sh [build-dir]
#   env: RATE_DURATION (20), REPEAT (3), CONFIG, ATTRIBUTES (8)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
CONFIG=${CONFIG:-bench/configs/otlp-to-otlp.yaml}
RATE_DURATION=${RATE_DURATION:-20}
REPEAT=${REPEAT:-3}
ATTRIBUTES=${ATTRIBUTES:-8}
export BENCH_RECEIVER_PORT=${BENCH_RECEIVER_PORT:-24317}
export BENCH_SINK_PORT=${BENCH_SINK_PORT:-24399}
export BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-24888}

taskset -c "$CPU_LOAD" "$BIN/sprout-sink" --endpoint "localhost:$BENCH_SINK_PORT" 2>"$WORK/sink.log" &
PIDS+=($!)
start_collector "$CONFIG"

# with_neighbour <label> <cpu or -> <hog args...>
with_neighbour() {
  local label=$1 cpu=$2 hog=
  shift 2
  if [ "$cpu" != - ]; then
    taskset -c "$cpu" "$BIN/sprout-hog" "$@" &
    hog=$!
    PIDS+=($hog)
    sleep 1
  fi
  echo "== neighbour: $label"
  fixed_rate_runs "10k spans/s" --rate 10000 --batch 100 --concurrency 1 --attributes "$ATTRIBUTES"
  if [ -n "$hog" ]; then kill "$hog"; wait "$hog" 2>/dev/null || true; fi
}

with_neighbour "none" -
with_neighbour "spin on the collector's CPU" "$CPU_COLLECTOR" spin
with_neighbour "64 MiB sweep on the collector's CPU" "$CPU_COLLECTOR" mem 64
with_neighbour "64 MiB sweep on the other CPU" "$CPU_LOAD" mem 64
with_neighbour "1 MiB sweep on the collector's CPU" "$CPU_COLLECTOR" mem 1
