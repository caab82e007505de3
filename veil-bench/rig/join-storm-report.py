#!/usr/bin/env python3
"""Figures of join-storm.sh runs: join-storm-report.py OUT [TAG] (one run's line, or the table of every run in OUT)."""
import glob
import json
import os
import re
import sys
import time


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def seconds_of_day(hms):
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def cpu_at(samples, t):
    """CPU (total, dtls) at monotonic time t, interpolated between the two samples around it."""
    prev = None
    for s in samples:
        if s[0] >= t:
            if prev is None:
                return s[1], s[2]
            f = (t - prev[0]) / (s[0] - prev[0]) if s[0] > prev[0] else 0
            return prev[1] + f * (s[1] - prev[1]), prev[2] + f * (s[2] - prev[2])
        prev = s
    return (prev[1], prev[2]) if prev else (float("nan"), float("nan"))


def run(out, tag):
    r = {"tag": tag}
    base = re.sub(r"-s\d+$", "", tag)  # a run's files (background, CPU, counters); tag-sN: its Nth storm
    bg = load_json(os.path.join(out, base + ".background.json"))
    st = load_json(os.path.join(out, tag + ".storm.json"))
    r["bg_error"] = bg.get("error", "")
    r["storm_error"] = st.get("error", "")
    r["bg_fwd_pps"] = bg.get("forwarded_pps", float("nan"))
    r["bg_loss"] = bg.get("loss_pct", float("nan"))
    r["bg_gap_loss"] = bg.get("seq_gap_loss_pct", float("nan"))
    r["bg_p50"] = bg.get("rel_delay_ms_p50", float("nan"))
    r["bg_p99"] = bg.get("rel_delay_ms_p99", float("nan"))
    r["storm_connected"] = st.get("connected_peers", 0)
    r["storm_all_connected_s"] = st.get("connect_seconds", float("nan"))
    r["storm_ready_s"] = st.get("ready_seconds", float("nan"))
    # storm start: monotonic and wall clock when the storm's load generator was launched
    try:
        mono0, wall0 = map(float, open(os.path.join(out, tag + ".storm-start")).read().split())
    except (OSError, ValueError):
        mono0 = wall0 = float("nan")
    lt = time.localtime(wall0) if wall0 == wall0 else None
    day0 = lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (wall0 % 1) if lt else float("nan")
    connects = []
    joins_started = None
    try:
        for line in open(os.path.join(out, tag + ".storm.log")):
            m = re.match(r"(\d\d:\d\d:\d\d\.\d+) loadgen: (\w+): connected$", line.strip())
            if m:
                connects.append((m.group(2), seconds_of_day(m.group(1)) - day0))
            m = re.match(r"(\d\d:\d\d:\d\d\.\d+) loadgen: \d+ publishers connected", line.strip())
            if m:
                joins_started = seconds_of_day(m.group(1)) - day0
    except OSError:
        pass
    subs = [t - joins_started for name, t in connects if name.startswith("sub") and joins_started is not None]
    r["connect_p50"], r["connect_p95"], r["connect_p99"] = pct(subs, 0.5), pct(subs, 0.95), pct(subs, 0.99)
    r["connect_max"] = max(subs) if subs else float("nan")
    r["subs_connected"] = len(subs)
    # CPU of the storm: from the storm's launch to its last peer connected, minus the background's rate
    samples = []
    try:
        for line in open(os.path.join(out, base + ".cpu.tsv")):
            a = line.split()
            samples.append((float(a[0]), float(a[1]), float(a[2])))
    except (OSError, ValueError, IndexError):
        pass
    end = mono0 + max((t for _, t in connects), default=float("nan"))
    r["storm_cpu_s"] = r["cpu_per_join_ms"] = r["joins_per_core_s"] = r["dtls_cpu_per_handshake_ms"] = float("nan")
    if samples and end == end:
        c0, d0 = cpu_at(samples, mono0)
        c1, d1 = cpu_at(samples, end)
        b0, _ = cpu_at(samples, mono0 - 5)
        rate = (c0 - b0) / 5
        storm = (c1 - c0) - rate * (end - mono0)
        r["bg_cores"] = rate
        r["storm_window_s"] = end - mono0
        r["storm_cpu_s"] = storm
        n = len(connects)
        if n:
            r["cpu_per_join_ms"] = 1000 * storm / n
            r["joins_per_core_s"] = n / storm if storm > 0 else float("nan")
            if d1 - d0 > 0:
                r["dtls_cpu_per_handshake_ms"] = 1000 * (d1 - d0) / n
    before = load_json(os.path.join(out, base + ".health-before.json")).get("counters", {})
    after = load_json(os.path.join(out, base + ".health-after.json")).get("counters", {})
    for k in ("udp.send_dropped", "udp.handoff_dropped", "media.transports_failed"):
        if after:
            r[k] = after.get(k, 0) - before.get(k, 0)
    return r


def line(r):
    def f(k, fmt="%.2f"):
        v = r.get(k)
        return "-" if v is None or v != v else (fmt % v if isinstance(v, float) else str(v))
    veil = "veil" in r["tag"]
    return ("| %s | %s | %s / %s | %s | %s | %s / %s / %s / %s | %s | %s (%s) | %s / %s | %s | %s | %s | %s |" % (
        r["tag"], f("bg_fwd_pps", "%.0f"), f("storm_connected"), f("subs_connected"), f("storm_all_connected_s"),
        f("storm_ready_s"), f("connect_p50"), f("connect_p95"), f("connect_p99"), f("connect_max"),
        f("bg_cores"), f("bg_loss", "%.3f"), f("bg_gap_loss", "%.3f"), f("bg_p50", "%.1f"), f("bg_p99", "%.1f"),
        f("cpu_per_join_ms", "%.1f"), f("joins_per_core_s", "%.0f"),
        f("dtls_cpu_per_handshake_ms", "%.2f") if veil else "-",
        (f("udp.send_dropped") + " / " + f("udp.handoff_dropped") + " / " + f("media.transports_failed")) if veil
        else "-")) + (("  error: " + (r["bg_error"] or r["storm_error"])) if (r["bg_error"] or r["storm_error"]) else "")


HEADER = ("| run | background fwd pkt/s | storm peers connected / subscribers seen | all connected (s) | all tracks (s) "
          "| connect p50 / p95 / p99 / max (s) | background cores before | background loss % window (seq gaps) "
          "| background delay p50 / p99 (ms) | SFU CPU per join (ms) | joins/s per core | Veil DTLS CPU per handshake (ms) "
          "| Veil send_dropped / handoff_dropped / transports_failed |\n|" + "---|" * 13)


def main():
    out = sys.argv[1]
    if len(sys.argv) > 2:
        print(line(run(out, sys.argv[2])))
        return
    tags = sorted({os.path.basename(p)[: -len(".storm.json")] for p in glob.glob(os.path.join(out, "*.storm.json"))})
    print(HEADER)
    for t in tags:
        print(line(run(out, t)))


if __name__ == "__main__":
    main()
