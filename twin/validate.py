"""From raw scenario data to a validated `ScenarioSpec`, collecting every problem before giving up.

Two passes run over the same raw data and their problems are merged:
1. pydantic checks each field on its own (type, range, unknown key) and reports them with their location;
2. the cross-field rules below run over the raw dictionaries, tolerating fields of the wrong type (pass 1 has
   already said so), so that e.g. a negative cycle time and a repair time without a failure time in the same
   station are both reported.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.errors import MISSING, Problem, ScenarioError
from twin.spec import ScenarioSpec, year_days
from twin.validate_kinds import external_problems, kind_of, kind_problems

NEEDS_CV = ("normal", "lognormal", "gamma", "uniform", "triangular", "weibull")
# Largest cv for which a distribution scaled to its mean stays non-negative (uniform: 1/sqrt 3, triangular: 1/sqrt 6).
MAX_CV = {"uniform": 1 / math.sqrt(3), "triangular": 1 / math.sqrt(6), "weibull": 10.0, "gamma": 100.0, "lognormal": 100.0}

_ALLOWED_BY_TYPE = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "string_pattern_mismatch": "must be a clock time \"HH:MM\" from 00:00 to 24:00",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "finite_number": "must be a finite number",
}


def validate(data: Any, source: str, base_dir: Path | None = None) -> tuple[ScenarioSpec, dict[tuple[str, str], tuple[float, ...]]]:
    """Validate raw scenario data; return the spec and the empirical samples read for each (line, station).

    Raises `ScenarioError` listing every problem found.
    """
    problems: list[Problem] = []
    spec: ScenarioSpec | None = None
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        problems.extend(_from_pydantic(exc, data))
    problems.extend(_cross_field_problems(data))
    problems.extend(_network_problems(data))
    samples: dict[tuple[str, str], tuple[float, ...]] = {}
    if not problems and spec is not None:
        for li, line in enumerate(spec.lines):
            for si, st in enumerate(line.stations):
                if st.dist != "empirical":
                    continue
                item = f"lines[{li}].stations[{si}] {st.name!r}"
                if st.samples_s is not None:
                    samples[(line.name, st.name)] = tuple(st.samples_s)
                elif st.samples_csv is not None:
                    values, problem = _read_samples_csv(st.samples_csv, base_dir, item)
                    if problem is not None:
                        problems.append(problem)
                    else:
                        samples[(line.name, st.name)] = values
    if problems or spec is None:
        raise ScenarioError(source, _dedupe(problems))
    return spec, samples


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    kept = []
    for p in problems:
        key = p.render()
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept


# ----------------------------------------------------------------------------------------------- pydantic errors
def _from_pydantic(exc: ValidationError, data: Any) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        etype = err["type"]
        ctx = err.get("ctx") or {}
        # Field locations end in the field; list items of a field (samples_s[3]) stay with the field.
        split = len(loc)
        while split > 0 and isinstance(loc[split - 1], int):
            split -= 1
        field_parts = loc[split - 1 :] if split > 0 else loc
        item_loc = loc[: split - 1] if split > 0 else ()
        item = _item_label(item_loc, data)
        field = _loc_text(field_parts)
        if etype == "extra_forbidden":
            allowed = "unknown key; allowed here: " + ", ".join(_allowed_keys(item_loc))
            problems.append(Problem(item, field, err.get("input"), allowed))
            continue
        if etype == "missing":
            problems.append(Problem(item, field, MISSING, _MISSING_HINT.get(field, "required")))
            continue
        if etype == "literal_error":
            allowed = "must be one of " + str(ctx.get("expected", "")).replace("'", "")
        elif etype in _ALLOWED_BY_TYPE:
            try:
                allowed = _ALLOWED_BY_TYPE[etype].format(**{k: _num_text(v) for k, v in ctx.items()})
            except (KeyError, IndexError):
                allowed = err["msg"]
        else:
            allowed = _lower_first(err["msg"])
        problems.append(Problem(item, field, err.get("input"), allowed))
    return problems


_MISSING_HINT = {
    "lines": "required: a scenario needs at least one [[lines]] with stations",
    "stations": "required: a line needs at least one [[lines.stations]]",
    "scenario": "required: a [scenario] table with at least name = \"...\"",
    "name": "required: every scenario, line and station has a name",
}


def _num_text(value: Any) -> Any:
    return f"{value:g}" if isinstance(value, float) else value


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _loc_text(parts: tuple[Any, ...]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _item_label(loc: tuple[Any, ...], data: Any) -> str:
    """`lines[0].stations[2] 'press'`: the path, with the name of the object where it has one."""
    text = _loc_text(loc)
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
            break
    if isinstance(node, Mapping) and isinstance(node.get("name"), str) and loc and isinstance(loc[-1], int):
        text += f" {node['name']!r}"
    return text


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    from twin import spec as spec_module

    model: Any = spec_module.ScenarioSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _model_of(annotation: Any) -> Any:
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


# ----------------------------------------------------------------------------------------------- cross-field rules
def _cross_field_problems(data: Any) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return [Problem("", "", data, "a scenario must be a table with [scenario] and [[lines]]")]
    calendar = data.get("calendar")
    if isinstance(calendar, Mapping):
        problems.extend(_calendar_problems(calendar, "calendar"))
    lines = data.get("lines")
    if lines is None:
        return problems  # pydantic reports the missing key
    if isinstance(lines, list) and not lines:
        problems.append(Problem("", "lines", lines if lines != [] else [], "a scenario needs at least one [[lines]] with stations"))
        return problems
    line_names: dict[str, int] = {}
    for li, line in enumerate(lines):
        if not isinstance(line, Mapping):
            continue
        label = _item_label(("lines", li), data)
        name = line.get("name")
        if isinstance(name, str):
            if name in line_names:
                problems.append(Problem(label, "name", name, f"line names must be unique (also lines[{line_names[name]}])"))
            line_names.setdefault(name, li)
        if isinstance(line.get("calendar"), Mapping):
            problems.extend(_calendar_problems(line["calendar"], f"{label}.calendar"))
        stations = line.get("stations")
        if isinstance(stations, list) and not stations:
            problems.append(Problem(label, "stations", stations, "a line needs at least one [[lines.stations]]"))
            continue
        if not isinstance(stations, list):
            continue
        station_names: dict[str, int] = {}
        for si, st in enumerate(stations):
            if not isinstance(st, Mapping):
                continue
            item = _item_label(("lines", li, "stations", si), data)
            sname = st.get("name")
            if isinstance(sname, str):
                if sname in station_names:
                    problems.append(Problem(item, "name", sname,
                                            f"station names must be unique within a line (also stations[{station_names[sname]}])"))
                station_names.setdefault(sname, si)
            problems.extend(_station_problems(st, item))
            problems.extend(kind_problems(st, item))
    return problems


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _station_problems(st: Mapping[str, Any], item: str) -> list[Problem]:
    problems: list[Problem] = []
    dist = st.get("dist", "det")
    if not isinstance(dist, str):
        dist = "det"  # pydantic reports the wrong type; check the rest as for the default
    cycle = _num(st.get("cycle_s"))
    cv = _num(st.get("cv"))
    if "cycle_s" not in st and dist != "empirical" and kind_of(st) != "delay":
        problems.append(Problem(item, "cycle_s", MISSING, "required: the mean processing time in seconds (> 0)"))
    if dist in NEEDS_CV:
        if "cv" not in st:
            problems.append(Problem(item, "cv", MISSING, f"required with dist = {dist!r}: a coefficient of variation >= 0"))
        elif cv is not None and dist in MAX_CV and cv > MAX_CV[dist]:
            problems.append(Problem(item, "cv", cv, f"must be <= {MAX_CV[dist]:.4g} with dist = {dist!r} "
                                                    "(larger would give negative times)"))
    elif dist in ("det", "exp") and "cv" in st:
        if not (dist == "exp" and cv == 1.0) and not (dist == "det" and cv == 0.0):
            problems.append(Problem(item, "cv", st.get("cv"),
                                    f"does not apply to dist = {dist!r} (its cv is {'1' if dist == 'exp' else '0'}); "
                                    "remove it or choose normal, lognormal, gamma, ..."))
    if dist == "empirical":
        has_list, has_csv = "samples_s" in st, "samples_csv" in st
        if not has_list and not has_csv:
            problems.append(Problem(item, "samples_s", MISSING, "dist = 'empirical' needs samples_s = [...] or samples_csv = \"file.csv\""))
        if has_list and has_csv:
            problems.append(Problem(item, "samples_csv", st.get("samples_csv"), "give samples_s or samples_csv, not both"))
        if has_list and isinstance(st.get("samples_s"), list) and not st["samples_s"]:
            problems.append(Problem(item, "samples_s", [], "needs at least one measured time"))
    else:
        for key in ("samples_s", "samples_csv"):
            if key in st:
                problems.append(Problem(item, key, st.get(key), f"only used with dist = 'empirical' (dist is {dist!r})"))
    has_mtbf, has_mttr = "mtbf_s" in st, "mttr_s" in st
    if has_mttr and not has_mtbf:
        problems.append(Problem(item, "mttr_s", st.get("mttr_s"), "given without mtbf_s: set mtbf_s (mean time between failures) too, or remove mttr_s"))
    if has_mtbf and not has_mttr:
        problems.append(Problem(item, "mtbf_s", st.get("mtbf_s"), "given without mttr_s: set mttr_s (mean time to repair) too, or remove mtbf_s"))
    if not has_mtbf:
        for key in ("failure_basis", "ttf_dist", "ttf_cv", "ttr_dist", "ttr_cv"):
            if key in st:
                problems.append(Problem(item, key, st.get(key), "only used with mtbf_s and mttr_s (failures)"))
    for dist_key, cv_key in (("ttf_dist", "ttf_cv"), ("ttr_dist", "ttr_cv")):
        fdist = st.get(dist_key, "exp")
        if not isinstance(fdist, str):
            continue  # pydantic reports the wrong type
        if fdist in NEEDS_CV and cv_key not in st and has_mtbf:
            problems.append(Problem(item, cv_key, MISSING, f"required with {dist_key} = {fdist!r}: a coefficient of variation >= 0"))
        fcv = _num(st.get(cv_key))
        if fcv is not None and fdist in MAX_CV and fcv > MAX_CV[fdist]:
            problems.append(Problem(item, cv_key, fcv, f"must be <= {MAX_CV[fdist]:.4g} with {dist_key} = {fdist!r}"))
        if fdist in ("det", "exp") and cv_key in st:
            problems.append(Problem(item, cv_key, st.get(cv_key), f"does not apply to {dist_key} = {fdist!r}"))
    min_cycle = _num(st.get("min_cycle_s"))
    if min_cycle is not None and cycle is not None and min_cycle > cycle:
        problems.append(Problem(item, "min_cycle_s", min_cycle, f"must be <= cycle_s ({cycle:g})"))
    return problems


def clock_seconds(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _calendar_problems(cal: Mapping[str, Any], item: str) -> list[Problem]:
    problems = _pattern_problems(cal, item)
    periods = cal.get("periods")
    if not isinstance(periods, list):
        return problems
    closed = [False] * 365  # which days of the model year end up in a period with days_per_week = 0
    for i, period in enumerate(periods):
        if not isinstance(period, Mapping):
            continue
        where = f"{item}.periods[{i}]"
        given = [key for key in ("months", "days") if key in period]
        if len(given) != 1:
            problems.append(Problem(where, "months", period.get("months", period.get("days")),
                                    "give exactly one of months = [first, last] (1-12) or days = [first, last] (1-365)"))
            continue
        span = period[given[0]]
        top = 12 if given[0] == "months" else 365
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) and not isinstance(x, bool)
                                                                     and 1 <= x <= top for x in span)):
            continue  # pydantic names the malformed span
        if span[0] > span[1]:
            problems.append(Problem(where, given[0], span, "first <= last (a period does not wrap round the year end;"
                                                            " split it in two)"))
            continue
        first, last = year_days(given[0], span)
        shut = period.get("days_per_week") == 0
        for day in range(first, last + 1):
            closed[day] = shut
        if "shifts" in period or "breaks" in period:
            merged = {"shifts": period.get("shifts", cal.get("shifts")), "breaks": period.get("breaks", cal.get("breaks"))}
            problems.extend(_pattern_problems(merged, where))
    if periods and all(closed):
        problems.append(Problem(f"{item}", "periods", f"{len(periods)} periods",
                                "at least one working day in the year (every day is in a period with days_per_week = 0)"))
    return problems


def _pattern_problems(cal: Mapping[str, Any], item: str) -> list[Problem]:
    problems: list[Problem] = []
    shifts = cal.get("shifts")
    spans: list[tuple[int, int, int]] = []  # (start, end, index) on a 48 h axis, a night shift ending after 24:00
    if isinstance(shifts, list):
        if not shifts:
            problems.append(Problem(item, "shifts", [], "needs at least one shift, or omit [calendar] to run round the clock"))
        for i, shift in enumerate(shifts):
            if not isinstance(shift, Mapping):
                continue
            try:
                start = clock_seconds(shift["start"])
                end = clock_seconds(shift["end"])
            except (KeyError, ValueError, AttributeError, TypeError):
                continue  # pydantic reports malformed or missing clock times
            if start == end or (start == 0 and end == 0) or (start % 86400 == end % 86400 and end != 86400):
                problems.append(Problem(f"{item}.shifts[{i}]", "end", shift["end"],
                                        "must differ from start; for round the clock use start = \"00:00\", end = \"24:00\""))
                continue
            if end < start:
                end += 86400
            spans.append((start, end, i))
    for a in range(len(spans)):
        for b in range(a + 1, len(spans)):
            s1, e1, i1 = spans[a]
            s2, e2, i2 = spans[b]
            # compare on the daily circle: shift b also shifted by +-24 h
            if any(s1 < e2 + off and s2 + off < e1 for off in (-86400, 0, 86400)):
                shift = shifts[i2]  # type: ignore[index]
                problems.append(Problem(f"{item}.shifts[{i2}]", "start", shift["start"],
                                        f"overlaps shifts[{i1}] ({shifts[i1]['start']}-{shifts[i1]['end']}); shifts must not overlap"))  # type: ignore[index]
    breaks = cal.get("breaks")
    if isinstance(breaks, list) and spans:
        for i, brk in enumerate(breaks):
            if not isinstance(brk, Mapping):
                continue
            try:
                start = clock_seconds(brk["start"])
                minutes = _num(brk["minutes"])
            except (KeyError, ValueError, AttributeError, TypeError):
                continue
            if minutes is None or minutes <= 0:
                continue
            end = start + minutes * 60
            inside = any(s + off <= start and end <= e + off for s, e, _ in spans for off in (-86400, 0))
            if not inside:
                problems.append(Problem(f"{item}.breaks[{i}]", "start", brk["start"],
                                        f"a break of {minutes:g} min from {brk['start']} must lie inside one shift"))
    return problems


# ----------------------------------------------------------------------------------------------- empirical samples
def _read_samples_csv(name: str, base_dir: Path | None, item: str) -> tuple[tuple[float, ...], Problem | None]:
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        return (), Problem(item, "samples_csv", name, f"cannot be read ({exc.strerror or exc}); give a CSV of times in seconds")
    values: list[float] = []
    bad: list[str] = []
    for row_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip():
            continue
        cell = row[0].strip()
        try:
            value = float(cell)
        except ValueError:
            if row_no == 1:
                continue  # a header
            bad.append(f"row {row_no}: {cell!r}")
            continue
        if not math.isfinite(value) or value <= 0:
            bad.append(f"row {row_no}: {cell!r}")
        else:
            values.append(value)
    if bad:
        return (), Problem(item, "samples_csv", name, "every time must be a number > 0; bad " + ", ".join(bad[:5]))
    if not values:
        return (), Problem(item, "samples_csv", name, "holds no times; needs one positive number (seconds) a row")
    return tuple(values), None


# ----------------------------------------------------------------------------------------------- networks
def _names(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [it["name"] for it in items if isinstance(it, Mapping) and isinstance(it.get("name"), str)]


def _network_problems(data: Any) -> list[Problem]:
    """Who feeds whom: every input names a line or transport, each feeder has one consumer, no cycles."""
    if not isinstance(data, Mapping):
        return []
    problems: list[Problem] = []
    lines = data.get("lines") if isinstance(data.get("lines"), list) else []
    transports = data.get("transports") if isinstance(data.get("transports"), list) else []
    line_names, transport_names = _names(lines), _names(transports)
    known = ", ".join([f"line {n!r}" for n in line_names] + [f"transport {n!r}" for n in transport_names])
    for name in sorted(set(line_names) & set(transport_names)):
        problems.append(Problem("transports", "name", name, "a transport may not have the name of a line"))
    consumer: dict[str, str] = {}  # feeder name -> who consumes it
    feeds: dict[str, set[str]] = {n: set() for n in line_names}  # line -> lines it feeds (for cycles)
    transport_source: dict[str, list[str]] = {}
    for ti, tr in enumerate(transports):
        if not isinstance(tr, Mapping):
            continue
        item = _item_label(("transports", ti), data)
        for src in _sources(tr.get("from")):
            if src not in line_names:
                problems.append(Problem(item, "from", src, f"must name a line; lines are {line_names}"))
            elif src in consumer:
                problems.append(Problem(item, "from", src, f"line {src!r} already feeds {consumer[src]}; a line's output goes one way"))
            else:
                consumer[src] = f"transport {tr.get('name')!r}"
                if isinstance(tr.get("name"), str):
                    transport_source.setdefault(tr["name"], []).append(src)
        batch, dock = tr.get("batch", 1), tr.get("dock")
        if tr.get("dispatch", "full") == "full":
            if isinstance(batch, int) and isinstance(dock, int) and dock < batch:
                problems.append(Problem(item, "dock", dock, f"must be >= batch ({batch}) with dispatch = 'full', or a full batch never gathers"))
            if "every_s" in tr:
                problems.append(Problem(item, "every_s", tr.get("every_s"), "only used with dispatch = 'every'"))
        elif tr.get("dispatch") == "every" and "every_s" not in tr:
            problems.append(Problem(item, "every_s", MISSING, "required with dispatch = 'every': seconds between departures"))
        tdist = tr.get("dist", "det")
        if isinstance(tdist, str) and tdist in NEEDS_CV and "cv" not in tr:
            problems.append(Problem(item, "cv", MISSING, f"required with dist = {tdist!r}"))
        if isinstance(tdist, str) and tdist in ("det", "exp") and "cv" in tr:
            problems.append(Problem(item, "cv", tr.get("cv"), f"does not apply to dist = {tdist!r}"))
    input_names: dict[str, set[str]] = {n: set() for n in line_names}  # line -> feeder names its stations take
    input_places: dict[str, dict[str, int]] = {}  # line -> input name -> its stock places (inputs without external)
    station_names: dict[str, set[str]] = {n: set() for n in line_names}
    fixed_time: dict[str, set[str]] = {n: set() for n in line_names}  # stations whose time is not per part
    for li, line in enumerate(lines):
        if not isinstance(line, Mapping) or not isinstance(line.get("stations"), list):
            continue
        lname = line.get("name")
        for si, st in enumerate(line["stations"]):
            if not isinstance(st, Mapping):
                continue
            if isinstance(lname, str) and isinstance(st.get("name"), str):
                station_names.setdefault(lname, set()).add(st["name"])
                if kind_of(st) in ("batch", "conveyor"):
                    fixed_time.setdefault(lname, set()).add(st["name"])
            inputs = st.get("inputs")
            if not isinstance(inputs, list):
                continue
            item = _item_label(("lines", li, "stations", si), data)
            for ii, inp in enumerate(inputs):
                if not isinstance(inp, Mapping):
                    continue
                where = f"{item}.inputs[{ii}]"
                sources = _sources(inp.get("from"))
                if len(sources) > 1 and any(src in transport_names for src in sources):
                    problems.append(Problem(where, "from", inp.get("from"), "a list may pool lines, not transports"))
                    continue
                for src in sources:
                    if src not in line_names and src not in transport_names:
                        problems.append(Problem(where, "from", src, f"must name a line or transport: {known}"))
                        continue
                    if src == lname:
                        problems.append(Problem(where, "from", src, "a line cannot feed its own stations"))
                        continue
                    if src in consumer:
                        problems.append(Problem(where, "from", src, f"{src!r} already feeds {consumer[src]}; a feeder has one consumer"))
                        continue
                    consumer[src] = f"{item}"
                    if isinstance(lname, str):
                        input_names.setdefault(lname, set()).add(src)
                        for feeder_line in transport_source.get(src, [src]):
                            if feeder_line in feeds:
                                feeds[feeder_line].add(lname)
                if isinstance(lname, str) and len(sources) > 1:
                    input_names.setdefault(lname, set()).add(_input_name(sources))
                qty, stock = inp.get("qty", 1), inp.get("stock")
                places = stock if stock is not None else qty
                if isinstance(lname, str) and isinstance(places, int) and sources and inp.get("external") is None:
                    input_places.setdefault(lname, {})[_input_name(sources)] = places
                if isinstance(qty, int) and isinstance(stock, int) and stock < qty:
                    problems.append(Problem(where, "stock", stock, f"must be >= qty ({qty}), or a kit never gathers"))
                problems.extend(external_problems(inp.get("external"), where, qty, stock))
    for name in transport_names:
        if name not in consumer:
            problems.append(Problem("transports", "name", name,
                                    f"delivers to no station; add inputs = [{{from = \"{name}\", qty = 1}}] to the station it feeds"))
    cycle = _find_cycle(feeds)
    if cycle:
        problems.append(Problem("lines", "inputs", " -> ".join(cycle),
                                "lines feed each other in a circle: a deadlock by construction"))
    header = data.get("scenario")
    for product in _sources(header.get("product") if isinstance(header, Mapping) else None):
        if product not in line_names:
            problems.append(Problem("scenario", "product", product, f"must name a line; lines are {line_names}"))
        elif product in consumer:
            problems.append(Problem("scenario", "product", product, f"feeds {consumer[product]}; the product is a line's output that nothing consumes"))
    problems.extend(_mix_problems(data.get("mix"), line_names, input_names, station_names, fixed_time,
                                  input_places))
    return problems


def _sources(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _input_name(sources: list[str]) -> str:
    """How an input is named in results and in a variant's bom: its feeder, or "A+B" for a pooled stock."""
    return "+".join(sources)


def _find_cycle(feeds: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(feeds.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(feeds):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def _mix_problems(mix: Any, line_names: list[str], input_names: dict[str, set[str]],
                  station_names: dict[str, set[str]], fixed_time: dict[str, set[str]],
                  input_places: dict[str, dict[str, int]]) -> list[Problem]:
    if not isinstance(mix, Mapping):
        return []
    problems: list[Problem] = []
    line = mix.get("line")
    if isinstance(line, str) and line not in line_names:
        problems.append(Problem("mix", "line", line, f"must name a line; lines are {line_names}"))
        return problems
    variants = mix.get("variants") if isinstance(mix.get("variants"), list) else []
    names = _names(variants)
    if len(set(names)) != len(names):
        problems.append(Problem("mix", "variants", names, "variant names must be unique"))
    base = mix.get("base")
    if base is not None and isinstance(base, str) and base not in names:
        problems.append(Problem("mix", "base", base, f"must name a variant; variants are {names}"))
        base = None
    if base is not None and mix.get("sequence") == "cyclic":
        problems.append(Problem("mix", "base", base, "only used with sequence = 'random' (a cyclic pattern sets the "
                                                     "shares itself)"))
    for vi, v in enumerate(variants):
        if not isinstance(v, Mapping):
            continue
        item = f"mix.variants[{vi}] {v.get('name')!r}"
        if v.get("name") == base and "share" in v:
            problems.append(Problem(item, "share", v.get("share"), "the base variant's share is the rest (1 - the "
                                                                    "others'); remove it"))
        elif v.get("name") != base and "share" not in v:
            problems.append(Problem(item, "share", MISSING, "required: this variant's share of the launches (0 to 1)"
                                                            + ("" if base else ", or name the variant taking the rest "
                                                                               "as [mix] base")))
    shares = [v.get("share") for v in variants if isinstance(v, Mapping) and v.get("name") != base]
    if shares and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in shares):
        total = float(sum(shares))
        if base is None and abs(total - 1.0) > 1e-9:
            problems.append(Problem("mix", "variants[].share", round(total, 12), "shares must add up to 1"))
        elif base is not None and total > 1.0 + 1e-9:
            problems.append(Problem("mix", "variants[].share", round(total, 12),
                                    f"the shares of the variants other than the base {base!r} must add up to <= 1 "
                                    f"(the base takes the rest)"))
    if not variants:
        problems.append(Problem("mix", "variants", [], "needs at least one [[mix.variants]]"))
    if mix.get("sequence") == "cyclic":
        pattern = mix.get("pattern")
        if not isinstance(pattern, list) or not pattern:
            problems.append(Problem("mix", "pattern", pattern if pattern is not None else MISSING,
                                    "sequence = 'cyclic' needs a pattern: a list of variant names"))
        else:
            for name in pattern:
                if isinstance(name, str) and name not in names:
                    problems.append(Problem("mix", "pattern", name, f"no such variant; variants are {names}"))
    elif "pattern" in mix:
        problems.append(Problem("mix", "pattern", mix.get("pattern"), "only used with sequence = 'cyclic'"))
    if isinstance(line, str):
        for vi, v in enumerate(variants):
            if not isinstance(v, Mapping):
                continue
            item = f"mix.variants[{vi}] {v.get('name')!r}"
            for key, need in v.get("bom", {}).items() if isinstance(v.get("bom"), Mapping) else ():
                places = input_places.get(line, {}).get(key)
                if key not in input_names.get(line, set()):
                    problems.append(Problem(item, "bom", key, f"must name an input of a station of line {line!r}: "
                                                              f"{sorted(input_names.get(line, set()))}"))
                elif isinstance(need, int) and places is not None and need > places:
                    problems.append(Problem(item, f"bom.{key}", need, f"must be <= the input's stock ({places} "
                                                                      f"place{'s' if places != 1 else ''}), or this "
                                                                      f"variant's kit never gathers"))
            for key in v.get("cycle_s", {}) if isinstance(v.get("cycle_s"), Mapping) else {}:
                if key not in station_names.get(line, set()):
                    problems.append(Problem(item, "cycle_s", key, f"must name a station of line {line!r}: "
                                                                  f"{sorted(station_names.get(line, set()))}"))
                elif key in fixed_time.get(line, set()):
                    problems.append(Problem(item, "cycle_s", key, "names a batch station or conveyor, whose time "
                                                                  "is not per part; it cannot vary by variant"))
    return problems
