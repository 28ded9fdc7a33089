"""Cost of active-period detection (issue: <= 15% on a run's time, memory O(stations + active periods)).

Runs the 20-station exponential line of bench_engine.py (cycle 10 s, buffers 2) to a number of parts three ways,
alternating rounds and taking medians of CPU time: plain (state shares only), with active periods recorded as
the run goes, and the analysis of those periods (average active period + shifting bottleneck). The overhead is the
median over rounds of the ratio within a round (the machine's speed drifts between rounds). Prints a Markdown
table. Periods are recorded as `twin bottleneck` records them: pruned (`RunConfig.prune_periods`, which only the
flow engine's single-server kernel does), unless --all-periods.
With --scenario NAME --hours H it runs a scenario file instead (a real line, or the whole jinhua cluster) for H
hours, no warm-up, and analyses on the main calendar's working clock, as `twin bottleneck` does.
With --fresh each round is a new process (after a short compile-and-load run): one plain run and one recording,
as a user's run is, without the memory earlier rounds freed; the recording's ratio only.
With --extra each round is a plain run and a recording in one process, in alternating order, each result dropped
inside its own timing (so that freeing one run's memory is not timed in the next): the median extra time of the
recording, its ratio, and its page faults and system time; no analysis.
Run: python benchmarks/bench_bottleneck.py [--engine des|flow] [--parts 10000] [--repeat 3] [--all-periods]
     [--scenario jinhua --hours 2000] [--fresh | --extra]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import twin
from twin.analytics.active_period import (average_active_period, can_prune, periods_from_recorded,
                                          shifting_bottleneck)
from twin.calendar import Calendar
from twin.engine.des import simulate
from twin.engine.flow import simulate_flow


def line(stations: int) -> twin.Scenario:
    return twin.from_dict({"scenario": {"name": "bench"}, "lines": [{"name": "L", "stations": [
        {"name": f"S{i:02d}", "cycle_s": 10.0, "dist": "exp", "buffer": 2} for i in range(stations)]}]})


def run_config(args: argparse.Namespace, sc: twin.Scenario, record: bool) -> twin.RunConfig:
    """A round's run: the scenario over --hours (pruned where it can be), or the line to --parts."""
    prune = not args.all_periods
    if args.scenario:
        return twin.RunConfig(horizon_s=args.hours * 3600.0, seed=sc.seed, active_periods=record,
                              prune_periods=prune and can_prune(sc))
    return twin.RunConfig(horizon_s=1e12, stop_after_parts=args.parts, active_periods=record, prune_periods=prune)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=20)
    ap.add_argument("--parts", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engine", choices=("des", "flow"), default="des")
    ap.add_argument("--all-periods", action="store_true", help="record every active period (no pruning)")
    ap.add_argument("--scenario", help="a scenario file or built-in line instead of the exponential line")
    ap.add_argument("--hours", type=float, default=2000.0, help="with --scenario: the simulated hours")
    ap.add_argument("--fresh", action="store_true", help="each round in a new process, recording's ratio only")
    ap.add_argument("--extra", action="store_true", help="the recording's extra time, each result dropped in it")
    ap.add_argument("--one-round", type=int, help=argparse.SUPPRESS)  # (--fresh: the round a child process runs)
    args = ap.parse_args()
    if args.fresh:
        fresh(args)
        return
    if args.extra:
        extra(args)
        return
    sc = twin.load(args.scenario) if args.scenario else line(args.stations)
    to_working = Calendar.from_spec(sc.spec.calendar).to_working
    engine = simulate_flow if args.engine == "flow" else simulate
    prune = not args.all_periods
    engine(sc, twin.RunConfig(horizon_s=1e12, stop_after_parts=100, active_periods=True,
                              prune_periods=prune))  # compile / warm up
    plain_t, rec_t, analysis_t = [], [], []
    periods = ops = left_out = 0
    rounds = [args.one_round] if args.one_round is not None else range(args.repeat)
    for round_no in rounds:
        # alternate the order, and compare each round's pair: the machine's speed drifts between rounds
        for record in (False, True) if round_no % 2 == 0 else (True, False):
            t0 = time.process_time()
            res = engine(sc, run_config(args, sc, record))
            dt = time.process_time() - t0
            ops = res.station_operations
            if not record:
                plain_t.append(dt)
                continue
            rec_t.append(dt)
            if args.one_round is not None:
                continue
            t0 = time.process_time()
            assert res.active_periods is not None
            window = (0.0, to_working(res.end_s))
            p = periods_from_recorded(res.active_periods, window=window, pruned=res.pruned_periods)
            average_active_period(p)
            shifting_bottleneck(p, window)
            analysis_t.append(time.process_time() - t0)
            periods = sum(len(a) for a, _ in res.active_periods)
            left_out = int(res.pruned_periods.count.sum()) if res.pruned_periods is not None else 0
    if args.one_round is not None:
        print(json.dumps({"plain": plain_t[0], "recorded": rec_t[0], "ops": ops}))
        return
    plain, rec, ana = (statistics.median(x) for x in (plain_t, rec_t, analysis_t))
    rec_ratio = statistics.median(r / p for r, p in zip(rec_t, plain_t))
    total_ratio = statistics.median((r + a) / p for r, a, p in zip(rec_t, analysis_t, plain_t))
    what = (f"{args.scenario}, {args.hours:g} h" if args.scenario
            else f"{args.stations}-station exponential line, {args.parts:,} parts")
    print(f"## Active-period detection, {args.engine} engine: {what} "
          f"({ops:,} station-operations), median of {args.repeat} rounds\n")
    print("| run | CPU s | vs plain |")
    print("|:--|--:|--:|")
    print(f"| plain (state shares) | {plain:.2f} | 1.000 |")
    print(f"| + active periods recorded | {rec:.2f} | {rec_ratio:.3f} |")
    print(f"| + analysis (average active period, shifting bottleneck) | {rec + ana:.2f} | {total_ratio:.3f} |")
    print("\n(vs plain: median over rounds of the ratio within each round)")
    print(f"\nactive periods kept: {periods:,} ({periods / ops:.3f} per station-operation; "
          f"the full trace keeps ~2 segments per station-operation); left out as never the momentary bottleneck "
          f"(counted in the mean only): {left_out:,}")


def extra(args: argparse.Namespace) -> None:
    """Rounds of a plain run and a recording, order alternated, each result dropped before its clock stops."""
    import resource  # (Unix only, as this option)

    sc = twin.load(args.scenario) if args.scenario else line(args.stations)
    engine = simulate_flow if args.engine == "flow" else simulate
    engine(sc, twin.RunConfig(horizon_s=1e12, stop_after_parts=100, active_periods=True))  # compile / warm up
    extra_s, ratios, faults, system_s = [], [], [], []
    for round_no in range(args.repeat):
        took = {}
        for record in (False, True) if round_no % 2 == 0 else (True, False):
            before = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.process_time()
            engine(sc, run_config(args, sc, record))  # (the result is dropped here, inside the timing)
            took[record] = time.process_time() - t0
            after = resource.getrusage(resource.RUSAGE_SELF)
            if record:
                faults.append(after.ru_minflt - before.ru_minflt)
                system_s.append(after.ru_stime - before.ru_stime)
        extra_s.append(took[True] - took[False])
        ratios.append(took[True] / took[False])
    what = (f"{args.scenario}, {args.hours:g} h" if args.scenario
            else f"{args.stations}-station exponential line, {args.parts:,} parts")
    print(f"## Active-period detection, {args.engine} engine, {what}: {args.repeat} rounds in one process\n")
    print(f"recording's extra time: median **{statistics.median(extra_s) * 1e3:.1f} ms**, ratio to the plain run "
          f"median **{statistics.median(ratios):.3f}** (range {min(ratios):.3f}-{max(ratios):.3f}); a recording's "
          f"page faults {statistics.median(faults):,.0f}, system time {statistics.median(system_s) * 1e3:.1f} ms")


def fresh(args: argparse.Namespace) -> None:
    """Each round a child process running this script with --one-round: import, compile or load, one plain run and
    one recording (in the round's order), nothing else."""
    passed = [a for a in sys.argv[1:] if a != "--fresh"]
    ratios = []
    ops = 0
    for round_no in range(args.repeat):
        out = subprocess.run([sys.executable, __file__, *passed, "--one-round", str(round_no)], check=True,
                             capture_output=True, text=True).stdout
        got = json.loads(out.strip().splitlines()[-1])
        ratios.append(got["recorded"] / got["plain"])
        ops = got["ops"]
    what = (f"{args.scenario}, {args.hours:g} h" if args.scenario
            else f"{args.stations}-station exponential line, {args.parts:,} parts")
    mode = "every period" if args.all_periods else "pruned"
    print(f"## Active-period detection ({mode}), {args.engine} engine, one run in each of {args.repeat} fresh "
          f"processes: {what} ({ops:,} station-operations)\n")
    print(f"recorded / plain: median **{statistics.median(ratios):.3f}**, "
          f"range {min(ratios):.3f}-{max(ratios):.3f}")


if __name__ == "__main__":
    main()
