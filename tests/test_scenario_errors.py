"""Bad scenarios: `twin check` lists every problem at once, each naming item, field, value and what is allowed.

Each problem is rendered by `twin.errors.Problem.render` as ``{item}: {field} = {value}: {allowed}`` (or
``{item}: {field} is missing: ...``) under a header ``{file}: N problem(s)``; the tests look for that whole line
so that the item label, the field, the value and the "allowed" phrase are checked together.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import twin
from tests.helpers import line
from twin.cli import main

PRESS = "lines[0].stations[2] 'press'"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(autouse=True)
def _plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """No colour codes in captured output, whatever the environment of the test run says."""
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


# ----------------------------------------------------------------------------------------------- helpers
def scenario_text(press: str = "cycle_s = 30.0", *, calendar: str = "", more: str = "") -> str:
    """A valid one-line scenario of three stations (cut, weld, press); `press` holds the fields of the third."""
    return f"""\
[scenario]
name = "errors"
seed = 1
{calendar}

[[lines]]
name = "L"

[[lines.stations]]
name = "cut"
cycle_s = 20.0

[[lines.stations]]
name = "weld"
cycle_s = 25.0
buffer = 2

[[lines.stations]]
name = "press"
{press}

{more}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], path: Path | str) -> tuple[int, str, str]:
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    return code, ANSI.sub("", out), ANSI.sub("", err)


def problem_lines(err: str) -> list[str]:
    return [ln.strip()[2:] for ln in err.splitlines() if ln.strip().startswith("- ")]


def assert_problem(err: str, item: str, what: str, allowed: str) -> None:
    """One problem line names the item, `field = value` (or `field is missing`) and the allowed phrase."""
    prefix = f"{item}: {what}: " if item else f"{what}: "
    hits = [p for p in problem_lines(err) if p.startswith(prefix) and allowed in p[len(prefix):]]
    assert hits, f"expected a problem starting {prefix!r} and saying {allowed!r}; got:\n{err}"


def assert_rejected(code: int, out: str, err: str, path: Path | str, count: int | None = None) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "Traceback" not in out
    assert out == ""  # problems go to stderr
    head = re.search(rf"{re.escape(str(path))}: (\d+) problems?", err)
    assert head, f"no header naming {path}:\n{err}"
    listed = problem_lines(err)
    assert int(head.group(1)) == len(listed), err
    if count is not None:
        assert len(listed) == count, err


# ----------------------------------------------------------------------------------------------- a valid file
def test_valid_scenario_prints_a_summary_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, scenario_text())
    code, out, err = check(capsys, path)
    assert code == 0, err
    assert f"ok {path}: scenario errors, seed 1, 1 line(s), 3 station(s)" in out  # the summary is the result
    assert "limited by 'press'" in out  # the 30 s press is the slowest station
    assert "Traceback" not in err and err == ""


# ----------------------------------------------------------------------------------------------- one problem each
# (press fields, calendar, more TOML, expected item, "field = value", allowed phrase)
ONE_PROBLEM = {
    "unknown_key": ('cycle_s = 30.0\ncolour = "red"', "", "",
                    PRESS, "colour = 'red'", "unknown key; allowed here: name, cycle_s, dist, cv"),
    "wrong_type_string_for_number": ('cycle_s = "fast"', "", "",
                                     PRESS, "cycle_s = 'fast'", "should be a valid number"),
    "wrong_type_float_for_integer": ("cycle_s = 30.0\nservers = 1.5", "", "",
                                     PRESS, "servers = 1.5", "should be a valid integer"),
    "negative_cycle_time": ("cycle_s = -5.0", "", "", PRESS, "cycle_s = -5.0", "must be > 0"),
    "zero_cycle_time": ("cycle_s = 0", "", "", PRESS, "cycle_s = 0", "must be > 0"),
    "negative_cv": ('cycle_s = 30.0\ndist = "normal"\ncv = -0.2', "", "", PRESS, "cv = -0.2", "must be >= 0"),
    "servers_below_one": ("cycle_s = 30.0\nservers = 0", "", "", PRESS, "servers = 0", "must be >= 1"),
    "negative_buffer": ("cycle_s = 30.0\nbuffer = -1", "", "", PRESS, "buffer = -1", "must be >= 0"),
    "mttr_without_mtbf": ("cycle_s = 30.0\nmttr_s = 300.0", "", "",
                          PRESS, "mttr_s = 300.0", "given without mtbf_s"),
    "unknown_dist": ('cycle_s = 30.0\ndist = "poisson"', "", "",
                     PRESS, "dist = 'poisson'", "must be one of det, exp, normal"),
    "overlapping_shifts": ("cycle_s = 30.0",
                           '[calendar]\nshifts = [{ start = "06:00", end = "14:00" }, { start = "13:00", end = "22:00" }]',
                           "", "calendar.shifts[1]", "start = '13:00'",
                           "overlaps shifts[0] (06:00-14:00); shifts must not overlap"),
    "empty_line": ("cycle_s = 30.0", "", '[[lines]]\nname = "empty"\nstations = []',
                   "lines[1] 'empty'", "stations = []", "a line needs at least one [[lines.stations]]"),
    "line_without_stations_key": ("cycle_s = 30.0", "", '[[lines]]\nname = "empty"',
                                  "lines[1] 'empty'", "stations is missing", "a line needs at least one [[lines.stations]]"),
}


@pytest.mark.parametrize("case", list(ONE_PROBLEM), ids=list(ONE_PROBLEM))
def test_one_problem_names_item_field_value_and_what_is_allowed(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    press, calendar, more, item, what, allowed = ONE_PROBLEM[case]
    path = write(tmp_path, scenario_text(press, calendar=calendar, more=more))
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path)
    assert_problem(err, item, what, allowed)


def test_wrong_type_of_failure_distribution_is_a_problem_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A TOML array where a distribution name belongs, next to its cv: the cross-field rules must tolerate it.
    press = 'cycle_s = 30.0\nmtbf_s = 3600.0\nmttr_s = 300.0\nttr_dist = ["exp"]\nttr_cv = 0.3'
    path = write(tmp_path, scenario_text(press))
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path)
    assert_problem(err, PRESS, "ttr_dist = ['exp']", "must be one of det, exp")


def test_bad_toml_syntax(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[scenario]\nname = "broken"\n\n[[lines]\nname = "L"\n')
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)
    assert_problem(err, "", "invalid TOML", "(at line 4, column 8): fix the syntax")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nowhere.toml"
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)
    assert_problem(err, "", f"file = {str(path)!r}", "no such file; give the path to a .toml scenario")


def test_scenario_with_empty_lines_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, 'lines = []\n\n[scenario]\nname = "no lines"\n')
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)
    assert_problem(err, "", "lines = []", "a scenario needs at least one [[lines]] with stations")


def test_scenario_without_any_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[scenario]\nname = "no lines"\n')
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)
    assert_problem(err, "", "lines is missing", "required")


# ----------------------------------------------------------------------------------------------- all at once
# Every rule above in one file (bad syntax, a missing file and "no lines at all" cannot share a file with the rest).
EVERYTHING_WRONG = """\
[scenario]
name = "everything wrong"
colour = "red"

[calendar]
shifts = [{ start = "06:00", end = "14:00" }, { start = "13:00", end = "22:00" }]
breaks = [{ start = "23:00", minutes = 15 }]

[[lines]]
name = "L"

[[lines.stations]]
name = "cut"
cycle_s = "fast"

[[lines.stations]]
name = "weld"
cycle_s = -5.0

[[lines.stations]]
name = "press"
cycle_s = 0
dist = "normal"
cv = -0.2
servers = 0
buffer = -1
mttr_s = 300.0
speed = 3

[[lines.stations]]
name = "paint"
cycle_s = 10.0
dist = "poisson"

[[lines]]
name = "empty"
stations = []
"""

EVERY_PROBLEM = [
    ("scenario", "colour = 'red'", "unknown key; allowed here: name, seed"),
    ("lines[0].stations[0] 'cut'", "cycle_s = 'fast'", "should be a valid number"),
    ("lines[0].stations[1] 'weld'", "cycle_s = -5.0", "must be > 0"),
    (PRESS, "cycle_s = 0", "must be > 0"),
    (PRESS, "cv = -0.2", "must be >= 0"),
    (PRESS, "servers = 0", "must be >= 1"),
    (PRESS, "buffer = -1", "must be >= 0"),
    (PRESS, "mttr_s = 300.0", "given without mtbf_s"),
    (PRESS, "speed = 3", "unknown key; allowed here:"),
    ("lines[0].stations[3] 'paint'", "dist = 'poisson'", "must be one of det, exp"),
    ("calendar.shifts[1]", "start = '13:00'", "shifts must not overlap"),
    ("calendar.breaks[0]", "start = '23:00'", "must lie inside one shift"),
    ("lines[1] 'empty'", "stations = []", "a line needs at least one [[lines.stations]]"),
]


def test_every_problem_in_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, EVERYTHING_WRONG)
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=len(EVERY_PROBLEM))
    assert err.count("error:") == 1  # one message, not one per problem
    for item, what, allowed in EVERY_PROBLEM:
        assert_problem(err, item, what, allowed)


def test_every_problem_in_one_message_from_a_subprocess(tmp_path: Path) -> None:
    path = write(tmp_path, EVERYTHING_WRONG)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env["NO_COLOR"] = "1"
    proc = subprocess.run([sys.executable, "-m", "twin", "check", str(path)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    err = ANSI.sub("", proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert_rejected(proc.returncode, proc.stdout, err, path, count=len(EVERY_PROBLEM))
    for item, what, allowed in EVERY_PROBLEM:
        assert_problem(err, item, what, allowed)


def test_load_raises_scenario_error_carrying_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, EVERYTHING_WRONG)
    with pytest.raises(twin.ScenarioError) as info:
        twin.load(path)
    exc = info.value
    assert isinstance(exc, twin.TwinError)
    assert exc.source == str(path)
    assert len(exc.problems) == len(EVERY_PROBLEM)
    assert all(isinstance(p, twin.Problem) for p in exc.problems)
    press_fields = {p.field: p.value for p in exc.problems if p.item == PRESS}
    assert press_fields == {"cycle_s": 0, "cv": -0.2, "servers": 0, "buffer": -1, "mttr_s": 300.0, "speed": 3}
    assert str(exc).startswith(f"{path}: {len(EVERY_PROBLEM)} problems\n  - ")


# ----------------------------------------------------------------------------------------------- what-ifs
def test_with_station_bad_change_raises_and_leaves_the_original_alone() -> None:
    sc = line([50, 40])
    with pytest.raises(twin.ScenarioError) as info:
        sc.with_station("L", "M1", cycle_s=-1)
    problems = info.value.problems
    assert [(p.item, p.field, p.value) for p in problems] == [("lines[0].stations[0] 'M1'", "cycle_s", -1)]
    assert problems[0].allowed == "must be > 0"
    assert "lines[0].stations[0] 'M1': cycle_s = -1: must be > 0" in str(info.value)
    assert sc.station("L", "M1").cycle_s == 50.0


def test_with_station_mttr_without_mtbf_is_the_same_problem_as_in_a_file() -> None:
    sc = line([50, 40])
    with pytest.raises(twin.ScenarioError) as info:
        sc.with_station("L", "M2", mttr_s=60.0)
    assert [p.render() for p in info.value.problems] == [
        "lines[0].stations[1] 'M2': mttr_s = 60.0: given without mtbf_s: set mtbf_s (mean time between failures) "
        "too, or remove mttr_s"
    ]


def test_with_station_unknown_station_names_the_stations() -> None:
    sc = line([50, 40])
    with pytest.raises(twin.ScenarioError) as info:
        sc.with_station("L", "M9", cycle_s=10)
    assert "no such station; stations are ['M1', 'M2']" in str(info.value)


# ----------------------------------------------------------------------------------------------- calendars, samples
def test_break_outside_every_shift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calendar = ('[calendar]\nshifts = [{ start = "06:00", end = "14:00" }, { start = "14:00", end = "22:00" }]\n'
                'breaks = [{ start = "10:00", minutes = 30 }, { start = "23:00", minutes = 15 }]\ndays_per_week = 5')
    path = write(tmp_path, scenario_text(calendar=calendar))
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)  # the 10:00 break is fine, the 23:00 one is not
    assert_problem(err, "calendar.breaks[1]", "start = '23:00'", "a break of 15 min from 23:00 must lie inside one shift")


def test_days_per_week_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, scenario_text(calendar="[calendar]\ndays_per_week = 8"))
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)
    assert_problem(err, "calendar", "days_per_week = 8", "must be <= 7")


def test_samples_csv_with_a_non_number_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "times.csv").write_text("seconds\n31.5\n12,abc\nabc\n40\n", encoding="utf-8")
    path = write(tmp_path, scenario_text('dist = "empirical"\nsamples_csv = "times.csv"'))
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)
    # row 1 is a header; row 4 holds "abc"
    assert_problem(err, PRESS, "samples_csv = 'times.csv'", "every time must be a number > 0; bad row 4: 'abc'")


def test_samples_csv_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, scenario_text('dist = "empirical"\nsamples_csv = "missing.csv"'))
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)
    assert_problem(err, PRESS, "samples_csv = 'missing.csv'", "cannot be read")


def test_empirical_without_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, scenario_text('dist = "empirical"'))
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path, count=1)
    assert_problem(err, PRESS, "samples_s is missing", "needs samples_s = [...] or samples_csv")
