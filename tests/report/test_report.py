#!/usr/bin/env python3
"""The HTML loss report as a reader gets it.

Renders reports in headless Chromium and checks, on the rendered DOM (--dump-dom,
not the file's text): every number marked as a summary.json field equals that
field in the run's summary.json; every chart has marks drawn from data; Chromium
logs no console message (a malformed SVG path, a blocked or missing resource);
the file references nothing outside itself; and for a run whose summary.json has
faults, the Faults section shows each count and rule, and the charts over
virtual time shade each rule's window. Besides the scenarios named below, every
faults-*.json scenario is reported, and a scenario made here with a rule of each
family, a deploy, a window without an end and random kills. With --big, also that the report
of a run of a million items stays under 5 MB.

usage: test_report.py EDGELOSS SCENARIOS_DIR [--big]
Exit 0 pass, 1 fail, 77 skipped (no Chromium here; CI=true makes that a failure).
"""
import glob
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

SKIP = 77
# (handlers-*: the "Beyond fetch" section, Durable Objects' GB-s and cron outcomes.)
REPORTED = ("seed-000-low-volume.json", "seed-000-busy-worker.json", "limits-memory.json",
            "seed-002-weekend-dip.json", "handlers-do-hibernation.json",
            "handlers-cron-exception.json", "handlers-streamed-response.json")

# Every fault family, a deploy (an instant), a window without an end, and random kills (a
# kind that fires without a rule): what the Faults section and the fault bands draw.
FAULT_SMOKE = {
    "name": "fault smoke", "seed": 1,
    "workload": {"arrivals": "poisson", "rate_per_s": 5, "duration_s": 60, "drain_s": 60},
    "runtime": {"kind": "edge", "idle_timeout": {"uniform_s": [20, 60]}},
    "network": {"latency": {"fixed_ms": 20}},
    "exporter": {"strategy": "immediate", "retry": {"count": 2}},
    "faults": {"kill_isolates_per_hour": 120, "rules": [
        {"kind": "timeout", "from_s": 10, "until_s": 20, "after_s": 5},
        {"kind": "refused", "from_s": 25, "until_s": 30, "probability": 0.5},
        {"kind": "status", "status": 503, "retry_after_s": 2, "from_s": 35, "until_s": 40},
        {"kind": "drop_answer", "from_s": 45, "until_s": 50},
        {"kind": "deploy", "from_s": 52},
        {"kind": "latency", "latency_ms": 200, "jitter_ms": 50, "from_s": 50, "until_s": 55},
        {"kind": "latency", "latency_ms": 10, "from_s": 57}]},
    "app": {"handler": [{"span": {"name": "request", "do": [{"cpu": {"fixed_us": 500}}]}},
                        {"wait_until": [{"call": "tracer.flush"}]},
                        {"respond": {"status": 200}}]},
}


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Dom(HTMLParser):
    """The marked numbers, the charts and their data marks, and every reference."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.numbers = []  # (run, key, scale, text, section)
        self.dirs = {}  # run -> run directory
        self.charts = []  # data marks per <svg class="chart">
        self.where = []  # (section, run or None) per chart: the <div class="run"> around it
        self.bands = []  # (class, tooltip) of the fault bands, per chart
        self.refs = []  # attributes that could load something
        self._span = None
        self._dir = None
        self._svg_depth = 0
        self._section = None
        self._run = None
        self._div_depth = 0
        self._band = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        for name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
            if name in a:
                self.refs.append((tag, name, a[name]))
        if tag in ("script", "link", "iframe", "object", "embed", "img"):
            self.refs.append((tag, "element", ""))
        if tag == "section":
            self._section = a.get("id")
        if tag == "div":
            self._div_depth += 1
            if "run" in cls.split() and "data-run" in a:
                self._run = (int(a["data-run"]), self._div_depth)
        if tag == "span" and "n" in cls.split():
            self._span = [int(a["data-run"]), a["data-key"], float(a.get("data-scale", 1)), "",
                          self._section]
        if tag == "code" and "dir" in cls.split():
            self._dir = [int(a["data-run"]), ""]
        if tag == "svg" and "chart" in cls.split():
            self.charts.append(0)
            self.where.append((self._section, self._run[0] if self._run else None))
            self.bands.append([])
            self._svg_depth = 1
        elif self._svg_depth:
            self._svg_depth += 1
            if tag in ("rect", "path", "circle", "line", "polyline") and cls.startswith("d-"):
                self.charts[-1] += 1
            if tag == "rect" and cls.startswith("d-fault"):
                self._band = [cls, ""]

    def handle_endtag(self, tag):
        if tag == "span" and self._span:
            self.numbers.append(tuple(self._span))
            self._span = None
        if tag == "code" and self._dir:
            self.dirs[self._dir[0]] = self._dir[1]
            self._dir = None
        if tag == "rect" and self._band:
            self.bands[-1].append(tuple(self._band))
            self._band = None
        if self._svg_depth:
            self._svg_depth -= 1
        if tag == "section":
            self._section = None
        if tag == "div":
            if self._run and self._run[1] == self._div_depth:
                self._run = None
            self._div_depth -= 1

    def handle_data(self, data):
        if self._band:
            self._band[1] += data
        if self._span:
            self._span[3] += data
        if self._dir:
            self._dir[1] += data


def field(summary, key):
    v = summary
    for part in key.split("."):
        if isinstance(v, list) and part.isdigit() and int(part) < len(v):
            v = v[int(part)]  # "pipeline.hops.2.items_in": a number indexes an array
        elif isinstance(v, dict) and part in v:
            v = v[part]
        else:
            return None
    return v


def dump_dom(browser, path, workdir):
    """The rendered DOM and every console message Chromium logged while rendering."""
    profile = tempfile.mkdtemp(dir=workdir)
    p = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
         "--dump-dom", "file://" + os.path.abspath(path)],
        capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or "<html" not in p.stdout:
        raise AssertionError("chromium failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    return p.stdout, console


def check_report(browser, path, workdir, failures):
    """Everything a reader could see wrong in one report; appends to failures."""
    text = open(path, encoding="utf-8").read()
    for bad in ("http://", "https://", "url(", "@import", "<script", "<link", "<img", "<iframe"):
        if bad in text:
            failures.append("%s: references something outside itself: %r" % (path, bad))
    dom, console = dump_dom(browser, path, workdir)
    for line in console:
        failures.append("%s: console: %s" % (path, line))
    d = Dom()
    d.feed(dom)
    if d.refs:
        failures.append("%s: loads %r" % (path, d.refs[:3]))
    if not d.charts:
        failures.append("%s: no chart at all" % path)
    for i, marks in enumerate(d.charts):
        if marks == 0:
            failures.append("%s: chart %d has no mark drawn from data" % (path, i))
    if not d.numbers:
        failures.append("%s: no marked number" % path)
    summaries = {}
    for run, rdir in d.dirs.items():
        with open(os.path.join(rdir, "summary.json"), encoding="utf-8") as f:
            summaries[run] = json.load(f)
    for run, key, scale, shown, _ in d.numbers:
        if run not in summaries:
            failures.append("%s: a number of run %d, which the page does not list" % (path, run))
            continue
        want = field(summaries[run], key)
        if want is None:
            if shown.strip() != "–":
                failures.append("%s: run %d %s shows %r, summary.json has none" %
                                (path, run, key, shown))
            continue
        got = float(shown)
        want = float(want) * scale
        # Integers exactly; a percentage to the one decimal shown; others to 4 digits.
        tol = 0.05 if scale != 1 else (0 if want == int(want) else abs(want) * 5e-4)
        if abs(got - want) > tol:
            failures.append("%s: run %d %s shows %s, summary.json says %s" %
                            (path, run, key, shown, want))
    check_faults(d, summaries, path, failures)
    return d


def chart_end(summaries, dirs):
    """The end of the report's time axis: the latest run's end, from its report tables
    (their last interval) when it has them, else summary.json's end_ns."""
    end = 0
    for run, s in summaries.items():
        t = s.get("end_ns") or 0
        db = os.path.join(dirs[run], "ledger.db")
        if os.path.exists(db):
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
            try:
                last = con.execute("SELECT MAX(t1_ns) FROM report_series").fetchone()[0]
                t = last if last is not None else t
            except sqlite3.Error:
                pass  # an older ledger: no report tables
            finally:
                con.close()
        end = max(end, t)
    return end


def fault_tip(rule):
    """A fault band's tooltip, as the report writes it."""
    fired, start, until = rule["fired"], rule["from_s"], rule["until_s"]
    if until is None and rule["kind"] == "deploy":
        window = "at %g s" % start
    elif until is None:
        window = "%g s–the end of the run" % start
    else:
        window = "%g s–%g s" % (start, until)
    return "rule %d: %s (%s), fired %d time%s, %s" % (
        rule["index"], rule["kind"], rule["family"], fired, "" if fired == 1 else "s", window)


def check_faults(d, summaries, path, failures):
    """A run with faults: the Faults section shows its counts and rules (their values are
    checked with every other number), and each chart of the run over virtual time has a band
    per rule whose window falls in the chart, with that rule's tooltip; the band's class
    names the rule's family."""
    faulted = {run: s["faults"] for run, s in summaries.items() if "faults" in s}
    shown = {(run, key) for run, key, _, _, sec in d.numbers if sec == "faults"}
    if faulted and not any(sec == "faults" for _, _, _, _, sec in d.numbers):
        failures.append("%s: runs %r have faults, the page has no Faults section" %
                        (path, sorted(faulted)))
        return
    if not faulted and shown:
        failures.append("%s: a Faults section, but no run has faults" % path)
    end = chart_end(summaries, d.dirs) if faulted else 0
    for run, f in sorted(faulted.items()):
        keys = ["faults.total", "metrics.duplicates", "metrics.added_wait_until_p99_ms",
                "metrics.added_response_p99_ms"]
        keys += ["faults.fired." + kind for kind in f["fired"]]
        for i, rule in enumerate(f["rules"]):
            keys += ["faults.rules.%d.%s" % (i, m) for m in ("index", "from_s", "fired")]
            if rule["until_s"] is not None:
                keys.append("faults.rules.%d.until_s" % i)
        for key in keys:
            if (run, key) not in shown:
                failures.append("%s: run %d: the Faults section does not show %s" %
                                (path, run, key))
        want = sorted((fault_tip(r), r["family"]) for r in f["rules"]
                      if r["from_s"] * 1e9 <= end)
        charts = [i for i, w in enumerate(d.where) if w[1] == run and w[0] in ("time", "isolates")]
        if summaries[run].get("verified") and not any(d.where[i][0] == "time" for i in charts):
            failures.append("%s: run %d: no chart over virtual time" % (path, run))
        for i in charts:
            got = sorted((tip, cls.split()[0][len("d-fault-"):]) for cls, tip in d.bands[i])
            if got != want:
                failures.append("%s: run %d: chart %d (%s) shades faults %r, the rules are %r" %
                                (path, run, i, d.where[i][0], got, want))
        if want and not any(d.where[i][0] == "time" and d.bands[i] for i in charts):
            failures.append("%s: run %d: no fault band over virtual time" % (path, run))


def self_test(browser, workdir):
    """The checks can fail: a page with an empty chart, a wrong number, a bad path."""
    summary_dir = os.path.join(workdir, "fake-run")
    os.makedirs(summary_dir)
    with open(os.path.join(summary_dir, "summary.json"), "w") as f:
        json.dump({"fates": {"lost": 5}, "faults": {"total": 1, "fired": {"timeout": 1},
                                                     "rules": []}}, f)
    page = os.path.join(workdir, "bad.html")
    with open(page, "w") as f:
        f.write('<!DOCTYPE html><html><body><span class="n" data-run="0" data-key="fates.lost">'
                '6</span><code class="dir" data-run="0">%s</code><svg class="chart"><rect '
                'class="axis" width="3" height="3"/><path class="d-x" d="M0 0 L"/></svg>'
                '<svg class="chart"></svg></body></html>' % summary_dir)
    failures = []
    check_report(browser, page, workdir, failures)
    wanted = ("console:", "chart 1 has no mark", "shows 6, summary.json says 5",
              "have faults, the page has no Faults section")
    for w in wanted:
        if not any(w in x for x in failures):
            return ["the checker missed %r on a page made to fail (got %r)" % (w, failures)]
    return []


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return p


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    big = "--big" in sys.argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    edgeloss, scenarios = os.path.abspath(args[0]), os.path.abspath(args[1])
    browser = chromium()
    if not browser:
        msg = "test_report: no Chromium here (apt-get install chromium): skipped"
        print(msg, file=sys.stderr)
        return 1 if os.environ.get("CI") == "true" else SKIP
    work = tempfile.mkdtemp(prefix="edgeloss-report-")
    failures = []
    try:
        failures += self_test(browser, work)
        os.chdir(work)
        if big:
            # A million items: the report is drawn from aggregates, so it stays small.
            scn = os.path.join(work, "million.json")
            with open(os.path.join(scenarios, "seed-000-busy-worker.json")) as f:
                doc = json.load(f)
            doc.pop("variants", None)
            doc["expect"] = []
            doc["workload"]["requests"] = 130000  # eight items each
            doc["workload"]["rate_per_s"] = 30
            with open(scn, "w") as f:
                json.dump(doc, f)
            p = run([edgeloss, "run", scn, "--quiet", "--brief", "--out", "big",
                     "--report", "big.html"])
            if p.returncode != 0:
                failures.append("the big run: exit %d: %s" % (p.returncode, p.stderr[-2000:]))
            else:
                found = [os.path.join(d, "summary.json") for d, _, fs in os.walk("big")
                         if "summary.json" in fs]
                summary = json.load(open(found[0]))
                items = summary["items"]
                size = os.path.getsize("big.html")
                print("test_report: %d items, report %d bytes" % (items, size))
                if items < 1000000:
                    failures.append("the big run made %d items, not a million" % items)
                if size >= 5 * 1024 * 1024:
                    failures.append("the report of %d items is %d bytes (bound 5 MB)" %
                                    (items, size))
                check_report(browser, "big.html", work, failures)
        else:
            # Scenarios through `check --report-dir`, chosen for what their reports draw:
            # eight variants side by side with 200+ isolates (the aggregated timeline), two
            # isolates (a row each) with a deploy, and memory evictions and random kills;
            # a Durable Object's and a cron's costs and outcomes.
            # (The gate over every scenario is check_scenarios; this keeps the sanitizer
            # build's CI time down.)
            # Every faults-*.json scenario too: the Faults section and the fault bands.
            faults = sorted(os.path.basename(f)
                            for f in glob.glob(os.path.join(scenarios, "faults-*.json")))
            reported = list(REPORTED) + faults
            chosen = [os.path.join(scenarios, f) for f in reported]
            p = run([edgeloss, "check"] + chosen + ["--quiet", "--jobs", "2", "--out", "runs",
                                                    "--report-dir", "reports"])
            if p.returncode != 0:
                failures.append("check: exit %d: %s%s" % (p.returncode, p.stdout[-3000:],
                                                           p.stderr[-2000:]))
            made = sorted(os.listdir("reports")) if os.path.isdir("reports") else []
            wanted = sorted(f[:-5] + ".html" for f in reported)
            if made != wanted:
                failures.append("reports made %r, wanted one per scenario %r" % (made, wanted))
            for name in made:
                if ("reports/" + name) not in p.stdout:
                    failures.append("check did not say where %s is" % name)
                check_report(browser, os.path.join("reports", name), work, failures)
            # `report` over a run folder gives the same numbers; a folder without runs is exit 2.
            p = run([edgeloss, "report", "runs/seed-000-low-volume", "-o", "lv.html"])
            if p.returncode != 0:
                failures.append("report: exit %d: %s" % (p.returncode, p.stderr))
            else:
                check_report(browser, "lv.html", work, failures)
            # A rule of each family, an instant, an open window, random kills.
            with open("fault-smoke.json", "w") as f:
                json.dump(FAULT_SMOKE, f)
            p = run([edgeloss, "run", "fault-smoke.json", "--quiet", "--brief", "--out",
                     "fault-smoke", "--report", "fault-smoke.html"])
            if p.returncode != 0:
                failures.append("the fault smoke run: exit %d: %s" % (p.returncode,
                                                                       p.stderr[-2000:]))
            else:
                d = check_report(browser, "fault-smoke.html", work, failures)
                kinds = {c.split()[0] for b in d.bands for c, _ in b}
                if kinds != {"d-fault-network", "d-fault-ingest", "d-fault-runtime"}:
                    failures.append("fault-smoke.html: fault bands of classes %r" % kinds)
                if not any("fault-at" in c.split() for b in d.bands for c, _ in b):
                    failures.append("fault-smoke.html: the deploy is not drawn as an instant")
            os.makedirs("empty", exist_ok=True)
            p = run([edgeloss, "report", "empty", "-o", "x.html"])
            if p.returncode != 2 or "no run directory" not in p.stderr:
                failures.append("report of an empty folder: exit %d %r" % (p.returncode,
                                                                            p.stderr))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    if not failures:
        print("test_report: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
