"""Small builders shared by the tests: a serial line as data, run for one replication."""

from __future__ import annotations

from typing import Any

import twin
from twin.engine.des import simulate
from twin.engine.model import ReplicationResult, RunConfig


def line_data(cycles: list[float], buffers: list[int] | int = 0, *, name: str = "t", line: str = "L",
              calendar: dict[str, Any] | None = None, **station_fields: Any) -> dict[str, Any]:
    """Raw scenario data of one serial line; `station_fields` values may be lists (one per station) or scalars."""
    k = len(cycles)
    bufs = [buffers] * k if isinstance(buffers, int) else list(buffers) + [0] * (k - len(buffers))
    stations = []
    for i, c in enumerate(cycles):
        st: dict[str, Any] = {"name": f"M{i + 1}", "cycle_s": float(c), "buffer": bufs[i]}
        for key, value in station_fields.items():
            v = value[i] if isinstance(value, (list, tuple)) else value
            if v is not None:
                st[key] = v
        stations.append(st)
    data: dict[str, Any] = {"scenario": {"name": name}, "lines": [{"name": line, "stations": stations}]}
    if calendar is not None:
        data["calendar"] = calendar
    return data


def line(cycles: list[float], buffers: list[int] | int = 0, **kw: Any) -> twin.Scenario:
    return twin.from_dict(line_data(cycles, buffers, **kw))


def one_run(scenario: twin.Scenario, horizon_s: float, warmup_s: float = 0.0, seed: int = 0, replication: int = 0,
            trace: bool = False, **kw: Any) -> ReplicationResult:
    return simulate(scenario, RunConfig(horizon_s=horizon_s, warmup_s=warmup_s, seed=seed, replication=replication,
                                        trace=trace, **kw))


def exits(result: ReplicationResult, line: int = 0) -> list[float]:
    """Calendar times at which parts left a line, from the trace's exit log."""
    tr = result.trace
    assert tr is not None, "run with trace=True"
    return [float(t) for t in tr.exit_s[tr.exit_line == line]]


def segments(result: ReplicationResult, station: int) -> list[tuple[str, float, float]]:
    """The trace of one station's servers as (state, start, end), in time order."""
    from twin.engine.model import STATES

    tr = result.trace
    assert tr is not None, "run with trace=True"
    units = {u for u, s in enumerate(tr.unit_station) if s == station}
    rows = [(STATES[int(st)], float(a), float(b)) for u, st, a, b in zip(tr.unit, tr.state, tr.start_s, tr.end_s)
            if int(u) in units]
    return sorted(rows, key=lambda r: (r[1], r[2]))
