"""Cycle-time tuning: on a deterministic line the answer is known by hand."""

from __future__ import annotations

import json

import pytest

from tests.helpers import line, line_data
from twin.analytics.tuning import tune_cycle_times
from twin.cli import main, parse_target
from twin.experiment import plan


def test_reaching_80_an_hour_takes_exactly_the_changes_computed_by_hand() -> None:
    # TH = 3600 / max c_j: 80 an hour needs every station at 45 s or less: M3 62 -> 45 and M4 50 -> 45, 22 s in all.
    sc = line([30, 45, 62, 50, 40], 2)
    result = tune_cycle_times(sc, plan(sc, hours=200, warmup_hours=5, reps=1), 80.0)
    assert result.reached
    assert [(c.station, c.old_cycle_s, c.new_cycle_s) for c in result.changes] == [("M3", 62.0, 45.0),
                                                                                   ("M4", 50.0, 45.0)]
    assert sum(c.removed_s for c in result.changes) == pytest.approx(22.0)
    assert result.throughput_per_hour.mean == pytest.approx(80.0, abs=1 / 195)


def test_min_cycle_is_respected_and_an_unreachable_target_is_said_so(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = line_data([30, 62], 2, min_cycle_s=[None, 50.0])
    stations = "\n".join(f'[[lines.stations]]\nname = "{st["name"]}"\ncycle_s = {st["cycle_s"]}\nbuffer = 2\n'
                         + (f'min_cycle_s = {st["min_cycle_s"]}\n' if "min_cycle_s" in st else "")
                         for st in data["lines"][0]["stations"])
    path = tmp_path / "l.toml"
    path.write_text(f'[scenario]\nname = "t"\n[[lines]]\nname = "L"\n{stations}', encoding="utf-8")
    code = main(["tune", str(path), "--target", "80/hour", "--hours", "100", "--warmup-hours", "2", "--reps", "1",
                 "--json", "-", "-q"])
    out = capsys.readouterr().out
    assert code == 1
    tune = json.loads(out)["tune"]
    assert tune["reached"] is False
    assert tune["changes"] == [{"line": "L", "station": "M2", "old_cycle_s": 62.0, "new_cycle_s": 50.0,
                                "removed_s": 12.0}]


def test_targets_per_year_day_and_hour() -> None:
    assert parse_target("400000/year") == pytest.approx(400000 / 8760)
    assert parse_target("240/hour") == 240.0
    assert parse_target("5,000/day") == pytest.approx(5000 / 24)
    assert main(["tune", "x.toml", "--target", "lots/year"]) == 2


def test_buffer_places_go_where_the_exact_chain_says(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.ctmc import solve_line

    # Three equal exponential machines: two places are best split [1, 1] (the exact chain: 40.23 an hour against
    # 38.24 for [2, 0] or [0, 2]).
    assert solve_line([1, 1, 1], [1, 1]).throughput > solve_line([1, 1, 1], [2, 0]).throughput
    stations = "\n".join(f'[[lines.stations]]\nname = "M{i}"\ncycle_s = 60.0\ndist = "exp"\n' for i in range(3))
    path = tmp_path / "b.toml"
    path.write_text(f'[scenario]\nname = "b"\n[[lines]]\nname = "L"\n{stations}', encoding="utf-8")
    code = main(["tune", str(path), "--buffers", "2", "--hours", "500", "--warmup-hours", "10", "--reps", "5",
                 "--workers", "1", "--json", "-", "-q"])
    assert code == 0
    placed = json.loads(capsys.readouterr().out)["buffers"]
    assert [b["new"] for b in placed["buffers"]] == [1, 1]
    lo, hi = placed["throughput_per_hour"]["ci95"]
    assert lo <= solve_line([1, 1, 1], [1, 1]).throughput * 60 <= hi


def test_weights_make_a_cheaper_station_take_the_cut() -> None:
    # Two stations of 62 s; 60 an hour needs both at 60 s whatever the weights: weights change the cost only.
    sc = line([62, 62], 2)
    result = tune_cycle_times(sc, plan(sc, hours=200, warmup_hours=5, reps=1), 60.0,
                              weights={("L", "M1"): 3.0})
    assert result.reached
    assert sorted((c.station, c.new_cycle_s) for c in result.changes) == [("M1", 60.0), ("M2", 60.0)]
    assert result.cost == pytest.approx(3 * 2 + 2)
