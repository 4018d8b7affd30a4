#!/usr/bin/env bash
# Ingest benchmark: bare libmicrohttpd (ceiling), naive ingest, mock-ingest,
# measured in one run with the same libmicrohttpd threading and the same wrk
# settings (-t1 -c8), posting the 8-span body an OpenTelemetry SDK sent
# (tests/fixtures/otlp/traces_basic.body). Prints requests/s, ratios, whether
# every acknowledged item was committed, and mock-ingest's resident memory
# after 1M and 2M items.
#
#   bench/ingest.sh [BUILD_DIR]     env: DURATION=10 ROUNDS=3 MEMORY=1
#   WAF=1 bench/ingest.sh           mock-ingest without and with a WAF of 5 rules (one a rate
#                                   limit counting every request), alternated pairs, the median
#                                   ratio of requests/s (target >= 0.95x)
#   PROTO=1 bench/ingest.sh         the same 8 spans as OTLP/protobuf (bench/ingest/traces_basic.pb,
#                                   made by json2pb.py) against JSON, alternated pairs, the
#                                   median ratio of requests/s (target >= 0.95x)
#   VS=BINARY bench/ingest.sh       another mock-ingest binary (e.g. built from an older commit)
#                                   against this build's, alternated pairs, the median ratio of
#                                   requests/s (this build / BINARY)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
memory=${MEMORY:-1}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
export BODY="$root/tests/fixtures/otlp/traces_basic.body"
items_per_post=8
tmp=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

start() { # name -> sets url, server_pid, db
  local name=$1
  db="$tmp/$name.db"
  rm -f "$db" "$db-wal" "$db-shm" "$tmp/url"   # else the loop below may read the last server's URL
  case $name in
    bare)  "$build/bench/bare-ingest" >"$tmp/url" 2>/dev/null & ;;
    naive) "$build/bench/naive-ingest" "$db" >"$tmp/url" 2>/dev/null & ;;
    mock)  "$build/mock-ingest/mock-ingest" --listen 127.0.0.1:0 --db "$db" >"$tmp/url" 2>/dev/null & ;;
    vs)    "$VS" --listen 127.0.0.1:0 --db "$db" >"$tmp/url" 2>/dev/null & ;;
    mockwaf) "$build/mock-ingest/mock-ingest" --listen 127.0.0.1:0 --db "$db" --config "$here/ingest/waf5.json" \
             >"$tmp/url" 2>/dev/null & ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
  url=$(head -1 "$tmp/url")
}

stop() {
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
}

sql() { sqlite3 -cmd ".timeout 5000" "$db" "$1"; }   # read while the server writes: wait, never fail

measure() { # name -> rps (after a warm-up)
  local script=$here/ingest/post.lua
  start "$1"
  wrk -t1 -c8 -d1s -s "$script" "$url" >/dev/null
  local out; out=$(wrk -t1 -c8 -d"${duration}s" -s "$script" "$url" | grep '^RESULT')
  stop
  if ! grep -q 'non2xx=0 ' <<<"$out"; then echo "$1: answers other than 2xx: $out" >&2; exit 1; fi
  awk -v n="$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$out")" \
      -v d="$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$out")" 'BEGIN { printf "%.0f", n / (d / 1e6) }'
}

if [ "${PROTO:-0}" = 1 ]; then
  export BODY_PB="$here/ingest/traces_basic.pb"   # post.lua posts it; empty: the JSON body
  echo "protobuf against JSON, the same 8 spans ($(wc -c <"$BODY_PB") vs $(wc -c <"$BODY") bytes): wrk -t1 -c8 -d${duration}s, ${rounds} alternated pairs"
  ratios=()
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then a=$(BODY_PB= measure mock); b=$(measure mock)
    else b=$(measure mock); a=$(BODY_PB= measure mock); fi
    ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')")
    printf "pair %d  JSON %8s req/s  protobuf %8s req/s  ratio %s\n" "$r" "$a" "$b" "${ratios[-1]}"
  done
  printf "%s\n" "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "median protobuf / JSON = %.3fx (target >= 0.95x)\n", m }'
  exit 0
fi

if [ -n "${VS:-}" ]; then
  echo "this build against $VS: wrk -t1 -c8 -d${duration}s, ${rounds} alternated pairs"
  ratios=()
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then a=$(measure vs); b=$(measure mock); else b=$(measure mock); a=$(measure vs); fi
    ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')")
    printf "pair %d  baseline %8s req/s  this build %8s req/s  ratio %s\n" "$r" "$a" "$b" "${ratios[-1]}"
  done
  printf "%s\n" "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "median this build / baseline = %.3fx\n", m }'
  exit 0
fi

if [ "${WAF:-0}" = 1 ]; then
  echo "WAF overhead: wrk -t1 -c8 -d${duration}s, ${rounds} alternated pairs; rules: bench/ingest/waf5.json"
  ratios=()
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then a=$(measure mock); b=$(measure mockwaf); else b=$(measure mockwaf); a=$(measure mock); fi
    blocked=$(sqlite3 -cmd ".timeout 5000" "$tmp/mockwaf.db" "SELECT COUNT(*) FROM requests WHERE reason = 'waf'")
    ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')")
    printf "pair %d  no WAF %8s req/s  WAF %8s req/s  ratio %s  (blocked %s)\n" "$r" "$a" "$b" "${ratios[-1]}" "$blocked"
  done
  printf "%s\n" "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "median WAF / no WAF = %.3fx (target >= 0.95x)\n", m }'
  exit 0
fi

echo "ingest benchmark: wrk -t1 -c8 -d${duration}s x ${rounds} rounds, body $(wc -c <"$BODY") bytes, ${items_per_post} spans"
echo "machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) (other busy processes skew the results)"
declare -A sum
for r in $(seq "$rounds"); do
  order="bare naive mock"; [ $((r % 2)) -eq 0 ] && order="mock naive bare"
  for name in $order; do
    start "$name"
    wrk -t1 -c8 -d1s -s "$here/ingest/post.lua" "$url" >/dev/null   # warm-up
    out=$(wrk -t1 -c8 -d"${duration}s" -s "$here/ingest/post.lua" "$url" | grep '^RESULT')
    stop
    reqs=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$out")
    non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$out")
    dur=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$out")
    p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$out")
    rps=$(awk -v n="$reqs" -v d="$dur" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
    check="-"
    if [ "$name" != bare ]; then
      committed_reqs=$(sql "SELECT COUNT(*) FROM requests WHERE status = 200")
      committed_items=$(sql "SELECT COUNT(*) FROM items WHERE accepted = 1")
      # Warm-up plus measured run: every acknowledged request must be committed, whole.
      if [ "$committed_items" -eq $((committed_reqs * items_per_post)) ] && [ "$committed_reqs" -ge "$reqs" ] && [ "$non2xx" -eq 0 ]; then
        check="all $committed_items items committed"
      else
        check="MISMATCH: $committed_reqs requests / $committed_items items committed, wrk saw $reqs (non-2xx $non2xx)"
      fi
    fi
    printf "round %d  %-6s %8s req/s  p99 %6s us  %s\n" "$r" "$name" "$rps" "$p99" "$check"
    sum[$name]=$(( ${sum[$name]:-0} + rps ))
  done
done
bare=$((sum[bare] / rounds)); naive=$((sum[naive] / rounds)); mock=$((sum[mock] / rounds))
echo
printf "mean req/s: bare %d, naive %d, mock-ingest %d\n" "$bare" "$naive" "$mock"
awk -v m="$mock" -v n="$naive" -v b="$bare" 'BEGIN {
  printf "mock-ingest / naive = %.2fx (target >= 2x)\n", m / n
  printf "mock-ingest / bare  = %.0f%% of the ceiling\n", 100 * m / b }'

if [ "$memory" = 1 ]; then
  echo
  start mock
  rss() { awk '/VmRSS/ { print $2 }' "/proc/$server_pid/status"; }
  for target in 1000000 2000000; do
    while [ "$(sql 'SELECT COUNT(*) FROM items')" -lt "$target" ]; do
      wrk -t1 -c8 -d5s -s "$here/ingest/post.lua" "$url" >/dev/null
    done
    eval "rss_$target=$(rss)"
    printf "mock-ingest resident memory after %s items: %s kB\n" "$(sql 'SELECT COUNT(*) FROM items')" "$(rss)"
  done
  stop
  awk -v a="$rss_1000000" -v b="$rss_2000000" 'BEGIN { printf "growth from 1M to 2M items: %.2fx\n", b / a }'
fi
