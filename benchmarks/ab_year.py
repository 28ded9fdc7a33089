"""Two trees of the project compared on one simulated year (`bench_year.py`), in alternating processes.

This shared 2-core machine drifts in speed by 15-40% from minute to minute, so a comparison of two versions
means pairs of runs made back to back, the order alternated, and the ratio taken within each pair:

    git worktree add ../old <commit>
    python benchmarks/ab_year.py ../old . --pairs 12 [--scenario jinhua] [--rounds 1]

prints each pair, then the median and fastest time of each tree, the median and mean of the paired ratios
new/old (with an approximate 95% interval of the mean) and in how many pairs the new tree was faster. Each
process first compiles or loads the kernels (not timed), as `bench_year.py` does.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path


def year_s(tree: Path, scenario: str, rounds: int) -> float:
    """CPU seconds of one year of `scenario` by the tree's own engine (min over `rounds` in one process)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, str(tree / "benchmarks" / "bench_year.py"), scenario, "--rounds",
                          str(rounds)], env=env, cwd=tree, capture_output=True, text=True, check=True).stdout
    found = re.search(r"([0-9.]+) s CPU", out)
    if found is None:
        raise SystemExit(f"no time in the output of {tree}: {out!r}")
    return float(found.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="the tree to compare with (a worktree of an earlier commit)")
    ap.add_argument("new", type=Path, help="the tree measured")
    ap.add_argument("--pairs", type=int, default=12)
    ap.add_argument("--scenario", default="jinhua")
    ap.add_argument("--rounds", type=int, default=1, help="years in each process (the fastest is kept)")
    args = ap.parse_args(argv)
    old_t: list[float] = []
    new_t: list[float] = []
    for k in range(args.pairs):
        order = (args.old, args.new) if k % 2 == 0 else (args.new, args.old)
        got = {tree: year_s(tree.resolve(), args.scenario, args.rounds) for tree in order}
        old_t.append(got[args.old])
        new_t.append(got[args.new])
        print(f"pair {k + 1}: old {old_t[-1]:.2f} s, new {new_t[-1]:.2f} s, ratio {new_t[-1] / old_t[-1]:.3f}",
              flush=True)
    ratios = [n / o for n, o in zip(new_t, old_t)]
    mean = statistics.mean(ratios)
    half = 1.96 * statistics.stdev(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else math.nan
    print(f"old: median {statistics.median(old_t):.2f} s, fastest {min(old_t):.2f} s; "
          f"new: median {statistics.median(new_t):.2f} s, fastest {min(new_t):.2f} s")
    print(f"new / old: median {statistics.median(ratios):.3f}, mean {mean:.3f} ± {half:.3f} (95%), "
          f"new faster in {sum(r < 1.0 for r in ratios)} of {len(ratios)} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
