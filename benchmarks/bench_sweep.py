"""Sweep scaling and executor overhead.

Run from the project root::

    python benchmarks/bench_sweep.py [--points 20] [--reps 2] [--hours 14]

1. A sweep of `--points` grid points x `--reps` replications of the 20-station exponential line on the SimPy
   engine (each task about half a second), run with 1 worker (this process) and with a pool of 2 processes:
   wall time and the speed-up (target >= 1.8x on this 2-core machine).
2. Overhead per task: 200 tiny tasks (a 60-second run each) in this process, in a process pool and on a Dask
   LocalCluster (processes); (wall time - the serial wall time) / tasks.
Figures only; Markdown on stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_engine import make_scenario  # noqa: E402
from twin.executors import DaskExecutor, PoolExecutor, SerialExecutor  # noqa: E402
from twin.experiment import plan  # noqa: E402
from twin.sweep import Setting, run_sweep  # noqa: E402


def timed(executor, scenario, settings, the_plan) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    try:
        run_sweep(scenario, settings, the_plan, executor)
    finally:
        executor.close()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--hours", type=float, default=14.0)
    args = ap.parse_args()
    sc = make_scenario(20)
    settings = [Setting("L", "S05", "cycle_s", tuple(9.0 + 0.1 * i for i in range(args.points)))]
    the_plan = plan(sc, hours=args.hours, warmup_hours=1, reps=args.reps, engine="des")
    one = timed(SerialExecutor(), sc, settings, the_plan)
    two = timed(PoolExecutor(2), sc, settings, the_plan)
    tiny = [Setting("L", "S05", "cycle_s", tuple(9.0 + 0.01 * i for i in range(100)))]
    tiny_plan = plan(sc, hours=60 / 3600, warmup_hours=0, reps=2, engine="des")
    base = timed(SerialExecutor(), sc, tiny, tiny_plan)
    pool = timed(PoolExecutor(2), sc, tiny, tiny_plan)
    dask = timed(DaskExecutor(local=True, processes=True, workers=2), sc, tiny, tiny_plan)
    tasks = 200
    print(f"## Sweep of {args.points} points x {args.reps} replications (20-station line, {args.hours:g} h, SimPy "
          "engine)\n")
    print("| run | wall s | speed-up |")
    print("|:--|--:|--:|")
    print(f"| 1 worker (this process) | {one:.1f} | 1.00 |")
    print(f"| process pool, 2 workers | {two:.1f} | {one / two:.2f} |")
    print(f"\n## Overhead per task ({tasks} tiny tasks)\n")
    print("| executor | wall s | overhead per task |")
    print("|:--|--:|--:|")
    print(f"| serial | {base:.2f} | — |")
    print(f"| process pool (2) | {pool:.2f} | {(pool - base / 2) / tasks * 1000:.1f} ms (vs half the serial time) |")
    print(f"| Dask LocalCluster (2 processes, start-up included) | {dask:.2f} | "
          f"{(dask - base / 2) / tasks * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
