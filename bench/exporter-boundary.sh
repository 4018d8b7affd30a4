#!/usr/bin/env bash
# The exporter process boundary (issue 25, docs/exporter-protocol.md), all in one run:
#  1. exports/s of bench/exports/model.json with the example plugin (examples/exporter-plugin,
#     threshold re-implemented) out of process against in process, PAIRS alternated pairs;
#  2. the mean round trip of one call across the boundary (the runs' own count, printed with
#     EDGELOSS_EXPORTER_STATS) against one embedded POST's round trip (bare-post: libcurl and
#     the embedded mock-ingest with its commit), measured between the pairs;
#  3. the same with every process pinned on CPU 0 (taskset), where no wake-up crosses cores.
#
#   bench/exporter-boundary.sh [BUILD] [PAIRS]     (BUILD: build-bench; PAIRS: 5)
# BUILD needs the targets edgeloss, edgeloss-exporter-host and bare-post.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench} pairs=${2:-5}
el=$build/sim/edgeloss bare=$build/bench/bare-post
for x in "$el" "$build/sim/edgeloss-exporter-host" "$bare"; do
  [ -x "$x" ] || { echo "not built: $x" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
"$cc" -O2 -shared -fPIC -fvisibility=hidden -I"$root/include" \
  "$root/examples/exporter-plugin/threshold_twin.c" -o "$tmp/libtwin.so"
model=$root/bench/exports/model.json

# One run: "wall_s events_per_s [us_per_call]".
one() {
  local pin=$1; shift
  EDGELOSS_EXPORTER_STATS=1 $pin "$el" run "$model" --exporter-plugin "$tmp/libtwin.so" "$@" \
    --out "$tmp/o" 2>&1 >/dev/null |
    awk '/^wall time/ { w = $3; for (i = 2; i <= NF; i++) if ($i == "events/s;") e = $(i - 1) }
         /^exporter host:/ { c = $5 } END { print w, e, c }'
}
post_us() { $1 "$bare" 4000 | awk '/^wall:/ { printf "%.1f", $2 / 4000 * 1e6 }'; }

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for place in free pinned; do
  pin=""; [ "$place" = pinned ] && pin="taskset -c 0"
  ratios="" shares=""
  for i in $(seq "$pairs"); do
    read -r wi ei _ <<<"$(one "$pin" --exporter-in-process)"
    read -r wo eo call <<<"$(one "$pin")"
    post=$(post_us "$pin")
    r=$(awk -v a="$ei" -v b="$eo" 'BEGIN { printf "%.3f", b / a }')
    sh=$(awk -v c="$call" -v p="$post" 'BEGIN { printf "%.3f", c / p }')
    printf "%-6s pair %d  in %6s ev/s  out %6s ev/s  out/in %s  call %6s us  POST %6s us  call/POST %s\n" \
      "$place" "$i" "$ei" "$eo" "$r" "$call" "$post" "$sh"
    ratios+="$r"$'\n' shares+="$sh"$'\n'
  done
  printf "%-6s median out/in exports/s %s (target >= 0.7); median call/POST %s (target <= 0.25)\n" \
    "$place" "$(grep . <<<"$ratios" | median)" "$(grep . <<<"$shares" | median)"
done
