"""Live charts: throughput (rolling and cumulative) against the rated line, WIP, state shares per station, and the
momentary-bottleneck timeline. Every curve and bar is created once and fed with setData.

The figures are sampled from snapshots, time-weighted by the simulated time between frames: a display of what the
run is doing, not the run's statistics (`twin run` gives those, with intervals).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtWidgets

from twin.engine.live import Snapshot
from viz.layout import STATE_COLORS

HISTORY = 4000  # points kept per curve
ROLLING_S = 3600.0


class Charts(QtWidgets.QWidget):
    def __init__(self, station_names: list[str], rated_per_hour: float | None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.throughput = pg.PlotWidget(title="throughput, product per hour")
        self.throughput.setBackground("w")
        self.throughput.addLegend(offset=(5, 5))
        self.rolling = self.throughput.plot(pen=pg.mkPen((0, 114, 178), width=2), name="last hour")
        self.cumulative = self.throughput.plot(pen=pg.mkPen((90, 90, 90), width=2), name="since start")
        if rated_per_hour is not None:
            self.throughput.addItem(pg.InfiniteLine(rated_per_hour, angle=0, label=f"rated {rated_per_hour:g}/h",
                                                    pen=pg.mkPen((200, 0, 60), style=pg.QtCore.Qt.PenStyle.DashLine)))
        self.wip = pg.PlotWidget(title="work in process")
        self.wip.setBackground("w")
        self.wip_curve = self.wip.plot(pen=pg.mkPen((86, 180, 233), width=2))
        self.shares = pg.PlotWidget(title="state shares per station")
        self.shares.setBackground("w")
        self.bars = []
        x = np.arange(len(station_names))
        for state, color in STATE_COLORS.items():
            bar = pg.BarGraphItem(x=x, height=np.zeros(len(x)), y0=np.zeros(len(x)), width=0.8, brush=color,
                                  pen=None, name=state)
            self.shares.addItem(bar)
            self.bars.append(bar)
        every = max(1, -(-len(station_names) // 12))  # at most ~12 labels: the axis stays legible and cheap to draw
        ticks = [[(i, n) for i, n in enumerate(station_names) if i % every == 0]]
        self.shares.getAxis("bottom").setTicks(ticks)
        self.shares.setYRange(0, 1)
        self.timeline = pg.PlotWidget(title="momentary bottleneck (longest current active period)")
        self.timeline.setBackground("w")
        self.timeline_curve = self.timeline.plot(pen=None, symbol="s", symbolSize=4,
                                                 symbolBrush=(200, 0, 60), symbolPen=None)
        self.timeline.getAxis("left").setTicks(ticks)
        grid.addWidget(self.throughput, 0, 0)
        grid.addWidget(self.wip, 0, 1)
        grid.addWidget(self.shares, 1, 0)
        grid.addWidget(self.timeline, 1, 1)
        self.reset(len(station_names))

    def reset(self, stations: int) -> None:
        self.t = np.zeros(0)
        self.done = np.zeros(0)
        self.wip_values = np.zeros(0)
        self.bn_t = np.zeros(0)
        self.bn = np.zeros(0)
        self.state_time = np.zeros((stations, len(STATE_COLORS)))

    def add(self, snap: Snapshot, dt_s: float, bottleneck: int | None) -> None:
        self.t = np.append(self.t, snap.time_s)[-HISTORY:]
        self.done = np.append(self.done, snap.product_finished())[-HISTORY:]
        self.wip_values = np.append(self.wip_values, snap.wip)[-HISTORY:]
        if bottleneck is not None:
            self.bn_t = np.append(self.bn_t, snap.time_s)[-HISTORY:]
            self.bn = np.append(self.bn, bottleneck)[-HISTORY:]
        if dt_s > 0:
            for s, view in enumerate(snap.stations):
                share = dt_s / len(view.states)
                for k, state in enumerate(STATE_COLORS):
                    n = view.states.count(state)
                    if n:
                        self.state_time[s, k] += share * n

    def draw(self) -> None:
        hours = self.t / 3600.0
        if len(self.t) > 1:
            with np.errstate(divide="ignore", invalid="ignore"):
                cumulative = np.where(self.t > 0, self.done / np.maximum(hours, 1e-12), 0.0)
            back = np.searchsorted(self.t, self.t - ROLLING_S)
            span = np.maximum(self.t - self.t[back], 1e-9) / 3600.0
            rolling = (self.done - self.done[back]) / span
            self.rolling.setData(hours, rolling)
            self.cumulative.setData(hours, cumulative)
            self.wip_curve.setData(hours, self.wip_values)
        self.timeline_curve.setData(self.bn_t / 3600.0, self.bn)
        total = self.state_time.sum(axis=1, keepdims=True)
        shares = np.divide(self.state_time, total, out=np.zeros_like(self.state_time), where=total > 0)
        bottom = np.zeros(len(shares))
        for k, bar in enumerate(self.bars):
            bar.setOpts(height=shares[:, k], y0=bottom.copy())
            bottom += shares[:, k]
