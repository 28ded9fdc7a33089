"""Cycle-time tuning: which cycle times reach a target throughput at least cost.

A greedy on the sensitivities (twin.analytics.sensitivity), chosen over scipy.optimize because throughput is only
known through noisy simulation: a gradient method would need the same paired derivatives anyway, and the greedy
spends each step where a second of cycle time buys most (largest sensitivity per unit of weight), which is what an
engineer does by hand. Each step moves the chosen station's cycle time by the *proportional* step c' = c·TH/target
— exact when the station alone sets the pace (TH = 3600·m/c, a deterministic line) — or by the Newton step
(target - TH)/sensitivity if that is smaller, rounded to `resolution_s` and never below `min_cycle_s`. It repeats
until the target is met within counting resolution (one part in the measured window) or no station can help.

For a deterministic line this removes exactly max(0, c_j - 3600·m_j/target) seconds at each station j — the
least total change, since each such station must reach that value on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from twin.analytics.sensitivity import Sensitivity, sensitivities
from twin.experiment import Plan, run_plan
from twin.scenario import Scenario
from twin.stats import Estimate


@dataclass(frozen=True)
class Change:
    line: str
    station: str
    old_cycle_s: float
    new_cycle_s: float

    @property
    def removed_s(self) -> float:
        return self.old_cycle_s - self.new_cycle_s


@dataclass(frozen=True)
class TuneResult:
    target_per_hour: float
    reached: bool
    changes: list[Change]
    throughput_per_hour: Estimate
    next_bottleneck: Sensitivity | None
    scenario: Scenario
    iterations: int
    cost: float

    def to_dict(self) -> dict[str, object]:
        return {
            "target_per_hour": self.target_per_hour,
            "reached": self.reached,
            "changes": [{"line": c.line, "station": c.station, "old_cycle_s": c.old_cycle_s,
                         "new_cycle_s": c.new_cycle_s, "removed_s": round(c.removed_s, 9)} for c in self.changes],
            "total_removed_s": round(sum(c.removed_s for c in self.changes), 9),
            "weighted_cost": self.cost,
            "throughput_per_hour": self.throughput_per_hour.to_dict(),
            "next_bottleneck": None if self.next_bottleneck is None else self.next_bottleneck.to_dict(),
            "iterations": self.iterations,
        }


def tune_cycle_times(
    scenario: Scenario,
    plan: Plan,
    target_per_hour: float,
    *,
    weights: dict[tuple[str, str], float] | None = None,
    resolution_s: float = 0.01,
    max_iterations: int = 50,
    rel_step: float = 0.02,
    workers: int = 1,
    progress: Callable[[int, float], None] | None = None,
) -> TuneResult:
    weights = weights or {}
    original = {(ln.name, st.name): st.cycle_s for ln in scenario.lines for st in ln.stations}
    current = scenario
    iterations = 0
    sens: list[Sensitivity] = []
    while True:
        res = run_plan(current, plan, workers=workers)
        th = res.throughput.per_hour
        window_h = (res.replications[0].end_s - res.replications[0].warmup_s) / 3600.0
        reached = th.mean >= target_per_hour - 1.0 / window_h  # one part in the window: counting resolution
        if progress is not None:
            progress(iterations, th.mean)
        sens = sensitivities(current, plan, rel_step=rel_step, workers=workers)
        if reached or iterations >= max_iterations:
            break
        candidates = []
        for s in sens:
            spec = current.station(s.line, s.station)
            floor = spec.min_cycle_s if spec.min_cycle_s is not None else resolution_s
            lo, _ = s.per_hour_per_s.ci95
            significant = s.per_hour_per_s.mean > 0 and (math.isnan(lo) or lo > 0)
            if significant and s.cycle_s - floor >= resolution_s / 2:
                candidates.append((s.per_hour_per_s.mean / weights.get((s.line, s.station), 1.0), s, floor))
        if not candidates:
            break
        _, best, floor = max(candidates, key=lambda c: c[0])
        proportional = best.cycle_s * (1.0 - th.mean / target_per_hour)
        newton = (target_per_hour - th.mean) / best.per_hour_per_s.mean
        step = max(min(proportional, newton), resolution_s)
        new_cycle = max(round((best.cycle_s - step) / resolution_s) * resolution_s, floor)
        new_cycle = round(new_cycle, 9)
        if new_cycle >= best.cycle_s:
            new_cycle = round(best.cycle_s - resolution_s, 9)
        current = current.with_station(best.line, best.station, cycle_s=new_cycle)
        iterations += 1
    changes = []
    for ln in current.lines:
        for st in ln.stations:
            old = original[(ln.name, st.name)]
            if st.cycle_s is not None and old is not None and st.cycle_s != old:
                changes.append(Change(ln.name, st.name, float(old), float(st.cycle_s)))
    cost = sum(weights.get((c.line, c.station), 1.0) * c.removed_s for c in changes)
    return TuneResult(target_per_hour, reached, changes, th, sens[0] if sens else None, current, iterations, cost)


@dataclass(frozen=True)
class BufferResult:
    places: int
    allocation: dict[tuple[str, str], tuple[int, int]]  # (line, station before the buffer) -> (old, new) capacity
    throughput_per_hour: Estimate
    scenario: Scenario

    def to_dict(self) -> dict[str, object]:
        return {
            "places": self.places,
            "buffers": [{"line": line, "after": station, "old": old, "new": new}
                        for (line, station), (old, new) in self.allocation.items()],
            "throughput_per_hour": self.throughput_per_hour.to_dict(),
        }


def allocate_buffers(scenario: Scenario, plan: Plan, places: int, *, workers: int = 1,
                     progress: Callable[[int, float], None] | None = None) -> BufferResult:
    """Add `places` buffer places one at a time, each where it raises throughput most.

    Each candidate (one more place after each station but a line's last) is compared with the current allocation
    on paired replications with common random numbers, so the choice rests on the paired difference rather than
    on two noisy means. Greedy, as is usual for buffer allocation: exact optimisation needs a throughput model of
    the whole line, which is what the simulation replaces.
    """
    original = {(ln.name, st.name): st.buffer for ln in scenario.lines for st in ln.stations[:-1]}
    current = scenario
    base = run_plan(current, plan, workers=workers).throughput.per_hour
    for n in range(places):
        best: tuple[float, tuple[str, str], Scenario, Estimate] | None = None
        for line, station in original:
            trial = current.with_station(line, station, buffer=current.station(line, station).buffer + 1)
            th = run_plan(trial, plan, workers=workers).throughput.per_hour
            gain = float(sum(a - b for a, b in zip(th.values, base.values)) / len(th.values))
            if best is None or gain > best[0]:
                best = (gain, (line, station), trial, th)
        if best is None:
            break
        _, _, current, base = best
        if progress is not None:
            progress(n + 1, base.mean)
    allocation = {key: (old, current.station(*key).buffer) for key, old in original.items()}
    return BufferResult(places, allocation, base, current)
