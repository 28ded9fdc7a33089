"""The flow kernel's calendar lookups from the interval and week used last give the numbers of the plain lookups.

`flow_kernel.to_working_at` and `to_calendar_at` find a time's week without dividing, from a band kept since the
last lookup, and its interval from the one used last; `day_of` finds a part's day by a multiplication. All three
must give exactly what the division, `np.searchsorted` and Python's floor division give (the SimPy engine's
numbers), above all at the edges: whole weeks, interval ends and the floating-point neighbours of both, in any
order of times (a hint that is wrong only costs a search).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.calendar import Calendar
from twin.engine import flow_kernel as fk
from twin.spec import CalendarSpec

CAL = Calendar.from_spec(CalendarSpec.model_validate({
    "shifts": [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00"},
               {"start": "22:00", "end": "06:00"}],
    "breaks": [{"start": "11:30", "minutes": 30}, {"start": "23:30", "minutes": 30}], "days_per_week": 6}))
STARTS = np.array([a for a, _ in CAL.intervals])
ENDS = np.array([b for _, b in CAL.intervals])
CUM = np.array(CAL._cum)
PERIOD = CAL.period_s
PER_WEEK = CAL.work_per_period_s
NO_BAND = fk.NO_WEEK


def near(base: float, ulps: int) -> float:
    """`base` moved by `ulps` floating-point steps."""
    x = base
    for _ in range(abs(ulps)):
        x = float(np.nextafter(x, math.inf if ulps > 0 else -math.inf))
    return max(x, 0.0)


edges = st.sampled_from(sorted({0.0, *STARTS.tolist(), *ENDS.tolist(), PERIOD, 86_400.0, 3 * 86_400.0}))
work_edges = st.sampled_from(sorted({0.0, *CUM.tolist()}))
steps = st.integers(-3, 3)


@st.composite
def calendar_times(draw: st.DrawFn) -> float:
    if draw(st.booleans()):
        return draw(st.floats(0.0, 3e8, allow_nan=False))
    return near(draw(st.integers(0, 500)) * PERIOD + draw(edges), draw(steps))


@st.composite
def working_times(draw: st.DrawFn) -> float:
    if draw(st.booleans()):
        return draw(st.floats(-1.0, 2e8, allow_nan=False))
    return near(draw(st.integers(0, 500)) * PER_WEEK + draw(work_edges), draw(steps))


@settings(max_examples=300, deadline=None)
@given(st.lists(calendar_times(), min_size=1, max_size=40), st.integers(-2, 30))
def test_working_time_from_the_week_and_interval_used_last(times: list[float], hint: int) -> None:
    wk = NO_BAND
    for t in times:
        w, hint, wk = fk.to_working_at(t, STARTS, ENDS, CUM, PER_WEEK, PERIOD, hint, wk)
        assert w == fk.to_working(t, STARTS, ENDS, CUM, PER_WEEK, PERIOD), t
        assert w == CAL.to_working(t), t


@settings(max_examples=300, deadline=None)
@given(st.lists(working_times(), min_size=1, max_size=40), st.integers(-2, 30))
def test_calendar_time_from_the_week_and_interval_used_last(works: list[float], hint: int) -> None:
    wk = NO_BAND
    for w in works:
        t, hint, wk = fk.to_calendar_at(w, STARTS, CUM, PER_WEEK, PERIOD, hint, wk)
        assert t == fk.to_calendar(w, STARTS, CUM, PER_WEEK, PERIOD), w
        assert t == CAL.to_calendar(w), w


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(0.0, 1e12, allow_nan=False),
                 st.builds(lambda d, k: near(d * 86_400.0, k), st.integers(0, 10_000_000), steps)))
def test_day_of_a_time_is_the_floor_division(t: float) -> None:
    assert fk.day_of(t) == int(t // 86_400.0)


@settings(max_examples=500, deadline=None)
@given(st.floats(0.1, 1e6, allow_nan=False), st.floats(0.1, 1e6, allow_nan=False), st.integers(0, 10**6),
       st.lists(st.tuples(st.integers(0, 2), st.integers(-2, 2), st.sampled_from([0.0, 0.5])), min_size=1,
                max_size=60))
def test_a_week_band_holds_only_times_of_the_same_quotient(d: float, e: float, k0: int,
                                                           xs: list[tuple[int, int, float]]) -> None:
    """For any divisor (not only the whole seconds of real calendars), at its multiples and their neighbours,
    where the rounded product k d divided by d can floor to k - 1: times of a few neighbouring weeks, so that
    the band kept is used."""
    kd, ke, lo, hi = NO_BAND
    for dk, ulps, frac in xs:
        x = near((k0 + dk + (frac if ulps == 0 else 0.0)) * d, ulps)
        kd, ke, lo, hi = fk.week_band(x, d, e, lo, hi, kd, ke)
        weeks = math.floor(x / d)
        assert (kd, ke) == (weeks * d, weeks * e), x
