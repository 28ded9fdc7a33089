"""Sensitivity by paired runs with common random numbers, against exact values."""

from __future__ import annotations

import pytest

import twin
from tests.ctmc import throughput_derivative
from tests.helpers import line
from twin.analytics.bottleneck import analyse
from twin.analytics.sensitivity import sensitivities
from twin.experiment import plan


def test_deterministic_line_bottleneck_is_worth_3600_over_c_squared_and_the_others_nothing() -> None:
    sc = line([30, 45, 62, 50, 40], 2)
    hours, warmup, step = 100.0, 5.0, 0.02
    result = sensitivities(sc, plan(sc, hours=hours, warmup_hours=warmup, reps=2), rel_step=step)
    top = result[0]
    assert top.station == "M3"
    h = step * 62
    # Central difference of 3600/c is 3600/(c^2 - h^2); counting whole parts in a window of W hours adds at most
    # one part per run to each side: 2 / (W * 2h) per hour per second.
    quantisation = 2 / ((hours - warmup) * 2 * h)
    assert top.per_hour_per_s.mean == pytest.approx(3600 / (62**2 - h**2), abs=quantisation)
    assert abs(top.per_hour_per_s.mean - 3600 / 62**2) < quantisation + 3600 / 62**2 * step**2 * 1.01
    assert all(s.per_hour_per_s.mean == 0.0 for s in result[1:])


def test_the_slowest_station_is_not_always_the_bottleneck() -> None:
    # Rates 0.9, 1.0, 1.2 per minute, buffers [10, 0]: M1 is the slowest, but the exact chain's derivatives make
    # M2 the station whose cycle time is worth most. Per second of cycle time removed: mu^2 dTH/dmu per hour.
    rates, buffers = [0.9, 1.0, 1.2], [10, 0]
    sc = twin.from_dict({"scenario": {"name": "kuo"}, "lines": [{"name": "L", "stations": [
        {"name": f"M{j + 1}", "cycle_s": 60.0 / mu, "dist": "exp", "buffer": b}
        for j, (mu, b) in enumerate(zip(rates, buffers + [0]))]}]})
    result = sensitivities(sc, plan(sc, hours=600, warmup_hours=20, reps=10, seed=5))
    assert result[0].station == "M2"
    for s in result:
        j = int(s.station[1:]) - 1
        exact = rates[j] ** 2 * throughput_derivative(rates, buffers, j)
        lo, hi = s.per_hour_per_s.ci(0.99)
        assert lo <= exact <= hi, f"{s.station}: exact {exact:.4f} outside [{lo:.4f}, {hi:.4f}]"


def test_the_report_shows_every_method_beside_the_verdict() -> None:
    sc = line([30, 45, 62, 50, 40], 2)
    report = analyse(sc, plan(sc, hours=20, warmup_hours=2, reps=2))
    d = report.to_dict()
    assert d["verdict"] == "M3"
    assert d["methods"] == {"sensitivity": "M3", "average_active_period": "M3", "shifting_bottleneck": "M3",
                            "arrows": {"L": "M3"}, "turning_point": {"L": "M3"}}
    assert d["active_period"]["M3"]["sole"] == pytest.approx(1.0)
    assert [s["station"] for s in d["sensitivity"]][0] == "M3"


def test_twin_bottleneck_json(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from twin.cli import main

    path = tmp_path / "line.toml"
    stations = "\n".join(f'[[lines.stations]]\nname = "M{i + 1}"\ncycle_s = {c}\nbuffer = 2\n'
                         for i, c in enumerate([30.0, 45.0, 62.0, 50.0]))
    path.write_text(f'[scenario]\nname = "b"\n[[lines]]\nname = "L"\n{stations}', encoding="utf-8")
    code = main(["bottleneck", str(path), "--hours", "10", "--warmup-hours", "1", "--reps", "2", "--workers", "1",
                 "--json", "-", "-q"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    b = data["bottleneck"]
    assert b["verdict"] == "M3"
    assert [s["station"] for s in b["sensitivity"]][0] == "M3"
    assert {"per_hour_per_s", "ci95"} <= set(b["sensitivity"][0])
    assert set(b["active_period"]["M3"]) >= {"sole", "shifting", "mean_active_s"}
    assert data["throughput"]["per_hour"]["mean"] == pytest.approx(3600 / 62, rel=0.01)


def test_twin_bottleneck_png(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from twin.cli import main

    path = tmp_path / "line.toml"
    stations = "\n".join(f'[[lines.stations]]\nname = "M{i + 1}"\ncycle_s = {c}\ndist = "exp"\nbuffer = 2\n'
                         for i, c in enumerate([30.0, 45.0, 62.0]))
    path.write_text(f'[scenario]\nname = "b"\n[[lines]]\nname = "L"\n{stations}', encoding="utf-8")
    png = tmp_path / "b.png"
    assert main(["bottleneck", str(path), "--hours", "5", "--warmup-hours", "0.5", "--reps", "2", "--workers", "1",
                 "--png", str(png), "-q"]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert main(["bottleneck", str(path), "--png", str(png), "-q"]) == 2  # never overwritten without --force
