"""The `twin` command line (run, check, schema, usage errors) and the Python API it wraps.

The CLI is called in-process through `twin.cli.main(argv)`, which returns the exit code; a few checks also run
`python -m twin` in a subprocess, so that exit codes, stdout purity and tracebacks are seen as a user sees them.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import twin
from twin.cli import main

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
STATES = ("working", "blocked", "starved", "down", "off_shift")

TWO_LINES = """\
[scenario]
name = "two lines"
seed = 11

[[lines]]
name = "A"
rated_per_hour = 70

[[lines.stations]]
name = "M1"
cycle_s = 50.0
dist = "exp"
buffer = 2

[[lines.stations]]
name = "M2"
cycle_s = 40.0
dist = "exp"

[[lines]]
name = "B"

[[lines.stations]]
name = "P"
cycle_s = 60.0
"""

# Shifts, a break, failures and variable times: every one of the five states occurs.
SHIFTS_AND_FAILURES = """\
[scenario]
name = "shifts and failures"

[calendar]
shifts = [{ start = "06:00", end = "22:00" }]

[[lines]]
name = "L"

[[lines.stations]]
name = "M1"
cycle_s = 30.0
dist = "exp"
mtbf_s = 1800.0
mttr_s = 300.0

[[lines.stations]]
name = "M2"
cycle_s = 35.0
dist = "lognormal"
cv = 0.5
mtbf_s = 3600.0
mttr_s = 200.0

[[lines.stations]]
name = "M3"
cycle_s = 25.0
dist = "exp"
"""

DET_LINE = """\
[scenario]
name = "det"

[[lines]]
name = "L"

[[lines.stations]]
name = "M1"
cycle_s = 50.0

[[lines.stations]]
name = "M2"
cycle_s = 40.0
"""


@pytest.fixture(autouse=True)
def _plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def write(folder: Path, text: str, name: str = "scenario.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, ANSI.sub("", out), ANSI.sub("", err)


def run_json(capsys: pytest.CaptureFixture[str], path: Path, *args: Any) -> dict[str, Any]:
    code, out, err = cli(capsys, "run", path, *args, "--json", "-")
    assert code == 0, err
    return json.loads(out)


def subprocess_twin(*args: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env["NO_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", "twin", *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


# ----------------------------------------------------------------------------------------------- run --json
def test_run_json_on_stdout_only_with_the_contract_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    code, out, err = cli(capsys, "run", path, "--hours", 6, "--warmup-hours", 1, "--reps", 3, "--seed", 5,
                         "--json", "-")
    assert code == 0, err
    data = json.loads(out)  # nothing but JSON on stdout
    assert "Throughput" in err and "Stations" in err  # the tables went to stderr
    assert "Traceback" not in err

    assert data["scenario"] == "two lines"
    assert data["engine"] == "flow"  # auto: two serial lines are in the flow engine's class
    assert "class" in data["engine_reason"]
    assert data["seed"] == 5
    assert data["replications"] == 3
    assert data["horizon_s"] == 6 * 3600.0
    assert data["warmup_s"] == 1 * 3600.0

    tp = data["throughput"]
    mean = tp["per_hour"]["mean"]
    lo, hi = tp["per_hour"]["ci95"]
    assert all(isinstance(v, float) for v in (mean, lo, hi))
    assert lo <= mean <= hi
    # line B alone makes 60 parts an hour; line A at most 72
    assert 60 < mean < 60 + 72
    assert tp["per_year"]["mean"] == pytest.approx(mean * 8760)
    assert tp["per_working_hour"]["mean"] == pytest.approx(mean)  # no calendar: always working
    assert isinstance(data["wip"]["mean"], float) and data["wip"]["mean"] > 0
    assert isinstance(data["lead_time_s"]["mean"], float) and data["lead_time_s"]["mean"] >= 40.0

    assert [ln["name"] for ln in data["lines"]] == ["A", "B"]
    assert data["lines"][0]["rated_per_hour"] == 70
    assert data["lines"][1]["throughput"]["per_hour"]["mean"] == pytest.approx(60.0, abs=0.5)  # deterministic
    assert sum(ln["throughput"]["per_hour"]["mean"] for ln in data["lines"]) == pytest.approx(mean)

    assert [(st["line"], st["name"]) for st in data["stations"]] == [("A", "M1"), ("A", "M2"), ("B", "P")]
    for st in data["stations"]:
        assert 0 <= st["utilization"] <= 1
        assert set(st["state_share"]) == set(STATES)
        assert math.fsum(st["state_share"].values()) == pytest.approx(1.0, abs=1e-9)


def test_state_shares_sum_to_one_with_shifts_and_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, SHIFTS_AND_FAILURES)
    data = run_json(capsys, path, "--hours", 30, "--reps", 2, "--seed", 1, "-q")
    for st in data["stations"]:
        shares = st["state_share"]
        assert set(shares) == set(STATES)
        assert all(v >= -1e-12 for v in shares.values())
        assert math.fsum(shares.values()) == pytest.approx(1.0, abs=1e-9)
        assert shares["off_shift"] > 0.3  # 8 of every 24 h, measured from 3 h to 30 h
        assert st["utilization"] == pytest.approx(shares["working"] / (1 - shares["off_shift"]))  # of on-shift time
    m1, m2, m3 = data["stations"]
    assert m1["state_share"]["down"] > 0 and m2["state_share"]["down"] > 0 and m3["state_share"]["down"] == 0
    assert m1["state_share"]["blocked"] > 0 and m3["state_share"]["starved"] > 0
    tp = data["throughput"]
    assert tp["per_working_hour"]["mean"] > tp["per_hour"]["mean"]


def test_same_seed_same_bytes_across_runs_and_processes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    args = ("--hours", 4, "--reps", 2, "--seed", 7, "-q")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert cli(capsys, "run", path, *args, "--json", first)[0] == 0
    assert cli(capsys, "run", path, *args, "--json", second)[0] == 0
    assert first.read_bytes() == second.read_bytes()
    # and from a fresh interpreter (another hash seed), on stdout
    proc = subprocess_twin("run", path, *args, "--json", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.encode("utf-8") == first.read_bytes()


def test_another_seed_gives_another_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    a = run_json(capsys, path, "--hours", 4, "--reps", 2, "--seed", 1, "-q")
    b = run_json(capsys, path, "--hours", 4, "--reps", 2, "--seed", 2, "-q")
    assert a["seed"] == 1 and b["seed"] == 2
    random_line = 0  # line A has exponential times; line B is deterministic
    assert a["lines"][random_line]["throughput"]["per_hour"] != b["lines"][random_line]["throughput"]["per_hour"]
    assert a["lines"][1]["throughput"]["per_hour"]["mean"] == b["lines"][1]["throughput"]["per_hour"]["mean"]


def test_scenario_seed_is_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    assert run_json(capsys, path, "--hours", 2, "--reps", 2, "-q")["seed"] == 11


def test_json_path_is_not_overwritten_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    target = tmp_path / "out.json"
    target.write_text("keep me\n", encoding="utf-8")
    code, out, err = cli(capsys, "run", path, "--hours", 2, "--reps", 2, "-q", "--json", target)
    assert code == 2
    assert target.read_text(encoding="utf-8") == "keep me\n"
    assert "the file exists" in err and "--force" in err and str(target) in err
    assert "Traceback" not in err and out == ""

    code, out, err = cli(capsys, "run", path, "--hours", 2, "--reps", 2, "-q", "--json", target, "--force")
    assert code == 0, err
    assert json.loads(target.read_text(encoding="utf-8"))["scenario"] == "two lines"
    assert out == ""  # the JSON went to the file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "scenario.toml"]  # no temporary left over


def test_json_path_in_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    code, out, err = cli(capsys, "run", path, "--hours", 2, "--reps", 2, "-q", "--json", tmp_path / "no" / "out.json")
    assert code == 2
    assert "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "no").exists()


def test_run_of_a_bad_scenario_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES.replace("cycle_s = 60.0", "cycle_s = -60.0"))
    code, out, err = cli(capsys, "run", path, "--hours", 2, "--reps", 2, "--json", "-")
    assert code == 2
    assert out == ""
    assert "lines[1].stations[0] 'P': cycle_s = -60.0: must be > 0" in err
    assert "Traceback" not in err
    target = tmp_path / "out.json"
    assert cli(capsys, "run", path, "--json", target)[0] == 2
    assert not target.exists()


def test_bad_run_settings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    code, out, err = cli(capsys, "run", path, "--hours", 2, "--warmup-hours", 3, "--reps", 2)
    assert code == 2
    assert "warm-up hours must be >= 0 and below the horizon (2 h)" in err
    assert "Traceback" not in err and out == ""


# ----------------------------------------------------------------------------------------------- schema, usage
def test_schema_is_json_schema_with_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "schema")
    assert code == 0, err
    schema = json.loads(out)
    assert "lines" in schema["properties"]
    assert "scenario" in schema["properties"]
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "cycle_s" in schema["$defs"]["StationSpec"]["properties"]


def test_help_option_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "--help")
    assert code == 0
    for word in ("Usage", "run", "check", "schema"):
        assert word in out + err


def test_no_arguments_prints_help_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    for word in ("Usage", "run", "check", "schema"):
        assert word in out + err
    assert "Traceback" not in out + err


def test_unknown_option_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    code = main(["run", str(path), "--bogus"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "No such option" in err and "--bogus" in err
    assert "Traceback" not in out + err


def test_bad_option_value_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    code = main(["run", str(path), "--reps", "many"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "--reps" in err
    assert "Traceback" not in out + err


def test_unknown_option_from_a_subprocess(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_LINES)
    proc = subprocess_twin("run", path, "--bogus", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert "No such option" in proc.stderr
    assert proc.stdout == ""


def test_names_with_brackets_are_printed_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Names and paths are the user's text, not rich markup.
    text = TWO_LINES.replace('name = "two lines"', 'name = "cell [/2] [v2]"').replace('name = "M2"', 'name = "M[/2]"')
    path = write(tmp_path / "[v2]", text)
    code, out, err = cli(capsys, "check", path)
    assert code == 0, err
    assert f"ok {path}: scenario cell [/2] [v2]," in out
    assert "M[/2]" in out
    code, out, err = cli(capsys, "run", path, "--hours", 2, "--reps", 2)
    assert code == 0, err
    assert "cell [/2] [v2]" in out and "M[/2]" in out


# ----------------------------------------------------------------------------------------------- Python API
def test_python_api_load_what_if_run(tmp_path: Path) -> None:
    path = write(tmp_path, DET_LINE)
    sc = twin.load(path)
    assert isinstance(sc, twin.Scenario)
    faster = sc.with_station("L", "M1", cycle_s=48)
    assert isinstance(faster, twin.Scenario) and faster is not sc
    assert faster.station("L", "M1").cycle_s == 48.0
    assert sc.station("L", "M1").cycle_s == 50.0  # the original is unchanged
    assert faster.station("L", "M2") == sc.station("L", "M2")

    base = twin.run(sc, hours=10, warmup_hours=1, reps=2, seed=3)
    what_if = twin.run(faster, hours=10, warmup_hours=1, reps=2, seed=3)
    assert isinstance(base, twin.Results)
    # deterministic line: the slowest station sets the pace, 3600/50 = 72/h and 3600/48 = 75/h
    assert base.throughput.per_hour.mean == pytest.approx(72.0, abs=0.2)
    assert what_if.throughput.per_hour.mean == pytest.approx(75.0, abs=0.2)

    data = what_if.to_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON data
    assert data["seed"] == 3 and data["replications"] == 2 and data["horizon_s"] == 36000.0
    assert data["throughput"]["per_hour"]["mean"] == what_if.throughput.per_hour.mean
    assert len(data["throughput"]["per_hour"]["ci95"]) == 2


# ----------------------------------------------------------------------------------------------- empirical, calendar
def test_empirical_samples_in_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DET_LINE.replace('name = "M2"\ncycle_s = 40.0', 'name = "M2"\ndist = "empirical"\nsamples_s = [20.0, 60.0]')
    path = write(tmp_path, text)
    code, out, err = cli(capsys, "check", path)
    assert code == 0, err
    assert twin.load(path).samples[("L", "M2")] == (20.0, 60.0)
    data = run_json(capsys, path, "--hours", 10, "--reps", 2, "--seed", 4, "-q")
    m2 = data["stations"][1]
    assert m2["name"] == "M2"
    assert 0.5 < m2["state_share"]["working"] < 1.0  # mean 40 s behind a 50 s station, with variation


def test_empirical_samples_from_a_csv_beside_the_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "times.csv").write_text("seconds\n30\n50\n40.0\n", encoding="utf-8")
    text = DET_LINE.replace('name = "M1"\ncycle_s = 50.0', 'name = "M1"\ndist = "empirical"\nsamples_csv = "times.csv"')
    write(folder, text)
    monkeypatch.chdir(tmp_path)  # the CSV is found beside the scenario, not in the working folder
    rel = Path("data") / "scenario.toml"
    assert twin.load(rel).samples[("L", "M1")] == (30.0, 50.0, 40.0)
    code, out, err = cli(capsys, "check", rel)
    assert code == 0, err
    data = run_json(capsys, rel, "--hours", 10, "--reps", 2, "--seed", 4, "-q")
    assert 80 < data["throughput"]["per_hour"]["mean"] < 92  # mean 40 s, at most 90/h, some blocking


def test_calendar_shifts_breaks_and_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = """\
[scenario]
name = "two shifts"

[calendar]
shifts = [{ start = "06:00", end = "14:00" }, { start = "14:00", end = "22:00" }]
breaks = [{ start = "10:00", minutes = 30 }]
days_per_week = 5

[[lines]]
name = "L"

[[lines.stations]]
name = "M1"
cycle_s = 30.0
"""
    path = write(tmp_path, text)
    code, out, err = cli(capsys, "check", path)
    assert code == 0, err
    cal = twin.load(path).spec.calendar
    assert [(s.start, s.end) for s in cal.shifts] == [("06:00", "14:00"), ("14:00", "22:00")]
    assert [(b.start, b.minutes) for b in cal.breaks] == [("10:00", 30.0)]
    assert cal.days_per_week == 5
    # Monday: 15.5 working hours out of 24, 120 parts per working hour
    data = run_json(capsys, path, "--hours", 24, "--warmup-hours", 0, "--reps", 2, "-q")
    tp = data["throughput"]
    assert tp["per_working_hour"]["mean"] == pytest.approx(120.0, abs=0.1)
    assert tp["per_hour"]["mean"] == pytest.approx(120.0 * 15.5 / 24, abs=0.1)
    assert data["stations"][0]["state_share"]["off_shift"] == pytest.approx(8.5 / 24, abs=1e-9)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_ends_cleanly(tmp_path: Path, workers: str) -> None:
    import signal
    import time

    line20 = Path(__file__).parent.parent / "benchmarks" / "line20.toml"
    out = tmp_path / "out.json"
    proc = subprocess.Popen([sys.executable, "-m", "twin", "run", str(line20), "--hours", "100000", "--reps", "4",
                             "--workers", workers, "--json", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            # a suite started in the background inherits SIGINT ignored: give the child the default
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(4.0)  # long enough to be inside the simulation (imports take ~1 s)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:  # never leave a runaway simulation (or its workers) behind a failed test
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err
    assert not out.exists()


def test_json_replaces_an_empty_file_or_an_earlier_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TWO_LINES)
    target = tmp_path / "out.json"
    target.write_text("", encoding="utf-8")  # as `mktemp` leaves it
    code, _, err = cli(capsys, "run", path, "--hours", 2, "--reps", 2, "-q", "--json", target, "--seed", "1")
    assert code == 0, err
    first = target.read_text(encoding="utf-8")
    code, _, err = cli(capsys, "run", path, "--hours", 2, "--reps", 2, "-q", "--json", target, "--seed", "2")
    assert code == 0, err
    assert target.read_text(encoding="utf-8") != first
    assert json.loads(target.read_text(encoding="utf-8"))["seed"] == 2
