"""Tests of the exact CTMC line solver (tests/ctmc.py) against closed forms.

The solver is the ground truth for the rest of the suite, so it is checked
here against results that do not depend on its state encoding: birth-death
formulas for two stations, availability of a saturated station, the
reversibility of single-server BAS lines, flow conservation, Euler's relation
for the rate-homogeneous throughput, and a published derivative example.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest

try:  # the suite imports the solver as tests.ctmc (run from the repo root)
    from tests import ctmc
    from tests.ctmc import LineSolution, solve_line, throughput_derivative
except ImportError:  # pragma: no cover - run without the root on sys.path
    import ctmc  # type: ignore[no-redef]
    from ctmc import (  # type: ignore[no-redef]
        LineSolution,
        solve_line,
        throughput_derivative,
    )


# --------------------------------------------------------------------------
# Independent closed forms
# --------------------------------------------------------------------------


def two_machine_throughput(mu1: float, mu2: float, buffer: int) -> float:
    """Classic two-machine BAS line: birth-death chain on B+3 states."""
    if mu1 == mu2:
        return mu1 * (buffer + 2) / (buffer + 3)
    rho = mu1 / mu2
    return mu1 * (1.0 - rho ** (buffer + 2)) / (1.0 - rho ** (buffer + 3))


def two_station_birth_death(
    mu1: float, mu2: float, m1: int, m2: int, buffer: int
) -> dict[str, float]:
    """Exact measures of a two-station line with parallel servers.

    ``n`` = parts finished at station 1 and not yet departed (blocked at
    station 1, in the buffer or at station 2), ``0 <= n <= m1 + B + m2``.
    Births happen at rate ``(m1 - blocked) mu1`` with
    ``blocked = max(0, n - B - m2)``; deaths at rate ``min(n, m2) mu2``.
    """
    n_max = m1 + buffer + m2
    weights = [1.0]
    for n in range(n_max):
        birth = (m1 - max(0, n - buffer - m2)) * mu1
        death = min(n + 1, m2) * mu2
        weights.append(weights[-1] * birth / death)
    total = sum(weights)
    p = [w / total for w in weights]

    def expect(f: Callable[[int], float]) -> float:
        return sum(pn * f(n) for n, pn in enumerate(p))

    busy2 = expect(lambda n: min(n, m2))
    blocked1 = expect(lambda n: max(0, n - buffer - m2))
    return {
        "throughput": mu2 * busy2,
        "wip": m1 + expect(lambda n: min(n, m2 + buffer)),
        "buffer": expect(lambda n: min(max(n - m2, 0), buffer)),
        "working1": (m1 - blocked1) / m1,
        "blocked1": blocked1 / m1,
        "working2": busy2 / m2,
        "starved2": 1.0 - busy2 / m2,
    }


def two_machine_derivatives(mu1: float, mu2: float, buffer: int) -> tuple[float, float]:
    """Analytic d TH / d mu1 and d TH / d mu2 for the two-machine line.

    With rho = mu1/mu2, p0 = 1 / sum_{n<=N} rho^n and N = B+2,
    TH = mu2 (1 - p0), hence dTH/dmu1 = p0^2 S and
    dTH/dmu2 = (1 - p0) - rho p0^2 S with S = sum_{n=1}^{N} n rho^(n-1).
    """
    rho = mu1 / mu2
    n_top = buffer + 2
    p0 = 1.0 / sum(rho**n for n in range(n_top + 1))
    s = sum(n * rho ** (n - 1) for n in range(1, n_top + 1))
    return p0 * p0 * s, (1.0 - p0) - rho * p0 * p0 * s


# A spread of lines used by the structural checks: reliable and unreliable,
# single and parallel servers, zero and positive buffers.
LineCase = tuple[
    list[float], list[int], list[int] | None, list[float] | None, list[float] | None
]
CASES: list[LineCase] = [
    ([0.9, 1.0, 1.2], [10, 0], None, None, None),
    ([1.0, 0.7], [0], None, None, None),
    ([1.0, 1.1, 0.9, 1.2, 1.0], [2, 2, 2, 2], None, None, None),
    ([1.0, 0.6, 1.1], [3, 3], [1, 2, 1], [0.05, 0.1, 0.02], [0.5, 0.4, 0.3]),
    ([1.0, 0.45, 0.8, 1.2], [0, 1, 0], [1, 3, 2, 1], [0.1, 0.05, 0.0, 0.2], [0.5, 0.4, 1.0, 0.8]),
    ([2.0, 0.5, 0.9], [1, 0], [1, 2, 2], None, None),
    ([0.8, 1.3, 0.6, 1.0], [2, 0, 3], None, [0.02, 0.1, 0.05, 0.01], [0.2, 1.0, 0.5, 0.3]),
]
CASE_IDS = [f"case{i}" for i in range(len(CASES))]


def _solve(case: LineCase) -> LineSolution:
    rates, buffers, servers, fails, repairs = case
    return solve_line(rates, buffers, servers, fails, repairs)


def _availability(case: LineCase, j: int) -> float:
    _, _, _, fails, repairs = case
    if fails is None or fails[j] == 0.0:
        return 1.0
    assert repairs is not None
    return repairs[j] / (repairs[j] + fails[j])


# --------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------


@pytest.mark.parametrize("buffer", range(6))
@pytest.mark.parametrize("mu1, mu2", [(1.0, 1.5), (1.5, 1.0), (0.3, 2.0), (1.0, 1.0), (2.5, 2.5)])
def test_two_machines_match_closed_form(mu1: float, mu2: float, buffer: int) -> None:
    sol = solve_line([mu1, mu2], [buffer])
    assert sol.throughput == pytest.approx(two_machine_throughput(mu1, mu2, buffer), rel=1e-9)
    assert sol.n_states == buffer + 3


@pytest.mark.parametrize(
    "mu1, mu2, m1, m2, buffer",
    [
        (1.0, 0.6, 1, 2, 0),
        (1.0, 0.6, 2, 1, 3),
        (0.7, 0.4, 3, 2, 1),
        (1.2, 1.2, 2, 2, 2),
        (0.5, 2.0, 3, 1, 0),
    ],
)
def test_two_stations_parallel_servers_match_birth_death(
    mu1: float, mu2: float, m1: int, m2: int, buffer: int
) -> None:
    sol = solve_line([mu1, mu2], [buffer], [m1, m2])
    ref = two_station_birth_death(mu1, mu2, m1, m2, buffer)
    assert sol.throughput == pytest.approx(ref["throughput"], rel=1e-9)
    assert sol.wip == pytest.approx(ref["wip"], rel=1e-9)
    assert sol.buffer_levels[0] == pytest.approx(ref["buffer"], rel=1e-9, abs=1e-12)
    assert sol.working[0] == pytest.approx(ref["working1"], rel=1e-9)
    assert sol.blocked[0] == pytest.approx(ref["blocked1"], rel=1e-9, abs=1e-12)
    assert sol.starved[0] == pytest.approx(0.0, abs=1e-12)
    assert sol.working[1] == pytest.approx(ref["working2"], rel=1e-9)
    assert sol.starved[1] == pytest.approx(ref["starved2"], rel=1e-9, abs=1e-12)
    assert sol.blocked[1] == 0.0


def test_two_machine_derivatives_match_analytic() -> None:
    for mu1, mu2, buffer in [(1.0, 1.5, 2), (1.4, 0.8, 0), (0.9, 1.1, 5)]:
        d1, d2 = two_machine_derivatives(mu1, mu2, buffer)
        assert throughput_derivative([mu1, mu2], [buffer], 0) == pytest.approx(d1, rel=1e-6)
        assert throughput_derivative([mu1, mu2], [buffer], 1) == pytest.approx(d2, rel=1e-6)


@pytest.mark.parametrize("servers", [1, 2, 4])
def test_single_station_throughput(servers: int) -> None:
    sol = solve_line([1.7], [], [servers])
    assert sol.throughput == pytest.approx(servers * 1.7, rel=1e-12)
    assert sol.working == (1.0,)
    assert sol.wip == pytest.approx(servers)
    assert sol.buffer_levels == ()


@pytest.mark.parametrize("servers", [1, 2, 3])
@pytest.mark.parametrize("fail, repair", [(0.1, 0.5), (0.01, 0.05), (2.0, 3.0)])
def test_single_station_busy_based_availability(servers: int, fail: float, repair: float) -> None:
    # A saturated station is always busy, so each server's availability is
    # MTBF / (MTBF + MTTR) = r / (r + f).
    mu = 1.3
    sol = solve_line([mu], [], [servers], [fail], [repair])
    assert sol.throughput == pytest.approx(servers * mu * repair / (repair + fail), rel=1e-9)
    assert sol.down[0] == pytest.approx(fail / (repair + fail), rel=1e-9)
    assert sol.n_states == servers + 1


# --------------------------------------------------------------------------
# Published value
# --------------------------------------------------------------------------


def test_published_three_machine_derivatives() -> None:
    rates, buffers = [0.9, 1.0, 1.2], [10, 0]
    derivs = [throughput_derivative(rates, buffers, j) for j in range(3)]
    assert derivs == pytest.approx([0.069, 0.380, 0.232], abs=2e-3)
    # Throughput is homogeneous of degree 1 in the rates (rescaling time),
    # so Euler's relation ties the derivatives to the throughput itself.
    th = solve_line(rates, buffers).throughput
    assert sum(r * d for r, d in zip(rates, derivs)) == pytest.approx(th, rel=1e-6)


# --------------------------------------------------------------------------
# Structural checks over a spread of lines
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_shares_are_fractions_summing_to_one(case: LineCase) -> None:
    sol = _solve(case)
    k = len(case[0])
    for shares in (sol.working, sol.down, sol.blocked, sol.starved):
        assert len(shares) == k
        assert all(-1e-12 <= x <= 1.0 + 1e-12 for x in shares)
    for j in range(k):
        total = sol.working[j] + sol.down[j] + sol.blocked[j] + sol.starved[j]
        assert total == pytest.approx(1.0, abs=1e-12)
    assert sol.starved[0] == pytest.approx(0.0, abs=1e-12)  # endless supply
    assert sol.blocked[-1] == 0.0  # free exit


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_throughput_below_station_capacities(case: LineCase) -> None:
    rates, _, servers, _, _ = case
    sol = _solve(case)
    m = servers or [1] * len(rates)
    caps = [m[j] * rates[j] * _availability(case, j) for j in range(len(rates))]
    assert 0.0 < sol.throughput <= min(caps) * (1.0 + 1e-12)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_flow_conservation(case: LineCase) -> None:
    rates, _, servers, _, _ = case
    sol = _solve(case)
    m = servers or [1] * len(rates)
    for j in range(len(rates)):
        assert sol.working[j] * m[j] * rates[j] == pytest.approx(sol.throughput, rel=1e-9)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_busy_based_down_fraction(case: LineCase) -> None:
    # Each working server fails at rate f and each down one is repaired at
    # rate r, so balance of the up/down flows gives down = working * f / r.
    _, _, _, fails, repairs = case
    sol = _solve(case)
    for j in range(len(case[0])):
        if fails is None or fails[j] == 0.0:
            assert sol.down[j] == 0.0
        else:
            assert repairs is not None
            expected = sol.working[j] * fails[j] / repairs[j]
            assert sol.down[j] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_buffer_levels_and_wip_in_range(case: LineCase) -> None:
    rates, buffers, servers, _, _ = case
    sol = _solve(case)
    m = servers or [1] * len(rates)
    assert len(sol.buffer_levels) == len(buffers)
    for level, cap in zip(sol.buffer_levels, buffers):
        assert -1e-12 <= level <= cap + 1e-12
    on_servers = sum(
        m[j] * (sol.working[j] + sol.down[j] + sol.blocked[j]) for j in range(len(rates))
    )
    assert sol.wip == pytest.approx(on_servers + sum(sol.buffer_levels), rel=1e-12)
    assert m[0] <= sol.wip <= sum(m) + sum(buffers) + 1e-9


def _reversed(
    rates: Sequence[float],
    buffers: Sequence[int],
    fails: Sequence[float] | None,
    repairs: Sequence[float] | None,
) -> LineSolution:
    return solve_line(
        list(rates)[::-1],
        list(buffers)[::-1],
        None,
        None if fails is None else list(fails)[::-1],
        None if repairs is None else list(repairs)[::-1],
    )


@pytest.mark.parametrize(
    "rates, buffers, fails, repairs",
    [
        ([0.9, 1.3, 0.7, 1.1], [2, 0, 3], None, None),
        ([0.9, 1.0, 1.2], [10, 0], None, None),
        ([0.9, 1.3, 0.7, 1.1], [2, 0, 3], [0.1, 0.02, 0.05, 0.2], [0.5, 0.3, 0.9, 1.0]),
    ],
)
def test_single_server_line_is_reversible(
    rates: list[float],
    buffers: list[int],
    fails: list[float] | None,
    repairs: list[float] | None,
) -> None:
    # Reversibility of single-server BAS lines: reversing station order (and
    # buffers) keeps the throughput.  With busy-based failures each part's
    # total time at a machine is still i.i.d., so the property carries over.
    forward = solve_line(rates, buffers, None, fails, repairs)
    backward = _reversed(rates, buffers, fails, repairs)
    assert forward.throughput == pytest.approx(backward.throughput, rel=1e-10)


# --------------------------------------------------------------------------
# Larger chains: iterative solver path and re-pinning
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ([1.0, 1.1, 0.9, 1.2, 1.0], [3, 3, 3, 3], None, None, None),
        # The empty-line state has negligible mass, so the solver must re-pin.
        ([10.0, 1.0, 1.0, 1.0, 1.0], [3, 3, 3, 3], None, None, None),
        # Rare, long failures make the chain nearly decomposable.
        (
            [1.0, 0.5, 1.2, 0.8],
            [3, 2, 3],
            [1, 2, 1, 1],
            [0.002, 0.001, 0.003, 0.0],
            [0.02, 0.05, 0.01, 0.0],
        ),
    ],
    ids=["balanced", "fast-first", "rare-failures"],
)
def test_iterative_path_matches_direct(case: LineCase, monkeypatch: pytest.MonkeyPatch) -> None:
    direct = _solve(case)
    assert direct.n_states <= ctmc._DIRECT_MAX_STATES
    # Force GMRES and forbid its LU fallback, so a GMRES failure shows up.
    monkeypatch.setattr(ctmc, "_DIRECT_MAX_STATES", 0)
    monkeypatch.setattr(ctmc, "_DIRECT_FALLBACK_MAX_STATES", 0)
    iterative = _solve(case)
    assert iterative.throughput == pytest.approx(direct.throughput, rel=1e-10)
    assert iterative.wip == pytest.approx(direct.wip, rel=1e-10)
    for a, b in zip(iterative.buffer_levels, direct.buffer_levels):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_line_whose_empty_state_is_negligible() -> None:
    # Fast stations ahead of a slow last one keep the line full; the empty
    # state is ~1e-20 as likely as the most likely one, which once made the
    # system pinned at it numerically singular.
    rates, servers = [7.452, 1.70, 6.667, 0.3088], [2, 3, 3, 1]
    sol = solve_line(rates, [4, 2, 3], servers)
    for j in range(len(rates)):
        assert sol.working[j] * servers[j] * rates[j] == pytest.approx(sol.throughput, rel=1e-9)
    assert 0.999 * rates[-1] < sol.throughput <= rates[-1]


def test_five_station_line_above_direct_limit() -> None:
    # 3905 states: solved by GMRES in normal operation.
    rates = [1.0, 1.1, 0.9, 1.2, 1.0]
    sol = solve_line(rates, [5, 5, 5, 5])
    assert sol.n_states > ctmc._DIRECT_MAX_STATES
    for j in range(len(rates)):
        assert sol.working[j] * rates[j] == pytest.approx(sol.throughput, rel=1e-9)
    backward = solve_line(rates[::-1], [5, 5, 5, 5])
    assert sol.throughput == pytest.approx(backward.throughput, rel=1e-10)


# --------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------


def test_state_count_guard() -> None:
    with pytest.raises(ValueError, match="max_states"):
        solve_line([1.0] * 5, [5] * 4, max_states=100)


def test_zero_failure_rate_means_reliable() -> None:
    with_zero = solve_line([1.0, 0.8], [1], None, [0.0, 0.0], [0.0, 0.0])
    reliable = solve_line([1.0, 0.8], [1])
    assert with_zero.throughput == pytest.approx(reliable.throughput, rel=1e-12)
    assert with_zero.n_states == reliable.n_states


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rates": [1.0, -1.0], "buffers": [1]},
        {"rates": [1.0, 0.0], "buffers": [1]},
        {"rates": [1.0, 1.0], "buffers": [1, 2]},
        {"rates": [1.0, 1.0], "buffers": [-1]},
        {"rates": [1.0, 1.0], "buffers": [1.5]},
        {"rates": [1.0, 1.0], "buffers": [1], "servers": [1, 0]},
        {"rates": [1.0, 1.0], "buffers": [1], "fail_rates": [0.1, 0.0]},
        {"rates": [1.0, 1.0], "buffers": [1], "fail_rates": [0.1, 0.0], "repair_rates": [0.0, 1.0]},
        {"rates": [], "buffers": []},
    ],
)
def test_invalid_input_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        solve_line(**kwargs)  # type: ignore[arg-type]


def test_derivative_rejects_bad_station() -> None:
    with pytest.raises(ValueError):
        throughput_derivative([1.0, 1.0], [1], 2)


def test_solution_is_plain_floats() -> None:
    sol = solve_line([1.0, 0.9], [2])
    assert isinstance(sol.throughput, float)
    assert all(isinstance(x, float) for x in sol.buffer_levels + sol.working)
    assert math.isfinite(sol.wip)
