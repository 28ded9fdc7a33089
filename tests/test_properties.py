"""Tier 3: invariants over random lines (hypothesis, derandomized so the suite is deterministic)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twin
from tests.helpers import exits, line_data, one_run
from twin.stats import t_quantile

DISTS = ["det", "exp", "normal", "lognormal", "gamma", "uniform", "triangular", "weibull"]
PROPS = settings(max_examples=25, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def random_lines(draw: Any, *, single_server: bool = False, failures: str = "any", scrap: bool = True,
                 calendar: bool = True) -> dict[str, Any]:
    k = draw(st.integers(1, 5))
    cycles = [draw(st.sampled_from([5.0, 8.0, 10.0, 12.5, 20.0])) for _ in range(k)]
    dists = [draw(st.sampled_from(DISTS)) for _ in range(k)]
    cvs = [None if d in ("det", "exp") else draw(st.sampled_from([0.1, 0.3, 0.4])) for d in dists]
    servers = [1 if single_server else draw(st.integers(1, 3)) for _ in range(k)]
    buffers = [draw(st.integers(0, 3)) for _ in range(k)]
    fields: dict[str, Any] = {"dist": dists, "cv": cvs, "servers": servers}
    if failures != "none" and draw(st.booleans()):
        fields["mtbf_s"] = [draw(st.sampled_from([None, 200.0, 600.0])) for _ in range(k)]
        fields["mttr_s"] = [None if m is None else draw(st.sampled_from([20.0, 60.0])) for m in fields["mtbf_s"]]
        bases = ["busy"] if failures == "busy" else ["busy", "calendar"]
        fields["failure_basis"] = [None if m is None else draw(st.sampled_from(bases)) for m in fields["mtbf_s"]]
    if scrap:
        fields["scrap"] = [draw(st.sampled_from([0.0, 0.0, 0.05, 0.3])) for _ in range(k)]
    cal = None
    if calendar and draw(st.booleans()):
        cal = {"shifts": [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00"}],
               "breaks": [{"start": "10:00", "minutes": 30}], "days_per_week": 5}
    data = line_data(cycles, buffers, calendar=cal, **fields)
    data["scenario"]["seed"] = draw(st.integers(0, 2**31))
    return data


@PROPS
@given(random_lines())
def test_parts_are_conserved_and_shares_add_up(data: dict[str, Any]) -> None:
    sc = twin.from_dict(data)
    res = one_run(sc, 8 * 3600.0, warmup_s=3600.0, seed=sc.seed)
    released, finished, scrapped, inside = (res.line_released[0], res.line_finished_total[0],
                                            res.line_scrapped[0], res.line_in_process[0])
    assert released == finished + scrapped + inside
    room = sum(s.servers + s.buffer for s in sc.lines[0].stations[:-1]) + sc.lines[0].stations[-1].servers
    assert 0 <= inside <= room
    assert np.all(res.shares >= -1e-12) and np.all(res.shares <= 1 + 1e-12)
    assert np.allclose(res.shares.sum(axis=1), 1.0, atol=1e-9)
    assert np.all(res.buffer_level <= res.buffer_capacity + 1e-9)


def _capacity_per_working_hour(station: Any) -> float:
    availability = 1.0 if station.mtbf_s is None else station.mtbf_s / (station.mtbf_s + station.mttr_s)
    return station.servers * 3600.0 / station.cycle_s * availability * (1 - station.scrap)


@PROPS
@given(random_lines())
def test_throughput_never_exceeds_the_slowest_station_beyond_sampling_error(data: dict[str, Any]) -> None:
    sc = twin.from_dict(data)
    res = twin.run(sc, hours=12, warmup_hours=2, reps=5)
    # Scrap upstream of a station thins what reaches it, so the bound on output is the smallest, over stations,
    # of capacity times the survival through the stations after it.
    stations = sc.lines[0].stations
    bound = min(_capacity_per_working_hour(s) * np.prod([1 - t.scrap for t in stations[i + 1:]])
                for i, s in enumerate(stations))
    est = res.throughput.per_working_hour
    # one-sided 99.9% lower bound of the mean must not exceed the bound
    lower = est.mean - t_quantile(0.998, est.n - 1) * est.std / np.sqrt(est.n)
    assert lower <= bound


@PROPS
@given(random_lines(single_server=True, failures="busy", scrap=False, calendar=False), st.integers(0, 4))
def test_a_larger_buffer_never_lowers_output_by_any_time(data: dict[str, Any], which: int) -> None:
    """Single servers, busy-based failures, common random numbers: departures are monotone in every buffer."""
    small = twin.from_dict(data)
    k = len(data["lines"][0]["stations"])
    j = which % k
    data["lines"][0]["stations"][j]["buffer"] += 2
    big = twin.from_dict(data)
    a = exits(one_run(small, 12 * 3600.0, seed=small.seed, trace=True))
    b = exits(one_run(big, 12 * 3600.0, seed=big.seed, trace=True))
    assert len(b) >= len(a)
    assert all(tb <= ta + 1e-9 for ta, tb in zip(a, b))


@settings(max_examples=10, deadline=None, derandomize=True)
@given(random_lines())
def test_the_same_seed_gives_identical_json(data: dict[str, Any]) -> None:
    sc = twin.from_dict(data)
    one = json.dumps(twin.run(sc, hours=6, warmup_hours=1, reps=2, seed=7).to_dict())
    two = json.dumps(twin.run(sc, hours=6, warmup_hours=1, reps=2, seed=7).to_dict())
    assert one == two


def test_common_random_numbers_scale_draws_instead_of_redrawing() -> None:
    base = line_data([10.0], dist="exp")
    doubled = line_data([20.0], dist="exp")
    a = exits(one_run(twin.from_dict(base), 5000.0, trace=True))
    b = exits(one_run(twin.from_dict(doubled), 10000.0, trace=True))
    assert len(a) == len(b) > 100
    assert np.allclose(np.array(b), 2 * np.array(a), rtol=1e-12)


def test_changing_one_station_leaves_the_others_draws_unchanged() -> None:
    # A big buffer keeps M1 from ever being blocked: its log cannot depend on M2 except through M2's draws.
    data = line_data([10.0, 9.0], [10_000], dist="exp")
    other = line_data([10.0, 7.0], [10_000], dist="exp")
    from tests.helpers import segments

    a = one_run(twin.from_dict(data), 20_000.0, trace=True)
    b = one_run(twin.from_dict(other), 20_000.0, trace=True)
    assert segments(a, 0) == segments(b, 0)
    assert segments(a, 1) != segments(b, 1)


def test_replications_differ_and_do_not_depend_on_their_count() -> None:
    sc = twin.from_dict(line_data([10.0, 10.0], 1, dist="exp"))
    three = twin.run(sc, hours=5, warmup_hours=0.5, reps=3, seed=3)
    five = twin.run(sc, hours=5, warmup_hours=0.5, reps=5, seed=3)
    assert three.throughput.per_hour.values == five.throughput.per_hour.values[:3]
    assert len(set(five.throughput.per_hour.values)) == 5
