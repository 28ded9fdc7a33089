"""The active-period method (Roser, Nakano & Tanaka 2001) and shifting bottlenecks (Roser, Nakano & Tanaka 2002).

Definitions (shared/methods.md): a station is *active* while working or down (or in setup), *inactive* while
starved or blocked; off-shift time belongs to neither (times here are on each station's working clock, where it does
not exist). An *active period* is a maximal uninterrupted active interval. At each instant the *momentary
bottleneck* is the station whose active period containing that instant is the longest. Where the active periods of
the previous and the next momentary bottleneck overlap, that overlap is *shifting* bottleneck time for both; the
rest of a station's bottleneck time is *sole*. Periods cut by the observation window are used as they are.

A station with several servers is active only while **all** its servers are active: while one of them idles the
station has spare capacity and cannot be what holds the line back.

Pure functions over arrays. Memory is O(stations + active periods): segments are merged into periods station by
station, and the momentary bottleneck is found station by station over the periods' boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.engine.model import DOWN, WORKING, Trace

ACTIVE_STATES = (WORKING, DOWN)
JOIN_TOLERANCE = 1e-9  # relative: periods closer than this are one


@dataclass(frozen=True)
class ActivePeriods:
    """Active periods of each station: `start[s]`, `end[s]` arrays (sorted, disjoint)."""

    start: tuple[np.ndarray, ...]
    end: tuple[np.ndarray, ...]

    @property
    def stations(self) -> int:
        return len(self.start)

    def mean_length(self) -> np.ndarray:
        """The average active period per station (0 where a station was never active)."""
        return np.array([float(np.mean(e - s)) if len(s) else 0.0 for s, e in zip(self.start, self.end)])


@dataclass(frozen=True)
class ShiftingBottleneck:
    """Per station, the share of the window it was the sole and the shifting bottleneck; and the timeline."""

    sole: np.ndarray
    shifting: np.ndarray
    window_s: float
    timeline_start: np.ndarray  # the momentary bottleneck: from timeline_start[i] to timeline_end[i] it is
    timeline_end: np.ndarray  # timeline_station[i]
    timeline_station: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.sole + self.shifting


def periods_from_segments(station_of_unit: np.ndarray, servers: np.ndarray, unit: np.ndarray, state: np.ndarray,
                          start: np.ndarray, end: np.ndarray, window: tuple[float, float] | None = None
                          ) -> ActivePeriods:
    """Active periods of every station from per-server state segments (the engine's `Trace` arrays).

    `window` (lo, hi) clips the segments to the observation window first.
    """
    active = np.isin(state, ACTIVE_STATES)
    a, b, u = start[active], end[active], unit[active]
    if window is not None:
        lo, hi = window
        a, b = np.maximum(a, lo), np.minimum(b, hi)
        keep = b > a
        a, b, u = a[keep], b[keep], u[keep]
    st = station_of_unit[u]
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    for s in range(len(servers)):
        mask = st == s
        starts_s, ends_s = _all_servers_active(a[mask], b[mask], int(servers[s]))
        starts.append(starts_s)
        ends.append(ends_s)
    return ActivePeriods(tuple(starts), tuple(ends))


def periods_from_trace(trace: Trace, servers: tuple[int, ...] | np.ndarray,
                       window: tuple[float, float] | None = None) -> ActivePeriods:
    return periods_from_segments(trace.unit_station, np.asarray(servers), trace.unit, trace.state, trace.start_s,
                                 trace.end_s, window)


def periods_from_recorded(recorded: tuple[tuple[np.ndarray, np.ndarray], ...],
                          window: tuple[float, float] | None = None) -> ActivePeriods:
    """Active periods recorded by the engine as the run went (`RunConfig(active_periods=True)`), clipped."""
    starts, ends = [], []
    for a, b in recorded:
        if window is not None:
            lo, hi = window
            a, b = np.maximum(a, lo), np.minimum(b, hi)
            keep = b > a
            a, b = a[keep], b[keep]
        starts.append(a)
        ends.append(b)
    return ActivePeriods(tuple(starts), tuple(ends))


def _all_servers_active(a: np.ndarray, b: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximal intervals during which at least m of the given intervals overlap (m = the station's servers)."""
    if len(a) == 0:
        return np.zeros(0), np.zeros(0)
    times = np.concatenate([a, b])
    steps = np.concatenate([np.ones(len(a), dtype=np.int64), -np.ones(len(b), dtype=np.int64)])
    # At equal times apply the ends first only where that does not split a period: adjacent segments of one server
    # (end t, start t) must join. Sorting starts before ends at equal times joins them.
    order = np.lexsort((-steps, times))
    times, steps = times[order], steps[order]
    count = np.cumsum(steps)
    on = count >= m
    # collapse equal times: the state after all changes at one instant is what counts
    last_at_time = np.r_[times[1:] != times[:-1], True]
    times, on = times[last_at_time], on[last_at_time]
    rises = np.flatnonzero(on & ~np.r_[False, on[:-1]])
    falls = np.flatnonzero(~on & np.r_[False, on[:-1]])
    starts, ends = times[rises], times[falls]
    # A part that starts the instant the previous one ends can differ from that end by a rounding error of the
    # clock (now + delay); such a gap is no idle time.
    joined = np.flatnonzero(starts[1:] - ends[:-1] <= JOIN_TOLERANCE * np.maximum(1.0, np.abs(ends[:-1])))
    return np.delete(starts, joined + 1), np.delete(ends, joined)


def average_active_period(periods: ActivePeriods) -> tuple[int, np.ndarray]:
    """The average-active-period verdict: the station with the longest mean active period, and all the means."""
    means = periods.mean_length()
    return int(np.argmax(means)), means


def shifting_bottleneck(periods: ActivePeriods, window: tuple[float, float]) -> ShiftingBottleneck:
    """Momentary bottleneck over time and each station's sole and shifting shares of the window."""
    lo, hi = window
    length = hi - lo
    k = periods.stations
    pieces = _momentary(periods)
    bottleneck_time = np.zeros(k)
    mine: list[list[tuple[float, float]]] = [[] for _ in range(k)]
    for a, b, s, _ in pieces:
        bottleneck_time[s] += b - a
        mine[s].append((a, b))
    # Shifting: at each change of momentary bottleneck, the overlap of the two stations' periods counts for both.
    shifting_sets: list[list[tuple[float, float]]] = [[] for _ in range(k)]
    for (_, _, s1, i1), (_, _, s2, i2) in zip(pieces, pieces[1:]):
        if s1 == s2:
            continue
        a = max(periods.start[s1][i1], periods.start[s2][i2])
        b = min(periods.end[s1][i1], periods.end[s2][i2])
        if b > a:
            shifting_sets[s1].append((float(a), float(b)))
            shifting_sets[s2].append((float(a), float(b)))
    shifting = np.zeros(k)
    sole = np.zeros(k)
    for s in range(k):
        merged = _union(shifting_sets[s])
        shifting[s] = sum(b - a for a, b in merged)
        sole[s] = bottleneck_time[s] - _overlap(mine[s], merged)
    return ShiftingBottleneck(
        sole=sole / length,
        shifting=shifting / length,
        window_s=length,
        timeline_start=np.array([p[0] for p in pieces]),
        timeline_end=np.array([p[1] for p in pieces]),
        timeline_station=np.array([p[2] for p in pieces], dtype=np.int32),
    )


def _momentary(periods: ActivePeriods) -> list[tuple[float, float, int, int]]:
    """The momentary bottleneck as pieces (from, to, station, period index), vectorised station by station.

    Between consecutive period boundaries nothing changes; on each such elementary interval the bottleneck is the
    station whose period covering it is the longest (ties: the lower station index). Memory O(periods).
    """
    k = periods.stations
    if not any(len(s) for s in periods.start):
        return []
    sizes = [len(a) for a in periods.start]
    points, where = np.unique(np.concatenate([*periods.start, *periods.end]), return_inverse=True)
    offsets = np.cumsum([0, *sizes, *sizes])  # where[] holds every start, then every end, station by station
    seg_a, seg_b = points[:-1], points[1:]
    best_len = np.zeros(len(seg_a))
    best_station = np.full(len(seg_a), -1)
    best_index = np.full(len(seg_a), -1)
    for s in range(k):
        starts, ends = periods.start[s], periods.end[s]
        if not len(starts):
            continue
        # period p covers the elementary intervals lo[p] .. hi[p]-1 (its ends are among the points)
        lo, hi = where[offsets[s]:offsets[s + 1]], where[offsets[k + s]:offsets[k + s + 1]]
        counts = hi - lo
        period = np.repeat(np.arange(len(starts)), counts)
        seg = np.arange(counts.sum()) + np.repeat(lo - np.cumsum(np.r_[0, counts[:-1]]), counts)
        length = (ends - starts)[period]
        better = length > best_len[seg]
        seg, period = seg[better], period[better]
        best_len[seg] = length[better]
        best_station[seg] = s
        best_index[seg] = period
    keep = best_station >= 0
    seg_a, seg_b, st, idx = seg_a[keep], seg_b[keep], best_station[keep], best_index[keep]
    if not len(seg_a):
        return []
    first = np.r_[True, (st[1:] != st[:-1]) | (idx[1:] != idx[:-1]) | (seg_a[1:] != seg_b[:-1])]
    heads = np.flatnonzero(first)
    tails = np.r_[heads[1:] - 1, len(seg_a) - 1]
    return list(zip(seg_a[heads].tolist(), seg_b[tails].tolist(), st[heads].tolist(), idx[heads].tolist()))


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _overlap(xs: list[tuple[float, float]], ys: list[tuple[float, float]]) -> float:
    """Total length of the intersection of two sorted lists of disjoint intervals."""
    i = j = 0
    total = 0.0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if b > a:
            total += b - a
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return total
