#!/usr/bin/env bash
# Metrics store benchmark: one remote-write 1.0 stream (sprout-rw-loadgen: node_exporter-like
# series, ~8 labels, 15 s interval in sample time, sent flat out) into Debian's Prometheus,
# Debian's VictoriaMetrics and `sprout metrics`, each a fresh instance with a fresh data dir on
# a free loopback port, pinned to CPU_COLLECTOR (0) with the generator on CPU_LOAD (1).
#
# Per target: the server's CPU (utime+stime from /proc, so the figure holds on a noisy machine)
# over the whole send plus the settling after it, over the first scrape (series creation) and
# over the later scrapes (appends); samples per CPU-second; peak RSS (VmHWM) and RSS per active
# series; bytes per sample on disk once the head is cut into a block:
#   prometheus        admin snapshot API (POST /api/v1/admin/tsdb/snapshot, head included):
#                     the snapshot's block (index + chunks + meta); "data" = chunks/ only
#   victoria-metrics  GET /internal/force_flush, then data/ + indexdb/; again after
#                     /internal/force_merge (waited for); "data" = data/ only
#   sprout            FLUSH_SPROUT (default: Mimir's POST /ingester/flush?wait=true), then the
#                     blocks under the bucket dir; skipped with a message if the command fails
# Sizes are apparent bytes (du -sb), WAL excluded everywhere.
#
#   bench/run_metrics_bench.sh [build-dir]
#   env: TARGETS ("prometheus victoria-metrics sprout"), SERIES (200000), SCRAPES (40),
#        CONCURRENCY (4), BATCH (2000), RUNS (1; targets interleaved per run, medians reported),
#        SEED (1), START_MS (sample time of scrape 0; default inside the previous 2 h block),
#        PROMETHEUS_BIN, VICTORIA_METRICS_BIN, SPROUT_BIN ($BUILD/bin/sprout),
#        FLUSH_SPROUT (a shell command; $SPROUT_URL and $SPROUT_DATA are set), SPROUT_ARGS
#        (extra arguments to `sprout metrics`), SETTLE_MAX (30 s), KEEP_DATA (a dir to copy each run's data dir into),
#        RESULTS (a file for the per-run TSV; default in the temporary dir),
#        PROTOCOL (v1; v2 sends the same stream as remote write 2.0, otlp as OTLP/HTTP metrics
#        (protobuf, gzip) to sprout's /otlp/v1/metrics with cluster, env and zone promoted from
#        the resource — both sprout only: Debian's Prometheus 2.42 and VictoriaMetrics 1.79
#        predate remote write 2.0, and neither has an OTLP receiver: Prometheus has one from
#        2.47; VictoriaMetrics 1.79 answers /opentelemetry/v1/metrics with 400 "unsupported
#        path requested")
# The per-run TSV ends with the average request size, compressed and raw (sprout-rw-loadgen).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
TARGETS=${TARGETS:-"prometheus victoria-metrics sprout"}
SERIES=${SERIES:-200000}
SCRAPES=${SCRAPES:-40}
CONCURRENCY=${CONCURRENCY:-4}
BATCH=${BATCH:-2000}
RUNS=${RUNS:-1}
SEED=${SEED:-1}
# Sample time of scrape 0 (ms). Default: 30 min into the previous 2 h UTC block, so the stream
# (SCRAPES x 15 s) lies inside one block: a run that crosses a 2 h boundary cuts every series'
# chunk there (sprout and Prometheus), which changes RSS and bytes/sample from run to run.
START_MS=${START_MS:-$(( ($(date +%s) / 7200 - 1) * 7200000 + 1800000 ))}
SETTLE_MAX=${SETTLE_MAX:-30}
PROMETHEUS_BIN=${PROMETHEUS_BIN:-prometheus}
VICTORIA_METRICS_BIN=${VICTORIA_METRICS_BIN:-victoria-metrics}
SPROUT_BIN=${SPROUT_BIN:-$BIN/sprout}
FLUSH_SPROUT=${FLUSH_SPROUT:-'curl -fsS -X POST "$SPROUT_URL/ingester/flush?wait=true"'}
RESULTS=${RESULTS:-$WORK/results.tsv}
LOADGEN=$BIN/sprout-rw-loadgen
PROTOCOL=${PROTOCOL:-v1}
case $PROTOCOL in
  v1) ;;
  v2|otlp) for t in $TARGETS; do
        [ "$t" = sprout ] || { echo "PROTOCOL=$PROTOCOL: $t does not receive it (Debian's packages predate remote write 2.0 and have no OTLP receiver); use TARGETS=sprout" >&2; exit 1; }
      done ;;
  *) echo "PROTOCOL must be v1, v2 or otlp" >&2; exit 1 ;;
esac

# ---- preflight: refuse clearly when a peer or the generator is missing ----------------------
[ -x "$LOADGEN" ] || { echo "missing $LOADGEN: cmake --build $BUILD --target sprout-rw-loadgen" >&2; exit 1; }
for t in $TARGETS; do
  case $t in
    prometheus)
      command -v "$PROMETHEUS_BIN" >/dev/null ||
        { echo "prometheus not found ($PROMETHEUS_BIN): scripts/deps.sh installs Debian's prometheus" >&2; exit 1; } ;;
    victoria-metrics)
      command -v "$VICTORIA_METRICS_BIN" >/dev/null ||
        { echo "victoria-metrics not found ($VICTORIA_METRICS_BIN): scripts/deps.sh installs Debian's victoria-metrics" >&2; exit 1; } ;;
    sprout) ;;
    *) echo "unknown target '$t' (prometheus, victoria-metrics, sprout)" >&2; exit 1 ;;
  esac
done
RAN_TARGETS=""
SPROUT_OK=1
if [[ " $TARGETS " == *" sprout "* ]] && ! "$SPROUT_BIN" metrics --help >/dev/null 2>&1; then
  echo "sprout: SKIPPED — '$SPROUT_BIN metrics --help' fails: \`sprout metrics\` does not exist in this build yet"
  SPROUT_OK=0
fi

# wait_http <url> <log>: until the URL answers 200 (60 s).
wait_http() {
  for _ in $(seq 600); do
    curl -fs -o /dev/null "$1" && return 0
    kill -0 "$SERVER" 2>/dev/null || { echo "server exited:"; tail -20 "$2"; exit 1; }
    sleep 0.1
  done
  echo "not ready after 60 s: $1"; tail -20 "$2"; exit 1
}

# ---- the three servers: start_<t> <dir> <port> sets SERVER (pid), WRITE_URL, BASE ------------
start_prometheus() {
  printf 'global: {}\n' >"$1/prometheus.yml"  # no scrape jobs: only the remote-write stream
  taskset -c "$CPU_COLLECTOR" "$PROMETHEUS_BIN" --config.file="$1/prometheus.yml" \
    --storage.tsdb.path="$1/data" --web.listen-address="127.0.0.1:$2" \
    --web.enable-remote-write-receiver --web.enable-admin-api 2>"$1/server.log" &
  SERVER=$!; PIDS+=("$SERVER")
  BASE="http://127.0.0.1:$2"; WRITE_URL="$BASE/api/v1/write"
  wait_http "$BASE/-/ready" "$1/server.log"
}

start_victoria-metrics() {
  taskset -c "$CPU_COLLECTOR" "$VICTORIA_METRICS_BIN" -storageDataPath="$1/data" \
    -httpListenAddr="127.0.0.1:$2" -retentionPeriod=100y -loggerLevel=INFO >"$1/server.log" 2>&1 &
  SERVER=$!; PIDS+=("$SERVER")
  BASE="http://127.0.0.1:$2"; WRITE_URL="$BASE/api/v1/write"
  wait_http "$BASE/health" "$1/server.log"
}

# The one place that knows how to run `sprout metrics` for the bench (adjust here): local
# filesystem storage, multitenancy off, limits that never refuse the bench's stream.
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
    --set "limits::promote_otel_resource_attributes=cluster,env,zone" \
    ${SPROUT_ARGS:-} >"$1/server.log" 2>&1 &
  SERVER=$!; PIDS+=("$SERVER")
  BASE="http://127.0.0.1:$2"; WRITE_URL="$BASE/api/v1/push"
  if [ "$PROTOCOL" = otlp ]; then WRITE_URL="$BASE/otlp/v1/metrics"; fi
  wait_http "$BASE/ready" "$1/server.log"
}

bytes() { du -sb "$@" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
# Bytes of the files in every chunks/ directory under $1.
chunk_bytes() { find "$1" -type d -name chunks -exec du -sb {} + 2>/dev/null | awk '{s += $1} END {print s + 0}'; }

# ---- flush_<t> <dir>: prints "total data merged_total merged_data" (bytes; - if n/a) --------
flush_prometheus() {
  local name
  name=$(curl -fsS -X POST "$BASE/api/v1/admin/tsdb/snapshot" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
  [ -n "$name" ] || { echo "- - - -"; return; }
  local snap="$1/data/snapshots/$name"
  echo "$(bytes "$snap") $(chunk_bytes "$snap") - -"
}

stable_size() {
  local last=-1 same=0 now
  for i in $(seq 60); do
    sleep 1; now=$(bytes "$1/data" "$1/indexdb")
    if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
    last=$now
    [ "$i" -ge 6 ] && [ "$same" -ge 3 ] && return 0
  done
}

flush_victoria-metrics() {
  curl -fsS "$BASE/internal/force_flush" >/dev/null
  # force_flush makes the buffered rows searchable as in-memory parts; 1.79 writes those to
  # files some seconds later: wait until the size holds still for 3 s (at least 6 s, at most 60).
  stable_size "$1/data"
  local total data
  total=$(bytes "$1/data/data" "$1/data/indexdb"); data=$(bytes "$1/data/data")
  curl -fsS "$BASE/internal/force_merge" >/dev/null
  for _ in $(seq 600); do  # the merge runs in the background; its end is logged
    grep -q 'forced merge for partition_prefix=.* has been successfully finished' "$1/server.log" && break
    sleep 0.2
  done
  curl -fsS "$BASE/internal/force_flush" >/dev/null
  stable_size "$1/data"
  echo "$total $data $(bytes "$1/data/data" "$1/data/indexdb") $(bytes "$1/data/data")"
}

flush_sprout() {
  if ! SPROUT_URL=$BASE SPROUT_DATA=$1 bash -c "$FLUSH_SPROUT" >"$1/flush.out" 2>&1; then
    echo "sprout: FLUSH_SPROUT failed, bytes/sample not measured: $(head -c 300 "$1/flush.out")" >&2
    echo "- - - -"; return
  fi
  echo "$(bytes "$1/bucket") $(chunk_bytes "$1/bucket") - -"
}

# json <key> <text>: the first number after "key": in text.
json() { grep -o "\"$1\": [-0-9.e+]*" <<<"$2" | head -1 | sed 's/.*: //'; }
json_obj() { sed -n "s/.*\"$1\": {\([^}]*\)}.*/\1/p" <<<"$2"; }

# run_target <t> <run>: one fresh instance, the stream, the figures as one TSV line.
run_target() {
  local t=$1 run=$2 dir port
  dir=$WORK/$t-$run; mkdir -p "$dir"; port=$(free_port)
  "start_$t" "$dir" "$port"
  sleep 1
  local c0 b0 s0 w0
  c0=$(cpu_ticks "$SERVER"); read -r b0 s0 < <(machine_ticks); w0=$(date +%s.%N)
  local load_avg; load_avg=$(cut -d' ' -f1 /proc/loadavg)
  taskset -c "$CPU_LOAD" "$LOADGEN" --url "$WRITE_URL" --series "$SERIES" --scrapes "$SCRAPES" \
    --concurrency "$CONCURRENCY" --batch "$BATCH" --seed "$SEED" --start-ms "$START_MS" --server-pid "$SERVER" --protocol "$PROTOCOL" \
    >"$dir/loadgen.json" 2>"$dir/loadgen.err"
  local out; out=$(cat "$dir/loadgen.json")
  # Settling: work the server does after its answers (buffers, merges): until its CPU over 1 s
  # is under 3 % of a core, at most SETTLE_MAX seconds.
  local before after settle=0
  for _ in $(seq "$SETTLE_MAX"); do
    before=$(cpu_ticks "$SERVER"); sleep 1; after=$(cpu_ticks "$SERVER"); settle=$((settle + 1))
    [ $(( (after - before) * 100 )) -lt $((3 * TICKS)) ] && break
  done
  local c1 b1 s1 w1 hwm
  c1=$(cpu_ticks "$SERVER"); read -r b1 s1 < <(machine_ticks); w1=$(date +%s.%N)
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER/status")
  local sizes; sizes=$("flush_$t" "$dir")
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  local first later
  first=$(json_obj first_scrape "$out"); later=$(json_obj later_scrapes "$out")
  local acked failed elapsed send_cpu first_cpu later_cpu
  acked=$(json samples_acked "$out"); failed=$(json failed_requests "$out")
  elapsed=$(json elapsed_seconds "$out"); send_cpu=$(json server_cpu_seconds "$out")
  first_cpu=$(json server_cpu_seconds "$first"); later_cpu=$(json server_cpu_seconds "$later")
  [ "$failed" = 0 ] || echo "$t run $run: $failed failed requests: $(json_obj status_codes "$out") $(sed -n 's/.*"first_failure": "\(.*\)"}$/\1/p' <<<"$out")" >&2
  # t run acked failed elapsed send_cpu total_cpu settle first_cpu later_cpu hwm_kib
  # busy% load disk_total disk_data merged_total merged_data request_bytes request_raw_bytes
  awk -v t="$t" -v run="$run" -v acked="$acked" -v failed="$failed" -v el="$elapsed" \
      -v send="$send_cpu" -v cpu=$((c1 - c0)) -v hz="$TICKS" -v settle="$settle" \
      -v first="$first_cpu" -v later="$later_cpu" -v hwm="$hwm" -v b=$((b1 - b0)) \
      -v w0="$w0" -v w1="$w1" -v ncpu="$(nproc)" -v load="$load_avg" -v sizes="$sizes" \
      -v reqb="$(json request_bytes_avg "$out")" -v reqraw="$(json request_raw_bytes_avg "$out")" 'BEGIN {
    printf "%s\t%s\t%d\t%d\t%.3f\t%.2f\t%.2f\t%d\t%.2f\t%.2f\t%d\t%.0f\t%s", t, run, acked, failed,
           el, send, cpu / hz, settle, first, later, hwm, 100 * b / hz / (w1 - w0) / ncpu, load
    n = split(sizes, s, " "); for (i = 1; i <= 4; i++) printf "\t%s", (i <= n ? s[i] : "-")
    printf "\t%s\t%s\n", reqb, reqraw }' >>"$RESULTS"
  echo "$t run $run: $(tail -1 "$RESULTS" | cut -f3-)"
  if [ -n "${KEEP_DATA:-}" ]; then mkdir -p "$KEEP_DATA" && cp -a "$dir" "$KEEP_DATA/"; fi
  return 0
}

echo "== metrics store bench: $SERIES series x $SCRAPES scrapes (15 s apart in sample time)," \
     "$BATCH series/request, $CONCURRENCY connections; servers on CPU $CPU_COLLECTOR, generator" \
     "on CPU $CPU_LOAD; $RUNS run(s); $(nproc) CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# target run acked failed elapsed send_cpu total_cpu settle_s first_cpu later_cpu hwm_kib busy% load disk_total disk_data merged_total merged_data request_bytes request_raw_bytes ($PROTOCOL)" >"$RESULTS"
for run in $(seq "$RUNS"); do
  for t in $TARGETS; do
    [ "$t" = sprout ] && [ "$SPROUT_OK" = 0 ] && continue
    run_target "$t" "$run"
  done
done

# ---- medians and the table ------------------------------------------------------------------
median() { sort -g | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }
col() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t && $c != "-" {print $c}' "$RESULTS" | median; }
declare -A FIG
for t in $TARGETS; do
  grep -q "^$t	" "$RESULTS" || continue
  RAN_TARGETS="$RAN_TARGETS $t"
  FIG[$t,per_cpu]=$(awk -F'\t' -v t="$t" '$1 == t {print $3 / $7}' "$RESULTS" | median)
  FIG[$t,first]=$(awk -F'\t' -v t="$t" -v s="$SERIES" '$1 == t && $9 > 0 {print s / $9}' "$RESULTS" | median)
  FIG[$t,later]=$(awk -F'\t' -v t="$t" -v s="$SERIES" -v k="$SCRAPES" '$1 == t && $10 > 0 {print s * (k - 1) / $10}' "$RESULTS" | median)
  FIG[$t,send_per_cpu]=$(awk -F'\t' -v t="$t" '$1 == t && $6 > 0 {print $3 / $6}' "$RESULTS" | median)
  FIG[$t,hwm]=$(col "$t" 11)
  FIG[$t,per_series]=$(awk -F'\t' -v t="$t" -v s="$SERIES" '$1 == t {print $11 * 1024 / s}' "$RESULTS" | median)
  FIG[$t,bps]=$(awk -F'\t' -v t="$t" '$1 == t && $14 != "-" && $14 > 0 {print $14 / $3}' "$RESULTS" | median)
  FIG[$t,bps_data]=$(awk -F'\t' -v t="$t" '$1 == t && $15 != "-" && $15 > 0 {print $15 / $3}' "$RESULTS" | median)
  FIG[$t,bps_merged]=$(awk -F'\t' -v t="$t" '$1 == t && $16 != "-" && $16 > 0 {print $16 / $3}' "$RESULTS" | median)
  FIG[$t,bps_merged_data]=$(awk -F'\t' -v t="$t" '$1 == t && $17 != "-" && $17 > 0 {print $17 / $3}' "$RESULTS" | median)
  FIG[$t,busy]=$(col "$t" 12)
  FIG[$t,failed]=$(col "$t" 4)
done

fmt() {  # fmt <kind> <value>
  [ "$2" = "-" ] || [ -z "$2" ] && { echo "—"; return; }
  case $1 in
    k) awk -v v="$2" 'BEGIN {printf "%.0f k", v / 1000}' ;;
    mib) awk -v v="$2" 'BEGIN {printf "%.0f MiB", v / 1024}' ;;
    b) awk -v v="$2" 'BEGIN {printf "%.0f B", v}' ;;
    f2) awk -v v="$2" 'BEGIN {printf "%.2f", v}' ;;
    pct) awk -v v="$2" 'BEGIN {printf "%.0f %%", v}' ;;
    *) echo "$2" ;;
  esac
}
ratio() {  # ratio <a> <b>: a / b
  { [ "$1" = "-" ] || [ "$2" = "-" ] || [ -z "$1" ] || [ -z "$2" ]; } && { echo "—"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "—"; else printf "%.2f×", a / b}'
}

echo
echo "Per-run figures: $RESULTS"
echo
header="| figure (median of $RUNS) |"; rule="|---|"
for t in $RAN_TARGETS; do header="$header $t |"; rule="$rule---|"; done
has_sprout=0
[[ " $RAN_TARGETS " == *" sprout "* ]] && has_sprout=1
if [ $has_sprout = 1 ]; then
  for peer in victoria-metrics prometheus; do
    [[ " $RAN_TARGETS " == *" $peer "* ]] && header="$header sprout / $peer |" && rule="$rule---|"
  done
fi
echo "$header"; echo "$rule"
row() {  # row <label> <key> <format> [inverse: 1 when smaller is better, ratio printed as is]
  local line="| $1 |"
  for t in $RAN_TARGETS; do line="$line $(fmt "$3" "${FIG[$t,$2]}") |"; done
  if [ $has_sprout = 1 ]; then
    for peer in victoria-metrics prometheus; do
      [[ " $RAN_TARGETS " == *" $peer "* ]] && line="$line $(ratio "${FIG[sprout,$2]}" "${FIG[$peer,$2]}") |"
    done
  fi
  echo "$line"
}
row "samples per server CPU-second (send + settle)" per_cpu k
row "— send window only" send_per_cpu k
row "— first scrape (series creation)" first k
row "— later scrapes (appends)" later k
row "peak RSS (VmHWM)" hwm mib
row "RSS per active series" per_series b
row "disk bytes/sample after the head is cut" bps f2
row "— data only (chunks / VM data/)" bps_data f2
row "— VM after force_merge" bps_merged f2
row "— VM after force_merge, data only" bps_merged_data f2
row "machine busy during the run (all CPUs)" busy pct
row "failed requests" failed ""
[ "$SPROUT_OK" = 0 ] && echo && echo "sprout: skipped (\`sprout metrics --help\` fails in this build)."
exit 0
