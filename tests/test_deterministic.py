"""Tier 1: exact event logs and exact KPIs on deterministic lines, computed by hand."""

from __future__ import annotations

import math

import pytest

import twin
from tests.helpers import exits, line, one_run, segments

HOUR = 3600.0


def test_five_station_line_makes_1917_parts_in_8_hours() -> None:
    sc = line([10, 12, 15, 11, 9], 2)
    res = one_run(sc, 8 * HOUR, trace=True)
    assert res.line_finished[0] == 1917
    out = exits(res)
    assert out[0] == 57.0  # 10 + 12 + 15 + 11 + 9
    assert all(b - a == 15.0 for a, b in zip(out, out[1:]))
    assert len(out) == 1917


def test_five_station_line_through_the_api_and_json() -> None:
    sc = line([10, 12, 15, 11, 9], 2)
    res = twin.run(sc, hours=8, warmup_hours=0, reps=1)
    data = res.to_dict()
    assert data["lines"][0]["finished"]["mean"] == 1917
    assert data["throughput"]["per_hour"]["mean"] == pytest.approx(1917 / 8)


@pytest.mark.parametrize("buffers", [0, 1, 5])
def test_deterministic_throughput_is_the_slowest_station_for_any_buffer(buffers: int) -> None:
    # methods.md: TH = 1 / max_j(c_j / m_j) for any buffers.
    sc = line([10, 80, 10], buffers, servers=[1, 3, 1])
    res = twin.run(sc, hours=100, warmup_hours=1, reps=1)
    assert res.throughput.per_hour.mean == pytest.approx(135.0, abs=3 / 99)  # at most 3 parts of edge effect
    assert res.throughput.per_working_hour.mean == pytest.approx(135.0, abs=3 / 99)


def test_three_servers_release_in_order_of_completion() -> None:
    sc = line([10, 80, 10], 0, servers=[1, 3, 1])
    res = one_run(sc, 1000, trace=True)
    # B's servers start at 10, 20, 30 and finish 90, 100, 110; each part then takes 10 s on C.
    assert exits(res)[:6] == [100.0, 110.0, 120.0, 180.0, 190.0, 200.0]


def test_blocking_after_service_with_no_buffer_event_log() -> None:
    sc = line([10, 15], 0)
    res = one_run(sc, 100, trace=True)
    assert segments(res, 0)[:6] == [
        ("working", 0.0, 10.0),
        ("working", 10.0, 20.0),
        ("blocked", 20.0, 25.0),  # B is busy until 25 and there is no place between them
        ("working", 25.0, 35.0),
        ("blocked", 35.0, 40.0),
        ("working", 40.0, 50.0),
    ]
    assert segments(res, 1)[:3] == [("starved", 0.0, 10.0), ("working", 10.0, 25.0), ("working", 25.0, 40.0)]
    assert exits(res)[:4] == [25.0, 40.0, 55.0, 70.0]


def test_buffer_of_one_holds_one_part_between_machines() -> None:
    sc = line([10, 15], 1)
    res = one_run(sc, 100, trace=True)
    # A: part 2 waits in the buffer from 20; part 3 finishes at 30 after B took part 2 at 25: no blocking yet.
    a = segments(res, 0)
    assert a[:3] == [("working", 0.0, 10.0), ("working", 10.0, 20.0), ("working", 20.0, 30.0)]
    # Part 4 finishes at 40, when B takes part 3 from the buffer: it moves on without waiting.
    assert ("blocked", 40.0, 40.0) not in a
    assert exits(res)[:4] == [25.0, 40.0, 55.0, 70.0]
    # From t = 30 on, A is blocked 5 s in every 15 s.
    blocked = [s for s in a if s[0] == "blocked"]
    assert blocked[0] == ("blocked", 50.0, 55.0)


def test_state_shares_in_a_window_are_exact() -> None:
    # Steady state of A(10 s) -> B(15 s) with no buffer: A works 10 s and is blocked 5 s in every 15 s.
    sc = line([10, 15], 0)
    res = one_run(sc, 400, warmup_s=100)
    working, blocked, starved, down, off = res.shares[0]
    assert working == pytest.approx(2 / 3, abs=1e-12)
    assert blocked == pytest.approx(1 / 3, abs=1e-12)
    assert starved == pytest.approx(0.0, abs=1e-12)
    assert res.shares[1][0] == pytest.approx(1.0, abs=1e-12)
    assert res.shares.sum(axis=1) == pytest.approx([1.0, 1.0])


def _busy_failure_exits(cycle: float, ttf: float, ttr: float, n: int) -> list[float]:
    """Saturated single machine, busy-based failures every `ttf` s of work: part k leaves at
    k·cycle + ttr·#{failures due strictly before its completion} (a failure due exactly at a completion
    strikes at the start of the next part)."""
    return [k * cycle + ttr * sum(1 for f in range(1, n * 10) if f * ttf < k * cycle) for k in range(1, n + 1)]


def test_busy_based_failures_preempt_and_resume() -> None:
    sc = line([10], mtbf_s=25.0, mttr_s=5.0, ttf_dist="det", ttr_dist="det")
    res = one_run(sc, 200, trace=True)
    assert exits(res)[:8] == _busy_failure_exits(10, 25, 5, 8) == [10, 20, 35, 45, 55, 70, 80, 95]
    seg = segments(res, 0)
    assert seg[2:5] == [("working", 20.0, 25.0), ("down", 25.0, 30.0), ("working", 30.0, 35.0)]


def test_busy_based_failures_never_strike_an_idle_machine() -> None:
    # B (5 s) is idle 15 s in every 20 s; its failure clock only runs while it works: one failure per 3 parts.
    sc = line([20, 5], 0, mtbf_s=[None, 15.0], mttr_s=[None, 4.0], ttf_dist=[None, "det"], ttr_dist=[None, "det"])
    res = one_run(sc, 600, trace=True)
    # Parts reach B at 20, 40, ..., 580. Every 3 parts B has worked 15 s; that failure is due exactly at a
    # completion, so it strikes when the next part starts: parts 4, 7, 10, ... start with a repair.
    down = [s for s in segments(res, 1) if s[0] == "down"]
    assert [d[1] for d in down] == [20.0 * k for k in range(4, 30, 3)]
    assert all(d[2] - d[1] == 4.0 for d in down)
    assert exits(res)[3] == 80.0 + 4.0 + 5.0


def test_calendar_based_failures_count_down_time_even_when_starved() -> None:
    # B (5 s) is fed every 20 s; calendar-based failures down [12 + 15k, 15 + 15k): 3 s in every 15 s.
    sc = line([20, 5], 0, mtbf_s=[None, 12.0], mttr_s=[None, 3.0], ttf_dist=[None, "det"], ttr_dist=[None, "det"],
              failure_basis=[None, "calendar"])
    res = one_run(sc, 600, trace=True)
    working, blocked, starved, down, off = res.shares[1]
    assert down == pytest.approx(0.2, abs=1e-12)
    assert working == pytest.approx(29 * 5 / 600, abs=1e-12)
    assert starved == pytest.approx(1 - 0.2 - 29 * 5 / 600, abs=1e-12)
    assert res.shares[0][0] == pytest.approx(1.0)
    # The part arriving at 40 works 40-42, waits out the failure 42-45, and finishes at 48.
    assert exits(res)[:3] == [25.0, 48.0, 65.0]


def test_calendar_stops_stations_and_carries_work_over_the_night() -> None:
    cal = {"shifts": [{"start": "08:00", "end": "16:00"}], "days_per_week": 5}
    sc = line([70], calendar=cal)
    res = one_run(sc, 7 * 24 * HOUR)
    assert res.line_finished[0] == math.floor(5 * 8 * HOUR / 70)  # 2057: work carries over shift ends
    working, blocked, starved, down, off = res.shares[0]
    assert off == pytest.approx(1 - 40 / 168, abs=1e-12)
    assert working == pytest.approx(40 / 168, abs=1e-12)  # the 2058th part is in work at the end
    result = twin.run(sc, hours=168, warmup_hours=0, reps=1)
    assert result.throughput.per_working_hour.mean == pytest.approx(2057 / 40)
    assert result.throughput.per_hour.mean == pytest.approx(2057 / 168)


def test_breaks_and_night_shifts() -> None:
    cal = {"shifts": [{"start": "22:00", "end": "06:00"}], "breaks": [{"start": "02:00", "minutes": 30}],
           "days_per_week": 5}
    sc = line([60], calendar=cal)
    res = one_run(sc, 7 * 24 * HOUR, trace=True)
    assert res.line_finished[0] == 5 * 450  # 7.5 working hours a night
    first = exits(res)[0]
    assert first == 22 * HOUR + 60.0  # Monday 22:01
    # No part leaves during the 02:00-02:30 break of the first night.
    assert not any(26 * HOUR < t < 26.5 * HOUR for t in exits(res))


def test_independent_lines_add_up() -> None:
    data = {
        "scenario": {"name": "two"},
        "lines": [
            {"name": "A", "stations": [{"name": "x", "cycle_s": 30.0}]},
            {"name": "B", "stations": [{"name": "x", "cycle_s": 60.0}, {"name": "y", "cycle_s": 20.0}]},
        ],
    }
    res = twin.run(twin.from_dict(data), hours=10, warmup_hours=1, reps=1)
    assert res.line("A").throughput.per_hour.mean == pytest.approx(120.0)
    assert res.line("B").throughput.per_hour.mean == pytest.approx(60.0)
    assert res.throughput.per_hour.mean == pytest.approx(180.0)


def test_lead_time_and_wip_of_a_deterministic_line() -> None:
    # A(10) -> B(10), no buffer: every part spends exactly 20 s; WIP is 2 in steady state.
    res = twin.run(line([10, 10], 0), hours=1, warmup_hours=0.1, reps=1)
    assert res.lead_time_s.mean == pytest.approx(20.0)
    assert res.wip.mean == pytest.approx(2.0)


def test_stop_after_parts() -> None:
    res = one_run(line([10, 12, 15, 11, 9], 2), 1e9, stop_after_parts=100)
    assert res.line_finished_total[0] == 100
    assert res.end_s == 57 + 99 * 15
