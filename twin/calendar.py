"""Working calendars as a clock: calendar time <-> working time.

Off-shift time stops the stations and their failure clocks (DEVELOPERS.md). So everything a station does —
processing, repair, the count-down to the next failure — advances in *working time*, and a calendar is just a
monotone map W from calendar seconds to working seconds (flat while off shift) with its left inverse. A part of
work w started at calendar time t ends at ``to_calendar(to_working(t) + w)``: the engine needs no interrupts at
shift ends, and every interval it accounts is measured in working time, so off-shift time never leaks into a
station's working, blocked, starved or down shares.

The calendar repeats weekly; t = 0 is Monday 00:00. A calendar with periods (a ramp-up, peak months in three
shifts, a shutdown) repeats yearly instead: a model year of 365 days from Monday 1 January, months as in a common
year.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from twin.spec import BreakSpec, CalendarSpec, ShiftSpec, year_days
from twin.validate import clock_seconds

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
YEAR_S = 365 * DAY_S
HOURS_PER_YEAR = YEAR_S / 3600.0


class Calendar:
    """Working intervals of one period (a week, or a model year), sorted and disjoint, as (start, end) in seconds
    from Monday 00:00 (1 January for a year)."""

    __slots__ = ("intervals", "period_s", "_starts", "_ends", "_cum", "_work_per_period")

    def __init__(self, intervals: tuple[tuple[float, float], ...], period_s: float = WEEK_S) -> None:
        if not intervals:
            raise ValueError("a calendar needs at least one working interval")
        self.intervals = tuple((float(s), float(e)) for s, e in intervals)
        self.period_s = float(period_s)
        self._starts = [s for s, _ in self.intervals]
        self._ends = [e for _, e in self.intervals]
        self._cum = [0.0]
        for s, e in self.intervals:
            self._cum.append(self._cum[-1] + (e - s))
        self._work_per_period = self._cum[-1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Calendar) and other.intervals == self.intervals and other.period_s == self.period_s

    def __hash__(self) -> int:
        return hash((self.intervals, self.period_s))

    def __repr__(self) -> str:
        span = "week" if self.period_s == WEEK_S else "year"
        return f"Calendar(working {self.working_share:.1%} of the {span}, {len(self.intervals)} intervals)"

    @property
    def work_per_period_s(self) -> float:
        """Working seconds in one repetition of the calendar (a week, or a model year)."""
        return self._work_per_period

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spec(cls, spec: CalendarSpec) -> Calendar:
        """Build the weekly pattern, or with periods the yearly one: shifts on each working day, minus the breaks."""
        if not spec.periods:
            return cls(tuple(_week(spec.shifts, spec.breaks, spec.days_per_week)))
        patterns: dict[int, list[tuple[float, float]]] = {}
        day_pattern = [-1] * 365  # -1: the calendar's own pattern; i: periods[i]'s
        for i, period in enumerate(spec.periods):
            span = period.months if period.months is not None else period.days
            assert span is not None
            first, last = year_days("months" if period.months is not None else "days", span)
            for day in range(first, last + 1):
                day_pattern[day] = i
        patterns[-1] = _week(spec.shifts, spec.breaks, spec.days_per_week)
        for i, period in enumerate(spec.periods):
            shifts = period.shifts if period.shifts is not None else spec.shifts
            breaks = period.breaks if period.breaks is not None else spec.breaks
            days = period.days_per_week if period.days_per_week is not None else spec.days_per_week
            patterns[i] = _week(shifts, breaks, days)
        working: list[tuple[float, float]] = []
        for day, which in enumerate(day_pattern):
            weekday = day % 7
            lo, hi = weekday * DAY_S, (weekday + 1) * DAY_S
            offset = (day - weekday) * DAY_S
            for s, e in patterns[which]:
                if s < hi and lo < e:
                    working.append((max(s, lo) + offset, min(e, hi) + offset))
        return cls(tuple(_merge(working)), YEAR_S)

    # ------------------------------------------------------------------ queries
    @property
    def always_on(self) -> bool:
        return self.intervals == ((0.0, self.period_s),)

    @property
    def working_share(self) -> float:
        """Fraction of calendar time that is working time."""
        return self._work_per_period / self.period_s

    def to_working(self, t: float) -> float:
        """Working seconds elapsed between time 0 and calendar time t."""
        weeks = math.floor(t / self.period_s)
        r = t - weeks * self.period_s
        i = bisect_right(self._starts, r) - 1
        within = 0.0
        if i >= 0:
            within = self._cum[i] + min(r - self._starts[i], self._ends[i] - self._starts[i])
        return weeks * self._work_per_period + within

    def to_calendar(self, w: float) -> float:
        """The earliest calendar time at which w working seconds have elapsed since time 0."""
        if w <= 0:
            return 0.0
        per_week = self._work_per_period
        weeks = math.floor(w / per_week)
        rem = w - weeks * per_week
        if rem <= 0:  # exactly at a week's last working instant: its end, not next week's start
            weeks -= 1
            rem = per_week
        i = bisect_left(self._cum, rem) - 1
        i = max(i, 0)
        return weeks * self.period_s + self._starts[i] + (rem - self._cum[i])

    def working_seconds(self, a: float, b: float) -> float:
        """Working seconds between calendar times a <= b."""
        return self.to_working(b) - self.to_working(a)


def _week(shifts: list[ShiftSpec], breaks: list[BreakSpec], days_per_week: int) -> list[tuple[float, float]]:
    """One week's working intervals: the shifts on each of the first `days_per_week` days, minus the breaks."""
    working: list[tuple[float, float]] = []
    for day in range(days_per_week):
        base = day * DAY_S
        for shift in shifts:
            start = clock_seconds(shift.start)
            end = clock_seconds(shift.end)
            if end <= start:
                end += int(DAY_S)
            working.append((base + start, base + end))
    pieces = _wrap(working)
    for day in range(8):  # day 7 catches night shifts that wrap to Monday morning
        for brk in breaks:
            start = day * DAY_S + clock_seconds(brk.start)
            pieces = _subtract(pieces, _wrap([(start, start + brk.minutes * 60.0)]))
    return _merge(pieces)


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
