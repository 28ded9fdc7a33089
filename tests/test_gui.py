"""The desktop app, offscreen (QT_QPA_PLATFORM=offscreen, set in tests/conftest.py): it opens, runs, colours,
edits, compares and takes screenshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import twin  # noqa: E402
from tests.helpers import line  # noqa: E402
from tests.test_cli import cli  # noqa: E402
from twin.scenario import builtin_names  # noqa: E402
from viz.app import MainWindow  # noqa: E402
from viz.layout import BOX_H, BOX_W, STATE_COLORS  # noqa: E402


def window(qtbot, scenario: twin.Scenario) -> MainWindow:  # type: ignore[no-untyped-def]
    w = MainWindow(scenario)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    return w


@pytest.mark.parametrize("name", builtin_names())
def test_the_window_opens_for_every_built_in_scenario(qtbot, name: str) -> None:  # type: ignore[no-untyped-def]
    w = window(qtbot, twin.load(name))
    assert len(w.layout_view.stations) == sum(len(ln.stations) for ln in w.live.scenario.spec.lines)
    w.step()
    assert w.live.time_s > 0


def test_the_window_opens_and_runs_a_scenario_with_the_new_kinds(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = window(qtbot, twin.load(Path(__file__).resolve().parent.parent / "docs" / "examples" / "primitives.toml"))
    assert len(w.layout_view.stations) == 7  # cast, t6, paint, cool, e, r, marriage: each a plain station box
    w.speed = 10_000.0
    for _ in range(5):
        w.step()
    assert w.live.time_s > 0


def test_stepping_advances_time_and_the_counters(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = window(qtbot, line([10]))
    w.speed = 1_000.0
    for _ in range(5):
        w.step()
    assert w.live.time_s >= 5 * 60.0
    made = w.live.snapshot().finished["L"]
    assert made == int(w.live.time_s // 10) - (1 if w.live.time_s % 10 == 0 else 0)
    assert f"made {made:,}" in w.status.text()


def pixel(w: MainWindow, index: int) -> tuple[int, int, int]:
    """The colour at the middle of a station's box, read from a grabbed image of the layout view."""
    items = w.layout_view.stations[index]
    vb = w.layout_view.plotItem.vb
    scene = vb.mapViewToScene(pg_point(items.x + BOX_W / 2, items.y + BOX_H / 2))
    where = w.layout_view.mapFromScene(scene)
    image = w.layout_view.grab().toImage()
    ratio = image.devicePixelRatio()
    c = image.pixelColor(int(where.x() * ratio), int(where.y() * ratio))
    return c.red(), c.green(), c.blue()


def pg_point(x: float, y: float):  # type: ignore[no-untyped-def]
    from pyqtgraph.Qt import QtCore

    return QtCore.QPointF(x, y)


def test_a_station_box_takes_its_state_colour(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = window(qtbot, line([5, 20], 0))
    w.live.advance(12.0)  # M1 holds a finished part (blocked); M2 works on the first
    w.refresh(12.0)
    w.layout_view.autoRange()
    qtbot.wait(50)
    assert np.allclose(pixel(w, 0), STATE_COLORS["blocked"], atol=3)
    assert np.allclose(pixel(w, 1), STATE_COLORS["working"], atol=3)


def test_editing_the_cycle_time_in_the_inspector_changes_the_engine_and_the_output(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = window(qtbot, line([10]))
    w.live.advance(100.0)
    w.select_station("L", "M1")
    w.cycle.setValue(5.0)
    w.apply_edit()
    assert w.live.scenario.station("L", "M1").cycle_s == 5.0
    assert w.live.snapshot().stations[0].cycle_s == 5.0
    w.live.advance(100.0)
    assert w.live.snapshot().finished["L"] == 9 + 20  # 10 s parts until 100 s, then one every 5 s


def test_a_bad_edit_is_refused_and_the_inspector_restored(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pyqtgraph.Qt import QtWidgets

    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    w = window(qtbot, line([10]))
    w.select_station("L", "M1")
    w.mttr.setValue(60.0)  # an MTTR without an MTBF
    w.apply_edit()
    assert shown and "mtbf_s" in shown[0]
    assert w.mttr.value() == 0.0 and w.live.scenario.station("L", "M1").mttr_s is None


def test_a_b_mode_shows_the_difference_on_a_deterministic_line(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = window(qtbot, line([10]))
    w.select_station("L", "M1")
    w.cycle.setValue(5.0)
    w.apply_edit()
    w.ab_box.setChecked(True)  # A: the 10 s original; B: the 5 s edit; both from time 0
    w.live.advance(5000.0)
    w.ab.advance(5000.0)
    w.refresh(5000.0)
    assert "B − A: +500 parts" in w.status.text()  # 999 against 499 parts by 5,000 s


def test_the_screenshot_command_writes_a_non_blank_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pyqtgraph.Qt import QtGui

    png = tmp_path / "wheel.png"
    code, _, err = cli(capsys, "gui", "wheel", "--screenshot", png, "--sim-hours", 4)
    assert code == 0, err
    image = QtGui.QImage(str(png))
    assert image.width() > 800 and image.height() > 500
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 23) for y in range(0, image.height(), 23)}
    assert len(colours) > 8  # not a blank window
    code, _, err = cli(capsys, "gui", "wheel", "--screenshot", png, "--sim-hours", 1)
    assert code == 2 and "exists" in err  # never overwritten without --force
