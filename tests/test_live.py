"""The live run behind the desktop app: stepping, snapshots, edits that take effect at once, A/B with CRN."""

from __future__ import annotations

import pytest

import twin
from tests.helpers import line
from twin.engine.live import LiveRun
from twin.errors import ScenarioError
from twin.scenario import builtin_names


def test_stepping_a_deterministic_line_gives_the_proved_count_and_states() -> None:
    run = LiveRun(line([10, 12, 15, 11, 9], 2))
    for _ in range(8):
        run.advance(3600.0)
    snap = run.snapshot()
    assert snap.time_s == 8 * 3600.0
    assert snap.finished == {"L": 1917} and snap.product_finished() == 1917
    # the 15 s station paces the line: the faster ones upstream fill their buffers, the ones after it wait
    assert [b.level for b in snap.buffers] == [2, 2, 0, 0]
    assert snap.stations[2].states == ("working",)
    assert snap.stations[4].states == ("starved",)


def test_a_station_waiting_for_room_downstream_shows_blocked() -> None:
    run = LiveRun(line([5, 20], 0))
    run.advance(12.0)  # M1 finished its second part at 10 s; M2 holds the first until 25 s
    assert [s.states for s in run.snapshot().stations] == [("blocked",), ("working",)]


def test_a_new_cycle_time_takes_effect_with_the_next_part() -> None:
    run = LiveRun(line([10]))
    run.advance(100.0)  # parts out at 10 ... 90; the one started at 90 ends at 100 as it was drawn
    assert run.snapshot().finished["L"] == 9
    run.edit("L", "M1", cycle_s=5.0)
    run.advance(100.0)  # out at 100, then every 5 s: 105 ... 195
    assert run.snapshot().finished["L"] == 9 + 20
    assert run.scenario.station("L", "M1").cycle_s == 5.0  # what "save" would write
    assert run.snapshot().stations[0].cycle_s == 5.0


def test_more_servers_work_at_once_and_fewer_retire_after_their_part() -> None:
    run = LiveRun(line([10]))
    run.advance(100.0)
    run.edit("L", "M1", servers=2)
    run.advance(100.0)  # the old server: 100, 110, ..., 190; the new one from 100: 110, ..., 190
    assert run.snapshot().finished["L"] == 9 + 10 + 9
    assert len(run.snapshot().stations[0].states) == 2
    run.edit("L", "M1", servers=1)
    before = run.snapshot().finished["L"]
    run.advance(1000.0)
    assert run.snapshot().finished["L"] - before == pytest.approx(100, abs=2)


def test_a_larger_buffer_lets_a_blocked_part_move_on_at_once() -> None:
    run = LiveRun(line([5, 20], 0))
    run.advance(12.0)
    run.edit("L", "M1", buffer=1)
    run.advance(0.0)
    snap = run.snapshot()
    assert snap.buffers[0].level == 1 and snap.buffers[0].capacity == 1
    assert snap.stations[0].states == ("working",)


def test_failures_switched_on_while_running_show_as_down() -> None:
    run = LiveRun(line([10], dist="det"))
    run.edit("L", "M1", mtbf_s=50.0, mttr_s=1000.0)
    seen = set()
    for _ in range(200):
        run.advance(20.0)
        seen.update(run.snapshot().stations[0].states)
    assert "down" in seen and "working" in seen


def test_a_b_runs_with_common_random_numbers_differ_by_the_edit_alone() -> None:
    base = line([10, 10], 1, dist="exp")
    a, b = LiveRun(base), LiveRun(base)
    b.edit("L", "M2", cycle_s=5.0)
    twin_a, twin_b = LiveRun(base), LiveRun(base)
    twin_b.edit("L", "M2", cycle_s=5.0)
    for run in (a, b, twin_a, twin_b):
        run.advance(5000.0)
    assert a.snapshot() == twin_a.snapshot() and b.snapshot() == twin_b.snapshot()  # same seed, same path
    assert b.snapshot().finished["L"] > a.snapshot().finished["L"]
    # deterministic case: 10 s against 5 s on a single station, exactly 999 - 499 apart after 5,000 s
    d1, d2 = LiveRun(line([10])), LiveRun(line([10]))
    d2.edit("L", "M1", cycle_s=5.0)
    d1.advance(5000.0)
    d2.advance(5000.0)
    assert d2.snapshot().finished["L"] - d1.snapshot().finished["L"] == 999 - 499


def test_reset_starts_again_with_the_edited_scenario() -> None:
    run = LiveRun(line([10]))
    run.edit("L", "M1", cycle_s=4.0)
    run.advance(50.0)
    run.reset()
    assert run.time_s == 0.0
    run.advance(41.0)
    assert run.snapshot().finished["L"] == 10


def test_bad_edits_are_refused_with_the_field_named() -> None:
    run = LiveRun(line([10]))
    with pytest.raises(ScenarioError, match="cycle_s"):
        run.edit("L", "M1", cycle_s=-1.0)
    with pytest.raises(ValueError, match="dist"):
        run.edit("L", "M1", dist="exp")


@pytest.mark.parametrize("name", builtin_names())
def test_every_built_in_scenario_steps_and_snapshots(name: str) -> None:
    run = LiveRun(twin.load(name))
    run.advance(3600.0)
    snap = run.snapshot()
    assert len(snap.stations) == sum(len(ln.stations) for ln in run.scenario.spec.lines)
    assert all(state in ("working", "blocked", "starved", "down", "off_shift")
               for st in snap.stations for state in st.states)


def test_a_live_run_of_the_new_kinds_steps_shows_them_as_stations_and_edits_what_it_can() -> None:
    from pathlib import Path

    sc = twin.load(Path(__file__).resolve().parent.parent / "docs" / "examples" / "primitives.toml")
    run = LiveRun(sc)
    for _ in range(30):
        run.advance(3600.0)
    snap = run.snapshot()
    views = {(s.line, s.name): s for s in snap.stations}
    assert len(views[("wheel", "t6")].states) == 2  # two furnaces, a state each
    assert len(views[("wheel", "paint")].states) == 1  # one chain
    assert len(views[("wheel", "cool")].states) == 60  # a delay: a station of 60 places
    assert "wheel (external)" in views[("assembly", "marriage")].inputs
    assert snap.product_finished() > 0
    with pytest.raises(ValueError, match="conveyor cannot be edited"):
        run.edit("wheel", "paint", cycle_s=10.0)
    run.edit("wheel", "t6", servers=3, cycle_s=30000.0)  # a third furnace starts loading at once
    run.edit("wheel", "cast", buffer=30)  # the buffer before the furnaces
    run.advance(3600.0)
    assert len(run.snapshot().stations[1].states) == 3
