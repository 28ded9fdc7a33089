"""One simulated year of a built-in scenario on the flow engine, one replication, no warm-up: CPU seconds and ns a
station-operation (min over rounds, each in a fresh run after a short compile-and-load run).

    python benchmarks/bench_year.py jinhua --rounds 3

To compare two versions on this shared machine, alternate processes of each (their speed drifts with the load):
    for r in 1 2 3; do for d in ../old ../new; do PYTHONPATH=$d python benchmarks/bench_year.py jinhua --rounds 1; done; done
"""

from __future__ import annotations

import argparse
import time

import twin
from twin.engine.flow import simulate_flow
from twin.engine.model import RunConfig

YEAR_S = 365 * 24 * 3600.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="jinhua")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    sc = twin.load(args.scenario)
    t0 = time.perf_counter()
    simulate_flow(sc, RunConfig(horizon_s=24 * 3600.0, warmup_s=0.0, seed=1))
    load_s = time.perf_counter() - t0
    best = float("inf")
    ops = 0
    for _ in range(args.rounds):
        c = time.process_time()
        res = simulate_flow(sc, RunConfig(horizon_s=YEAR_S, warmup_s=0.0, seed=args.seed))
        best = min(best, time.process_time() - c)
        ops = res.station_operations
    print(f"{args.scenario}: one year, {ops:,} station-operations, {best:.2f} s CPU (min of {args.rounds}), "
          f"{best / ops * 1e9:.0f} ns a station-operation; compile or load first: {load_s:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
