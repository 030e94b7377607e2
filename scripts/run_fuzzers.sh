#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time each.
#   scripts/run_fuzzers.sh <build-dir> <seconds-per-target> [<name-regex>]
# Each fuzzer starts from its committed corpus, corpus/<target>/ beside its sources (the seeds and
# every crash found so far, which `make test` replays), plus a working corpus kept in
# <build-dir>/corpus/<target> between runs. Crashes are written to <build-dir>/crashes/<target>/
# and fail the run: fix the bug, then copy the crash file into the committed corpus.
# FUZZ_UPDATE_CORPUS=1 afterwards merges the inputs that add coverage into the committed corpus
# (libFuzzer's -merge=1), for review and commit. A third argument runs only the targets whose
# name matches it (grep -E), one at a time as always: e.g. 'metrics|chunkenc|block|wal|remote'.
set -euo pipefail
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
ONLY=${3:-}
SRC=$(cd "$(dirname "$0")/../src" && pwd)
status=0
# Third-party findings we cannot fix (see the file) do not hide ours.
export UBSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/ubsan.supp:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
shopt -s nullglob
fuzzers=("$BUILD"/bin/*_fuzzer)
if [ ${#fuzzers[@]} -eq 0 ]; then
  echo "no fuzzers in $BUILD/bin"
  exit 1
fi
for fuzzer in "${fuzzers[@]}"; do
  name=$(basename "$fuzzer")
  if [ -n "$ONLY" ] && ! grep -qE "$ONLY" <<<"$name"; then continue; fi
  corpus="$BUILD/corpus/$name"
  crashes="$BUILD/crashes/$name"
  mkdir -p "$corpus" "$crashes"
  seeds=$(find "$SRC" -type d -path "*/corpus/$name" | head -1)
  if [ -z "$seeds" ]; then
    echo "!! $name has no committed corpus (corpus/$name/ beside its sources)"
    status=1
    continue
  fi
  # A token dictionary next to the fuzzer's sources (src/**/<name>.dict), when there is one.
  dict=$(find "$SRC" -name "$name.dict" | head -1)
  echo "== $name for ${SECONDS_EACH}s (seeds: ${seeds#"$SRC"/})"
  if ! "$fuzzer" "$corpus" "$seeds" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
       -timeout=10 ${dict:+-dict="$dict"} \
       -print_final_stats=1 -artifact_prefix="$crashes/" 2>"$BUILD/$name.log"; then
    echo "!! $name failed; see $BUILD/$name.log and $crashes/"
    tail -30 "$BUILD/$name.log"
    status=1
    continue
  fi
  grep -E "^stat::number_of_executed_units|^Done" "$BUILD/$name.log" || true
  if [ "${FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
    "$fuzzer" -merge=1 "$seeds" "$corpus" 2>"$BUILD/$name.merge.log" || {
      echo "!! merging into $seeds failed; see $BUILD/$name.merge.log"
      status=1
    }
    echo "   committed corpus now $(ls "$seeds" | wc -l) files"
  fi
done
exit $status
