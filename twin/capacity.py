"""Static capacities: what each station, line, transport and second source can pass at most, without simulating.

These are the nameplate bounds an engineer checks first (`twin check`) and the yardstick of `twin study`: a line
makes at most what its slowest station makes alone (servers · 3600 / cycle · availability · yield), in its working
hours; a transport carries at most vehicles · batch per round trip; a second source with a kanban of `stock` cards
and a lead time `lead_s` delivers at most stock / lead_s (each card is away at least that long, Little's law).
Simulation then says how much of that survives blocking, starving and variability.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.calendar import YEAR_S, Calendar
from twin.scenario import Scenario
from twin.spec import ExternalSpec, LineSpec, StationSpec, TransportSpec


def availability(st: StationSpec | ExternalSpec) -> float:
    """Share of time up: MTBF / (MTBF + MTTR), 1 without failures."""
    if st.mtbf_s is None or st.mttr_s is None:
        return 1.0
    return float(st.mtbf_s / (st.mtbf_s + st.mttr_s))


def mean_cycle_s(sc: Scenario, line: str, station: str) -> float:
    """The station's mean cycle time (an empirical station's sample mean when it has no cycle_s)."""
    st = sc.station(line, station)
    if st.cycle_s is not None:
        return float(st.cycle_s)
    values = sc.samples[(line, station)]
    return float(sum(values) / len(values))


def station_per_hour(sc: Scenario, line: str, station: str) -> float:
    """Good parts a working hour the station makes alone, never starved or blocked."""
    st = sc.station(line, station)
    per_cycle = st.batch_max if st.kind == "batch" and st.batch_max else 1  # a conveyor: one part a pitch
    return st.servers * per_cycle * 3600.0 / mean_cycle_s(sc, line, station) * availability(st) * (1.0 - st.scrap)


@dataclass(frozen=True)
class LineCapacity:
    line: str
    pacer: str  # the station with the least capacity alone
    per_working_hour: float
    working_hours_per_year: float

    @property
    def per_year(self) -> float:
        return self.per_working_hour * self.working_hours_per_year


def calendar_of(sc: Scenario, line: LineSpec) -> Calendar:
    return Calendar.from_spec(line.calendar or sc.spec.calendar)


def line_capacity(sc: Scenario, line: str) -> LineCapacity:
    spec = sc.spec.line(line)
    pacer = min(spec.stations, key=lambda s: station_per_hour(sc, line, s.name))
    hours = calendar_of(sc, spec).working_share * YEAR_S / 3600.0
    return LineCapacity(line, pacer.name, station_per_hour(sc, line, pacer.name), hours)


def transport_per_year(tr: TransportSpec) -> float:
    """Parts a year the vehicles can carry round the clock: a batch each per round trip (a timetable: per tick)."""
    trip = tr.lead_s + (tr.return_s if tr.return_s is not None else tr.lead_s)
    if tr.dispatch == "every" and tr.every_s is not None:
        trip = max(tr.every_s, trip / tr.vehicles)
        return tr.batch * YEAR_S / trip
    return tr.vehicles * tr.batch * YEAR_S / trip


def external_per_year(ext: ExternalSpec, qty_stock: int) -> float:
    """Units a year a second source can deliver: each of its `stock` kanban cards is away for lead_s at least, and
    nothing ships while it is down."""
    cards = ext.stock if ext.stock is not None else qty_stock
    return cards * YEAR_S / ext.lead_s * availability(ext)

