"""Sweeps and comparisons: grids, exact values on deterministic lines, executors agreeing bit for bit, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import line
from twin.errors import TwinError
from twin.executors import DaskExecutor, PoolExecutor, SerialExecutor
from twin.experiment import plan
from twin.sweep import compare, grid, parse_setting, run_sweep


def exp_line():  # type: ignore[no-untyped-def]
    return line([10, 12, 11], [1, 1], dist="exp")


def test_a_sweep_of_the_bottleneck_cycle_time_gives_3600_over_c_on_a_deterministic_line() -> None:
    sc = line([10, 12, 15], 1)
    settings = [parse_setting("L.M3.cycle_s=15,16,18,20", sc)]
    result = run_sweep(sc, settings, plan(sc, hours=2, warmup_hours=1, reps=2), SerialExecutor())
    for ps in result.points:
        (c,) = ps.values
        assert ps.throughput_per_hour.mean == 3600.0 / c
        assert ps.bottleneck == "L/M3"


def test_two_settings_make_a_full_grid_and_ranges_include_their_end() -> None:
    sc = exp_line()
    settings = [parse_setting("L.M1.buffer=0,3", sc), parse_setting("L.M2.cycle_s=10:12:1", sc)]
    assert settings[1].values == (10.0, 11.0, 12.0)
    assert grid(settings) == [(0, 10), (0, 11), (0, 12), (3, 10), (3, 11), (3, 12)]
    result = run_sweep(sc, settings, plan(sc, hours=2, warmup_hours=0.5, reps=2), SerialExecutor())
    assert len(result.points) == 6


def test_bad_settings_name_what_is_allowed() -> None:
    sc = exp_line()
    with pytest.raises(TwinError, match="LINE.STATION.FIELD=VALUES"):
        parse_setting("L.M1=3", sc)
    with pytest.raises(TwinError, match="no station L.M9"):
        parse_setting("L.M9.cycle_s=3", sc)
    with pytest.raises(TwinError, match="step > 0"):
        parse_setting("L.M1.cycle_s=5:1:1", sc)
    with pytest.raises(TwinError, match="whole numbers"):
        parse_setting("L.M1.buffer=1.5", sc)


def test_serial_pool_and_dask_give_bit_identical_results() -> None:
    sc = exp_line()
    settings = [parse_setting("L.M2.cycle_s=11,12,13", sc)]
    p = plan(sc, hours=3, warmup_hours=0.5, reps=3)
    serial = run_sweep(sc, settings, p, SerialExecutor())
    pool = PoolExecutor(2)
    try:
        pooled = run_sweep(sc, settings, p, pool)
    finally:
        pool.close()
    dask = DaskExecutor(local=True, processes=False, workers=2)
    try:
        dasked = run_sweep(sc, settings, p, dask)
    finally:
        dask.close()
    def values(res):  # type: ignore[no-untyped-def]
        return [(ps.values, ps.throughput_per_hour.values, ps.bottleneck) for ps in res.points]
    assert values(serial) == values(pooled) == values(dasked)


def test_an_interrupted_sweep_resumes_with_no_duplicate_and_no_gap(tmp_path: Path) -> None:
    sc = exp_line()
    settings = [parse_setting("L.M2.cycle_s=11,12", sc)]
    p = plan(sc, hours=2, warmup_hours=0.5, reps=3)
    whole = run_sweep(sc, settings, p, SerialExecutor(), out=tmp_path / "whole.jsonl")
    out = tmp_path / "cut.jsonl"
    lines = (tmp_path / "whole.jsonl").read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:17])  # killed while writing the 4th line
    with pytest.raises(TwinError, match="--resume"):
        run_sweep(sc, settings, p, SerialExecutor(), out=out)
    resumed = run_sweep(sc, settings, p, SerialExecutor(), out=out, resume=True)
    records = [json.loads(x) for x in out.read_text().splitlines()]
    reps = sorted((r["point"], r["rep"]) for r in records if r["kind"] == "replication")
    assert reps == [(i, r) for i in range(2) for r in range(3)]  # each once
    assert sorted(r["point"] for r in records if r["kind"] == "point") == [0, 1]
    assert resumed.ran == 6 - sum(1 for x in lines[:3] if '"replication"' in x)
    assert [ps.throughput_per_hour.values for ps in resumed.points] == \
        [ps.throughput_per_hour.values for ps in whole.points]


def test_csv_output_has_a_row_per_replication_and_per_point(tmp_path: Path) -> None:
    sc = exp_line()
    out = tmp_path / "s.csv"
    run_sweep(sc, [parse_setting("L.M2.cycle_s=11,12", sc)], plan(sc, hours=2, warmup_hours=0.5, reps=2),
              SerialExecutor(), out=out)
    rows = out.read_text().splitlines()
    assert rows[0].startswith("kind,point,rep")
    assert sum(1 for r in rows if r.startswith("replication")) == 4
    assert sum(1 for r in rows if r.startswith("point")) == 2


def test_a_scenario_compared_with_itself_differs_by_exactly_zero() -> None:
    sc = exp_line()
    c = compare(sc, sc, plan(sc, hours=3, warmup_hours=0.5, reps=4), SerialExecutor())
    assert c.difference.mean == 0.0 and not c.significant
    faster = sc.with_station("L", "M2", cycle_s=6.0)
    c2 = compare(sc, faster, plan(sc, hours=6, warmup_hours=0.5, reps=4), SerialExecutor())
    assert c2.difference.mean > 0 and c2.significant


def write_line(tmp_path: Path) -> Path:
    path = tmp_path / "l.toml"
    path.write_text("""
[scenario]
name = "l"
seed = 4
[[lines]]
name = "L"
[[lines.stations]]
name = "M1"
cycle_s = 10.0
dist = "exp"
buffer = 1
[[lines.stations]]
name = "M2"
cycle_s = 12.0
dist = "exp"
""")
    return path


def test_the_sweep_command_writes_a_row_per_point_of_a_2_by_3_grid(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_cli import cli

    out = tmp_path / "s.jsonl"
    png = tmp_path / "s.png"
    code, _, err = cli(capsys, "sweep", write_line(tmp_path), "--set", "L.M1.buffer=0,2", "--set",
                       "L.M2.cycle_s=10:12:1", "--hours", 2, "--warmup-hours", 0.5, "--reps", 2, "--workers", 1,
                       "--out", out, "--png", png)
    assert code == 0, err
    points = [r for r in map(json.loads, out.read_text().splitlines()) if r["kind"] == "point"]
    assert len(points) == 6 and png.stat().st_size > 1000
    assert "L.M2.cycle_s" in err and "bottleneck" in err
    code, _, err = cli(capsys, "sweep", write_line(tmp_path), "--set", "L.M1.buffer=0,2", "--out", out)
    assert code == 2 and "--resume" in err  # an existing file is completed, never overwritten


def test_the_compare_command_and_its_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_cli import cli

    path = write_line(tmp_path)
    code, out, err = cli(capsys, "compare", path, path, "--hours", 2, "--warmup-hours", 0.5, "--reps", 3,
                         "--workers", 1, "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["difference_per_hour"]["mean"] == 0.0 and data["significant"] is False
    code, out, err = cli(capsys, "compare", path, "--set", "L.M2.cycle_s=6", "--hours", 4, "--warmup-hours", 0.5,
                         "--reps", 3, "--workers", 1, "--json", "-")
    assert code == 0 and json.loads(out)["difference_per_hour"]["mean"] > 0
    assert cli(capsys, "compare", path)[0] == 2
    code, _, err = cli(capsys, "sweep", path, "--set", "L.M2.cycle_s=6", "--scheduler", "localhost:1")
    assert code == 2 and "tcp://" in err
