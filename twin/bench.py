"""`twin bench`: run lines headless and measure their KPIs and the engine's speed, as regression-ready data.

For each scenario (a built-in line or a .toml file) `bench_line` runs exactly what `twin run` runs for the same
settings — the same plan, so the same KPIs to the last bit for a seed — timed, and then a bottleneck verdict:

- `sensitivity` (the verdict of `twin bottleneck`: paired runs at ±2% cycle time with common random numbers,
  2 per station and replication) when the flow engine runs the scenario;
- `shifting_bottleneck` (one more run of the same plan recording active periods; the station that is most often
  the sole or shifting momentary bottleneck) in `--quick` mode, and when the SimPy engine runs the scenario,
  where the paired runs would cost 2 × stations × the run itself.

Speed: `cpu_s` is the CPU time of this process (every thread: the flow engine's replications run on threads) plus
that of the worker processes that ran replications (`RUSAGE_CHILDREN`, counted when they are joined);
`ops_per_cpu_s` = station-operations / `cpu_s`; `wall_s` is elapsed time. An untimed one-hour replication runs
first, so compiling (or loading the cached) numba kernels is not timed. Memory: see `MEMORY_METHOD`.

Pure functions: nothing is printed; progress is reported through a callback. Speed figures vary from run to run;
everything else in the result is a function of the settings and the seed.
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from twin.calendar import HOURS_PER_YEAR, Calendar
from twin.experiment import Plan, choose_engine, plan, run_plan
from twin.results import Results
from twin.scenario import Scenario, load
from twin.stats import Estimate

try:
    import resource
except ImportError:  # Windows: no getrusage; CPU of worker processes and peak RSS are then not measured
    resource = None  # type: ignore[assignment]

KIND = "twin bench"  # the "kind" of a bench JSON: how a baseline file is recognised
QUICK_HOURS = 48.0
QUICK_WARMUP_HOURS = 24.0
QUICK_REPS = 2
WARM_UP_RUN_S = 3600.0  # the untimed replication before each timed run
BOTTLENECK_METHODS = ("auto", "sensitivity", "shifting", "none")
SENSITIVITY_STEP = 0.02
CPU_METHOD = ("time.process_time() of this process (all threads) + RUSAGE_CHILDREN user+system time of the worker "
              "processes, around the timed run; an untimed 1-hour replication runs first (numba compilation)")
MEMORY_METHOD = ("peak_rss_mib: resident-set high-water mark during the timed run. Linux: VmHWM of this process, "
                 "reset just before the run (/proc/self/clear_refs), or when replications ran in worker processes "
                 "the larger of that and RUSAGE_CHILDREN ru_maxrss (the largest worker process so far); elsewhere "
                 "ru_maxrss of this process since it started. rss_before_mib: resident set just before the run, "
                 "so peak - before is what the run added (interpreter, numpy and numba are in both)")

Progress = Callable[[str, str], None]  # (scenario name, what is running now)


@dataclass(frozen=True)
class Settings:
    """What `twin bench` was asked for; None means the scenario's own value (or the quick mode's)."""

    quick: bool = False
    engine: str = "auto"
    reps: int | None = None
    hours: float | None = None
    warmup_hours: float | None = None
    seed: int | None = None
    bottleneck: str = "auto"
    workers: int | None = None  # None: one per core, at most one per replication

    def plan_for(self, scenario: Scenario) -> Plan:
        """The plan `twin run` would use with the same options (quick mode: QUICK_* where nothing was given)."""
        hours, warmup, reps = self.hours, self.warmup_hours, self.reps
        if self.quick:
            hours = QUICK_HOURS if hours is None else hours
            warmup = min(QUICK_WARMUP_HOURS, hours / 2.0) if warmup is None else warmup
            reps = QUICK_REPS if reps is None else reps
        return plan(scenario, hours, warmup, reps, self.seed, engine=self.engine)

    def to_dict(self) -> dict[str, object]:
        return {"quick": self.quick, "engine": self.engine, "reps": self.reps, "hours": self.hours,
                "warmup_hours": self.warmup_hours, "seed": self.seed, "bottleneck": self.bottleneck,
                "workers": self.workers}


@dataclass(frozen=True)
class Job:
    """One scenario to bench, resolved before anything runs (so bad input fails at once)."""

    name: str  # as given: a built-in name or a path; the key a baseline is matched on
    scenario: Scenario
    plan: Plan
    engine: str
    engine_reason: str
    bottleneck: str  # sensitivity, shifting or none
    bottleneck_why: str


def prepare(names: Sequence[str], settings: Settings) -> list[Job]:
    """Load every scenario, fill in its plan and choose its engine and bottleneck method; raises TwinError."""
    jobs = []
    for name in names:
        sc = load(name)
        the_plan = settings.plan_for(sc)
        engine, why = choose_engine(sc, the_plan)
        method, method_why = bottleneck_method(settings, engine)
        jobs.append(Job(name, sc, the_plan, engine, why, method, method_why))
    return jobs


def bottleneck_method(settings: Settings, engine: str) -> tuple[str, str]:
    if settings.bottleneck == "sensitivity":
        return "sensitivity", "asked for"
    if settings.bottleneck == "shifting":
        return "shifting", "asked for"
    if settings.bottleneck == "none":
        return "none", "asked for"
    if settings.quick:
        return "shifting", "auto: --quick takes the one-run shifting-bottleneck verdict"
    if engine == "flow":
        return "sensitivity", "auto: paired sensitivity runs, affordable on the flow engine"
    return "shifting", ("auto: on the SimPy engine the paired sensitivity runs would cost 2 x stations x the run; "
                        "the one-run shifting-bottleneck verdict instead")


# ----------------------------------------------------------------------------------------------- measuring
def status_mib(key: str) -> float | None:
    """A kB field of /proc/self/status (VmRSS, VmHWM) in MiB; None where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for row in fh:
                if row.startswith(key + ":"):
                    return int(row.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); whether that worked."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _maxrss_mib(children: bool) -> float | None:
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0  # KiB on Linux, bytes on macOS


def _children_cpu_s() -> float:
    if resource is None:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Timed:
    results: Results
    cpu_s: float
    wall_s: float
    rss_before_mib: float | None
    peak_rss_mib: float | None  # None where it cannot be read (no /proc and no getrusage)


def timed_run(scenario: Scenario, the_plan: Plan, workers: int) -> Timed:
    """One untimed short replication (compiles or loads the kernels), then the plan itself, timed."""
    warm_s = min(WARM_UP_RUN_S, the_plan.horizon_s)
    run_plan(scenario, replace(the_plan, horizon_s=warm_s, warmup_s=0.0, reps=1, stop_after_parts=None), workers=1)
    gc.collect()
    rss_before = status_mib("VmRSS")
    reset = reset_peak_rss()
    children_before = _children_cpu_s()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    res = run_plan(scenario, the_plan, workers=workers)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    children = _children_cpu_s() - children_before
    hwm = status_mib("VmHWM") if reset else None
    peak = hwm if hwm is not None else _maxrss_mib(children=False)
    workers_peak = _maxrss_mib(children=True) if children > 0 else None
    if workers_peak is not None:
        peak = workers_peak if peak is None else max(peak, workers_peak)
    return Timed(res, cpu + children, wall, rss_before, peak)


# ----------------------------------------------------------------------------------------------- bottlenecks
def shifting_verdict(scenario: Scenario, the_plan: Plan, workers: int) -> dict[str, object]:
    """The station most often the sole or shifting momentary bottleneck, over a run recording active periods.

    The same computation as `twin bottleneck`'s shifting-bottleneck column (windows on the scenario's calendar).
    """
    from twin.analytics.active_period import can_prune, periods_from_recorded, shifting_bottleneck

    res = run_plan(scenario, replace(the_plan, active_periods=True, prune_periods=can_prune(scenario)),
                   workers=workers)
    calendar = Calendar.from_spec(scenario.spec.calendar)
    totals = []
    for rep in res.replications:
        assert rep.active_periods is not None
        window = (calendar.to_working(rep.warmup_s), calendar.to_working(rep.end_s))
        with np.errstate(invalid="ignore", divide="ignore"):  # an empty window (all off shift) gives NaN shares
            periods = periods_from_recorded(rep.active_periods, window=window, pruned=rep.pruned_periods)
            totals.append(shifting_bottleneck(periods, window).total)
    share = np.nan_to_num(np.array(totals), nan=0.0)
    best = int(np.argmax(share.mean(axis=0)))
    first = res.replications[0]
    est = Estimate.of(share[:, best]).to_dict()
    return {"line": first.station_lines[best], "station": first.station_names[best], "value": est["mean"],
            "ci95": est["ci95"], "unit": "share of measured time it is the sole or shifting momentary bottleneck"}


def sensitivity_verdict(scenario: Scenario, the_plan: Plan, workers: int) -> dict[str, object]:
    """`twin bottleneck`'s verdict: the station whose cycle time moves throughput most (paired runs)."""
    from twin.analytics.bottleneck import analyse

    report = analyse(scenario, the_plan, rel_step=SENSITIVITY_STEP, workers=workers)
    top = report.verdict.to_dict()
    methods = report.to_dict()["methods"]
    assert isinstance(methods, dict)
    return {"line": top["line"], "station": top["station"], "value": top["per_hour_per_s"], "ci95": top["ci95"],
            "unit": "units per hour gained per second of cycle time removed",
            "other_methods": {"average_active_period": methods["average_active_period"],
                     "shifting_bottleneck": methods["shifting_bottleneck"]}}


def verdict(job: Job, workers: int) -> dict[str, object]:
    labels = {"sensitivity": "sensitivity", "shifting": "shifting_bottleneck", "none": "none"}
    out: dict[str, object] = {"method": labels[job.bottleneck], "why": job.bottleneck_why}
    if job.bottleneck == "none":
        return {**out, "line": None, "station": None, "value": None, "ci95": None, "unit": None, "wall_s": 0.0}
    started = time.perf_counter()
    if job.bottleneck == "sensitivity":
        found = sensitivity_verdict(job.scenario, job.plan, workers)
    else:
        found = shifting_verdict(job.scenario, job.plan, workers)
    return {**out, **found, "wall_s": time.perf_counter() - started}


# ----------------------------------------------------------------------------------------------- one line
def nameplate(throughput: dict[str, Any]) -> dict[str, object]:
    """Measured over rated: per year against rated_per_year if set, else per working hour against rated_per_hour
    (a nameplate an hour is a rate while the line works, lines/README.md)."""
    for basis, rated_key in (("per_year", "rated_per_year"), ("per_working_hour", "rated_per_hour")):
        rated = throughput[rated_key]
        if rated:
            est = throughput[basis]
            mean, (lo, hi) = est["mean"], est["ci95"]
            return {"basis": f"{basis} / {rated_key}", "rated": rated,
                    "ratio": None if mean is None else mean / rated,  # None: no working hour in the window
                    "ratio_ci95": None if lo is None or hi is None else [lo / rated, hi / rated]}
    return {"basis": None, "rated": None, "ratio": None, "ratio_ci95": None}


def bench_line(job: Job, workers: int, progress: Progress | None = None) -> dict[str, object]:
    """Run one scenario as `twin run` would, timed, then its bottleneck verdict; the line's entry of the JSON."""
    if progress is not None:
        progress(job.name, f"{job.plan.reps} replication(s) of {job.plan.horizon_s / 3600:g} h on {job.engine}")
    t = timed_run(job.scenario, job.plan, workers)
    kpis = t.results.to_dict()
    throughput = kpis["throughput"]
    assert isinstance(throughput, dict)
    if progress is not None and job.bottleneck != "none":
        progress(job.name, f"bottleneck: {job.bottleneck}")
    ops = t.results.station_operations
    return {
        "name": job.name,
        "scenario": job.scenario.name,
        "source": job.scenario.source,
        "engine": job.engine,
        "engine_reason": job.engine_reason,
        "seed": job.plan.seed,
        "replications": job.plan.reps,
        "hours": job.plan.horizon_s / 3600.0,
        "warmup_hours": job.plan.warmup_s / 3600.0,
        "workers": workers,
        "product": kpis["product"],
        "throughput": throughput,
        "nameplate": nameplate(throughput),
        "bottleneck": verdict(job, workers),
        "station_operations": ops,
        "cpu_s": t.cpu_s,
        "wall_s": t.wall_s,
        "ops_per_cpu_s": ops / t.cpu_s if t.cpu_s > 0 else None,
        "peak_rss_mib": t.peak_rss_mib,
        "rss_before_mib": t.rss_before_mib,
    }


# ----------------------------------------------------------------------------------------------- the whole bench
def machine() -> dict[str, object]:
    info: dict[str, object] = {"python": platform.python_version(), "numpy": np.__version__,
                               "cpu_count": os.cpu_count(), "platform": platform.platform()}
    for module in ("numba", "simpy"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    return info


def bench(jobs: Sequence[Job], settings: Settings, workers_for: Callable[[int], int],
          progress: Progress | None = None) -> dict[str, object]:
    """Every job in turn; the document `twin bench --json` writes (without the baseline comparison)."""
    from twin import __version__

    started = time.perf_counter()
    lines = [bench_line(job, workers_for(job.plan.reps), progress) for job in jobs]
    return {
        "kind": KIND,
        "version": __version__,
        "machine": machine(),
        "settings": settings.to_dict(),
        "hours_per_year": HOURS_PER_YEAR,
        "cpu_method": CPU_METHOD,
        "memory_method": MEMORY_METHOD,
        "lines": lines,
        "total_wall_s": time.perf_counter() - started,
    }
