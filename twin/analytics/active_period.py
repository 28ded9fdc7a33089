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
station, and the momentary bottleneck is found by one compiled sweep over the periods' boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.analytics.sweep import clip_to_window, momentary_at, sole_and_shifting_at
from twin.engine.model import DOWN, WORKING, PrunedPeriods, Trace
from twin.scenario import Scenario

ACTIVE_STATES = (WORKING, DOWN)
JOIN_TOLERANCE = 1e-9  # relative: periods closer than this are one


@dataclass(frozen=True)
class ActivePeriods:
    """Active periods of each station: `start[s]`, `end[s]` arrays (sorted, disjoint).

    `left_out_s`, `left_out` (per station): the summed length and the number of periods an engine left out because
    they can never be the momentary bottleneck (`RunConfig.prune_periods`); they count in the mean length only.
    """

    start: tuple[np.ndarray, ...]
    end: tuple[np.ndarray, ...]
    left_out_s: np.ndarray | None = None
    left_out: np.ndarray | None = None

    @property
    def stations(self) -> int:
        return len(self.start)

    def mean_length(self) -> np.ndarray:
        """The average active period per station (0 where a station was never active)."""
        if self.left_out_s is None or self.left_out is None:
            return np.array([float(np.mean(e - s)) if len(s) else 0.0 for s, e in zip(self.start, self.end)])
        means = np.zeros(self.stations)
        for k, (s, e) in enumerate(zip(self.start, self.end)):
            n = len(s) + int(self.left_out[k])
            if n:
                means[k] = (float(np.sum(e - s)) + float(self.left_out_s[k])) / n
        return means


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


def can_prune(scenario: Scenario) -> bool:
    """Whether the analysis may ask for pruned periods (`RunConfig.prune_periods`): the engine prunes for its
    lines' working clocks, the analysis clips on the scenario's, which are the same when no line has its own."""
    return all(ln.calendar is None for ln in scenario.spec.lines)


def periods_from_recorded(recorded: tuple[tuple[np.ndarray, np.ndarray], ...],
                          window: tuple[float, float] | None = None,
                          pruned: PrunedPeriods | None = None) -> ActivePeriods:
    """Active periods recorded by the engine as the run went (`RunConfig(active_periods=True)`), clipped.

    `pruned`: what the engine left out (`ReplicationResult.pruned_periods`); the results are then those of all
    the periods, provided the window holds [pruned.lo_s, pruned.hi_s] (else ValueError: record them all).
    """
    if pruned is not None:
        if window is None:
            raise ValueError("pruned active periods need the observation window they are clipped to")
        if np.any(pruned.count > 0) and not (window[0] <= pruned.lo_s and pruned.hi_s <= window[1]):
            raise ValueError(f"active periods were pruned for a window holding [{pruned.lo_s:g}, {pruned.hi_s:g}], "
                             f"not within {window}: record them with prune_periods=False")
    starts, ends = [], []
    for a, b in recorded:
        if window is not None:
            a, b, _ = clip_to_window(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                                     float(window[0]), float(window[1]))
        starts.append(a)
        ends.append(b)
    if pruned is None:
        return ActivePeriods(tuple(starts), tuple(ends))
    return ActivePeriods(tuple(starts), tuple(ends), pruned.length_s, pruned.count)


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


def _in_one_buffer(starts: tuple[np.ndarray, ...], ends: tuple[np.ndarray, ...]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Where every station's starts and ends are contiguous float64 views of one 1-D float64 array (the flow
    engine's period logs, `twin.engine.flow._StationLogs`, unclipped): that array, each station's first start in
    it and how far its ends lie from its starts. None otherwise: the sweep then joins them into new arrays, which
    for millions of periods costs more in fresh memory than the sweep itself."""
    if not starts:
        return None
    buf = starts[0].base
    if not (isinstance(buf, np.ndarray) and buf.ndim == 1 and buf.dtype == np.float64 and buf.flags.c_contiguous):
        return None
    origin = buf.ctypes.data
    at = np.empty(len(starts), dtype=np.int64)
    shift = np.empty(len(starts), dtype=np.int64)
    for s, (a, b) in enumerate(zip(starts, ends)):
        if a.base is not buf or b.base is not buf or a.dtype != np.float64 or b.dtype != np.float64:
            return None
        if len(a) and not (a.flags.c_contiguous and b.flags.c_contiguous):
            return None
        da, db = a.ctypes.data - origin, b.ctypes.data - origin
        if da % 8 or db % 8:
            return None
        at[s], shift[s] = da // 8, (db - da) // 8
    return buf, at, shift


def average_active_period(periods: ActivePeriods) -> tuple[int, np.ndarray]:
    """The average-active-period verdict: the station with the longest mean active period, and all the means."""
    means = periods.mean_length()
    return int(np.argmax(means)), means


def shifting_bottleneck(periods: ActivePeriods, window: tuple[float, float]) -> ShiftingBottleneck:
    """Momentary bottleneck over time and each station's sole and shifting shares of the window.

    Between two consecutive period boundaries the momentary bottleneck is the station whose period covering that
    stretch is the longest (ties: the lower station index); at each change of momentary bottleneck the overlap of
    the two stations' periods is shifting time for both, the rest of a station's bottleneck time is sole. The sweep
    is compiled (`twin.analytics.sweep`): O(periods x stations) time, O(periods) memory.
    """
    lo, hi = window
    length = hi - lo
    k = periods.stations
    in_place = _in_one_buffer(periods.start, periods.end)
    n = np.array([len(a) for a in periods.start], dtype=np.int64)
    if in_place is not None:  # the engine's logs, read where they lie
        starts, at, shift = in_place
        ends = starts
    else:
        at = np.cumsum(n) - n  # laid end to end
        shift = np.zeros(k, dtype=np.int64)
        starts = np.concatenate([np.asarray(a, dtype=float) for a in periods.start]) if k else np.zeros(0)
        ends = np.concatenate([np.asarray(b, dtype=float) for b in periods.end]) if k else np.zeros(0)
    piece_a, piece_b, piece_s, piece_i = momentary_at(starts, ends, at, at + n, shift)
    sole, shifting = sole_and_shifting_at(piece_a, piece_b, piece_s, piece_i, starts, ends, at, shift)
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty window has no shares: NaN, not a warning
        sole_share, shifting_share = sole / length, shifting / length
    return ShiftingBottleneck(
        sole=sole_share,
        shifting=shifting_share,
        window_s=length,
        timeline_start=piece_a,
        timeline_end=piece_b,
        timeline_station=piece_s.astype(np.int32),
    )
