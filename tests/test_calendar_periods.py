"""Yearly calendars (`[[calendar.periods]]`): a ramp-up, peak months in three shifts, a shutdown.

Hand-computed working time on the model year (365 days from Monday 1 January), both engines on the same sample
path under such a calendar, the output counted by calendar day and month, and the errors of bad periods.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import twin
from tests.helpers import line_data
from tests.test_flow import assert_same, both
from twin.calendar import DAY_S, YEAR_S, Calendar
from twin.engine.model import RunConfig
from twin.errors import ScenarioError
from twin.experiment import run
from twin.spec import CalendarSpec

H = 3600.0
DAY_SHIFT = [{"start": "06:00", "end": "14:00"}]


def cal(**data: Any) -> Calendar:
    return Calendar.from_spec(CalendarSpec.model_validate(data))


def test_a_closed_month_takes_its_weekdays_out_of_the_year() -> None:
    c = cal(shifts=DAY_SHIFT, days_per_week=5, periods=[{"months": [2, 2], "days_per_week": 0}])
    assert c.period_s == YEAR_S
    # January: days 0-30 from a Monday: 4 whole weeks and Mon-Wed = 23 weekdays of 8 h
    assert c.to_working(31 * DAY_S) == 23 * 8 * H
    assert c.to_working(59 * DAY_S) == 23 * 8 * H  # February closed
    # the year: 52 weeks and a Monday = 261 weekdays, less February's 20
    assert c.to_working(YEAR_S) == 241 * 8 * H
    # the next year starts on the model year's Monday again: the calendar repeats yearly
    assert c.to_working(YEAR_S + DAY_S) == 242 * 8 * H
    assert c.to_calendar(23 * 8 * H + 1.0) == 59 * DAY_S + 6 * H + 1.0  # first working second after February


def test_a_night_shift_follows_the_period_of_each_day_from_midnight() -> None:
    night = [{"start": "22:00", "end": "06:00"}]
    c = cal(shifts=night, periods=[{"days": [2, 2], "days_per_week": 0, "note": "closed"}])
    # day 1 (Mon): 00-06 (Sunday night's tail) and 22-24; day 2 closed; day 3: 00-06 and 22-24
    assert c.to_working(DAY_S) == 8 * H
    assert c.to_working(2 * DAY_S) == 8 * H
    assert c.to_working(3 * DAY_S) == 16 * H


def test_a_period_changes_only_what_it_says() -> None:
    base = {"shifts": DAY_SHIFT + [{"start": "14:00", "end": "22:00"}], "breaks": [{"start": "10:00", "minutes": 30}],
            "days_per_week": 5}
    c = cal(**base, periods=[{"days": [8, 14], "days_per_week": 7}])  # the second week: 7 days, same shifts
    per_day = 16 * H - 0.5 * H
    assert c.to_working(7 * DAY_S) == 5 * per_day
    assert c.to_working(14 * DAY_S) == 12 * per_day
    assert c.to_working(21 * DAY_S) == 17 * per_day
    for t in (3 * DAY_S + 7 * H, 100 * DAY_S + 15.5 * H, 364 * DAY_S + 21 * H):
        assert c.to_calendar(c.to_working(t)) == pytest.approx(t, abs=1e-6)


def yearly_line(cycle_s: float, **station: Any) -> twin.Scenario:
    calendar = {"shifts": DAY_SHIFT + [{"start": "14:00", "end": "22:00"}], "days_per_week": 5,
                "periods": [{"months": [9, 12], "days_per_week": 6,
                             "shifts": DAY_SHIFT + [{"start": "14:00", "end": "22:00"}, {"start": "22:00", "end": "06:00"}]},
                            {"days": [29, 42], "days_per_week": 0, "note": "Spring Festival"}]}
    return twin.from_dict(line_data([cycle_s, cycle_s * 0.9, cycle_s * 0.8], 2, calendar=calendar, **station))


@pytest.mark.parametrize("servers", [1, 2])
def test_both_engines_give_the_same_year_under_a_yearly_calendar(servers: int) -> None:
    # servers = 1: the plain recursion; 2: the general kernel
    sc = yearly_line(900.0, dist=["exp", "det", "lognormal"], cv=[None, None, 0.4], servers=[1, servers, 1],
                     mtbf_s=[None, 20 * H, None], mttr_s=[None, H, None])
    cfg = RunConfig(horizon_s=YEAR_S + 30 * DAY_S, warmup_s=7 * DAY_S, seed=11)
    flow, des = both(sc, cfg)
    assert_same(flow, des)
    daily = des.line_daily[0]
    assert daily[28:42].sum() == 0 and daily[42:49].sum() > 0  # closed for the festival, then back
    assert daily.sum() == des.line_finished_total[0]


def test_monthly_output_of_a_deterministic_line_is_counted_by_hand() -> None:
    # one part an hour, round the clock, February closed: the part under way at the end of January finishes at
    # 00:00 + 1 h... of 1 March, when the clock resumes with its work done up to the end of January
    calendar = {"periods": [{"months": [2, 2], "days_per_week": 0}]}
    sc = twin.from_dict(line_data([3000.0], calendar=calendar))
    for engine in ("des", "flow"):
        res = run(sc, hours=365 * 24, warmup_hours=0, reps=1, engine=engine)
        months = {row["month"]: row["output"].mean for row in res.monthly}
        # January: parts at 3000 s, 6000 s, ... up to 31 days = 892.8 cycles -> 892; the 893rd has 600 s left
        assert months[1] == 892
        assert months[2] == 0
        # March: the 893rd at 600 s, then every 3000 s up to 31 days: 1 + floor((31 d - 600) / 3000) = 893
        assert months[3] == 893
        assert sum(months.values()) == res.replications[0].line_finished_total[0]
        assert res.peak_month.mean == max(months.values())


def test_bad_periods_are_all_reported(tmp_path: Any) -> None:
    data = line_data([10.0], calendar={
        "shifts": DAY_SHIFT,
        "periods": [{"months": [3, 2]}, {"months": [1, 1], "days": [3, 4]}, {"days": [1, 400]},
                    {"days": [5, 6], "shifts": DAY_SHIFT + [{"start": "13:00", "end": "20:00"}]}]})
    with pytest.raises(ScenarioError) as err:
        twin.from_dict(data)
    text = str(err.value)
    assert "calendar.periods[0]: months = [3, 2]: first <= last" in text
    assert "calendar.periods[1]" in text and "exactly one of months" in text
    assert "calendar.periods[2]: days[1] = 400: must be <= 365" in text
    assert "calendar.periods[3].shifts[1]: start = '13:00': overlaps shifts[0]" in text


def test_a_year_closed_every_day_is_refused() -> None:
    data = line_data([10.0], calendar={"periods": [{"days": [1, 200], "days_per_week": 0},
                                                   {"days": [150, 365], "days_per_week": 0}]})
    with pytest.raises(ScenarioError, match="at least one working day"):
        twin.from_dict(data)


def test_cli_prints_the_months_and_the_json_has_them(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_cli import cli

    path = tmp_path / "closed-feb.toml"
    path.write_text('[scenario]\nname = "m"\n\n[calendar]\n\n[[calendar.periods]]\nmonths = [2, 2]\n'
                    'days_per_week = 0\n\n[[lines]]\nname = "L"\n\n[[lines.stations]]\nname = "M1"\ncycle_s = 3000.0\n')
    out_json = tmp_path / "r.json"
    code, out, err = cli(capsys, "run", path, "--hours", "8760", "--warmup-hours", "0", "--reps", "2",
                         "--json", out_json)
    assert code == 0, err
    assert "largest month: 893" in out
    assert re.search(r"Feb\s+.\s+28\s+.\s+0\s", out)  # the month table: name, days, output
    doc = __import__("json").loads(out_json.read_text())
    assert [row["output"]["mean"] for row in doc["monthly"]][:3] == [892, 0, 893]
    assert doc["peak_month"]["mean"] == 893
