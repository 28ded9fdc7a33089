"""`Scenario`: a validated, immutable scenario, and the ways to get one (a file, a dict, a what-if of another).

The scenario is data; running it is `twin.run`. A what-if (`with_station`) returns a new scenario validated by the
same rules as a file, so a notebook user gets the same messages as the command line.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.errors import Problem, ScenarioError
from twin.spec import LineSpec, ScenarioSpec, StationSpec
from twin.validate import validate


_DELAY_WORDS = {"cycle_s": "delay_s", "servers": "capacity"}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the spec, where it came from, and the empirical samples it refers to."""

    spec: ScenarioSpec
    source: str = "<scenario>"
    samples: Mapping[tuple[str, str], tuple[float, ...]] = field(default_factory=dict)
    base_dir: Path | None = None

    # ------------------------------------------------------------------ reading
    @property
    def name(self) -> str:
        return self.spec.scenario.name

    @property
    def seed(self) -> int:
        return self.spec.scenario.seed

    @property
    def lines(self) -> list[LineSpec]:
        return self.spec.lines

    def station(self, line: str, station: str) -> StationSpec:
        return self.spec.station(line, station)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data (what a TOML file would hold), defaults left out.

        Values the schema derives at load time (a delay's cycle_s and servers, the mix base's share) are left out
        too, so that a what-if on what the user wrote (delay_s, another variant's share) derives them afresh.
        """
        data = self.spec.model_dump(mode="json", exclude_unset=True, by_alias=True)
        for line in data.get("lines", []):
            for st in line.get("stations", []):
                if st.get("kind") == "delay":
                    st.pop("cycle_s", None)
                    st.pop("servers", None)
        mix = data.get("mix")
        if isinstance(mix, dict) and mix.get("base") is not None:
            for variant in mix.get("variants", []):
                if variant.get("name") == mix["base"]:
                    variant.pop("share", None)
        return data

    # ------------------------------------------------------------------ what-ifs
    def with_station(self, line: str, station: str, **changes: Any) -> Scenario:
        """A copy with some fields of one station changed, e.g. ``with_station("L", "M1", cycle_s=48)``."""
        data = self.to_dict()
        li, si = self._index(line, station)
        target = data["lines"][li]["stations"][si]
        if target.get("kind") == "delay":  # what tuning and sensitivity change, in the delay's own words
            changes = {_DELAY_WORDS.get(key, key): value for key, value in changes.items()}
        for key, value in changes.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
        return self._revalidated(data)

    def with_data(self, data: Mapping[str, Any]) -> Scenario:
        """A copy built from edited raw data (as `to_dict` gives it), validated like a file."""
        return self._revalidated(copy.deepcopy(dict(data)))

    def _line_names(self) -> list[str]:
        return [ln.name for ln in self.spec.lines]

    def _index(self, line: str, station: str | None) -> tuple[int, int]:
        names = self._line_names()
        if line not in names:
            raise ScenarioError(self.source, [Problem("lines", "name", line, f"no such line; lines are {names}")])
        li = names.index(line)
        if station is None:
            return li, -1
        st_names = [st.name for st in self.spec.lines[li].stations]
        if station not in st_names:
            raise ScenarioError(self.source, [Problem(f"lines[{li}] {line!r}", "stations", station,
                                                      f"no such station; stations are {st_names}")])
        return li, st_names.index(station)

    def _revalidated(self, data: dict[str, Any]) -> Scenario:
        spec, samples = validate(data, self.source, self.base_dir)
        merged = dict(self.samples)
        merged.update(samples)
        return Scenario(spec=spec, source=self.source, samples=merged, base_dir=self.base_dir)


def from_dict(data: Mapping[str, Any], source: str = "<dict>", base_dir: Path | None = None) -> Scenario:
    """A scenario from raw data shaped like a TOML file."""
    if not isinstance(data, Mapping):
        raise ScenarioError(source, [Problem("", "", f"a {type(data).__name__}",
                                             "a scenario is a table (dict) with [scenario] and [[lines]]")])
    spec, samples = validate(copy.deepcopy(dict(data)), source, base_dir)
    return Scenario(spec=spec, source=source, samples=samples, base_dir=base_dir)


def read_toml(path: str | Path) -> dict[str, Any]:
    """The raw data of a TOML scenario file; a missing file or bad syntax is a `ScenarioError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(str(path), [Problem("", "file", str(path), "no such file; give the path to a .toml scenario")]) from None
    except IsADirectoryError:
        raise ScenarioError(str(path), [Problem("", "file", str(path), "is a folder; give the path to a .toml scenario")]) from None
    except OSError as exc:
        raise ScenarioError(str(path), [Problem("", "file", str(path), f"cannot be read: {exc.strerror or exc}")]) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(path), [Problem("", "file", str(path), f"is not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), [Problem("", "", f"invalid TOML: {exc}", "fix the syntax (see https://toml.io)")]) from None


def lines_dir() -> Path:
    """Where the built-in scenarios live: $TWIN_LINES, else lines/ beside the package (a checkout or editable install)."""
    env = os.environ.get("TWIN_LINES")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "lines"


def builtin_names() -> list[str]:
    folder = lines_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def resolve(name_or_path: str | Path) -> Path:
    """A path as given if it exists, else the built-in scenario of that name (`twin run wheel`)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml" or len(path.parts) > 1:
        return path
    builtin = lines_dir() / f"{path.name}.toml"
    if builtin.is_file():
        return builtin
    raise ScenarioError(str(path), [Problem("", "scenario", str(path),
                                            f"no such file and no built-in scenario of that name; built-ins: "
                                            f"{', '.join(builtin_names()) or 'none found'}")])


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file (TOML), or a built-in scenario by name."""
    path = resolve(path)
    data = read_toml(path)
    spec, samples = validate(data, str(path), path.parent)
    return Scenario(spec=spec, source=str(path), samples=samples, base_dir=path.parent)
