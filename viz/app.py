"""The desktop app: a scenario running live in pyqtgraph, its bottleneck outlined, and its stations editable.

The simulation advances from a QTimer in slices capped by a frame budget, so the window never freezes: at each
tick it runs up to `speed` simulated seconds per wall second, stopping early when the budget is spent (the
effective speed is shown). A/B mode runs the edited scenario beside the original with the same seed (common
random numbers) and shows the difference. `run_headless` does the same without a screen and saves a PNG.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

import twin
from twin.calendar import HOURS_PER_YEAR
from twin.engine.live import LiveRun, Snapshot
from twin.errors import TwinError
from twin.scenario import Scenario
from viz.charts import Charts
from viz.layout import LayoutView

FRAME_MS = 33  # ~30 frames a second
BUDGET_S = 0.022  # simulation time allowed per frame, the rest is drawing
CHART_PERIOD_S = 0.2  # the charts are redrawn 5 times a second, the layout every frame
SPEEDS = (1, 10, 100, 1_000, 10_000, 100_000, math.inf)  # simulated seconds per wall second ("max" last)


def rated_per_hour(scenario: Scenario, product: tuple[str, ...]) -> float | None:
    total = 0.0
    for line in scenario.spec.lines:
        if line.name in product:
            if line.rated_per_hour is not None:
                total += line.rated_per_hour
            elif line.rated_per_year is not None:
                total += line.rated_per_year / HOURS_PER_YEAR
            else:
                return None
    return total


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        super().__init__()
        self.seed = scenario.seed if seed is None else seed
        self.speed = 1_000.0
        self.playing = False
        self._load(scenario)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)
        self._last_wall = time.perf_counter()
        self.frame_times: list[float] = []

    # ------------------------------------------------------------------ building
    def _load(self, scenario: Scenario) -> None:
        self.original = scenario
        self.live = LiveRun(scenario, self.seed)
        self.ab: LiveRun | None = None
        snap = self.live.snapshot()
        self.names = [f"{s.line}/{s.name}" if len(self.original.spec.lines) > 1 else s.name for s in snap.stations]
        self.setWindowTitle(f"twin — {scenario.name}")
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        self.layout_view = LayoutView(scenario)
        self.layout_view.station_clicked.connect(self.select_station)
        self.charts = Charts([s.name for s in snap.stations], rated_per_hour(scenario, snap.product))
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.layout_view)
        split.addWidget(self.charts)
        split.setSizes([500, 500])
        column.addWidget(split)
        self.status = QtWidgets.QLabel()
        column.addWidget(self.status)
        self.setCentralWidget(central)
        self._toolbar()
        self._inspector(snap)
        self.active_since: list[float | None] = [None] * len(snap.stations)
        self.bottleneck: int | None = None
        self._charts_drawn = 0.0
        self._figures_shown = 0.0
        self.refresh(0.0)

    def _toolbar(self) -> None:
        if hasattr(self, "toolbar"):
            self.removeToolBar(self.toolbar)
        bar = self.toolbar = QtWidgets.QToolBar("run")
        self.addToolBar(bar)
        self.play_action = bar.addAction("Play", self.toggle_play)
        bar.addAction("Step", self.step)
        bar.addAction("Reset", self.reset)
        bar.addSeparator()
        bar.addWidget(QtWidgets.QLabel(" speed "))
        self.speed_box = QtWidgets.QComboBox()
        self.speed_box.addItems([f"{s:,}×" if s != math.inf else "max" for s in SPEEDS])
        self.speed_box.setCurrentIndex(SPEEDS.index(1_000))
        self.speed_box.currentIndexChanged.connect(lambda i: setattr(self, "speed", float(SPEEDS[i])))
        bar.addWidget(self.speed_box)
        bar.addSeparator()
        self.ab_box = QtWidgets.QCheckBox("A/B against the original")
        self.ab_box.toggled.connect(self.set_ab)
        bar.addWidget(self.ab_box)
        bar.addSeparator()
        bar.addAction("Open…", self.open_file)
        bar.addAction("Save as…", self.save_file)
        bar.addAction("Export PNG…", self.export_png)

    def _inspector(self, snap: Snapshot) -> None:
        if hasattr(self, "dock"):
            self.removeDockWidget(self.dock)
        self.dock = QtWidgets.QDockWidget("Station", self)
        panel = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(panel)
        self.station_box = QtWidgets.QComboBox()
        self.station_box.addItems([f"{s.line}/{s.name}" for s in snap.stations])
        self.station_box.currentIndexChanged.connect(self._fill_inspector)
        form.addRow("station", self.station_box)
        self.cycle = QtWidgets.QDoubleSpinBox(decimals=2, maximum=1e7, minimum=0.01, suffix=" s")
        self.servers = QtWidgets.QSpinBox(minimum=1, maximum=10_000)
        self.buffer = QtWidgets.QSpinBox(minimum=0, maximum=10_000_000)
        self.mtbf = QtWidgets.QDoubleSpinBox(decimals=0, maximum=1e9, minimum=0, suffix=" s", specialValueText="none")
        self.mttr = QtWidgets.QDoubleSpinBox(decimals=0, maximum=1e9, minimum=0, suffix=" s", specialValueText="none")
        for label, widget in (("cycle", self.cycle), ("servers", self.servers), ("buffer after", self.buffer),
                              ("MTBF", self.mtbf), ("MTTR", self.mttr)):
            form.addRow(label, widget)
        apply = QtWidgets.QPushButton("Apply now")
        apply.clicked.connect(self.apply_edit)
        form.addRow(apply)
        self.figures = QtWidgets.QLabel()
        self.figures.setWordWrap(True)
        form.addRow(self.figures)
        self.dock.setWidget(panel)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self._fill_inspector()

    def _current(self) -> tuple[str, str]:
        line, name = self.station_box.currentText().split("/", 1)
        return line, name

    def _fill_inspector(self) -> None:
        line, name = self._current()
        spec = self.live.scenario.station(line, name)
        self.cycle.setValue(spec.cycle_s or 0.0)
        self.servers.setValue(spec.servers)
        self.buffer.setValue(spec.buffer)
        self.mtbf.setValue(spec.mtbf_s or 0.0)
        self.mttr.setValue(spec.mttr_s or 0.0)

    def select_station(self, line: str, name: str) -> None:
        self.station_box.setCurrentText(f"{line}/{name}")

    # ------------------------------------------------------------------ running
    def toggle_play(self) -> None:
        self.playing = not self.playing
        self.play_action.setText("Pause" if self.playing else "Play")
        self._last_wall = time.perf_counter()
        if self.playing:
            self.timer.start()
        else:
            self.timer.stop()

    def tick(self) -> None:
        now = time.perf_counter()
        wall = min(now - self._last_wall, 0.25)
        self._last_wall = now
        self.advance(self.speed * wall if self.speed != math.inf else math.inf)
        self.frame_times.append(time.perf_counter() - now)

    def step(self) -> None:
        """One frame's worth of simulated time at the chosen speed (a minute at least)."""
        self.advance(max(60.0, (self.speed if self.speed != math.inf else 3600.0) * FRAME_MS / 1000))

    def advance(self, sim_s: float) -> None:
        """Run up to sim_s simulated seconds, in pieces, until the frame budget is spent; then redraw once."""
        started = time.perf_counter()
        done = 0.0
        piece = 60.0
        self.sim_wall_s = 0.0  # wall time spent simulating in this frame (the rest is drawing)
        while done < sim_s and time.perf_counter() - started < BUDGET_S:
            dt = min(piece, sim_s - done)
            self.live.advance(dt)
            if self.ab is not None:
                self.ab.advance(dt)
            done += dt
            piece = min(piece * 2, 86_400.0)
        self.sim_wall_s = time.perf_counter() - started
        self.refresh(done)

    def refresh(self, dt_s: float) -> None:
        snap = self.live.snapshot()
        self._track_bottleneck(snap)
        self.layout_view.update_from(snap, self.bottleneck)
        self.charts.add(snap, dt_s, self.bottleneck)
        now = time.perf_counter()
        if now - self._charts_drawn >= CHART_PERIOD_S or dt_s == 0.0:  # charts at ~5 a second: axes cost
            self.charts.draw()
            self._charts_drawn = now
        hours = snap.time_s / 3600.0
        made = snap.product_finished()
        text = f"t = {hours:,.1f} h   made {made:,}   WIP {snap.wip:,}"
        if hours > 0:
            text += f"   {made / hours:,.1f} an hour"
        if self.ab is not None:
            other = self.ab.snapshot()
            diff = made - other.product_finished()
            text += f"   |   B − A: {diff:+,} parts" + (f" ({diff / hours:+,.2f} an hour)" if hours > 0 else "")
        if self.bottleneck is not None:
            text += f"   |   bottleneck now: {self.names[self.bottleneck]}"
        self.status.setText(text)
        self.last_snapshot = snap
        if now - self._figures_shown >= 1.0 or dt_s == 0.0:  # tooltips and the inspector's figures: once a second
            self._station_figures(snap)
            self._figures_shown = now

    def _track_bottleneck(self, snap: Snapshot) -> None:
        best, best_len = None, -1.0
        for s, view in enumerate(snap.stations):
            active = all(state in ("working", "down") for state in view.states)
            if not active:
                self.active_since[s] = None
                continue
            if self.active_since[s] is None:
                self.active_since[s] = snap.time_s
            length = snap.time_s - self.active_since[s]  # type: ignore[operator]
            if length > best_len:
                best, best_len = s, length
        self.bottleneck = best

    def _station_figures(self, snap: Snapshot) -> None:
        shares = self.charts.state_time
        rows = []
        for s, view in enumerate(snap.stations):
            total = shares[s].sum() or 1.0
            parts = ", ".join(f"{k} {v / total:.0%}" for k, v in zip(("working", "blocked", "starved", "down",
                                                                         "off"), shares[s]))
            rows.append(f"{view.line}/{view.name}: {len(view.states)} server(s), cycle {view.cycle_s:g} s, "
                        f"{view.operations:,} done; {parts}")
        self.layout_view.set_tooltips(rows, snap)
        self.figures.setText(rows[self.station_box.currentIndex()])

    def reset(self) -> None:
        self.live.reset()
        if self.ab is not None:
            self.ab = LiveRun(self.original, self.seed)
        self.charts.reset(len(self.names))
        self.active_since = [None] * len(self.names)
        self.refresh(0.0)

    # ------------------------------------------------------------------ editing
    def apply_edit(self) -> None:
        line, name = self._current()
        spec = self.live.scenario.station(line, name)
        changes: dict[str, object] = {}
        if self.cycle.value() != (spec.cycle_s or 0.0):
            changes["cycle_s"] = self.cycle.value()
        if self.servers.value() != spec.servers:
            changes["servers"] = self.servers.value()
        if self.buffer.value() != spec.buffer:
            changes["buffer"] = self.buffer.value()
        mtbf, mttr = self.mtbf.value() or None, self.mttr.value() or None
        if mtbf != spec.mtbf_s or mttr != spec.mttr_s:
            changes["mtbf_s"], changes["mttr_s"] = mtbf, mttr
        if not changes:
            return
        try:
            self.live.edit(line, name, **changes)
        except (TwinError, ValueError) as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot apply", str(exc))
            self._fill_inspector()
            return
        self.refresh(0.0)

    def set_ab(self, on: bool) -> None:
        """A = the scenario as opened, B = the edited one; both start again from time 0 with the same seed."""
        self.ab = LiveRun(self.original, self.seed) if on else None
        self.live.reset()
        self.charts.reset(len(self.names))
        self.active_since = [None] * len(self.names)
        self.refresh(0.0)

    # ------------------------------------------------------------------ files
    def open_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open scenario", "", "Scenarios (*.toml)")
        if path:
            try:
                scenario = twin.load(path)
            except TwinError as exc:
                QtWidgets.QMessageBox.warning(self, "Cannot open", str(exc))
                return
            self._load(scenario)

    def save_file(self) -> None:
        """Save the edited scenario as TOML; Qt's dialog asks before replacing a file (comments are not kept,
        so a new name is proposed)."""
        import tomli_w

        suggestion = f"{self.live.scenario.name}-edited.toml"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save scenario", suggestion, "Scenarios (*.toml)")
        if path:
            Path(path).write_text(tomli_w.dumps(self.live.scenario.to_dict()), encoding="utf-8")

    def export_png(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export PNG", f"{self.original.name}.png",
                                                        "PNG (*.png)")
        if path:
            self.grab().save(path)


def run_headless(scenario: Scenario, sim_hours: float, png: Path, seed: int | None = None,
                 size: tuple[int, int] = (1800, 1100)) -> MainWindow:
    """Run `sim_hours` without showing anything on a screen and save a PNG of the window."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow(scenario, seed)
    window.resize(*size)
    window.show()
    frames = 200
    step = sim_hours * 3600.0 / frames
    for _ in range(frames):
        window.live.advance(step)
        window.refresh(step)
        app.processEvents()
    window.layout_view.autoRange()
    app.processEvents()
    if not window.grab().save(str(png)):
        raise TwinError(f"could not write the PNG {png}")
    return window
