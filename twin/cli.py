"""The `twin` command: a thin layer over the Python API.

Results go to stdout (the KPI tables, or the JSON with --json -, when the tables go to stderr so that stdout stays
JSON); progress and messages to stderr. Bad input exits 2 with every problem listed and no traceback; Ctrl-C exits
130 without a traceback.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.calendar import HOURS_PER_YEAR
from twin.capacity import availability, mean_cycle_s, station_per_hour
from twin.engine.model import VEHICLE_STATES
from twin.errors import TwinError
from twin.experiment import choose_engine
from twin.experiment import plan as make_plan
from twin.experiment import run_plan
from twin.results import Results
from twin.scenario import Scenario, builtin_names, load
from twin.spec import MONTH_DAYS, json_schema

app = typer.Typer(
    name="twin",
    help="Factory line-throughput digital twin: run a scenario, get throughput, WIP, lead time and state shares "
    "with confidence intervals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _err() -> Console:
    # Piped to a file or CI log, rich would fall back to 80 columns and fold the tables.
    width = None if sys.stderr.isatty() else 160
    return Console(stderr=True, highlight=False, width=width)


def _out(json_out: str | None = None) -> Console:
    """Where the result tables go: stdout, unless the JSON takes it (`--json -`), then stderr."""
    if json_out == "-":
        return _err()
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


class _Exit(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message


# Options shared by the commands that simulate (typer reads these annotations).
ScenarioArg = Annotated[str, typer.Argument(help="a scenario .toml file, or the name of a built-in line (twin lines)")]
HoursOpt = Annotated[float | None, typer.Option(help="simulated hours per replication (default: the scenario's, else 168)")]
WarmupOpt = Annotated[float | None, typer.Option(help="hours discarded at the start (default: the scenario's, else 10% of --hours)")]
RepsOpt = Annotated[int | None, typer.Option(help="independent replications (default: the scenario's, else 10)")]
SeedOpt = Annotated[int | None, typer.Option(help="random seed (default: the scenario's, else 0)")]
JsonOpt = Annotated[str | None, typer.Option("--json", help="write the results as JSON to PATH, or - for stdout")]
ForceOpt = Annotated[bool, typer.Option(help="overwrite an existing --json file")]
NoFailuresOpt = Annotated[bool, typer.Option("--no-failures", help="turn failures and scrap off (nameplate run)")]
WorkersOpt = Annotated[int | None, typer.Option(help="processes running replications in parallel (default: one per core, at most one per replication)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no tables, no progress: only what --json writes")]
EngineOpt = Annotated[str, typer.Option(help="des (SimPy), flow (the compiled max-plus recursion: the same sample "
                                             "path, for lines and assembly networks without transports) or auto "
                                             "(flow when the scenario is in its class)")]


# ----------------------------------------------------------------------------------------------- run
@app.command()
def run(
    scenario: ScenarioArg,
    hours: HoursOpt = None,
    warmup_hours: WarmupOpt = None,
    reps: RepsOpt = None,
    seed: SeedOpt = None,
    json_out: JsonOpt = None,
    force: ForceOpt = False,
    no_failures: NoFailuresOpt = False,
    parts: Annotated[int | None, typer.Option(help="end each replication once this many parts have left")] = None,
    workers: WorkersOpt = None,
    engine: EngineOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Simulate a scenario and print its KPIs with 95% confidence intervals."""
    sc = load(scenario)
    the_plan = make_plan(sc, hours, warmup_hours, reps, seed, failures=not no_failures, parts=parts, engine=engine)
    _, why = choose_engine(sc, the_plan)
    target = _check_output(json_out, force)
    workers = _workers(workers, the_plan.reps)
    console = _err()
    started_wall = time.perf_counter()
    if quiet:
        res = run_plan(sc, the_plan, workers=workers)
    else:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task(f"{escape(sc.name)}: replications", total=the_plan.reps)
            res = run_plan(sc, the_plan, workers=workers, progress=lambda done, total: bar.update(task, completed=done))
    wall = time.perf_counter() - started_wall
    if not quiet:
        _print_results(_out(json_out), res)
        ops = res.station_operations
        console.print(f"[dim]{ops:,} station-operations in {wall:.2f} s wall ({ops / max(wall, 1e-9):,.0f} a second; "
                      f"engine {res.engine} ({why}), {the_plan.reps} replications on {workers} "
                      f"{'thread(s)' if res.engine == 'flow' else 'process(es)'})[/dim]")
    if target is not None:
        _write_json(target, res.to_dict())


def _check_png(png: str | None, force: bool) -> Path | None:
    if png is None:
        return None
    path = Path(png)
    if path.suffix.lower() != ".png":
        raise _Exit(2, f"--png {png}: give a file name ending in .png")
    if path.exists() and not force:
        raise _Exit(2, f"--png {png}: the file exists; choose another path or add --force to overwrite it")
    if not path.parent.exists():
        raise _Exit(2, f"--png {png}: the folder {path.parent} does not exist")
    return path


def _workers(asked: int | None, reps: int) -> int:
    if asked is None:
        return min(os.cpu_count() or 1, reps)
    if asked < 1:
        raise _Exit(2, f"--workers {asked}: must be >= 1")
    return asked


def _check_output(json_out: str | None, force: bool) -> Path | str | None:
    if json_out is None or json_out == "-":
        return json_out
    path = Path(json_out)
    if path.exists() and not force and not _replaceable(path):
        raise _Exit(2, f"--json {json_out}: the file exists and is not an earlier twin result; "
                       "choose another path or add --force to overwrite it")
    if path.parent and not path.parent.exists():
        raise _Exit(2, f"--json {json_out}: the folder {path.parent} does not exist")
    return path


def _replaceable(path: Path) -> bool:
    """An empty file or an earlier result of `twin run --json` may be replaced; anything else a user wrote may not."""
    if not path.is_file():
        return False
    try:
        if path.stat().st_size == 0:
            return True
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"scenario", "engine", "throughput"} <= data.keys()


def _write_json(target: Path | str, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(target)
    # Written beside the target and renamed, so an interrupted write never leaves half a file.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fmt(est: Any, digits: int = 1) -> str:
    mean = est.mean
    half = est.half_width()
    if half != half:  # NaN: one replication
        return f"{mean:,.{digits}f}"
    return f"{mean:,.{digits}f} ± {half:,.{digits}f}"


def _print_results(console: Console, res: Results) -> None:
    r = len(res.replications)
    window_h = (res.horizon_s - res.warmup_s) / 3600.0
    console.print(f"\n[bold]{escape(res.scenario.name)}[/bold] — {r} replication(s) of {res.horizon_s / 3600:g} h, "
                  f"first {res.warmup_s / 3600:g} h discarded ({window_h:g} h measured), seed {res.seed}; "
                  "± is the 95% interval half-width")
    kpi = Table(title="Throughput", title_justify="left")
    for col in ("line", "per hour", "per working hour", "per year", "rated", "WIP", "lead time (s)"):
        kpi.add_column(col, justify="right" if col != "line" else "left")
    for ln in res.lines:
        rated = [f"{ln.rated_per_hour:,.6g}/h"] if ln.rated_per_hour is not None else []
        rated += [f"{ln.rated_per_year:,.0f}/yr"] if ln.rated_per_year is not None else []
        kpi.add_row(escape(ln.name), _fmt(ln.throughput.per_hour, 2), _fmt(ln.throughput.per_working_hour, 2),
                    _fmt(ln.throughput.per_year, 0), " ".join(rated), _fmt(ln.wip, 2), _fmt(ln.lead_time_s, 1))
    if len(res.lines) > 1:
        tp = res.throughput
        kpi.add_row(f"[bold]product[/bold] ({escape(', '.join(res.product_lines))})", _fmt(tp.per_hour, 2), _fmt(tp.per_working_hour, 2), _fmt(tp.per_year, 0),
                    "", _fmt(res.product_wip, 2), _fmt(res.lead_time_s, 1))
    console.print(kpi)
    if len(res.lines) > 1:
        console.print(f"WIP in all lines: {_fmt(res.wip, 1)}")
    _print_months(console, res)
    shares = Table(title="Stations: % of calendar time; utilization = working / on-shift time", title_justify="left")
    for col in ("line", "station", "servers", "utilization", "working", "blocked", "starved", "down", "off-shift"):
        shares.add_column(col, justify="left" if col in ("line", "station") else "right")
    for st in res.stations:
        shares.add_row(escape(st.line), escape(st.name), str(st.servers), f"{100 * st.utilization.mean:.1f}",
                       *(f"{100 * st.shares[k].mean:.1f}" for k in ("working", "blocked", "starved", "down", "off_shift")))
    console.print(shares)
    kits = [st for st in res.stations if st.starved_by]
    if kits:
        table = Table(title="Assembly stations: % of time short of each input (inputs can be short together)",
                      title_justify="left")
        for col in ("line", "station", "input", "short %"):
            table.add_column(col, justify="right" if col == "short %" else "left")
        for st in kits:
            for name, est in sorted(st.starved_by.items(), key=lambda kv: -kv[1].mean):
                table.add_row(escape(st.line), escape(st.name), escape(name), _fmt(est.scaled(100.0), 1))
        console.print(table)
    if res.transports:
        table = Table(title="Transports: share of vehicle time, %", title_justify="left")
        for col in ("transport", *VEHICLE_STATES, "delivered / h"):
            table.add_column(col, justify="left" if col == "transport" else "right")
        for tr in res.transports:
            sh = tr["vehicle_share"]
            delivered = tr["delivered_per_hour"]["mean"]  # type: ignore[index]
            table.add_row(escape(str(tr["name"])), *(f"{100 * (sh[k] or 0):.1f}" for k in  # type: ignore[index]
                          VEHICLE_STATES), f"{delivered:,.1f}")
        console.print(table)
    for dl in res.deadlocks:
        console.print(f"[red]deadlock[/red] in replication {dl['replication']}: the run stalled for good; stuck: "
                      f"{escape(', '.join(dl['stuck']))}", soft_wrap=True)  # type: ignore[arg-type]


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _print_months(console: Console, res: Results) -> None:
    """The product by month of the model year, when the window holds at least two whole months."""
    rows = res.monthly
    if rows is None:
        return
    whole = [row for row in rows if row["days"] == MONTH_DAYS[int(row["month"]) - 1]]  # type: ignore[call-overload]
    if len(whole) < 2:
        return
    table = Table(title=f"Product ({escape(', '.join(res.product_lines))}) by month of the model year "
                        "(whole months of the window)", title_justify="left")
    for col in ("month", "days", "output"):
        table.add_column(col, justify="left" if col == "month" else "right")
    for row in whole:
        table.add_row(MONTHS[int(row["month"]) - 1], str(row["days"]), _fmt(row["output"], 0))  # type: ignore[call-overload]
    console.print(table)
    if res.peak_month is not None:
        console.print(f"largest month: {_fmt(res.peak_month, 0)}")


# ----------------------------------------------------------------------------------------------- bottleneck
@app.command()
def bottleneck(
    scenario: ScenarioArg,
    hours: HoursOpt = None,
    warmup_hours: WarmupOpt = None,
    reps: RepsOpt = None,
    seed: SeedOpt = None,
    step: Annotated[float, typer.Option(help="relative cycle-time step of the central difference")] = 0.02,
    png: Annotated[str | None, typer.Option(help="write a PNG: state shares per station, bottleneck timeline")] = None,
    json_out: JsonOpt = None,
    force: ForceOpt = False,
    no_failures: NoFailuresOpt = False,
    workers: WorkersOpt = None,
    engine: EngineOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Rank the stations by what a second of cycle time is worth (paired runs, common random numbers), beside
    the active-period, shifting-bottleneck, arrow and turning-point verdicts."""
    from twin.analytics.bottleneck import analyse

    sc = load(scenario)
    the_plan = make_plan(sc, hours, warmup_hours, reps, seed, failures=not no_failures, engine=engine)
    choose_engine(sc, the_plan)
    target = _check_output(json_out, force)
    png_path = _check_png(png, force)
    workers = _workers(workers, the_plan.reps)
    console = _err()
    if quiet:
        report = analyse(sc, the_plan, rel_step=step, workers=workers)
    else:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("trace run", total=the_plan.reps)

            def show(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total)

            report = analyse(sc, the_plan, rel_step=step, workers=workers, progress=show)
        _print_bottleneck(_out(json_out), report)
    if png is not None:
        from twin.analytics.plots import bottleneck_png

        bottleneck_png(report, png_path, report.timeline)
        if not quiet:
            console.print(f"wrote {escape(str(png_path))}")
    if target is not None:
        _write_json(target, {**report.results.to_dict(), "bottleneck": report.to_dict()})


def _print_bottleneck(console: Console, report: Any) -> None:
    res = report.results
    console.print(f"\n[bold]{escape(res.scenario.name)}[/bold] — bottlenecks from {len(res.replications)} paired "
                  f"replication(s) of {res.horizon_s / 3600:g} h ({res.warmup_s / 3600:g} h warm-up); ± is the 95% "
                  "half-width")
    table = Table(title="Stations ranked by sensitivity: units gained per second of cycle time removed",
                  title_justify="left")
    for col in ("#", "line", "station", "cycle_s", "per hour / s", "per year / s", "sole %", "shifting %",
                "mean active s", "working %", "blocked %", "starved %", "down %"):
        table.add_column(col, justify="left" if col in ("line", "station") else "right")
    active = {(v.line, v.station): v for v in report.active}
    kpis = {(k.line, k.name): k for k in res.stations}
    for rank, s in enumerate(report.sensitivity, start=1):
        v, k = active[(s.line, s.station)], kpis[(s.line, s.station)]
        table.add_row(str(rank), escape(s.line), escape(s.station), f"{s.cycle_s:g}", _fmt(s.per_hour_per_s, 3),
                      _fmt(s.per_year_per_s, 0), f"{100 * v.sole.mean:.1f}", f"{100 * v.shifting.mean:.1f}",
                      f"{v.mean_active_s.mean:,.0f}",
                      *(f"{100 * k.shares[x].mean:.1f}" for x in ("working", "blocked", "starved", "down")))
    console.print(table)
    verdict = report.verdict.station
    methods = report.to_dict()["methods"]
    lines = [f"sensitivity (the verdict): [bold]{escape(verdict)}[/bold]"]
    for name, label in (("average_active_period", "average active period"), ("shifting_bottleneck", "shifting bottleneck")):
        agree = "agrees" if methods[name] == verdict else "differs"
        lines.append(f"{label}: {escape(str(methods[name]))} ({agree})")
    for name, label in (("arrows", "arrow method"), ("turning_point", "turning point")):
        for line, station in methods[name].items():
            agree = "agrees" if station == verdict else "differs"
            lines.append(f"{label} on line {escape(line)}: {escape(str(station))} ({agree})")
    console.print("\n".join(lines))


# ----------------------------------------------------------------------------------------------- tune
_PER = {"hour": 1.0, "h": 1.0, "day": 24.0, "d": 24.0, "week": 168.0, "year": HOURS_PER_YEAR, "yr": HOURS_PER_YEAR,
        "y": HOURS_PER_YEAR}


def parse_target(text: str) -> float:
    """'400000/year', '240/hour', '5000/day' -> units per calendar hour."""
    value, _, unit = text.replace(",", "").replace("_", "").partition("/")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    hours = _PER.get(unit.strip().lower() or "hour")
    if not (number > 0) or hours is None:
        raise _Exit(2, f"--target {text!r}: give a number and a period, e.g. 400000/year, 240/hour or 5000/day")
    return number / hours


def _weights(sc: Scenario, items: list[str]) -> dict[tuple[str, str], float]:
    weights: dict[tuple[str, str], float] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            w = float(value)
        except ValueError:
            w = math.nan
        found = [(ln.name, st.name) for ln in sc.lines for st in ln.stations
                 if key in (st.name, f"{ln.name}/{st.name}")]
        if len(found) != 1 or not (w > 0):
            raise _Exit(2, f"--weight {item!r}: give STATION=W or LINE/STATION=W with a known station and W > 0")
        weights[found[0]] = w
    return weights


@app.command()
def tune(
    scenario: ScenarioArg,
    target: Annotated[str | None, typer.Option(help="throughput to reach: e.g. 400000/year, 240/hour, 5000/day")] = None,
    buffers: Annotated[int | None, typer.Option(help="instead: distribute this many buffer places for most throughput")] = None,
    hours: HoursOpt = None,
    warmup_hours: WarmupOpt = None,
    reps: RepsOpt = None,
    seed: SeedOpt = None,
    resolution: Annotated[float, typer.Option(help="cycle-time resolution of the answer, s")] = 0.01,
    weight: Annotated[list[str] | None, typer.Option(help="cost of a second at a station, STATION=W or LINE/STATION=W (default 1); repeatable")] = None,
    json_out: JsonOpt = None,
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    engine: EngineOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Find the cycle-time cuts that reach a throughput target at least total cost (a greedy on the paired
    sensitivities; min_cycle_s of each station is respected), and the bottleneck that comes next; or, with
    --buffers N, where N more buffer places raise throughput most."""
    from twin.analytics.tuning import allocate_buffers, tune_cycle_times

    if (target is None) == (buffers is None):
        raise _Exit(2, "give either --target (e.g. 400000/year) or --buffers N")
    if buffers is not None:
        if buffers < 1:
            raise _Exit(2, f"--buffers {buffers}: must be >= 1")
        sc = load(scenario)
        the_plan = make_plan(sc, hours, warmup_hours, reps, seed, engine=engine)
        choose_engine(sc, the_plan)
        out = _check_output(json_out, force)
        placed = allocate_buffers(sc, the_plan, buffers, workers=_workers(workers, the_plan.reps))
        if not quiet:
            console = _out(json_out)
            table = Table(title=f"{buffers} more buffer places", title_justify="left")
            for col in ("line", "after station", "places now", "places new"):
                table.add_column(col, justify="left" if col in ("line", "after station") else "right")
            for (line, station), (old, new) in placed.allocation.items():
                table.add_row(escape(line), escape(station), str(old), f"[bold]{new}[/bold]" if new != old else str(new))
            console.print(table)
            console.print(f"predicted {_fmt(placed.throughput_per_hour, 2)} an hour")
        if out is not None:
            _write_json(out, {"scenario": sc.name, "seed": the_plan.seed, "replications": the_plan.reps,
                              "buffers": placed.to_dict()})
        return
    assert target is not None
    per_hour = parse_target(target)
    sc = load(scenario)
    the_plan = make_plan(sc, hours, warmup_hours, reps, seed, engine=engine)
    choose_engine(sc, the_plan)
    out = _check_output(json_out, force)
    workers = _workers(workers, the_plan.reps)
    console = _err()

    def show(iteration: int, th: float) -> None:
        if not quiet:
            console.print(f"[dim]step {iteration}: {th:,.2f} an hour (target {per_hour:,.2f})[/dim]")

    weights = _weights(sc, weight or [])
    result = tune_cycle_times(sc, the_plan, per_hour, weights=weights, resolution_s=resolution, workers=workers,
                              progress=show)
    if not quiet:
        console = _out(json_out)
        table = Table(title=f"Cycle-time changes to reach {per_hour:,.2f} an hour ({escape(target)})",
                      title_justify="left")
        for col in ("line", "station", "cycle_s now", "cycle_s new", "removed s"):
            table.add_column(col, justify="left" if col in ("line", "station") else "right")
        for c in result.changes:
            table.add_row(escape(c.line), escape(c.station), f"{c.old_cycle_s:g}", f"{c.new_cycle_s:g}",
                          f"{c.removed_s:.3f}")
        console.print(table)
        state = "[green]reached[/green]" if result.reached else "[red]not reached[/red] (no station can help more)"
        console.print(f"{state}: predicted {_fmt(result.throughput_per_hour, 2)} an hour "
                      f"({_fmt(result.throughput_per_hour.scaled(HOURS_PER_YEAR), 0)} a year); "
                      f"{sum(c.removed_s for c in result.changes):.3f} s removed in total")
        if result.next_bottleneck is not None:
            nb = result.next_bottleneck
            console.print(f"next bottleneck: {escape(nb.line)}/{escape(nb.station)} "
                          f"({_fmt(nb.per_hour_per_s, 3)} an hour per second)")
    if out is not None:
        _write_json(out, {"scenario": sc.name, "seed": the_plan.seed, "replications": the_plan.reps,
                          "tune": result.to_dict()})
    if not result.reached:
        raise _Exit(1, "the target was not reached")


# ----------------------------------------------------------------------------------------------- study
@app.command()
def study(
    scenario: ScenarioArg,
    target: Annotated[str, typer.Option(help="throughput to reach: e.g. 1000000/year, 120/hour, 3000/day")],
    prefer: Annotated[str, typer.Option(help="for a short feeder line: local (add lines first) or external (raise the second-source share first)")] = "local",
    keep_calendar: Annotated[bool, typer.Option("--keep-calendar", help="propose no change of shifts or working days: find capacity, not working time")] = False,
    hours: HoursOpt = None,
    warmup_hours: WarmupOpt = None,
    reps: RepsOpt = None,
    seed: SeedOpt = None,
    json_out: JsonOpt = None,
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    engine: EngineOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """What it takes to reach a target: the resources that bind in order (need against capacity), each change
    that lifts one simulated alone against the base (paired intervals), and a path of changes to the target."""
    from twin.analytics.study import PREFERENCES
    from twin.analytics.study import study as run_study

    if prefer not in PREFERENCES:
        raise _Exit(2, f"--prefer {prefer}: must be one of {', '.join(PREFERENCES)}")
    per_year = parse_target(target) * HOURS_PER_YEAR
    sc = load(scenario)
    the_plan = make_plan(sc, hours, warmup_hours, reps, seed, engine=engine)
    _, why = choose_engine(sc, the_plan)
    out = _check_output(json_out, force)
    workers = _workers(workers, the_plan.reps)
    console = _err()

    def show(stage: str) -> None:
        if not quiet:
            console.print(f"[dim]simulating: {escape(stage)}[/dim]")

    result = run_study(sc, the_plan, per_year, prefer=prefer, keep_calendar=keep_calendar, workers=workers,
                       progress=show)
    if not quiet:
        _print_study(_out(json_out), result, why)
    if out is not None:
        _write_json(out, {"scenario": sc.name, "seed": the_plan.seed, "replications": the_plan.reps,
                          "horizon_s": the_plan.horizon_s, "warmup_s": the_plan.warmup_s, "study": result.to_dict()})


def _print_study(console: Console, result: Any, why: str) -> None:
    target = result.target_per_year
    console.print(f"[bold]{escape(result.scenario)}[/bold]: {_fmt(result.base, 0)} a year now; target "
                  f"{target:,.0f} ({target / max(result.base.mean, 1e-9):.2f}x) [dim](engine: {escape(why)})[/dim]")
    table = Table(title="What the target asks of each resource (static: need against capacity, most binding first)",
                  title_justify="left")
    for col in ("", "resource", "kind", "need / yr", "capacity / yr", "need / capacity", "basis"):
        table.add_column(col, justify="left" if col in ("resource", "kind", "basis") else "right")
    for i, c in enumerate(result.constraints[:15]):
        style = "bold red" if c.ratio > 1 else ""
        table.add_row(str(i + 1), escape(c.name), c.kind, f"{c.need_per_year:,.0f}", f"{c.capacity_per_year:,.0f}",
                      f"[{style}]{c.ratio:.2f}[/{style}]" if style else f"{c.ratio:.2f}", escape(c.detail))
    console.print(table)
    for title, rows in (("Each change alone (against the base, same seeds)", [(o, None) for o in result.options]),
                        ("Path to the target (changes added one after another)",
                         [(s.outcome, s) for s in result.path])):
        table = Table(title=title, title_justify="left")
        for col in ("", "change", "vehicles / yr (95% CI)", "gain / yr (95% CI)"):
            table.add_column(col, justify="left" if col == "change" else "right")
        for i, (o, step) in enumerate(rows):
            mark = " [green]target reached[/green]" if step is not None and step.reached else ""
            table.add_row(str(i + 1), escape(o.label) + mark, _fmt(o.per_year, 0), _fmt(o.gain_per_year, 0))
        console.print(table)
    if result.reached:
        console.print(f"[green]reached[/green] with {len(result.path)} change(s): "
                      f"{_fmt(result.path[-1].outcome.per_year, 0)} a year")
    else:
        last = result.path[-1].outcome.per_year if result.path else result.base
        console.print(f"[red]not reached[/red]: {_fmt(last, 0)} a year after {len(result.path)} change(s); "
                      "nothing more the study knows how to change lifts it")


# ----------------------------------------------------------------------------------------------- check, schema
@app.command()
def check(scenario: Annotated[str, typer.Argument(help="a scenario .toml file, or a built-in name")]) -> None:
    """Validate a scenario: print a summary and exit 0, or every problem and exit 2."""
    sc = load(scenario)
    console = _out()
    console.print(f"[green]ok[/green] {escape(sc.source)}: scenario [bold]{escape(sc.name)}[/bold], seed {sc.seed}, "
                  f"{len(sc.lines)} line(s), {sum(len(ln.stations) for ln in sc.lines)} station(s)")
    table = Table(title="Capacity of each station alone (parts per working hour)", title_justify="left")
    for col in ("line", "station", "cycle_s", "dist", "servers", "buffer after", "availability", "capacity / h"):
        table.add_column(col, justify="left" if col in ("line", "station", "dist") else "right")
    for line in sc.lines:
        for st in line.stations:
            table.add_row(escape(line.name), escape(st.name), f"{mean_cycle_s(sc, line.name, st.name):g}", _dist_text(st), str(st.servers),
                          str(st.buffer), f"{availability(st):.3f}", f"{_capacity(sc, line.name, st.name):.1f}")
    console.print(table)
    for line in sc.lines:
        slowest = min(line.stations, key=lambda s: _capacity(sc, line.name, s.name))
        rated = f", rated {line.rated_per_hour:g}/h" if line.rated_per_hour else ""
        rated += f", rated {line.rated_per_year:,.0f}/yr" if line.rated_per_year else ""
        console.print(f"line {escape(line.name)}: at most {_capacity(sc, line.name, slowest.name):.1f}/working hour, "
                      f"limited by {escape(repr(slowest.name))} in isolation{rated}")
    from twin.engine.flow_class import flow_problem

    problem = flow_problem(sc)
    console.print("engine: " + ("flow (the scenario is in the flow engine's class; --engine auto takes it)"
                                if problem is None else f"des (the flow engine cannot carry {escape(problem)})"))


def _dist_text(st: Any) -> str:
    if st.kind == "batch":
        return f"{st.dist}, batch of {st.batch_max}"
    if st.kind == "conveyor":
        return f"conveyor, pitch; transit {st.transit_s:g} s" + ("" if st.stops_when_blocked else ", non-stop")
    return str(st.dist) if st.kind == "machine" else f"{st.dist}, {st.kind}"


def _capacity(sc: Scenario, line: str, station: str) -> float:
    return station_per_hour(sc, line, station)


@app.command()
def lines() -> None:
    """List the built-in scenarios (the real lines in lines/), one a line; run one with `twin run NAME`."""
    console = _err()
    for name in builtin_names():
        try:
            sc = load(name)
            text = sc.spec.scenario.description or sc.name
            rated = [f"{ln.name} {ln.rated_per_hour:g}/h" for ln in sc.lines if ln.rated_per_hour]
            rated += [f"{ln.name} {ln.rated_per_year:,.0f}/yr" for ln in sc.lines if ln.rated_per_year]
            sys.stdout.write(f"{name:<14} {text}" + (f" (rated: {', '.join(rated)})" if rated else "") + "\n")
        except TwinError as exc:
            console.print(f"[red]{escape(name)}: invalid[/red] {escape(str(exc))}", soft_wrap=True)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors that validate TOML against JSON Schema)."""
    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


# ----------------------------------------------------------------------------------------------- bench
@app.command()
def bench(
    names: Annotated[list[str] | None, typer.Argument(help="built-in lines (twin lines) or scenario .toml files; "
                                                           "default: every built-in line")] = None,
    quick: Annotated[bool, typer.Option(help="48 h, 24 h warm-up, 2 replications (where not given) and the one-run "
                                             "shifting-bottleneck verdict: seconds, not minutes")] = False,
    engine: EngineOpt = "auto",
    reps: RepsOpt = None,
    hours: HoursOpt = None,
    warmup_hours: WarmupOpt = None,
    seed: SeedOpt = None,
    bottleneck: Annotated[str, typer.Option(help="auto (sensitivity on the flow engine, else and with --quick the "
                                                 "shifting bottleneck), sensitivity, shifting or none")] = "auto",
    baseline: Annotated[str | None, typer.Option(help="an earlier `twin bench --json` file: print the differences; "
                                                      "exit 1 if a KPI moved beyond its interval or speed fell")
                        ] = None,
    max_slowdown: Annotated[float, typer.Option(help="with --baseline: fail when station-operations per CPU second "
                                                     "fell by more than this fraction (1: never)")] = 0.5,
    json_out: JsonOpt = None,
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run lines headless: throughput with its interval against the nameplate, the bottleneck, and the engine's
    speed (station-operations per CPU second, wall time, peak memory). Exit 0; 1 if --baseline found a regression;
    2 on bad input."""
    from twin.bench import BOTTLENECK_METHODS, Settings, prepare
    from twin.bench import bench as run_bench
    from twin.bench_compare import BaselineError, read_baseline
    from twin.bench_compare import compare as compare_benches
    from twin.experiment import ENGINES

    names = list(names or builtin_names())
    if not names:
        raise _Exit(2, "no scenario given and no built-in lines found (twin lines); give NAMES or .toml files")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _Exit(2, f"{', '.join(twice)}: given more than once; name each scenario once")
    if engine not in ENGINES:
        raise _Exit(2, f"--engine {engine}: choose one of {', '.join(ENGINES)}")
    if bottleneck not in BOTTLENECK_METHODS:
        raise _Exit(2, f"--bottleneck {bottleneck}: choose one of {', '.join(BOTTLENECK_METHODS)}")
    if reps is not None and reps < 1:
        raise _Exit(2, f"--reps {reps}: must be >= 1")
    if hours is not None and not hours > 0:
        raise _Exit(2, f"--hours {hours:g}: must be > 0")
    if seed is not None and seed < 0:
        raise _Exit(2, f"--seed {seed}: must be >= 0")
    if not 0 < max_slowdown <= 1:
        raise _Exit(2, f"--max-slowdown {max_slowdown:g}: give a fraction in (0, 1], e.g. 0.5 (fail when speed "
                       "halves); 1 never fails on speed")
    _workers(workers, 1)
    old = None
    if baseline is not None:
        try:
            old = read_baseline(Path(baseline))
        except BaselineError as exc:
            raise _Exit(2, f"--baseline {baseline}: {exc}") from None
        known = [entry["name"] for entry in old["lines"]]
        if not set(known) & set(names):
            raise _Exit(2, f"--baseline {baseline}: no line in common; it has {', '.join(known)}, this bench "
                           f"{', '.join(names)}")
    target = _check_bench_output(json_out, force)
    settings = Settings(quick=quick, engine=engine, reps=reps, hours=hours, warmup_hours=warmup_hours, seed=seed,
                        bottleneck=bottleneck, workers=workers)
    jobs = prepare(names, settings)  # every scenario loaded and its engine chosen before anything runs
    console = _err()

    def show(name: str, stage: str) -> None:
        if not quiet:
            console.print(f"[dim]{escape(name)}: {escape(stage)}[/dim]")

    doc = run_bench(jobs, settings, lambda r: _workers(workers, r), show)
    comparison = None if old is None else compare_benches(doc, old, max_slowdown)
    if comparison is not None:
        doc["baseline"] = {"path": baseline, **comparison}
    if not quiet:
        tables = _out(json_out)
        _print_bench(tables, doc)
        if comparison is not None:
            _print_comparison(tables, comparison, str(baseline))
    if target is not None:
        _write_json(target, doc)
    if comparison is not None and comparison["regressed"]:
        bad = [f"{row['name']} ({row['status']})" for row in comparison["rows"]  # type: ignore[attr-defined]
               if row["status"] not in ("ok", "not in baseline")]
        raise _Exit(1, f"regression against {baseline}: {', '.join(bad)}")


def _check_bench_output(json_out: str | None, force: bool) -> Path | str | None:
    """Like --json of the other commands; an earlier `twin bench` result may be replaced too."""
    from twin.bench_compare import is_bench

    if json_out not in (None, "-") and not force:
        path = Path(json_out)
        try:
            earlier = path.is_file() and is_bench(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            earlier = False
        if earlier:
            return path
    return _check_output(json_out, force)


def _print_bench(console: Console, doc: dict[str, Any]) -> None:
    table = Table(title="Bench: the product's throughput (± 95% half-width), nameplate, bottleneck, engine speed",
                  title_justify="left")
    for col in ("line", "engine", "runs", "per hour", "per year", "of rated", "bottleneck", "by", "station-ops",
                "CPU s", "wall s", "ops/CPU s", "peak MiB"):
        table.add_column(col, justify="left" if col in ("line", "engine", "bottleneck", "by") else "right",
                         no_wrap=col != "bottleneck", overflow="fold")
    short = {"sensitivity": "sens.", "shifting_bottleneck": "shift.", "none": ""}
    for ln in doc["lines"]:
        tp, plate, neck = ln["throughput"], ln["nameplate"], ln["bottleneck"]
        ratio = "" if plate["ratio"] is None else f"{100 * plate['ratio']:.1f}%"
        where = "" if neck["station"] is None else f"{neck['line']}/{neck['station']}"
        speed = "" if ln["ops_per_cpu_s"] is None else f"{ln['ops_per_cpu_s']:,.0f}"
        table.add_row(escape(ln["name"]), ln["engine"], f"{ln['replications']}×{ln['hours']:g}h",
                      _fmt_json(tp["per_hour"], 2), f"{tp['per_year']['mean']:,.0f}", ratio, escape(where),
                      short[neck["method"]], f"{ln['station_operations']:,}", f"{ln['cpu_s']:.2f}",
                      f"{ln['wall_s']:.2f}", speed, "" if ln["peak_rss_mib"] is None else f"{ln['peak_rss_mib']:.0f}")
    console.print(table)
    console.print(f"[dim]twin {doc['version']}, python {doc['machine']['python']}, {doc['machine']['cpu_count']} "
                  f"CPU(s); of rated: per year / rated_per_year, else per working hour / rated_per_hour; by: "
                  "sens. = paired sensitivities (as twin bottleneck), shift. = shifting bottleneck of one run; "
                  f"{doc['total_wall_s']:.1f} s in all[/dim]")


def _fmt_json(est: dict[str, Any], digits: int) -> str:
    lo, hi = est["ci95"]
    if lo is None:
        return f"{est['mean']:,.{digits}f}"
    return f"{est['mean']:,.{digits}f} ± {(hi - lo) / 2:,.{digits}f}"


def _print_comparison(console: Console, comparison: dict[str, Any], baseline: str) -> None:
    table = Table(title=f"Against {escape(baseline)} (twin {comparison['version']}): a KPI moves when the two 95% "
                        f"intervals do not overlap; speed fails below {1 - comparison['max_slowdown']:.0%} of the "
                        "baseline's", title_justify="left")
    for col in ("line", "per hour", "baseline", "difference", "allowed ±", "ops / CPU s", "baseline", "change",
                "bottleneck", "status"):
        table.add_column(col, justify="left" if col in ("line", "bottleneck", "status") else "right")
    for row in comparison["rows"]:
        kpi, speed, neck = row["throughput_per_hour"], row["ops_per_cpu_s"], row["bottleneck"]
        if kpi is None:
            table.add_row(escape(row["name"]), *[""] * 8, row["status"])
            continue
        change = "" if speed["change"] is None else f"{100 * speed['change']:+.1f}%"
        moved = "changed: " if neck["changed"] else ""
        status = row["status"] if row["status"] == "ok" else f"[red]{row['status']}[/red]"
        table.add_row(escape(row["name"]), f"{kpi['new']:,.3f}", f"{kpi['old']:,.3f}", f"{kpi['difference']:+,.3f}",
                      f"{kpi['allowed']:,.3f}", "" if speed["new"] is None else f"{speed['new']:,.0f}",
                      "" if speed["old"] is None else f"{speed['old']:,.0f}", change,
                      escape(f"{moved}{neck['old']} -> {neck['new']}" if neck["changed"] else str(neck["new"])),
                      status)
    console.print(table)
    for row in comparison["rows"]:
        if row["notes"]:
            console.print(f"[dim]{escape(row['name'])}: settings differ from the baseline: "
                          f"{escape('; '.join(row['notes']))}[/dim]")


# ----------------------------------------------------------------------------------------------- entry point
# ----------------------------------------------------------------------------------------------- sweep, compare
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="LINE.STATION.FIELD=VALUES, VALUES a list (10,12,15) or a range start:stop:step (stop "
                  "included); several --set make a full grid")]
SchedulerOpt = Annotated[str | None, typer.Option(help="run on an existing Dask cluster: tcp://HOST:PORT")]
DaskLocalOpt = Annotated[bool, typer.Option("--dask-local", help="run on a Dask LocalCluster on this machine")]


def _executor(workers: int | None, scheduler: str | None, dask_local: bool, tasks: int) -> Any:
    from twin.executors import make_executor

    if scheduler is not None and dask_local:
        raise _Exit(2, "give --scheduler or --dask-local, not both")
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise _Exit(2, f"--scheduler {scheduler}: give the scheduler's address, e.g. tcp://10.0.0.5:8786")
    return make_executor(_workers(workers, tasks), scheduler, dask_local)


@app.command()
def sweep(
    scenario: ScenarioArg,
    set_: SetOpt = None,
    hours: HoursOpt = None,
    warmup_hours: WarmupOpt = None,
    reps: RepsOpt = None,
    seed: SeedOpt = None,
    out: Annotated[str | None, typer.Option(help="append each finished replication, then each point's summary, to "
                                                 "this .csv or .jsonl file")] = None,
    resume: Annotated[bool, typer.Option(help="complete the --out file of an interrupted sweep")] = False,
    png: Annotated[str | None, typer.Option(help="write a PNG of throughput over the sweep (1 or 2 settings)")] = None,
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    dask_local: DaskLocalOpt = False,
    engine: EngineOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Run a grid of station settings with replications (common random numbers across the grid): throughput with
    its 95% interval and the bottleneck at each point."""
    from twin.analytics.plots import sweep_png
    from twin.sweep import grid, parse_setting, run_sweep

    sc = load(scenario)
    if not set_:
        raise _Exit(2, "give at least one --set LINE.STATION.FIELD=VALUES, e.g. --set wheel.painting.cycle_s=13:16:1")
    settings = [parse_setting(text, sc) for text in set_]
    the_plan = make_plan(sc, hours, warmup_hours, reps, seed, engine=engine)
    png_path = _check_png(png, force)
    if png_path is not None and len(settings) > 2:
        raise _Exit(2, f"--png: a picture of {len(settings)} settings is not drawn; use one or two --set")
    out_path = Path(out) if out is not None else None
    if out_path is not None and not out_path.parent.exists():
        raise _Exit(2, f"--out {out}: the folder {out_path.parent} does not exist")
    points = grid(settings)
    executor = _executor(workers, scheduler, dask_local, len(points) * the_plan.reps)
    console = _err()
    interactive = console.is_terminal and not quiet

    def report(done: int, total: int, point: Any) -> None:
        if interactive:
            bar.update(task, completed=done)
        elif point is not None and not quiet:
            values = ", ".join(f"{s.key}={v:g}" for s, v in zip(settings, point.values))
            console.print(f"point {point.point + 1}/{len(points)} ({values}): "
                          f"{_fmt(point.throughput_per_hour, 2)} an hour; bottleneck {point.bottleneck}")

    try:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True, disable=not interactive) as bar:
            task = bar.add_task(f"{escape(sc.name)}: {len(points)} points x {the_plan.reps} replications",
                                total=len(points) * the_plan.reps)
            result = run_sweep(sc, settings, the_plan, executor, out=out_path, resume=resume, progress=report)
    finally:
        executor.close()
    if not quiet:
        table = Table(title=f"{sc.name}: sweep, {the_plan.reps} replications a point, "
                            f"{the_plan.horizon_s / 3600:g} h ({the_plan.warmup_s / 3600:g} h warm-up); "
                            f"ran {result.ran} on {executor.name}", title_justify="left")
        for s in settings:
            table.add_column(s.key, justify="right")
        table.add_column("product an hour", justify="right")
        table.add_column("bottleneck (shifting-bottleneck method)")
        for ps in result.points:
            table.add_row(*(f"{v:g}" for v in ps.values), _fmt(ps.throughput_per_hour, 2), escape(ps.bottleneck))
        _out().print(table)
    if png_path is not None:
        sweep_png(settings, result.points, png_path, sc.name)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="scenario A (a .toml file or a built-in name)")],
    b: Annotated[str | None, typer.Argument(help="scenario B; or give --set changes to A instead")] = None,
    set_: SetOpt = None,
    hours: HoursOpt = None,
    warmup_hours: WarmupOpt = None,
    reps: RepsOpt = None,
    seed: SeedOpt = None,
    json_out: JsonOpt = None,
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    dask_local: DaskLocalOpt = False,
    engine: EngineOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Throughput of B against A from paired replications with common random numbers: the difference, its 95%
    interval, and whether it is significant."""
    from twin.sweep import compare as compare_runs
    from twin.sweep import parse_setting, point_scenario

    sc_a = load(a)
    if (b is None) == (not set_):
        raise _Exit(2, "give a second scenario B, or --set changes to A (one of the two)")
    if b is not None:
        sc_b = load(b)
    else:
        settings = [parse_setting(text, sc_a) for text in set_ or []]
        if any(len(s.values) != 1 for s in settings):
            raise _Exit(2, "with compare, each --set takes one value (LINE.STATION.FIELD=VALUE)")
        sc_b = point_scenario(sc_a, settings, tuple(s.values[0] for s in settings))
    the_plan = make_plan(sc_a, hours, warmup_hours, reps, seed, engine=engine)
    if the_plan.reps < 2:
        raise _Exit(2, f"--reps {the_plan.reps}: an interval needs at least 2 replications")
    target = _check_output(json_out, force)
    executor = _executor(workers, scheduler, dask_local, 2 * the_plan.reps)
    try:
        c = compare_runs(sc_a, sc_b, the_plan, executor)
    finally:
        executor.close()
    lo, hi = c.difference.ci(0.95)
    if not quiet:
        console = _out(json_out)
        table = Table(title=f"B against A: {the_plan.reps} paired replications (common random numbers)",
                      title_justify="left")
        for col in ("", "product an hour"):
            table.add_column(col, justify="left" if not col else "right")
        table.add_row(f"A {escape(sc_a.name)}", _fmt(c.a, 2))
        table.add_row(f"B {escape(sc_b.name)}", _fmt(c.b, 2))
        table.add_row("B − A", _fmt(c.difference, 2))
        console.print(table)
        console.print("significant at 95%: " + ("[bold]yes[/bold]" if c.significant else "no (0 is in the interval)"))
    if target is not None:
        _write_json(target, {"a": sc_a.name, "b": sc_b.name, "seed": the_plan.seed, "replications": the_plan.reps,
                             "a_per_hour": c.a.to_dict(), "b_per_hour": c.b.to_dict(),
                             "difference_per_hour": {"mean": c.difference.mean, "ci95": [lo, hi]},
                             "significant": c.significant})


# ----------------------------------------------------------------------------------------------- plug-ins
def _plugins() -> None:
    """Commands other packages register under the `twin.commands` entry point (the desktop app's `twin gui`):
    the library knows none of them by name, so it never imports its front ends."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="twin.commands"):
        app.command(name=entry.name)(entry.load())


_plugins()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (used by the console script and by tests)."""
    console = _err()
    try:
        code = app(args=argv, standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C into an exit code of 130 before it reaches us
            console.print("[yellow]interrupted[/yellow]: nothing was written")
            return 130
        if isinstance(code, int):
            return code
    except TwinError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return 2
    except _Exit as exc:
        console.print(f"[red]error:[/red] {escape(exc.message)}", soft_wrap=True)
        return exc.code
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]: nothing was written")
        return 130
    except Exception as exc:
        # typer may bring its own copy of click, so its usage errors are recognised by what they do, not by class.
        if type(exc).__name__ == "Abort":
            console.print("[yellow]interrupted[/yellow]: nothing was written")
            return 130
        if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):
            return int(exc.exit_code)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show(file=sys.stderr)
            return int(exc.exit_code)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
