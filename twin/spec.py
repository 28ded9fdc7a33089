"""The scenario schema: what a scenario file may say, as pydantic v2 models.

These models are data only. They check each field on its own (types, ranges, unknown keys); the rules that tie
fields together (mttr needs mtbf, shifts must not overlap, ...) live in `twin.validate`, which runs them over the
raw data even when some fields are wrong, so that a user sees every problem at once.

Times are seconds (`cycle_s`, `mtbf_s`, `mttr_s`), clock times "HH:MM", rates per hour.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DISTRIBUTIONS = ("det", "exp", "normal", "lognormal", "gamma", "uniform", "triangular", "weibull", "empirical")
Distribution = Literal["det", "exp", "normal", "lognormal", "gamma", "uniform", "triangular", "weibull", "empirical"]
FailureDistribution = Literal["det", "exp", "normal", "lognormal", "gamma", "uniform", "triangular", "weibull"]

ClockTime = Annotated[
    str,
    Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$", description="a clock time HH:MM (00:00 to 24:00)"),
]
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # the model year: a common year from Monday 1 January


def year_days(unit: str, span: list[int]) -> tuple[int, int]:
    """The first and last day (from 0) of the model year that `months = [a, b]` or `days = [a, b]` cover."""
    if unit == "months":
        return sum(MONTH_DAYS[:span[0] - 1]), sum(MONTH_DAYS[:span[1]]) - 1
    return span[0] - 1, span[1] - 1
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=120)]


class _Strict(BaseModel):
    # strict: TOML is typed, so `cycle_s = true` or `servers = "2"` is a mistake to report, not to coerce
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


class ShiftSpec(_Strict):
    """A working period of every working day; `end` before `start` runs past midnight."""

    start: ClockTime
    end: ClockTime


class BreakSpec(_Strict):
    """A pause inside a shift, every working day (stations and failure clocks stop)."""

    start: ClockTime
    minutes: Annotated[float, Field(gt=0, le=24 * 60, allow_inf_nan=False)]


class CalendarPeriodSpec(_Strict):
    """Another weekly pattern for part of the model year: a ramp-up, a third shift in peak months, a shutdown.

    The model year has 365 days from Monday 1 January (t = 0) with the months of a common year; `months = [9, 12]`
    or `days = [29, 42]` (days of the year, 1 to 365) pick the days, both ends included. What a period leaves out
    (shifts, breaks, days_per_week) it takes from its calendar; `days_per_week = 0` closes the plant. Where periods
    overlap, the later one wins. A day follows its period from midnight to midnight, so a night shift running into a
    closed day stops at midnight.
    """

    months: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(min_length=2, max_length=2)] | None = None
    days: Annotated[list[Annotated[int, Field(ge=1, le=365)]], Field(min_length=2, max_length=2)] | None = None
    shifts: list[ShiftSpec] | None = None
    breaks: list[BreakSpec] | None = None
    days_per_week: Annotated[int, Field(ge=0, le=7)] | None = None
    note: str = Field("", description="why this period differs (for the reader; not used)")


class CalendarSpec(_Strict):
    """When the stations work. Omitted: round the clock, every day."""

    shifts: list[ShiftSpec] = Field(default_factory=lambda: [ShiftSpec(start="00:00", end="24:00")])
    breaks: list[BreakSpec] = Field(default_factory=list)
    days_per_week: Annotated[int, Field(ge=1, le=7)] = 7
    periods: list[CalendarPeriodSpec] = Field(
        default_factory=list, description="other patterns for parts of the year; with any, the calendar repeats yearly")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def names_of(source: str | list[str]) -> list[str]:
    """`from = "A"` and `from = ["A", "B"]` alike, as a list."""
    return [source] if isinstance(source, str) else list(source)


class ExternalSpec(_Strict):
    """A second source of an input outside the modelled lines: a supplier covering `share` of the units.

    Which units it covers is fixed by the share (unit u of the input is external when floor((u+1)·share) >
    floor(u·share)), so the local share 1 - share is a parameter, not an outcome. Each external unit taken from its
    stock is re-ordered at once and arrives `lead_s` after the supplier ships it; a supplier with failures ships
    nothing while down (round the clock: it is outside the cluster's calendar).
    """

    share: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        description="share of this input's units the external supplier covers (0 to 1); the local line covers the rest")
    lead_s: PositiveSeconds = Field(description="mean time from a re-order (shipment) to arrival at the stock (s)")
    dist: FailureDistribution = "det"
    cv: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    stock: Annotated[int, Field(ge=1, le=10_000_000)] | None = Field(
        default=None, description="line-side places for external units, full at the start (default: the input's stock)")
    mtbf_s: PositiveSeconds | None = Field(default=None, description="supplier stoppages: mean time between them (s)")
    mttr_s: PositiveSeconds | None = Field(default=None, description="supplier stoppages: mean length (s)")
    ttf_dist: Literal["det", "exp"] = "exp"
    ttr_dist: Literal["det", "exp"] = "exp"


class InputSpec(_Strict):
    """A feeder of an assembly station: `qty` parts of `from` (a line's output or a transport) per cycle."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True,
                              populate_by_name=True)

    source: Name | list[Name] = Field(
        alias="from", description="the feeding line or transport; a list of lines pools their output in one stock")
    qty: Annotated[int, Field(ge=1, le=10_000)] = 1
    stock: Annotated[int, Field(ge=1, le=10_000_000)] | None = Field(
        default=None, description="line-side stock places for this input (default: qty, one kit)")
    external: ExternalSpec | None = Field(
        default=None, description="a supplier outside the modelled lines covering a share of this input")


class StationSpec(_Strict):
    """One station: `servers` identical machines in parallel, then a buffer of `buffer` places.

    `cycle_s` is the mean processing time of one part on one server; the distribution is scaled to it, so that a
    change of `cycle_s` scales every draw (common random numbers for sensitivity).
    """

    name: Name
    cycle_s: PositiveSeconds | None = Field(
        default=None, description="mean processing time of one part on one server (s); for empirical, optional; "
                                  "batch: hold time of a batch; conveyor: the pitch (time between hooks)"
    )
    dist: Distribution = "det"
    cv: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        default=None, description="coefficient of variation (normal, lognormal, gamma, uniform, triangular, weibull)"
    )
    samples_s: list[PositiveSeconds] | None = Field(default=None, description="measured times for dist = empirical")
    samples_csv: str | None = Field(
        default=None, description="CSV of measured times (one column, seconds) for dist = empirical; relative to the file"
    )
    servers: Annotated[int, Field(ge=1, le=10_000)] = 1
    buffer: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    mtbf_s: PositiveSeconds | None = None
    mttr_s: PositiveSeconds | None = None
    failure_basis: Literal["busy", "calendar"] = "busy"
    ttf_dist: FailureDistribution = "exp"
    ttf_cv: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    ttr_dist: FailureDistribution = "exp"
    ttr_cv: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    scrap: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    min_cycle_s: PositiveSeconds | None = Field(default=None, description="lowest cycle time tuning may propose")
    inputs: list[InputSpec] = Field(
        default_factory=list, description="assembly: parts consumed per cycle from feeder lines or transports")
    kind: Literal["machine", "batch", "conveyor", "delay"] = Field(
        default="machine", description="machine (one part per server), batch (furnace/oven), conveyor (paced chain), "
                                       "delay (every part takes delay_s, up to capacity at once)")
    batch_max: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None, description="batch: parts a server (furnace) holds; it starts full, or as max_wait_s says")
    batch_min: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None, description="batch with max_wait_s: the fewest parts it starts with (default 1)")
    max_wait_s: PositiveSeconds | None = Field(
        default=None, description="batch: start with what is loaded (>= batch_min) this long after the first part")
    transit_s: PositiveSeconds | None = Field(
        default=None, description="conveyor: time from the load point to the exit at chain speed (s)")
    stops_when_blocked: bool = Field(
        default=True, description="conveyor: the chain stops while the part at its exit cannot leave; false: it "
                                  "runs on and the part goes round the loop (hooks)")
    hooks: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None, description="non-stop conveyor: hooks on the loop; a round takes hooks x cycle_s")
    delay_s: PositiveSeconds | None = Field(
        default=None, description="delay: the time every part takes (cooling, curing); = cycle_s, dist det")
    capacity: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        default=None, description="delay: parts in it at once (default 1); = servers")

    @model_validator(mode="before")
    @classmethod
    def _delay_is_a_station(cls, data: object) -> object:
        """A delay is syntax over a multi-server deterministic station: both engines see cycle_s and servers."""
        if isinstance(data, dict) and data.get("kind") == "delay":
            data = dict(data)
            if "delay_s" in data and "cycle_s" not in data:
                data["cycle_s"] = data["delay_s"]
            capacity = data.get("capacity", 1)
            if "servers" not in data and isinstance(capacity, int) and not isinstance(capacity, bool) and capacity >= 1:
                data["servers"] = capacity  # a bad capacity is reported as itself, not as servers
        return data


class LineSpec(_Strict):
    """A serial line: stations in order, the first fed without end, the last never blocked."""

    name: Name
    rated_per_hour: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    rated_per_year: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    calendar: CalendarSpec | None = Field(default=None, description="overrides the scenario's calendar for this line")
    stations: list[StationSpec]


class TransportSpec(_Strict):
    """Vehicles (trucks, AGVs) carrying a line's output in batches to the station that consumes it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True,
                              populate_by_name=True)

    name: Name
    source: Name | list[Name] = Field(
        alias="from", description="the line whose output the vehicles carry; a list of lines shares one dock")
    batch: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    vehicles: Annotated[int, Field(ge=1, le=10_000)] = 1
    dock: Annotated[int, Field(ge=1, le=10_000_000)] | None = Field(
        default=None, description="places at the sender's loading dock (default: batch)")
    lead_s: PositiveSeconds = Field(description="mean travel time, loaded (s)")
    return_s: PositiveSeconds | None = Field(default=None, description="mean travel time back empty (default: lead_s)")
    dist: FailureDistribution = "det"
    cv: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    dispatch: Literal["full", "every"] = "full"
    every_s: PositiveSeconds | None = Field(default=None, description="with dispatch = every: leave every every_s")


class VariantSpec(_Strict):
    """A variant of the final product: its share of the mix, its bill of materials and cycle times."""

    name: Name
    share: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = Field(
        default=None, description="share of the launches; required except for the mix's base variant")
    bom: dict[str, Annotated[int, Field(ge=0, le=10_000)]] = Field(
        default_factory=dict, description="input (feeder) name -> quantity, overriding the station's qty")
    cycle_s: dict[str, PositiveSeconds] = Field(
        default_factory=dict, description="station name -> mean cycle time for this variant")


class MixSpec(_Strict):
    """The model mix launched on one line."""

    line: Name
    sequence: Literal["random", "cyclic"] = "random"
    pattern: list[Name] | None = Field(default=None, description="cyclic: the launch order of variant names")
    base: Name | None = Field(
        default=None, description="the variant whose share is the rest (1 - the others' shares): the others' shares "
                                  "are then parameters, e.g. an EREV share and a dual-motor share")
    variants: list[VariantSpec]

    @model_validator(mode="before")
    @classmethod
    def _base_takes_the_rest(cls, data: object) -> object:
        """Fill in the base variant's share, so that both engines see plain shares adding up to 1."""
        if not isinstance(data, dict) or not isinstance(data.get("variants"), list):
            return data
        base = data.get("base")
        variants = data["variants"]
        others = [v.get("share") for v in variants if isinstance(v, dict) and v.get("name") != base]
        if not isinstance(base, str) or not all(_is_number(x) for x in others):
            return data
        rest = max(0.0, 1.0 - float(sum(others)))  # more than 1 is reported by twin.validate
        data = dict(data)
        data["variants"] = [dict(v, share=rest) if isinstance(v, dict) and v.get("name") == base and "share" not in v
                            else v for v in variants]
        return data


class ScenarioHeader(_Strict):
    name: Name
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    product: Name | list[Name] | None = Field(
        default=None, description="the line (or lines, added up) whose output is the final product")
    description: str = ""
    horizon_hours: PositiveSeconds | None = Field(default=None, description="default simulated hours for `twin run`")
    warmup_hours: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    replications: Annotated[int, Field(ge=1, le=100_000)] | None = None


class ScenarioSpec(_Strict):
    """A whole scenario file."""

    scenario: ScenarioHeader
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    lines: list[LineSpec]
    transports: list[TransportSpec] = Field(default_factory=list)
    mix: MixSpec | None = None

    def line(self, name: str) -> LineSpec:
        for line in self.lines:
            if line.name == name:
                return line
        raise KeyError(f"no line {name!r}; lines are {[ln.name for ln in self.lines]}")

    def station(self, line: str, name: str) -> StationSpec:
        for station in self.line(line).stations:
            if station.name == name:
                return station
        raise KeyError(f"no station {name!r} in line {line!r}")


def json_schema() -> dict[str, object]:
    """The JSON Schema of scenario files, for editors (TOML language servers read JSON Schema)."""
    schema = ScenarioSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "twin scenario"
    return schema
