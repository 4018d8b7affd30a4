#!/usr/bin/env bash
# A/B of two edgeloss builds on one model: runs them back to back, alternating,
# N times, and prints each pair's ratio of events/s (B / A) and the median.
# Pairs run back to back are less exposed to a noisy machine's slow spells than
# two medians taken apart.
#
#   bench/engine/ab.sh OLD_EDGELOSS NEW_EDGELOSS [MODEL] [N]
#   (MODEL: bench/engine/model.json; N: 11)
#
# To compare with an older commit:
#   git worktree add /tmp/old COMMIT && cmake -S /tmp/old -B /tmp/old/build &&
#   cmake --build /tmp/old/build --target edgeloss &&
#   bench/engine/ab.sh /tmp/old/build/sim/edgeloss build/sim/edgeloss
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
a=$1 b=$2 model=${3:-$here/model.json} n=${4:-11}
for x in "$a" "$b"; do [ -x "$x" ] || { echo "not executable: $x" >&2; exit 2; }; done
eps() { "$1" run "$model" 2>&1 >/dev/null | sed -nE 's/.*; ([0-9]+) events\/s;.*/\1/p'; }
ratios=""
for i in $(seq "$n"); do
  x=$(eps "$a"); y=$(eps "$b")
  r=$(awk -v x="$x" -v y="$y" 'BEGIN { printf "%.3f", y / x }')
  printf "pair %2d  A %10s  B %10s events/s  B/A %s\n" "$i" "$x" "$y" "$r"
  ratios+=" $r"
done
tr ' ' '\n' <<<"$ratios" | grep . | sort -g |
  awk '{ v[NR] = $1 } END { printf "median B/A over %d pairs: %s\n", NR, v[int((NR + 1) / 2)] }'
