#!/usr/bin/env bash
# The interleaving explorer's speed (BENCHMARKS.md, "Explorer"): schedules explored per second
# on the second seed's two- and three-request cases (scenarios/seed-001-explore.json, fix 1,
# whose every schedule is clean, so the search never stops early), against the baseline of
# one `edgeloss run --schedule S` process per schedule (what a script driving the CLI would
# do), measured in the same run, rounds alternated.
#   bench/explore.sh [BUILD_DIR]       ROUNDS=3 RUNS=3000 BASELINE=30
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
edgeloss=$build/sim/edgeloss
[ -x "$edgeloss" ] || { echo "no $edgeloss: run bash scripts/setup first" >&2; exit 2; }
scn=$root/scenarios/seed-001-explore.json
rounds=${ROUNDS:-3} runs=${RUNS:-3000} base=${BASELINE:-30}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgeloss-explore.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
for v in "fix 1, 2 requests" "fix 1, 3 requests"; do
  ex=() bl=()
  for r in $(seq "$rounds"); do
    # The explorer: random schedules, verdicts in memory (its own schedules/s line).
    line=$("$edgeloss" explore "$scn" --variant "$v" --strategy random --runs "$runs" \
             --explore-seed "$r" --out "$tmp/x" | grep '^strategy')
    ex+=("$(sed -E 's/.* schedules in ([0-9.]+) s.*/\1/' <<<"$line") $(sed -E 's/^strategy [a-z]+: ([0-9]+) schedules.*/\1/' <<<"$line")")
    # The baseline: one process per schedule, real HTTP and SQLite, as a script would.
    t0=$(now)
    for i in $(seq "$base"); do
      "$edgeloss" run "$scn" --variant "$v" --quiet --schedule "$((i % 3)):1" \
        --out "$tmp/b" >/dev/null || true
    done
    t1=$(now)
    bl+=("$(echo "$t1 - $t0" | bc -l) $base")
  done
  python3 - "$v" "${ex[@]}" -- "${bl[@]}" <<'PY'
import sys, statistics
v = sys.argv[1]; rest = sys.argv[2:]; k = rest.index("--")
ex = [tuple(map(float, x.split())) for x in rest[:k]]
bl = [tuple(map(float, x.split())) for x in rest[k + 1:]]
er = [n / t for t, n in ex]; br = [n / t for t, n in bl]
ratios = [e / b for e, b in zip(er, br)]
print(f"{v}: explorer {statistics.median(er):,.0f} schedules/s, one process per schedule "
      f"{statistics.median(br):,.1f}/s: {statistics.median(ratios):,.0f}x "
      f"(rounds: {', '.join(f'{r:,.0f}x' for r in ratios)}; target >= 20x)")
PY
done
