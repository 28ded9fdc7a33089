"""Paced conveyors on the SimPy engine: a paint or assembly chain with hooks at a fixed pitch.

A station of kind "conveyor" is one chain. Its hooks pass the load point every `cycle_s` (the pitch) of chain
time, the first at chain time 0; a part waiting there (in the buffer before it, or still on the machine before it
when that buffer is 0) is hung on the next hook that passes — a part arriving at the instant a hook passes takes
it — and reaches the exit `transit_s` of chain time later. A first station releases a part onto every hook (never
starved); a last one hands every part on (never blocked). The chain runs on its line's working clock (off-shift
stops it) and all its events come after everything else at their instant (downstream first, then the chain).

At the exit the part moves into the next buffer if it has room (or to a free server of the next station with
buffer 0). If it has none:
- `stops_when_blocked = true` (the default, an indexing or stop-and-go chain): the whole chain stops, nothing is
  hung and nothing moves, until the part can leave; chain time stands still meanwhile, so every part on it is
  delayed by the stop. This is blocking after service with the chain as the server.
- `stops_when_blocked = false` (a non-stop power chain): the chain runs on and the part rides round the loop on
  its hook, back at the exit one round later, when it tries again; while it is on, its hook passes the load point
  occupied and nothing can be hung on it. No part is lost. The loop has `hooks` hooks, so a round takes
  hooks x cycle_s (a what-if on the pitch changes the chain's speed, rounds included).

States: the chain is working while it carries at least one part, blocked while stopped by its exit, starved while
it runs empty. A chain has no failures, scrap or variant times here (validation refuses them).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from simpy.events import Event

from twin.engine.des import _BLOCKED, _BUSY, _IDLE, Part, _fire, _Timeout
from twin.engine.des_batch import LATE, period_close, period_open
from twin.engine.model import STARVED

if TYPE_CHECKING:
    from twin.engine.des import DesSimulation, _Server


def run_conveyor(sim: DesSimulation, server: _Server) -> Generator[Event, Any, None]:
    """The chain's one process: exits and hooks in chain-time order."""
    env = sim.env
    st = server.station
    spec = st.spec
    line = st.line
    inlink, outlink = st.inlink, st.outlink
    to_w, to_cal = st.to_working, st.to_calendar
    pitch = float(spec.cycle_s)  # type: ignore[arg-type]
    transit = float(spec.transit_s)  # type: ignore[arg-type]
    stops = spec.stops_when_blocked
    hooks = 0 if stops else int(spec.hooks or 1)
    loop = hooks * pitch
    taken_hooks: set[int] = set()  # non-stop chain: hooks carrying a part round the loop
    exits_line = outlink is not None and outlink.line_exit
    late = LATE + st.priority
    record = sim.config.active_periods
    on: list[tuple[float, int, int, Part]] = []  # heap of (exit chain time, order, hook, part)
    order = 0
    k = 0  # the next hook to pass the load point, at chain time k * pitch
    stopped = 0.0  # working-clock seconds the chain stood still; chain time = working time - stopped

    def clock() -> float:
        return env.now if to_w is None else to_w(env.now)

    def state(new: int, w: float) -> None:
        old = server.state
        if old == new:
            return
        if old == _BUSY:
            server.work = w - server.since
            sim._account_busy(server, w)
            if record:
                period_close(st, w)
        elif old == _BLOCKED:
            sim._account_blocked(server, w)
        elif sim.tracer is not None:
            sim._trace_wait(server, STARVED, server.since, w)
        server.state, server.since = new, w
        if new == _BUSY:
            server.work = server.end = math.inf  # open-ended: the run's close accounts it up to the end
            server.plan = None
            if record:
                period_open(st, w)

    def hang() -> Part | None:
        if inlink is None:
            return line.release(env.now)
        if inlink.parts:
            return inlink.take_freeing()
        if inlink.blocked:  # no buffer: straight off the machine before it
            ev, part, priority = inlink.blocked.popleft()
            _fire(ev, None, priority)
            return part
        return None

    while True:
        w = clock()
        m = w - stopped
        eps = 1e-9 * max(1.0, abs(m))
        # -- parts at the exit (before the hook: the exit is downstream)
        while on and on[0][0] <= m + eps:
            exit_m, _, hook, part = heapq.heappop(on)
            if outlink is not None:
                if stops:
                    leaving = outlink.offer(part, st.priority)
                    if leaving is not None:
                        state(_BLOCKED, w)
                        yield leaving
                        now_w = clock()
                        stopped += now_w - w
                        w = now_w
                        state(_BUSY, w)
                elif outlink.occupied < outlink.slots:
                    outlink._admit(part)
                else:
                    heapq.heappush(on, (exit_m + loop, order, hook, part))  # round the loop again
                    order += 1
                    continue
            if outlink is None or exits_line:
                line.finish(part, env.now)
            taken_hooks.discard(hook)
            st.operations += 1
        # -- the hook at the load point
        if k * pitch <= m + eps:
            hook = k % hooks if hooks else k
            if hook not in taken_hooks:
                part = hang()
                if part is not None:
                    heapq.heappush(on, (k * pitch + transit, order, hook, part))
                    order += 1
                    if hooks:
                        taken_hooks.add(hook)
            k += 1
        state(_BUSY if on else _IDLE, w)
        # -- on to the next hook or exit; an empty chain with nothing waiting sleeps until a part comes
        if not on and inlink is not None and not inlink.parts and not inlink.blocked:
            wake = Event(env)
            inlink.watch.append(wake)
            yield wake
            m = clock() - stopped
            k = max(k, math.ceil(m / pitch - 1e-9))
            continue
        next_m = min(k * pitch, on[0][0]) if on else k * pitch
        due = next_m + stopped
        yield _Timeout(env, max((due if to_cal is None else to_cal(due)) - env.now, 0.0), late)
