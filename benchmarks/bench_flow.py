"""Flow-engine benchmark: the compiled max-plus recursion against the plain SimPy baseline, in the same run.

Run from the project root::

    python benchmarks/bench_flow.py [--parts 100000] [--reps 100] [--json benchmarks/results/bench_flow.json]

What is measured (CPU seconds of this process, `time.process_time()`, unless it says wall)
1. **One replication**: the 20-station exponential line of bench_engine.py (mean 10 s, buffers of 2) until
   `--parts` parts have left it. Plain SimPy (`benchmarks/plain_simpy.py`) runs `--plain-rounds` times, the flow
   engine 7 times after one untimed call (compilation is measured apart, see 3); medians. Each flow run includes
   everything a replication costs: opening the random streams, drawing every variate, the recursion, the result.
2. **`--reps` replications at once**: `twin.experiment.run_plan` with the flow engine, each replication the same
   line and part count, on 1 and on 2 threads (the compiled kernels release the GIL). Cost per
   replication-station-operation in CPU seconds and in wall seconds.
3. **Compilation**: a fresh interpreter with an empty numba cache runs one tiny replication (compile + run), then a
   second fresh interpreter with that cache does the same (load + run).
4. **Growth**: CPU time against parts N (1x, 2x, 4x, 8x --parts; 20 stations) and against stations K (5, 10, 20,
   40; N = --parts); the
   slope of log(time) on log(size) is printed (1.0 = linear).
5. **Memory**: tracemalloc peak of one replication for N = 10^4, 10^5, 10^6 parts (KPIs only): it must not grow
   with N (draws are fetched a block at a time, times live in ring buffers as deep as a buffer).
6. **One simulated year** of every built-in line in the flow engine's class, one replication.

Figures only: nothing is asserted. Markdown on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import twin  # noqa: E402
from benchmarks.bench_engine import log, make_scenario, markdown, run_plain_line  # noqa: E402
from twin.calendar import YEAR_S  # noqa: E402
from twin.engine.flow import flow_problem, simulate_flow  # noqa: E402
from twin.engine.model import RunConfig  # noqa: E402
from twin.experiment import plan, run_plan  # noqa: E402
from twin.scenario import builtin_names  # noqa: E402

SEED = 1


def flow_cpu(scenario: twin.Scenario, parts: int) -> tuple[float, int]:
    gc.collect()
    t = time.process_time()
    res = simulate_flow(scenario, RunConfig(horizon_s=1e15, seed=SEED, stop_after_parts=parts))
    return time.process_time() - t, res.station_operations


def single(parts: int, plain_rounds: int) -> dict[str, Any]:
    sc = make_scenario(20)
    flow_cpu(sc, 1000)
    flow = [flow_cpu(sc, parts) for _ in range(7)]
    flow_ns = statistics.median(t / ops for t, ops in flow) * 1e9
    plain = []
    for r in range(plain_rounds):
        log(f"  plain SimPy, round {r + 1} of {plain_rounds} ({parts:,} parts)")
        gc.collect()
        t = time.process_time()
        out = run_plain_line(20, parts)
        plain.append((time.process_time() - t) / out.station_operations)
    plain_ns = statistics.median(plain) * 1e9
    return {"parts": parts, "station_operations": flow[0][1], "flow_ns_per_op": flow_ns, "plain_ns_per_op": plain_ns,
            "speedup": plain_ns / flow_ns}


def many(parts: int, reps: int, plain_ns: float) -> list[dict[str, Any]]:
    sc = make_scenario(20)
    the_plan = plan(sc, hours=1e9, warmup_hours=0, reps=reps, parts=parts, engine="flow")
    out = []
    for threads in (1, 2):
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        res = run_plan(sc, the_plan, workers=threads)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        ops = res.station_operations
        out.append({"threads": threads, "replications": reps, "rep_station_operations": ops,
                    "cpu_ns_per_op": cpu / ops * 1e9, "wall_ns_per_op": wall / ops * 1e9,
                    "speedup_cpu": plain_ns / (cpu / ops * 1e9), "speedup_wall": plain_ns / (wall / ops * 1e9),
                    "wall_s": wall})
    return out


COMPILE_SNIPPET = """
import time
t = time.perf_counter()
import twin
from twin.engine.flow import simulate_flow
from twin.engine.model import RunConfig
sc = twin.from_dict({"scenario": {"name": "c"}, "lines": [{"name": "L", "stations": [
    {"name": "A", "cycle_s": 10.0, "dist": "exp", "buffer": 1},
    {"name": "B", "cycle_s": 10.0, "dist": "exp", "mtbf_s": 500.0, "mttr_s": 50.0, "servers": 2}]}]})
t1 = time.perf_counter()
simulate_flow(sc, RunConfig(horizon_s=3600.0))
sc1 = twin.from_dict({"scenario": {"name": "d"}, "lines": [{"name": "L", "stations": [
    {"name": "A", "cycle_s": 10.0, "dist": "exp"}]}]})
simulate_flow(sc1, RunConfig(horizon_s=3600.0))
print(time.perf_counter() - t1)
"""


def compilation() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], capture_output=True, text=True, env=env,
                                 check=True)
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return {"compile_and_run_s": times[0], "cached_load_and_run_s": times[1]}


def slope(sizes: list[int], seconds: list[float]) -> float:
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def growth(parts: int) -> dict[str, Any]:
    sizes_n = [parts, parts * 2, parts * 4, parts * 8]
    t_n = [statistics.median(flow_cpu(make_scenario(20), n)[0] for _ in range(3)) for n in sizes_n]
    sizes_k = [5, 10, 20, 40]
    n_k = parts
    t_k = [statistics.median(flow_cpu(make_scenario(k), n_k)[0] for _ in range(3)) for k in sizes_k]
    return {"parts": sizes_n, "cpu_s_by_parts": t_n, "slope_parts": slope(sizes_n, t_n),
            "stations": sizes_k, "parts_for_stations": n_k, "cpu_s_by_stations": t_k,
            "slope_stations": slope(sizes_k, t_k)}


def memory() -> list[dict[str, Any]]:
    sc = make_scenario(20)
    out = []
    for parts in (10_000, 100_000, 1_000_000):
        gc.collect()
        tracemalloc.start()
        simulate_flow(sc, RunConfig(horizon_s=1e15, seed=SEED, stop_after_parts=parts))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out.append({"parts": parts, "tracemalloc_peak_mib": peak / 2**20})
    return out


def years() -> list[dict[str, Any]]:
    out = []
    for name in builtin_names():
        sc = twin.load(name)
        cfg = RunConfig(horizon_s=YEAR_S, warmup_s=0.0, seed=SEED)
        problem = flow_problem(sc, cfg)
        if problem is not None:
            out.append({"line": name, "in_class": False, "why": problem})
            continue
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        res = simulate_flow(sc, cfg)
        out.append({"line": name, "in_class": True, "wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c,
                    "station_operations": res.station_operations})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--plain-rounds", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    log("3. compilation (fresh interpreters)")
    comp = compilation()
    log("1. one replication")
    one = single(args.parts, args.plain_rounds)
    log(f"2. {args.reps} replications at once")
    batch = many(args.parts, args.reps, one["plain_ns_per_op"])
    log("4. growth in parts and stations")
    grow = growth(args.parts)
    log("5. memory")
    mem = memory()
    log("6. one simulated year of each built-in line in class")
    year = years()
    print(f"### Flow engine vs plain SimPy (20-station exponential line, {args.parts:,} parts)\n")
    print(markdown(["run", "ns per station-operation", "x plain SimPy"], [
        ["plain SimPy (CPU)", f"{one['plain_ns_per_op']:,.0f}", "1"],
        ["flow, 1 replication (CPU)", f"{one['flow_ns_per_op']:.1f}", f"{one['speedup']:,.0f}"],
        *[[f"flow, {b['replications']} replications, {b['threads']} thread(s) ({kind})",
           f"{b[key]:.1f}", f"{one['plain_ns_per_op'] / b[key]:,.0f}"]
          for b in batch for kind, key in (("CPU", "cpu_ns_per_op"), ("wall", "wall_ns_per_op"))],
    ]))
    print(f"\ncompilation: {comp['compile_and_run_s']:.1f} s the first time, "
          f"{comp['cached_load_and_run_s']:.2f} s from the cache (numba cache=True)")
    print(f"growth: slope {grow['slope_parts']:.2f} in parts ({', '.join(f'{n:,}' for n in grow['parts'])}), "
          f"{grow['slope_stations']:.2f} in stations ({', '.join(map(str, grow['stations']))})")
    print("memory (tracemalloc peak, one replication): "
          + ", ".join(f"{m['parts']:,} parts {m['tracemalloc_peak_mib']:.2f} MiB" for m in mem))
    print("\none simulated year, one replication:")
    for y in year:
        if y["in_class"]:
            print(f"- {y['line']}: {y['wall_s']:.2f} s wall, {y['station_operations']:,} station-operations")
        else:
            print(f"- {y['line']}: not in the flow engine's class ({y['why']})")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"single": one, "many": batch, "compilation": comp, "growth": grow,
                                         "memory": mem, "years": year}, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
