#!/usr/bin/env bash
# Replay loading memory: does a large workload.replay.file stay within a few
# times its size while it is loaded?
#
# Generates, in a temp dir, a CSV of REPLAY_ROWS (default 4,500,000) increasing
# timestamps, one a line ("0.000123456\n", 12 bytes: 54 MB), and a scenario that
# replays it with workload.requests 1 and no exporter: the run is one request,
# so the process's peak is the load - datafile's table (the text, a df_row per
# row, a pointer per cell) while scenario.c fills its own 8 bytes per arrival.
# With REPLAY_COLUMNS=1 the file has a header and route, colo and key columns.
# Peak RSS is /usr/bin/time's "Maximum resident set size" (Debian package
# `time`); the floor is the same binary on a scenario with no replay.
# Expected: the table is 3x a file of 12-byte lines; with scenario.c's array
# and the process floor the peak is ~3.8x (it was 7.8x with a malloc'd cells
# array per row).
#
#   bench/replay_mem.sh [BUILD_DIR]
#   env: REPLAY_ROWS=4500000 REPLAY_COLUMNS=0 KEEP=DIR (keep the files)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rows=${REPLAY_ROWS:-4500000}
columns=${REPLAY_COLUMNS:-0}
edgeloss=$build/sim/edgeloss
[ -x "$edgeloss" ] || { echo "no $edgeloss: run bash scripts/setup first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "no /usr/bin/time: apt-get install time" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$columns" = 1 ]; then
  awk -v n="$rows" 'BEGIN { print "time,route,colo,key"
    for (i = 0; i < n; i++) printf "%.9f,%s,%s,k%d\n", i * 1e-7, i % 2 ? "b" : "a",
                                   int(i / 2) % 2 ? "lhr" : "fra", i % 1000 }' >"$tmp/replay.csv"
  extra='"runtime": {"routing": "sticky", "colos": [{"name": "fra"}, {"name": "lhr"}]},
 "app": {"routes": [{"name": "a", "handler": [{"respond": {}}]},
                    {"name": "b", "handler": [{"respond": {}}]}]}'
else
  awk -v n="$rows" 'BEGIN { for (i = 0; i < n; i++) printf "%.9f\n", i * 1e-7 }' >"$tmp/replay.csv"
  extra='"app": {"handler": [{"respond": {}}]}'
fi
cat >"$tmp/replay.json" <<JSON
{"workload": {"arrivals": "replay", "requests": 1, "drain_s": 1, "replay": {"file": "replay.csv"}},
 $extra}
JSON
cat >"$tmp/floor.json" <<'JSON'
{"workload": {"arrivals": "constant", "requests": 1, "drain_s": 1}, "app": {"handler": [{"respond": {}}]}}
JSON

peak() { # scenario -> max RSS in KiB
  (cd "$tmp" && /usr/bin/time -v "$edgeloss" run "$1" --brief --out "$tmp/runs" >/dev/null \
     2>"$tmp/time.txt") || { cat "$tmp/time.txt" >&2; exit 1; }
  awk '/Maximum resident set size/ { print $NF }' "$tmp/time.txt"
}
bytes=$(stat -c %s "$tmp/replay.csv")
floor=$(peak floor.json)
load=$(peak replay.json)
awk -v b="$bytes" -v f="$floor" -v l="$load" -v r="$rows" 'BEGIN {
  printf "file       %d rows, %.1f MB\n", r, b / 1e6
  printf "floor      %d KiB peak RSS (no replay)\n", f
  printf "replay     %d KiB peak RSS: %.2fx the file (%.2fx above the floor)\n",
         l, l * 1024 / b, (l - f) * 1024 / b }'
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$tmp"/*.json "$tmp/replay.csv" "$KEEP"/; fi
