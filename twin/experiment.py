"""Experiments: R independent replications of a scenario over a horizon, after a warm-up.

Replication r draws from the seed-sequence subtree (seed, r, line, station, purpose), so replications are
independent, and the result of replication r does not depend on R, on the worker count or on the order in which
replications finish. Replications run serially or in a process pool (`workers`); results are always put back in
replication order, so the output is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

from twin.engine.des import simulate
from twin.engine.flow_class import flow_problem
from twin.engine.model import ReplicationResult, RunConfig
from twin.errors import EngineError
from twin.results import Results
from twin.scenario import Scenario

DEFAULT_HOURS = 168.0
DEFAULT_WARMUP_SHARE = 0.1
DEFAULT_REPS = 10
ENGINES = ("auto", "des", "flow")  # auto: flow when the scenario is in its class, else des

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Plan:
    """The resolved settings of an experiment (command-line values over scenario values over defaults)."""

    horizon_s: float
    warmup_s: float
    reps: int
    seed: int
    engine: str = "auto"
    trace: bool = False
    failures: bool = True
    stop_after_parts: int | None = None
    active_periods: bool = False
    prune_periods: bool = False

    def config(self, replication: int) -> RunConfig:
        return RunConfig(
            horizon_s=self.horizon_s,
            warmup_s=self.warmup_s,
            seed=self.seed,
            replication=replication,
            trace=self.trace,
            failures=self.failures,
            stop_after_parts=self.stop_after_parts,
            active_periods=self.active_periods,
            prune_periods=self.prune_periods,
        )


def plan(
    scenario: Scenario,
    hours: float | None = None,
    warmup_hours: float | None = None,
    reps: int | None = None,
    seed: int | None = None,
    *,
    engine: str = "auto",
    trace: bool = False,
    failures: bool = True,
    parts: int | None = None,
) -> Plan:
    """Fill in what was not given: the scenario's own settings, then the defaults (a week, 10% warm-up, 10 reps)."""
    header = scenario.spec.scenario
    hours = hours if hours is not None else header.horizon_hours if header.horizon_hours is not None else DEFAULT_HOURS
    if warmup_hours is None:
        warmup_hours = header.warmup_hours if header.warmup_hours is not None else DEFAULT_WARMUP_SHARE * hours
    reps = reps if reps is not None else header.replications if header.replications is not None else DEFAULT_REPS
    seed = seed if seed is not None else header.seed
    if engine not in ENGINES:
        raise EngineError(f"engine {engine!r} is not available; engines: {', '.join(ENGINES)}")
    if not hours > 0:
        raise EngineError(f"hours must be > 0, got {hours}")
    if not 0 <= warmup_hours < hours:
        raise EngineError(f"warm-up hours must be >= 0 and below the horizon ({hours:g} h), got {warmup_hours}")
    if reps < 1:
        raise EngineError(f"replications must be >= 1, got {reps}")
    if seed < 0:
        raise EngineError(f"seed must be >= 0, got {seed}")
    if parts is not None and parts < 1:
        raise EngineError(f"parts must be >= 1, got {parts}")
    return Plan(hours * 3600.0, warmup_hours * 3600.0, reps, seed, engine, trace, failures, parts)


def choose_engine(scenario: Scenario, the_plan: Plan) -> tuple[str, str]:
    """The engine that runs the plan, and why: `auto` takes flow when the scenario is in its class.

    Raises EngineError when `flow` is asked for a scenario outside its class, naming the feature it cannot carry.
    """
    if the_plan.engine == "des":
        return "des", "asked for"
    problem = flow_problem(scenario, the_plan.config(0))
    if the_plan.engine == "flow":
        if problem is not None:
            raise EngineError(f"{scenario.name}: the flow engine cannot carry {problem}; "
                              "use --engine des, or auto to choose by itself")
        return "flow", "asked for"
    if problem is None:
        return "flow", "auto: the scenario is in the flow engine's class"
    return "des", f"auto: the flow engine cannot carry {problem}"


def _one(args: tuple[Scenario, RunConfig, str]) -> ReplicationResult:
    scenario, config, engine = args
    if engine == "flow":
        from twin.engine.flow import simulate_flow  # numba loads only when the flow engine runs

        return simulate_flow(scenario, config)
    return simulate(scenario, config)


def run_plan(scenario: Scenario, the_plan: Plan, workers: int = 1, progress: Progress | None = None) -> Results:
    """Run every replication of a plan and gather the results."""
    engine, why = choose_engine(scenario, the_plan)
    jobs = [(scenario, the_plan.config(r), engine) for r in range(the_plan.reps)]
    done: list[ReplicationResult] = []
    if workers <= 1 or the_plan.reps == 1:
        for job in jobs:
            done.append(_one(job))
            if progress is not None:
                progress(len(done), the_plan.reps)
    elif engine == "flow":
        # The flow kernels release the GIL: threads share the compiled code and the scenario, with no process
        # start-up and no pickling; Ctrl-C sets `cancel`, which every run checks between two compiled calls.
        from twin.engine.flow import simulate_flow

        cancel = threading.Event()
        threads = ThreadPoolExecutor(max_workers=min(workers, the_plan.reps))
        try:
            for result in threads.map(lambda job: simulate_flow(job[0], job[1], cancel), jobs):
                done.append(result)
                if progress is not None:
                    progress(len(done), the_plan.reps)
        except BaseException:
            cancel.set()
            threads.shutdown(wait=True, cancel_futures=True)
            raise
        threads.shutdown()
    else:
        pool = ProcessPoolExecutor(max_workers=min(workers, the_plan.reps))
        try:
            for result in pool.map(_one, jobs):
                done.append(result)
                if progress is not None:
                    progress(len(done), the_plan.reps)
        except BaseException:
            # Ctrl-C or a failed worker: stop the workers now rather than wait for replications nobody will read.
            # Python 3.11 has no public way to end running tasks (terminate_workers() comes in 3.14).
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
    return Results(
        scenario=scenario,
        engine=engine,
        engine_reason=why,
        seed=the_plan.seed,
        horizon_s=the_plan.horizon_s,
        warmup_s=the_plan.warmup_s,
        replications=tuple(done),
    )


def run(
    scenario: Scenario,
    hours: float | None = None,
    warmup_hours: float | None = None,
    reps: int | None = None,
    seed: int | None = None,
    *,
    engine: str = "auto",
    trace: bool = False,
    failures: bool = True,
    parts: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> Results:
    """Run a scenario: `reps` replications of `hours` simulated hours, the first `warmup_hours` discarded.

    `failures=False` turns failures and scrap off (the nameplate run); `parts` ends each replication once that
    many parts have left the lines; `trace=True` keeps a compact state trace in each replication.
    """
    the_plan = plan(scenario, hours, warmup_hours, reps, seed, engine=engine, trace=trace, failures=failures,
                    parts=parts)
    return run_plan(scenario, the_plan, workers=workers, progress=progress)
