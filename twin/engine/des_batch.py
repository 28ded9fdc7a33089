"""Batch stations on the SimPy engine: a furnace, curing oven or impregnation carousel that holds many parts at once.

A station of kind "batch" has `servers` furnaces of `batch_max` places each. One furnace at a time loads (the
others wait their turn, so parts are not spread over several half-full furnaces); it takes the parts waiting
before it, one by one as they come, and starts when
- it holds `batch_max` parts (the "full" rule), or
- `max_wait_s` has passed on the working clock since its first part was loaded and it holds at least `batch_min`
  (default 1); with fewer, it starts the moment the `batch_min`-th part comes.
A part that arrives at the instant the wait runs out is loaded first: the deadline is an event of the lowest
priority, after everything else at that instant.

The hold (`cycle_s`, one draw per batch from the station's process stream) runs like a part's processing: on the
working clock (off-shift pauses it), with busy-based or calendar-based failures. Then the parts leave one by one,
in the order they were loaded, into the next buffer (blocking after service: the furnace is blocked until the last
one has left; scrap is drawn per part). A furnace's places in the link before it are taken while it holds a batch
(the empty places of a partial batch too: the door is shut) and freed when it is empty again, so the buffer before
it holds exactly `buffer` waiting parts. A batch station first in its line releases a full batch
whenever a furnace is free (never starved).

States: loading counts as starved, holding as working (down under repair), waiting to unload as blocked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from simpy.events import Event

from twin.engine.des import _BLOCKED, _BUSY, _IDLE, Part, _fire, _Timeout
from twin.engine.model import STARVED, WORKING

if TYPE_CHECKING:
    from twin.engine.des import DesSimulation, _Server, _Station

LATE = 1_000_000  # added to a station's priority: a rule's deadline comes after all else at its instant


class _Turn:
    """Which furnace of a station loads now: the others wait in order."""

    __slots__ = ("busy", "queue")

    def __init__(self) -> None:
        self.busy = False
        self.queue: deque[Event] = deque()

    def release(self, priority: int) -> None:
        if self.queue:
            _fire(self.queue.popleft(), None, priority)
        else:
            self.busy = False


def period_open(st: _Station, start: float) -> None:
    """Active-period recording when a server becomes active (see DesSimulation._serve, which inlines it)."""
    st.n_active += 1
    if st.n_active == st.servers and start - st.pending_end > 1e-9 * (start if start > 1.0 else 1.0):
        if st.period_start:
            st.period_end.append(st.pending_end)
        st.period_start.append(start)


def period_close(st: _Station, end: float) -> None:
    if st.n_active == st.servers:
        st.pending_end = end
    st.n_active -= 1


def serve_batch(sim: DesSimulation, server: _Server) -> Generator[Event, Any, None]:
    """One furnace: wait for its turn, load a batch by the rule, hold it, unload it part by part."""
    env = sim.env
    st = server.station
    spec = st.spec
    line = st.line
    inlink, outlink = st.inlink, st.outlink
    to_w, to_cal = st.to_working, st.to_calendar
    priority = st.priority
    tracer = sim.tracer
    record = sim.config.active_periods
    exits_line = outlink is not None and outlink.line_exit
    if st.loader is None:
        st.loader = _Turn()
    turn: _Turn = st.loader
    while not server.retired:
        # -- its turn to load, then a batch by the rule
        if turn.busy:
            ev = Event(env)
            turn.queue.append(ev)
            server.state = _IDLE
            yield ev
        turn.busy = True
        load = yield from _load(sim, server)
        turn.release(priority)
        closed = (spec.batch_max or 1) - len(load)  # a partial batch closes its empty places too
        if inlink is not None:
            inlink.occupied += closed
        # -- hold it
        now = env.now
        start = now if to_w is None else to_w(now)
        if tracer is not None:
            sim._trace_wait(server, STARVED, server.since, start)
        work = st.cycle()
        plan = None
        if server.schedule is not None:
            end = server.schedule.advance(start, work)
        elif st.ttf is not None:
            end, plan = sim._crossing(server, start, work)
        else:
            end = start + work
        server.state = _BUSY
        server.since, server.work, server.end, server.plan = start, work, end, plan
        if record:
            period_open(st, start)
        yield _Timeout(env, end - now if to_cal is None else max(to_cal(end) - now, 0.0), priority)
        if record:
            period_close(st, end)
        st.operations += len(load)
        if start >= st.w0 and plan is None and server.schedule is None:
            st.working += work
            if tracer is not None:
                tracer.add(server.unit, WORKING, start, end)
        else:
            sim._account_busy(server, end)
        server.since = end
        server.state = _IDLE
        # -- unload part by part, in loading order
        for part in load:
            if st.scrap is not None and st.scrap():
                line.scrap(env.now)
                continue
            if outlink is None:
                line.finish(part, env.now)
                continue
            leaving = outlink.offer(part, priority)
            if leaving is not None:
                server.state = _BLOCKED
                yield leaving
                released = env.now if to_w is None else to_w(env.now)
                sim._account_blocked(server, released)
                server.since = released
                server.state = _IDLE
            if exits_line:
                line.finish(part, env.now)
        if inlink is not None:
            for _ in range(len(load) + closed):
                inlink.depart()


def _load(sim: DesSimulation, server: _Server) -> Generator[Event, Any, list[Part]]:
    """Take parts as they come until the rule says start (see the module docstring)."""
    env = sim.env
    st = server.station
    spec = st.spec
    inlink = st.inlink
    n_max = spec.batch_max or 1
    wait_s = spec.max_wait_s
    n_min = (spec.batch_min or 1) if wait_s is not None else n_max
    if inlink is None:  # first in its line: a full batch is released at once
        return [st.line.release(env.now) for _ in range(n_max)]
    load: list[Part] = []
    rule = _Deadline()
    while True:
        while inlink.parts and len(load) < n_max:
            load.append(inlink.take())  # type: ignore[arg-type]
            if wait_s is not None and rule.timer is None:
                rule.arm(sim, st, wait_s)
        if len(load) == n_max or (rule.passed and len(load) >= n_min):
            rule.wake = None
            return load
        wake = Event(env)
        rule.wake = wake
        inlink.watch.append(wake)
        server.state = _IDLE
        yield wake
        if wake in inlink.watch:
            inlink.watch.remove(wake)


class _Deadline:
    """The max-wait rule of one batch: a timer from its first part; when it runs out, the loader is woken."""

    __slots__ = ("timer", "passed", "wake", "priority")

    def __init__(self) -> None:
        self.timer: Event | None = None
        self.passed = False
        self.wake: Event | None = None
        self.priority = LATE

    def arm(self, sim: DesSimulation, st: _Station, wait_s: float) -> None:
        now = sim.env.now
        first = now if st.to_working is None else st.to_working(now)
        due = first + wait_s
        delay = due - now if st.to_calendar is None else max(st.to_calendar(due) - now, 0.0)
        self.priority = LATE + st.priority
        self.timer = _Timeout(sim.env, delay, self.priority)
        self.timer.callbacks.append(self._run_out)

    def _run_out(self, event: Any) -> None:
        self.passed = True
        if self.wake is not None and not self.wake.triggered:
            _fire(self.wake, None, self.priority)
