"""Problems found in a scenario, reported all at once.

A `Problem` names where the user has to look (file, item, field), what they wrote and what is allowed, in the
spirit of attrs' validators: "field, expected, actual". `ScenarioError` carries every problem of one file so that
a user fixes them in one pass instead of one per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario.

    `item` is a readable path to the object holding the field, e.g. ``lines[0].stations[2] 'press'``;
    `field` the key inside it; `value` what the user wrote (or `MISSING`); `allowed` what would be accepted.
    """

    item: str
    field: str
    value: Any
    allowed: str

    def render(self) -> str:
        where = f"{self.item}: " if self.item else ""
        if self.value is _MISSING:
            what = f"{self.field} is missing"
        elif self.field:
            what = f"{self.field} = {_show(self.value)}"
        else:
            what = str(self.value)
        return f"{where}{what}: {self.allowed}"


MISSING: Any = _MISSING


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class TwinError(Exception):
    """Base of the errors the twin raises for bad input (the CLI turns them into exit code 2)."""


class ScenarioError(TwinError):
    """A scenario that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        head = f"{self.source}: {count} {noun}"
        return "\n".join([head] + [f"  - {p.render()}" for p in self.problems])


class EngineError(TwinError):
    """A scenario that is valid but that an engine cannot run (for example a feature it does not carry)."""
