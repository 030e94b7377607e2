# Shared by the bench/run_*.sh scripts: start processes pinned to CPUs, measure a process's CPU
# (user+system from /proc, so the figure holds on a noisy machine) and RSS.
BUILD=${BUILD:-build}
BIN=$BUILD/bin
CPU_COLLECTOR=${CPU_COLLECTOR:-0}
CPU_LOAD=${CPU_LOAD:-1}
TICKS=$(getconf CLK_TCK)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# free_port: a TCP port on 127.0.0.1 nothing listens on now.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# start_all: a fresh `sprout all` (defaults, data in $WORK/data) on free ports pinned to
# CPU_COLLECTOR (SPROUT_BIN, default $BIN/sprout); sets API, GRPC, HTTP and ALL (its pid) and
# waits for /ready (30 s).
start_all() {
  API=$(free_port); GRPC=$(free_port); HTTP=$(free_port)
  taskset -c "$CPU_COLLECTOR" "${SPROUT_BIN:-$BIN/sprout}" all --data-dir "$WORK/data" \
    --set http.listen_address=127.0.0.1 --set "http.port=$API" \
    --set "collector.receivers.otlp.protocols.grpc.endpoint=127.0.0.1:$GRPC" \
    --set "collector.receivers.otlp.protocols.http.endpoint=127.0.0.1:$HTTP" >"$WORK/all.log" 2>&1 &
  ALL=$!; PIDS+=("$ALL")
  for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$API/ready" && break; sleep 0.1; done
  curl -fs -o /dev/null "http://127.0.0.1:$API/ready" || { echo "sprout all not ready:"; tail -20 "$WORK/all.log"; exit 1; }
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Context switches (voluntary + involuntary) summed over the process's threads.
ctx_switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}'
}
# Machine-wide busy and steal ticks (all CPUs) from /proc/stat: how loaded the machine was.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $9}' /proc/stat; }

# accepted <metric-name>: the collector's receiver counter summed over its series.
accepted() {
  curl -s "localhost:$BENCH_METRICS_PORT/metrics" |
    awk -v m="$1" '$1 ~ "^"m"[{ ]" || $1 == m {s += $NF} END {print s + 0}'
}

# start_collector <config>: starts sprout on CPU_COLLECTOR and waits until it is ready.
start_collector() {
  taskset -c "$CPU_COLLECTOR" "$BIN/sprout" collector --config "$1" 2>"$WORK/collector.log" &
  COLLECTOR=$!
  PIDS+=($COLLECTOR)
  for _ in $(seq 100); do
    grep -q "Everything is ready" "$WORK/collector.log" && return 0
    sleep 0.1
  done
  cat "$WORK/collector.log"
  exit 1
}

# measure <seconds>: over a window, the collector's CPU (% of one core), RSS (avg, max MiB),
# context switches per second, and the whole machine's busy and steal time (% of all CPUs,
# the collector included), so a figure can be read against how loaded the machine was.
measure() {
  local t0 c0 c1 t1 x0 x1 b0 s0 b1 s1 sum=0 n=0 max=0 r
  local ncpu
  ncpu=$(nproc)
  t0=$(date +%s.%N); c0=$(cpu_ticks "$COLLECTOR"); x0=$(ctx_switches "$COLLECTOR")
  read -r b0 s0 < <(machine_ticks)
  for _ in $(seq $(( $1 * 2 ))); do
    sleep 0.5
    r=$(rss_kib "$COLLECTOR"); sum=$((sum + r)); n=$((n + 1)); [ "$r" -gt "$max" ] && max=$r
  done
  c1=$(cpu_ticks "$COLLECTOR"); t1=$(date +%s.%N); x1=$(ctx_switches "$COLLECTOR")
  read -r b1 s1 < <(machine_ticks)
  awk -v c=$((c1 - c0)) -v hz="$TICKS" -v t0="$t0" -v t1="$t1" -v s="$sum" -v n="$n" -v m="$max" \
      -v x=$((x1 - x0)) -v b=$((b1 - b0)) -v st=$((s1 - s0)) -v ncpu="$ncpu" \
    'BEGIN { d = t1 - t0
             printf "%.2f %.1f %.1f %.0f %.0f %.1f\n", 100 * c / hz / d, s / n / 1024, m / 1024,
                    x / d, 100 * b / hz / d / ncpu, 100 * st / hz / d / ncpu }'
}

# fixed_rate_runs <label> <loadgen args...>: REPEAT runs of RATE_DURATION seconds at a fixed
# rate, printing each run (with the machine's load during it) and min / median / max.
fixed_rate_runs() {
  local label=$1 run results=() cpu avg max cs busy steal
  shift
  for run in $(seq "$REPEAT"); do
    taskset -c "$CPU_LOAD" "$BIN/sprout-loadgen" --endpoint "localhost:$BENCH_RECEIVER_PORT" \
      --duration "${RATE_DURATION}s" "$@" >"$WORK/rate.json" &
    local load=$!
    sleep 5
    read -r cpu avg max cs busy steal < <(measure $((RATE_DURATION - 7)))
    wait $load
    grep -q '"failed_requests": 0' "$WORK/rate.json" || { echo "loadgen saw failures: $(cat "$WORK/rate.json")"; exit 1; }
    echo "run $run: collector CPU ${cpu}% of one core; RSS avg ${avg} MiB, max ${max} MiB;" \
         "${cs} context switches/s; machine busy ${busy}% (steal ${steal}%), loadavg $(cut -d' ' -f1 /proc/loadavg)"
    results+=("$cpu $avg $max")
  done
  printf '%s\n' "${results[@]}" | sort -n | awk -v n="$REPEAT" -v l="$label" '
    { cpu[NR] = $1; avg[NR] = $2; mx[NR] = $3 }
    END { m = int((n + 1) / 2)
          printf "min / median / max: collector CPU %s / %s / %s %% of one core at %s; median RSS avg %s MiB, max %s MiB\n",
                 cpu[1], cpu[m], cpu[n], l, avg[m], mx[m] }'
}

# saturation <metric-name> <item-name> <loadgen args...>: flat out for SAT_DURATION seconds.
saturation() {
  local metric=$1 item=$2
  shift 2
  taskset -c "$CPU_LOAD" "$BIN/sprout-loadgen" --endpoint "localhost:$BENCH_RECEIVER_PORT" \
    --rate 0 --duration "${SAT_DURATION}s" "$@" >"$WORK/sat.json" &
  local load=$!
  sleep 3
  local a0 t0 a1 t1 cpu avg max cs busy steal
  a0=$(accepted "$metric"); t0=$(date +%s.%N)
  read -r cpu avg max cs busy steal < <(measure $((SAT_DURATION - 5)))
  a1=$(accepted "$metric"); t1=$(date +%s.%N)
  wait $load
  echo "loadgen: $(cat "$WORK/sat.json")"
  awk -v a=$((a1 - a0)) -v t0="$t0" -v t1="$t1" -v cpu="$cpu" -v rss="$max" -v item="$item" 'BEGIN {
    rate = a / (t1 - t0)
    printf "collector: %.0f %s/s at %.1f%% of one core => %.0f %s/s per core (%.2f us CPU each); max RSS %.1f MiB\n",
           rate, item, cpu, rate / (cpu / 100), item, 1e6 * (cpu / 100) / rate, rss }'
}
