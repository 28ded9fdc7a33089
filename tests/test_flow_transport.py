"""Transports on the flow engine: the same sample path as the SimPy engine, to 1e-9 s.

Hypothesis draws assembly networks whose feeders deliver by truck (full batches or a timetable, one to three vehicles, docks and
stocks small enough that vehicles queue to unload and feeders block at the dock, fixed or random travel times),
with or without a product mix, shifts and failures; vehicle shares and deliveries are compared besides the KPIs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twin
from tests.test_flow import assert_same, assert_same_starved_by, both, both_on_network, random_networks
from twin.engine.flow import flow_problem
from twin.engine.model import ReplicationResult, RunConfig
from twin.streams import fixed_draw, unit_draw

SAME = settings(max_examples=120, deadline=None, derandomize=True)


def assert_same_vehicles(flow: ReplicationResult, des: ReplicationResult) -> None:
    """Vehicle time shares equal to rounding, deliveries exactly."""
    np.testing.assert_allclose(flow.transport_shares, des.transport_shares, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(flow.transport_delivered, des.transport_delivered)


@st.composite
def networks_with_transports(draw: Any) -> dict[str, Any]:
    data = draw(random_networks())
    main = data["lines"][-1]
    where = next(s for s in main["stations"] if "inputs" in s)
    trucks = []
    for inp in where["inputs"]:
        if not draw(st.booleans()) and trucks:
            continue
        name = f"T{len(trucks)}"
        batch = draw(st.integers(1, 6))
        tr: dict[str, Any] = {"name": name, "from": inp["from"], "batch": batch,
                              "vehicles": draw(st.integers(1, 3)), "dock": batch + draw(st.integers(0, 4)),
                              "lead_s": draw(st.sampled_from([20.0, 60.0, 150.0])),
                              "return_s": draw(st.sampled_from([10.0, 60.0]))}
        d = draw(st.sampled_from(["det", "exp", "lognormal"]))
        tr["dist"] = d
        if d == "lognormal":
            tr["cv"] = 0.3
        if draw(st.integers(0, 3)) == 0:  # a timetable: leave every every_s with what is there
            tr["dispatch"], tr["every_s"] = "every", draw(st.sampled_from([30.0, 45.0, 120.0]))
        trucks.append(tr)
        old = inp["from"]
        inp["from"] = name
        for v in data.get("mix", {}).get("variants", []):
            if old in v.get("bom", {}):
                v["bom"][name] = v["bom"].pop(old)
    data["transports"] = trucks
    return data


@SAME
@given(networks_with_transports(), st.integers(0, 2), st.sampled_from([None, None, 40]), st.booleans())
def test_random_networks_with_transports_give_the_same_sample_path(data: dict[str, Any], rep: int,
                                                                  parts: int | None, periods: bool) -> None:
    flow, des = both_on_network(data, rep, parts, periods)
    assert_same(flow, des)
    assert flow.transport_names == des.transport_names
    assert_same_vehicles(flow, des)
    assert_same_starved_by(flow, des)


@st.composite
def pooled_docks(draw: Any) -> dict[str, Any]:
    """Two or three feeder lines filling one truck's dock (small docks: the lines block there), the truck feeding
    an assembly station."""
    def station(name: str, cycle: list[float]) -> dict[str, Any]:
        d = draw(st.sampled_from(["det", "exp", "lognormal"]))
        s: dict[str, Any] = {"name": name, "cycle_s": draw(st.sampled_from(cycle)), "dist": d,
                             "buffer": draw(st.integers(0, 2)), "servers": draw(st.integers(1, 2))}
        if d == "lognormal":
            s["cv"] = 0.2
        if draw(st.booleans()):
            s["mtbf_s"], s["mttr_s"] = 600.0, 60.0
        if draw(st.booleans()):
            s["scrap"] = 0.05
        return s

    n_feed = draw(st.integers(2, 3))
    feeders = [{"name": f"F{i}", "stations": [station(f"f{k}", [6.0, 12.0, 20.0])
                                               for k in range(draw(st.integers(1, 2)))]} for i in range(n_feed)]
    qty = draw(st.integers(1, 2))
    main = [station("m0", [4.0, 8.0]),
            {**station("m1", [4.0, 8.0]), "inputs": [{"from": "T", "qty": qty, "stock": qty + draw(st.integers(0, 6))}]}]
    batch = draw(st.integers(1, 8))
    tr = {"name": "T", "from": [f"F{i}" for i in range(n_feed)], "batch": batch, "vehicles": draw(st.integers(1, 3)),
          "dock": batch + draw(st.sampled_from([0, 2, 50])), "lead_s": draw(st.sampled_from([30.0, 120.0]))}
    if draw(st.booleans()):
        tr["dist"], tr["cv"] = "lognormal", 0.3
    return {"scenario": {"name": "pool", "product": "M", "seed": draw(st.integers(0, 2**31))},
            "lines": [*feeders, {"name": "M", "stations": main}], "transports": [tr]}


@SAME
@given(pooled_docks(), st.integers(0, 1))
def test_a_dock_shared_by_several_lines_gives_the_same_sample_path(data: dict[str, Any],
                                                                                  rep: int) -> None:
    sc = twin.from_dict(data)
    assert flow_problem(sc) is None
    cfg = RunConfig(horizon_s=3 * 3600.0, warmup_s=1800.0, seed=sc.seed, replication=rep)
    flow, des = both(sc, cfg)
    assert_same(flow, des)
    assert_same_vehicles(flow, des)


@st.composite
def kits_from_three_transports(draw: Any) -> dict[str, Any]:
    """An assembly station taking its kit from two or three transports' stocks, small enough (a kit's quantity,
    or one or two places more) that vehicles of every transport queue to unload and are resumed together when a
    start frees places in all the stocks. Travel times are exponential, or fixed for all: then vehicles of two
    transports also arrive at one instant (in the order their departures' events were made)."""
    def station(name: str) -> dict[str, Any]:
        d = draw(st.sampled_from(["det", "exp", "lognormal"]))
        s: dict[str, Any] = {"name": name, "cycle_s": draw(st.sampled_from([4.0, 6.0, 10.0])), "dist": d,
                             "servers": draw(st.integers(1, 2)), "buffer": draw(st.integers(0, 2))}
        if d == "lognormal":
            s["cv"] = 0.2
        if draw(st.integers(0, 3)) == 0:
            s["mtbf_s"], s["mttr_s"] = 300.0, 60.0
        return s

    n_tr = draw(st.integers(2, 3))
    feeders = [{"name": f"F{i}", "stations": [station(f"f{k}") for k in range(draw(st.integers(1, 2)))]}
               for i in range(n_tr)]
    travel = draw(st.sampled_from(["exp", "det", "det"]))
    inputs, trucks = [], []
    for i in range(n_tr):
        qty = draw(st.integers(1, 3))
        inputs.append({"from": f"T{i}", "qty": qty, "stock": qty + draw(st.sampled_from([0, 0, 1, 2]))})
        batch = draw(st.integers(1, 6))
        trucks.append({"name": f"T{i}", "from": f"F{i}", "batch": batch, "vehicles": draw(st.integers(1, 3)),
                       "dock": batch + draw(st.integers(0, 4)), "lead_s": draw(st.sampled_from([20.0, 40.0, 60.0])),
                       "return_s": draw(st.sampled_from([10.0, 20.0, 60.0])), "dist": travel})
    kit: dict[str, Any] = {"name": "m1", "cycle_s": draw(st.sampled_from([4.0, 5.0])),
                           "servers": draw(st.integers(1, 3)), "inputs": inputs}
    if draw(st.integers(0, 2)) == 0:
        kit["mtbf_s"], kit["mttr_s"] = 300.0, 30.0
    main = [{"name": "m0", "cycle_s": draw(st.sampled_from([4.0, 5.0, 8.0]))}, kit]
    return {"scenario": {"name": "kits", "product": "M", "seed": draw(st.integers(0, 2**31))},
            "lines": [*feeders, {"name": "M", "stations": main}], "transports": trucks}


@settings(max_examples=100, deadline=None, derandomize=True)
@given(kits_from_three_transports())
def test_vehicles_of_several_transports_resumed_at_one_instant_give_the_same_sample_path(data: dict[str, Any]
                                                                                         ) -> None:
    sc = twin.from_dict(data)
    assert flow_problem(sc) is None
    flow, des = both(sc, RunConfig(horizon_s=4 * 3600.0, warmup_s=1800.0, seed=sc.seed))
    assert_same(flow, des)
    assert_same_vehicles(flow, des)


def test_servers_released_at_their_completion_go_on_before_servers_resumed_at_that_instant() -> None:
    # Found by a 600-example run: F1 (2 servers, failures) has a part blocked when a place frees at t and another
    # finishing at t with a second place free. The SimPy engine gives the blocked part its place at the free, but
    # resumes its server with an event made later than the finishing part's completion: the finishing server takes
    # the next part first (and with it the next draws). Before the fix F1's exits drifted from t = 4,304 s.
    data: dict[str, Any] = {
        "scenario": {"name": "net", "product": "M", "seed": 0},
        "lines": [{"name": "F0", "stations": [{"name": f"f{k}", "cycle_s": 4.0} for k in range(3)]},
                  {"name": "F1", "stations": [{"name": "f0", "cycle_s": 4.0, "servers": 2, "mtbf_s": 300.0,
                                               "mttr_s": 30.0}]},
                  {"name": "M", "stations": [{"name": "m0", "cycle_s": 5.0, "inputs": [
                      {"from": "T0", "qty": 1, "stock": 1}, {"from": "F1", "qty": 3, "stock": 3}]}]}],
        "transports": [{"name": "T0", "from": "F0", "batch": 1, "vehicles": 2, "dock": 1, "lead_s": 20.0,
                        "return_s": 10.0}]}
    sc = twin.from_dict(data)
    flow, des = both(sc, RunConfig(horizon_s=4 * 3600.0, warmup_s=1800.0, seed=0))
    assert_same(flow, des)


def test_jinhua_is_in_the_class_and_gives_the_same_sample_path() -> None:
    # the whole cluster: five trucks, the four e-drive lines' shared dock, the mix, shifts, failures and scrap
    sc = twin.load("jinhua")
    assert flow_problem(sc) is None
    cfg = RunConfig(horizon_s=72 * 3600.0, warmup_s=24 * 3600.0, seed=sc.seed, replication=1)
    flow, des = both(sc, cfg)
    assert_same(flow, des)
    assert_same_vehicles(flow, des)


def test_vehicles_of_two_transports_resumed_at_one_instant_go_in_the_order_their_places_were_freed() -> None:
    """Found by a 600-example run of the random networks: m2 takes kits from T0 and T1 and frees places in both
    stocks, each with vehicles queued to unload. At t = 14,367 s a T1 vehicle arrives and fills T1's stock, m2's
    starts give places to T0's queue (v1, v2) and to that T1 vehicle; the SimPy engine resumes them in the order the
    places were freed: T0's v1 finds the stock full again and queues, the T1 vehicle's parts complete a kit and m2
    starts before T0's v2 is resumed, giving the place it frees to v1, so v2 queues ahead of v1. Before the fix the
    flow kernel resumed each transport's vehicles of an instant together and counted a place freed by a later
    event as free for an earlier one: T0's queue ended v1, v2 (its vehicle shares differed from t = 14,371 s)."""
    data: dict[str, Any] = {
        "scenario": {"name": "net", "product": "M", "seed": 127},
        "lines": [
            {"name": "F0", "stations": [{"name": "f0", "cycle_s": 4.0},
                                        {"name": "f1", "cycle_s": 4.0, "dist": "lognormal", "servers": 2,
                                         "cv": 0.1}]},
            {"name": "F1", "stations": [
                {"name": "f0", "cycle_s": 4.0, "dist": "lognormal", "buffer": 3, "cv": 0.1, "mtbf_s": 300.0,
                 "mttr_s": 90.0},
                {"name": "f1", "cycle_s": 4.0}, {"name": "f2", "cycle_s": 4.0, "buffer": 2, "scrap": 0.02}]},
            {"name": "M", "stations": [
                {"name": "m0", "cycle_s": 5.0, "mtbf_s": 300.0, "mttr_s": 30.0},
                {"name": "m1", "cycle_s": 5.0, "dist": "lognormal", "servers": 2, "cv": 0.1, "mtbf_s": 300.0,
                 "mttr_s": 30.0, "scrap": 0.02},
                {"name": "m2", "cycle_s": 5.0, "servers": 3, "inputs": [{"from": "T0", "qty": 1, "stock": 1},
                                                                        {"from": "T1", "qty": 3, "stock": 3}]}]}],
        "mix": {"line": "M", "sequence": "cyclic", "pattern": ["A", "B"], "variants": [
            {"name": "A", "share": 0.3, "bom": {"T1": 0}, "cycle_s": {"m0": 9.0, "m2": 4.0}},
            {"name": "B", "share": 0.7, "bom": {"T0": 1}, "cycle_s": {"m1": 4.0, "m2": 4.0}}]},
        "transports": [
            {"name": "T0", "from": "F0", "batch": 6, "vehicles": 3, "dock": 6, "lead_s": 20.0, "return_s": 10.0},
            {"name": "T1", "from": "F1", "batch": 6, "vehicles": 1, "dock": 6, "lead_s": 60.0, "return_s": 60.0,
             "dist": "exp"}]}
    sc = twin.from_dict(data)
    flow, des = both(sc, RunConfig(horizon_s=4 * 3600.0, warmup_s=1800.0, seed=127))
    assert_same(flow, des)
    np.testing.assert_allclose(flow.transport_shares, des.transport_shares, rtol=1e-9, atol=1e-12)


def test_vehicles_of_two_transports_arriving_at_one_instant_go_in_the_order_their_departures_were_made() -> None:
    """Fixed travel times: at t = 388 s two T1 vehicles (gone at 328 s, 60 s on the road) and T0's vehicle (gone at
    368 s, 20 s) arrive together. The SimPy engine runs the arrivals in the order it made them, at their departures:
    T1's two first, which find T1's stock full (two parts since 348 s) and queue; then T0's, whose part completes
    m1's kit. The start frees both of T1's places, one to each queued vehicle, and each goes back to the queue with
    its second part. Before the fix the flow kernel counted a start made possible by another transport's arrival as
    before every arrival of that instant: the first T1 vehicle unloaded both parts at once, was back at 408 s and
    left at once, letting F1's blocked part into the dock at 408 s instead of 448 s."""
    data: dict[str, Any] = {
        "scenario": {"name": "tie", "product": "M", "seed": 0},
        "lines": [{"name": "F0", "stations": [{"name": "f0", "cycle_s": 6.0}]},
                  {"name": "F1", "stations": [{"name": "f0", "cycle_s": 4.0}]},
                  {"name": "M", "stations": [{"name": "m0", "cycle_s": 4.0},
                                             {"name": "m1", "cycle_s": 4.0, "inputs": [
                                                 {"from": "T0", "qty": 1, "stock": 1},
                                                 {"from": "T1", "qty": 2, "stock": 2}]}]}],
        "transports": [
            {"name": "T0", "from": "F0", "batch": 1, "vehicles": 1, "dock": 1, "lead_s": 20.0, "return_s": 20.0},
            {"name": "T1", "from": "F1", "batch": 2, "vehicles": 3, "dock": 4, "lead_s": 60.0, "return_s": 20.0}]}
    sc = twin.from_dict(data)
    assert flow_problem(sc) is None
    flow, des = both(sc, RunConfig(horizon_s=2 * 3600.0, warmup_s=600.0, seed=0))
    assert_same(flow, des)
    assert_same_vehicles(flow, des)


@pytest.mark.parametrize("dist", ["det", "exp", "normal", "lognormal", "gamma", "uniform", "triangular", "weibull"])
@pytest.mark.parametrize("cv", [None, 0.0, 0.3])
def test_travel_times_count_as_fixed_exactly_when_every_draw_is_the_mean(dist: str, cv: float | None) -> None:
    # the flow kernel keys a transport's events (which event of an instant comes first) only if its times are fixed
    draws = unit_draw(dist, cv)(np.random.default_rng(0), 1000)
    assert fixed_draw(dist, cv) == bool(np.all(draws == 1.0))
