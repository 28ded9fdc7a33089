"""What one engine run is asked for and what it returns: `RunConfig` in, `ReplicationResult` out.

Both engines (SimPy now, the max-plus flow engine later) take a `Scenario` and a `RunConfig` and return a
`ReplicationResult`, so everything downstream (KPIs, intervals, bottlenecks, the CLI) is engine-agnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STATES = ("working", "blocked", "starved", "down", "off_shift")
VEHICLE_STATES = ("loaded", "unloading", "returning", "idle")  # unloading: waiting for room at the stock too
WORKING, BLOCKED, STARVED, DOWN, OFF_SHIFT = range(5)


@dataclass(frozen=True)
class RunConfig:
    """One replication: how long, what to discard, which random streams, what to record."""

    horizon_s: float
    warmup_s: float = 0.0
    seed: int = 0
    replication: int = 0
    trace: bool = False
    failures: bool = True  # False: no failures and no scrap (the nameplate run)
    stop_after_parts: int | None = None  # end early once this many parts have left the lines
    active_periods: bool = False  # record each station's active periods as the run goes (O(periods) memory)
    # with active_periods: leave out the periods that can never be the momentary bottleneck (see PrunedPeriods)
    prune_periods: bool = False

    def __post_init__(self) -> None:
        if not (self.horizon_s > 0):
            raise ValueError(f"horizon_s must be > 0, got {self.horizon_s}")
        if not (0 <= self.warmup_s < self.horizon_s):
            raise ValueError(f"warmup_s must be >= 0 and < horizon_s ({self.horizon_s}), got {self.warmup_s}")


@dataclass(frozen=True)
class Trace:
    """A compact state trace: one row per state segment of one server, times in the station's working clock.

    Working-clock seconds exclude off-shift time (equal to calendar seconds for a round-the-clock calendar), which
    is what active-period analysis needs: off-shift belongs to neither active nor inactive time.
    `unit_station[u]` is the station index of server u. `exit_s` lists, in calendar seconds, every time a part
    left a line (the whole run, warm-up included), in time order, `exit_line` the index of that line (the flow
    engine lists the exits of one instant by line; the SimPy engine in the order its events ran).
    """

    unit: np.ndarray  # int32, server index
    state: np.ndarray  # int8, index into STATES
    start_s: np.ndarray  # float64, working-clock seconds
    end_s: np.ndarray  # float64
    unit_station: np.ndarray  # int32
    exit_line: np.ndarray  # int32
    exit_s: np.ndarray  # float64, calendar seconds


@dataclass(frozen=True)
class PrunedPeriods:
    """The active periods an engine left out of `ReplicationResult.active_periods` (`RunConfig.prune_periods`).

    Each of them lies inside another station's period that is longer (or as long, of a lower-numbered station),
    so it is never the momentary bottleneck; only its length is kept, for the average active period. This holds
    for every observation window that contains [lo_s, hi_s] (all left-out periods and the periods that cover them
    lie in there, uncut); `twin.analytics.active_period.periods_from_recorded` checks it.
    """

    length_s: np.ndarray  # per station: summed length of the periods left out (working clock)
    count: np.ndarray  # per station: how many
    lo_s: float  # inf / -inf when none was left out
    hi_s: float


@dataclass(frozen=True)
class ReplicationResult:
    """Raw measurements of one replication over the measured window [warmup_s, end_s)."""

    replication: int
    seed: int
    warmup_s: float
    end_s: float  # the horizon, or the time the run stopped after enough parts
    station_names: tuple[str, ...]
    station_lines: tuple[str, ...]
    station_servers: tuple[int, ...]
    shares: np.ndarray  # (stations, 5): working, blocked, starved, down, off_shift; rows sum to 1
    line_names: tuple[str, ...]
    line_finished: np.ndarray  # parts leaving each line in the window
    line_working_s: np.ndarray  # working (on-shift) seconds of each line's calendar in the window
    line_wip: np.ndarray  # time-average parts in each line
    line_lead_time_s: np.ndarray  # mean calendar time from release to exit of parts leaving in the window
    line_released: np.ndarray  # whole run, for conservation checks
    line_finished_total: np.ndarray
    line_scrapped: np.ndarray
    line_in_process: np.ndarray  # parts in the line at the end
    buffer_names: tuple[str, ...]  # "line/station" of the station before each buffer
    buffer_capacity: np.ndarray
    buffer_level: np.ndarray  # time-average parts waiting
    station_operations: int  # parts processed by all stations in the whole run (speed accounting)
    trace: Trace | None = None
    line_terminal: tuple[bool, ...] = ()  # False for a line whose output feeds another line
    starved_by: tuple[dict[str, float], ...] = ()  # per station: share of time short of each input (overlapping)
    transport_names: tuple[str, ...] = ()
    transport_shares: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # in VEHICLE_STATES order
    transport_delivered: np.ndarray = field(default_factory=lambda: np.zeros(0))  # parts delivered in the window
    deadlock: tuple[str, ...] | None = None  # the stuck stations, if the run stalled for good
    # per station (start, end) arrays of its active periods on its working clock, when asked for
    active_periods: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    pruned_periods: PrunedPeriods | None = None  # what RunConfig.prune_periods left out of active_periods
    # (lines, days): parts leaving each line in each calendar day since t = 0 (the whole run, warm-up included)
    line_daily: np.ndarray | None = None

    @property
    def window_s(self) -> float:
        return self.end_s - self.warmup_s

    @property
    def utilization(self) -> np.ndarray:
        """Working share of on-shift time, per station."""
        on_shift = 1.0 - self.shares[:, OFF_SHIFT]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(on_shift > 0, self.shares[:, WORKING] / on_shift, 0.0)


def state_shares(working_s: float, blocked_s: float, down_s: float, window_s: float, on_shift_s: float,
                 servers: int) -> np.ndarray:
    """One station's row of shares (working, blocked, starved, down, off-shift) from its server-seconds.

    Starved is the rest of the on-shift time, so it carries the round-off of the others; shares below 1e-12 are 0.
    """
    denom = window_s * servers
    working, blocked, down = working_s / denom, blocked_s / denom, down_s / denom
    off = (window_s - on_shift_s) / window_s
    starved = 1.0 - off - working - blocked - down
    row = np.array((working, blocked, starved, down, off))
    row[np.abs(row) < 1e-12] = 0.0
    return row
