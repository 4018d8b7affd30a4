#!/usr/bin/env bash
# The run directory's footprint (BENCHMARKS.md, "Run directory footprint"): one scenario
# (bench/footprint/ten_million.json: 10M requests, one span each, a batching exporter) run
# with --ledger full and with --ledger compact; prints the bytes of ledger.db + ingest.db
# per item in each mode, compact / full, the report's size, and whether both runs wrote
# the same summary.json. Needs about 5 GB free in TMPDIR and some 15 minutes.
#   bench/footprint.sh [BUILD_DIR]          REQUESTS=N for a smaller run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
edgeloss=$build/sim/edgeloss
[ -x "$edgeloss" ] || { echo "no $edgeloss: run bash scripts/setup first" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgeloss-footprint.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
scn=$tmp/scenario.json
python3 - "$root/bench/footprint/ten_million.json" "$scn" "${REQUESTS:-10000000}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["workload"]["requests"] = int(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
declare -A bytes
for mode in full compact; do
  out=$tmp/$mode
  start=$(date +%s)
  "$edgeloss" run "$scn" --quiet --brief --out "$out" --ledger $mode --report "$tmp/$mode.html" >/dev/null
  dir=$out/baseline/seed-1
  b=$(cat "$dir"/ledger.db "$dir"/ingest.db* | wc -c)
  items=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['items'])" "$dir/summary.json")
  bytes[$mode]=$b
  printf '%-8s %12d bytes  %8.1f B/item  (%d items, %d s, report %d bytes)\n' $mode "$b" \
    "$(awk -v b="$b" -v n="$items" 'BEGIN { print b / n }')" "$items" $(( $(date +%s) - start )) "$(wc -c < "$tmp/$mode.html")"
  cp "$dir/summary.json" "$tmp/summary-$mode.json"
  rm -f "$dir"/*.db*
done
printf 'compact / full = %.4f\n' "$(awk -v c="${bytes[compact]}" -v f="${bytes[full]}" 'BEGIN { print c / f }')"
cmp -s "$tmp/summary-full.json" "$tmp/summary-compact.json" && echo "summary.json identical in both modes" \
  || { echo "summary.json differs between modes" >&2; exit 1; }
