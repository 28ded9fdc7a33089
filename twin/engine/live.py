"""A run that advances in slices and can be looked at and changed while it goes: what the desktop app drives.

`LiveRun` wraps one replication of the SimPy engine with an open horizon. `advance(dt_s)` moves simulated time
on; `snapshot()` reads what every server is doing at that instant, the buffer levels, the parts made so far;
`edit(line, station, cycle_s=..., servers=..., buffer=..., mtbf_s=..., mttr_s=...)` changes a station at once,
in the running model and in its scenario (re-validated, so that it can be saved):
- a new cycle time or MTBF/MTTR rescales the draws not yet used (the same unit draws: common random numbers);
- a larger buffer lets blocked parts move on at once; a smaller one blocks the next parts until it has room;
- more servers start working at once; fewer servers retire when they have handed on their current part.
A conveyor cannot be edited while running (its hooks are laid out at its pitch); a batch station's cycle_s is the
hold of the next batches, its servers its furnaces. New kinds show as plain stations: one state per server (a
furnace loading shows starved, holding working, unloading into a full buffer blocked; a chain working while it
carries parts).
Two LiveRuns of the same scenario and seed make the same sample path, so an A/B comparison of an edited copy
against the original shows the effect of the edit alone.

No Qt, no I/O: the app (viz/) reads snapshots and draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twin.calendar import Calendar
from twin.engine import des
from twin.engine.model import VEHICLE_STATES, RunConfig
from twin.errors import EngineError
from twin.scenario import Scenario
from twin.streams import Sampler, stream, unit_draw

OPEN_HORIZON_S = 100 * 365 * 86_400.0  # a live run has no end: a century of simulated time
EDITABLE = ("cycle_s", "servers", "buffer", "mtbf_s", "mttr_s")


@dataclass(frozen=True)
class StationView:
    line: str
    name: str
    states: tuple[str, ...]  # per server, one of STATES
    operations: int  # parts processed so far
    cycle_s: float
    inputs: tuple[str, ...]  # lines or transports feeding an assembly station


@dataclass(frozen=True)
class BufferView:
    name: str  # "line/station" after which it lies, or "source->line/station" for a line-side stock
    level: int
    capacity: int


@dataclass(frozen=True)
class Snapshot:
    time_s: float
    stations: tuple[StationView, ...]
    buffers: tuple[BufferView, ...]
    finished: dict[str, int]  # parts that left each line so far
    product: tuple[str, ...]  # the lines whose output is the scenario's product
    wip: int
    vehicles: tuple[tuple[str, str, int], ...]  # (transport, state, parts on board) per vehicle

    def product_finished(self) -> int:
        return sum(self.finished[name] for name in self.product)


class LiveRun:
    """One replication of a scenario on the SimPy engine, advanced slice by slice."""

    def __init__(self, scenario: Scenario, seed: int | None = None, replication: int = 0) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.replication = replication
        self._start()

    def _start(self) -> None:
        config = RunConfig(horizon_s=OPEN_HORIZON_S, seed=self.seed, replication=self.replication)
        self._sim = des.DesSimulation(self.scenario, config)
        self._retiring: dict[int, int] = {}  # station index -> servers still to retire
        spec = self.scenario.spec
        self._calendars = {ln.name: Calendar.from_spec(ln.calendar or spec.calendar) for ln in spec.lines}
        self._product = tuple(self._product_lines())

    def _product_lines(self) -> list[str]:
        header = self.scenario.spec.scenario
        if header.product is not None:
            return [header.product] if isinstance(header.product, str) else list(header.product)
        return [ln.name for ln in self._sim.lines if ln.terminal]

    # ------------------------------------------------------------------ time
    @property
    def time_s(self) -> float:
        return float(self._sim.env.now)

    def advance(self, dt_s: float) -> None:
        """Move simulated time on by dt_s seconds (events at the new instant are not processed yet); 0 runs what is
        due now."""
        if dt_s < 0:
            raise ValueError(f"dt_s must be >= 0, got {dt_s}")
        env = self._sim.env
        target = env.now + dt_s
        if target > OPEN_HORIZON_S:
            raise EngineError("a live run is limited to a century of simulated time; reset it")
        if dt_s == 0:  # what is due at this instant (e.g. after an edit) happens now
            while env.peek() <= env.now:
                env.step()
        else:
            env.run(until=target)

    def reset(self) -> None:
        """Back to time 0 with the current (possibly edited) scenario and the same seed."""
        self._start()

    # ------------------------------------------------------------------ looking
    def snapshot(self) -> Snapshot:
        sim = self._sim
        now = sim.env.now
        stations = []
        for st in sim.stations:
            working_now = self._calendars[st.line.name].always_on or _on_shift(self._calendars[st.line.name], now)
            states = tuple(_server_state(server, now, working_now) for server in st.units)
            stations.append(StationView(st.line.name, st.spec.name, states, st.operations, st.cycle.mean,
                                        tuple(st.feed_names)))
        buffers = tuple(BufferView(link.name, len(link.parts), link.capacity) for link in sim.links)
        vehicles = tuple((tr.spec.name, VEHICLE_STATES[int(me[0])], int(me[2])) for tr, me in sim.vehicles)
        return Snapshot(time_s=float(now), stations=tuple(stations), buffers=buffers,
                        finished={ln.name: ln.finished for ln in sim.lines}, product=self._product,
                        wip=sum(ln.wip for ln in sim.lines), vehicles=vehicles)

    # ------------------------------------------------------------------ changing
    def edit(self, line: str, station: str, **changes: Any) -> None:
        """Change a station now (see the module docstring); the scenario is updated and re-validated first."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise ValueError(f"cannot edit {', '.join(unknown)} while running; editable: {', '.join(EDITABLE)}")
        if self.scenario.station(line, station).kind == "conveyor":
            raise ValueError("a conveyor cannot be edited while running; edit the file and reset")
        self.scenario = self.scenario.with_station(line, station, **changes)  # raises ScenarioError if invalid
        spec = self.scenario.station(line, station)
        st = next(s for s in self._sim.stations if s.line.name == line and s.spec.name == station)
        st.spec = spec
        if "cycle_s" in changes and spec.cycle_s is not None:
            _rescale(st.cycle, spec.cycle_s)
        if "mtbf_s" in changes or "mttr_s" in changes:
            self._failures(st, line)
        if "buffer" in changes and st.outlink is not None and not st.outlink.line_exit:
            link = st.outlink
            link.capacity = spec.buffer
            active = len([u for u in link.consumer.units if not getattr(u, "retired", False)])
            link.slots = spec.buffer + active * link.consumer.places
            _flush(link)
        if "servers" in changes:
            self._servers(st, spec.servers)

    def _failures(self, st: Any, line: str) -> None:
        spec = st.spec
        if spec.mtbf_s is None or spec.mttr_s is None or spec.failure_basis != "busy":
            if spec.failure_basis != "busy":
                raise ValueError("calendar-based failures cannot be changed while running; edit the file and reset")
            st.ttf = st.ttr = None
            for server in st.units:
                server.ttf_left = float("inf")
            return
        if st.ttf is None or st.ttr is None:  # failures switched on: the streams a fresh run would use
            cfg = self._sim.config
            st.ttf = Sampler(stream(cfg.seed, cfg.replication, line, spec.name, "failure"),
                             unit_draw(spec.ttf_dist, spec.ttf_cv), spec.mtbf_s)
            st.ttr = Sampler(stream(cfg.seed, cfg.replication, line, spec.name, "repair"),
                             unit_draw(spec.ttr_dist, spec.ttr_cv), spec.mttr_s)
            for server in st.units:
                server.ttf_left = st.ttf()
        else:
            _rescale(st.ttf, spec.mtbf_s)
            _rescale(st.ttr, spec.mttr_s)

    def _servers(self, st: Any, wanted: int) -> None:
        active = [u for u in st.units if not u.retired]
        if wanted > len(active):
            for _ in range(wanted - len(active)):
                server = des._Server(st, len(self._sim.servers))
                if st.ttf is not None:
                    server.ttf_left = st.ttf()
                self._sim.servers.append(server)
                st.units.append(server)
                self._sim.env.process(self._sim._serve(server))
        else:
            # the newest servers retire once they have handed on the part they hold
            for server in reversed(active[wanted:] if wanted else active):
                server.retired = True
        st.servers = wanted
        if st.inlink is not None:
            st.inlink.slots = st.inlink.capacity + wanted * st.places
            _flush(st.inlink)


def _rescale(sampler: Sampler, mean: float) -> None:
    """A new mean for the draws not yet used: the same unit draws, scaled (common random numbers)."""
    factor = mean / sampler.mean
    pos = sampler._pos
    sampler._buf[pos:] = [x * factor for x in sampler._buf[pos:]]
    sampler.mean = float(mean)


def _flush(link: Any) -> None:
    """Let blocked parts in while a link has room (after it grew)."""
    while link.blocked and link.occupied < link.slots:
        ev, part, priority = link.blocked.popleft()
        link._admit(part)
        des._fire(ev, None, priority)


def _on_shift(calendar: Calendar, t: float) -> bool:
    return calendar.to_working(t + 1e-6) > calendar.to_working(t)


def _server_state(server: Any, now: float, on_shift: bool) -> str:
    state = server.state
    if state == des._IDLE:
        return "starved" if on_shift else "off_shift"
    if not on_shift:
        return "off_shift"
    if state == des._BLOCKED:
        return "blocked"
    if state == des._BUSY:
        if server.plan is not None:  # a part hit by failures: down during the repairs it crossed
            st = server.station
            w = now if st.to_working is None else st.to_working(now)
            t = server.since
            for work, repair in server.plan:
                if w < t + work:
                    return "working"
                if w < t + work + repair:
                    return "down"
                t += work + repair
        return "working"
    return "starved"

