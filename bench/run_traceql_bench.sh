#!/usr/bin/env bash
# TraceQL search benchmark (issue 12): TraceQL queries (/api/search?q=) against a `sprout traces`
# started on a store built once by bench/run_traces_bench.sh (the pinned span corpus):
#
#   SPANS=10000000 STAGES="ingest disk" KEEP_DATA=/work/bench-data/tql10m bench/run_traces_bench.sh
#   STORE=/work/bench-data/tql10m bench/run_traceql_bench.sh [build-dir]
#
# The store is copied into a temporary dir first (the server replays its WAL and flushes it as
# blocks, and its compactor may merge blocks: the kept store stays as it was built). The server
# (Release build, pinned to CPU_COLLECTOR) starts on the copy, is left to settle (WAL replay,
# flushes, compaction: until its CPU over 1 s is under 3 % of a core), then, for each query of
# QUERIES (one a line), sprout-traces-query (pinned to CPU_LOAD) sends
#   - REQUESTS requests with limit=LIMIT (20, as Grafana), and
#   - FULL_REQUESTS requests with limit=FULL_LIMIT (large: every match is kept, so every block
#     and page in range is scanned),
# start/end covering the corpus (load.json of the store). Per query and limit: latency p50/p99,
# hits (traces in the answer), the answer's metrics.inspectedBytes (the OTLP protobuf size of
# the spans in the pages scanned) and MB/s per core = inspectedBytes of all the requests ÷ the
# server's CPU seconds (utime+stime, bench/lib.sh) over them; and how busy the machine was.
#
# PERF=1: `perf record -g` on the server over PERF_REQUESTS more full-scan requests of the
# PERF_QUERY-th query (1-based; default the last, the query that matches nothing), with the top
# functions (self time, and with children); PERF_DATA=<file> keeps perf.data. PERF_CALL_GRAPH=dwarf
# gives whole call chains (the Release build has no frame pointers: with fp, "children" is
# only as good as the chains perf can walk), PERF_FREQ the sampling rate (999 Hz).
#
#   env: STORE (required), QUERIES (bench/traceql_queries.txt), REQUESTS (10), LIMIT (20),
#        FULL_REQUESTS (3), FULL_LIMIT (10000000), PERF (0), PERF_QUERY (last),
#        PERF_REQUESTS (3), PERF_FREQ (999), PERF_CALL_GRAPH (fp), SETTLE_MAX (600 s), SPROUT_BIN ($BUILD/bin/sprout)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
STORE=${STORE:?STORE: a dir kept by run_traces_bench.sh (KEEP_DATA)}
QUERIES=${QUERIES:-bench/traceql_queries.txt}
REQUESTS=${REQUESTS:-10}
LIMIT=${LIMIT:-20}
FULL_REQUESTS=${FULL_REQUESTS:-3}
FULL_LIMIT=${FULL_LIMIT:-10000000}
PERF=${PERF:-0}
PERF_REQUESTS=${PERF_REQUESTS:-3}
PERF_FREQ=${PERF_FREQ:-999}
PERF_CALL_GRAPH=${PERF_CALL_GRAPH:-fp}
SETTLE_MAX=${SETTLE_MAX:-600}
SPROUT_BIN=${SPROUT_BIN:-$BIN/sprout}
QUERY=$BIN/sprout-traces-query

for b in "$SPROUT_BIN" "$QUERY"; do
  [ -x "$b" ] || { echo "missing $b: cmake --build $BUILD -j2 --target sprout sprout-traces-query" >&2; exit 1; }
done
[ -f "$STORE/load.json" ] && [ -d "$STORE/blocks" ] ||
  { echo "$STORE: no load.json or blocks/ (build it with run_traces_bench.sh KEEP_DATA=$STORE)" >&2; exit 1; }
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then echo "PERF=1 but perf is not installed" >&2; exit 1; fi
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" 2>/dev/null ||
  echo "warning: $BUILD is not a Release build; the figures are not comparable" >&2

json() { sed -n "s/.*\"$2\": \"\{0,1\}\([^,}\"]*\).*/\1/p" <<<"$1"; }

# ---- the store and the server ----------------------------------------------------------------
DATA=$WORK/data
mkdir -p "$DATA"
cp -a "$STORE/blocks" "$STORE/wal" "$DATA/"
LOAD_JSON=$(cat "$STORE/load.json")
SPANS=$(json "$LOAD_JSON" acked_spans)
TRACES=$(json "$LOAD_JSON" traces)
START_S=$(( $(json "$LOAD_JSON" start_time_unix_nano) / 1000000000 ))
END_S=$(( $(json "$LOAD_JSON" last_span_end_unix_nano) / 1000000000 + 1 ))
HTTP_PORT=$(free_port); GRPC_PORT=$(free_port)
cat >"$WORK/tempo.yaml" <<EOF
server:
  http_listen_address: 127.0.0.1
  http_listen_port: $HTTP_PORT
distributor:
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: 127.0.0.1:$GRPC_PORT
storage:
  trace:
    backend: local
    local:
      path: $DATA/blocks
    wal:
      path: $DATA/wal
EOF
taskset -c "$CPU_COLLECTOR" "$SPROUT_BIN" traces --config "$WORK/tempo.yaml" >"$WORK/server.log" 2>&1 &
SERVER=$!; PIDS+=("$SERVER")
BASE="http://127.0.0.1:$HTTP_PORT"
for _ in $(seq 3000); do
  curl -fs -o /dev/null "$BASE/ready" && break
  kill -0 "$SERVER" 2>/dev/null || { echo "server exited:"; tail -20 "$WORK/server.log"; exit 1; }
  sleep 0.1
done
curl -fs -o /dev/null "$BASE/ready" || { echo "not ready after 300 s"; tail -20 "$WORK/server.log"; exit 1; }
server_metric() {
  curl -fs "$BASE/metrics" | awk -v m="$1" '$1 ~ "^"m"[{ ]" || $1 == m {s += $NF; n++} END {print n ? s : "-"}'
}
settle() {
  local a b
  for _ in $(seq "$SETTLE_MAX"); do
    a=$(cpu_ticks "$SERVER"); sleep 1; b=$(cpu_ticks "$SERVER")
    [ $(( (b - a) * 100 )) -lt $(( 3 * TICKS )) ] && return 0
  done
  echo "warning: the server was still busy after SETTLE_MAX=$SETTLE_MAX s of settling"
}
settle
BLOCK_BYTES=$(find "$DATA/blocks" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
echo "store: $STORE ($SPANS spans, $TRACES traces, corpus time $START_S..$END_S);" \
     "blocks $(server_metric tempodb_blocklist_length), $BLOCK_BYTES bytes under the block path;" \
     "live traces $(server_metric tempo_ingester_live_traces); server RSS $(( $(rss_kib "$SERVER") / 1024 )) MiB"
echo "server: pid $SERVER on CPU $CPU_COLLECTOR, $BASE; nproc $(nproc), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the queries -----------------------------------------------------------------------------
mapfile -t QS < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$QUERIES")
[ "${#QS[@]}" -gt 0 ] || { echo "$QUERIES: no query" >&2; exit 1; }

# run_query <query> <limit> <requests>: one line of figures.
run_query() {
  local q=$1 limit=$2 n=$3 c0 c1 m0 st0 m1 st1 t0 t1 out
  c0=$(cpu_ticks "$SERVER"); read -r m0 st0 < <(machine_ticks); t0=$(date +%s.%N)
  out=$(taskset -c "$CPU_LOAD" "$QUERY" --url "$BASE" --mode traceql --q "$q" --limit "$limit" \
          --requests "$n" --start "$START_S" --end "$END_S") || true
  c1=$(cpu_ticks "$SERVER"); read -r m1 st1 < <(machine_ticks); t1=$(date +%s.%N)
  echo "query: $out" >>"$WORK/queries.jsonl"
  [ "$(json "$out" errors)" = 0 ] || echo "warning: errors in $out"
  awk -v q="$q" -v limit="$limit" -v ib="$(json "$out" inspected_bytes)" -v ok="$(json "$out" ok)" \
      -v c=$((c1 - c0)) -v hz="$TICKS" -v p50="$(json "$out" p50_ms)" -v p99="$(json "$out" p99_ms)" \
      -v hits="$(json "$out" hits_per_request)" -v ibr="$(json "$out" inspected_bytes_per_request)" \
      -v b=$((m1 - m0)) -v d="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" -v ncpu="$(nproc)" 'BEGIN {
    s = c / hz; mbs = s > 0 ? ib / 1e6 / s : 0
    printf "%-62s limit %-8s x%-3s p50 %9.1f ms  p99 %9.1f ms  hits %8.0f  inspected %7.0f MB  CPU %6.2f s/req  %6.0f MB/s per core (%3.0f%% of 1 GiB/s)  machine busy %3.0f%%\n",
           q, limit, ok, p50, p99, hits, ibr / 1e6, (ok > 0 ? s / ok : 0), mbs, 100 * mbs * 1e6 / 1073741824,
           100 * b / hz / d / ncpu }'
}

echo "== TraceQL: $REQUESTS requests with limit $LIMIT, then $FULL_REQUESTS with limit $FULL_LIMIT (full scan), per query"
for q in "${QS[@]}"; do
  run_query "$q" "$LIMIT" "$REQUESTS"
  run_query "$q" "$FULL_LIMIT" "$FULL_REQUESTS"
done
echo "== the tool's answers"
cat "$WORK/queries.jsonl"

if [ "$PERF" = 1 ]; then
  PQ=${PERF_QUERY:-${#QS[@]}}
  q=${QS[$((PQ - 1))]}
  echo "== perf: $PERF_REQUESTS full-scan requests of $q"
  perf record -F "$PERF_FREQ" --call-graph "$PERF_CALL_GRAPH" -p "$SERVER" -o "$WORK/perf.data" >/dev/null 2>"$WORK/perf.err" &
  perf_pid=$!
  sleep 1
  run_query "$q" "$FULL_LIMIT" "$PERF_REQUESTS"
  kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" || true
  if [ ! -s "$WORK/perf.data" ]; then
    echo "perf: no profile ($(tail -2 "$WORK/perf.err" | tr '\n' ' '))"
  else
    [ -n "${PERF_DATA:-}" ] && cp "$WORK/perf.data" "$PERF_DATA"
    echo "== perf: top functions of the server (self time)"
    { perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null || true; } |
      grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+(-[[:space:]]+-)?[[:space:]]*$//' | head -30 || true
    echo "== perf: top functions of the server (with children)"
    { perf report -i "$WORK/perf.data" --children --sort symbol --stdio 2>/dev/null || true; } |
      grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+(-[[:space:]]+-)?[[:space:]]*$//' | head -30 || true
    echo "== perf: by DSO (self time)"
    { perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null || true; } |
      grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+(-[[:space:]]+-)?[[:space:]]*$//' | head -8 || true
  fi
fi
