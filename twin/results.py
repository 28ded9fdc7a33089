"""KPIs over replications: throughput, WIP, lead time, buffer levels and state shares, each with its interval.

`Results` is pure arithmetic over `ReplicationResult`s; `to_dict` gives the JSON of `twin run --json`, whose key
names are a contract (see README, "JSON output"). No timing goes into it, so the same seed gives the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from twin.calendar import DAY_S, HOURS_PER_YEAR, Calendar
from twin.engine.model import STATES, VEHICLE_STATES, ReplicationResult
from twin.scenario import Scenario
from twin.spec import MONTH_DAYS, names_of
from twin.stats import Estimate, _clean


@dataclass(frozen=True)
class Throughput:
    """Parts leaving, per calendar hour, per hour the calendar has the line working, and per year."""

    per_hour: Estimate
    per_working_hour: Estimate

    @property
    def per_year(self) -> Estimate:
        return self.per_hour.scaled(HOURS_PER_YEAR)

    @property
    def per_day(self) -> Estimate:
        return self.per_hour.scaled(24.0)

    def to_dict(self) -> dict[str, object]:
        return {
            "per_hour": self.per_hour.to_dict(),
            "per_working_hour": self.per_working_hour.to_dict(),
            "per_day": self.per_day.to_dict(),
            "per_year": self.per_year.to_dict(),
        }


@dataclass(frozen=True)
class LineKpis:
    name: str
    rated_per_hour: float | None
    rated_per_year: float | None
    throughput: Throughput
    wip: Estimate
    lead_time_s: Estimate
    finished: Estimate

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "rated_per_hour": self.rated_per_hour,
            "rated_per_year": self.rated_per_year,
            "throughput": self.throughput.to_dict(),
            "wip": self.wip.to_dict(),
            "lead_time_s": self.lead_time_s.to_dict(),
            "finished": self.finished.to_dict(),
        }


@dataclass(frozen=True)
class StationKpis:
    name: str
    line: str
    servers: int
    utilization: Estimate
    shares: dict[str, Estimate]
    starved_by: dict[str, Estimate]

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "line": self.line,
            "servers": self.servers,
            "utilization": _clean(self.utilization.mean),
            "utilization_ci95": self.utilization.to_dict()["ci95"],
            "state_share": {k: _clean(v.mean) for k, v in self.shares.items()},
            "state_share_ci95": {k: v.to_dict()["ci95"] for k, v in self.shares.items()},
        }
        if self.starved_by:
            out["starved_by"] = {k: v.to_dict() for k, v in self.starved_by.items()}
        return out


@dataclass(frozen=True)
class Results:
    """Everything measured in a set of replications of one scenario."""

    scenario: Scenario
    engine: str
    seed: int
    horizon_s: float
    warmup_s: float
    replications: tuple[ReplicationResult, ...]
    engine_reason: str = ""  # why that engine ran (auto says whether the scenario is in the flow engine's class)

    # ------------------------------------------------------------------ per line
    @cached_property
    def lines(self) -> list[LineKpis]:
        reps = self.replications
        out = []
        for i, spec in enumerate(self.scenario.spec.lines):
            windows = np.array([r.window_s for r in reps])
            finished = np.array([r.line_finished[i] for r in reps])
            working = np.array([r.line_working_s[i] for r in reps])
            with np.errstate(invalid="ignore", divide="ignore"):
                per_working = np.where(working > 0, finished / working * 3600.0, np.nan)
            out.append(LineKpis(
                name=spec.name,
                rated_per_hour=spec.rated_per_hour,
                rated_per_year=spec.rated_per_year,
                throughput=Throughput(Estimate.of(finished / windows * 3600.0), Estimate.of(per_working)),
                wip=Estimate.of([r.line_wip[i] for r in reps]),
                lead_time_s=Estimate.of([r.line_lead_time_s[i] for r in reps]),
                finished=Estimate.of(finished),
            ))
        return out

    def line(self, name: str) -> LineKpis:
        for kpis in self.lines:
            if kpis.name == name:
                return kpis
        raise KeyError(f"no line {name!r}")

    # ------------------------------------------------------------------ the scenario's output
    @cached_property
    def product_lines(self) -> list[str]:
        """The lines whose output is the scenario's product: `[scenario] product`, else every line feeding no other."""
        product = self.scenario.spec.scenario.product
        if product is not None:
            return names_of(product)
        first = self.replications[0]
        terminal = first.line_terminal or (True,) * len(first.line_names)
        return [name for name, end in zip(first.line_names, terminal) if end]

    @cached_property
    def _product_index(self) -> list[int]:
        names = list(self.replications[0].line_names)
        return [names.index(n) for n in self.product_lines]

    @cached_property
    def _product(self) -> np.ndarray:
        """Units of the product leaving the scenario, per replication."""
        return np.array([r.line_finished[self._product_index].sum() for r in self.replications], dtype=float)

    @cached_property
    def throughput(self) -> Throughput:
        windows = np.array([r.window_s for r in self.replications])
        spec = self.scenario.spec
        # "per working hour" of the product: on the calendar of the (first) product line
        calendar = Calendar.from_spec(spec.line(self.product_lines[0]).calendar or spec.calendar)
        working = np.array([calendar.working_seconds(r.warmup_s, r.end_s) for r in self.replications])
        with np.errstate(invalid="ignore", divide="ignore"):
            per_working = np.where(working > 0, self._product / np.maximum(working, 1e-300) * 3600.0, np.nan)
        return Throughput(Estimate.of(self._product / windows * 3600.0), Estimate.of(per_working))

    @cached_property
    def wip(self) -> Estimate:
        """Time-average parts in all lines (stocks and vehicles between lines are not in any line)."""
        return Estimate.of([r.line_wip.sum() for r in self.replications])

    @cached_property
    def product_wip(self) -> Estimate:
        return Estimate.of([r.line_wip[self._product_index].sum() for r in self.replications])

    @cached_property
    def lead_time_s(self) -> Estimate:
        """Mean lead time of the product (release at its line's first station to exit)."""
        values = []
        idx = self._product_index
        for r in self.replications:
            finished, lead = r.line_finished[idx], r.line_lead_time_s[idx]
            ok = finished > 0
            if ok.any():
                values.append(float(np.sum(lead[ok] * finished[ok]) / finished[ok].sum()))
            else:
                values.append(np.nan)
        return Estimate.of(values)

    # ------------------------------------------------------------------ by month
    @cached_property
    def monthly(self) -> list[dict[str, object]] | None:
        """The product's output by month of the model year (t = 0 is 1 January; months of a common year), over the
        whole calendar days of the measured window; None when an engine did not count by day.

        With a window of exactly 365 days each month appears once, whole. Each entry: month (1-12), days counted,
        output (an Estimate over replications)."""
        reps = self.replications
        if any(r.line_daily is None for r in reps):
            return None
        month_of_day = np.repeat(np.arange(12), MONTH_DAYS)
        per_rep = []
        days_counted = np.zeros(12, dtype=int)
        for k, r in enumerate(reps):
            assert r.line_daily is not None
            first = math.ceil(r.warmup_s / DAY_S - 1e-9)
            last = math.floor(r.end_s / DAY_S + 1e-9)  # days first .. last - 1 lie wholly in the window
            days = np.arange(first, last)
            units = r.line_daily[self._product_index][:, first:last].sum(axis=0)
            months = month_of_day[days % 365]
            per_rep.append(np.bincount(months, weights=units, minlength=12))
            if k == 0:
                days_counted = np.bincount(months, minlength=12)
        table = np.array(per_rep)
        return [{"month": m + 1, "days": int(days_counted[m]), "output": Estimate.of(table[:, m])}
                for m in range(12) if days_counted[m] > 0]

    @cached_property
    def peak_month(self) -> Estimate | None:
        """Per replication the largest output of a whole month of the model year (only months the window covers
        wholly), as an Estimate; None without daily counts or whole months."""
        rows = self.monthly
        if rows is None:
            return None
        whole = [row for row in rows if row["days"] == MONTH_DAYS[int(row["month"]) - 1]]  # type: ignore[call-overload]
        if not whole:
            return None
        table = np.array([row["output"].values for row in whole])  # type: ignore[union-attr]
        return Estimate.of(table.max(axis=0))

    # ------------------------------------------------------------------ per station and buffer
    @cached_property
    def stations(self) -> list[StationKpis]:
        first = self.replications[0]
        shares = np.stack([r.shares for r in self.replications])  # (R, S, 5)
        util = np.stack([r.utilization for r in self.replications])  # (R, S)
        return [
            StationKpis(
                name=first.station_names[s],
                line=first.station_lines[s],
                servers=first.station_servers[s],
                utilization=Estimate.of(util[:, s]),
                shares={state: Estimate.of(shares[:, s, k]) for k, state in enumerate(STATES)},
                starved_by={name: Estimate.of([r.starved_by[s][name] for r in self.replications])
                            for name in (first.starved_by[s] if first.starved_by else {})},
            )
            for s in range(len(first.station_names))
        ]

    @cached_property
    def buffers(self) -> list[dict[str, object]]:
        first = self.replications[0]
        levels = np.stack([r.buffer_level for r in self.replications]) if first.buffer_names else np.zeros((1, 0))
        return [
            {"after": name, "capacity": int(first.buffer_capacity[b]), "level": Estimate.of(levels[:, b]).to_dict()}
            for b, name in enumerate(first.buffer_names)
        ]

    @cached_property
    def transports(self) -> list[dict[str, object]]:
        first = self.replications[0]
        out = []
        for t, name in enumerate(first.transport_names):
            shares = np.stack([r.transport_shares[t] for r in self.replications])
            delivered = Estimate.of([r.transport_delivered[t] / r.window_s * 3600.0 for r in self.replications])
            out.append({
                "name": name,
                "vehicle_share": {state: _clean(float(shares[:, k].mean()))
                                  for k, state in enumerate(VEHICLE_STATES)},
                "delivered_per_hour": delivered.to_dict(),
            })
        return out

    @property
    def deadlocks(self) -> list[dict[str, object]]:
        return [{"replication": r.replication, "stuck": list(r.deadlock)}
                for r in self.replications if r.deadlock is not None]

    @property
    def station_operations(self) -> int:
        return sum(r.station_operations for r in self.replications)

    def share(self, line: str, station: str, state: str) -> Estimate:
        for kpis in self.stations:
            if kpis.line == line and kpis.name == station:
                return kpis.shares[state]
        raise KeyError(f"no station {station!r} in line {line!r}")

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, object]:
        product = [ln for ln in self.scenario.spec.lines if ln.name in self.product_lines]
        rated_hour = [ln.rated_per_hour for ln in product]
        rated_year = [ln.rated_per_year for ln in product]
        return {
            "scenario": self.scenario.name,
            "source": self.scenario.source,
            "engine": self.engine,
            "engine_reason": self.engine_reason,
            "seed": self.seed,
            "replications": len(self.replications),
            "horizon_s": self.horizon_s,
            "warmup_s": self.warmup_s,
            "throughput": {
                **self.throughput.to_dict(),
                "rated_per_hour": sum(rated_hour) if all(v is not None for v in rated_hour) else None,  # type: ignore[arg-type]
                "rated_per_year": sum(rated_year) if all(v is not None for v in rated_year) else None,  # type: ignore[arg-type]
            },
            "product": self.product_lines,
            "wip": self.wip.to_dict(),
            "lead_time_s": self.lead_time_s.to_dict(),
            "lines": [ln.to_dict() for ln in self.lines],
            "transports": self.transports,
            "deadlocks": self.deadlocks,
            "stations": [st.to_dict() for st in self.stations],
            "buffers": self.buffers,
            "parts": {
                "released": int(sum(int(r.line_released.sum()) for r in self.replications)),
                "finished": int(sum(int(r.line_finished_total.sum()) for r in self.replications)),
                "scrapped": int(sum(int(r.line_scrapped.sum()) for r in self.replications)),
                "in_process_at_end": int(sum(int(r.line_in_process.sum()) for r in self.replications)),
            },
            "station_operations": self.station_operations,
            "monthly": ([{"month": row["month"], "days": row["days"], "output": row["output"].to_dict()}  # type: ignore[union-attr]
                         for row in self.monthly] if self.monthly is not None else None),
            "peak_month": self.peak_month.to_dict() if self.peak_month is not None else None,
        }

