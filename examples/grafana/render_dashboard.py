#!/usr/bin/env python3
"""Renders the seven panels of examples/grafana/circuit_breakers.json from real scrapes.

Input: the output of `cargo run --example dashboard_scrape` (Prometheus text expositions of
cb's collector, each after a `# AT <seconds>` line). Each panel computes what its dashboard
query computes (rate/increase over one scrape interval, histogram buckets by `le`, the share of
time per state), then plots it with matplotlib.

    python3 examples/grafana/render_dashboard.py scrapes.txt examples/grafana/dashboard.png
"""

import re
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
STATES = ["closed", "open", "half_open", "forced_open", "disabled", "metrics_only"]
COLORS = {"closed": "#56a64b", "open": "#e02f44", "half_open": "#ff9830"}


def parse(path):
    """[(t, {(metric, frozenset(labels)): value})] in scrape order."""
    scrapes, current = [], None
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("# AT "):
            current = {}
            scrapes.append((int(line[5:]), current))
        elif line and not line.startswith("#") and current is not None:
            m = LINE.match(line)
            if m:
                labels = frozenset(LABEL.findall(m.group(2) or ""))
                current[(m.group(1), labels)] = float(m.group(3))
    return scrapes


def series(scrapes, metric, **match):
    """{labels: [(t, value)]} of `metric` whose labels include `match`."""
    out = defaultdict(list)
    for t, sample in scrapes:
        for (name, labels), value in sample.items():
            d = dict(labels)
            if name == metric and all(d.get(k) == v for k, v in match.items()):
                out[labels].append((t, value))
    return out


def rate(points):
    """Per-second increase between consecutive scrapes (Prometheus `rate` over one interval)."""
    return [(t1, (v1 - v0) / (t1 - t0)) for (t0, v0), (t1, v1) in zip(points, points[1:]) if t1 > t0]


def main(src, dst):
    scrapes = parse(src)
    breakers = sorted({dict(l)["name"] for (n, l) in scrapes[-1][1] if n == "circuit_breaker_state"})
    fig, axes = plt.subplots(4, 2, figsize=(16, 17))
    fig.suptitle("cb circuit breakers: the Grafana dashboard's panels from %d scrapes of the real collector" % len(scrapes))
    ax = axes.flat

    # 1. State
    a = next(ax)
    for i, b in enumerate(breakers):
        pts = next(iter(series(scrapes, "circuit_breaker_state", name=b).values()))
        for (t0, v), (t1, _) in zip(pts, pts[1:]):
            a.barh(i, t1 - t0, left=t0, color=COLORS.get(STATES[int(v)], "grey"))
    a.set_yticks(range(len(breakers)), breakers)
    a.set_title("State (green closed, red open, orange half-open)")

    # 2. Request rate by result
    a = next(ax)
    for labels, pts in sorted(series(scrapes, "circuit_breaker_requests_total").items()):
        d = dict(labels)
        r = rate(pts)
        if any(v for _, v in r):
            a.plot(*zip(*r), label="%s %s" % (d["name"], d["result"]))
    a.set_title("Requests by result (req/s)")
    a.legend(fontsize=7)

    # 3. Failure rate
    a = next(ax)
    for labels, pts in sorted(series(scrapes, "circuit_breaker_failure_rate").items()):
        a.plot(*zip(*pts), label=dict(labels)["name"])
    a.set_ylim(0, 1)
    a.set_title("Failure rate over the window")
    a.legend(fontsize=7)

    # 4. Transitions (and probes)
    a = next(ax)
    for labels, pts in sorted(series(scrapes, "circuit_breaker_transitions_total").items()):
        d = dict(labels)
        inc = [(t, v * 5) for t, v in rate(pts)]
        if any(v for _, v in inc):
            a.step(*zip(*inc), where="post", label="%s %s -> %s" % (d["name"], d["from"], d["to"]))
    for labels, pts in sorted(series(scrapes, "circuit_breaker_probe_attempts_total").items()):
        inc = [(t, v * 5) for t, v in rate(pts)]
        if any(v for _, v in inc):
            a.step(*zip(*inc), where="post", linestyle=":", label="%s probes" % dict(labels)["name"])
    a.set_title("Transitions and probes (per 5 s)")
    a.legend(fontsize=7)

    # 5. Latency heatmap: calls per bucket per interval, all breakers
    a = next(ax)
    buckets = defaultdict(lambda: defaultdict(float))
    for labels, pts in series(scrapes, "circuit_breaker_call_duration_seconds_bucket").items():
        le = dict(labels)["le"]
        for t, v in pts:
            buckets[le][t] += v
    les = sorted(buckets, key=lambda s: float("inf") if s == "+Inf" else float(s))
    times = sorted({t for le in les for t in buckets[le]})
    grid = []
    for i, le in enumerate(les):
        below = buckets[les[i - 1]] if i else defaultdict(float)
        row = [buckets[le][t] - below[t] for t in times]
        grid.append([r1 - r0 for r0, r1 in zip(row, row[1:])])
    a.imshow(grid, aspect="auto", origin="lower", cmap="inferno",
             extent=(times[1], times[-1], -0.5, len(les) - 0.5))
    a.set_yticks(range(len(les)), ["<= %s s" % le for le in les], fontsize=7)
    a.set_title("Latency heatmap (calls per bucket per 5 s)")

    # 6. Time in each state: share per interval, stacked, per breaker
    a = next(ax)
    for b, hatch in zip(breakers, ["", "//"]):
        shares = {s: dict(rate(pts)) for s in ["closed", "open", "half_open"]
                  for pts in series(scrapes, "circuit_breaker_state_duration_seconds_total", name=b, state=s).values()}
        ts = sorted(next(iter(shares.values())))
        base = [0.0] * len(ts)
        for s in ["closed", "half_open", "open"]:
            top = [base[i] + shares[s][t] for i, t in enumerate(ts)]
            a.fill_between(ts, [y + (0 if hatch == "" else 1.05) for y in base],
                           [y + (0 if hatch == "" else 1.05) for y in top],
                           color=COLORS[s], alpha=0.7, hatch=hatch, label="%s %s" % (b, s))
            base = top
    a.set_yticks([0.5, 1.55], breakers)
    a.set_title("Time in each state (share of each 5 s, stacked)")
    a.legend(fontsize=7, ncol=2)

    # 7. Fallbacks
    a = next(ax)
    for labels, pts in sorted(series(scrapes, "fallback_requests_total").items()):
        a.plot(*zip(*rate(pts)), label=dict(labels)["name"])
    a.set_title("Fallbacks served (per second)")
    a.legend(fontsize=7)

    # 8. Fallback latency (mean over each interval)
    a = next(ax)
    for b in breakers:
        # One series per fallback type (none before a breaker's first fallback): summed.
        s, c = defaultdict(float), defaultdict(float)
        for total, metric in ((s, "fallback_latency_seconds_sum"), (c, "fallback_latency_seconds_count")):
            for pts in series(scrapes, metric, name=b).values():
                for t, v in rate(pts):
                    total[t] += v
        pts = [(t, s[t] / c[t] * 1000) for t in sorted(c) if c[t] > 0]
        if pts:
            a.plot(*zip(*pts), label=b)
    a.set_ylim(0, 5)
    a.set_title("Fallback latency (mean ms per 5 s)")
    a.legend(fontsize=7)

    for a in axes.flat:
        a.set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(dst, dpi=70)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
