#!/usr/bin/env bash
# Sweep throughput and its scaling: the same seeds swept with --jobs 1 and --jobs 2,
# alternated, runs/s from each sweep's closing line; and the per-run start-up cost
# (the child process, the embedded ingest, ledger.db and ingest.db, summary.json)
# as a share of a short run: a sweep of the same scenario with no requests at all
# (every fixed cost, nothing simulated) against the short run itself.
#
#   bench/sweep.sh [BUILD_DIR]      env: ROUNDS=3 SEEDS=40
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-3}
seeds=${SEEDS:-40}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$root/tests/fixtures/sweep/small.json" "$tmp" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m.pop("variants", None)
json.dump(m, open(sys.argv[2] + "/short.json", "w"))
m["workload"]["duration_s"] = 0.001   # no request arrives: only the fixed costs remain
m["workload"]["drain_s"] = 0
m["faults"] = {"rules": []}
m["expect"] = []
json.dump(m, open(sys.argv[2] + "/empty.json", "w"))
PY
rate() { # SCENARIO JOBS -> runs/s
  "$build/sim/edgeloss" sweep "$1" --seeds "1..$seeds" --jobs "$2" --keep none \
    -o "$tmp/runs" 2>&1 >/dev/null | sed -nE 's/.* ([0-9.]+) runs\/s with.*/\1/p' || true
}
echo "sweep: $seeds seeds of $(basename "$root/tests/fixtures/sweep/small.json") (one variant), $rounds alternated rounds, $(nproc) cores"
ratios="" shares=""
for i in $(seq "$rounds"); do
  if [ $((i % 2)) -eq 1 ]; then a=$(rate "$tmp/short.json" 1); b=$(rate "$tmp/short.json" 2)
  else b=$(rate "$tmp/short.json" 2); a=$(rate "$tmp/short.json" 1); fi
  e=$(rate "$tmp/empty.json" 1)
  r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
  s=$(awk -v a="$a" -v e="$e" 'BEGIN { printf "%.3f", a / e }')
  printf "round %d  jobs 1 %7s runs/s  jobs 2 %7s runs/s  2/1 %s  |  empty run %7s runs/s: start-up %.1f ms = %s of a short run (%.1f ms)\n" \
    "$i" "$a" "$b" "$r" "$e" "$(awk -v e="$e" 'BEGIN { print 1000 / e }')" "$s" "$(awk -v a="$a" 'BEGIN { print 1000 / a }')"
  ratios+=" $r" shares+=" $s"
done
med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "median scaling 1 -> 2 jobs: $(med "$ratios")x; median start-up share of a short run: $(med "$shares")"
