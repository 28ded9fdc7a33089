"""Working calendars as a clock: calendar time <-> working time.

Off-shift time stops the stations and their failure clocks (DEVELOPERS.md). So everything a station does —
processing, repair, the count-down to the next failure — advances in *working time*, and a calendar is just a
monotone map W from calendar seconds to working seconds (flat while off shift) with its left inverse. A part of
work w started at calendar time t ends at ``to_calendar(to_working(t) + w)``: the engine needs no interrupts at
shift ends, and every interval it accounts is measured in working time, so off-shift time never leaks into a
station's working, blocked, starved or down shares.

The calendar repeats weekly; t = 0 is Monday 00:00.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from twin.spec import CalendarSpec
from twin.validate import clock_seconds

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
YEAR_S = 365 * DAY_S
HOURS_PER_YEAR = YEAR_S / 3600.0


class Calendar:
    """Working intervals of one week, sorted and disjoint, as (start, end) in seconds from Monday 00:00."""

    __slots__ = ("intervals", "_starts", "_ends", "_cum", "_work_per_week")

    def __init__(self, intervals: tuple[tuple[float, float], ...]) -> None:
        if not intervals:
            raise ValueError("a calendar needs at least one working interval")
        self.intervals = tuple((float(s), float(e)) for s, e in intervals)
        self._starts = [s for s, _ in self.intervals]
        self._ends = [e for _, e in self.intervals]
        self._cum = [0.0]
        for s, e in self.intervals:
            self._cum.append(self._cum[-1] + (e - s))
        self._work_per_week = self._cum[-1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Calendar) and other.intervals == self.intervals

    def __hash__(self) -> int:
        return hash(self.intervals)

    def __repr__(self) -> str:
        return f"Calendar(working {self.working_share:.1%} of the week, {len(self.intervals)} intervals)"

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spec(cls, spec: CalendarSpec) -> Calendar:
        """Build the weekly pattern: shifts on each working day, minus the breaks."""
        working: list[tuple[float, float]] = []
        for day in range(spec.days_per_week):
            base = day * DAY_S
            for shift in spec.shifts:
                start = clock_seconds(shift.start)
                end = clock_seconds(shift.end)
                if end <= start:
                    end += int(DAY_S)
                working.append((base + start, base + end))
        pieces = _wrap(working)
        for day in range(8):  # day 7 catches night shifts that wrap to Monday morning
            for brk in spec.breaks:
                start = day * DAY_S + clock_seconds(brk.start)
                pieces = _subtract(pieces, _wrap([(start, start + brk.minutes * 60.0)]))
        return cls(tuple(_merge(pieces)))

    # ------------------------------------------------------------------ queries
    @property
    def always_on(self) -> bool:
        return self.intervals == ((0.0, WEEK_S),)

    @property
    def working_share(self) -> float:
        """Fraction of calendar time that is working time."""
        return self._work_per_week / WEEK_S

    def to_working(self, t: float) -> float:
        """Working seconds elapsed between time 0 and calendar time t."""
        weeks = math.floor(t / WEEK_S)
        r = t - weeks * WEEK_S
        i = bisect_right(self._starts, r) - 1
        within = 0.0
        if i >= 0:
            within = self._cum[i] + min(r - self._starts[i], self._ends[i] - self._starts[i])
        return weeks * self._work_per_week + within

    def to_calendar(self, w: float) -> float:
        """The earliest calendar time at which w working seconds have elapsed since time 0."""
        if w <= 0:
            return 0.0
        per_week = self._work_per_week
        weeks = math.floor(w / per_week)
        rem = w - weeks * per_week
        if rem <= 0:  # exactly at a week's last working instant: its end, not next week's start
            weeks -= 1
            rem = per_week
        i = bisect_left(self._cum, rem) - 1
        i = max(i, 0)
        return weeks * WEEK_S + self._starts[i] + (rem - self._cum[i])

    def working_seconds(self, a: float, b: float) -> float:
        """Working seconds between calendar times a <= b."""
        return self.to_working(b) - self.to_working(a)


def _wrap(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Fold intervals that run past the end of the week onto its start."""
    out = []
    for s, e in intervals:
        if e <= WEEK_S:
            out.append((s, e))
        elif s >= WEEK_S:
            out.append((s - WEEK_S, e - WEEK_S))
        else:
            out.append((s, WEEK_S))
            out.append((0.0, e - WEEK_S))
    return out


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _subtract(intervals: list[tuple[float, float]], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = intervals
    for cs, ce in cuts:
        nxt = []
        for s, e in out:
            if ce <= s or e <= cs:
                nxt.append((s, e))
                continue
            if s < cs:
                nxt.append((s, cs))
            if ce < e:
                nxt.append((ce, e))
        out = nxt
    return out
