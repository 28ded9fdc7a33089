"""The flow kernel's lean loop for plain stations (twin/engine/flow_plain.py) against its general loop.

The lean loop is the general loop with the branches a plain station never takes removed, its state in locals, a
calendar lookup that starts from the last interval, and a sorted ring instead of a heap where completions come in
start order; and a line's run of plain stations is visited in one call, so the stations are visited in another
order than the general loop's one by one. None of that may change a single bit: both loops run the same networks
and must give identical results, field by field, exits and active periods included."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twin
from tests.test_flow import random_networks
from tests.test_properties import random_lines
from twin.engine import flow_kernel as fk
from twin.engine.flow import FlowSimulation
from twin.engine.model import ReplicationResult, RunConfig


def assert_identical(a: Any, b: Any, name: str = "result") -> None:
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_identical(getattr(a, f.name), getattr(b, f.name), f"{name}.{f.name}")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=name)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), name
        for k, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{name}[{k}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), name
        for k in a:
            assert_identical(a[k], b[k], f"{name}[{k!r}]")
    else:
        assert a == b or (a != a and b != b), name


def lean_and_general(sc: twin.Scenario, cfg: RunConfig) -> tuple[ReplicationResult, ReplicationResult]:
    lean = FlowSimulation(sc, cfg).run(exits=True)
    general = FlowSimulation(sc, cfg, lean=False).run(exits=True)
    return lean, general


@settings(max_examples=60, deadline=None)
@given(random_networks(), st.integers(0, 2), st.sampled_from([None, 40]), st.booleans())
def test_random_networks_identical_on_both_loops(data: dict[str, Any], rep: int, parts: int | None,
                                                 periods: bool) -> None:
    sc = twin.from_dict(data)
    cfg = RunConfig(horizon_s=4 * 3600.0, warmup_s=1800.0 if parts is None else 0.0, seed=sc.seed,
                    replication=rep, stop_after_parts=parts, active_periods=periods)
    lean, general = lean_and_general(sc, cfg)
    assert_identical(lean, general)
    assert lean.trace is not None
    assert np.all(np.diff(lean.trace.exit_s) >= 0)  # the trace lists exits in time order


@settings(max_examples=40, deadline=None)
@given(random_lines(failures="busy"), st.integers(0, 3))
def test_random_lines_identical_on_both_loops(data: dict[str, Any], rep: int) -> None:
    for st_ in data["lines"][0]["stations"]:
        st_["servers"] = st_.get("servers", 1) + 1  # several servers: the general kernel, not the plain recursion
    sc = twin.from_dict(data)
    cfg = RunConfig(horizon_s=3 * 3600.0, warmup_s=600.0, seed=sc.seed, replication=rep)
    assert_identical(*lean_and_general(sc, cfg))


@pytest.mark.parametrize("name", ["wheel", "jinhua", "jinhua-2025"])
def test_real_lines_identical_on_both_loops(name: str) -> None:
    sc = twin.load(name)
    cfg = RunConfig(horizon_s=7 * 24 * 3600.0, warmup_s=24 * 3600.0, seed=7)
    lean, general = lean_and_general(sc, cfg)
    assert_identical(lean, general)
    assert lean.station_operations > 0


def test_plain_stations_and_sorted_rings_are_those_expected() -> None:
    """On the wheel line every station is plain; the deterministic ones without failures (the furnace, the leak
    test, packing) keep their parts in process in a sorted ring."""
    sim = FlowSimulation(twin.load("wheel"), RunConfig(horizon_s=3600.0, seed=1))
    a = sim._build(3600.0, False, 0)
    n = len(sim.scenario.spec.lines[0].stations)
    assert a["ist"][:n, fk.PLAIN].tolist() == [1] * n
    names = [s.name for s in sim.scenario.spec.lines[0].stations]
    ring = [name for name, r in zip(names, a["ist"][:n, fk.RING]) if r]
    assert ring == ["heat_treatment", "leak_test", "packing"]
