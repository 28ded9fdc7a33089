"""Pruned active periods (`RunConfig.prune_periods`) give the bottleneck analysis exactly what all periods give.

The flow engine leaves out the periods that can never be the momentary bottleneck and keeps only their lengths; the
average active period must then agree to rounding (the sum is taken in another order) and the sole and shifting
shares and the momentary-bottleneck timeline must be equal. The compiled sweep is checked against a plain
boundary-by-boundary reference as well.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twin
from tests.helpers import line_data
from tests.test_properties import DISTS, random_lines
from twin.analytics.active_period import (
    ActivePeriods, ShiftingBottleneck, _in_one_buffer, average_active_period, can_prune, periods_from_recorded,
    shifting_bottleneck,
)
from twin.analytics.sweep import momentary
from twin.calendar import Calendar
from twin.engine.flow import FlowSimulation, simulate_flow
from twin.engine.model import ReplicationResult, RunConfig

SAME = settings(max_examples=60, deadline=None, derandomize=True)


def analysed(sc: twin.Scenario, res: ReplicationResult, pruned: bool) -> tuple[np.ndarray, ShiftingBottleneck]:
    assert res.active_periods is not None
    cal = Calendar.from_spec(sc.spec.calendar)
    window = (cal.to_working(res.warmup_s), cal.to_working(res.end_s))
    periods = periods_from_recorded(res.active_periods, window, res.pruned_periods if pruned else None)
    return average_active_period(periods)[1], shifting_bottleneck(periods, window)


def assert_pruning_changes_nothing(sc: twin.Scenario, cfg: RunConfig) -> ReplicationResult:
    full = simulate_flow(sc, cfg)
    pruned = simulate_flow(sc, RunConfig(**{**cfg.__dict__, "prune_periods": True}))
    assert full.pruned_periods is None and pruned.pruned_periods is not None
    assert pruned.end_s == full.end_s
    np.testing.assert_array_equal(pruned.shares, full.shares)
    mean_full, sb_full = analysed(sc, full, False)
    mean_pruned, sb_pruned = analysed(sc, pruned, True)
    np.testing.assert_allclose(mean_pruned, mean_full, rtol=1e-12, atol=0.0)
    for name in ("sole", "shifting", "timeline_start", "timeline_end", "timeline_station"):
        np.testing.assert_array_equal(getattr(sb_pruned, name), getattr(sb_full, name), err_msg=name)
    # what is kept plus what is left out is every period
    kept = sum(len(a) for a, _ in pruned.active_periods or ())
    assert kept + int(pruned.pruned_periods.count.sum()) >= sum(len(a) for a, _ in full.active_periods or ())
    return pruned


@SAME
@given(st.data())
def test_random_single_server_lines_give_the_same_analysis(data: st.DataObject) -> None:
    raw: dict[str, Any] = data.draw(random_lines(single_server=True, failures="busy", scrap=False))
    sc = twin.from_dict(raw)
    parts = data.draw(st.sampled_from([None, 40, 900]))
    cfg = RunConfig(horizon_s=data.draw(st.sampled_from([4, 12])) * 3600.0, warmup_s=0.0 if parts else 1800.0,
                    seed=sc.seed, replication=data.draw(st.integers(0, 2)), stop_after_parts=parts,
                    active_periods=True)
    assert_pruning_changes_nothing(sc, cfg)


@pytest.mark.parametrize("name", ["wheel", "seats", "edrive"])
def test_real_lines_give_the_same_analysis(name: str) -> None:
    sc = twin.load(name)
    assert can_prune(sc)
    cfg = RunConfig(horizon_s=168 * 3600.0, warmup_s=24 * 3600.0, seed=sc.seed, replication=1, active_periods=True)
    assert_pruning_changes_nothing(sc, cfg)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.data())
def test_long_runs_of_the_round_the_clock_kernel_give_the_same_analysis(data: st.DataObject) -> None:
    """Lines of the single-server kernel's fast path (no failures, no calendar) run for thousands of parts, so that
    periods are staged and decided over many settles, some with a warm-up, some stopped after a number of parts;
    a deterministic slowest station keeps one period open all run (nothing can be decided until a station's
    staging must give up its periods)."""
    k = data.draw(st.integers(2, 9))
    cycles = [data.draw(st.sampled_from([5.0, 8.0, 10.0, 12.5])) for _ in range(k)]
    dists = [data.draw(st.sampled_from(DISTS)) for _ in range(k)]
    if data.draw(st.booleans()):  # a deterministic bottleneck, active from its first part to the end
        slow = data.draw(st.integers(0, k - 1))
        cycles[slow], dists[slow] = 15.0, "det"
    cvs = [None if d in ("det", "exp") else data.draw(st.sampled_from([0.1, 0.4])) for d in dists]
    raw = line_data(cycles, [data.draw(st.integers(0, 3)) for _ in range(k)], dist=dists, cv=cvs)
    raw["scenario"]["seed"] = data.draw(st.integers(0, 2**31))
    sc = twin.from_dict(raw)
    parts = data.draw(st.sampled_from([None, 700, 4000]))
    cfg = RunConfig(horizon_s=data.draw(st.sampled_from([6, 16])) * 3600.0,
                    warmup_s=0.0 if parts else data.draw(st.sampled_from([0.0, 1800.0])), seed=sc.seed,
                    stop_after_parts=parts, active_periods=True)
    assert_pruning_changes_nothing(sc, cfg)


def test_a_long_exponential_line_leaves_most_periods_out() -> None:
    sc = twin.from_dict({"scenario": {"name": "p"}, "lines": [{"name": "L", "stations": [
        {"name": f"S{i}", "cycle_s": 10.0, "dist": "exp", "buffer": 2} for i in range(12)]}]})
    pruned = assert_pruning_changes_nothing(sc, RunConfig(horizon_s=1e9, stop_after_parts=20_000,
                                                          active_periods=True))
    assert pruned.pruned_periods is not None
    kept = sum(len(a) for a, _ in pruned.active_periods or ())
    assert pruned.pruned_periods.count.sum() > kept


def test_a_window_that_cuts_what_pruning_relied_on_is_refused() -> None:
    sc = twin.from_dict({"scenario": {"name": "p"}, "lines": [{"name": "L", "stations": [
        {"name": f"S{i}", "cycle_s": 10.0, "dist": "exp", "buffer": 1} for i in range(6)]}]})
    res = simulate_flow(sc, RunConfig(horizon_s=20_000.0, active_periods=True, prune_periods=True))
    assert res.pruned_periods is not None and res.pruned_periods.count.sum() > 0
    assert res.active_periods is not None
    with pytest.raises(ValueError, match="prune_periods=False"):
        periods_from_recorded(res.active_periods, (res.pruned_periods.lo_s + 1.0, 20_000.0), res.pruned_periods)


def reference_momentary(starts: list[np.ndarray], ends: list[np.ndarray]) -> list[tuple[float, float, int, int]]:
    """Boundary by boundary: on each stretch the longest covering period (ties: the lower station), joined."""
    times = sorted(set(np.concatenate(starts + ends).tolist()))
    pieces: list[tuple[float, float, int, int]] = []
    for t0, t1 in zip(times[:-1], times[1:]):
        best: tuple[float, int, int] | None = None
        for s, (a, b) in enumerate(zip(starts, ends)):
            for i in range(len(a)):
                if a[i] <= t0 < b[i] and (best is None or b[i] - a[i] > best[0]):
                    best = (b[i] - a[i], s, i)
        if best is None:
            continue
        if pieces and pieces[-1][2:] == best[1:] and pieces[-1][1] == t0:
            pieces[-1] = (pieces[-1][0], t1, best[1], best[2])
        else:
            pieces.append((t0, t1, best[1], best[2]))
    return pieces


@st.composite
def station_periods(draw: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    starts, ends = [], []
    for _ in range(draw(st.integers(1, 5))):
        cuts = sorted(set(draw(st.lists(st.integers(0, 60), max_size=16))))
        a = np.array(cuts[0::2][:len(cuts) // 2], dtype=float) * 0.5
        b = np.array(cuts[1::2], dtype=float) * 0.5
        starts.append(a)
        ends.append(b)
    return starts, ends


@settings(max_examples=300, deadline=None, derandomize=True)
@given(station_periods())
def test_the_sweep_equals_the_boundary_by_boundary_reference(periods: tuple[list[np.ndarray], list[np.ndarray]]
                                                              ) -> None:
    starts, ends = periods
    offsets = np.concatenate(([0], np.cumsum([len(a) for a in starts]))).astype(np.int64)
    got = momentary(np.concatenate(starts), np.concatenate(ends), offsets)
    want = reference_momentary(starts, ends)
    assert list(zip(*(x.tolist() for x in got))) == want


@settings(max_examples=200, deadline=None, derandomize=True)
@given(station_periods(), st.data())
def test_periods_read_where_they_lie_in_one_buffer_give_what_joined_copies_give(
        periods: tuple[list[np.ndarray], list[np.ndarray]], data: st.DataObject) -> None:
    """`shifting_bottleneck` reads the flow engine's logs in place (each station's starts and ends somewhere in one
    array, as `_StationLogs` lays them out); the same periods as separate arrays are joined first. Both ways, in
    any layout of the buffer (ends before or after the starts, stations in any order, gaps), give the same."""
    starts, ends = periods
    k = len(starts)
    halves = [(s, h) for s in range(k) for h in range(2)]
    order = data.draw(st.permutations(halves))
    gaps = data.draw(st.lists(st.integers(0, 3), min_size=2 * k, max_size=2 * k))
    at: dict[tuple[int, int], int] = {}
    size = 0
    for (s, h), gap in zip(order, gaps):
        size += gap
        at[(s, h)] = size
        size += len(starts[s])
    buf = np.full(size + 1, np.nan)
    for s in range(k):
        buf[at[(s, 0)]:at[(s, 0)] + len(starts[s])] = starts[s]
        buf[at[(s, 1)]:at[(s, 1)] + len(ends[s])] = ends[s]
    views = ActivePeriods(tuple(buf[at[(s, 0)]:at[(s, 0)] + len(starts[s])] for s in range(k)),
                          tuple(buf[at[(s, 1)]:at[(s, 1)] + len(ends[s])] for s in range(k)))
    assert _in_one_buffer(views.start, views.end) is not None
    copies = ActivePeriods(tuple(a.copy() for a in starts), tuple(b.copy() for b in ends))
    assert _in_one_buffer(copies.start, copies.end) is None
    window = (0.0, 30.0)
    got, want = shifting_bottleneck(views, window), shifting_bottleneck(copies, window)
    for field in ("sole", "shifting", "timeline_start", "timeline_end", "timeline_station"):
        assert np.array_equal(getattr(got, field), getattr(want, field)), field


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.data())
def test_periods_rebuilt_from_the_rings_are_those_the_recursion_finds(data: st.DataObject) -> None:
    """Pruned, the round-the-clock kernel does not detect periods in its recursion: every 128 parts `_rebuild`
    finds them again from the departures in each station's ring (deeper than any buffer needs) and the processing
    times. Runs long enough to cross the kernel's returns for fresh draws (8,192 parts), with buffers deeper than
    the ring's 256 parts, ended by a number of parts or by the horizon: every period kept must be, to the last
    bit, one the unpruned run (detection inside the recursion) records, and the analysis the same."""
    k = data.draw(st.integers(2, 6))
    cycles = [data.draw(st.sampled_from([6.0, 9.0, 10.0, 12.0])) for _ in range(k)]
    dists = [data.draw(st.sampled_from(["exp", "det", "lognormal"])) for _ in range(k)]
    cvs = [None if d in ("det", "exp") else 0.5 for d in dists]
    buffers = [data.draw(st.sampled_from([0, 1, 3, 300])) for _ in range(k)]
    raw = line_data(cycles, buffers, dist=dists, cv=cvs)
    raw["scenario"]["seed"] = data.draw(st.integers(0, 2**31))
    sc = twin.from_dict(raw)
    parts = data.draw(st.sampled_from([None, 9_000, 17_001]))
    cfg = RunConfig(horizon_s=(30 if parts is None else 1000) * 3600.0, seed=sc.seed, stop_after_parts=parts,
                    warmup_s=0.0 if parts else data.draw(st.sampled_from([0.0, 3600.0])), active_periods=True)
    full = detected_inline(sc, cfg)
    pruned = assert_pruning_changes_nothing(sc, cfg)
    assert full.active_periods is not None and pruned.active_periods is not None
    for (fa, fb), (pa, pb) in zip(full.active_periods, pruned.active_periods):
        every = set(zip(fa.tolist(), fb.tolist()))
        assert set(zip(pa.tolist(), pb.tolist())) <= every
        assert np.all(np.diff(pa) > 0)


def detected_inline(sc: twin.Scenario, cfg: RunConfig) -> ReplicationResult:
    """The run with every period found inside the single-server kernel's recursion (the reference)."""
    sim = FlowSimulation(sc, cfg)
    sim.detect_inline = True
    return sim.run()


@settings(max_examples=16, deadline=None, derandomize=True)
@given(st.data())
def test_every_period_rebuilt_from_the_rings_is_the_one_the_recursion_finds(data: st.DataObject) -> None:
    """Recording every period, the round-the-clock kernel rebuilds them from the rings every 128 parts and writes
    them straight into each station's log (in one pool): the same periods, to the last bit and in the same
    order, as detecting them inside the recursion, including each station's period still open at the end. Runs
    cross the kernel's 8,192-part returns and the logs' moves to their reserved regions, with buffers deeper than
    the rings, ended by a
    number of parts or by the horizon, with or without a warm-up."""
    k = data.draw(st.integers(1, 7))
    cycles = [data.draw(st.sampled_from([6.0, 9.0, 10.0, 12.0])) for _ in range(k)]
    dists = [data.draw(st.sampled_from(["exp", "det", "lognormal", "uniform"])) for _ in range(k)]
    cvs = [data.draw(st.sampled_from([0.1, 0.5])) if d in ("lognormal", "uniform") else None for d in dists]
    buffers = [data.draw(st.sampled_from([0, 1, 2, 3, 300])) for _ in range(k)]
    raw = line_data(cycles, buffers, dist=dists, cv=cvs)
    raw["scenario"]["seed"] = data.draw(st.integers(0, 2**31))
    sc = twin.from_dict(raw)
    parts = data.draw(st.sampled_from([None, 1, 300, 9_000, 20_001]))
    cfg = RunConfig(horizon_s=data.draw(st.sampled_from([0.5, 30.0, 80.0])) * 3600.0 if parts is None else 1e9,
                    seed=sc.seed, stop_after_parts=parts, replication=data.draw(st.integers(0, 2)),
                    warmup_s=0.0 if parts else data.draw(st.sampled_from([0.0, 600.0])), active_periods=True)
    want = detected_inline(sc, cfg)
    got = simulate_flow(sc, cfg)
    assert got.end_s == want.end_s and got.pruned_periods is None
    np.testing.assert_array_equal(got.shares, want.shares)
    assert got.active_periods is not None and want.active_periods is not None
    assert len(got.active_periods) == k
    for (ga, gb), (wa, wb) in zip(got.active_periods, want.active_periods):
        assert ga.dtype == wa.dtype == np.float64
        assert ga.tobytes() == wa.tobytes() and gb.tobytes() == wb.tobytes()


def test_every_period_survives_the_log_pool_moving_and_growing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The logs of every period live in one pool: a station short of room moves once to the region reserved for it,
    and past that the pool is replaced by a larger one. With the least room allowed (the next rebuild's periods,
    130 places) and reservations of twice that, a 3,000-part run makes both happen, growing several times; the
    periods are still, to the bit, those found inside the recursion."""
    from twin.engine import flow, flow_serial

    sc = twin.from_dict(line_data([9.0, 10.0, 6.0, 10.0], [0, 2, 1], dist=["exp", "exp", "det", "lognormal"],
                                  cv=[None, None, None, 0.4]))
    cfg = RunConfig(horizon_s=1e9, seed=sc.seed, stop_after_parts=3_000, active_periods=True)
    grown: list[int] = []
    real_grow = flow._StationLogs.grow

    def counting_grow(self: Any, more: int) -> None:
        grown.append(int(self.pool.shape[0]))
        real_grow(self, more)

    monkeypatch.setattr(flow._StationLogs, "FIRST", flow_serial.SETTLE_EVERY + 2)
    monkeypatch.setattr(flow._StationLogs, "RESERVE", 2 * (flow_serial.SETTLE_EVERY + 2))
    monkeypatch.setattr(flow._StationLogs, "grow", counting_grow)
    got = simulate_flow(sc, cfg)
    want = detected_inline(sc, cfg)
    assert len(grown) >= 3 and grown[1:] == sorted(grown[1:])
    assert got.active_periods is not None and want.active_periods is not None
    assert sum(len(a) for a, _ in got.active_periods) > 4 * 3_000 // 3
    for (ga, gb), (wa, wb) in zip(got.active_periods, want.active_periods):
        assert ga.tobytes() == wa.tobytes() and gb.tobytes() == wb.tobytes()
