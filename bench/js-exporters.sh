#!/usr/bin/env bash
# JavaScript exporters in Node (issue 26, docs/js-exporters.md), all in one run:
#  1. exports/s of examples/js-exporters/threshold-twin.js against the built-in threshold on
#     the same scenario (bench/exports/model.json with threshold: 20,000 export calls, one
#     per request, and a POST per 100 items), PAIRS alternated pairs; exports/s is the run's
#     events per wall second, the same work in both; then again with both processes pinned
#     on CPU 0 (taskset), where no wake-up crosses cores;
#  2. example 1 (the OpenTelemetry SDK's BatchSpanProcessor + OTLPTraceExporter) on the first
#     seed's 14-hour low-volume scenario (scenarios/js-otel-batch.json, both variants): how
#     many times faster than real time.
#
#   bench/js-exporters.sh [BUILD] [PAIRS]     (BUILD: build-bench; PAIRS: 5)
# Needs node, and examples/js-exporters built (scripts/js-examples).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench} pairs=${2:-5}
el=$build/sim/edgeloss
[ -x "$el" ] || { echo "not built: $el" >&2; exit 2; }
[ -f "$root/examples/js-exporters/dist/otel-batch.js" ] || { echo "run scripts/js-examples first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node -e '
  const fs = require("fs");
  const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  d.name = "exports benchmark, threshold: one export call per request, a POST per 100 items";
  d.exporter = { strategy: "threshold" };
  d.expect = [{ metric: "loss_ratio", max: 0 }];
  fs.writeFileSync(process.argv[2], JSON.stringify(d));
' "$root/bench/exports/model.json" "$tmp/model.json"
twin=$root/examples/js-exporters/threshold-twin.js

# One run: "wall_s events_per_s times_real_time".
one() {
  rm -rf "$tmp/o"
  local pre=()
  [ "$1" = taskset ] && { pre=(taskset -c 0); shift 3; }
  "${pre[@]}" "$el" run "$@" --out "$tmp/o" 2>&1 |
    awk '/^wall time/ { w = $3; for (i = 2; i <= NF; i++) { if ($i == "events/s;") e = $(i - 1);
                                                            if ($i == "faster") x = $(i - 1) } }
         END { sub(/x$/, "", x); print w, e, x }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for place in free pinned; do
  pin=""; [ "$place" = pinned ] && pin="taskset -c 0"
  ratios=""
  for i in $(seq "$pairs"); do
    read -r wb eb _ <<<"$(one $pin "$tmp/model.json")"
    read -r wj ej _ <<<"$(one $pin "$tmp/model.json" --exporter-js "$twin")"
    r=$(awk -v a="$eb" -v b="$ej" 'BEGIN { printf "%.3f", b / a }')
    printf "%-6s pair %d  built-in threshold %7s ev/s (%s s)  JavaScript twin %7s ev/s (%s s)  js/built-in %s\n" \
      "$place" "$i" "$eb" "$wb" "$ej" "$wj" "$r"
    ratios+="$r"$'\n'
  done
  printf "%-6s median js/built-in exports/s %s (target >= 0.30)\n" "$place" "$(grep . <<<"$ratios" | median)"
done

for v in baseline "fix: waitUntil(tracer.flush())"; do
  xs=""
  for i in 1 2 3; do
    read -r w _ x <<<"$(one "$root/scenarios/js-otel-batch.json" --variant "$v")"
    xs+="$x"$'\n'
  done
  printf "example 1 (%s) on 14 h of low volume: median %sx faster than real time (target >= 10000)\n" \
    "$v" "$(grep . <<<"$xs" | median)"
done
