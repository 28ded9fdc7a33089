"""Cross-field rules of the station kinds (batch, conveyor, delay) and of external sources on an input.

Like the rest of `twin.validate`, these run over the raw data, tolerate fields of the wrong type (pydantic has
already reported them) and return every problem found, each naming the item, the field, the value and what is
allowed. Each kind takes its own keys and refuses the keys of the others, so that a key that would be silently
ignored is reported instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twin.errors import MISSING, Problem

KINDS = ("machine", "batch", "conveyor", "delay")
# The keys only one kind takes: given with another kind they would be ignored, so they are refused.
OWN_KEYS = {
    "batch": ("batch_max", "batch_min", "max_wait_s"),
    "conveyor": ("transit_s", "stops_when_blocked", "hooks"),
    "delay": ("delay_s", "capacity"),
}
# What a kind cannot carry (yet): the reason is part of the message.
REFUSED = {
    "conveyor": {
        "servers": "a conveyor is one chain; for two chains declare two stations",
        "dist": "a chain's pitch and transit are fixed (det); a varying process belongs on a station before or after",
        "cv": "a chain's pitch and transit are fixed (det)",
        "samples_s": "a chain's pitch and transit are fixed (det)",
        "samples_csv": "a chain's pitch and transit are fixed (det)",
        "mtbf_s": "chain failures are not modelled yet; put the stoppage on the station it feeds",
        "mttr_s": "chain failures are not modelled yet; put the stoppage on the station it feeds",
        "scrap": "a conveyor scraps nothing; put scrap on a station",
        "inputs": "a conveyor assembles nothing; put the inputs on a station",
    },
    "batch": {
        "inputs": "a batch station assembles nothing; put the inputs on a station before or after it",
    },
    "delay": {
        "cycle_s": "a delay's time is delay_s",
        "servers": "a delay's places are capacity",
        "dist": "a delay is deterministic (delay_s); for a varying time use a station with servers",
        "cv": "a delay is deterministic (delay_s)",
        "samples_s": "a delay is deterministic (delay_s)",
        "samples_csv": "a delay is deterministic (delay_s)",
        "mtbf_s": "a delay does not fail; use a station with servers for that",
        "mttr_s": "a delay does not fail; use a station with servers for that",
        "scrap": "a delay scraps nothing; use a station with servers for that",
        "inputs": "a delay assembles nothing; put the inputs on a station",
    },
}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def kind_of(st: Mapping[str, Any]) -> str:
    kind = st.get("kind", "machine")
    return kind if isinstance(kind, str) and kind in KINDS else "machine"  # pydantic reports a bad kind


def kind_problems(st: Mapping[str, Any], item: str) -> list[Problem]:
    """The rules of a station's kind: its own keys required or allowed, the others' keys refused."""
    kind = kind_of(st)
    problems: list[Problem] = []
    for other, keys in OWN_KEYS.items():
        if other == kind:
            continue
        for key in keys:
            if key in st:
                problems.append(Problem(item, key, st.get(key), f"only used with kind = {other!r} (kind is {kind!r})"))
    for key, why in REFUSED.get(kind, {}).items():
        if key in st and not (key == "servers" and st.get(key) == 1) and not (key == "dist" and st.get(key) == "det"):
            problems.append(Problem(item, key, st.get(key), f"not allowed with kind = {kind!r}: {why}"))
    if kind == "batch":
        problems.extend(_batch_problems(st, item))
    elif kind == "conveyor":
        problems.extend(_conveyor_problems(st, item))
    elif kind == "delay" and "delay_s" not in st:
        problems.append(Problem(item, "delay_s", MISSING, "required with kind = 'delay': the time every part takes (s)"))
    return problems


def _batch_problems(st: Mapping[str, Any], item: str) -> list[Problem]:
    problems: list[Problem] = []
    if "batch_max" not in st:
        problems.append(Problem(item, "batch_max", MISSING, "required with kind = 'batch': the parts a server holds"))
    low, high = st.get("batch_min"), st.get("batch_max")
    if "batch_min" in st and "max_wait_s" not in st:
        problems.append(Problem(item, "batch_min", low, "only used with max_wait_s: without it a batch starts full"))
    if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool) and low > high:
        problems.append(Problem(item, "batch_min", low, f"must be <= batch_max ({high})"))
    return problems


def _conveyor_problems(st: Mapping[str, Any], item: str) -> list[Problem]:
    problems: list[Problem] = []
    if "transit_s" not in st:
        problems.append(Problem(item, "transit_s", MISSING, "required with kind = 'conveyor': the time from the load "
                                                            "point to the exit (s)"))
    stops = st.get("stops_when_blocked", True)
    pitch, transit, hooks = _num(st.get("cycle_s")), _num(st.get("transit_s")), _num(st.get("hooks"))
    if stops is False:
        if "hooks" not in st:
            problems.append(Problem(item, "hooks", MISSING, "required with stops_when_blocked = false: the hooks on "
                                                            "the loop (a round takes hooks x cycle_s)"))
        elif hooks is not None and pitch is not None and transit is not None and hooks * pitch <= transit:
            problems.append(Problem(item, "hooks", st.get("hooks"),
                                    f"a round of hooks x cycle_s = {hooks * pitch:g} s must be > transit_s "
                                    f"({transit:g}): the hook comes back to the load point after the exit"))
    elif "hooks" in st:
        problems.append(Problem(item, "hooks", st.get("hooks"), "only used with stops_when_blocked = false"))
    return problems


def external_problems(ext: Any, where: str, qty: Any, stock: Any) -> list[Problem]:
    """An input's external source: a stock that can hold a kit's share, failures given in pairs, cv where needed."""
    if not isinstance(ext, Mapping):
        return []
    from twin.validate import NEEDS_CV

    item = f"{where}.external"
    problems: list[Problem] = []
    ext_stock = ext.get("stock", stock if stock is not None else qty)
    if isinstance(qty, int) and isinstance(ext_stock, int) and ext_stock < qty:
        problems.append(Problem(item, "stock", ext_stock, f"must be >= the input's qty ({qty}): a kit may need that "
                                                          "many external units at once"))
    has_mtbf, has_mttr = "mtbf_s" in ext, "mttr_s" in ext
    if has_mtbf != has_mttr:
        given, other = ("mtbf_s", "mttr_s") if has_mtbf else ("mttr_s", "mtbf_s")
        problems.append(Problem(item, given, ext.get(given), f"given without {other}: give both (supplier stoppages) "
                                                             "or neither (a reliable supplier)"))
    if not has_mtbf:
        for key in ("ttf_dist", "ttr_dist"):
            if key in ext:
                problems.append(Problem(item, key, ext.get(key), "only used with mtbf_s and mttr_s"))
    dist = ext.get("dist", "det")
    if isinstance(dist, str) and dist in NEEDS_CV and "cv" not in ext:
        problems.append(Problem(item, "cv", MISSING, f"required with dist = {dist!r}"))
    if isinstance(dist, str) and dist in ("det", "exp") and "cv" in ext:
        problems.append(Problem(item, "cv", ext.get("cv"), f"does not apply to dist = {dist!r}"))
    return problems
