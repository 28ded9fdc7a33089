"""The engine-speed suite: plain SimPy against the twin SimPy engine and the flow engine, over a grid of sizes.

Run from the project root (about 10-15 minutes on a 2-core machine, most of it the year of jinhua)::

    python benchmarks/suite.py --json benchmarks/results/suite.json > benchmarks/results/suite.md

What is measured (the line of bench_engine.py: K single-server exponential stations of mean 10 s, buffers of 2,
blocking after service, seed 0, each run ending when N parts have left; K x N = station-operations)
1. **The grid**, K = 5, 20, 100 stations x N = 10^4, 10^5, 10^6 parts, one run per implementation and cell:
   - plain SimPy (`benchmarks/plain_simpy.py`, the usual Container-of-slots + Store idiom);
   - the twin SimPy engine with state shares (always on), trace off; and with the trace on;
   - the flow engine, one replication (median of 3 runs: the small cells last milliseconds);
   - the flow engine, `--reps` replications of the same line at once, on one thread per core (the compiled kernels
     release the GIL), per replication-station-operation in CPU and in wall time.
   CPU time is `time.process_time()` of this process (every thread), around the run and its model construction.
   Runs above a budget of station-operations are skipped (plain SimPy `--plain-max-ops`, the SimPy engine
   `--des-max-ops`, with its trace `--trace-max-ops`): plain SimPy at 10^6 parts x 100 stations would take about
   half an hour. Their cells show an estimate, marked "≈" and "(extrapolated)": the measured CPU per
   station-operation of the same implementation at the same K and the largest N measured, times K x N (the slopes
   below are close to 1, so the cost is linear in N).
2. **Growth**: per implementation, least squares of log(CPU s) on log N and log K over its measured cells of at
   least 10^5 station-operations (smaller ones are dominated by fixed costs): the slopes in N and K (1 = linear).
3. **Peak memory**: for every grid run the growth of this process's resident set during the run (Linux VmHWM,
   reset just before the run, minus VmRSS before it; memory freed earlier and kept by the allocator can hide part
   of a run's growth, so read it as an upper bound of what stays and a lower bound of what a fresh process
   needs); and the tracemalloc peak (Python heap, numpy included) of one replication against N at K = 20 — the
   SimPy engine in a fresh subprocess per size (bench_engine.py's memory runs: 10^4 to 10^6 station-operations,
   tracemalloc makes it several times slower), the flow engine in this process (bench_flow.py's: 10^4 to 10^6
   parts).
4. **One simulated year of `jinhua`** (the whole cluster, one replication, no warm-up), on the engine `auto`
   chooses: CPU and wall time, station-operations per CPU second, peak RSS growth, vehicles made.

Figures only: nothing is asserted. Markdown on stdout, progress on stderr, every figure in `--json PATH`.
Figures from a shared machine vary from run to run by 10-30%; the ratios and slopes are the stable part.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import twin  # noqa: E402
from benchmarks.bench_engine import (  # noqa: E402
    Outcome, log, make_scenario, markdown, memory_series, proc_status_mib, reset_peak_rss, run_config,
    run_plain_line, run_twin_line, timed,
)
from benchmarks.bench_flow import memory as flow_memory  # noqa: E402
from twin.bench import machine  # noqa: E402
from twin.calendar import HOURS_PER_YEAR  # noqa: E402
from twin.engine.flow import simulate_flow  # noqa: E402
from twin.experiment import plan, run_plan  # noqa: E402

IMPLS = ("plain", "des", "des_trace", "flow", "flow_reps")
LABELS = {"plain": "plain SimPy", "des": "SimPy engine, shares on, trace off", "des_trace": "SimPy engine, trace on",
          "flow": "flow, 1 replication", "flow_reps": "flow, R replications at once"}
SLOPE_MIN_OPS = 100_000
FLOW_REPEAT = 3


# ---------------------------------------------------------------------------------------------- one measurement
def measured(fn: Callable[[], Outcome]) -> dict[str, Any]:
    """CPU and wall seconds of one run (after a garbage collection) and the growth of the resident set."""
    rss_before = proc_status_mib("VmRSS")
    reset = reset_peak_rss()
    out, cpu_s, wall_s = timed(fn)
    hwm = proc_status_mib("VmHWM") if reset else None
    # RSS can shrink between the two reads (freed pages); the run then added nothing measurable: 0
    growth = None if hwm is None or rss_before is None else max(0.0, hwm - rss_before)
    return {"station_operations": out.station_operations, "finished": out.finished, "cpu_s": cpu_s,
            "wall_s": wall_s, "ns_per_op": cpu_s / out.station_operations * 1e9, "rss_growth_mib": growth}


def run_flow_line(scenario: twin.Scenario, parts: int) -> Outcome:
    res = simulate_flow(scenario, run_config(parts, trace=False))
    return Outcome(res.station_operations, int(res.line_finished_total.sum()), float(res.end_s))


def flow_single(scenario: twin.Scenario, parts: int) -> dict[str, Any]:
    runs = [measured(lambda: run_flow_line(scenario, parts)) for _ in range(FLOW_REPEAT)]
    best = sorted(runs, key=lambda r: r["cpu_s"])[len(runs) // 2]
    return {**best, "cpu_s_runs": [r["cpu_s"] for r in runs]}


def flow_reps(scenario: twin.Scenario, parts: int, reps: int, threads: int) -> dict[str, Any]:
    the_plan = plan(scenario, hours=1e9, warmup_hours=0, reps=reps, seed=0, parts=parts, engine="flow")

    def go() -> Outcome:
        res = run_plan(scenario, the_plan, workers=threads)
        return Outcome(res.station_operations, sum(int(r.line_finished_total.sum()) for r in res.replications),
                       max(r.end_s for r in res.replications))

    row = measured(go)
    row["replications"] = reps
    row["threads"] = threads
    row["wall_ns_per_op"] = row["wall_s"] / row["station_operations"] * 1e9
    return row


# ---------------------------------------------------------------------------------------------- the grid
def runners_for(sc: twin.Scenario, k: int, n: int, reps: int, threads: int) -> dict[str, Callable[[], dict[str, Any]]]:
    return {
        "plain": lambda: measured(lambda: run_plain_line(k, n)),
        "des": lambda: measured(lambda: run_twin_line(sc, n, trace=False)),
        "des_trace": lambda: measured(lambda: run_twin_line(sc, n, trace=True)),
        "flow": lambda: flow_single(sc, n),
        "flow_reps": lambda: flow_reps(sc, n, reps, threads),
    }


def grid(stations: Sequence[int], parts: Sequence[int], reps: int, threads: int,
         caps: dict[str, float]) -> list[dict[str, Any]]:
    cells = []
    for k in stations:
        sc = make_scenario(k)
        run_twin_line(sc, 200, trace=False)  # untimed: first calls, lazy imports, numba kernels for this K
        run_flow_line(sc, 1000)
        for n in parts:
            ops = k * n
            cell: dict[str, Any] = {"stations": k, "parts": n, "station_operations_nominal": ops}
            runners = runners_for(sc, k, n, reps, threads)
            for impl in IMPLS:
                if ops > caps.get(impl, float("inf")):
                    cell[impl] = {"skipped": f"K x N = {ops:,} > --{impl.replace('_', '-')}-max-ops "
                                             f"{caps[impl]:,.0f}"}
                    continue
                t = time.perf_counter()
                cell[impl] = runners[impl]()
                log(f"  K={k:>3} N={n:>9,} {LABELS[impl]:<36} {cell[impl]['cpu_s']:8.2f} s CPU "
                    f"{cell[impl]['ns_per_op']:10.1f} ns/op  ({time.perf_counter() - t:.1f} s)")
            cells.append(cell)
    extrapolate(cells)
    return cells


def extrapolate(cells: list[dict[str, Any]]) -> None:
    """Skipped cells: the CPU per station-operation at the same K and the largest N measured, times K x N."""
    for cell in cells:
        for impl in IMPLS:
            if "skipped" not in cell[impl]:
                continue
            same_k = [c for c in cells if c["stations"] == cell["stations"] and "cpu_s" in c[impl]]
            if not same_k:
                continue
            ref = max(same_k, key=lambda c: c["parts"])
            ns = ref[impl]["ns_per_op"]
            cell[impl]["extrapolated_ns_per_op"] = ns
            cell[impl]["extrapolated_cpu_s"] = ns * cell["station_operations_nominal"] / 1e9
            cell[impl]["extrapolated_from_parts"] = ref["parts"]


def slopes(cells: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for impl in IMPLS:
        pts = [(c["parts"], c["stations"], c[impl]["cpu_s"]) for c in cells
               if "cpu_s" in c[impl] and c[impl]["station_operations"] >= SLOPE_MIN_OPS]
        ns = {p[0] for p in pts}
        ks = {p[1] for p in pts}
        if len(pts) < 3 or len(ns) < 2 or len(ks) < 2:
            out[impl] = {"slope_parts": None, "slope_stations": None, "cells": len(pts)}
            continue
        a = np.array([[1.0, np.log(n), np.log(k)] for n, k, _ in pts])
        coef, *_ = np.linalg.lstsq(a, np.log([t for *_, t in pts]), rcond=None)
        out[impl] = {"slope_parts": float(coef[1]), "slope_stations": float(coef[2]), "cells": len(pts)}
    return out


# ---------------------------------------------------------------------------------------------- jinhua
def jinhua_year(hours: float) -> dict[str, Any]:
    sc = twin.load("jinhua")
    the_plan = plan(sc, hours=hours, warmup_hours=0, reps=1)
    run_plan(sc, plan(sc, hours=1.0, warmup_hours=0, reps=1), workers=1)  # untimed: imports, kernels
    holder: dict[str, Any] = {}

    def go() -> Outcome:
        res = run_plan(sc, the_plan, workers=1)
        holder["res"] = res
        rep = res.replications[0]
        return Outcome(res.station_operations, int(rep.line_finished_total.sum()), rep.end_s)

    row = measured(go)
    res = holder["res"]
    row.update({"hours": hours, "engine": res.engine, "engine_reason": res.engine_reason,
                "ops_per_cpu_s": row["station_operations"] / row["cpu_s"],
                "vehicles_per_year": res.throughput.per_year.mean})
    return row


# ---------------------------------------------------------------------------------------------- reporting
def fmt_ns(entry: dict[str, Any], key: str = "ns_per_op") -> str:
    if key in entry:
        return f"{entry[key]:,.1f}" if entry[key] < 1000 else f"{entry[key]:,.0f}"
    if "extrapolated_cpu_s" in entry and key == "ns_per_op":
        cpu_s = entry["extrapolated_cpu_s"]
        return f"skipped (≈{cpu_s / 60:,.0f} min)" if cpu_s >= 120 else f"skipped (≈{cpu_s:,.0f} s)"
    return "skipped"


def fmt_mib(entry: dict[str, Any]) -> str:
    value = entry.get("rss_growth_mib")
    return "—" if value is None else f"{max(0.0, value):,.1f}"


def report(doc: dict[str, Any]) -> str:
    cells, reps = doc["grid"], doc["config"]["reps"]
    parts = [(f"## Engine speed: CPU ns per station-operation (K stations x N parts = station-operations; "
              f"flow, R = {reps} replications at once on {doc['config']['threads']} threads)\n")]
    rows = []
    for c in cells:
        plain = c["plain"]
        speedup = (f"{plain['ns_per_op'] / c['flow']['ns_per_op']:,.0f}" if "ns_per_op" in plain
                   else f"≈{plain['extrapolated_ns_per_op'] / c['flow']['ns_per_op']:,.0f}"
                   if "extrapolated_ns_per_op" in plain else "")
        rows.append([f"{c['stations']}", f"{c['parts']:,}", f"{c['station_operations_nominal']:,}", fmt_ns(plain),
                     fmt_ns(c["des"]), fmt_ns(c["des_trace"]), fmt_ns(c["flow"]), fmt_ns(c["flow_reps"]),
                     fmt_ns(c["flow_reps"], "wall_ns_per_op"), speedup])
    parts.append(markdown(["K", "N", "station-ops", "plain SimPy", "SimPy engine", "SimPy engine, trace",
                           "flow, 1 rep", f"flow, {reps} reps (CPU)", f"flow, {reps} reps (wall)",
                           "flow x plain"], rows))
    skipped = sorted({c[i]["skipped"].split(" > ")[1] for c in cells for i in IMPLS if "skipped" in c[i]})
    if skipped:
        parts.append(f"\nSkipped to keep the suite short ({'; '.join(skipped)}); \"≈\" is the CPU time the run "
                     "would take, extrapolated: the ns per station-operation measured at the same K and the largest "
                     "N run, times K x N.")
    parts.append("\n## Growth: slope of log CPU time in log N and log K (cells of >= 10^5 station-operations)\n")
    parts.append(markdown(["implementation", "slope in N", "slope in K", "cells"], [
        [LABELS[i], "—" if s["slope_parts"] is None else f"{s['slope_parts']:.2f}",
         "—" if s["slope_stations"] is None else f"{s['slope_stations']:.2f}", str(s["cells"])]
        for i, s in doc["slopes"].items()]))
    parts.append("\n## Peak memory: resident-set growth during each run, MiB (VmHWM reset before it, minus VmRSS)\n")
    parts.append(markdown(["K", "N", *[LABELS[i] for i in IMPLS]],
                          [[f"{c['stations']}", f"{c['parts']:,}", *[fmt_mib(c[i]) for i in IMPLS]] for c in cells]))
    mem = doc.get("memory")
    if mem:
        des = ", ".join(f"{m['station_operations']:,} ops {m['tracemalloc_peak_mib']:.2f} MiB" for m in mem["des"])
        flow = ", ".join(f"{m['parts']:,} parts {m['tracemalloc_peak_mib']:.2f} MiB" for m in mem["flow"])
        parts.append(f"\ntracemalloc peak of one replication, K = 20: SimPy engine (trace off, fresh process per "
                     f"size) {des}; flow {flow}.")
    y = doc["jinhua_year"]
    parts.append(f"\n## One simulated year of jinhua ({y['hours']:,.0f} h, one replication, engine {y['engine']}: "
                 f"{y['engine_reason']})\n")
    parts.append(markdown(["station-ops", "CPU s", "wall s", "station-ops / CPU s", "µs / op", "RSS growth MiB",
                           "vehicles / year"], [[
                               f"{y['station_operations']:,}", f"{y['cpu_s']:.1f}", f"{y['wall_s']:.1f}",
                               f"{y['ops_per_cpu_s']:,.0f}", f"{y['ns_per_op'] / 1000:.2f}", fmt_mib(y),
                               f"{y['vehicles_per_year']:,.0f}"]]))
    m = doc["machine"]
    parts.append(f"\ntwin {doc['version']}, Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}, "
                 f"simpy {m['simpy']}, {m['cpu_count']} CPUs; suite wall time {doc['total_wall_s'] / 60:.1f} min.")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------- command line
def int_list(text: str) -> list[int]:
    try:
        values = [int(float(v)) for v in text.replace("_", "").split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"every value must be >= 1, got {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--stations", type=int_list, default=[5, 20, 100], help="K values (default 5,20,100)")
    ap.add_argument("--parts", type=int_list, default=[10_000, 100_000, 1_000_000],
                    help="N values (default 10000,100000,1000000)")
    ap.add_argument("--reps", type=int, default=10, help="flow replications run at once (default 10)")
    ap.add_argument("--threads", type=int, default=None, help="threads for them (default: one per core)")
    ap.add_argument("--plain-max-ops", type=float, default=2e6, help="skip plain SimPy above (default 2e6)")
    ap.add_argument("--des-max-ops", type=float, default=5e6, help="skip the SimPy engine above (default 5e6)")
    ap.add_argument("--des-trace-max-ops", type=float, default=2e6, help="skip it with a trace above (default 2e6)")
    ap.add_argument("--jinhua-hours", type=float, default=HOURS_PER_YEAR, help="simulated hours (default a year)")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    ap.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write every figure as JSON")
    args = ap.parse_args(argv)
    threads = args.threads or os.cpu_count() or 1
    caps = {"plain": args.plain_max_ops, "des": args.des_max_ops, "des_trace": args.des_trace_max_ops}
    started = time.perf_counter()
    log("the grid")
    cells = grid(args.stations, args.parts, args.reps, threads, caps)
    memory: dict[str, Any] | None = None
    if not args.no_memory:
        log("tracemalloc peaks, K = 20")
        memory = {"des": memory_series(20, (500, 5_000, 50_000)), "flow": flow_memory()}
    log(f"jinhua, {args.jinhua_hours:g} h, one replication")
    year = jinhua_year(args.jinhua_hours)
    doc = {
        "version": twin.__version__,
        "machine": machine(),
        "config": {"stations": args.stations, "parts": args.parts, "reps": args.reps, "threads": threads,
                   "max_ops": caps, "cycle_s": 10.0, "buffer": 2, "dist": "exp", "seed": 0,
                   "slope_min_ops": SLOPE_MIN_OPS, "flow_repeat": FLOW_REPEAT},
        "grid": cells,
        "slopes": slopes(cells),
        "memory": memory,
        "jinhua_year": year,
        "total_wall_s": time.perf_counter() - started,
    }
    print(report(doc))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
