#!/usr/bin/env bash
# Optional check: points the real OpenTelemetry JS SDK (@opentelemetry/exporter-trace-otlp-http,
# pinned in scripts/sdk/package.json) at mock-ingest and compares, span by span, what the
# exporter's export() callback reported with what the database holds.
#
#   scripts/sdk-check.sh [MOCK_INGEST_BINARY]     (default: build/mock-ingest/mock-ingest)
#
# Needs node >= 20.6, npm (reaching the npm registry, for the first install) and sqlite3. Builds
# nothing; installs the SDK into scripts/sdk/node_modules (git-ignored). Everything runs on
# 127.0.0.1, one mock-ingest per scenario on port 0 with a temporary database; each scenario is
# stopped after 60 s at most. Exit 0 when every scenario passes, 1 when one shows a mismatch,
# 2 on a usage or setup error. SDK_CHECK_KEEP=1 keeps the temporary directory (databases, the
# client's per-span outcomes) and prints where it is; SDK_CHECK_ONLY="simple connlimit" runs only
# those scenarios (simple simple_default_limit keepalive_race batch wrong_key cap429_long cap429_short connlimit).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sdk="$root/scripts/sdk"
bin=${1:-$root/build/mock-ingest/mock-ingest}

die() { echo "sdk-check: $*" >&2; exit 2; }
[ -x "$bin" ] || die "no mock-ingest binary at $bin (build it first, or pass its path)"
for t in node npm sqlite3 timeout; do
    command -v "$t" >/dev/null || die "$t not found"
done

echo "sdk-check: installing the SDK into scripts/sdk/node_modules"
if [ -f "$sdk/package-lock.json" ]; then
    (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed"
else
    (cd "$sdk" && npm install --no-audit --no-fund --loglevel=error >/dev/null) || die "npm install failed"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sdk-check.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "${SDK_CHECK_KEEP:-0}" = 1 ]; then
        echo "sdk-check: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_server: SIGTERM (mock-ingest commits what is pending, the acks included), bounded wait.
stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    local i
    for i in $(seq 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
        echo "sdk-check: mock-ingest $server_pid did not stop in 10 s, killing it" >&2
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# run_scenario NAME CONFIG_JSON: one mock-ingest, one node scenario, then the database's view.
run_scenario() {
    local name=$1 config=$2 dir="$tmp/$1" url= i
    mkdir -p "$dir"
    local args=(--listen 127.0.0.1:0 --db "$dir/ingest.db")
    if [ -n "$config" ]; then
        printf '%s\n' "$config" >"$dir/config.json"
        args+=(--config "$dir/config.json")
    fi
    "$bin" "${args[@]}" >"$dir/server.out" 2>"$dir/server.err" &
    server_pid=$!
    for i in $(seq 100); do
        url=$(head -n1 "$dir/server.out" 2>/dev/null || true)
        [ -n "$url" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$url" ]; then
        cat "$dir/server.err" >&2
        die "mock-ingest did not start for scenario $name"
    fi
    local rc=0
    (cd "$sdk" && timeout -k 5 60 node check.js "$name" "$url" "$dir") >"$dir/node.out" 2>&1 || rc=$?
    echo "$rc" >"$dir/node.rc"
    stop_server
    [ -f "$dir/client_items.csv" ] || printf 'item_id,ok\n' >"$dir/client_items.csv"
    # The client's per-span outcome and the (stopped) server's database, side by side in memory.
    sqlite3 :memory: >"$dir/db.json" 2>"$dir/sqlite.err" <<SQL || true
ATTACH '$dir/ingest.db' AS ing;
CREATE TABLE client(item_id TEXT PRIMARY KEY, ok INTEGER);
.import --csv --skip 1 $dir/client_items.csv client
CREATE TABLE acc AS
  SELECT i.item_id, q.acked, q.id AS req FROM items i JOIN requests q ON q.id = i.request
  WHERE i.accepted = 1;
CREATE INDEX acc_item ON acc(item_id);
SELECT json_object(
  'accepted',        (SELECT COUNT(*) FROM acc),
  'accepted_items',  (SELECT COUNT(DISTINCT item_id) FROM acc),
  'acked1',          (SELECT COUNT(*) FROM acc WHERE acked = 1),
  'acked0',          (SELECT COUNT(*) FROM acc WHERE acked = 0),
  'ackednull',       (SELECT COUNT(*) FROM acc WHERE acked IS NULL),
  'rejected',        (SELECT COUNT(*) FROM items WHERE accepted = 0),
  'requests',        (SELECT COUNT(*) FROM requests),
  'otlp_requests',   (SELECT COUNT(*) FROM requests WHERE path LIKE '/v1/%'),
  'by_status',       (SELECT json_group_object(k, n) FROM (SELECT status || COALESCE('/' || reason, '') AS k,
                         COUNT(*) AS n FROM requests GROUP BY k ORDER BY k)),
  'by_status_acked', (SELECT json_group_object(k, n) FROM (SELECT status || ' acked=' || COALESCE(acked, 'NULL')
                         || ' ended=' || COALESCE(ended, 'NULL') AS k, COUNT(*) AS n FROM requests GROUP BY k ORDER BY k)),
  -- a span the client saw exported that the database does not hold as accepted
  'ok_missing',      (SELECT COUNT(*) FROM client c WHERE c.ok = 1
                         AND NOT EXISTS (SELECT 1 FROM acc a WHERE a.item_id = c.item_id)),
  -- a span the client saw exported whose only accepted rows say the answer never arrived
  'ok_unacked',      (SELECT COUNT(*) FROM client c WHERE c.ok = 1
                         AND EXISTS (SELECT 1 FROM acc a WHERE a.item_id = c.item_id)
                         AND NOT EXISTS (SELECT 1 FROM acc a WHERE a.item_id = c.item_id AND a.acked = 1)),
  -- acknowledged twice: the exporter does not send again what was acknowledged
  'ok_acked_twice',  (SELECT COUNT(*) FROM (SELECT item_id FROM acc WHERE acked = 1
                         GROUP BY item_id HAVING COUNT(*) > 1)),
  -- the database holds it in a request whose answer reached the client, yet the client saw a failure
  'acked1_failed',   (SELECT COUNT(*) FROM acc a JOIN client c USING (item_id) WHERE a.acked = 1 AND c.ok = 0),
  -- accepted items the client never made (or never got a result for)
  'unknown_items',   (SELECT COUNT(*) FROM acc a WHERE NOT EXISTS (SELECT 1 FROM client c WHERE c.item_id = a.item_id)),
  -- acked=0 rows: delivered but unacknowledged (client failed) or a copy of a retried export
  'acked0_failed',   (SELECT COUNT(*) FROM acc a JOIN client c USING (item_id) WHERE a.acked = 0 AND c.ok = 0),
  'acked0_dup',      (SELECT COUNT(*) FROM acc a JOIN client c USING (item_id) WHERE a.acked = 0 AND c.ok = 1),
  'failed_absent',   (SELECT COUNT(*) FROM client c WHERE c.ok = 0
                         AND NOT EXISTS (SELECT 1 FROM acc a WHERE a.item_id = c.item_id)),
  -- the most items accepted in one cap window of 2 s and of 3600 s (aligned to time 0)
  'max_per_2s',      (SELECT MAX(n) FROM (SELECT SUM(items_accepted) AS n FROM requests
                         GROUP BY time_ns / 2000000000)),
  'max_per_3600s',   (SELECT MAX(n) FROM (SELECT SUM(items_accepted) AS n FROM requests
                         GROUP BY time_ns / 3600000000000))
);
SQL
    [ -s "$dir/db.json" ] || echo "sdk-check: the database queries failed for scenario $name" >&2
}

echo "sdk-check: mock-ingest $bin; SDK: $(cd "$sdk" && node -p "'exporter-trace-otlp-http ' + require('@opentelemetry/exporter-trace-otlp-http/package.json').version + ', sdk-trace-base ' + require('@opentelemetry/sdk-trace-base/package.json').version"), node $(node --version)"
start=$(date +%s)
scenarios=(simple simple_default_limit keepalive_race batch wrong_key cap429_long cap429_short connlimit)
if [ -n "${SDK_CHECK_ONLY:-}" ]; then
    read -r -a scenarios <<<"$SDK_CHECK_ONLY"
fi
for s in "${scenarios[@]}"; do
    case $s in
        wrong_key) cfg='{"keys": ["k1"]}' ;;
        cap429_long) cfg='{"cap": {"items": 1000, "window_s": 3600, "status": 429}}' ;;
        cap429_short) cfg='{"cap": {"items": 1000, "window_s": 2, "status": 429}}' ;;
        connlimit) cfg='{"connection_limit": 8}' ;;
        *) cfg= ;;
    esac
    echo "sdk-check: scenario $s ${cfg:+(config $cfg)}"
    run_scenario "$s" "$cfg"
done

rc=0
node "$sdk/report.js" "$tmp" "${scenarios[@]}" || rc=$?
echo "sdk-check: $(( $(date +%s) - start )) s"
exit "$rc"
