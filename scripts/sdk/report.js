'use strict';
/*
 * The table of scripts/sdk-check.sh: reads each scenario's client.json (check.js), db.json (the
 * database queries) and node.rc from TMP/SCENARIO, prints one row per scenario and the details
 * under it, and exits 1 when a scenario failed a check.
 *
 *   node report.js TMP SCENARIO...
 */
const fs = require('fs');
const path = require('path');

const [tmp, ...names] = process.argv.slice(2);

const TITLES = {
    simple: '1 simple x500',
    simple_default_limit: '1b simple x500 limit 30',
    keepalive_race: '1c keep-alive at idle 3 s',
    batch: '2 batch x5000',
    wrong_key: '3 wrong key 20000',
    cap429_long: '4a cap 429 (1 h)',
    cap429_short: '4b cap 429 (2 s)',
    connlimit: '5 conn_limit 8 x300',
};

function readJson(file) {
    try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return null; }
}

const size = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const fmt = (o) => Object.entries(o || {}).map(([k, v]) => `${k} x${v}`).join(', ') || '-';

let failed = 0;
const rows = [];
const details = [];
let head = null;

for (const name of names) {
    const dir = path.join(tmp, name);
    const c = readJson(path.join(dir, 'client.json'));
    const d = readJson(path.join(dir, 'db.json'));
    const rc = Number((() => { try { return fs.readFileSync(path.join(dir, 'node.rc'), 'utf8'); } catch { return 'NaN'; } })());
    const problems = [];
    const expect = (cond, what) => { if (!cond) problems.push(what); };

    if (!c) problems.push('the scenario wrote no client.json');
    if (!d) problems.push('the database could not be read');
    if (c && d) {
        if (!head && c.first_request_head) head = c.first_request_head;
        expect(rc === 0, `the node scenario exited ${rc}${c.watchdog ? ' (watchdog)' : ''}`);
        expect(d.ok_missing === 0, `${d.ok_missing} spans the client saw exported are not accepted in the db`);
        expect(d.acked1_failed === 0, `${d.acked1_failed} accepted items are in acked=1 requests whose export the client saw fail`);
        expect(d.ok_unacked === 0, `${d.ok_unacked} spans the client saw exported are accepted only in acked=0 requests`);
        expect(d.ok_acked_twice === 0, `${d.ok_acked_twice} spans accepted in two acked=1 requests`);
        expect(d.unknown_items === 0, `${d.unknown_items} accepted items the client has no result for`);
        expect(d.ackednull === 0, `${d.ackednull} accepted items whose request has acked NULL after shutdown`);
        expect(c.double_results === 0, `${c.double_results} spans given two export results`);
        expect(c.spans_ok + c.spans_failed === c.spans_created,
            `${c.spans_created - c.spans_ok - c.spans_failed} spans never got an export result`);
        /* every accepted row is either the one acknowledged copy of a success or explained by acked=0 */
        expect(d.accepted === c.spans_ok + d.acked0_failed + d.acked0_dup,
            `db accepted ${d.accepted} != client ok ${c.spans_ok} + acked=0 rows ${d.acked0_failed + d.acked0_dup}`);

        /* each HTTP attempt that reached the server is one request row (none is lost, none made up) */
        if (Object.keys(c.http.net_errors).length === 0)
            expect(d.otlp_requests === c.http.attempts, `${d.otlp_requests} request rows for ${c.http.attempts} HTTP attempts`);
        else
            expect(d.otlp_requests <= c.http.attempts, `${d.otlp_requests} request rows for ${c.http.attempts} HTTP attempts`);

        switch (name) {
        case 'simple':
        case 'batch':
            expect(c.spans_failed === 0, `${c.spans_failed} spans failed on loopback with default limits`);
            expect(d.accepted === c.spans_ok, `client ok ${c.spans_ok} != db accepted ${d.accepted}`);
            break;
        case 'wrong_key': {
            const r = c.wrong_key_result || {};
            expect(!r.ok && r.code === 401, `the wrong-key export ended ${r.ok ? 'SUCCESS' : `FAILED with code ${r.code} (${r.message})`}, expected a 401`);
            expect(Object.keys(c.http.net_errors).length === 0, `network errors: ${fmt(c.http.net_errors)}`);
            expect(d.otlp_requests === c.exports && c.http.attempts === c.exports,
                `${d.otlp_requests} request rows and ${c.http.attempts} HTTP attempts for ${c.exports} exports`);
            expect((d.by_status['401/unauthorized'] || 0) === 1, 'not exactly one 401 row');
            expect(d.accepted === c.spans_ok && c.spans_ok === 100, `right-key export: client ok ${c.spans_ok}, db accepted ${d.accepted}`);
            break;
        }
        case 'cap429_long':
            expect(d.max_per_3600s <= 1000, `${d.max_per_3600s} items accepted in one 3600 s window (cap 1000)`);
            expect(d.accepted === c.spans_ok, `client ok ${c.spans_ok} != db accepted ${d.accepted}`);
            break;
        case 'cap429_short':
            expect(d.max_per_2s <= 1000, `${d.max_per_2s} items accepted in one 2 s window (cap 1000)`);
            expect(d.accepted === c.spans_ok, `client ok ${c.spans_ok} != db accepted ${d.accepted}`);
            break;
        default:
            break;
        }
    }
    const pass = problems.length === 0;
    if (!pass) failed++;
    rows.push([
        TITLES[name] || name,
        c ? c.spans_created : '?', c ? c.spans_ok : '?', c ? c.spans_failed : '?',
        d ? d.accepted : '?', d ? d.acked1 : '?', d ? d.acked0 : '?', d ? d.ackednull : '?',
        d ? fmt(d.by_status) : '?', pass ? 'PASS' : 'FAIL',
    ]);
    const lines = [`${TITLES[name] || name}: ${pass ? 'PASS' : 'FAIL'}`];
    if (c) {
        lines.push(`  client: ${c.exports} exports (${c.export_ok} ok, ${c.export_failed} failed) in ${(c.elapsed_ms / 1000).toFixed(1)} s; ` +
            `${c.http.attempts} HTTP attempts (${c.http.attempts - c.exports + (c.errors['Concurrent export limit reached'] || 0)} retries), ` +
            `${c.http.sockets} sockets opened, at most ${c.http.max_open_sockets} open; largest request ${size(c.http.max_request_bytes)}`);
        lines.push(`  client saw statuses: ${fmt(c.http.by_status)}; network errors: ${fmt(c.http.net_errors)}; Retry-After: ${fmt(c.http.retry_after)}`);
        if (c.export_failed) lines.push(`  failed exports: ${fmt(c.errors)} (codes: ${fmt(c.error_codes)})`);
        const diag = Object.entries(c.sdk_diag).filter(([k]) => /retry|retries|timeout|limit/i.test(k));
        if (diag.length) lines.push(`  SDK log: ${diag.map(([k, v]) => `"${k}" x${v}`).join('; ')}`);
        for (const n of c.notes) lines.push(`  note: ${n}`);
    }
    if (d) {
        lines.push(`  db: ${d.requests} requests (${fmt(d.by_status_acked)}); accepted ${d.accepted} rows of ${d.accepted_items} items, rejected ${d.rejected}; ` +
            `acked=0 rows: ${d.acked0_failed} of failed exports (delivered, unacknowledged), ${d.acked0_dup} copies of spans later exported ok; ` +
            `failed spans not in the db: ${d.failed_absent}`);
        if (name.startsWith('cap429')) lines.push(`  db: most accepted per 2 s window ${d.max_per_2s}, per 3600 s window ${d.max_per_3600s}`);
    }
    for (const p of problems) lines.push(`  MISMATCH: ${p}`);
    details.push(lines.join('\n'));
}

const header = ['scenario', 'spans', 'client ok', 'client failed', 'db accepted', 'acked=1', 'acked=0', 'NULL', 'requests by status', 'result'];
const all = [header, ...rows];
const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
const line = (r) => '| ' + r.map((v, i) => (i === 0 || i === 8 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join(' | ') + ' |';
console.log('');
console.log(line(header));
console.log('|' + widths.map((w, i) => (i === 0 || i === 8 ? ':' : '-') + '-'.repeat(w) + (i === 0 || i === 8 ? '-' : ':')).join('|') + '|');
for (const r of rows) console.log(line(r));
console.log('');
console.log('(db accepted: items rows accepted=1; acked=1 / acked=0 / NULL: those rows by their request\'s acked)');
console.log('');
console.log(details.join('\n\n'));
if (head) {
    console.log('');
    console.log('The SDK\'s request head (first request of the first scenario):');
    console.log(head.trimEnd().split('\r\n').map((l) => '  ' + l).join('\n'));
}
console.log('');
console.log(`${names.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
