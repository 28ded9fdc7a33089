"""`twin bench`: its JSON, KPIs equal to `twin run`'s for the same settings, the baseline comparison, bad input.

Tiny sizes only, and no assertion on any time: speed figures are the machine's, not the code's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import _plain_console, cli, write  # noqa: F401  (_plain_console: autouse, plain stderr)

TINY = """\
[scenario]
name = "tiny bench"
seed = 3

[[lines]]
name = "L"
rated_per_hour = 300

[[lines.stations]]
name = "M1"
cycle_s = 10.0
dist = "exp"
buffer = 2
mtbf_s = 1800.0
mttr_s = 120.0

[[lines.stations]]
name = "M2"
cycle_s = 11.0
dist = "lognormal"
cv = 0.3
"""

SIZES = ("--hours", 8, "--warmup-hours", 1, "--reps", 2)
LINE_KEYS = {"name", "scenario", "source", "engine", "engine_reason", "seed", "replications", "hours",
             "warmup_hours", "workers", "product", "throughput", "nameplate", "bottleneck", "station_operations",
             "cpu_s", "wall_s", "ops_per_cpu_s", "peak_rss_mib", "rss_before_mib"}


def bench_json(capsys: pytest.CaptureFixture[str], *args: Any) -> dict[str, Any]:
    code, out, err = cli(capsys, "bench", *args, "--json", "-")
    assert code == 0, err
    assert "Traceback" not in err
    return json.loads(out)  # type: ignore[no-any-return]


def run_json(capsys: pytest.CaptureFixture[str], *args: Any) -> dict[str, Any]:
    code, out, err = cli(capsys, "run", *args, "-q", "--json", "-")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    return write(tmp_path, TINY, "tiny.toml")


# ----------------------------------------------------------------------------------------------- the smoke test
def test_quick_bench_json_has_its_keys_and_the_kpis_of_twin_run(tiny: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    doc = bench_json(capsys, "seats", tiny, "--quick", "--hours", 30, "--warmup-hours", 6, "--reps", 2)
    assert doc["kind"] == "twin bench"
    assert isinstance(doc["version"], str)
    assert {"python", "numpy", "cpu_count"} <= doc["machine"].keys()
    assert doc["settings"]["quick"] is True
    assert "clear_refs" in doc["memory_method"] and "process_time" in doc["cpu_method"]
    assert [ln["name"] for ln in doc["lines"]] == ["seats", str(tiny)]
    for ln in doc["lines"]:
        assert set(ln) == LINE_KEYS
        assert ln["seed"] == (2025 if ln["name"] == "seats" else 3)  # the scenario's own seed
        assert (ln["replications"], ln["hours"], ln["warmup_hours"]) == (2, 30.0, 6.0)
        assert set(ln["throughput"]) >= {"per_hour", "per_year", "rated_per_hour", "rated_per_year"}
        assert set(ln["throughput"]["per_hour"]) == {"mean", "ci95"}
        assert ln["bottleneck"]["method"] == "shifting_bottleneck"  # --quick: the one-run verdict
        assert ln["bottleneck"]["station"] is not None and ln["bottleneck"]["line"] is not None
        assert ln["station_operations"] > 0 and ln["cpu_s"] > 0 and ln["ops_per_cpu_s"] > 0
        assert ln["peak_rss_mib"] > 0
        # exactly the KPIs of `twin run` with the same settings
        run = run_json(capsys, ln["name"], "--hours", 30, "--warmup-hours", 6, "--reps", 2)
        assert ln["throughput"] == run["throughput"]
        assert ln["station_operations"] == run["station_operations"]
        assert (ln["engine"], ln["engine_reason"], ln["product"]) == (run["engine"], run["engine_reason"],
                                                                        run["product"])
    seats, mine = doc["lines"]
    assert seats["nameplate"]["basis"] == "per_working_hour / rated_per_hour"
    assert seats["nameplate"]["ratio"] == pytest.approx(
        seats["throughput"]["per_working_hour"]["mean"] / seats["throughput"]["rated_per_hour"])
    assert mine["nameplate"]["rated"] == 300


def test_the_simpy_engine_in_worker_processes_gives_the_kpis_of_twin_run(
        tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = bench_json(capsys, tiny, "--quick", "--engine", "des", "--workers", 2, "--bottleneck", "none", *SIZES)
    (ln,) = doc["lines"]
    assert (ln["engine"], ln["workers"]) == ("des", 2)
    assert ln["bottleneck"]["method"] == "none" and ln["bottleneck"]["station"] is None
    run = run_json(capsys, tiny, "--engine", "des", *SIZES)
    assert ln["throughput"] == run["throughput"]
    assert ln["cpu_s"] > 0  # the workers' CPU time is counted


def test_the_same_seed_gives_the_same_kpis_and_the_tables_go_to_stdout_unless_the_json_does(
        tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "bench", tiny, "--quick", *SIZES)
    assert code == 0, err
    assert "Bench" in out and "tiny" in out  # the results: on stdout
    assert "Bench" not in err
    code, out, err = cli(capsys, "bench", tiny, "--quick", *SIZES, "--json", "-")
    assert code == 0, err
    assert json.loads(out)["lines"] and "Bench" in err  # stdout is the JSON alone, the table beside the progress
    first, second = (bench_json(capsys, tiny, "--quick", "-q", *SIZES) for _ in range(2))
    for a, b in zip(first["lines"], second["lines"]):
        assert (a["throughput"], a["bottleneck"]["station"], a["station_operations"]) == \
            (b["throughput"], b["bottleneck"]["station"], b["station_operations"])


# ----------------------------------------------------------------------------------------------- --baseline
@pytest.fixture()
def baseline(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "base.json"
    code, _, err = cli(capsys, "bench", tiny, "--quick", "-q", *SIZES, "--json", path)
    assert code == 0, err
    return path


def doctored(path: Path, change: Any) -> Path:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc["lines"][0])
    out = path.with_name("doctored.json")
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


def test_the_same_bench_as_baseline_passes(tiny: Path, baseline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --max-slowdown 1: speed never fails, so that a busy machine cannot fail this test
    code, out, err = cli(capsys, "bench", tiny, "--quick", *SIZES, "--baseline", baseline, "--max-slowdown", 1,
                         "--json", "-")
    assert code == 0, err
    assert "Against" in err and "ok" in err
    (row,) = json.loads(out)["baseline"]["rows"]
    assert row["status"] == "ok"
    assert row["throughput_per_hour"]["difference"] == 0.0 and not row["throughput_per_hour"]["moved"]
    assert row["bottleneck"]["changed"] is False


def test_a_baseline_with_a_far_higher_throughput_fails_with_exit_1(
        tiny: Path, baseline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def higher(line: dict[str, Any]) -> None:
        est = line["throughput"]["per_hour"]
        est["mean"], est["ci95"] = est["mean"] * 2, [v * 2 for v in est["ci95"]]

    code, out, err = cli(capsys, "bench", tiny, "--quick", *SIZES, "--baseline", doctored(baseline, higher),
                         "--max-slowdown", 1, "--json", "-")
    assert code == 1
    assert "KPI moved" in err and "regression" in err and "Traceback" not in err
    (row,) = json.loads(out)["baseline"]["rows"]  # the JSON is written all the same
    assert row["throughput_per_hour"]["moved"] and row["throughput_per_hour"]["difference"] < 0


def test_a_far_faster_baseline_fails_on_speed(tiny: Path, baseline: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def faster(line: dict[str, Any]) -> None:
        line["ops_per_cpu_s"] *= 1e4

    code, _, err = cli(capsys, "bench", tiny, "--quick", "-q", *SIZES, "--baseline", doctored(baseline, faster))
    assert code == 1
    assert "slower" in err


def test_an_earlier_bench_result_may_be_replaced_but_not_another_file(
        tiny: Path, baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "bench", tiny, "--quick", "-q", *SIZES, "--json", baseline)
    assert code == 0, err
    other = write(tmp_path, "my notes\n", "notes.json")
    code, _, err = cli(capsys, "bench", tiny, "--quick", "-q", *SIZES, "--json", other)
    assert code == 2 and "--force" in err
    assert other.read_text(encoding="utf-8") == "my notes\n"


# ----------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args, expected", [
    (["nosuchline"], "no built-in scenario of that name"),
    (["{tiny}", "{tiny}"], "given more than once"),
    (["{tiny}", "--engine", "warp"], "--engine warp"),
    (["{tiny}", "--bottleneck", "guess"], "--bottleneck guess"),
    (["{tiny}", "--reps", "0"], "--reps 0"),
    (["{tiny}", "--hours", "-1"], "--hours -1"),
    (["{tiny}", "--max-slowdown", "1.5"], "--max-slowdown 1.5"),
    (["{tiny}", "--max-slowdown", "0"], "--max-slowdown 0"),
    (["{tiny}", "--workers", "0"], "--workers 0"),
    (["{tiny}", "--json", "{tmp}/no/such/folder/out.json"], "does not exist"),
    (["{tiny}", "--baseline", "{tmp}/missing.json"], "no such file"),
    (["{tiny}", "--baseline", "{tiny}"], "is not JSON"),
    (["{tiny}", "--baseline", "{tmp}/run.json"], "not a twin bench result"),
    ([str(Path(__file__).parent.parent / "docs" / "examples" / "primitives.toml"), "--engine", "flow"],
     "cannot carry batch stations"),
])
def test_bad_input_exits_2_naming_the_option(args: list[str], expected: str, tiny: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, json.dumps({"scenario": "x", "engine": "flow", "throughput": {}}), "run.json")
    argv = [a.format(tiny=tiny, tmp=tmp_path) for a in args]
    code, out, err = cli(capsys, "bench", *argv, "--quick", "-q")
    assert code == 2, err
    assert expected in " ".join(err.split()), err
    assert "Traceback" not in err and out == ""


def test_a_baseline_without_these_lines_exits_2(tiny: Path, baseline: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "bench", "seats", "--quick", "-q", "--baseline", baseline)
    assert code == 2
    assert "no line in common" in err
