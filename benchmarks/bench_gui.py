"""Desktop-app frame rate: the whole `jinhua` cluster, offscreen, at 1,000x real time or more.

Run from the project root::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--scenario jinhua] [--speed 1000] [--frames 300]

Each frame does what the app's timer does: advance the simulation by speed x 1/30 s of simulated time (in slices,
within the frame budget), update every item and chart with setData, and let Qt paint (processEvents). The frame
time is measured around all of that, and the share of it spent simulating; the frame rate the app can hold is
1 / frame time (target >= 30 a second), and the speed it reaches is the simulated seconds per wall second while
doing so. Figures only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyqtgraph.Qt import QtWidgets  # noqa: E402

import twin  # noqa: E402
from viz.app import MainWindow  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="jinhua")
    ap.add_argument("--speed", type=float, default=1000.0, help="simulated seconds per wall second")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--warmup-hours", type=float, default=30.0, help="simulated hours run first (a busy model)")
    args = ap.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow(twin.load(args.scenario))
    window.resize(1800, 1100)
    window.show()
    window.live.advance(args.warmup_hours * 3600.0)
    window.refresh(0.0)
    app.processEvents()
    per_frame = args.speed / 30.0
    times = []
    sim_share = []
    sim_start = window.live.time_s
    wall_start = time.perf_counter()
    for _ in range(args.frames):
        t = time.perf_counter()
        window.advance(per_frame)
        app.processEvents()
        times.append(time.perf_counter() - t)
        sim_share.append(window.sim_wall_s / times[-1])
    wall = time.perf_counter() - wall_start
    sim = window.live.time_s - sim_start
    times.sort()
    mean = statistics.mean(times)
    print(f"## Desktop app, `{args.scenario}`, offscreen, {args.frames} frames at {args.speed:g}x\n")
    print("| figure | value |")
    print("|:--|--:|")
    print(f"| frame time, mean | {mean * 1000:.1f} ms |")
    print(f"| frame time, median | {times[len(times) // 2] * 1000:.1f} ms |")
    print(f"| frame time, 95th percentile | {times[int(0.95 * len(times))] * 1000:.1f} ms |")
    print(f"| frames a second it can hold (1 / mean) | {1 / mean:.0f} |")
    print(f"| share of a frame spent simulating, mean | {statistics.mean(sim_share):.0%} |")
    print(f"| simulated seconds per wall second reached | {sim / wall:,.0f} |")


if __name__ == "__main__":
    main()
