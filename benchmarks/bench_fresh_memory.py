"""What memory a process has not touched yet costs on this machine: ms per MiB of fresh anonymous memory, written
once, in small (4 KiB) pages and in transparent huge pages, each round in a new process (as a user's run is).

Recording every active period writes 16 bytes a period into fresh memory (tens of MB in a run of the flow engine),
so on a machine where a fresh page costs more than filling it, that write is the floor of the recording's cost:

    python benchmarks/bench_fresh_memory.py --mib 80 --rounds 3

On a virtual machine whose host backs the guest's memory lazily, a page the guest never touched costs a host
fault too; huge pages then cost more or less than small ones depending on whether the kernel hands out memory it
touched before, so the rounds disagree: the spread is the finding, not noise to average away.
"""

from __future__ import annotations

import argparse
import json
import mmap
import resource
import statistics
import subprocess
import sys
import time

from twin.engine.flow import _StationLogs


def touch(mib: int, huge: bool) -> dict[str, float]:
    """Write one float64 in each 4 KiB of `mib` MiB of fresh memory mapped as the engine maps its period logs
    (`twin.engine.flow._StationLogs`): CPU ms per MiB, faults, system ms."""
    a = _StationLogs(0, huge=huge)._mapped(mib * 2**17)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.process_time()
    a[::512] = 1.0
    cpu = time.process_time() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {"ms_per_mib": 1e3 * cpu / mib, "faults": r1.ru_minflt - r0.ru_minflt,
            "sys_ms": 1e3 * (r1.ru_stime - r0.ru_stime)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=80)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--one", choices=("small", "huge"), help=argparse.SUPPRESS)  # (the child process's round)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(touch(args.mib, args.one == "huge")))
        return 0
    if not hasattr(mmap, "MADV_HUGEPAGE"):
        print("this system has no transparent huge pages (mmap.MADV_HUGEPAGE)")
    kinds = ("small", "huge") if hasattr(mmap, "MADV_HUGEPAGE") else ("small",)
    got: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:  # alternated, each in a new process
            out = subprocess.run([sys.executable, __file__, "--mib", str(args.mib), "--one", kind],
                                 capture_output=True, text=True, check=True).stdout
            got[kind].append(json.loads(out))
    print(f"## Fresh memory, {args.mib} MiB written once, {args.rounds} new processes each\n")
    print("| pages | ms CPU a MiB (median) | range | page faults | system ms (median) |")
    print("|:--|--:|--:|--:|--:|")
    for kind, rows in got.items():
        ms = [r["ms_per_mib"] for r in rows]
        print(f"| {kind} | {statistics.median(ms):.2f} | {min(ms):.2f}–{max(ms):.2f} | "
              f"{int(statistics.median(r['faults'] for r in rows)):,} | "
              f"{statistics.median(r['sys_ms'] for r in rows):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
