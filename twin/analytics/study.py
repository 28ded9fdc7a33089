"""What it takes to reach a target (`twin study SCENARIO --target 1000000/year`).

Two halves, both plain to check by hand:

1. **Constraints in order.** The target is turned into what every resource must pass in a year: the product line
   makes the target; each input of its stations needs target x the mix's mean quantity, split between the local
   supply (a transport and the lines behind it, or a line) and the second source by the input's `external.share`;
   a line fed by other lines passes the need on (the 4 e-control lines behind the 4 e-drive lines). Each resource
   has a static capacity (`twin.capacity`): a line its pacer alone in its working hours, a transport its round
   trips, a second source its kanban over its lead time. The ratio need / capacity ranks them: above 1 the target
   cannot be met without changing that resource, whatever else is done.
2. **Changes, simulated.** For each binding resource the study builds the concrete changes an engineer would
   propose — more shifts for a line on the plant calendar, added lines (copies, with the lines feeding them, into the
   same dock), a larger second-source share, faster cycle times at the stations that cannot keep up, more vehicles,
   a larger kanban — and simulates each alone against the base with the same seeds (common random numbers: the
   gain's interval is the paired one). Then a path: from the base, the change for the most binding resource is
   applied, the scenario is run again, and so on until the simulated throughput reaches the target or nothing is
   left to change. When no static constraint binds but the simulation is still short (blocking, failures, the
   mix), the needs are raised by the shortfall and the ranking is redone, so the path goes on at the resource
   closest to binding.

The core does no I/O: it takes a scenario and a plan and returns a `Study`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.calendar import HOURS_PER_YEAR, Calendar
from twin.capacity import (
    external_per_year, line_capacity, station_per_hour, transport_per_year,
)
from twin.experiment import Plan, run_plan
from twin.results import Results
from twin.scenario import Scenario
from twin.spec import CalendarSpec, names_of
from twin.stats import Estimate

PREFERENCES = ("local", "external")
MAX_STEPS = 10
MAX_SPEEDUP = 1.2  # a single machine may be made up to 20% faster; beyond that the study adds one in parallel


@dataclass(frozen=True)
class Constraint:
    """A resource and what the target asks of it in a year."""

    kind: str  # "line", "transport" or "source" (a second source)
    name: str  # the line, the transport, or "INPUT (external)"
    need_per_year: float
    capacity_per_year: float
    detail: str

    @property
    def ratio(self) -> float:
        return self.need_per_year / self.capacity_per_year if self.capacity_per_year > 0 else math.inf

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "need_per_year": round(self.need_per_year, 1),
                "capacity_per_year": round(self.capacity_per_year, 1), "ratio": round(self.ratio, 4),
                "detail": self.detail}


@dataclass(frozen=True)
class Change:
    """One concrete change to a scenario, as data: what it does, to which resource, and the edited scenario."""

    kind: str  # "shift", "line", "source", "cycle", "vehicles", "kanban"
    target: str  # the constraint's name
    label: str
    scenario: Scenario = field(repr=False, compare=False)


@dataclass(frozen=True)
class Outcome:
    label: str
    kind: str
    per_year: Estimate
    gain_per_year: Estimate  # paired with the base (the same seeds): mean and interval of the difference

    def to_dict(self) -> dict[str, object]:
        return {"change": self.label, "kind": self.kind, "per_year": self.per_year.to_dict(),
                "gain_per_year": self.gain_per_year.to_dict()}


@dataclass(frozen=True)
class Step:
    outcome: Outcome
    binding: Constraint | None  # what the change addressed
    reached: bool


@dataclass(frozen=True)
class Study:
    scenario: str
    target_per_year: float
    base: Estimate
    constraints: list[Constraint]  # at the target, most binding first
    options: list[Outcome]  # each change alone on the base
    path: list[Step]  # cumulative
    reached: bool
    final: Scenario = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "scenario": self.scenario,
            "target_per_year": self.target_per_year,
            "base_per_year": self.base.to_dict(),
            "constraints": [c.to_dict() for c in self.constraints],
            "options": [o.to_dict() for o in self.options],
            "path": [{**s.outcome.to_dict(), "binding": s.binding.name if s.binding else None, "reached": s.reached}
                     for s in self.path],
            "reached": self.reached,
        }


# ----------------------------------------------------------------------------------------------- needs
def _mean_qty(sc: Scenario, line: str, names: list[str], qty: int) -> float:
    """Units of an input per product unit: the station's qty, or the mix's bills of materials averaged by share."""
    mix = sc.spec.mix
    if mix is None or mix.line != line:
        return float(qty)
    total = 0.0
    for v in mix.variants:
        q = qty
        for n in names:
            if n in v.bom:
                q = v.bom[n]
        total += (v.share or 0.0) * q
    return total


def constraints(sc: Scenario, target_per_year: float) -> list[Constraint]:
    """Every resource with its need at the target and its capacity, most binding first."""
    spec = sc.spec
    caps = {ln.name: line_capacity(sc, ln.name) for ln in spec.lines}
    transports = {tr.name: tr for tr in spec.transports}
    product = names_of(spec.scenario.product) if spec.scenario.product else [spec.lines[-1].name]
    need: dict[str, float] = {}
    out: list[Constraint] = []

    def demand(line: str, units: float) -> None:
        need[line] = need.get(line, 0.0) + units
        for st in spec.line(line).stations:
            for inp in st.inputs:
                names = names_of(inp.source)
                per = units * _mean_qty(sc, line, names, inp.qty)
                local = per
                if inp.external is not None:
                    ext = inp.external
                    local = per * (1.0 - ext.share)
                    label = f"{'+'.join(names)} (external)"
                    out.append(Constraint("source", label, per * ext.share,
                                          external_per_year(ext, inp.stock or inp.qty),
                                          f"second source of {'+'.join(names)} at {line}/{st.name}: share "
                                          f"{ext.share:g}, kanban {ext.stock or inp.stock or inp.qty}, lead "
                                          f"{ext.lead_s / 3600:g} h"))
                feeders: list[str] = []
                for n in names:
                    if n in transports:
                        tr = transports[n]
                        out.append(Constraint("transport", n, local,
                                              transport_per_year(tr),
                                              f"{tr.vehicles} vehicle(s) of {tr.batch}, {tr.lead_s:g} s out, "
                                              f"{(tr.return_s or tr.lead_s):g} s back"))
                        feeders.extend(names_of(tr.source))
                    else:
                        feeders.append(n)
                # several lines into one stock or dock: each passes its share of capacity
                total = sum(caps[f].per_year for f in feeders) or 1.0
                for f in feeders:
                    demand(f, local * caps[f].per_year / total)

    for p in product:
        demand(p, target_per_year / len(product))
    for members in line_groups(sc):
        members = [m for m in members if m in need]
        if not members:
            continue
        cap = caps[members[0]]
        each = f"pacer {cap.pacer} {cap.per_working_hour:.1f}/working h x {cap.working_hours_per_year:,.0f} h"
        detail = each if len(members) == 1 else f"{len(members)} lines, each: {each}"
        out.append(Constraint("line", group_name(members), sum(need[m] for m in members),
                              sum(caps[m].per_year for m in members), detail))
    merged: dict[tuple[str, str], Constraint] = {}
    for c in out:  # one transport feeding several stations: add up what they need
        key = (c.kind, c.name)
        if key in merged:
            old = merged[key]
            c = Constraint(c.kind, c.name, old.need_per_year + c.need_per_year, c.capacity_per_year, c.detail)
        merged[key] = c
    return sorted(merged.values(), key=lambda c: -c.ratio)


def line_groups(sc: Scenario) -> list[list[str]]:
    """Lines that work as one resource: the lines sharing a transport's dock, and the lines feeding each of them
    directly (the e-control line behind each e-drive line); every other line alone."""
    spec = sc.spec
    transports = {tr.name for tr in spec.transports}
    consumer: dict[str, str] = {}  # a line feeding another line's station directly -> that line
    for ln in spec.lines:
        for st in ln.stations:
            for inp in st.inputs:
                for n in names_of(inp.source):
                    if n not in transports:
                        consumer[n] = ln.name
    groups: list[list[str]] = []
    placed: set[str] = set()
    for tr in spec.transports:
        members = names_of(tr.source)
        if len(members) > 1:
            groups.append(list(members))
            placed.update(members)
    changed = True
    while changed:  # the lines behind a group, as a group of their own, in the group's order
        changed = False
        for g in list(groups):
            behind = [f for m in g for f, c in consumer.items() if c == m and f not in placed]
            if len(behind) == len(g):
                groups.append(behind)
                placed.update(behind)
                changed = True
    groups.extend([ln.name] for ln in spec.lines if ln.name not in placed)
    return groups


def group_name(members: list[str]) -> str:
    return members[0] if len(members) == 1 else f"{members[0]} .. {members[-1]}"


def _members(sc: Scenario, name: str) -> list[str]:
    for g in line_groups(sc):
        if group_name(g) == name:
            return g
    return [name]


# ----------------------------------------------------------------------------------------------- changes
def _calendar_owner(sc: Scenario, line: str) -> tuple[str, CalendarSpec]:
    ln = sc.spec.line(line)
    return ("line", ln.calendar) if ln.calendar is not None else ("plant", sc.spec.calendar)


def _pattern_hours(cal: CalendarSpec) -> list[tuple[float, dict[str, Any], str]]:
    """The calendar's weekly patterns as whole-year calendars, with their working hours a year."""
    out = []
    base = cal.model_dump(mode="json", exclude_unset=False)
    base.pop("periods", None)
    out.append((Calendar.from_spec(CalendarSpec.model_validate(base)).working_share * HOURS_PER_YEAR, base, "its base pattern"))
    for p in cal.periods:
        data = {"shifts": [s.model_dump() for s in (p.shifts or cal.shifts)],
                "breaks": [b.model_dump() for b in (p.breaks if p.breaks is not None else cal.breaks)],
                "days_per_week": p.days_per_week if p.days_per_week is not None else cal.days_per_week}
        if data["days_per_week"] == 0:
            continue
        hours = Calendar.from_spec(CalendarSpec.model_validate(data)).working_share * HOURS_PER_YEAR
        out.append((hours, data, f"the pattern of '{p.note}'" if p.note else "a period's pattern"))
    return out


def _describe(cal: dict[str, Any]) -> str:
    return f"{len(cal['shifts'])} shift(s), {cal['days_per_week']} days a week"


def _shift_changes(sc: Scenario, c: Constraint) -> list[Change]:
    owner, cal = _calendar_owner(sc, c.name)
    hours, best, what = max(_pattern_hours(cal), key=lambda x: x[0])
    now = Calendar.from_spec(cal).working_share * HOURS_PER_YEAR
    out = []
    who = f"line {c.name}" if owner == "line" else "the plant calendar (this line and the lines on it)"
    for days in sorted({best["days_per_week"], 7}):
        pattern = {**best, "days_per_week": days}
        h = Calendar.from_spec(CalendarSpec.model_validate(pattern)).working_share * HOURS_PER_YEAR
        if h <= now * 1.001:
            continue
        data = sc.to_dict()
        if owner == "line":
            for ln in data["lines"]:
                if ln["name"] == c.name:
                    ln["calendar"] = pattern
        else:
            data["calendar"] = pattern
        label = (f"{who}: {_describe(pattern)} all year ({now:,.0f} -> {h:,.0f} working h"
                 f"{'; ' + what if days == best['days_per_week'] else ''})")
        out.append(Change("shift", c.name, label, sc.with_data(data)))
    return out


def _capacity_change(sc: Scenario, c: Constraint) -> Change | None:
    """Each station of the line(s) that cannot pass the need alone, made just able to: more servers where it has
    several (benches, cells, positions, furnace places: a cycle that is a process time stays), a shorter cycle where
    it has one (cycle x capacity / need, at least its min_cycle_s). Changes under 0.5% are left out."""
    members = _members(sc, c.name)
    cap = line_capacity(sc, members[0])
    per_hour = c.need_per_year / len(members) / cap.working_hours_per_year
    data = sc.to_dict()
    moved: list[str] = []
    for m in members:
        line = next(ln for ln in data["lines"] if ln["name"] == m)
        for st, spec in zip(line["stations"], sc.spec.line(m).stations):
            have = station_per_hour(sc, m, spec.name)
            if have >= per_hour * 0.995:
                continue
            if spec.servers > 1 or spec.kind == "delay" or per_hour / have > MAX_SPEEDUP:
                # a station of parallel places grows by places; one machine more than 20% short gets company
                servers = math.ceil(spec.servers * per_hour / have - 1e-9)
                key = "capacity" if spec.kind == "delay" else "servers"
                st[key] = servers
                text = f"{spec.name} {spec.servers} -> {servers} in parallel"
            elif spec.cycle_s is not None and spec.kind == "machine":
                new = math.floor(spec.cycle_s * have / per_hour * 100) / 100
                if spec.min_cycle_s is not None:
                    new = max(new, spec.min_cycle_s)
                if new >= spec.cycle_s * 0.995:
                    continue
                st["cycle_s"] = new
                text = f"{spec.name} {spec.cycle_s:g} -> {new:g} s"
            else:
                continue
            if text not in moved:
                moved.append(text)
    if not moved:
        return None
    each = " (each line)" if len(members) > 1 else ""
    return Change("capacity", c.name, f"{c.name} stations up to the need{each}: " + ", ".join(moved),
                  sc.with_data(data))


def _feeders_of(sc: Scenario, line: str) -> list[str]:
    """The lines feeding a line's stations directly (not through a transport), recursively."""
    transports = {tr.name for tr in sc.spec.transports}
    out: list[str] = []
    for st in sc.spec.line(line).stations:
        for inp in st.inputs:
            for n in names_of(inp.source):
                if n not in transports and n not in out:
                    out.extend(x for x in [n, *_feeders_of(sc, n)] if x not in out)
    return out


def _fresh(name: str, taken: set[str]) -> str:
    stem = name.rstrip("0123456789").rstrip("-") or name
    k = 2
    while f"{stem}-{k}" in taken:
        k += 1
    return f"{stem}-{k}"


def _dock_of(sc: Scenario, line: str) -> Any:
    for tr in sc.spec.transports:
        if line in names_of(tr.source):
            return tr
    return None


def _line_change(sc: Scenario, c: Constraint) -> Change | None:
    """Copies of the line (with the lines feeding it) into the same transport dock, enough for the need."""
    members = _members(sc, c.name)
    group = _dock_of(sc, members[0])
    if group is None:  # lines behind a group, or a line feeding a station directly: a capacity change instead
        return None
    each = line_capacity(sc, members[0]).per_year
    add = math.ceil(c.need_per_year / each - 1e-9) - len(members)
    if add < 1:
        return None
    data = sc.to_dict()
    taken = {ln["name"] for ln in data["lines"]} | {tr["name"] for tr in data.get("transports", [])}
    template = [ln for ln in data["lines"] if ln["name"] == members[0]][0]
    behind = [ln for ln in data["lines"] if ln["name"] in _feeders_of(sc, members[0])]
    added = []
    for _ in range(add):
        renames = {}
        for ln in [template, *behind]:
            renames[ln["name"]] = _fresh(ln["name"], taken)
            taken.add(renames[ln["name"]])
        for ln in [*behind, template]:
            new = copy.deepcopy(ln)
            new["name"] = renames[ln["name"]]
            new.pop("rated_per_year", None)  # a copy is not what the source rated
            new.pop("rated_per_hour", None)
            for st in new["stations"]:
                for inp in st.get("inputs", []):
                    src = inp["from"]
                    inp["from"] = [renames.get(x, x) for x in src] if isinstance(src, list) else renames.get(src, src)
            # a new line goes in before the first line of the template: the lines it feeds come after it
            data["lines"].insert(_index_of(data, template["name"]), new)
        added.append(renames[template["name"]])
    for tr in data["transports"]:
        if tr["name"] == group.name:
            src = tr["from"]
            tr["from"] = (src if isinstance(src, list) else [src]) + added
            if isinstance(tr.get("dock"), int):  # the dock grows with the lines filling it
                tr["dock"] = math.ceil(tr["dock"] * (len(members) + add) / len(members))
    feeders = f" (each with a copy of {', '.join(ln['name'] for ln in behind)})" if behind else ""
    return Change("line", c.name, f"{add} more line(s) like {members[0]}: {', '.join(added)}{feeders}, into "
                                  f"{group.name}'s dock", sc.with_data(data))


def _index_of(data: dict[str, Any], name: str) -> int:
    return next(i for i, ln in enumerate(data["lines"]) if ln["name"] == name)


def _source_change(sc: Scenario, c: Constraint, margin: float = 0.95) -> Change | None:
    """A larger second-source share on the input the line(s) feed, so that the local supply needs no more than
    `margin` of its capacity; the second source's kanban grows with the flow it carries."""
    members = _members(sc, c.name)
    tr = _dock_of(sc, members[0])
    feeds = set(members) | ({tr.name} if tr is not None else set())
    data = sc.to_dict()
    for li, ln in enumerate(sc.spec.lines):
        for si, st in enumerate(ln.stations):
            for ii, inp in enumerate(st.inputs):
                if inp.external is None or not feeds & set(names_of(inp.source)):
                    continue
                share = inp.external.share
                total = c.need_per_year / (1.0 - share) if share < 1 else c.need_per_year
                new = min(1.0, math.ceil((1.0 - margin * c.capacity_per_year / total) * 100) / 100)
                if new <= share:
                    return None
                ext = data["lines"][li]["stations"][si]["inputs"][ii]["external"]
                ext["share"] = new
                grow = (new / share) if share > 0 else 2.0
                if "stock" in ext:
                    ext["stock"] = math.ceil(ext["stock"] * grow)
                return Change("source", c.name, f"second source of {'+'.join(names_of(inp.source))}: share "
                                                f"{share:g} -> {new:g} (kanban x{grow:.2f})", sc.with_data(data))
    return None


def _transport_change(sc: Scenario, c: Constraint) -> Change | None:
    data = sc.to_dict()
    for tr in data.get("transports", []):
        if tr["name"] == c.name:
            old = tr.get("vehicles", 1)
            tr["vehicles"] = max(old + 1, math.ceil(old * c.ratio * 1.1))
            return Change("vehicles", c.name, f"{c.name}: {old} -> {tr['vehicles']} vehicles", sc.with_data(data))
    return None


def _kanban_change(sc: Scenario, c: Constraint) -> Change | None:
    data = sc.to_dict()
    for li, ln in enumerate(sc.spec.lines):
        for si, st in enumerate(ln.stations):
            for ii, inp in enumerate(st.inputs):
                if inp.external is not None and f"{'+'.join(names_of(inp.source))} (external)" == c.name:
                    ext = data["lines"][li]["stations"][si]["inputs"][ii]["external"]
                    old = ext.get("stock", inp.stock or inp.qty)
                    ext["stock"] = max(old + 1, math.ceil(old * c.ratio * 1.2))
                    return Change("kanban", c.name, f"{c.name}: kanban {old} -> {ext['stock']}", sc.with_data(data))
    return None


def changes_for(sc: Scenario, c: Constraint, prefer: str = "local", keep_calendar: bool = False) -> list[Change]:
    """The concrete changes that lift a constraint, the preferred first."""
    out: list[Change | None] = []
    if c.kind == "transport":
        out.append(_transport_change(sc, c))
    elif c.kind == "source":
        out.append(_kanban_change(sc, c))
    else:
        product = names_of(sc.spec.scenario.product) if sc.spec.scenario.product else [sc.spec.lines[-1].name]
        if c.name in product:
            out.extend([] if keep_calendar else _shift_changes(sc, c))
            out.append(_capacity_change(sc, c))
        else:
            members = _members(sc, c.name)
            own = ([] if keep_calendar or len(members) > 1 or sc.spec.line(members[0]).calendar is None
                   else _shift_changes(sc, c))
            local = [_line_change(sc, c), *own, _capacity_change(sc, c)]
            external = [_source_change(sc, c)]
            out.extend(local + external if prefer == "local" else external + local)
    return [x for x in out if x is not None]


# ----------------------------------------------------------------------------------------------- the study
def _per_year(res: Results) -> np.ndarray:
    return np.asarray(res.throughput.per_hour.values, dtype=float) * HOURS_PER_YEAR


def study(
    scenario: Scenario,
    plan: Plan,
    target_per_year: float,
    *,
    prefer: str = "local",
    keep_calendar: bool = False,
    max_options: int = 6,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> Study:
    """The constraints at the target, each binding one's changes simulated alone (for the `max_options` most
    binding resources), and a path of changes until the target is reached. `keep_calendar`: no change of shifts
    or working days — the path must find capacity, not working time."""
    if prefer not in PREFERENCES:
        raise ValueError(f"prefer must be one of {PREFERENCES}, got {prefer!r}")

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    say("base")
    base = _per_year(run_plan(scenario, plan, workers=workers))
    ranked = constraints(scenario, target_per_year)
    binding = ([c for c in ranked if c.ratio > 1.0] or ranked[:1])[:max_options]
    options = []
    for c in binding:
        for ch in changes_for(scenario, c, prefer, keep_calendar):
            say(ch.label)
            got = _per_year(run_plan(ch.scenario, plan, workers=workers))
            options.append(Outcome(ch.label, ch.kind, Estimate.of(got), Estimate.of(got - base)))
    path: list[Step] = []
    current, now = scenario, base
    tried: set[str] = set()
    for _ in range(MAX_STEPS):
        if now.mean() >= target_per_year:
            break
        aim = target_per_year
        ranked_now = constraints(current, aim)
        if ranked_now[0].ratio <= 1.0:
            # Nothing binds on paper, yet the simulation is short (blocking, failures, the mix): the resource
            # closest to binding must gain the shortfall on top of its margin, so aim where it binds by that much.
            aim = target_per_year * (target_per_year / max(now.mean(), 1.0)) / ranked_now[0].ratio
            ranked_now = constraints(current, aim)
        pick = None
        for c in ranked_now:
            for ch in changes_for(current, c, prefer, keep_calendar):
                if ch.label not in tried:
                    pick = (c, ch)
                    break
            if pick is not None:
                break
        if pick is None:
            break
        c, ch = pick
        tried.add(ch.label)
        say(f"path: {ch.label}")
        got = _per_year(run_plan(ch.scenario, plan, workers=workers))
        current, now = ch.scenario, got
        path.append(Step(Outcome(ch.label, ch.kind, Estimate.of(got), Estimate.of(got - base)), c,
                         bool(got.mean() >= target_per_year)))
    return Study(scenario.name, target_per_year, Estimate.of(base), ranked, options, path,
                 bool(now.mean() >= target_per_year), current)
