"""Which station holds the line back: every method side by side, the sensitivity being the verdict.

`analyse` runs the scenario once recording each station's active periods as it goes (memory O(stations + active
periods), no event trace), for the active-period and shifting-bottleneck methods, with the state shares for the
arrow and turning-point verdicts of each serial line; then the paired sensitivity runs. Each figure has its 95%
interval over the replications.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from twin.analytics.active_period import (
    average_active_period, can_prune, periods_from_recorded, shifting_bottleneck,
)
from twin.analytics.arrows import arrow_method, turning_point
from twin.analytics.sensitivity import Sensitivity, sensitivities
from twin.calendar import Calendar
from twin.engine.model import BLOCKED, OFF_SHIFT, STARVED
from twin.experiment import Plan, run_plan
from twin.results import Results
from twin.scenario import Scenario
from twin.stats import Estimate


@dataclass(frozen=True)
class StationVerdicts:
    line: str
    station: str
    sole: Estimate
    shifting: Estimate
    mean_active_s: Estimate


@dataclass(frozen=True)
class BottleneckReport:
    results: Results
    sensitivity: list[Sensitivity]  # sorted by impact, largest first
    active: list[StationVerdicts]  # in station order
    arrow_verdict: dict[str, str]  # per line: station name
    turning_point: dict[str, str | None]
    active_period_verdict: str  # station with the longest mean active period
    shifting_verdict: str  # station with the largest sole + shifting share
    timeline: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # momentary bottleneck, replication 1

    @property
    def verdict(self) -> Sensitivity:
        return self.sensitivity[0]

    def _key(self, line: str, station: str) -> str:
        names = [v.station for v in self.active]
        return station if names.count(station) == 1 else f"{line}/{station}"

    def to_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.station,
            "verdict_line": self.verdict.line,
            "sensitivity": [s.to_dict() for s in self.sensitivity],
            "active_period": {
                self._key(v.line, v.station): {
                    "sole": v.sole.mean, "shifting": v.shifting.mean, "mean_active_s": v.mean_active_s.mean,
                    "sole_ci95": v.sole.to_dict()["ci95"], "shifting_ci95": v.shifting.to_dict()["ci95"],
                } for v in self.active
            },
            "methods": {
                "sensitivity": self.verdict.station,
                "average_active_period": self.active_period_verdict,
                "shifting_bottleneck": self.shifting_verdict,
                "arrows": self.arrow_verdict,
                "turning_point": self.turning_point,
            },
        }


def analyse(scenario: Scenario, plan: Plan, *, rel_step: float = 0.02, workers: int = 1,
            stations: list[tuple[str, str]] | None = None,
            progress: Callable[[str, int, int], None] | None = None) -> BottleneckReport:
    traced = replace(plan, active_periods=True, prune_periods=can_prune(scenario))
    results = run_plan(scenario, traced, workers=workers,
                       progress=None if progress is None else lambda d, t: progress("trace run", d, t))
    first = results.replications[0]
    k = len(first.station_names)
    calendar = Calendar.from_spec(scenario.spec.calendar)
    sole, shifting, mean_active = (np.zeros((len(results.replications), k)) for _ in range(3))
    for r, rep in enumerate(results.replications):
        assert rep.active_periods is not None
        window = (calendar.to_working(rep.warmup_s), calendar.to_working(rep.end_s))
        periods = periods_from_recorded(rep.active_periods, window=window, pruned=rep.pruned_periods)
        _, mean_active[r] = average_active_period(periods)
        sb = shifting_bottleneck(periods, window)
        sole[r], shifting[r] = sb.sole, sb.shifting
        if r == 0:
            timeline = (sb.timeline_start, sb.timeline_end, sb.timeline_station)
    active = [StationVerdicts(first.station_lines[s], first.station_names[s], Estimate.of(sole[:, s]),
                              Estimate.of(shifting[:, s]), Estimate.of(mean_active[:, s])) for s in range(k)]
    shares = np.stack([rep.shares for rep in results.replications]).mean(axis=0)
    on_shift = np.maximum(1.0 - shares[:, OFF_SHIFT], 1e-12)
    arrows: dict[str, str] = {}
    turning: dict[str, str | None] = {}
    for line in scenario.lines:
        idx = [s for s in range(k) if first.station_lines[s] == line.name]
        bl, st = shares[idx, BLOCKED] / on_shift[idx], shares[idx, STARVED] / on_shift[idx]
        arrows[line.name] = first.station_names[idx[arrow_method(bl, st).verdict]]
        tp = turning_point(bl, st)
        turning[line.name] = None if tp is None else first.station_names[idx[tp]]
    sens = sensitivities(scenario, plan, stations, rel_step=rel_step, workers=workers,
                         progress=None if progress is None else lambda d, t: progress("sensitivity", d, t))
    return BottleneckReport(
        results=results,
        sensitivity=sens,
        active=active,
        arrow_verdict=arrows,
        turning_point=turning,
        active_period_verdict=first.station_names[int(np.argmax(mean_active.mean(axis=0)))],
        shifting_verdict=first.station_names[int(np.argmax((sole + shifting).mean(axis=0)))],
        timeline=timeline,
    )
