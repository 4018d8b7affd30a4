#!/usr/bin/python3
"""The engine benchmark's isolate/request model (bench/engine/model.json),
written in SimPy 2 (Debian's python3-simpy 2.3.1) for comparison with edgeloss.

    /usr/bin/python3 bench/engine/model_simpy.py [MODEL.json] [--seed N]
        [--duration-s S] [--events FILE]

It replicates edgeloss's run exactly: the same random streams (xoshiro256**
seeded through splitmix64, Lemire's unbiased range), the same draws in the
same order, and the same order of simultaneous events, so it counts the same
"model events" edgeloss pops (arrival, isolate_ready, task_wake, idle_evict,
stale ones included, and end) and creates and evicts the same isolates.

SimPy posts one event notice per process (re)activation; a model event is a
process resuming at its scheduled time. SimPy orders notices by (time,
posting order), like edgeloss's (time_ns, seq). Where edgeloss handles one
event in several objects at once (an arrival starts a request; a ready
isolate runs the requests that wait for it), the other processes are
activated with prior=True, so they run right after, at the same instant,
before any other event: those activations are SimPy bookkeeping, not model
events, and are not counted.

Only what the model uses is supported: constant arrivals, fixed or uniform
distributions, a handler of awaits and a final respond.
"""
import argparse
import json
import math
import sys
import time

from SimPy.Simulation import (Process, activate, reactivate, hold, passivate,
                              simulate, initialize, now, stopSimulation)

MASK = (1 << 64) - 1

# sim/rng.h
RNG_WORKLOAD, RNG_RUNTIME, RNG_APP = 1, 2, 5


class Rng:
    """sim/rng.c: xoshiro256** seeded through splitmix64."""

    def __init__(self, seed, stream):
        x = (seed ^ (stream * 0xD1B54A32D192ED03)) & MASK
        s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            s.append(z ^ (z >> 31))
        self.s0, self.s1, self.s2, self.s3 = s

    def next(self):
        s0, s1, s2, s3 = self.s0, self.s1, self.s2, self.s3
        r = (s1 * 5) & MASK
        r = ((((r << 7) | (r >> 57)) & MASK) * 9) & MASK
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & MASK
        self.s0, self.s1, self.s2, self.s3 = s0, s1, s2, s3
        return r

    def range(self, lo, hi):
        """Uniform integer in [lo, hi]: Lemire's rejection with a 128-bit product."""
        if hi <= lo:
            return lo
        span = hi - lo + 1
        m = self.next() * span
        if (m & MASK) < span:
            t = ((1 << 64) - span) % span  # C's `-span % span` on uint64_t
            while (m & MASK) < t:
                m = self.next() * span
        return lo + (m >> 64)


class Dist:
    """sim/dist.c, fixed and uniform only. Fixed draws consume no randomness."""
    UNITS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9, "h": 3600e9}

    def __init__(self, spec):
        if not isinstance(spec, dict) or len(spec) != 1:
            raise SystemExit("model_simpy: expected a distribution, got %r" % (spec,))
        (key, v), = spec.items()
        kind, _, unit = key.rpartition("_")
        u = self.UNITS[unit]
        if kind == "fixed":
            self.lo = self.hi = llround(v * u)
        elif kind == "uniform":
            self.lo, self.hi = llround(v[0] * u), llround(v[1] * u)
        else:
            raise SystemExit("model_simpy: only fixed and uniform distributions (got %s)" % key)
        self.fixed = kind == "fixed"

    def draw(self, rng):
        return self.lo if self.fixed else rng.range(self.lo, self.hi)

    def __str__(self):
        return ("fixed %s" % fmt_ns(self.lo) if self.fixed
                else "uniform %s..%s" % (fmt_ns(self.lo), fmt_ns(self.hi)))


def llround(x):
    """C's llround (halves away from zero), for x >= 0."""
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def fmt_ns(ns):
    for div, unit in ((10**9, "s"), (10**6, "ms"), (10**3, "us")):
        if ns % div == 0:
            return "%d%s" % (ns // div, unit)
    return "%dns" % ns


def fmt_duration(ns):
    s, frac = divmod(ns, 10**9)
    return "%dh%02dm%02d.%09ds" % (s // 3600, (s // 60) % 60, s % 60, frac)


STARTING, ACTIVE, IDLE, EVICTED = "starting", "active", "idle", "evicted"


class Model:
    """The colo: its parameters, random streams, live isolates and counters."""

    def __init__(self, cfg, seed, duration_s, log):
        wl, rt, app = cfg["workload"], cfg["runtime"], cfg["app"]
        if wl.get("arrivals", "constant") != "constant" or wl.get("requests"):
            raise SystemExit("model_simpy: only constant arrivals for a duration are supported")
        if rt.get("kind", "edge") != "edge" or rt.get("max_isolates") or rt.get("max_lifetime_s") \
                or rt.get("deploys_s"):
            raise SystemExit("model_simpy: only the edge runtime without limits/deploys is supported")
        self.seed = seed
        self.rate = float(wl["rate_per_s"])
        self.start_ns = llround(float(wl.get("start_s", 0)) * 1e9)
        self.duration_ns = llround(float(duration_s if duration_s is not None
                                         else wl.get("duration_s", 60)) * 1e9)
        self.drain_ns = llround(float(wl.get("drain_s", 60)) * 1e9)
        self.gap_ns = llround(1e9 / self.rate)
        self.max_concurrency = int(rt.get("max_concurrency", 32))
        self.cold_start = Dist(rt.get("cold_start", {"fixed_ms": 5}))
        self.idle_timeout = Dist(rt["idle_timeout"])
        steps = app["handler"]
        if not steps or any(list(s) != ["await"] for s in steps[:-1]) or list(steps[-1]) != ["respond"]:
            raise SystemExit("model_simpy: only a handler of awaits then respond is supported")
        self.awaits = [Dist(s["await"]["latency"]) for s in steps[:-1]]

        self.rng_workload = Rng(seed, RNG_WORKLOAD)  # constant arrivals: never drawn from
        self.rng_runtime = Rng(seed, RNG_RUNTIME)
        self.rng_app = Rng(seed, RNG_APP)
        self.live = []  # live isolates in creation order (routing ties go to the oldest)
        self.log = log
        self.events = 0
        self.arrived = self.responded = self.completed = 0
        self.isolates_created = self.isolates_evicted = 0
        self.end_ns = 0

    def event(self, name, ident):
        """One model event: what edgeloss counts as one queue pop."""
        self.events += 1
        if self.log:
            self.log.write("%d %s %d\n" % (now(), name, ident))

    def route(self):
        """The live isolate with spare concurrency and the fewest requests in
        flight (ties: the oldest), else a new one."""
        best = None
        for iso in self.live:
            if iso.in_flight < self.max_concurrency and (best is None or iso.in_flight < best.in_flight):
                best = iso
        if best is None:
            best = Isolate(self)
        return best

    def go_idle(self, iso):
        iso.state = IDLE
        iso.deadline = now() + self.idle_timeout.draw(self.rng_runtime)
        timer = IdleTimer(self)
        activate(timer, timer.expire(iso), at=iso.deadline)


class Source(Process):
    """Constant arrivals: the first at start, then one every gap; after the
    last, the end of the run once the drain period is over."""

    def __init__(self, m):
        Process.__init__(self, name="source")
        self.m = m

    def arrivals(self):
        m = self.m
        end = m.start_ns + m.duration_ns if m.duration_ns else None
        n = 0
        while True:
            n += 1
            m.event("arrival", n)
            req = Request(m, n)
            # The request is routed right after this step, at this instant,
            # once the next arrival (or the end) is scheduled.
            activate(req, req.handle(), prior=True)
            nxt = now() + m.gap_ns
            if end is None or nxt < end:
                yield hold, self, m.gap_ns
            else:
                break
        yield hold, self, m.drain_ns
        m.event("end", 0)
        m.end_ns = now()
        stopSimulation()


class Isolate(Process):
    """An isolate: cold-starts, then runs the requests routed to it."""

    def __init__(self, m):
        Process.__init__(self, name="isolate")
        m.isolates_created += 1
        self.m = m
        self.id = m.isolates_created
        self.state = STARTING
        self.in_flight = 0
        self.waiting = []  # requests routed to it while it starts
        self.deadline = None
        m.live.append(self)
        activate(self, self.ready(), delay=m.cold_start.draw(m.rng_runtime))

    def ready(self):
        """Activated when the cold start is over."""
        m = self.m
        m.event("isolate_ready", self.id)
        self.state = ACTIVE
        if self.in_flight == 0:
            m.go_idle(self)
        else:
            # Its thread runs the waiting requests first-in first-out, now.
            # Prior activations run last-posted first, hence reversed().
            for req in reversed(self.waiting):
                reactivate(req, prior=True)
        self.waiting = None
        yield passivate, self


class IdleTimer(Process):
    """Fires at an idle deadline. Events are never cancelled: if the isolate
    got work meanwhile (or a later deadline), this one is stale, a no-op."""

    def __init__(self, m):
        Process.__init__(self, name="idle timer")
        self.m = m

    def expire(self, iso):
        m = self.m
        m.event("idle_evict", iso.id)
        if iso.state == IDLE and iso.deadline == now():
            iso.state = EVICTED
            m.live.remove(iso)
            m.isolates_evicted += 1
        yield passivate, self


class Request(Process):
    """One request: routed on arrival, its handler awaits each latency in
    turn, then responds, which ends it (there is no waitUntil work)."""

    def __init__(self, m, n):
        Process.__init__(self, name="request")
        self.m = m
        self.id = n

    def handle(self):
        m = self.m
        m.arrived += 1
        iso = m.route()
        iso.in_flight += 1
        if iso.state == IDLE:
            iso.state = ACTIVE
        elif iso.state == STARTING:
            iso.waiting.append(self)
            yield passivate, self  # until the isolate is ready
        rng = m.rng_app
        for latency in m.awaits:
            # The latency is drawn when the task reaches the await.
            yield hold, self, latency.draw(rng)
            m.event("task_wake", self.id)
        m.responded += 1
        m.completed += 1
        iso.in_flight -= 1
        if iso.in_flight == 0 and iso.state == ACTIVE:
            m.go_idle(iso)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=__file__.rsplit("/", 1)[0] + "/model.json")
    ap.add_argument("--seed", type=int, default=None, help="instead of the model's seed")
    ap.add_argument("--duration-s", type=float, default=None,
                    help="override workload.duration_s (a shorter run)")
    ap.add_argument("--events", metavar="FILE",
                    help="write every model event, one per line: time_ns type id")
    a = ap.parse_args()
    with open(a.model) as f:
        cfg = json.load(f)
    seed = a.seed if a.seed is not None else int(cfg.get("seed", 1))
    log = open(a.events, "w") if a.events else None
    if log:
        log.write("seed %d\n" % seed)

    initialize()
    m = Model(cfg, seed, a.duration_s, log)
    src = Source(m)
    activate(src, src.arrivals(), at=m.start_ns)
    import SimPy
    print("config: SimPy %s (SimPy 2 API) on python %s; model %s; seed %d; constant %g/s for %gs, "
          "drain %gs; max_concurrency %d; cold start %s; idle timeout %s; handler: %s, respond"
          % (getattr(SimPy, "__version__", "?"), sys.version.split()[0], a.model, seed, m.rate,
             m.duration_ns / 1e9, m.drain_ns / 1e9, m.max_concurrency, m.cold_start, m.idle_timeout,
             ", ".join("await %s" % d for d in m.awaits)))
    sys.stdout.flush()

    t0 = time.perf_counter()
    simulate(until=1 << 62)
    wall = time.perf_counter() - t0
    if log:
        log.close()

    print("requests: %d arrived, %d responded, %d completed" % (m.arrived, m.responded, m.completed))
    print("isolates: %d created, %d alive at end; evicted: idle %d"
          % (m.isolates_created, len(m.live), m.isolates_evicted))
    print("events: %d" % m.events)
    print("virtual duration: %s" % fmt_duration(m.end_ns))
    print("wall time %.6f s (simulate() only); %.0f events/s" % (wall, m.events / wall))


if __name__ == "__main__":
    main()
