#!/usr/bin/env python3
"""The HTML loss report as a reader gets it.

Renders reports in headless Chromium and checks, on the rendered DOM (--dump-dom,
not the file's text): every number marked as a summary.json field equals that
field in the run's summary.json; every chart has marks drawn from data; Chromium
logs no console message (a malformed SVG path, a blocked or missing resource);
and the file references nothing outside itself. With --big, also that the report
of a run of a million items stays under 5 MB.

usage: test_report.py EDGELOSS SCENARIOS_DIR [--big]
Exit 0 pass, 1 fail, 77 skipped (no Chromium here; CI=true makes that a failure).
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

SKIP = 77
REPORTED = ("seed-000-low-volume.json", "seed-000-busy-worker.json", "limits-memory.json",
            "seed-002-weekend-dip.json")


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
        self.numbers = []  # (run, key, scale, text)
        self.dirs = {}  # run -> run directory
        self.charts = []  # data marks per <svg class="chart">
        self.refs = []  # attributes that could load something
        self._span = None
        self._dir = None
        self._svg_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        for name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
            if name in a:
                self.refs.append((tag, name, a[name]))
        if tag in ("script", "link", "iframe", "object", "embed", "img"):
            self.refs.append((tag, "element", ""))
        if tag == "span" and "n" in cls.split():
            self._span = [int(a["data-run"]), a["data-key"], float(a.get("data-scale", 1)), ""]
        if tag == "code" and "dir" in cls.split():
            self._dir = [int(a["data-run"]), ""]
        if tag == "svg" and "chart" in cls.split():
            self.charts.append(0)
            self._svg_depth = 1
        elif self._svg_depth:
            self._svg_depth += 1
            if tag in ("rect", "path", "circle", "line", "polyline") and cls.startswith("d-"):
                self.charts[-1] += 1

    def handle_endtag(self, tag):
        if tag == "span" and self._span:
            self.numbers.append(tuple(self._span))
            self._span = None
        if tag == "code" and self._dir:
            self.dirs[self._dir[0]] = self._dir[1]
            self._dir = None
        if self._svg_depth:
            self._svg_depth -= 1

    def handle_data(self, data):
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
    for run, key, scale, shown in d.numbers:
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
    return d


def self_test(browser, workdir):
    """The checks can fail: a page with an empty chart, a wrong number, a bad path."""
    summary_dir = os.path.join(workdir, "fake-run")
    os.makedirs(summary_dir)
    with open(os.path.join(summary_dir, "summary.json"), "w") as f:
        json.dump({"fates": {"lost": 5}}, f)
    page = os.path.join(workdir, "bad.html")
    with open(page, "w") as f:
        f.write('<!DOCTYPE html><html><body><span class="n" data-run="0" data-key="fates.lost">'
                '6</span><code class="dir" data-run="0">%s</code><svg class="chart"><rect '
                'class="axis" width="3" height="3"/><path class="d-x" d="M0 0 L"/></svg>'
                '<svg class="chart"></svg></body></html>' % summary_dir)
    failures = []
    check_report(browser, page, workdir, failures)
    wanted = ("console:", "chart 1 has no mark", "shows 6, summary.json says 5")
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
            # isolates (a row each) with a deploy, and memory evictions and random kills.
            # (The gate over every scenario is check_scenarios; this keeps the sanitizer
            # build's CI time down.)
            chosen = [os.path.join(scenarios, f) for f in REPORTED]
            p = run([edgeloss, "check"] + chosen + ["--quiet", "--jobs", "2", "--out", "runs",
                                                    "--report-dir", "reports"])
            if p.returncode != 0:
                failures.append("check: exit %d: %s%s" % (p.returncode, p.stdout[-3000:],
                                                           p.stderr[-2000:]))
            made = sorted(os.listdir("reports")) if os.path.isdir("reports") else []
            wanted = sorted(f[:-5] + ".html" for f in REPORTED)
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
