#!/usr/bin/env bash
# Engine benchmark: edgeloss's events/s on the standard isolate/request model
# (bench/engine/model.json) against, in the same run,
#   - the same model in SimPy 2 (bench/engine/model_simpy.py, Debian's
#     python3-simpy 2.3.1 under /usr/bin/python3), which must pop exactly the
#     same events, and
#   - a bare binary-heap event loop (bench/engine/bare_heap.c, target
#     bare-heap) run for the same number of pops at edgeloss's mean queue depth.
# An event is one queue pop. Rounds alternate the order of the subjects; each
# figure is the median over the rounds. Also: edgeloss's time compression as a
# whole process (start-up included), and a diff of the two models' event logs
# on a short run.
#
#   bench/engine/engine.sh [BUILD_DIR]
#   env: ROUNDS=3           rounds of edgeloss and the bare loop (and of SimPy, see below)
#        SIMPY_ROUNDS=3     SimPy runs at most this many rounds (default ROUNDS) and stops
#                           starting new ones once SIMPY_BUDGET_S=60 s of SimPy wall time is spent
#        SIMPY_DURATION_S=  shrink the model's workload.duration_s for all three subjects
#                           (a temporary copy of model.json); unset: the model as is
#        VERIFY_S=10        diff the event logs of edgeloss and SimPy over this many
#                           virtual seconds first (0: skip)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-3}
simpy_rounds=${SIMPY_ROUNDS:-$rounds}
simpy_budget=${SIMPY_BUDGET_S:-60}
verify_s=${VERIFY_S:-10}
python=/usr/bin/python3   # Debian's: the one with python3-simpy (SimPy 2)
edgeloss=$build/sim/edgeloss
bare=$build/bench/bare-heap
model=$here/model.json

for b in "$edgeloss" "$bare"; do
  [ -x "$b" ] || { echo "missing $b: cmake --build $build" >&2; exit 2; }
done
"$python" -c 'from SimPy.Simulation import Process' 2>/dev/null ||
  { echo "$python has no SimPy 2: apt-get install python3-simpy" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A copy of the model with another duration (same everything else).
with_duration() { # seconds out
  "$python" - "$model" "$1" "$2" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["workload"]["duration_s"] = float(sys.argv[2])
json.dump(m, open(sys.argv[3], "w"), indent=1)
EOF
}

bench_model=$model
if [ -n "${SIMPY_DURATION_S:-}" ]; then
  bench_model=$tmp/model.json
  with_duration "$SIMPY_DURATION_S" "$bench_model"
fi

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -nE "s#$1#\\1#p" | head -1; }   # regex with one group -> its match
fmt() { printf "%'.0f" "$1"; }

echo "engine benchmark: the isolate/request model, ${rounds} rounds; machine: $(nproc) cores, $(uname -r)"
echo "model: $model$([ "$bench_model" != "$model" ] && echo " with duration_s = $SIMPY_DURATION_S (SIMPY_DURATION_S)")"

# --- 0. Same events? Diff the event logs on a short run. ---------------------------------
if [ "$verify_s" != 0 ]; then
  with_duration "$verify_s" "$tmp/verify.json"
  "$edgeloss" run "$tmp/verify.json" --events "$tmp/el.log" >"$tmp/el.out" 2>/dev/null
  "$python" "$here/model_simpy.py" "$tmp/verify.json" --events "$tmp/sp.log" >/dev/null
  # edgeloss: time_ns seq type a b; SimPy: time_ns type id (its seqs are SimPy's own).
  if awk '{ print $1, $3, $5 }' "$tmp/el.log" | sed 's/^seed  $/seed/' >"$tmp/el.cmp" &&
     sed 's/^seed .*/seed/' "$tmp/sp.log" | cmp -s "$tmp/el.cmp" -; then
    echo "event logs over ${verify_s} s virtual: identical ($(($(wc -l <"$tmp/sp.log") - 1)) events: time, type, id)"
  else
    echo "MISMATCH: event logs over ${verify_s} s virtual differ (first difference below)"
    diff <(sed 's/^seed .*/seed/' "$tmp/el.cmp") <(sed 's/^seed .*/seed/' "$tmp/sp.log") | head -6 || true
    exit 1
  fi
fi

# --- 1. Rounds ------------------------------------------------------------------------------
el_runs="" bare_runs="" simpy_runs="" simpy_spent=0 events="" depth=""
run_edgeloss() {
  "$edgeloss" run "$bench_model" >"$tmp/el.out" 2>"$tmp/el.err"
  local ev eps
  ev=$(field '^events: ([0-9]+)$' <"$tmp/el.out")
  eps=$(field '.*; ([0-9]+) events/s;.*' <"$tmp/el.err")
  depth=$(field '.*mean queue depth ([0-9.]+).*' <"$tmp/el.err")
  if [ -n "$events" ] && [ "$ev" != "$events" ]; then
    echo "MISMATCH: edgeloss popped $ev events, earlier $events" >&2; exit 1
  fi
  events=$ev
  el_runs+=" $eps"
  printf "round %d  %-9s events %s  %12s events/s  (mean queue depth %s)\n" "$r" edgeloss "$ev" "$(fmt "$eps")" "$depth"
}
run_bare() {
  local d ev eps
  d=$(awk -v x="$depth" 'BEGIN { printf "%d", x + 0.5 }')
  [ "$d" -ge 1 ] || d=1
  "$bare" "$events" "$d" >"$tmp/bare.out"
  ev=$(field '^events: ([0-9]+)$' <"$tmp/bare.out")
  eps=$(field '.*; ([0-9]+) events/s$' <"$tmp/bare.out")
  [ "$ev" = "$events" ] || { echo "MISMATCH: bare heap popped $ev events, edgeloss $events" >&2; exit 1; }
  bare_runs+=" $eps"
  printf "round %d  %-9s events %s  %12s events/s  (depth %d)\n" "$r" bare-heap "$ev" "$(fmt "$eps")" "$d"
}
# Each round runs edgeloss and the bare loop back to back: their ratio within a round is
# less exposed to the machine's slow and fast spells than the ratio of the two medians.
pair_ratios=""
pair_round() {
  local e b
  e=$(awk '{ print $NF }' <<<"$el_runs"); b=$(awk '{ print $NF }' <<<"$bare_runs")
  pair_ratios+=" $(awk -v e="$e" -v b="$b" 'BEGIN { printf "%.1f", 100 * e / b }')"
}
run_simpy() {
  local n
  n=$(wc -w <<<"$simpy_runs")
  if [ "$n" -ge "$simpy_rounds" ] || awk -v s="$simpy_spent" -v b="$simpy_budget" 'BEGIN { exit !(s >= b) }'; then
    return
  fi
  "$python" "$here/model_simpy.py" "$bench_model" >"$tmp/simpy.out"
  local ev eps wall
  ev=$(field '^events: ([0-9]+)$' <"$tmp/simpy.out")
  eps=$(field '.*; ([0-9]+) events/s$' <"$tmp/simpy.out")
  wall=$(field '^wall time ([0-9.]+) s.*' <"$tmp/simpy.out")
  simpy_spent=$(awk -v s="$simpy_spent" -v w="$wall" 'BEGIN { print s + w }')
  simpy_runs+=" $eps"
  printf "round %d  %-9s events %s  %12s events/s  (%.1f s)\n" "$r" SimPy "$ev" "$(fmt "$eps")" "$wall"
  if [ "$ev" != "$events" ]; then
    echo "MISMATCH: SimPy popped $ev events, edgeloss $events"
    exit 1
  fi
  local a b
  a=$(grep '^isolates:' "$tmp/el.out" | sed -E 's/^isolates: ([0-9]+) created, ([0-9]+) alive at end; evicted: idle ([0-9]+).*/\1 \2 \3/')
  b=$(grep '^isolates:' "$tmp/simpy.out" | sed -E 's/^isolates: ([0-9]+) created, ([0-9]+) alive at end; evicted: idle ([0-9]+).*/\1 \2 \3/')
  if [ "$a" != "$b" ]; then
    echo "MISMATCH: isolates created/alive/evicted: edgeloss $a, SimPy $b"
    exit 1
  fi
}

# edgeloss first in round 1 (the others need its event count and queue depth).
for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then order="edgeloss bare simpy"; else order="simpy bare edgeloss"; fi
  [ -z "$events" ] && order="edgeloss bare simpy"
  for s in $order; do "run_$s"; done
  pair_round
done

# --- 2. Configurations and counts -------------------------------------------------------------
echo
echo "edgeloss  config: $(field '^scenario (.*)$' <"$tmp/el.out"); seed $(field '^seed ([0-9]+)$' <"$tmp/el.out")"
echo "          $(grep -E '^(requests|isolates):' "$tmp/el.out" | paste -sd';' | sed 's/;/; /')"
echo "          events: $events; virtual duration $(field '^virtual duration: (.*)$' <"$tmp/el.out")"
echo "SimPy     $(grep '^config:' "$tmp/simpy.out")"
echo "          $(grep -E '^(requests|isolates):' "$tmp/simpy.out" | paste -sd';' | sed 's/;/; /')"
echo "          events: $(field '^events: ([0-9]+)$' <"$tmp/simpy.out"); virtual duration $(field '^virtual duration: (.*)$' <"$tmp/simpy.out")"
echo "bare-heap $(grep '^config:' "$tmp/bare.out")"
echo "          events: $(field '^events: ([0-9]+)$' <"$tmp/bare.out")"
echo "event counts: edgeloss $events = SimPy $(field '^events: ([0-9]+)$' <"$tmp/simpy.out") (isolates match too) = bare heap $(field '^events: ([0-9]+)$' <"$tmp/bare.out")"

# --- 3. Time compression: the whole process, start-up included, on the full model. ------------
tc_runs=""
for r in $(seq "$rounds"); do
  t0=$(date +%s%N)
  "$edgeloss" run "$model" >"$tmp/tc.out" 2>/dev/null
  t1=$(date +%s%N)
  tc_runs+=" $((t1 - t0))"
done
tc_ns=$(median <<<"$tc_runs")
vdur=$(field '^virtual duration: (.*)$' <"$tmp/tc.out")
vsec=$(sed -E 's/^([0-9]+)h([0-9]+)m([0-9.]+)s$/\1 \2 \3/' <<<"$vdur" | awk '{ printf "%.9f", $1 * 3600 + $2 * 60 + $3 }')

# --- 4. Table and ratios -----------------------------------------------------------------------
el=$(median <<<"$el_runs"); bh=$(median <<<"$bare_runs"); sp=$(median <<<"$simpy_runs")
echo
printf "%-34s %12s %16s   %s\n" "" events "events/s" "runs"
printf "%-34s %12s %16s   %s\n" "edgeloss" "$events" "$(fmt "$el")" "$(wc -w <<<"$el_runs") (median)"
printf "%-34s %12s %16s   %s\n" "SimPy $("$python" -c 'import SimPy; print(SimPy.__version__)') (python $("$python" -c 'import platform; print(platform.python_version())'))" \
  "$events" "$(fmt "$sp")" "$(wc -w <<<"$simpy_runs") (median)"
printf "%-34s %12s %16s   %s\n" "bare binary heap, depth $(awk -v x="$depth" 'BEGIN { printf "%d", x + 0.5 }')" "$events" "$(fmt "$bh")" "$(wc -w <<<"$bare_runs") (median)"
echo
awk -v e="$el" -v s="$sp" -v b="$bh" 'BEGIN {
  r1 = e / s; r2 = 100 * e / b
  printf "edgeloss / SimPy     = %.1fx  (target >= 5x: %s)\n", r1, (r1 >= 5 ? "met" : "MISSED")
  printf "edgeloss / bare heap = %.0f%%  (target >= 40%%: %s)\n", r2, (r2 >= 40 ? "met" : "MISSED") }'
echo "edgeloss / bare heap, round by round (each pair back to back): median $(median <<<"$pair_ratios")% of$(sed 's/ / /g' <<<"$pair_ratios" | sed -E 's/([0-9.]+)/\1%/g')"
awk -v v="$vsec" -v d="$vdur" -v w="$tc_ns" -v n="$rounds" 'BEGIN {
  printf "time compression: %s virtual in %.3f s wall (whole process, start-up included, median of %d) = %.0fx faster than real time\n",
    d, w / 1e9, n, v / (w / 1e9) }'
