#!/usr/bin/env bash
# Cross-check of model_simpy.py against edgeloss on variants of the benchmark
# model built to collide: latencies, cold starts and idle timeouts on a 5 ms
# grid give or take a few ns (zero included), so many events fall on the same
# nanosecond and the order of simultaneous events, of random draws and of
# requests waiting for a cold start all show in the event logs. Each variant's
# logs (time, type, id) must be identical. The standard model alone is a weak
# check: its events almost never coincide.
#
#   bench/engine/crosscheck.sh [BUILD_DIR]     env: VARIANTS=40
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
variants=${VARIANTS:-40}
python=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
for i in $(seq "$variants"); do
  "$python" - "$i" "$tmp/m.json" <<'EOF'
import json, random, sys
r = random.Random(int(sys.argv[1]))
def d():
    c = r.choice([0, 5, 10, 15, 20]) * 1000000
    w = r.choice([0, 1, 2, 3])
    return {"uniform_ns": [max(0, c - w), c + w]} if r.random() < 0.8 else {"fixed_ns": c}
m = {"seed": r.randrange(100),
     "workload": {"arrivals": "constant", "rate_per_s": r.choice([50, 100, 200, 400]),
                  "duration_s": 20, "drain_s": r.choice([0, 0.005, 0.1])},
     "runtime": {"max_concurrency": r.choice([1, 2, 4]),
                 "cold_start": r.choice([{"fixed_ms": 5}, {"fixed_ms": 0}, {"uniform_ns": [4999999, 5000001]}]),
                 "idle_timeout": d(), "wait_until_budget_s": 30},
     "app": {"handler": [{"await": {"name": "x%d" % i, "latency": d()}}
                         for i in range(r.choice([1, 2, 3, 4]))] + [{"respond": {}}]}}
json.dump(m, open(sys.argv[2], "w"))
EOF
  "$build/sim/edgeloss" run "$tmp/m.json" --events "$tmp/el.log" >"$tmp/el.out" 2>/dev/null
  "$python" "$here/model_simpy.py" "$tmp/m.json" --events "$tmp/sp.log" >/dev/null
  same=$(awk 'NR > 1 { if ($1 == p) c++; p = $1 } END { print c + 0 }' "$tmp/el.log")
  if awk 'NR > 1 { print $1, $3, $5 }' "$tmp/el.log" | cmp -s - <(tail -n +2 "$tmp/sp.log"); then
    printf "variant %2d: identical, %6d events, %5d of them at the same ns as the previous\n" \
      "$i" "$(($(wc -l <"$tmp/sp.log") - 1))" "$same"
  else
    printf "variant %2d: MISMATCH (%s)\n" "$i" "$(tr -d '\n' <"$tmp/m.json")"
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "all $variants variants identical" || { echo "MISMATCH"; exit 1; }
