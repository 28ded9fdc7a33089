"""Sensitivity of throughput to each station's cycle time: the ground truth for "bottleneck" (Roser & Nakano 2015).

For a station j, dTH/dc_j is estimated by paired replications with common random numbers: the same seed, so the
same unit-mean draws everywhere, with only c_j changed — and since draws are scaled by the cycle time, not redrawn,
the two runs differ by nothing but that scaling. A central difference (c_j - h against c_j + h, h = rel_step·c_j)
per replication gives R paired values; their Student-t interval is the interval of the sensitivity
(shared/methods.md, "Sensitivity"). Reported as units per hour (and per year) gained per second of cycle time
*removed*, so the bottleneck has the largest positive value. For a deterministic line it is 3600/c² for the
bottleneck and 0 elsewhere, up to O(rel_step²).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from twin.calendar import HOURS_PER_YEAR
from twin.experiment import Plan, run_plan
from twin.scenario import Scenario
from twin.stats import Estimate


@dataclass(frozen=True)
class Sensitivity:
    line: str
    station: str
    cycle_s: float
    per_hour_per_s: Estimate  # units per hour gained per second of cycle time removed

    @property
    def per_year_per_s(self) -> Estimate:
        return self.per_hour_per_s.scaled(HOURS_PER_YEAR)

    def to_dict(self) -> dict[str, object]:
        d = self.per_hour_per_s.to_dict()
        return {"line": self.line, "station": self.station, "cycle_s": self.cycle_s,
                "per_hour_per_s": d["mean"], "ci95": d["ci95"],
                "per_year_per_s": self.per_year_per_s.to_dict()["mean"]}


def _throughput(scenario: Scenario, plan: Plan, workers: int) -> np.ndarray:
    res = run_plan(scenario, plan, workers=workers)
    return np.asarray(res.throughput.per_hour.values, dtype=float)


def sensitivities(
    scenario: Scenario,
    plan: Plan,
    stations: Sequence[tuple[str, str]] | None = None,
    rel_step: float = 0.02,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[Sensitivity]:
    """dTH/d(-c_j) with a paired 95% interval for each station (all by default), sorted by impact."""
    if stations is None:
        stations = [(ln.name, st.name) for ln in scenario.lines for st in ln.stations]
    out = []
    for n, (line, station) in enumerate(stations):
        spec = scenario.station(line, station)
        base = spec.cycle_s
        if base is None:  # empirical without cycle_s: scale around the samples' mean
            values = scenario.samples[(line, station)]
            base = float(sum(values) / len(values))
        h = rel_step * base
        # min_cycle_s bounds what tuning may propose, not the probe around the current value
        faster = _throughput(scenario.with_station(line, station, cycle_s=base - h, min_cycle_s=None), plan, workers)
        slower = _throughput(scenario.with_station(line, station, cycle_s=base + h, min_cycle_s=None), plan, workers)
        out.append(Sensitivity(line, station, float(base), Estimate.of((faster - slower) / (2 * h))))
        if progress is not None:
            progress(n + 1, len(stations))
    out.sort(key=lambda s: -s.per_hour_per_s.mean)
    return out
