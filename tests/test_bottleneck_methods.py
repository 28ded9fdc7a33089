"""Bottleneck detection methods against hand-made traces and lines with a known bottleneck."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import line, one_run
from twin.analytics.active_period import (
    average_active_period,
    periods_from_recorded,
    periods_from_segments,
    periods_from_trace,
    shifting_bottleneck,
)
from twin.analytics.arrows import arrow_method, turning_point
from twin.engine.model import BLOCKED, DOWN, STARVED, WORKING


def test_a_hand_made_trace_has_the_momentary_sole_and_shifting_bottlenecks_computed_by_hand() -> None:
    # Station 0 active [0,10) and [20,25) (a repair joins two working segments: [20,22) working, [22,25) down);
    # station 1 active [5,30); station 2 active [28,40). Window [0, 40).
    unit = np.array([0, 0, 0, 0, 1, 1, 2])
    state = np.array([WORKING, STARVED, WORKING, DOWN, STARVED, WORKING, WORKING])
    start = np.array([0.0, 10.0, 20.0, 22.0, 0.0, 5.0, 28.0])
    end = np.array([10.0, 20.0, 22.0, 25.0, 5.0, 30.0, 40.0])
    periods = periods_from_segments(np.array([0, 1, 2]), np.array([1, 1, 1]), unit, state, start, end)
    assert [list(s) for s in periods.start] == [[0.0, 20.0], [5.0], [28.0]]
    assert [list(e) for e in periods.end] == [[10.0, 25.0], [30.0], [40.0]]
    verdict, means = average_active_period(periods)
    assert verdict == 1 and list(means) == [7.5, 25.0, 12.0]
    sb = shifting_bottleneck(periods, (0.0, 40.0))
    # Momentary bottleneck: station 0 on [0,5), station 1 on [5,30) (its 25 s period is the longest), 2 on [30,40).
    assert list(sb.timeline_start) == [0.0, 5.0, 30.0]
    assert list(sb.timeline_end) == [5.0, 30.0, 40.0]
    assert list(sb.timeline_station) == [0, 1, 2]
    # Shifting: 0 -> 1 overlap [5,10), 1 -> 2 overlap [28,30).
    assert list(sb.shifting * 40) == pytest.approx([5.0, 7.0, 2.0])
    assert list(sb.sole * 40) == pytest.approx([5.0, 18.0, 10.0])


def test_a_station_of_two_servers_is_active_only_while_both_are() -> None:
    unit = np.array([0, 1, 1])
    state = np.array([WORKING, WORKING, BLOCKED])
    start = np.array([0.0, 3.0, 8.0])
    end = np.array([10.0, 8.0, 10.0])
    periods = periods_from_segments(np.array([0, 0]), np.array([2]), unit, state, start, end)
    assert list(periods.start[0]) == [3.0] and list(periods.end[0]) == [8.0]


def test_the_slowest_deterministic_station_is_active_all_the_time_and_the_sole_bottleneck() -> None:
    sc = line([30, 45, 62, 50, 40], 2)
    res = one_run(sc, 20_000, warmup_s=2_000, trace=True)
    periods = periods_from_trace(res.trace, res.station_servers, window=(2_000, 20_000))  # type: ignore[arg-type]
    verdict, means = average_active_period(periods)
    assert verdict == 2
    assert means[2] == pytest.approx(18_000)  # one active period: the whole window
    sb = shifting_bottleneck(periods, (2_000, 20_000))
    assert sb.sole[2] == pytest.approx(1.0) and sb.shifting[2] == 0.0
    assert np.all(sb.total[[0, 1, 3, 4]] == 0.0)
    on_shift = 1 - res.shares[:, 4]
    blocked, starved = res.shares[:, 1] / on_shift, res.shares[:, 2] / on_shift
    assert arrow_method(blocked, starved).verdict == 2
    assert turning_point(blocked, starved) == 2


def test_arrows_and_turning_point_by_hand() -> None:
    bl = np.array([0.30, 0.10, 0.00])
    st = np.array([0.00, 0.05, 0.40])
    arrows = arrow_method(bl, st)
    assert list(arrows.arrows_right) == [True, False]
    assert arrows.bottlenecks == [1]
    assert arrows.severity[1] == pytest.approx(abs(0.30 - 0.05) + abs(0.40 - 0.10))
    assert turning_point(bl, st) == 1
    # Arrows 0->1, 1<-2, 2->3: stations 1 and 3 are left by no arrow; 3 is the more severe
    # (|BL_2 - ST_3| = 0.2 against |BL_0 - ST_1| + |ST_2 - BL_1| = 0.1).
    two = arrow_method(np.array([0.2, 0.0, 0.5, 0.0]), np.array([0.0, 0.1, 0.0, 0.3]))
    assert two.bottlenecks == [3, 1]
    assert list(two.severity) == pytest.approx([0.0, 0.1, 0.0, 0.2])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_periods_recorded_as_the_run_goes_equal_those_from_the_full_trace(seed: int) -> None:
    from tests.helpers import line_data
    import twin
    from twin.analytics.active_period import periods_from_recorded

    data = line_data([10, 12, 25, 9], [1, 0, 2], dist="exp", servers=[1, 1, 2, 1],
                     mtbf_s=[600.0, None, 900.0, None], mttr_s=[60.0, None, 90.0, None])
    res = one_run(twin.from_dict(data), 20_000, warmup_s=1_000, seed=seed, trace=True, active_periods=True)
    window = (1_000.0, 20_000.0)
    from_trace = periods_from_trace(res.trace, res.station_servers, window=window)  # type: ignore[arg-type]
    recorded = periods_from_recorded(res.active_periods, window=window)  # type: ignore[arg-type]
    for s in range(4):
        assert np.allclose(from_trace.start[s], recorded.start[s], rtol=0, atol=1e-9)
        assert np.allclose(from_trace.end[s], recorded.end[s], rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_the_momentary_bottleneck_agrees_with_a_brute_force_look_at_every_instant(seed: int) -> None:
    from twin.analytics.active_period import ActivePeriods

    rng = np.random.default_rng(seed)
    starts, ends = [], []
    for _ in range(4):  # random disjoint periods on a grid of whole seconds, so that ties happen too
        cuts = np.sort(rng.choice(np.arange(1, 200), size=40, replace=False)).astype(float)
        starts.append(cuts[0::2])
        ends.append(cuts[1::2])
    periods = ActivePeriods(tuple(starts), tuple(ends))
    sb = shifting_bottleneck(periods, (0.0, 200.0))
    for t in np.arange(0.25, 200.0, 0.5):
        best, best_len = -1, 0.0
        for s in range(4):
            i = np.searchsorted(starts[s], t, side="right") - 1
            if i >= 0 and ends[s][i] > t and ends[s][i] - starts[s][i] > best_len:
                best, best_len = s, ends[s][i] - starts[s][i]
        j = np.flatnonzero((sb.timeline_start <= t) & (t < sb.timeline_end))
        assert (best == -1 and len(j) == 0) or (len(j) == 1 and sb.timeline_station[j[0]] == best), t
    assert np.all(sb.sole >= -1e-12) and np.all(sb.sole + sb.shifting <= 1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0, 10, allow_nan=False)), max_size=30),
       st.floats(-5, 110, allow_nan=False), st.floats(0, 120, allow_nan=False))
def test_clipping_recorded_periods_to_the_window_is_the_plain_formula(gaps: list[tuple[float, float]], lo: float,
                                                                     width: float) -> None:
    # sorted, disjoint periods (some of zero length), cut to [lo, hi]: max(a, lo), min(b, hi), the empty ones dropped
    t, a, b = 0.0, [], []
    for gap, length in gaps:
        a.append(t + gap)
        b.append(t + gap + length)
        t = b[-1]
    a_, b_ = np.array(a), np.array(b)
    hi = lo + width
    got = periods_from_recorded(((a_, b_),), window=(lo, hi))
    ca, cb = np.maximum(a_, lo), np.minimum(b_, hi)
    keep = cb > ca
    np.testing.assert_array_equal(got.start[0], ca[keep])
    np.testing.assert_array_equal(got.end[0], cb[keep])
