"""`twin study`: needs against capacities computed by hand, the changes it builds, and a path that reaches a target
on a deterministic network whose throughput is known exactly."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import twin
from tests.test_cli import cli
from twin.analytics.study import changes_for, constraints, line_groups, study
from twin.calendar import HOURS_PER_YEAR
from twin.experiment import plan

LINES = Path(__file__).resolve().parent.parent / "lines"


def network(feeder_cycle_s: float = 90.0, external: dict[str, Any] | None = None) -> dict[str, Any]:
    """F (one det station) -> truck -> A (one det station of 60 s taking 1 of F's parts), round the clock."""
    inp: dict[str, Any] = {"from": "t", "qty": 1, "stock": 10}
    if external is not None:
        inp["external"] = external
    return {
        "scenario": {"name": "net", "product": "A", "horizon_hours": 100, "warmup_hours": 10, "replications": 2},
        "lines": [{"name": "F", "stations": [{"name": "f", "cycle_s": feeder_cycle_s}]},
                  {"name": "A", "stations": [{"name": "asm", "cycle_s": 60.0, "inputs": [inp]}]}],
        "transports": [{"name": "t", "from": "F", "batch": 1, "vehicles": 5, "lead_s": 10.0}],
    }


def test_needs_and_capacities_by_hand() -> None:
    sc = twin.from_dict(network())
    got = {c.name: c for c in constraints(sc, 500_000)}
    assert got["F"].capacity_per_year == pytest.approx(40 * HOURS_PER_YEAR)  # 3600 / 90 s, round the clock
    assert got["A"].capacity_per_year == pytest.approx(60 * HOURS_PER_YEAR)
    assert got["t"].capacity_per_year == pytest.approx(5 * HOURS_PER_YEAR * 3600 / 20)  # 5 trucks, 20-s trips
    assert all(c.need_per_year == pytest.approx(500_000) for c in got.values())
    assert [c.name for c in constraints(sc, 500_000)] == ["F", "A", "t"]  # most binding first


def test_a_second_source_takes_its_share_of_the_need() -> None:
    ext = {"share": 0.25, "lead_s": 3600.0, "stock": 50}
    got = {c.name: c for c in constraints(twin.from_dict(network(external=ext)), 400_000)}
    assert got["F"].need_per_year == pytest.approx(300_000)
    assert got["t (external)"].need_per_year == pytest.approx(100_000)
    assert got["t (external)"].capacity_per_year == pytest.approx(50 * HOURS_PER_YEAR)  # 50 cards, 1 h each


def test_jinhua_needs_follow_the_mix_and_group_the_shared_dock() -> None:
    sc = twin.load(LINES / "jinhua.toml")
    assert ["edrive-1", "edrive-2", "edrive-3", "edrive-4"] in line_groups(sc)
    assert ["econtrol-1", "econtrol-2", "econtrol-3", "econtrol-4"] in line_groups(sc)
    got = {c.name: c for c in constraints(sc, 1_000_000)}
    # e-drives a car: 0.55 x 1 + 0.15 x 2 + 0.30 x 1 = 1.15; range extenders: 0.30; wheels: 4
    assert got["edrive-1 .. edrive-4"].need_per_year == pytest.approx(1_150_000)
    assert got["econtrol-1 .. econtrol-4"].need_per_year == pytest.approx(1_150_000)
    assert got["rex"].need_per_year == pytest.approx(300_000)
    assert got["wheel"].need_per_year == pytest.approx(4_000_000)
    assert got["edrive-truck"].need_per_year == pytest.approx(1_150_000)


def test_the_changes_for_a_short_feeder() -> None:
    sc = twin.from_dict(network(external={"share": 0.25, "lead_s": 3600.0, "stock": 50}))
    c = next(c for c in constraints(sc, 500_000) if c.name == "F")  # F needs 375,000 against 350,400
    labels = [ch.label for ch in changes_for(sc, c, prefer="local")]
    assert labels[0] == "1 more line(s) like F: F-2, into t's dock"
    # one station: a shorter cycle, 90 x 40 / (375,000 / 8,760) = 84.09 s (rounded down to 0.01 s)
    assert labels[1] == f"F stations up to the need: f 90 -> {math.floor(90 * 40 / (375_000 / HOURS_PER_YEAR) * 100) / 100:g} s"
    # second source: local needs at most 95% of 350,400 of the 500,000 units: share 1 - 0.95 x 0.7008 -> 0.34
    assert labels[2] == "second source of t: share 0.25 -> 0.34 (kanban x1.36)"
    assert [ch.label for ch in changes_for(sc, c, prefer="external")][0].startswith("second source of t")
    added = changes_for(sc, c)[0].scenario
    assert [ln.name for ln in added.lines] == ["F-2", "F", "A"]
    assert added.spec.transports[0].source == ["F", "F-2"]


def test_keep_calendar_proposes_capacity_not_working_time() -> None:
    sc = twin.load(LINES / "jinhua.toml")
    shop = next(c for c in constraints(sc, 1_000_000) if c.name == "assembly")
    assert [ch.kind for ch in changes_for(sc, shop)] == ["shift", "capacity"]  # 7 days; then more places
    assert [ch.kind for ch in changes_for(sc, shop, keep_calendar=True)] == ["capacity"]
    wheel = next(c for c in constraints(sc, 1_000_000) if c.name == "wheel")  # a line with its own calendar
    assert "shift" in [ch.kind for ch in changes_for(sc, wheel)]
    assert "shift" not in [ch.kind for ch in changes_for(sc, wheel, keep_calendar=True)]


def test_the_path_reaches_a_target_known_exactly() -> None:
    # F alone passes 40 an hour, A 60: a second F line lifts the network to A's 60 an hour (525,600 a year)
    sc = twin.from_dict(network())
    result = study(sc, plan(sc), 500_000)
    assert result.base.mean == pytest.approx(40 * HOURS_PER_YEAR, rel=1 / 3600)  # one part in the 90-h window
    assert result.reached
    assert [s.outcome.label for s in result.path] == ["1 more line(s) like F: F-2, into t's dock"]
    assert result.path[0].outcome.per_year.mean == pytest.approx(60 * HOURS_PER_YEAR, rel=1 / 5400)
    assert result.path[0].binding is not None and result.path[0].binding.name == "F"
    assert {o.label for o in result.options} >= {"1 more line(s) like F: F-2, into t's dock"}


def test_cli_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "net.toml"
    path.write_text(_toml(network()))
    out_json = tmp_path / "study.json"
    code, out, err = cli(capsys, "study", path, "--target", "500000/year", "--json", out_json)
    assert code == 0, err
    assert "reached" in out and "1 more line(s) like F" in out
    doc = json.loads(out_json.read_text())
    assert doc["study"]["reached"] is True
    assert doc["study"]["constraints"][0]["name"] == "F"
    code, _, err = cli(capsys, "study", path, "--target", "500000/year", "--prefer", "nowhere")
    assert code == 2 and "--prefer nowhere" in err


def _toml(data: dict[str, Any]) -> str:
    """Just enough TOML for the network above."""
    def value(v: Any) -> str:
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)
    out = ["[scenario]"] + [f"{k} = {value(v)}" for k, v in data["scenario"].items()]
    for ln in data["lines"]:
        out += ["", "[[lines]]", f"name = {value(ln['name'])}"]
        for st in ln["stations"]:
            out += ["[[lines.stations]]"] + [f"{k} = {value(v)}" for k, v in st.items()]
    for tr in data["transports"]:
        out += ["", "[[transports]]"] + [f"{k} = {value(v)}" for k, v in tr.items()]
    return "\n".join(out) + "\n"
