"""The discrete-event engine on SimPy: serial lines with blocking after service.

Conventions (DEVELOPERS.md, `shared/methods.md`):
- Blocking after service: a finished part stays on its server until the next buffer has room. The space between
  station j and j+1 is a `_Link` whose *slots* count the parts waiting in the buffer plus the parts on station
  j+1's servers (capacity b_j + m_{j+1}); a part takes a slot when it leaves j and frees it when it leaves j+1. This
  is exactly "b_j waiting places, not counting machines", for b_j = 0 too, and needs no SimPy Store (which cannot
  have capacity 0). Moves that can happen at once happen without an event, so the engine schedules fewer events
  than a Store-based line.
- The first station of a line is never starved (it releases a new part whenever a server is free); the last is
  never blocked.
- Busy-based failures: each server carries the working time left to its next failure; a part whose processing
  crosses it is interrupted, repaired and resumed, which for a given sequence of draws is the processing time plus
  the repair times it crossed (preempt-resume, computed up front: no SimPy interrupts).
- Calendar-based failures: each server has its own sequence of down intervals on its working clock (time to
  failure counted from the end of the previous repair, whatever the server does). A server cannot process while
  down; starved or blocked time that falls in a down interval counts as down. A part already finished may leave
  while its server is down (the failure stops the machine, not the transfer).
- Calendars: everything a station does runs on its working clock (`twin.calendar`); off-shift time is a pause.
- Scrap: a part scrapped at a station leaves it at the end of processing without needing room downstream.

State shares are accumulated as the run goes (working, down, blocked per station; starved is the rest of the
on-shift time), clipped to the measured window; memory is O(stations) unless the trace is asked for.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy
from simpy.events import Event

from twin.calendar import Calendar
from twin.engine.model import BLOCKED, DOWN, STARVED, WORKING, ReplicationResult, RunConfig, Trace, state_shares
from twin.scenario import Scenario
from twin.spec import MixSpec, StationSpec, TransportSpec, names_of
from twin.streams import Bernoulli, Sampler, stream, unit_draw

_BUSY, _BLOCKED, _IDLE = 0, 1, 2
Part = tuple[float, int]  # (release time, variant index): the lead time starts at release


class _Timeout(Event):
    """simpy's Timeout with an event priority (see `_priorities`)."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int) -> None:
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        env.schedule(self, priority, delay)


def _fire(ev: Event, value: Any, priority: int) -> None:
    """Event.succeed with an event priority."""
    ev._ok = True
    ev._value = value
    ev.env.schedule(ev, priority)


class _LineState:
    """Counters of one line: parts released, finished, scrapped; WIP integral; lead times."""

    __slots__ = ("name", "index", "env", "warmup", "released", "finished", "finished_window", "scrapped", "wip",
                 "wip_area", "wip_last", "wip_area0", "lead_sum", "stop", "stop_after", "tracer", "mix", "terminal", "daily")

    def __init__(self, name: str, index: int, env: simpy.Environment, warmup: float, tracer: _Tracer | None) -> None:
        self.index = index
        self.tracer = tracer
        self.name = name
        self.env = env
        self.warmup = warmup
        self.released = 0
        self.finished = 0
        self.finished_window = 0
        self.scrapped = 0
        self.wip = 0
        self.wip_area = 0.0
        self.wip_last = 0.0
        self.wip_area0 = 0.0
        self.lead_sum = 0.0
        self.stop: Event | None = None
        self.stop_after = 0
        self.mix: _Mix | None = None
        self.terminal = True  # False for a line whose output feeds another line
        self.daily: list[int] = []  # parts finished in each calendar day since t = 0

    def _integrate(self, now: float) -> None:
        self.wip_area += self.wip * (now - self.wip_last)
        self.wip_last = now

    def next_variant(self) -> int:
        return self.mix.next() if self.mix is not None else 0

    def release(self, now: float, variant: int | None = None) -> Part:
        self._integrate(now)
        self.wip += 1
        self.released += 1
        return (now, self.next_variant() if variant is None else variant)

    def scrap(self, now: float) -> None:
        self._integrate(now)
        self.wip -= 1
        self.scrapped += 1

    def finish(self, part: Part, now: float) -> None:
        self._integrate(now)
        self.wip -= 1
        self.finished += 1
        day = int(now // 86_400.0)
        if day >= len(self.daily):
            self.daily.extend([0] * (day + 1 - len(self.daily)))
        self.daily[day] += 1
        if now >= self.warmup:
            self.finished_window += 1
            self.lead_sum += now - part[0]
        if self.tracer is not None:
            self.tracer.exit_line.append(self.index)
            self.tracer.exit_s.append(now)
        if self.stop is not None and self.terminal and self.finished >= self.stop_after and not self.stop.triggered:
            self.stop.succeed()


class _Link:
    """The buffer between two stations with its slots (see the module docstring).

    A link that feeds an assembly station or a transport (`free_on_take`) counts only the parts waiting in it:
    its consumer takes them out in kits or batches, freeing their places at once. Such consumers wait by putting an
    event in `watch`, which the next arrival triggers.
    """

    __slots__ = ("env", "name", "capacity", "slots", "occupied", "parts", "idle", "blocked", "area", "last", "area0",
                 "watch", "free_on_take", "consumer", "priority", "line_exit")

    def __init__(self, env: simpy.Environment, name: str, capacity: int, downstream_servers: int,
                 free_on_take: bool = False) -> None:
        self.env = env
        self.name = name
        self.capacity = capacity
        self.slots = capacity + downstream_servers
        self.occupied = 0
        self.parts: deque[Part] = deque()
        self.idle: deque[Event] = deque()  # downstream servers waiting for a part
        self.blocked: deque[tuple[Event, Part, int]] = deque()  # upstream holders of a finished part, their priority
        self.watch: list[Event] = []  # kit consumers and vehicles waiting for arrivals
        self.free_on_take = free_on_take
        self.consumer: Any = None  # the station or transport that takes parts out of it
        self.priority = 1  # its consumer's event priority
        self.line_exit = False  # parts entering it leave their line (it feeds another line or a transport)
        self.area = 0.0
        self.last = 0.0
        self.area0 = 0.0

    def integrate(self) -> None:
        now = self.env.now
        self.area += len(self.parts) * (now - self.last)
        self.last = now

    def take(self) -> Part | None:
        if self.parts:
            self.integrate()
            return self.parts.popleft()
        return None

    def take_freeing(self) -> Part:
        """Take a waiting part for a kit or a batch: its place is free again at once."""
        self.integrate()
        part = self.parts.popleft()
        self.depart()
        return part

    def wait(self) -> Event:
        ev = Event(self.env)
        self.idle.append(ev)
        return ev

    def _admit(self, part: Part) -> None:
        self.occupied += 1
        if self.idle:
            _fire(self.idle.popleft(), part, self.priority)
        else:
            self.integrate()
            self.parts.append(part)
            if self.watch:
                self._wake()

    def _wake(self) -> None:
        for ev in self.watch:
            if not ev.triggered:
                _fire(ev, None, self.priority)
        self.watch.clear()

    def offer(self, part: Part, priority: int) -> Event | None:
        """Hand a finished part on; None if it went at once, else the event of its leaving (blocked till then)."""
        if self.occupied < self.slots:
            self._admit(part)
            return None
        ev = Event(self.env)
        self.blocked.append((ev, part, priority))
        if self.watch:  # a conveyor's hook can take a part straight from the machine before it (no buffer)
            self._wake()
        return ev

    def depart(self) -> None:
        """A part left the downstream station (or a kit took it): its slot goes to the first blocked part, if any."""
        self.occupied -= 1
        if self.blocked:
            ev, part, priority = self.blocked.popleft()
            self._admit(part)
            _fire(ev, None, priority)


class _DownSchedule:
    """Calendar-based failures of one server: down intervals [F, R) on its working clock, made as needed."""

    __slots__ = ("ttf", "ttr", "w0", "w_end", "intervals", "last_r", "down")

    def __init__(self, ttf: Sampler, ttr: Sampler, w0: float, w_end: float) -> None:
        self.ttf = ttf
        self.ttr = ttr
        self.w0 = w0
        self.w_end = w_end
        self.intervals: deque[tuple[float, float]] = deque()
        self.last_r = 0.0
        self.down = 0.0  # down time inside the window, counted when an interval is made

    def _grow(self) -> None:
        f = self.last_r + self.ttf()
        r = f + self.ttr()
        self.intervals.append((f, r))
        self.last_r = r
        lo, hi = max(f, self.w0), min(r, self.w_end)
        if hi > lo:
            self.down += hi - lo

    def _covering(self, a: float, b: float) -> None:
        """Drop intervals over before a; make sure every interval starting at or before b is known."""
        while self.intervals and self.intervals[0][1] <= a:
            self.intervals.popleft()
        while not self.intervals or self.intervals[-1][0] <= b:
            self._grow()

    def advance(self, t: float, work: float) -> float:
        """Working-clock time at which `work` seconds of processing started at t are done, skipping down time."""
        self._covering(t, t)
        i = 0
        while True:
            if i == len(self.intervals):
                self._grow()
            f, r = self.intervals[i]
            if t < f:
                if t + work <= f:
                    return t + work
                work -= f - t
            if r > t:
                t = r
            i += 1

    def pieces(self, a: float, b: float) -> list[tuple[float, float, bool]]:
        """[a, b) cut into pieces, each flagged True where the server was down."""
        self._covering(a, b)
        out: list[tuple[float, float, bool]] = []
        t = a
        for f, r in self.intervals:
            if f >= b:
                break
            if r <= t:
                continue
            if f > t:
                out.append((t, f, False))
                t = f
            hi = min(r, b)
            out.append((t, hi, True))
            t = hi
        if t < b:
            out.append((t, b, False))
        return out

    def finish(self, w_end: float) -> None:
        """End the run at w_end: make the intervals up to it, and un-count down time after it."""
        for f, r in self.intervals:
            lo, hi = max(f, w_end, self.w0), min(r, self.w_end)
            if hi > lo:
                self.down -= hi - lo
        self.w_end = w_end
        self._covering(-math.inf, w_end)


class _Station:
    __slots__ = ("spec", "index", "line", "servers", "cycle", "ttf", "ttr", "basis", "scrap", "inlink", "outlink",
                 "to_working", "to_calendar", "w0", "w_end", "working", "down", "blocked", "operations", "units",
                 "feeds", "feed_names", "kit_qty", "scales", "starved_by", "n_active", "period_start",
                 "period_end", "pending_end", "priority", "kind", "places", "supplies", "loader")

    def __init__(self, spec: StationSpec, index: int, line: _LineState) -> None:
        self.spec = spec
        self.index = index
        self.line = line
        self.servers = spec.servers
        self.working = 0.0
        self.down = 0.0
        self.blocked = 0.0
        self.operations = 0
        self.inlink: _Link | None = None
        self.outlink: _Link | None = None
        self.ttf: Sampler | None = None
        self.ttr: Sampler | None = None
        self.basis = spec.failure_basis
        self.scrap: Bernoulli | None = None
        self.to_working: Callable[[float], float] | None = None
        self.to_calendar: Callable[[float], float] | None = None
        self.units: list[_Server] = []
        self.feeds: list[_Link] = []  # feeder links of an assembly station, in the order of its inputs
        self.feed_names: list[str] = []
        self.kit_qty: list[list[int]] = []  # per variant, the quantity taken from each feed
        self.scales: list[float] | None = None  # per variant, cycle time relative to cycle_s
        self.starved_by: list[float] = []  # working-clock time short of: [own upstream, feed 1, feed 2, ...]
        self.n_active = 0  # servers processing (working or under repair mid-part)
        self.period_start = array("d")  # the station's active periods (all servers active), if recorded
        self.period_end = array("d")
        self.pending_end = -math.inf  # end of the last active period, until it is certain the period is over
        self.priority = 1  # event priority: smaller downstream (see DesSimulation._priorities)
        self.kind = spec.kind
        # places a server offers the link before it: a furnace holds a batch; a chain's hooks are not slots (its
        # link frees a place when a hook takes the part)
        self.places = {"batch": spec.batch_max or 1, "conveyor": 0}.get(spec.kind, 1)
        self.supplies: list[Any] = []  # external sources of its inputs (twin.engine.des_supply)
        self.loader: Any = None  # batch: which furnace loads now (twin.engine.des_batch)


class _Transport:
    """The vehicles of one transport link and what they measured."""

    __slots__ = ("spec", "index", "dock", "stock", "lead", "back", "states", "delivered", "trips", "next_tick",
                 "priority")

    def __init__(self, spec: TransportSpec, index: int) -> None:
        self.spec = spec
        self.index = index
        self.dock: _Link | None = None
        self.stock: _Link | None = None
        self.states = [0.0, 0.0, 0.0, 0.0]  # vehicle-seconds in the window, per state
        self.delivered = 0
        self.trips = 0
        self.next_tick = 0.0
        self.priority = 1


class _Mix:
    """The launch sequence of a line's variants: random by share from its own stream, or a cyclic pattern."""

    __slots__ = ("cum", "pattern", "pos", "draw")

    def __init__(self, spec: MixSpec, rng: np.random.Generator) -> None:
        names = [v.name for v in spec.variants]
        shares = np.array([v.share for v in spec.variants], dtype=float)
        self.cum = (np.cumsum(shares) / shares.sum()).tolist()
        self.pattern = [names.index(n) for n in spec.pattern] if spec.sequence == "cyclic" and spec.pattern else None
        self.pos = 0
        self.draw = Bernoulli(rng, 0.0)

    def next(self) -> int:
        if self.pattern is not None:
            v = self.pattern[self.pos % len(self.pattern)]
            self.pos += 1
            return v
        u = self.draw.uniform()
        return min(bisect_right(self.cum, u), len(self.cum) - 1)


class _Server:
    __slots__ = ("station", "unit", "state", "since", "work", "end", "plan", "ttf_left", "schedule", "pending",
                 "short", "short_since", "retired")

    def __init__(self, station: _Station, unit: int) -> None:
        self.station = station
        self.unit = unit
        self.state = _IDLE
        self.since = 0.0  # working-clock start of the current segment
        self.work = 0.0
        self.end = 0.0
        self.plan: list[tuple[float, float]] | None = None  # (work, repair) chunks of a part hit by failures
        self.ttf_left = 0.0
        self.schedule: _DownSchedule | None = None
        self.pending: int | None = None  # variant of the part an assembly first station will release next
        self.short: list[int] = []  # while an assembly server waits: the inputs it is short of
        self.short_since = 0.0
        self.retired = False  # a live run took it away: it stops once it has handed on its part


class _Tracer:
    __slots__ = ("unit", "state", "start", "end", "exit_line", "exit_s")

    def __init__(self) -> None:
        self.exit_line = array("i")
        self.exit_s = array("d")
        self.unit = array("i")
        self.state = array("b")
        self.start = array("d")
        self.end = array("d")

    def add(self, unit: int, state: int, start: float, end: float) -> None:
        if end > start:
            self.unit.append(unit)
            self.state.append(state)
            self.start.append(start)
            self.end.append(end)


class DesSimulation:
    """One replication of a scenario on SimPy. Build, `run()`, read the result; not meant to be subclassed."""

    def __init__(self, scenario: Scenario, config: RunConfig) -> None:
        self.scenario = scenario
        self.config = config
        self.env = simpy.Environment()
        self.tracer = _Tracer() if config.trace else None
        self.lines: list[_LineState] = []
        self.stations: list[_Station] = []
        self.links: list[_Link] = []
        self.servers: list[_Server] = []
        self.transports: list[_Transport] = []
        self.vehicles: list[tuple[_Transport, list[Any]]] = []
        self._build()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        cfg = self.config
        spec = self.scenario.spec
        by_line: dict[str, list[_Station]] = {}
        for line_spec in spec.lines:
            line = _LineState(line_spec.name, len(self.lines), self.env, cfg.warmup_s, self.tracer)
            self.lines.append(line)
            calendar = Calendar.from_spec(line_spec.calendar or spec.calendar)
            previous: _Station | None = None
            by_line[line_spec.name] = []
            for st_spec in line_spec.stations:
                st = _Station(st_spec, len(self.stations), line)
                self.stations.append(st)
                by_line[line_spec.name].append(st)
                if not calendar.always_on:
                    st.to_working = calendar.to_working
                    st.to_calendar = calendar.to_calendar
                st.w0 = calendar.to_working(cfg.warmup_s)
                st.w_end = calendar.to_working(cfg.horizon_s)
                self._streams(st, line_spec.name)
                if previous is not None:
                    link = _Link(self.env, f"{line_spec.name}/{previous.spec.name}", previous.spec.buffer,
                                 st.servers * st.places, free_on_take=st.kind == "conveyor")
                    link.consumer = st
                    previous.outlink = link
                    st.inlink = link
                    self.links.append(link)
                for _ in range(st.servers):
                    server = _Server(st, len(self.servers))
                    self.servers.append(server)
                    st.units.append(server)
                previous = st
        self._wire(by_line)
        self._priorities()
        for server in self.servers:
            st = server.station
            if st.ttf is not None and st.ttr is not None:
                if st.basis == "busy":
                    server.ttf_left = st.ttf()
                else:
                    server.schedule = _DownSchedule(st.ttf, st.ttr, st.w0, st.w_end)
            self.env.process(self._serve(server))
        for tr in self.transports:
            for _ in range(tr.spec.vehicles):
                self.env.process(self._vehicle(tr))
        if cfg.warmup_s > 0:
            self.env.process(self._warmup())
        if cfg.stop_after_parts is not None:
            stop = Event(self.env)
            for line in self.lines:
                line.stop = stop
                line.stop_after = cfg.stop_after_parts
            self._stop: Event | None = stop
        else:
            self._stop = None

    def _wire(self, by_line: dict[str, list[_Station]]) -> None:
        """Connect feeder lines and transports to the assembly stations that consume them; set up the mix."""
        spec = self.scenario.spec
        cfg = self.config
        line_index = {ln.name: i for i, ln in enumerate(spec.lines)}
        transports = {t.name: t for t in spec.transports}
        for spec_t in spec.transports:
            tr = _Transport(spec_t, len(self.transports))
            self.transports.append(tr)
            draw = unit_draw(spec_t.dist, spec_t.cv)
            rng = stream(cfg.seed, cfg.replication, "__transport__", spec_t.name, "travel")
            tr.lead = Sampler(rng, draw, spec_t.lead_s)
            tr.back = Sampler(stream(cfg.seed, cfg.replication, "__transport__", spec_t.name, "repair"), draw,
                              spec_t.return_s if spec_t.return_s is not None else spec_t.lead_s)
            sources = names_of(spec_t.source)
            dock = _Link(self.env, f"{'+'.join(sources)}->{spec_t.name}", spec_t.dock or spec_t.batch, 0,
                         free_on_take=True)
            tr.dock = dock
            dock.consumer = tr
            self.links.append(dock)
            for source in sources:
                self._feeder_exit(by_line[source][-1], dock)
        mix = spec.mix
        variants = mix.variants if mix is not None else []
        for line_spec in spec.lines:
            for st_spec, st in zip(line_spec.stations, by_line[line_spec.name]):
                in_mix = mix is not None and mix.line == line_spec.name
                if in_mix and any(st_spec.name in v.cycle_s for v in variants):
                    base = st.cycle.mean
                    st.scales = [v.cycle_s.get(st_spec.name, base) / base for v in variants]
                if not st_spec.inputs:
                    continue
                st.starved_by = [0.0] * (1 + len(st_spec.inputs))
                for inp in st_spec.inputs:
                    stock = inp.stock if inp.stock is not None else inp.qty
                    sources = names_of(inp.source)
                    name = "+".join(sources)
                    link = _Link(self.env, f"{name}->{line_spec.name}/{st_spec.name}", stock, 0, free_on_take=True)
                    link.consumer = st
                    self.links.append(link)
                    st.feeds.append(link)
                    st.feed_names.append(name)
                    if name in transports:
                        self.transports[[t.spec.name for t in self.transports].index(name)].stock = link
                    else:
                        for source in sources:
                            self._feeder_exit(by_line[source][-1], link)
                from twin.engine.des_supply import Supply  # it imports this module

                for k, inp in enumerate(st_spec.inputs):
                    if inp.external is not None:
                        st.supplies.append(Supply(self, st, k, st.feed_names[k], inp))
                st.starved_by += [0.0] * len(st.supplies)
                quantities = [inp.qty for inp in st_spec.inputs]
                if in_mix:
                    st.kit_qty = [[v.bom.get(name, inp.qty) for name, inp in zip(st.feed_names, st_spec.inputs)]
                                  for v in variants]
                else:
                    st.kit_qty = [quantities]
        if mix is not None:
            line = self.lines[line_index[mix.line]]
            line.mix = _Mix(mix, stream(cfg.seed, cfg.replication, mix.line, "__mix__", "mix"))

    def _priorities(self) -> None:
        """Event priorities: at one instant, events of stations nearer the end of the flow come first.

        Simultaneous events are common with deterministic times; their order decides which of two parts finishing
        at once moves on first, and so which server, part and draw go together. The rule "downstream first" (a place
        freed downstream at time t is free for a part finishing upstream at t) is the one the flow engine applies
        too, so both engines break ties alike. Priority = 1 + the number of hops to the end of the flow, scaled so
        that the last stations of lines sharing one dock rank among themselves in the transport's order of its
        lines (parts offered to the dock at one instant go in that order, in both engines).
        """
        memo: dict[int, int] = {}
        scale = max([len(names_of(tr.spec.source)) for tr in self.transports] + [1])
        rank: dict[int, int] = {}
        for tr in self.transports:
            sources = names_of(tr.spec.source)
            if len(sources) > 1:
                for r, name in enumerate(sources):
                    last = [st for st in self.stations if st.line.name == name][-1]
                    rank[id(last)] = r

        def hops(node: Any) -> int:
            key = id(node)
            if key not in memo:
                link = node.outlink if isinstance(node, _Station) else node.stock
                memo[key] = 0 if link is None or link.consumer is None else 1 + hops(link.consumer)
            return memo[key]

        for st in self.stations:
            st.priority = scale * (1 + hops(st)) + rank.get(id(st), 0)
        for tr in self.transports:
            tr.priority = scale * (1 + hops(tr))
        for link in self.links:
            if link.consumer is not None:
                link.priority = link.consumer.priority

    def _feeder_exit(self, last: _Station, link: _Link) -> None:
        last.outlink = link
        link.line_exit = True
        last.line.terminal = False

    def _streams(self, st: _Station, line_name: str) -> None:
        cfg = self.config
        sp = st.spec

        def rng(purpose: str) -> np.random.Generator:
            return stream(cfg.seed, cfg.replication, line_name, sp.name, purpose)

        samples = self.scenario.samples.get((line_name, sp.name))
        mean = sp.cycle_s if sp.cycle_s is not None else float(np.mean(samples))  # type: ignore[arg-type]
        st.cycle = Sampler(rng("process"), unit_draw(sp.dist, sp.cv, samples), mean)
        if cfg.failures and sp.mtbf_s is not None and sp.mttr_s is not None:
            st.ttf = Sampler(rng("failure"), unit_draw(sp.ttf_dist, sp.ttf_cv), sp.mtbf_s)
            st.ttr = Sampler(rng("repair"), unit_draw(sp.ttr_dist, sp.ttr_cv), sp.mttr_s)
        if cfg.failures and sp.scrap > 0:
            st.scrap = Bernoulli(rng("scrap"), sp.scrap)

    # ------------------------------------------------------------------ the server process
    def _serve(self, server: _Server) -> Generator[Event, Any, None]:
        st = server.station
        if st.kind == "batch":
            from twin.engine.des_batch import serve_batch  # its own module, which imports this one

            yield from serve_batch(self, server)
            return
        if st.kind == "conveyor":
            from twin.engine.des_conveyor import run_conveyor

            yield from run_conveyor(self, server)
            return
        env = self.env
        priority = st.priority
        line = st.line
        inlink, outlink = st.inlink, st.outlink
        cycle = st.cycle
        to_w, to_cal = st.to_working, st.to_calendar
        ttf, ttr = (st.ttf, st.ttr) if server.schedule is None else (None, None)
        schedule = server.schedule
        scrap = st.scrap
        w0 = st.w0
        tracer = self.tracer
        unit = server.unit
        kit = bool(st.feeds)
        record = self.config.active_periods
        servers = st.servers
        scales = st.scales
        exits_line = outlink is not None and outlink.line_exit  # the last station of a feeder line
        while not server.retired:
            # -- take a part (the first station releases a new one; an assembly station gathers its kit)
            if kit:
                part = yield from self._gather(server)
            elif inlink is None:
                part = line.release(env.now)
            else:
                part = inlink.take()  # type: ignore[assignment]
                if part is None:
                    server.state = _IDLE
                    part = yield inlink.wait()
            now = env.now
            start = now if to_w is None else to_w(now)
            if tracer is not None:
                self._trace_wait(server, STARVED, server.since, start)
            # -- process it
            work = cycle() if scales is None else cycle() * scales[part[1]]
            plan = None
            if ttf is not None:
                end, plan = self._crossing(server, start, work)
            elif schedule is not None:
                end = schedule.advance(start, work)
            else:
                end = start + work
            server.state = _BUSY
            server.since = start
            server.work = work
            server.end = end
            server.plan = plan
            if record:  # inline: this runs twice per part. A period's end is kept pending until the station is
                st.n_active += 1  # active again: at the same instant (up to the clock's rounding) it goes on.
                if st.n_active == servers and start - st.pending_end > 1e-9 * (start if start > 1.0 else 1.0):
                    if st.period_start:
                        st.period_end.append(st.pending_end)
                    st.period_start.append(start)
            if to_cal is None:
                yield _Timeout(env, end - now, priority)
            else:
                yield _Timeout(env, max(to_cal(end) - now, 0.0), priority)
            if record:
                if st.n_active == servers:
                    st.pending_end = end
                st.n_active -= 1
            st.operations += 1
            if start >= w0 and plan is None and schedule is None:
                st.working += work
                if tracer is not None:
                    tracer.add(unit, WORKING, start, end)
            else:
                self._account_busy(server, end)
            server.since = end
            server.state = _IDLE
            # -- scrap, or hand it on
            if scrap is not None and scrap():
                line.scrap(env.now)
            elif outlink is None:
                line.finish(part, env.now)
            else:
                leaving = outlink.offer(part, priority)
                if leaving is not None:
                    server.state = _BLOCKED
                    yield leaving
                    now = env.now
                    released = now if to_w is None else to_w(now)
                    self._account_blocked(server, released)
                    server.since = released
                    server.state = _IDLE
                if exits_line:
                    line.finish(part, env.now)
            if inlink is not None:
                inlink.depart()

    def _crossing(self, server: _Server, start: float, work: float) -> tuple[float, list[tuple[float, float]] | None]:
        """Busy-based failures: the end of `work` seconds started at `start`, and the (work, repair) chunks of the
        failures it crossed (None if none)."""
        st = server.station
        ttf, ttr = st.ttf, st.ttr
        left = server.ttf_left  # infinite when a live run switched failures off
        if left >= work:  # a failure due exactly at completion strikes at the next start
            server.ttf_left = left - work
            return start + work, None
        plan = []
        rest = work
        total = work
        while left < rest:
            repair = ttr()  # type: ignore[misc]
            plan.append((left, repair))
            rest -= left
            total += repair
            left = ttf()  # type: ignore[misc]
        server.ttf_left = left - rest
        plan.append((rest, 0.0))
        return start + total, plan

    def _gather(self, server: _Server) -> Generator[Event, Any, Part]:
        """Wait until the station's own part and every feeder's quantity are there, then take them all at once.

        Taking the whole kit in one step (never a partial kit) keeps parallel servers from each holding half a
        kit. While it waits, the time counts as starved, and against every input that is short.
        """
        env = self.env
        st = server.station
        line = st.line
        main, feeds = st.inlink, st.feeds
        to_w = st.to_working
        while True:
            if main is None:
                if server.pending is None:
                    server.pending = line.next_variant()
                variant = server.pending
            else:
                variant = main.parts[0][1] if main.parts else -1
            qty = st.kit_qty[variant] if variant >= 0 and len(st.kit_qty) > 1 else st.kit_qty[0]
            if st.supplies:  # external sources: each such input's units split between local and external stocks
                from twin.engine.des_supply import split_kit

                qty = split_kit(st.supplies, qty)
            short = [] if variant >= 0 else [0]
            for k, link in enumerate(feeds):
                if len(link.parts) < qty[k]:
                    short.append(k + 1)
            if not short:
                break
            ev = Event(env)
            watched = [main if k == 0 else feeds[k - 1] for k in short]
            for link in watched:
                link.watch.append(ev)  # type: ignore[union-attr]
            server.state = _IDLE
            a = env.now if to_w is None else to_w(env.now)
            server.short, server.short_since = short, a
            yield ev
            server.short = []
            b = env.now if to_w is None else to_w(env.now)
            for link in watched:
                if ev in link.watch:  # type: ignore[union-attr]
                    link.watch.remove(ev)  # type: ignore[union-attr]
            lo, hi = max(a, st.w0), min(b, st.w_end)
            if hi > lo:
                for k in short:
                    st.starved_by[k] += hi - lo
        if main is None:
            part = line.release(env.now, server.pending)
            server.pending = None
        else:
            part = main.take()  # type: ignore[assignment]
        for k, link in enumerate(feeds):
            for _ in range(qty[k]):
                link.take_freeing()
        for supply in st.supplies:
            supply.taken(qty[supply.local], qty[supply.feed])
        return part  # type: ignore[return-value]

    def _vehicle(self, tr: _Transport) -> Generator[Event, Any, None]:
        """One vehicle: wait at the dock for a load, drive it over, unload as the stock has room, drive back."""
        env = self.env
        dock, stock = tr.dock, tr.stock
        assert dock is not None and stock is not None
        batch, every = tr.spec.batch, tr.spec.every_s
        me = [3, 0.0, 0]  # state index into VEHICLE_STATES, since, parts on board
        self.vehicles.append((tr, me))
        while True:
            if every is None:
                while len(dock.parts) < batch:
                    ev = Event(env)
                    dock.watch.append(ev)
                    yield ev
            else:
                while True:  # departures on a timetable every `every` s, one vehicle a departure
                    tick = max(tr.next_tick, math.ceil(env.now / every) * every)
                    tr.next_tick = tick + every
                    yield _Timeout(env, tick - env.now, tr.priority)
                    if dock.parts:
                        break
            load = [dock.take_freeing() for _ in range(min(batch, len(dock.parts)))]
            me[2] = len(load)
            self._vehicle_state(tr, me, 0)
            tr.trips += 1
            yield _Timeout(env, tr.lead(), tr.priority)
            self._vehicle_state(tr, me, 1)
            for part in load:
                leaving = stock.offer(part, tr.priority)
                if leaving is not None:
                    yield leaving
                me[2] -= 1
                if env.now >= self.config.warmup_s:
                    tr.delivered += 1
            self._vehicle_state(tr, me, 2)
            yield _Timeout(env, tr.back(), tr.priority)
            self._vehicle_state(tr, me, 3)

    def _vehicle_state(self, tr: _Transport, me: list[Any], state: int) -> None:
        now = self.env.now
        lo, hi = max(me[1], self.config.warmup_s), min(now, self.config.horizon_s)
        if hi > lo:
            tr.states[me[0]] += hi - lo
        me[0], me[1] = state, now

    # ------------------------------------------------------------------ accounting
    def _account_busy(self, server: _Server, upto: float) -> None:
        """Add the busy segment [since, upto) of a server, clipped to the window, split into work and repair."""
        st = server.station
        w0, w_end = st.w0, st.w_end
        tracer = self.tracer
        if server.schedule is not None:
            pieces = server.schedule.pieces(server.since, upto)
            for a, b, is_down in pieces:
                if not is_down:
                    lo, hi = max(a, w0), min(b, w_end)
                    if hi > lo:
                        st.working += hi - lo
                if tracer is not None:
                    tracer.add(server.unit, DOWN if is_down else WORKING, a, b)
            return
        t = server.since
        chunks = server.plan if server.plan is not None else [(server.work, 0.0)]
        for work, repair in chunks:
            for length, is_down in ((work, False), (repair, True)):
                a, b = t, min(t + length, upto)
                if b <= a:
                    t += length
                    continue
                lo, hi = max(a, w0), min(b, w_end)
                if hi > lo:
                    if is_down:
                        st.down += hi - lo
                    else:
                        st.working += hi - lo
                if tracer is not None:
                    tracer.add(server.unit, DOWN if is_down else WORKING, a, b)
                t += length

    def _account_blocked(self, server: _Server, upto: float) -> None:
        st = server.station
        a, b = server.since, upto
        if server.schedule is not None:
            for x, y, is_down in server.schedule.pieces(a, b):
                if not is_down:
                    lo, hi = max(x, st.w0), min(y, st.w_end)
                    if hi > lo:
                        st.blocked += hi - lo
                if self.tracer is not None:
                    self.tracer.add(server.unit, DOWN if is_down else BLOCKED, x, y)
            return
        lo, hi = max(a, st.w0), min(b, st.w_end)
        if hi > lo:
            st.blocked += hi - lo
        if self.tracer is not None:
            self.tracer.add(server.unit, BLOCKED, a, b)

    def _trace_wait(self, server: _Server, state: int, a: float, b: float) -> None:
        assert self.tracer is not None
        if server.schedule is not None:
            for x, y, is_down in server.schedule.pieces(a, b):
                self.tracer.add(server.unit, DOWN if is_down else state, x, y)
        else:
            self.tracer.add(server.unit, state, a, b)

    def _warmup(self) -> Generator[Event, Any, None]:
        yield self.env.timeout(self.config.warmup_s)
        now = self.env.now
        for line in self.lines:
            line._integrate(now)
            line.wip_area0 = line.wip_area
        for link in self.links:
            link.integrate()
            link.area0 = link.area

    # ------------------------------------------------------------------ running
    def run(self) -> ReplicationResult:
        cfg = self.config
        if self._stop is not None:
            self.env.run(until=simpy.AnyOf(self.env, [self._stop, self.env.timeout(cfg.horizon_s)]))
            if self._stop.triggered and self.env.now < cfg.horizon_s:
                # The run is measured up to and including the instant the last part left: what else happens at
                # that instant happens too, whatever order the event queue holds it in.
                while self.env.peek() <= self.env.now:
                    self.env.step()
        else:
            self.env.run(until=cfg.horizon_s)
        end_s = min(self.env.now, cfg.horizon_s) if self._stop is not None else cfg.horizon_s
        # Nothing left to happen, ever: no server is processing and no vehicle is on the road or on a timetable, so
        # every process waits for an event no one will trigger. SimPy jumped to the horizon (no hang): say who is
        # stuck.
        moving = any(s.state == _BUSY for s in self.servers) or any(
            me[0] in (0, 2) or (me[0] == 3 and tr.spec.every_s is not None) for tr, me in self.vehicles)
        return self._result(end_s, None if moving else self._stuck())

    def _stuck(self) -> tuple[str, ...]:
        names = []
        for st in self.stations:
            label = f"{st.line.name}/{st.spec.name}"
            states = {s.state for s in st.units}
            shorts = sorted({k for s in st.units for k in s.short})
            if _BLOCKED in states:
                names.append(f"{label} (blocked)")
            elif shorts:
                inputs = ["own upstream" if k == 0 else st.feed_names[k - 1] for k in shorts]
                names.append(f"{label} (waiting for {', '.join(inputs)})")
        for tr, me in self.vehicles:
            if me[0] == 1:
                names.append(f"transport {tr.spec.name} (cannot unload)")
        return tuple(dict.fromkeys(names))

    def _close(self, end_s: float) -> None:
        """Account the segments still open when the run ends."""
        for server in self.servers:
            st = server.station
            w_end = st.w_end = end_s if st.to_working is None else st.to_working(end_s)
            if server.schedule is not None:
                server.schedule.finish(w_end)
            if server.state == _BUSY:
                self._account_busy(server, min(server.end, w_end))
            elif server.state == _BLOCKED:
                self._account_blocked(server, w_end)
            elif self.tracer is not None:
                self._trace_wait(server, STARVED, server.since, w_end)
            if server.short:
                lo, hi = max(server.short_since, st.w0), w_end
                for k in server.short:
                    if hi > lo:
                        st.starved_by[k] += hi - lo
        for tr, me in self.vehicles:
            self._vehicle_state(tr, me, me[0])

    def _result(self, end_s: float, stuck: tuple[str, ...] | None = None) -> ReplicationResult:
        cfg = self.config
        self._close(end_s)
        window = end_s - cfg.warmup_s
        if window <= 0:
            raise ValueError(f"the run ended at {end_s:g} s, before the warm-up of {cfg.warmup_s:g} s was over")
        shares = np.zeros((len(self.stations), 5))
        for st in self.stations:
            down = st.down + sum(s.schedule.down for s in st.units if s.schedule is not None)
            shares[st.index] = state_shares(st.working, st.blocked, down, window, st.w_end - st.w0, st.servers)
        for line in self.lines:
            line._integrate(end_s)
        for link in self.links:
            link.integrate()
        line_first = {}
        for st in self.stations:
            line_first.setdefault(st.line.name, st)
        finished = np.array([ln.finished_window for ln in self.lines], dtype=float)
        lead = np.array([ln.lead_sum / ln.finished_window if ln.finished_window else np.nan for ln in self.lines])
        trace = None
        if self.tracer is not None:
            tr = self.tracer
            trace = Trace(
                unit=np.array(tr.unit, dtype=np.int32),
                state=np.array(tr.state, dtype=np.int8),
                start_s=np.array(tr.start, dtype=np.float64),
                end_s=np.array(tr.end, dtype=np.float64),
                unit_station=np.array([s.station.index for s in self.servers], dtype=np.int32),
                exit_line=np.array(tr.exit_line, dtype=np.int32),
                exit_s=np.array(tr.exit_s, dtype=np.float64),
            )
        return ReplicationResult(
            replication=cfg.replication,
            seed=cfg.seed,
            warmup_s=cfg.warmup_s,
            end_s=end_s,
            station_names=tuple(st.spec.name for st in self.stations),
            station_lines=tuple(st.line.name for st in self.stations),
            station_servers=tuple(st.servers for st in self.stations),
            shares=shares,
            line_names=tuple(ln.name for ln in self.lines),
            line_finished=finished,
            line_working_s=np.array([line_first[ln.name].w_end - line_first[ln.name].w0 for ln in self.lines]),
            line_wip=np.array([(ln.wip_area - ln.wip_area0) / window for ln in self.lines]),
            line_lead_time_s=lead,
            line_released=np.array([ln.released for ln in self.lines]),
            line_finished_total=np.array([ln.finished for ln in self.lines]),
            line_scrapped=np.array([ln.scrapped for ln in self.lines]),
            line_in_process=np.array([ln.wip for ln in self.lines]),
            buffer_names=tuple(link.name for link in self.links),
            buffer_capacity=np.array([link.capacity for link in self.links]),
            buffer_level=np.array([(link.area - link.area0) / window for link in self.links]),
            station_operations=sum(st.operations for st in self.stations),
            trace=trace,
            line_terminal=tuple(ln.terminal for ln in self.lines),
            line_daily=_daily([ln.daily for ln in self.lines], end_s),
            starved_by=tuple(
                {("upstream" if k == 0 else st.feed_names[k - 1]): t / (window * st.servers)
                 for k, t in enumerate(st.starved_by) if k > 0 or st.inlink is not None}
                for st in self.stations),
            transport_names=tuple(tr.spec.name for tr in self.transports),
            transport_shares=np.array([[t / (window * tr.spec.vehicles) for t in tr.states] for tr in self.transports]
                                      ).reshape(len(self.transports), 4),
            transport_delivered=np.array([tr.delivered for tr in self.transports], dtype=float),
            deadlock=stuck,
            active_periods=self._periods() if cfg.active_periods else None,
        )

    def _periods(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        out = []
        for st in self.stations:
            start, end = np.array(st.period_start, dtype=float), np.array(st.period_end, dtype=float)
            if len(end) < len(start):  # the last period: still active at the end of the run, or over at pending_end
                end = np.append(end, st.w_end if st.n_active == st.servers else st.pending_end)
            out.append((start, end))
        return tuple(out)


def simulate(scenario: Scenario, config: RunConfig) -> ReplicationResult:
    """Run one replication of `scenario` on the SimPy engine."""
    return DesSimulation(scenario, config).run()


def _daily(counts: list[list[int]], end_s: float) -> np.ndarray:
    """Per line the parts finished each calendar day, as one (lines, days) array covering [0, end_s]."""
    days = int(end_s // 86_400.0) + 1
    out = np.zeros((len(counts), days), dtype=np.int64)
    for i, row in enumerate(counts):
        n = min(len(row), days)
        out[i, :n] = row[:n]
    return out
