"""The layout view: every line a row of station boxes coloured by state, buffers as fill bars, feeds between lines.

Items are created once from the scenario and only recoloured / resized per frame (no item is created while the
model runs). A station with up to `CELLS` servers shows one cell per server; a larger one (a furnace of 2,100
places) shows one bar split by the share of its servers in each state. Zoom and pan are the view box's.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from twin.engine.live import Snapshot
from twin.scenario import Scenario
from twin.spec import names_of

STATE_COLORS = MappingProxyType({  # colour-blind-safe (Okabe-Ito) where it matters: working / blocked / starved / down
    "working": (0, 158, 115),
    "blocked": (230, 159, 0),
    "starved": (240, 228, 66),
    "down": (213, 94, 0),
    "off_shift": (120, 120, 120),
})
CELLS = 12
BOX_W, BOX_H, PITCH, ROW = 3.0, 1.6, 4.2, 4.2


@dataclass
class _StationItems:
    line: str
    name: str
    x: float
    y: float
    frame: QtWidgets.QGraphicsRectItem
    cells: list[QtWidgets.QGraphicsRectItem]
    label: pg.TextItem


class LayoutView(pg.PlotWidget):
    """The scenario drawn once; `update_from(snapshot, bottleneck)` recolours it."""

    station_clicked = QtCore.Signal(str, str)

    def __init__(self, scenario: Scenario, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setBackground("w")
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setAspectLocked(False)
        self.stations: list[_StationItems] = []
        self.buffers: list[tuple[QtWidgets.QGraphicsRectItem, QtWidgets.QGraphicsRectItem, float]] = []
        self._brushes = {k: QtGui.QBrush(QtGui.QColor(*v)) for k, v in STATE_COLORS.items()}
        self._font = QtGui.QFont()
        self._font.setPointSize(7)
        self._build(scenario)
        self.outline = QtWidgets.QGraphicsRectItem(0, 0, BOX_W + 0.3, BOX_H + 0.3)
        self.outline.setPen(pg.mkPen((200, 0, 60), width=4))
        self.outline.setBrush(QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
        self.outline.setVisible(False)
        self.addItem(self.outline)
        self.autoRange()

    # ------------------------------------------------------------------ building
    def _build(self, scenario: Scenario) -> None:
        spec = scenario.spec
        position: dict[tuple[str, str], tuple[float, float]] = {}
        last: dict[str, tuple[float, float]] = {}
        for row, line in enumerate(spec.lines):
            y = -row * ROW
            name = pg.TextItem(line.name, color=(30, 30, 30), anchor=(1, 0.5))
            name.setPos(-0.4, y + BOX_H / 2)
            self.addItem(name)
            for k, st in enumerate(line.stations):
                x = k * PITCH
                position[(line.name, st.name)] = (x, y)
                frame = QtWidgets.QGraphicsRectItem(x, y, BOX_W, BOX_H)
                frame.setPen(pg.mkPen((40, 40, 40), width=1))
                frame.setBrush(self._brushes["starved"])
                frame.setToolTip(f"{line.name}/{st.name}")
                self.addItem(frame)
                n_cells = min(st.servers, CELLS) if st.servers <= CELLS else 5
                cells = []
                for c in range(n_cells):
                    cell = QtWidgets.QGraphicsRectItem(x + c * BOX_W / n_cells, y, BOX_W / n_cells, BOX_H)
                    cell.setPen(pg.mkPen(None))
                    cell.setBrush(self._brushes["starved"])
                    cell.setToolTip(frame.toolTip())
                    self.addItem(cell)
                    cells.append(cell)
                label = pg.TextItem(f"{st.name}" + (f" ×{st.servers}" if st.servers > 1 else ""),
                                    color=(30, 30, 30), anchor=(0, 1))
                label.setFont(self._font)
                label.setPos(x, y + BOX_H + 0.9)
                self.addItem(label)
                self.stations.append(_StationItems(line.name, st.name, x, y, frame, cells, label))
                if k < len(line.stations) - 1:
                    bx = x + BOX_W + 0.3
                    back = QtWidgets.QGraphicsRectItem(bx, y, 0.5, BOX_H)
                    back.setPen(pg.mkPen((90, 90, 90)))
                    back.setBrush(QtGui.QBrush(QtGui.QColor(235, 235, 235)))
                    fill = QtWidgets.QGraphicsRectItem(bx, y, 0.5, 0.0)
                    fill.setPen(pg.mkPen(None))
                    fill.setBrush(QtGui.QBrush(QtGui.QColor(70, 110, 200)))
                    self.addItem(back)
                    self.addItem(fill)
                    self.buffers.append((back, fill, y))
            last[line.name] = position[(line.name, line.stations[-1].name)]
        transports = {t.name: t for t in spec.transports}
        self.links: list[tuple[str, tuple[float, float], tuple[float, float]]] = []
        for line in spec.lines:
            for st in line.stations:
                for inp in st.inputs:
                    for source in names_of(inp.source):
                        tail = [source] if source not in transports else names_of(transports[source].source)
                        for src in tail:
                            a = last[src]
                            b = position[(line.name, st.name)]
                            self._link(a, b, source if source in transports else "")
        margin = pg.ScatterPlotItem([-7.0], [0.0], size=1, pen=None, brush=None)  # room for the line names
        self.addItem(margin)
        self.vehicles = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(60, 60, 60), symbol="s")
        self.addItem(self.vehicles)
        self.loads = []  # one label a vehicle: the parts on board
        for tr in spec.transports:
            for _ in range(tr.vehicles):
                text = pg.TextItem("", color=(60, 60, 60), anchor=(0, 1))
                text.setFont(self._font)
                self.addItem(text)
                self.loads.append(text)
        self._transport_paths = {name: [] for name in transports}
        for name, a, b in self.links:
            if name:
                self._transport_paths[name].append((a, b))

    def _link(self, a: tuple[float, float], b: tuple[float, float], transport: str) -> None:
        start = (a[0] + BOX_W, a[1] + BOX_H / 2)
        end = (b[0] + BOX_W / 2, b[1] + (BOX_H if b[1] < a[1] else 0.0))
        curve = pg.PlotCurveItem([start[0], end[0]], [start[1], end[1]],
                                 pen=pg.mkPen((150, 150, 150), width=1, style=QtCore.Qt.PenStyle.DashLine))
        self.addItem(curve)
        self.links.append((transport, start, end))

    # ------------------------------------------------------------------ per frame
    def update_from(self, snap: Snapshot, bottleneck: int | None) -> None:
        brushes = self._brushes
        for items, view in zip(self.stations, snap.stations):
            states = view.states
            if len(states) <= CELLS:
                for cell, state in zip(items.cells, states):
                    cell.setBrush(brushes[state])
            else:  # one bar split by the share of servers in each state
                counts = {s: states.count(s) for s in STATE_COLORS}
                x = items.x
                for cell, state in zip(items.cells, STATE_COLORS):
                    width = BOX_W * counts[state] / len(states)
                    cell.setRect(x, items.y, width, BOX_H)
                    cell.setBrush(brushes[state])
                    x += width
        for (back, fill, y), buf in zip(self.buffers, [b for b in snap.buffers if "->" not in b.name]):
            share = min(buf.level / buf.capacity, 1.0) if buf.capacity else 0.0
            rect = back.rect()
            fill.setRect(rect.x(), y, rect.width(), BOX_H * share)
        if bottleneck is None:
            self.outline.setVisible(False)
        else:
            items = self.stations[bottleneck]
            self.outline.setRect(items.x - 0.15, items.y - 0.15, BOX_W + 0.3, BOX_H + 0.3)
            self.outline.setVisible(True)
        xs, ys = [], []
        seen: dict[str, int] = {}
        for k, (name, state, load) in enumerate(snap.vehicles):
            paths = self._transport_paths.get(name)
            if not paths:
                continue
            (x0, y0), (x1, y1) = paths[0]
            i = seen.get(name, 0)
            seen[name] = i + 1
            where = {"idle": 0.05, "loaded": 0.5, "unloading": 0.95, "returning": 0.35}[state]
            x, y = x0 + (x1 - x0) * where + 0.25 * i, y0 + (y1 - y0) * where
            xs.append(x)
            ys.append(y)
            if k < len(self.loads):
                self.loads[k].setText(str(load) if load else "")
                self.loads[k].setPos(x + 0.15, y)
        self.vehicles.setData(xs, ys)

    def set_tooltips(self, rows: list[str], snap: Snapshot) -> None:
        for items, text in zip(self.stations, rows):
            items.frame.setToolTip(text)
            for cell in items.cells:
                cell.setToolTip(text)
        for (back, fill, _), buf in zip(self.buffers, [b for b in snap.buffers if "->" not in b.name]):
            text = f"buffer after {buf.name}: {buf.level} of {buf.capacity} places"
            back.setToolTip(text)
            fill.setToolTip(text)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 — Qt's name
        point = self.plotItem.vb.mapSceneToView(self.mapToScene(event.position().toPoint()))
        for items in self.stations:
            if items.x <= point.x() <= items.x + BOX_W and items.y <= point.y() <= items.y + BOX_H:
                self.station_clicked.emit(items.line, items.name)
                break
        super().mousePressEvent(event)
