#!/bin/sh
# Runs every libFuzzer target of tests/fuzz/ for SECONDS (default 600) under
# ASan/UBSan, two at a time, on a copy of its corpus; crashes land in
# $OUT/TARGET/ (default /tmp/pulmo-fuzz-out). Not part of CI.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
set -eu
seconds=${1:-600}
[ $# -gt 0 ] && shift
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-/tmp/pulmo-fuzz-build}
out=${OUT:-/tmp/pulmo-fuzz-out}
targets=${*:-"volume label-map recovery label-description weights safetensors dataset"}

[ -d "$build" ] || CC=clang meson setup "$build" "$source_dir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
nice -n 5 ninja -C "$build" -j2 $(for t in $targets; do echo tests/fuzz/fuzz-$t; done)

run_one () {
  mkdir -p "$out/$1/corpus"
  cp "$source_dir/tests/fuzz/corpus/$1/"* "$out/$1/corpus/"
  rm -f "$out/$1/corpus/"*.error
  # 2 GiB: more than any small input should make a parser allocate.
  TMPDIR=/dev/shm G_DEBUG=fatal-criticals UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    nice -n 10 "$build/tests/fuzz/fuzz-$1" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -malloc_limit_mb=512 -timeout=10 -max_len=65536 -artifact_prefix="$out/$1/" \
      "$out/$1/corpus" > "$out/$1/log" 2>&1 || echo "$1: a finding, see $out/$1/log"
  grep -E '^(Done|#[0-9]+ *DONE)' "$out/$1/log" | tail -1 | sed "s/^/$1: /"
}

set -- $targets
while [ $# -gt 0 ]; do
  run_one "$1" &
  if [ $# -gt 1 ]; then run_one "$2" & shift; fi
  shift
  wait
done
