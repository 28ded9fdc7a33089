"""Engine benchmark: the twin SimPy engine against a plain SimPy baseline, on CPU time and memory.

Run from the project root::

    python benchmarks/bench_engine.py [--stations 20] [--parts 10000] [--repeat 3] [--json PATH]

What is measured
----------------
Both implementations simulate the same serial line: ``--stations`` single-server stations with exponential
processing times of mean 10 s and a buffer of 2 places between neighbours (blocking after service; the first
station is never starved, the last never blocked). A run stops when ``--parts`` parts have left the line.

1. **CPU cost per station-operation.** A station-operation is one completed processing of one part at one station
   (``station_operations`` in both results), so the figure does not depend on how many events an implementation
   schedules. Each timed run is measured with ``time.process_time()`` (CPU of this process only, so other load
   on the machine costs wall time but little CPU time) around the whole run, model construction included:
   ``benchmarks.plain_simpy.run_plain`` for the baseline, ``twin.engine.des.simulate`` for twin (the scenario is
   validated once, outside the timing, since validation is not simulation). Twin always accumulates state shares;
   it is timed with the trace off and, separately, with ``trace=True``. The three variants are run in rounds,
   ``--repeat`` rounds, the order rotated from round to round, after one short untimed warm-up run of each; a
   ``gc.collect()`` precedes every timed run. The figure of each variant is the median over the rounds, and the
   ratios are median(twin) / median(plain) (target: <= 1.3 with the trace off).
2. **Memory against run length (trace off).** Twin is run in a fresh subprocess per size (so the peak RSS
   belongs to that run alone) for ``--memory-parts`` parts; the defaults, 500 / 5,000 / 50,000 parts on the
   20-station line, give about 10^4, 10^5 and 10^6 station-operations. Inside the subprocess ``tracemalloc``
   is on for exactly the ``simulate`` call (build, run and result) and its peak is reported. Peak RSS is read
   in the subprocess after the run. On Linux it is ``VmHWM`` of ``/proc/self/status``, whose high-water mark is
   reset (``/proc/self/clear_refs``) just before the run, next to ``VmRSS`` just before it: the peak is then the
   run's own, not that of the imports. ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is recorded too (JSON only)
   but is not used on Linux: at ``exec`` the kernel carries the high-water mark of the *spawning* process into
   the child's ``ru_maxrss``, so there it shows the size of this benchmark's parent process, not of the run.
   Elsewhere ``ru_maxrss`` is the fallback. The RSS peak includes tracemalloc's own bookkeeping, which grows
   with the number of live blocks, so it hides no growth. "memory flat" is *yes* when the tracemalloc peak at
   the largest size is below 2x the peak at the smallest.

Only figures are reported: nothing here asserts a time or a memory bound (this is a benchmark, not a test).
The Markdown tables go to stdout, progress to stderr; ``--json PATH`` also writes every figure as JSON.
Note that tracemalloc slows the memory runs several-fold; their CPU times are not comparable to part 1.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import simpy  # noqa: E402

import twin  # noqa: E402
from plain_simpy import run_plain  # noqa: E402
from twin.bench import reset_peak_rss  # noqa: E402
from twin.bench import status_mib as proc_status_mib  # noqa: E402
from twin.engine.des import simulate  # noqa: E402

CYCLE_S = 10.0
BUFFER = 2
DIST = "exp"
SEED = 0
HORIZON_S = 1e12  # effectively unbounded: runs stop on the part count
DEFAULT_MEMORY_PARTS = (500, 5_000, 50_000)
TARGET_RATIO = 1.3
FLAT_FACTOR = 2.0
VARIANTS = ("plain", "twin", "twin_trace")
LABELS = {"plain": "plain SimPy baseline", "twin": "twin, trace off", "twin_trace": "twin, trace on"}


# ---------------------------------------------------------------------------------------------- the models
def make_scenario(stations: int) -> twin.Scenario:
    """The benchmark line as a twin scenario: `stations` exponential stations, 10 s mean, buffers of 2."""
    return twin.from_dict(
        {
            "scenario": {"name": "bench"},
            "lines": [
                {
                    "name": "L",
                    "stations": [
                        {"name": f"S{i:02d}", "cycle_s": CYCLE_S, "dist": DIST, "buffer": BUFFER}
                        for i in range(stations)
                    ],
                }
            ],
        }
    )


def run_config(parts: int, trace: bool) -> twin.RunConfig:
    return twin.RunConfig(horizon_s=HORIZON_S, warmup_s=0.0, seed=SEED, stop_after_parts=parts, trace=trace)


@dataclass(frozen=True)
class Outcome:
    """What one run produced, in the units both implementations share."""

    station_operations: int
    finished: int
    sim_time_s: float


def run_plain_line(stations: int, parts: int) -> Outcome:
    res = run_plain([CYCLE_S] * stations, [BUFFER] * (stations - 1), parts=parts, seed=SEED, dist=DIST)
    return Outcome(int(res["station_operations"]), int(res["finished"]), float(res["sim_time_s"]))


def run_twin_line(scenario: twin.Scenario, parts: int, trace: bool) -> Outcome:
    res = simulate(scenario, run_config(parts, trace))
    return Outcome(res.station_operations, int(res.line_finished_total.sum()), float(res.end_s))


# ---------------------------------------------------------------------------------------------- CPU timing
@dataclass
class Timing:
    """CPU measurements of one variant over the rounds."""

    variant: str
    cpu_s: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    us_per_op: list[float] = field(default_factory=list)
    station_operations: int = 0
    finished: int = 0
    sim_time_s: float = 0.0

    @property
    def median_us_per_op(self) -> float:
        return statistics.median(self.us_per_op)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(self.cpu_s)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d["median_us_per_op"] = self.median_us_per_op
        d["median_cpu_s"] = self.median_cpu_s
        d["sim_s_per_part"] = self.sim_time_s / self.finished if self.finished else float("nan")
        return d


def timed(fn: Callable[[], Outcome]) -> tuple[Outcome, float, float]:
    """Run `fn` once after a garbage collection; its outcome, CPU seconds and wall seconds."""
    gc.collect()
    w0 = time.perf_counter()
    c0 = time.process_time()
    out = fn()
    cpu = time.process_time() - c0
    wall = time.perf_counter() - w0
    return out, cpu, wall


def cpu_comparison(stations: int, parts: int, repeat: int) -> dict[str, Timing]:
    scenario = make_scenario(stations)
    runners: dict[str, Callable[[int], Outcome]] = {
        "plain": lambda n: run_plain_line(stations, n),
        "twin": lambda n: run_twin_line(scenario, n, trace=False),
        "twin_trace": lambda n: run_twin_line(scenario, n, trace=True),
    }
    warm = max(1, min(parts, 200))
    for name in VARIANTS:  # untimed: first-call costs (lazy imports, caches) are not what is compared
        runners[name](warm)
    timings = {name: Timing(name) for name in VARIANTS}
    for r in range(repeat):
        order = VARIANTS[r % len(VARIANTS):] + VARIANTS[: r % len(VARIANTS)]
        for name in order:
            out, cpu, wall = timed(lambda: runners[name](parts))
            t = timings[name]
            t.cpu_s.append(cpu)
            t.wall_s.append(wall)
            t.us_per_op.append(cpu / out.station_operations * 1e6)
            t.station_operations, t.finished, t.sim_time_s = out.station_operations, out.finished, out.sim_time_s
            log(f"  round {r + 1}/{repeat} {name:<10} {out.station_operations:>9,} ops  {cpu:7.2f} s CPU  "
                f"{t.us_per_op[-1]:6.2f} us/op")
    return timings


# ---------------------------------------------------------------------------------------------- memory
def ru_maxrss_mib() -> float:
    """``ru_maxrss`` of this process, MiB (KiB on Linux, bytes on macOS); on Linux it includes the spawner's peak."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def memory_child(stations: int, parts: int) -> dict[str, Any]:
    """In a fresh process: one twin run (trace off) with tracemalloc around `simulate`, and the peak RSS."""
    scenario = make_scenario(stations)
    config = run_config(parts, trace=False)
    gc.collect()
    rss_before = proc_status_mib("VmRSS")
    reset = reset_peak_rss()
    tracemalloc.start()
    c0 = time.process_time()
    res = simulate(scenario, config)
    cpu = time.process_time() - c0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm = proc_status_mib("VmHWM")
    use_hwm = reset and hwm is not None
    return {
        "parts": parts,
        "station_operations": res.station_operations,
        "finished": int(res.line_finished_total.sum()),
        "rss_before_mib": rss_before,
        "peak_rss_mib": hwm if use_hwm else ru_maxrss_mib(),
        "peak_rss_source": "VmHWM, reset just before the run" if use_hwm else "ru_maxrss",
        "ru_maxrss_mib": ru_maxrss_mib(),
        "tracemalloc_peak_mib": peak / 2**20,
        "cpu_s_with_tracemalloc": cpu,
    }


def memory_series(stations: int, sizes: Sequence[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for parts in sizes:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--stations", str(stations), "--memory-child", str(parts)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"memory subprocess for {parts} parts failed:\n{proc.stderr}")
        row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        log(f"  {parts:>9,} parts {row['station_operations']:>11,} ops  peak RSS {row['peak_rss_mib']:7.1f} MiB  "
            f"tracemalloc peak {row['tracemalloc_peak_mib']:6.2f} MiB")
    return rows


# ---------------------------------------------------------------------------------------------- reporting
def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    right = [True] * len(headers)
    right[0] = False
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if rj else c.ljust(w) for c, w, rj in zip(cells, widths, right)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if rj else (":" + "-" * (w + 1)) for w, rj in zip(widths, right)) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def report(
    args: argparse.Namespace, timings: dict[str, Timing], memory: list[dict[str, Any]], total_s: float
) -> dict[str, Any]:
    plain_us = timings["plain"].median_us_per_op
    ratios = {name: timings[name].median_us_per_op / plain_us for name in VARIANTS}
    cpu_rows = [
        [
            LABELS[name],
            f"{t.station_operations:,}",
            f"{t.finished:,}",
            f"{t.sim_time_s / t.finished:.3f}",
            f"{t.median_cpu_s:.2f}",
            " / ".join(f"{x:.2f}" for x in t.us_per_op),
            f"{t.median_us_per_op:.2f}",
            f"{ratios[name]:.3f}",
        ]
        for name, t in timings.items()
    ]
    print(f"## CPU per station-operation: {args.stations}-station exponential line, cycle {CYCLE_S:g} s, "
          f"buffers {BUFFER}, {args.parts:,} parts, median of {args.repeat} alternating rounds\n")
    print(markdown(["implementation", "station-ops", "parts out", "sim s / part", "median CPU s",
                    "us/op per round", "median us/op", "ratio to plain"], cpu_rows))
    print()
    print(f"ratio twin / plain (trace off): {ratios['twin']:.3f}  (target <= {TARGET_RATIO})")
    print(f"ratio twin / plain (trace on):  {ratios['twin_trace']:.3f}")
    print()

    flat: bool | None = None
    if memory:
        mem_rows = [
            [
                f"{m['parts']:,}",
                f"{m['station_operations']:,}",
                "n/a" if m["rss_before_mib"] is None else f"{m['rss_before_mib']:.1f}",
                f"{m['peak_rss_mib']:.1f}",
                "n/a" if m["rss_before_mib"] is None else f"{m['peak_rss_mib'] - m['rss_before_mib']:+.1f}",
                f"{m['tracemalloc_peak_mib']:.3f}",
            ]
            for m in memory
        ]
        smallest = min(memory, key=lambda m: m["parts"])
        largest = max(memory, key=lambda m: m["parts"])
        flat = bool(largest["tracemalloc_peak_mib"] < FLAT_FACTOR * smallest["tracemalloc_peak_mib"])
        print("## Memory of twin against run length (trace off), one fresh subprocess per size\n")
        print(markdown(["parts", "station-ops", "RSS before run MiB", "peak RSS MiB", "run's RSS growth MiB",
                        "tracemalloc peak MiB"], mem_rows))
        print()
        print(f"peak RSS: {memory[0]['peak_rss_source']}")
        print(f"memory flat: {'yes' if flat else 'no'}  (tracemalloc peak at {largest['parts']:,} parts = "
              f"{largest['tracemalloc_peak_mib']:.3f} MiB vs {FLAT_FACTOR:g} x "
              f"{smallest['tracemalloc_peak_mib']:.3f} MiB at {smallest['parts']:,} parts)")
        print()
    print(f"total benchmark wall time: {total_s:.1f} s")

    return {
        "config": {
            "stations": args.stations,
            "parts": args.parts,
            "repeat": args.repeat,
            "cycle_s": CYCLE_S,
            "buffer": BUFFER,
            "dist": DIST,
            "seed": SEED,
            "memory_parts": list(args.memory_parts),
        },
        "environment": {
            "python": platform.python_version(),
            "simpy": simpy.__version__,
            "twin": twin.__version__,
            "platform": platform.platform(),
        },
        "cpu": {name: t.summary() for name, t in timings.items()},
        "ratio_twin_to_plain": ratios["twin"],
        "ratio_twin_trace_to_plain": ratios["twin_trace"],
        "target_ratio": TARGET_RATIO,
        "memory": memory,
        "memory_flat": flat,
        "memory_flat_criterion": f"tracemalloc peak at largest size < {FLAT_FACTOR:g} x peak at smallest size",
        "total_wall_s": total_s,
    }


# ---------------------------------------------------------------------------------------------- command line
def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def size_list(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated part counts, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"part counts must be >= 1, got {text!r}")
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--stations", type=positive_int, default=20, help="stations in the serial line (default 20)")
    p.add_argument("--parts", type=positive_int, default=10_000,
                   help="parts per timed run of the CPU comparison (default 10,000)")
    p.add_argument("--repeat", type=positive_int, default=3, help="alternating timing rounds (default 3)")
    p.add_argument("--memory-parts", type=size_list, default=DEFAULT_MEMORY_PARTS,
                   help="comma-separated part counts of the memory runs (default 500,5000,50000)")
    p.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write all figures as JSON here")
    p.add_argument("--memory-child", type=positive_int, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child is not None:
        print(json.dumps(memory_child(args.stations, args.memory_child)))
        return 0
    t0 = time.perf_counter()
    log(f"CPU comparison: {args.stations} stations, {args.parts:,} parts, {args.repeat} rounds")
    timings = cpu_comparison(args.stations, args.parts, args.repeat)
    memory: list[dict[str, Any]] = []
    if not args.no_memory:
        log(f"memory runs (trace off, tracemalloc on): {', '.join(f'{n:,}' for n in args.memory_parts)} parts")
        memory = memory_series(args.stations, args.memory_parts)
    result = report(args, timings, memory, time.perf_counter() - t0)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
