"""The flow engine equals the SimPy engine: the same departure times (to 1e-9 s) and the same measurements.

Both engines read the same per-station streams in the same order, so on every scenario of the flow engine's class
the two runs are the same sample path, not two samples of the same distribution. Hypothesis draws random serial
lines (stations, distributions, cycle times, buffers including 0, parallel servers, busy-based failures, scrap,
shift calendars, a part count that ends the run); the real lines of the class are compared as well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twin
from tests.helpers import line, line_data
from tests.test_properties import random_lines
from tests.test_cli import cli
from twin.engine.des import simulate
from twin.engine.flow import FlowSimulation, flow_problem
from twin.engine.model import ReplicationResult, RunConfig
from twin.errors import EngineError
from twin.experiment import plan, run_plan

SAME = settings(max_examples=80, deadline=None, derandomize=True)
PRIMITIVES = str(Path(__file__).parent.parent / "docs" / "examples" / "primitives.toml")  # batch: outside the class
FIELDS = ("end_s", "station_operations", "line_finished", "line_finished_total", "line_released", "line_scrapped",
          "line_in_process", "line_working_s", "line_wip", "line_lead_time_s", "buffer_level", "buffer_capacity",
          "shares")


def both(sc: twin.Scenario, cfg: RunConfig) -> tuple[ReplicationResult, ReplicationResult]:
    des = simulate(sc, RunConfig(**{**cfg.__dict__, "trace": True}))
    flow = FlowSimulation(sc, cfg).run(exits=True)
    return flow, des


def both_on_network(data: dict[str, Any], rep: int, parts: int | None, periods: bool
                    ) -> tuple[ReplicationResult, ReplicationResult]:
    """A random network (in the flow engine's class) for 4 h on both engines: half an hour of warm-up unless the
    run ends after `parts` parts."""
    sc = twin.from_dict(data)
    assert flow_problem(sc) is None
    cfg = RunConfig(horizon_s=4 * 3600.0, warmup_s=1800.0 if parts is None else 0.0, seed=sc.seed,
                    replication=rep, stop_after_parts=parts, active_periods=periods)
    return both(sc, cfg)


def assert_same(flow: ReplicationResult, des: ReplicationResult) -> None:
    assert flow.trace is not None and des.trace is not None
    for line in range(len(des.line_names)):  # each line's departures (lines leaving at one instant: any order)
        np.testing.assert_allclose(flow.trace.exit_s[flow.trace.exit_line == line],
                                   des.trace.exit_s[des.trace.exit_line == line], rtol=0, atol=1e-9)
    for name in FIELDS:
        a, b = np.asarray(getattr(flow, name), float), np.asarray(getattr(des, name), float)
        assert a.shape == b.shape, name
        # sums of the same terms in another order: equal to rounding, relative to the window
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=name)
    assert flow.buffer_names == des.buffer_names
    assert flow.station_names == des.station_names
    assert flow.line_daily is not None and des.line_daily is not None
    np.testing.assert_array_equal(flow.line_daily, des.line_daily)
    if des.active_periods is not None:
        assert flow.active_periods is not None
        for (fa, fb), (da, db) in zip(flow.active_periods, des.active_periods):
            np.testing.assert_allclose(fa, da, rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(fb, db, rtol=1e-12, atol=1e-9)


def assert_same_starved_by(flow: ReplicationResult, des: ReplicationResult) -> None:
    """Each assembly station's share of time short of each input, equal to rounding."""
    for mine, theirs in zip(flow.starved_by, des.starved_by):
        assert mine.keys() == theirs.keys()
        for key in mine:
            assert mine[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-12)


@SAME
@given(random_lines(failures="busy"), st.integers(0, 3), st.sampled_from([None, None, 50, 400]),
       st.booleans())
def test_random_lines_give_the_same_sample_path(data: dict[str, Any], rep: int, parts: int | None,
                                                 periods: bool) -> None:
    sc = twin.from_dict(data)
    assert flow_problem(sc) is None
    cfg = RunConfig(horizon_s=6 * 3600.0, warmup_s=1800.0 if parts is None else 0.0, seed=sc.seed,
                    replication=rep, stop_after_parts=parts, active_periods=periods)
    assert_same(*both(sc, cfg))


@SAME
@given(st.data())
def test_single_server_lines_take_the_plain_recursion_and_agree(data: st.DataObject) -> None:
    raw = data.draw(random_lines(single_server=True, failures="busy", scrap=False))
    sc = twin.from_dict(raw)
    parts = data.draw(st.sampled_from([None, 30, 700]))
    cfg = RunConfig(horizon_s=8 * 3600.0, warmup_s=0.0 if parts else 3600.0, seed=sc.seed, stop_after_parts=parts,
                    active_periods=data.draw(st.booleans()))
    assert_same(*both(sc, cfg))


@pytest.mark.parametrize("name", ["wheel", "seats", "edrive", "assembly"])
def test_real_lines_in_class_agree(name: str) -> None:
    sc = twin.load(name)
    assert flow_problem(sc) is None
    cfg = RunConfig(horizon_s=168 * 3600.0, warmup_s=24 * 3600.0, seed=sc.seed, replication=1, active_periods=True)
    assert_same(*both(sc, cfg))


def test_benchmark_line_agrees_over_many_parts() -> None:
    sc = twin.load("benchmarks/line20.toml")
    cfg = RunConfig(horizon_s=1e9, seed=5, stop_after_parts=20_000)
    flow, des = both(sc, cfg)
    assert flow.line_finished_total[0] == 20_000
    assert_same(flow, des)


@pytest.mark.parametrize("servers", [1, 2])  # the plain recursion, the general kernel
def test_a_run_past_the_days_counted_in_advance_counts_every_day(servers: int) -> None:
    # a run stopped after N parts has no end known in advance: its output by calendar day must not depend on how
    # many days the engine made room for first (here 2 of 6), nor may a horizon of 10^15 s ask for memory by it
    sc = line([20.0, 25.0], 1, dist="exp", servers=[1, servers])
    cfg = RunConfig(horizon_s=1e15, seed=3, stop_after_parts=20_000)
    short = FlowSimulation(sc, cfg)
    short.days = 2
    res = short.run()
    assert res.line_daily is not None and res.line_daily.shape[1] == int(res.end_s // 86_400.0) + 1 >= 5
    assert res.line_daily.sum() == res.line_finished_total[0] == 20_000
    whole = FlowSimulation(sc, cfg).run()
    des = simulate(sc, cfg)
    np.testing.assert_array_equal(res.line_daily, des.line_daily)
    np.testing.assert_array_equal(whole.line_daily, des.line_daily)


def test_deterministic_line_gives_the_proved_count() -> None:
    # bottleneck 15 s, first part out at 57 s: 1 + floor((28800 - 57) / 15) = 1,917 parts in 8 h
    sc = line([10, 12, 15, 11, 9], 2)
    res = FlowSimulation(sc, RunConfig(horizon_s=8 * 3600.0)).run()
    assert res.line_finished_total[0] == 1917


def pooled() -> twin.Scenario:
    """Two lines filling one stock: outside the class (their parts queue for the stock in the order they come)."""
    return twin.from_dict({"scenario": {"name": "pooled", "product": "A"}, "lines": [
        {"name": "F1", "stations": [{"name": "f", "cycle_s": 10.0, "dist": "exp"}]},
        {"name": "F2", "stations": [{"name": "f", "cycle_s": 12.0, "dist": "exp"}]},
        {"name": "A", "stations": [{"name": "a", "cycle_s": 5.0, "inputs": [{"from": ["F1", "F2"], "stock": 4}]}]},
    ]})


def test_outside_the_class_the_feature_is_named() -> None:
    assert flow_problem(twin.load("jinhua")) is None  # transports and the e-drive lines' shared dock are in
    assert str(flow_problem(twin.load(PRIMITIVES))).startswith("batch stations (wheel/t6)")
    assert str(flow_problem(pooled())).startswith("a stock fed by several lines (F1+F2 -> A/a)")
    with pytest.raises(EngineError, match="several lines"):
        FlowSimulation(pooled(), RunConfig(horizon_s=3600.0))


def test_a_kit_that_waits_is_not_overtaken_by_a_variant_needing_less() -> None:
    # Found with transports, present before them: m1 (2 servers) takes parts in arrival order; part 3 (variant A)
    # waits for the feeder's 2nd part at 160 s, so parts 4 and 5 (variant B, needing nothing) wait behind it.
    data: dict[str, Any] = {
        "scenario": {"name": "overtake", "product": "M"},
        "lines": [{"name": "F0", "stations": [{"name": "f0", "cycle_s": 80.0}]},
                  {"name": "M", "stations": [
                      {"name": "m0", "cycle_s": 5.0},
                      {"name": "m1", "cycle_s": 5.0, "servers": 2, "inputs": [{"from": "F0", "qty": 1, "stock": 2}]},
                      {"name": "m2", "cycle_s": 5.0}]}],
        "mix": {"line": "M", "variants": [{"name": "A", "share": 0.3}, {"name": "B", "share": 0.7, "bom": {"F0": 0}}]}}
    sc = twin.from_dict(data)
    flow, des = both(sc, RunConfig(horizon_s=1000.0, seed=0))
    assert_same(flow, des)
    main = flow.trace.exit_s[flow.trace.exit_line == 1]  # type: ignore[union-attr]
    np.testing.assert_allclose(main[:8], [15, 90, 170, 175, 180, 250, 330, 335])  # B A A B B A A B in the mix stream


def test_calendar_failures_and_traces_are_outside_the_class() -> None:
    sc = line([10, 10], 1, mtbf_s=600.0, mttr_s=60.0, failure_basis=["calendar", None])
    assert "calendar-based failures" in str(flow_problem(sc))
    assert flow_problem(sc, RunConfig(horizon_s=10.0, failures=False)) is None
    assert "trace" in str(flow_problem(line([10]), RunConfig(horizon_s=10.0, trace=True)))


def test_auto_takes_flow_in_class_and_des_outside() -> None:
    flow_res = run_plan(line([10, 12], 1, dist="exp"), plan(line([10, 12], 1), hours=2, reps=2))
    assert flow_res.engine == "flow" and "class" in flow_res.engine_reason
    des_res = run_plan(pooled(), plan(pooled(), hours=2, warmup_hours=0, reps=1))
    assert des_res.engine == "des" and "several lines" in des_res.engine_reason


def test_engines_give_the_same_results_through_the_experiment() -> None:
    sc = twin.from_dict(line_data([10, 12, 9], [0, 2], dist="exp", servers=[1, 2, 1], scrap=[0.0, 0.05, 0.0],
                                  mtbf_s=[None, 900.0, None], mttr_s=[None, 90.0, None]))
    a = run_plan(sc, plan(sc, hours=10, reps=3, engine="flow")).to_dict()
    b = run_plan(sc, plan(sc, hours=10, reps=3, engine="des")).to_dict()
    assert a["engine"] == "flow" and b["engine"] == "des"
    assert a["throughput"] == b["throughput"]  # counts: exactly equal


def test_cli_engine_flow_outside_the_class_exits_2_naming_the_feature(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "run", PRIMITIVES, "--engine", "flow", "--hours", 1, "--warmup-hours", 0,
                         "--reps", 1)
    assert code == 2 and out == ""
    assert "primitives" in err and "batch stations" in err and "--engine des" in err
    assert "Traceback" not in err


def test_check_says_which_engine_auto_takes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "check", "wheel")[1].rstrip().endswith("--engine auto takes it)")  # (stdout: the summary)
    assert "engine: des (the flow engine cannot carry batch stations" in cli(capsys, "check", PRIMITIVES)[1]
    assert cli(capsys, "check", "jinhua")[1].rstrip().endswith("--engine auto takes it)")


def test_cli_json_says_which_engine_ran(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "run", "wheel", "--hours", 30, "--warmup-hours", 6, "--reps", 2, "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["engine"] == "flow" and "class" in data["engine_reason"]
    assert "engine flow" in err
    code, out, err = cli(capsys, "run", "wheel", "--engine", "nonsense", "--hours", 1, "--warmup-hours", 0)
    assert code == 2 and "nonsense" in err and "auto, des, flow" in err


@st.composite
def random_networks(draw: Any) -> dict[str, Any]:
    """A main line with an assembly station fed by 1-2 feeder lines, optionally a product mix on the main line."""
    dists = ["det", "exp", "lognormal", "uniform"]

    def station(name: str, cycle_choices: list[float], allow_multi: bool = True) -> dict[str, Any]:
        d = draw(st.sampled_from(dists))
        s: dict[str, Any] = {"name": name, "cycle_s": draw(st.sampled_from(cycle_choices)), "dist": d,
                             "buffer": draw(st.integers(0, 3)),
                             "servers": draw(st.integers(1, 3)) if allow_multi else 1}
        if d in ("lognormal", "uniform"):
            s["cv"] = draw(st.sampled_from([0.1, 0.3]))
        if draw(st.booleans()):
            s["mtbf_s"] = draw(st.sampled_from([300.0, 900.0]))
            s["mttr_s"] = draw(st.sampled_from([30.0, 90.0]))
        if draw(st.booleans()):
            s["scrap"] = draw(st.sampled_from([0.02, 0.2]))
        return s

    n_feed = draw(st.integers(1, 2))
    feeders = [{"name": f"F{i}", "stations": [station(f"f{k}", [4.0, 8.0, 15.0])
                                               for k in range(draw(st.integers(1, 3)))]} for i in range(n_feed)]
    k_main = draw(st.integers(1, 4))
    where = draw(st.integers(0, k_main - 1))
    mixed = draw(st.booleans())
    main = []
    for k in range(k_main):
        s = station(f"m{k}", [5.0, 10.0, 12.0], allow_multi=not (mixed and k == 0))
        if k == where:
            s["inputs"] = []
            for i in range(n_feed):
                qty = draw(st.integers(1, 3))
                s["inputs"].append({"from": f"F{i}", "qty": qty, "stock": qty + draw(st.integers(0, 3))})
        main.append(s)
    data: dict[str, Any] = {"scenario": {"name": "net", "product": "M", "seed": draw(st.integers(0, 2**31))},
                            "lines": [*feeders, {"name": "M", "stations": main}]}
    if mixed:
        variants = []
        share_a = draw(st.sampled_from([0.3, 0.5, 0.7]))
        for name, share in (("A", share_a), ("B", round(1.0 - share_a, 12))):
            v: dict[str, Any] = {"name": name, "share": share}
            bom = {f"F{i}": draw(st.integers(0, 2)) for i in range(n_feed) if draw(st.booleans())}
            bom = {f: min(q, main[where]["inputs"][int(f[1:])]["stock"]) for f, q in bom.items()}
            if bom:
                v["bom"] = bom
            cyc = {f"m{k}": draw(st.sampled_from([4.0, 9.0, 14.0])) for k in range(k_main) if draw(st.booleans())}
            if cyc:
                v["cycle_s"] = cyc
            variants.append(v)
        data["mix"] = {"line": "M", "variants": variants}
        if draw(st.booleans()):
            data["mix"]["sequence"] = "cyclic"
            data["mix"]["pattern"] = draw(st.lists(st.sampled_from(["A", "B"]), min_size=1, max_size=4))
    if draw(st.booleans()):
        data["calendar"] = {"shifts": [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00"}],
                            "breaks": [{"start": "10:00", "minutes": 30}], "days_per_week": 5}
    return data


@SAME
@given(random_networks(), st.integers(0, 2), st.sampled_from([None, None, 40]), st.booleans())
def test_random_assembly_networks_give_the_same_sample_path(data: dict[str, Any], rep: int, parts: int | None,
                                                            periods: bool) -> None:
    flow, des = both_on_network(data, rep, parts, periods)
    assert_same(flow, des)
    assert flow.line_terminal == des.line_terminal
    assert_same_starved_by(flow, des)
