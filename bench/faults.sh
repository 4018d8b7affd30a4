#!/usr/bin/env bash
# What fault rules cost a run: bench/exports/model.json (one 8-span POST per
# request, real HTTP to the embedded mock-ingest) with three fault rules - one
# firing on every POST (latency 0 ms: a decision and a ledger row each), one
# drawing for every POST and never hitting (probability 0), one that matches
# no POST (another path) - against the same model without them, alternating
# runs of one binary; each pair's events/s ratio and the median.
#
#   bench/faults.sh [BUILD_DIR]      env: ROUNDS=5 POSTS=20000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-5}
posts=${POSTS:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$here/exports/model.json" "$posts" "$tmp" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["workload"]["requests"] = int(sys.argv[2])
m.pop("expect", None)
json.dump(m, open(sys.argv[3] + "/none.json", "w"))
m["faults"] = {"rules": [{"kind": "latency", "latency_ms": 0},
                         {"kind": "status", "status": 503, "probability": 0.0},
                         {"kind": "refused", "paths": ["/v1/logs"]}]}
json.dump(m, open(sys.argv[3] + "/rules.json", "w"))
PY
eps() { "$build/sim/edgeloss" run "$1" -o "$tmp/run" 2>&1 >/dev/null | sed -nE 's/.*; ([0-9]+) events\/s;.*/\1/p'; }
echo "fault rules: $posts POSTs, $rounds alternated pairs"
ratios=""
for i in $(seq "$rounds"); do
  if [ $((i % 2)) -eq 1 ]; then x=$(eps "$tmp/none.json"); y=$(eps "$tmp/rules.json")
  else y=$(eps "$tmp/rules.json"); x=$(eps "$tmp/none.json"); fi
  r=$(awk -v x="$x" -v y="$y" 'BEGIN { printf "%.3f", y / x }')
  printf "pair %2d  none %8s  rules %8s events/s  rules/none %s\n" "$i" "$x" "$y" "$r"
  ratios+=" $r"
done
tr ' ' '\n' <<<"$ratios" | grep . | sort -g |
  awk '{ v[NR] = $1 } END { printf "median rules/none over %d pairs: %s\n", NR, v[int((NR + 1) / 2)] }'
