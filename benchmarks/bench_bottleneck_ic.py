"""Active-period detection cost in instructions (valgrind callgrind): repeatable where CPU seconds are not.

Run from the project root (about 10 minutes; needs valgrind)::

    python benchmarks/bench_bottleneck_ic.py [--parts 2000]

Four runs of one interpreter each, under `valgrind --tool=callgrind`: the 20-station exponential line on the SimPy
engine for N and 2N parts, each plain and with active periods recorded and analysed (average active period and
shifting bottleneck). Imports, and the loading of the compiled analysis kernels, are the same in all four, so
run(N) = I(2N, plain) - I(N, plain) is the instruction count of N parts, and the overhead at N parts is
(I(N, with) - I(N, plain)) / run(N) (at 2N: over 2 run(N)). Figures only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(parts: int, record: bool) -> None:
    import numpy as np

    import twin
    from twin.analytics.active_period import average_active_period, periods_from_recorded, shifting_bottleneck
    from twin.engine.des import simulate

    one = periods_from_recorded(((np.array([0.0]), np.array([1.0])),), window=(0.0, 1.0))
    shifting_bottleneck(one, (0.0, 1.0))  # load the compiled kernels in every variant alike
    average_active_period(one)
    sc = twin.load(str(ROOT / "benchmarks" / "line20.toml"))
    res = simulate(sc, twin.RunConfig(horizon_s=1e12, stop_after_parts=parts, active_periods=record))
    if record:
        assert res.active_periods is not None
        periods = periods_from_recorded(res.active_periods, window=(0.0, res.end_s))
        average_active_period(periods)
        shifting_bottleneck(periods, (0.0, res.end_s))


def instructions(parts: int, record: bool, folder: Path) -> int:
    out = folder / f"cg.{parts}.{int(record)}"
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                    "--child", str(parts), str(int(record))], check=True, capture_output=True)
    match = re.search(r"^summary:\s*(\d+)", out.read_text(errors="replace"), re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sys.argv[3] == "1")
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", type=int, default=2000)
    args = ap.parse_args()
    n = args.parts
    child(10, True)  # compile or load the kernels once outside valgrind, so that all four runs find them cached
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        counts = {(p, r): instructions(p, r, folder) for p in (n, 2 * n) for r in (False, True)}
    run_n = counts[(2 * n, False)] - counts[(n, False)]
    print(f"## Active-period detection in instructions (callgrind), SimPy engine, 20-station line\n")
    print("| parts | plain run | + periods recorded and analysed | overhead |")
    print("|--:|--:|--:|--:|")
    for parts, run in ((n, run_n), (2 * n, 2 * run_n)):
        extra = counts[(parts, True)] - counts[(parts, False)]
        print(f"| {parts:,} | {run:,} | {extra:,} | {extra / run:+.1%} |")


if __name__ == "__main__":
    main()
