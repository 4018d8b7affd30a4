#!/usr/bin/env bash
# Exports benchmark and time compression of the first seed's workload.
#
#  1. exports/s end to end: edgeloss on bench/exports/model.json (one 8-span
#     POST per request through the simulated network, real HTTP to the
#     embedded mock-ingest, the ledger and the fate join included) against
#     bench/exports/bare_post.c, a bare loop posting the same kind of 8-span
#     body through the same transport (libcurl and the embedded ingest on one
#     thread), in alternating rounds; medians.
#  2. time compression of seed-000-low-volume.json's 14-hour workload, as a
#     whole process (start-up included): without an exporter (the engine
#     alone) and with real HTTP (the threshold baseline and fix A).
#
#   bench/exports.sh [BUILD_DIR]      env: ROUNDS=3 POSTS=20000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-3}
posts=${POSTS:-20000}
edgeloss=$build/sim/edgeloss
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }

python3 - "$here/exports/model.json" "$posts" "$tmp/model.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); n = int(sys.argv[2])
m["workload"]["requests"] = n
m["expect"] = [{"metric": "posts", "min": n, "max": n}, {"metric": "loss_ratio", "max": 0}]
json.dump(m, open(sys.argv[3], "w"))
PY

echo "exports benchmark: $posts POSTs of 8 spans each, $rounds rounds"
: > "$tmp/sim"; : > "$tmp/bare"
for r in $(seq "$rounds"); do
  for who in sim bare; do
    [ $((r % 2)) -eq 0 ] && who=$([ "$who" = sim ] && echo bare || echo sim)
    if [ "$who" = sim ]; then
      t0=$(now)
      "$edgeloss" run "$tmp/model.json" --out "$tmp/run" >/dev/null 2>&1 || { echo "edgeloss failed" >&2; exit 1; }
      t1=$(now)
      rate=$(awk -v n="$posts" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
      echo "$rate" >> "$tmp/sim"
      printf "round %d  edgeloss   %7s exports/s  (whole process, ledger and fates included)\n" "$r" "$rate"
    else
      t0=$(now)
      "$build/bench/bare-post" "$posts" > "$tmp/bare.out"
      t1=$(now)
      rate=$(awk -v n="$posts" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
      echo "$rate" >> "$tmp/bare"
      printf "round %d  bare loop  %7s exports/s  (whole process)\n" "$r" "$rate"
    fi
  done
done
sim=$(median < "$tmp/sim"); bare=$(median < "$tmp/bare")
head -1 "$tmp/bare.out"
awk -v s="$sim" -v b="$bare" 'BEGIN { printf "median: edgeloss %d, bare %d exports/s: edgeloss = %.0f%% of the bare loop (target >= 60%%)\n", s, b, 100 * s / b }'

echo
echo "time compression: seed-000-low-volume.json (14 h of virtual time), whole process, median of $rounds"
python3 - "$root/scenarios/seed-000-low-volume.json" "$tmp/noexp.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for k in ("exporter", "expect", "variants"): m.pop(k, None)
json.dump(m, open(sys.argv[2], "w"))
PY
compress() { # label args...
  local label=$1; shift
  : > "$tmp/c"
  local virt=
  for r in $(seq "$rounds"); do
    t0=$(now); out=$("$edgeloss" run "$@" --out "$tmp/c-run" 2>/dev/null); t1=$(now)
    virt=$(sed -n 's/^virtual duration: \([0-9]*\)h\([0-9]*\)m\([0-9.]*\)s$/\1 \2 \3/p' <<<"$out" | head -1 |
           awk '{ printf "%.3f", $1 * 3600 + $2 * 60 + $3 }')
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >> "$tmp/c"
  done
  local wall; wall=$(median < "$tmp/c")
  awk -v l="$label" -v v="$virt" -v w="$wall" 'BEGIN { printf "  %-28s %9.0f s virtual in %.3f s: %.0fx real time\n", l, v, w, v / w }'
}
compress "no exporter (engine only)" "$tmp/noexp.json"
compress "threshold, real HTTP" "$root/scenarios/seed-000-low-volume.json" --variant threshold
compress "fix A, real HTTP" "$root/scenarios/seed-000-low-volume.json" --variant "fix A: immediate"
echo "target (engine, start-up included): >= 100000x"
