#!/usr/bin/env bash
# TraceQL metrics engine benchmark (issue 16, wp-tqlengine): builds and runs
# build/bin/traceql_metrics_bench (bench/traceql_metrics_bench.cc) pinned to one CPU: spans/s
# one accumulator aggregates on one thread, per Drilldown query (rate, rate by service, error rate,
# quantiles, histogram, avg by name, compare), over 2,000 in-memory traces of 10 spans and a
# one-hour grid of 240 steps. The store's scan (reading blocks) is not in this figure.
#
#   bench/run_traceql_metrics_engine_bench.sh [build-dir]     env: CPU (1), REPETITIONS (3)
set -euo pipefail
BUILD="${1:-build}"
CPU="${CPU:-1}"
REPETITIONS="${REPETITIONS:-3}"
cmake --build "$BUILD" -j2 --target traceql_metrics_bench
taskset -c "$CPU" "$BUILD/bin/traceql_metrics_bench" --benchmark_repetitions="$REPETITIONS" \
  --benchmark_report_aggregates_only=true
