"""Design probe for the 2-s year of issue 5 (not an engine: nothing in twin/ uses it). The departure recursion of
one serial line extended to stations of c servers,

    S_j[k] = max(D_{j-1}[k], time the server at the head of the free queue was freed),
    D_j[k] = max(k-th completion at j, D_{j+1}[k - b_j - c_{j+1}]),

with each station's completions in a heap ordered by (time, start count), busy-based failures drawn at each start
in start order (as both engines draw them) against each server's remaining time to failure, and the line's calendar
(start at calendar time, completion at to_calendar(to_working(start) + work and repairs)). Scrap is left out: a part
scrapped at completion frees its server while an earlier one may still be blocked, which this form does not follow.

On the `wheel` line in three forms (no failures or calendar; failures; failures and calendar, all without scrap) it
checks the exit times against the SimPy engine's (`--check N` parts) and times the recursion, its draws and the flow
engine on the same parts:

    python benchmarks/probe_recursion.py --parts 1400000 --check 20000
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from numba import njit

import twin
from twin.calendar import Calendar
from twin.engine import flow_kernel as fk
from twin.engine.des import simulate
from twin.engine.flow import simulate_flow
from twin.engine.model import RunConfig
from twin.streams import BLOCK, stream, unit_draw

SEED = 7


@njit(cache=True)
def _push(hc, hq, hs, off, n, c, q, s):
    i = n
    while i > 0:
        p = (i - 1) >> 1
        if hc[off + p] < c or (hc[off + p] == c and hq[off + p] < q):
            break
        hc[off + i] = hc[off + p]; hq[off + i] = hq[off + p]; hs[off + i] = hs[off + p]
        i = p
    hc[off + i] = c; hq[off + i] = q; hs[off + i] = s


@njit(cache=True)
def _pop(hc, hq, hs, off, n):
    n -= 1
    c, q, s = hc[off + n], hq[off + n], hs[off + n]
    i = 0
    while True:
        l = 2 * i + 1
        if l >= n:
            break
        r = l + 1
        m = l
        if r < n and (hc[off + r] < hc[off + l] or (hc[off + r] == hc[off + l] and hq[off + r] < hq[off + l])):
            m = r
        if hc[off + m] > c or (hc[off + m] == c and hq[off + m] > q):
            break
        hc[off + i] = hc[off + m]; hq[off + i] = hq[off + m]; hs[off + i] = hs[off + m]
        i = m
    hc[off + i] = c; hq[off + i] = q; hs[off + i] = s


@njit(cache=True)
def run(c, b, p, has_f, ttf, ttr, n_parts, D, always, cs, ce, cc, pw, per):
    K = c.shape[0]
    off = np.zeros(K + 1, np.int64)
    for j in range(K):
        off[j + 1] = off[j] + c[j]
    tot = off[K]
    hc = np.zeros(tot); hq = np.zeros(tot, np.int64); hs = np.zeros(tot, np.int64)
    idle = np.zeros(tot, np.int64); idle_t = np.zeros(tot); left = np.zeros(tot)
    ih = np.zeros(K, np.int64); ic = np.zeros(K, np.int64)
    fpos = np.zeros(K, np.int64); rpos = np.zeros(K, np.int64)
    for j in range(K):
        ic[j] = c[j]
        for s in range(c[j]):
            idle[off[j] + s] = s
            if has_f[j]:
                left[off[j] + s] = ttf[j, s]
        fpos[j] = c[j] if has_f[j] else 0
    hn = np.zeros(K, np.int64)
    started = np.zeros(K, np.int64)
    departed = np.zeros(K, np.int64)
    ops = 0
    while departed[K - 1] < n_parts:
        for j in range(K):
            cj = c[j]
            o = off[j]
            while departed[j] < n_parts:
                k = departed[j]
                need = min(k + cj, n_parts)
                while started[j] < need:
                    s_idx = started[j]
                    if j > 0 and departed[j - 1] <= s_idx:
                        break
                    a = 0.0 if j == 0 else D[j - 1, s_idx]
                    srv = idle[o + ih[j]]
                    f = idle_t[o + srv]
                    ih[j] = ih[j] + 1 if ih[j] + 1 < cj else 0
                    ic[j] -= 1
                    st = a if a > f else f
                    sw = st if always else fk.to_working(st, cs, ce, cc, pw, per)
                    work = p[j, s_idx]
                    total = work
                    if has_f[j]:
                        lft = left[o + srv]
                        while lft < work:
                            total += ttr[j, rpos[j]]
                            rpos[j] += 1
                            work -= lft
                            lft = ttf[j, fpos[j]]
                            fpos[j] += 1
                        left[o + srv] = lft - work
                    cend = sw + total if always else fk.to_calendar(sw + total, cs, cc, pw, per)
                    _push(hc, hq, hs, o, hn[j], cend, s_idx, srv)
                    hn[j] += 1
                    started[j] += 1
                if started[j] < need:
                    break
                r = 0.0
                if j < K - 1:
                    idx = k - b[j] - c[j + 1]
                    if idx >= 0:
                        if departed[j + 1] <= idx:
                            break
                        r = D[j + 1, idx]
                cmin = hc[o]; srv = hs[o]
                _pop(hc, hq, hs, o, hn[j])
                hn[j] -= 1
                d = cmin if cmin > r else r
                D[j, k] = d
                # the server joins the free queue's tail
                tail = ih[j] + ic[j]
                if tail >= cj:
                    tail -= cj
                idle[o + tail] = srv
                idle_t[o + srv] = d
                ic[j] += 1
                departed[j] += 1
                ops += 1
    return ops


def _draws(sc: twin.Scenario, n_parts: int) -> tuple[np.ndarray, ...]:
    """Each station's processing, failure and repair draws, from the streams both engines read."""
    ln = sc.spec.lines[0]
    k = len(ln.stations)
    c = np.array([st.servers for st in ln.stations], np.int64)
    b = np.array([st.buffer for st in ln.stations], np.int64)
    n_p = ((n_parts + int(c.max())) // BLOCK + 2) * BLOCK
    n_f = (n_parts // 50 // BLOCK + 5) * BLOCK
    p = np.zeros((k, n_p))
    ttf, ttr, has_f = np.zeros((k, n_f)), np.zeros((k, n_f)), np.zeros(k, np.bool_)
    for j, st in enumerate(ln.stations):
        p[j] = unit_draw(st.dist, st.cv)(stream(SEED, 0, ln.name, st.name, "process"), n_p) * st.cycle_s
        if st.mtbf_s is not None and st.mttr_s is not None:
            has_f[j] = True
            ttf[j] = unit_draw(st.ttf_dist, st.ttf_cv)(stream(SEED, 0, ln.name, st.name, "failure"), n_f) * st.mtbf_s
            ttr[j] = unit_draw(st.ttr_dist, st.ttr_cv)(stream(SEED, 0, ln.name, st.name, "repair"), n_f) * st.mttr_s
    return c, b, p, has_f, ttf, ttr


def _calendar(sc: twin.Scenario) -> tuple[Any, ...]:
    cal = Calendar.from_spec(sc.spec.lines[0].calendar or sc.spec.calendar)
    if cal.always_on:
        return True, np.zeros(1), np.zeros(1), np.zeros(2), 1.0, 1.0
    return (False, np.array([a for a, _ in cal.intervals]), np.array([e for _, e in cal.intervals]),
            np.array(cal._cum), float(cal.work_per_period_s), float(cal.period_s))


def _recursion(sc: twin.Scenario, n_parts: int) -> tuple[np.ndarray, float, float]:
    """The line's exit times, the recursion's CPU seconds and its draws' CPU seconds."""
    t0 = time.process_time()
    c, b, p, has_f, ttf, ttr = _draws(sc, n_parts)
    drawn = time.process_time() - t0
    cal = _calendar(sc)
    run(c, b, p, has_f, ttf, ttr, 10, np.zeros((len(c), 10)), *cal)  # compile or load first
    d = np.zeros((len(c), n_parts))
    t0 = time.process_time()
    run(c, b, p, has_f, ttf, ttr, n_parts, d, *cal)
    return d[-1], time.process_time() - t0, drawn


def _variants() -> dict[str, twin.Scenario]:
    base = twin.load("wheel").to_dict()
    out = {}
    for name, keep_fail, keep_cal in (("no failures, no calendar", False, False), ("failures", True, False),
                                      ("failures and calendar", True, True)):
        d = {key: value for key, value in base.items() if key != "calendar" or keep_cal}
        d["lines"] = [{**ln, "stations": [{key: value for key, value in st.items()
                                           if key != "scrap" and (keep_fail or key not in ("mtbf_s", "mttr_s"))}
                                          for st in ln["stations"]]} for ln in base["lines"]]
        out[name] = twin.from_dict(d)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", type=int, default=1_400_000)
    ap.add_argument("--check", type=int, default=20_000, help="parts compared with the SimPy engine (0: none)")
    args = ap.parse_args(argv)
    for name, sc in _variants().items():
        if args.check:
            exits, _, _ = _recursion(sc, args.check)
            res = simulate(sc, RunConfig(horizon_s=float(exits[-1]) + 1e-6, warmup_s=0.0, seed=SEED, trace=True))
            assert res.trace is not None
            des = np.sort(res.trace.exit_s)[:args.check]
            diff = float(np.max(np.abs(des - exits[:len(des)]))) if len(des) == args.check else float("nan")
            print(f"wheel, {name}: {args.check:,} parts, largest difference to the SimPy engine {diff} s")
        exits, rec_s, draw_s = _recursion(sc, args.parts)
        ops = args.parts * len(sc.spec.lines[0].stations)
        cfg = RunConfig(horizon_s=float(exits[-1]) + 1e-6, warmup_s=0.0, seed=SEED)
        simulate_flow(sc, RunConfig(horizon_s=3600.0, warmup_s=0.0, seed=SEED))
        t0 = time.process_time()
        flow = simulate_flow(sc, cfg)
        flow_s = time.process_time() - t0
        print(f"wheel, {name}: recursion {rec_s / ops * 1e9:.0f} ns a station-operation + draws "
              f"{draw_s / ops * 1e9:.0f} ns; flow engine {flow_s / flow.station_operations * 1e9:.0f} ns "
              f"({args.parts:,} parts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
