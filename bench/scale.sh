#!/usr/bin/env bash
# Scale benchmark: is resident memory bounded by what is live (isolates,
# requests in flight, pending events) rather than by the length of the run?
#
# bench/scale/model.json (runtime model only: no exporter, so no HTTP and no
# item ledger; Poisson arrivals at 1,500/s, ~40 live isolates churning by idle
# timeout, max_lifetime_s and a deploy every 300 s of virtual time; a handler
# with a span, an await, cpu, a metric, a log, a global append/take, a
# waitUntil and a setTimeout) is run at three lengths, each as its own
# process, one after another:
#
#   floor   SCALE_FLOOR requests  (default 1,000)      the process's fixed cost
#   small   SCALE_SMALL requests  (default 1,000,000)
#   large   SCALE_LARGE requests  (default 10,000,000)
#
# Each run's peak RSS is the process's own ru_maxrss (KiB, from wait4 in
# bench/scale/maxrss.c, compiled with $CC into the temp dir), its wall time is
# the whole process's (start-up, the run and the summary), and its events/s is
# the event count edgeloss prints over that wall time.
# Target: RSS(large) / RSS(small) < 1.5.  ~15 s with the defaults on a 2-core VM.
#
#   bench/scale.sh [BUILD_DIR]
#   env: SCALE_FLOOR=1000 SCALE_SMALL=1000000 SCALE_LARGE=10000000
#        SCALE_SMALL=100000 SCALE_LARGE=1000000 bench/scale.sh   # quick run, ~2 s
#        (keep SCALE_SMALL >= 100000, 67 s of virtual time: the pending events -
#        mostly stale waitUntil deadlines, 30 s each - level off after 30 s)
#        KEEP=DIR   copy the generated scenarios and edgeloss's output to DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
floor=${SCALE_FLOOR:-1000}
small=${SCALE_SMALL:-1000000}
large=${SCALE_LARGE:-10000000}
edgeloss=$build/sim/edgeloss
[ -x "$edgeloss" ] || { echo "no $edgeloss: run bash scripts/setup first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One scenario per length: the same model, workload.requests set, and a deploy
# every 300 s of the expected virtual duration (so churn per virtual hour is the
# same at every length).
gen() { # requests out.json
  python3 - "$here/scale/model.json" "$1" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); n = int(sys.argv[2])
m["workload"]["requests"] = n
span_s = n / m["workload"]["rate_per_s"]
m["runtime"]["deploys_s"] = [300 * k for k in range(1, int(span_s // 300) + 1)]
json.dump(m, open(sys.argv[3], "w"))
PY
}

# Peak RSS comes from bench/scale/maxrss.c, a tiny fork/exec/wait4 launcher:
# a child of python3 (or of bash) would report at least its parent's resident
# set, because Linux folds the forking process's memory into the child's
# ru_maxrss at exec (python3 -> /bin/true reports ~14 MB).
${CC:-cc} -O2 -std=c11 -o "$tmp/maxrss" "$here/scale/maxrss.c"

# Runs edgeloss on one scenario; prints "rss_kib wall_s events isolates".
measure() { # scenario.json outdir
  "$tmp/maxrss" "$2.rss" "$edgeloss" run "$1" --out "$2" > "$2.log" 2>&1 || true
  read -r kib wall code < "$2.rss"
  if [ "$code" -ne 0 ]; then  # no checks in the model: anything but 0 is a failure
    echo "edgeloss exited $code on $1:" >&2; tail -20 "$2.log" >&2; exit 1
  fi
  local events isos
  events=$(sed -n 's/^events: \([0-9]*\)$/\1/p' "$2.log" | head -1)
  isos=$(sed -n 's/^isolates: \([0-9]*\) created.*/\1/p' "$2.log" | head -1)
  echo "$kib $wall ${events:-0} ${isos:-0}"
}

echo "scale benchmark: $edgeloss"
echo "model: bench/scale/model.json (no exporter), requests: floor $floor, small $small, large $large"
printf "%-6s %12s %10s %9s %13s %11s %10s\n" run requests isolates wall_s events events/s peak_RSS
declare -A rss
for run in floor small large; do
  case $run in floor) n=$floor ;; small) n=$small ;; large) n=$large ;; esac
  gen "$n" "$tmp/$run.json"
  measure "$tmp/$run.json" "$tmp/$run" > "$tmp/$run.m"
  read -r kib wall events isos < "$tmp/$run.m"
  rss[$run]=$kib
  awk -v r="$run" -v n="$n" -v i="$isos" -v w="$wall" -v e="$events" -v k="$kib" 'BEGIN {
    printf "%-6s %12d %10d %9.2f %13d %10.2fM %7.1f MB\n", r, n, i, w, e, e / w / 1e6, k / 1024 }'
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    cp "$tmp/$run.json" "$KEEP/$run.json"
    cp "$tmp/$run.log" "$KEEP/$run.log"
  fi
  rm -rf "${tmp:?}/$run"
done
awk -v f="${rss[floor]}" -v s="${rss[small]}" -v l="${rss[large]}" -v nf="$floor" -v ns="$small" -v nl="$large" 'BEGIN {
  ratio = l / s
  printf "peak RSS: large/small = %.2fx for %.0fx the requests; floor (%d requests) %.1f MB\n", ratio, nl / ns, nf, f / 1024
  printf "above the floor: small %+.2f MB, large %+.2f MB; %+.3f bytes per added request\n",
         (s - f) / 1024, (l - f) / 1024, (l - s) * 1024 / (nl - ns)
  printf "target: < 1.5x: %s\n", ratio < 1.5 ? "PASS" : "MISS"
}'
