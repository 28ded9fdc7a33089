"""`twin bench --baseline OLD.json`: what moved between two benches, and whether that is a regression.

Lines are matched by `name` (the built-in name or path given to `twin bench`). Per line:

- **throughput** (the product's, per calendar hour; per year is the same figure × 8,760) *moved* when
  |new − old| > h_new + h_old, the two 95% half-widths: the two intervals do not overlap. With common settings
  and an unchanged model the difference is 0 (same seed, same numbers); when something changed the streams the
  rule flags a real change and rarely noise (well under 5% of the time for two independent estimates). When
  either side has no interval (one replication) any difference beyond 1e-9 relative counts ("exact").
- **speed** (station-operations per CPU second) *fell* when new < (1 − max_slowdown) × old.
- the bottleneck verdict is reported when it changed, not counted: near-equal stations can swap places.

A KPI that moved (either way) or a speed that fell is a regression: `twin bench` then exits 1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from twin.bench import KIND

DEFAULT_MAX_SLOWDOWN = 0.5
EXACT_REL = 1e-9
KPI_RULE = "moved when |new - old| > the sum of the two 95% half-widths (intervals do not overlap)"
SETTINGS_KEYS = ("engine", "seed", "replications", "hours", "warmup_hours")


class BaselineError(ValueError):
    """The baseline file cannot be used; the message says why."""


def read_baseline(path: Path) -> dict[str, Any]:
    """A bench JSON written by `twin bench --json`, checked for what the comparison reads."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError("no such file; give a JSON file written by `twin bench --json`") from None
    except OSError as exc:
        raise BaselineError(f"cannot be read: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"is not JSON ({exc}); give a file written by `twin bench --json`") from None
    problem = _problem(doc)
    if problem is not None:
        raise BaselineError(f"is not a twin bench result: {problem}; give a file written by `twin bench --json`")
    return doc  # type: ignore[no-any-return]


def is_bench(doc: object) -> bool:
    return _problem(doc) is None


def _problem(doc: object) -> str | None:
    if not isinstance(doc, dict):
        return f"the top level is a {type(doc).__name__}, not an object"
    if doc.get("kind") != KIND:
        return f"its \"kind\" is {doc.get('kind')!r}, not {KIND!r}"
    lines = doc.get("lines")
    if not isinstance(lines, list) or not lines:
        return "it has no \"lines\""
    for i, entry in enumerate(lines):
        try:
            ci95 = entry["throughput"]["per_hour"]["ci95"]
            ok = (isinstance(entry["name"], str) and _number(entry["throughput"]["per_hour"]["mean"])
                  and isinstance(ci95, list) and len(ci95) == 2 and all(v is None or _number(v) for v in ci95)
                  and (entry["ops_per_cpu_s"] is None or _number(entry["ops_per_cpu_s"])))
        except (KeyError, TypeError):
            ok = False
        if not ok:
            return f"lines[{i}] lacks a name, throughput.per_hour.mean and ci95 (two numbers), or ops_per_cpu_s"
    return None


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _half_width(estimate: dict[str, Any]) -> float | None:
    lo, hi = estimate["ci95"]
    return None if lo is None or hi is None else (hi - lo) / 2.0


def _kpi(new: dict[str, Any], old: dict[str, Any]) -> dict[str, object]:
    a, b = new["throughput"]["per_hour"], old["throughput"]["per_hour"]
    diff = a["mean"] - b["mean"]
    h_new, h_old = _half_width(a), _half_width(b)
    if h_new is None or h_old is None:
        allowed = EXACT_REL * max(abs(a["mean"]), abs(b["mean"]))
        rule = "exact"
    else:
        allowed = h_new + h_old
        rule = "intervals"
    return {"new": a["mean"], "old": b["mean"], "difference": diff,
            "relative": diff / b["mean"] if b["mean"] else None, "allowed": allowed, "rule": rule,
            "moved": abs(diff) > allowed}


def _speed(new: dict[str, Any], old: dict[str, Any], max_slowdown: float) -> dict[str, object]:
    a, b = new["ops_per_cpu_s"], old["ops_per_cpu_s"]
    if a is None or b is None or b <= 0:
        return {"new": a, "old": b, "change": None, "slower": False}
    return {"new": a, "old": b, "change": a / b - 1.0, "slower": a < (1.0 - max_slowdown) * b}


def _where(entry: dict[str, Any]) -> str | None:
    found = entry.get("bottleneck") or {}
    if not isinstance(found, dict) or found.get("station") is None:
        return None
    return f"{found.get('line')}/{found.get('station')} ({found.get('method')})"


def compare(new_doc: dict[str, Any], old_doc: dict[str, Any], max_slowdown: float) -> dict[str, object]:
    """One row per line of the new bench; `regressed` when any KPI moved or any speed fell."""
    old_lines = {entry["name"]: entry for entry in old_doc["lines"]}
    rows: list[dict[str, object]] = []
    for new in new_doc["lines"]:
        old = old_lines.get(new["name"])
        if old is None:
            rows.append({"name": new["name"], "status": "not in baseline", "throughput_per_hour": None,
                         "ops_per_cpu_s": None, "bottleneck": None, "notes": []})
            continue
        kpi = _kpi(new, old)
        speed = _speed(new, old, max_slowdown)
        status = [s for s, bad in (("KPI moved", kpi["moved"]), ("slower", speed["slower"])) if bad]
        notes = [f"{key} {old.get(key)!r} -> {new.get(key)!r}" for key in SETTINGS_KEYS if old.get(key) != new.get(key)]
        verdicts = {"old": _where(old), "new": _where(new)}
        rows.append({"name": new["name"], "status": ", ".join(status) or "ok", "throughput_per_hour": kpi,
                     "ops_per_cpu_s": speed,
                     "bottleneck": {**verdicts, "changed": verdicts["old"] != verdicts["new"]},
                     "notes": notes})
    return {
        "version": old_doc.get("version"),
        "max_slowdown": max_slowdown,
        "kpi_rule": KPI_RULE,
        "speed_rule": f"slower when ops_per_cpu_s < (1 - {max_slowdown:g}) x the baseline's",
        "rows": rows,
        "regressed": any(row["status"] not in ("ok", "not in baseline") for row in rows),
    }
