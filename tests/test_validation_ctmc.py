"""Tier 2: exponential lines against exact values of their continuous-time Markov chain (tests/ctmc.py).

The exact throughput must lie in the run's 99% Student-t interval, and that interval must be narrow: half-width
at most 1% of the value. Rates are per minute (cycle_s = 60 / rate). Fixed seeds keep every test deterministic; the
run length is sized so that about 12,000 parts leave the line in each of 10 replications (30,000 where failures,
with their long repair periods, make the output burstier).
"""

from __future__ import annotations

from typing import Any

import pytest

import twin
from tests.ctmc import LineSolution, solve_line
from twin.results import Results

REPS = 10
PARTS_PER_REP = 12_000
LEVEL = 0.99
ROUND_OFF = 1e-12


def _scenario(rates: list[float], buffers: list[int], servers: list[int] | None = None,
              fail: list[float] | None = None, repair: list[float] | None = None) -> twin.Scenario:
    stations: list[dict[str, Any]] = []
    for j, rate in enumerate(rates):
        st: dict[str, Any] = {"name": f"M{j + 1}", "cycle_s": 60.0 / rate, "dist": "exp",
                              "buffer": buffers[j] if j < len(buffers) else 0,
                              "servers": servers[j] if servers else 1}
        if fail and fail[j] > 0:
            st["mtbf_s"] = 60.0 / fail[j]
            st["mttr_s"] = 60.0 / repair[j]  # type: ignore[index]
        stations.append(st)
    return twin.from_dict({"scenario": {"name": "ctmc", "seed": 11}, "lines": [{"name": "L", "stations": stations}]})


def _simulate(exact: LineSolution, sc: twin.Scenario, parts_per_rep: int) -> Results:
    per_hour = exact.throughput * 60.0
    hours = parts_per_rep / per_hour
    return twin.run(sc, hours=hours, warmup_hours=0.05 * hours, reps=REPS, seed=11)


def _assert_in_narrow_interval(est: twin.Estimate, value: float, what: str) -> None:
    lo, hi = est.ci(LEVEL)
    assert lo <= value <= hi, f"{what}: exact {value:.6g} outside the 99% interval [{lo:.6g}, {hi:.6g}]"
    assert est.half_width(LEVEL) <= 0.01 * value, (
        f"{what}: 99% half-width {est.half_width(LEVEL):.4g} is more than 1% of {value:.6g}")


def _assert_in_interval(est: twin.Estimate, value: float, what: str) -> None:
    lo, hi = est.ci(LEVEL)
    lo, hi = lo - ROUND_OFF, hi + ROUND_OFF  # a share that is exactly 0 comes out as 0 ± round-off on both sides
    assert lo <= value <= hi, f"{what}: exact {value:.6g} outside the 99% interval [{lo:.6g}, {hi:.6g}]"


def _check(rates: list[float], buffers: list[int], servers: list[int] | None = None,
           fail: list[float] | None = None, repair: list[float] | None = None, *, shares: bool = False) -> None:
    exact = solve_line(rates, buffers, servers=servers, fail_rates=fail, repair_rates=repair)
    parts = PARTS_PER_REP if not fail else 30_000
    res = _simulate(exact, _scenario(rates, buffers, servers, fail, repair), parts)
    _assert_in_narrow_interval(res.throughput.per_hour, exact.throughput * 60.0, "throughput per hour")
    if shares:
        _assert_in_interval(res.wip, exact.wip, "WIP")
        for j, st in enumerate(res.stations):
            _assert_in_interval(st.shares["working"], exact.working[j], f"working share of {st.name}")
            _assert_in_interval(st.shares["blocked"], exact.blocked[j], f"blocked share of {st.name}")
            _assert_in_interval(st.shares["starved"], exact.starved[j], f"starved share of {st.name}")
            _assert_in_interval(st.shares["down"], exact.down[j], f"down share of {st.name}")


def test_the_solver_agrees_with_the_closed_form_it_is_checked_against() -> None:
    # methods.md: TH = mu (B+2)/(B+3) for two equal machines; the solver's own tests cover the rest.
    assert solve_line([1.0, 1.0], [2]).throughput == pytest.approx(0.8, rel=1e-12)


@pytest.mark.parametrize("buffer", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("rates", [(1.0, 1.25), (1.2, 1.0)])
def test_two_machine_lines(rates: tuple[float, float], buffer: int) -> None:
    _check(list(rates), [buffer])


@pytest.mark.parametrize("buffer", [0, 2, 5])
def test_two_equal_machines(buffer: int) -> None:
    _check([1.0, 1.0], [buffer], shares=buffer == 2)


def test_three_machines_with_buffers_1_and_2() -> None:
    _check([1.0, 1.1, 0.9], [1, 2], shares=True)


def test_balanced_five_machine_line() -> None:
    _check([1.0] * 5, [1, 1, 1, 1], shares=True)


def test_unreliable_machines_with_busy_based_failures() -> None:
    _check([1.0, 1.1], [3], fail=[0.01, 0.02], repair=[0.1, 0.2], shares=True)


def test_unreliable_three_machine_line() -> None:
    _check([1.2, 1.0, 1.1], [2, 2], fail=[0.02, 0.0, 0.01], repair=[0.25, 1.0, 0.2])


def test_a_two_server_station() -> None:
    _check([1.0, 0.6, 1.0], [1, 1], servers=[1, 2, 1], shares=True)
