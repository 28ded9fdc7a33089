"""Parameter sweeps and paired comparisons, replication by replication, resumable.

A sweep is a grid of station settings (`LINE.STATION.FIELD=VALUES`, several make a full grid) times R
replications. Each (grid point, replication) is one task: the scenario with that point's values, replication r of
the plan. Replication r uses the random-stream subtree (seed, r) at every point — common random numbers across the
grid, so neighbouring points differ by the change, not by luck — and a task's result depends only on (scenario,
point, seed, r): the same numbers whatever runs it (this process, a process pool, Dask) and in whatever order the
tasks finish.

Every finished replication is appended to the output file at once (one line, flushed and synced), and each grid
point's summary when its last replication is in; `resume` reads the file back, drops a line cut short by a crash,
and runs only what is missing. A comparison is the same with two scenarios: the paired differences of R
replications with common random numbers, and their Student-t interval.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from twin.analytics.active_period import can_prune, periods_from_recorded, shifting_bottleneck
from twin.calendar import Calendar
from twin.engine.des import simulate
from twin.engine.flow import simulate_flow
from twin.errors import TwinError
from twin.executors import Executor
from twin.experiment import Plan, choose_engine
from twin.results import Results
from twin.scenario import Scenario
from twin.spec import names_of
from twin.stats import Estimate

FIELDS_INT = ("servers", "buffer", "stock", "batch_max", "batch_min", "capacity", "hooks")
EXTERNAL_FIELDS = ("share", "lead_s", "stock", "mtbf_s", "mttr_s")
FORMS = ("LINE.STATION.FIELD=VALUES (e.g. wheel.painting.cycle_s=14,15,16 or wheel.painting.cycle_s=12:16:1), "
         "mix.VARIANT.share=VALUES (e.g. mix.erev.share=0.2:0.5:0.1) or "
         "LINE.STATION.INPUT.external.FIELD=VALUES (e.g. assembly.marriage.edrive.external.share=0:1:0.25)")
CSV_COLUMNS = ("kind", "point", "rep", "values", "throughput_per_hour", "ci95_low", "ci95_high", "bottleneck")


@dataclass(frozen=True)
class Setting:
    """One swept value: a station's field, or (`path`) a mix variant's share or an external source's field."""

    line: str
    station: str
    field: str
    values: tuple[float, ...]
    path: tuple[str, ...] = ()  # ("mix", VARIANT, FIELD) or (LINE, STATION, INPUT, "external", FIELD)

    @property
    def key(self) -> str:
        return ".".join(self.path) if self.path else f"{self.line}.{self.station}.{self.field}"


def parse_setting(text: str, scenario: Scenario) -> Setting:
    """`LINE.STATION.FIELD=10,12,15` or `=200:260:10` (start:stop:step, stop included when on the grid);
    `mix.VARIANT.share=...` and `LINE.STATION.INPUT.external.FIELD=...` for product shares and local shares."""
    where, sep, values = text.partition("=")
    parts = where.split(".")
    if not sep or not values or not (len(parts) == 3 or (len(parts) == 5 and parts[3] == "external")):
        raise TwinError(f"--set {text}: expected {FORMS}")
    if parts[0] == "mix" and len(parts) == 3:
        _check_mix_path(text, scenario, parts[1], parts[2])
        return Setting("", "", parts[2], _numbers(text, values, parts[2]), tuple(parts))
    line, station, name = parts[0], parts[1], parts[-1]
    try:
        scenario.station(line, station)
    except (KeyError, TwinError, ValueError):
        lines = {ln.name: [s.name for s in ln.stations] for ln in scenario.spec.lines}
        raise TwinError(f"--set {text}: no station {line}.{station}; stations are "
                        + "; ".join(f"{ln}: {', '.join(st)}" for ln, st in lines.items())) from None
    if len(parts) == 5:
        _check_external_path(text, scenario, line, station, parts[2], name)
        return Setting(line, station, name, _numbers(text, values, name), tuple(parts))
    return Setting(line, station, name, _numbers(text, values, name))


def _numbers(text: str, values: str, name: str) -> tuple[float, ...]:
    try:
        if ":" in values:
            start, stop, step = (float(x) for x in values.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            numbers = tuple(round(start + i * step, 12) for i in range(count))
        else:
            numbers = tuple(float(x) for x in values.split(","))
    except ValueError:
        raise TwinError(f"--set {text}: VALUES must be numbers a,b,c or a range start:stop:step with step > 0 "
                        "and stop >= start") from None
    if name in FIELDS_INT:
        if any(v != int(v) for v in numbers):
            raise TwinError(f"--set {text}: {name} takes whole numbers")
    return numbers


def _check_mix_path(text: str, scenario: Scenario, variant: str, name: str) -> None:
    mix = scenario.spec.mix
    if mix is None:
        raise TwinError(f"--set {text}: the scenario has no [mix]")
    names = [v.name for v in mix.variants]
    if variant not in names:
        raise TwinError(f"--set {text}: no variant {variant!r}; variants are {', '.join(names)}")
    if name != "share":
        raise TwinError(f"--set {text}: a sweep varies a variant's share (mix.{variant}.share)")
    if mix.base is None:
        raise TwinError(f"--set {text}: to vary one share, name the variant that takes the rest as [mix] base")
    if variant == mix.base:
        raise TwinError(f"--set {text}: {variant!r} is the mix's base, whose share is the rest; vary the others'")


def _input_index(scenario: Scenario, line: str, station: str, name: str) -> int:
    inputs = ["+".join(names_of(inp.source)) for inp in scenario.station(line, station).inputs]
    return inputs.index(name) if name in inputs else -1


def _check_external_path(text: str, scenario: Scenario, line: str, station: str, name: str, field_: str) -> None:
    st = scenario.station(line, station)
    inputs = ["+".join(names_of(inp.source)) for inp in st.inputs]
    k = _input_index(scenario, line, station, name)
    if k < 0:
        raise TwinError(f"--set {text}: {line}.{station} has no input {name!r}; inputs are {', '.join(inputs) or 'none'}")
    if st.inputs[k].external is None:
        raise TwinError(f"--set {text}: input {name!r} of {line}.{station} has no external source; add "
                        "external = {share = ..., lead_s = ...} to it")
    if field_ not in EXTERNAL_FIELDS:
        raise TwinError(f"--set {text}: an external source's swept field is one of {', '.join(EXTERNAL_FIELDS)}")


def grid(settings: list[Setting]) -> list[tuple[float, ...]]:
    """Every combination of the settings' values, the first setting varying slowest."""
    return list(itertools.product(*(s.values for s in settings)))


def point_scenario(base: Scenario, settings: list[Setting], point: tuple[float, ...]) -> Scenario:
    sc = base
    for setting, value in zip(settings, point):
        number = int(value) if setting.field in FIELDS_INT else float(value)
        if not setting.path:
            sc = sc.with_station(setting.line, setting.station, **{setting.field: number})
            continue
        data = sc.to_dict()
        if setting.path[0] == "mix" and len(setting.path) == 3:
            variant = next(v for v in data["mix"]["variants"] if v["name"] == setting.path[1])
            variant[setting.field] = number
        else:
            li = [ln.name for ln in sc.lines].index(setting.line)
            si = [st.name for st in sc.lines[li].stations].index(setting.station)
            inp = data["lines"][li]["stations"][si]["inputs"][_input_index(sc, setting.line, setting.station,
                                                                             setting.path[2])]
            inp["external"][setting.field] = number
        sc = sc.with_data(data)
    return sc


@dataclass(frozen=True)
class Task:
    point: int
    rep: int
    scenario: Scenario
    plan: Plan
    engine: str


def run_task(task: Task) -> dict[str, Any]:
    """One replication at one grid point: its throughput an hour and its shifting-bottleneck verdict."""
    config = replace(task.plan, active_periods=True, prune_periods=can_prune(task.scenario)).config(task.rep)
    rep = simulate_flow(task.scenario, config) if task.engine == "flow" else simulate(task.scenario, config)
    res = Results(task.scenario, task.engine, task.plan.seed, task.plan.horizon_s, task.plan.warmup_s, (rep,))
    calendar = Calendar.from_spec(task.scenario.spec.calendar)
    window = (calendar.to_working(rep.warmup_s), calendar.to_working(rep.end_s))
    assert rep.active_periods is not None
    sb = shifting_bottleneck(periods_from_recorded(rep.active_periods, window=window, pruned=rep.pruned_periods),
                             window)
    shares = sb.sole + sb.shifting
    names = [f"{line}/{name}" for line, name in zip(rep.station_lines, rep.station_names)]
    return {"throughput_per_hour": float(res.throughput.per_hour.mean), "bottleneck_shares": shares.tolist(),
            "stations": names}


@dataclass
class PointSummary:
    point: int
    values: tuple[float, ...]
    throughput_per_hour: Estimate
    bottleneck: str


@dataclass
class SweepResult:
    settings: list[Setting]
    points: list[PointSummary] = field(default_factory=list)
    ran: int = 0  # tasks run this time (the others were in the file already)


class _Output:
    """The sweep's file: JSONL or CSV by extension, one line a record, appended, flushed and synced."""

    def __init__(self, path: Path, settings: list[Setting]) -> None:
        self.path = path
        self.csv = path.suffix.lower() == ".csv"
        if path.suffix.lower() not in (".csv", ".jsonl"):
            raise TwinError(f"--out {path}: give a file name ending in .csv or .jsonl")
        self.settings = settings

    def read(self) -> list[dict[str, Any]]:
        """The records already written; a last line cut short (a crash mid-write) is dropped from the file."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return []
        text = self.path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        records: list[dict[str, Any]] = []
        good = 0
        for k, raw in enumerate(lines):
            if not raw.endswith("\n"):
                break
            if self.csv and k == 0:
                good += len(raw)
                continue
            try:
                records.append(self._parse(raw))
            except (ValueError, KeyError):
                if k == len(lines) - 1:
                    break
                raise TwinError(f"{self.path}: line {k + 1} is not a sweep record; choose another --out") from None
            good += len(raw)
        if good < len(text):
            with self.path.open("r+", encoding="utf-8") as fh:
                fh.truncate(len(text[:good].encode("utf-8")))
        return records

    def _parse(self, raw: str) -> dict[str, Any]:
        if not self.csv:
            record = json.loads(raw)
            record["values"] = tuple(record["values"])
            return record
        row = next(csv.reader([raw]))
        record = dict(zip(CSV_COLUMNS, row))
        record["point"] = int(record["point"])
        record["rep"] = int(record["rep"]) if record["rep"] else None
        record["values"] = tuple(float(v) for v in json.loads(record["values"]))
        record["throughput_per_hour"] = float(record["throughput_per_hour"])
        return record

    def append(self, record: dict[str, Any]) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        if self.csv:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            if new:
                writer.writerow(CSV_COLUMNS)
            writer.writerow([record.get("kind"), record.get("point"), record.get("rep", ""),
                             json.dumps(list(record["values"])), repr(record["throughput_per_hour"]),
                             record.get("ci95_low", ""), record.get("ci95_high", ""), record.get("bottleneck", "")])
            line = buf.getvalue()
        else:
            line = json.dumps({**record, "values": list(record["values"])}) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def _point_record(ps: PointSummary) -> dict[str, Any]:
    lo, hi = ps.throughput_per_hour.ci(0.95)
    return {"kind": "point", "point": ps.point, "values": ps.values, "throughput_per_hour": ps.throughput_per_hour.mean,
            "ci95_low": lo, "ci95_high": hi, "bottleneck": ps.bottleneck}


def run_sweep(scenario: Scenario, settings: list[Setting], plan: Plan, executor: Executor,
              out: Path | None = None, resume: bool = False,
              progress: Callable[[int, int, PointSummary | None], None] | None = None) -> SweepResult:
    """Run every (point, replication) not yet in `out` and summarise each point."""
    points = grid(settings)
    scenarios = [point_scenario(scenario, settings, p) for p in points]
    engines = [choose_engine(sc, plan)[0] for sc in scenarios]
    output = _Output(out, settings) if out is not None else None
    if output is not None and output.path.exists() and output.path.stat().st_size > 0 and not resume:
        raise TwinError(f"--out {out}: the file exists; add --resume to complete it, or choose another path")
    done: dict[tuple[int, int], dict[str, Any]] = {}
    summarised: set[int] = set()
    if output is not None and resume:
        for record in output.read():
            if record["kind"] == "replication":
                if tuple(record["values"]) != tuple(points[record["point"]]):
                    raise TwinError(f"--out {out}: it holds another sweep (point {record['point']} has values "
                                    f"{record['values']}, this sweep {points[record['point']]})")
                done[(record["point"], record["rep"])] = record
            elif record["kind"] == "point":
                summarised.add(record["point"])
    tasks = [Task(i, r, scenarios[i], plan, engines[i]) for i in range(len(points)) for r in range(plan.reps)
             if (i, r) not in done]
    result = SweepResult(settings)

    def summary(i: int) -> PointSummary:
        """A point's throughput interval, and as its bottleneck the station most replications named (ties: by
        name), so that a resumed sweep gives the same summary as one run in one go."""
        reps = [done[(i, r)] for r in range(plan.reps)]
        votes: dict[str, int] = {}
        for rec in reps:
            votes[rec["bottleneck"]] = votes.get(rec["bottleneck"], 0) + 1
        verdict = min(votes, key=lambda name: (-votes[name], name))
        return PointSummary(i, points[i], Estimate.of([rec["throughput_per_hour"] for rec in reps]), verdict)

    total = len(points) * plan.reps
    finished = len(done)
    for task, got in executor.submit_all(run_task, tasks):
        record = {"kind": "replication", "point": task.point, "rep": task.rep, "values": points[task.point],
                  "throughput_per_hour": got["throughput_per_hour"],
                  "bottleneck": got["stations"][int(np.argmax(got["bottleneck_shares"]))]}
        done[(task.point, task.rep)] = record
        if output is not None:
            output.append(record)
        finished += 1
        result.ran += 1
        point_done = all((task.point, r) in done for r in range(plan.reps))
        ps = summary(task.point) if point_done else None
        if ps is not None and output is not None and task.point not in summarised:
            output.append(_point_record(ps))
            summarised.add(task.point)
        if progress is not None:
            progress(finished, total, ps)
    result.points = [summary(i) for i in range(len(points))]
    if output is not None:  # points whose replications were all in the file but not their summary line
        for ps in result.points:
            if ps.point not in summarised:
                output.append(_point_record(ps))
    return result


@dataclass(frozen=True)
class Comparison:
    a: Estimate
    b: Estimate
    difference: Estimate  # b - a, paired by replication

    @property
    def significant(self) -> bool:
        lo, hi = self.difference.ci(0.95)
        return not (lo <= 0.0 <= hi)


def compare(a: Scenario, b: Scenario, plan: Plan, executor: Executor) -> Comparison:
    """Throughput of B against A: R paired replications with common random numbers (same seed, same r)."""
    engine_a, engine_b = choose_engine(a, plan)[0], choose_engine(b, plan)[0]
    tasks = [Task(0, r, a, plan, engine_a) for r in range(plan.reps)] + \
            [Task(1, r, b, plan, engine_b) for r in range(plan.reps)]
    got: dict[tuple[int, int], float] = {}
    for task, result in executor.submit_all(run_task, tasks):
        got[(task.point, task.rep)] = result["throughput_per_hour"]
    xa = np.array([got[(0, r)] for r in range(plan.reps)])
    xb = np.array([got[(1, r)] for r in range(plan.reps)])
    return Comparison(Estimate.of(xa), Estimate.of(xb), Estimate.of(xb - xa))


def iter_points(result: SweepResult) -> Iterator[tuple[dict[str, float], PointSummary]]:
    for ps in result.points:
        yield {s.key: v for s, v in zip(result.settings, ps.values)}, ps
