"""External (second) sources of an assembly input on the SimPy engine: a supplier outside the modelled lines.

An input with `external = {share, lead_s, ...}` has two line-side stocks: the local one, filled by its feeder line
or transport as before, and an external one of `stock` places, full at the start and refilled by the supplier.
Which source a unit comes from is fixed in advance by the share, not by which stock happens to hold parts:
unit u (counting from 0, in order of consumption) is external when floor((u+1)·share) > floor(u·share). Over any
run that is the share to within one unit, spread as evenly as it can be (share 0.4: L L E L E ...), so the local
share is a parameter and deterministic cases can be computed by hand. A kit waits for the stock its units are
assigned to; time short of the external stock counts as starved by "INPUT (external)".

The supplier re-orders each external unit the moment it is taken (a kanban of `stock` cards): it ships at once,
or at the end of a stoppage if it is down, and the unit arrives `lead_s` later. Stoppages (mtbf_s, mttr_s) run on
the supplier's own clock, round the clock (it is outside the cluster and its calendar), from streams keyed by
the consuming station and the input, so a supplier changes no other draw.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from twin.engine.des import _DownSchedule, _Link, _Timeout
from twin.spec import InputSpec
from twin.streams import Sampler, stream, unit_draw

if TYPE_CHECKING:
    from twin.engine.des import DesSimulation, _Station


class Supply:
    """The external source of one input of one assembly station: its stock, its share, its re-orders."""

    __slots__ = ("env", "local", "feed", "share", "units", "link", "lead", "down")

    def __init__(self, sim: DesSimulation, st: _Station, local: int, name: str, inp: InputSpec) -> None:
        ext = inp.external
        assert ext is not None
        cfg = sim.config
        self.env = sim.env
        self.local = local  # index of the input (its local stock) among the station's feeds
        # exact arithmetic: floor(u · 0.29) must not slip a unit to rounding
        self.share = Fraction(repr(ext.share)).limit_denominator(10**9)
        self.units = 0  # units of this input consumed so far, local and external
        places = ext.stock if ext.stock is not None else (inp.stock if inp.stock is not None else inp.qty)
        line_name = st.line.name
        link = _Link(sim.env, f"{name} (external)->{line_name}/{st.spec.name}", places, 0, free_on_take=True)
        link.consumer = st
        link.occupied = places
        link.parts.extend((0.0, 0) for _ in range(places))  # the stock starts full
        self.link = link
        sim.links.append(link)
        st.feeds.append(link)
        st.feed_names.append(f"{name} (external)")
        self.feed = len(st.feeds) - 1
        key = f"{st.spec.name}<-{name}"  # the station's own streams are keyed by its name alone: no clash
        self.lead = Sampler(stream(cfg.seed, cfg.replication, line_name, key, "travel"), unit_draw(ext.dist, ext.cv),
                            ext.lead_s)
        self.down: _DownSchedule | None = None
        if cfg.failures and ext.mtbf_s is not None and ext.mttr_s is not None:
            ttf = Sampler(stream(cfg.seed, cfg.replication, line_name, key, "failure"), unit_draw(ext.ttf_dist, None),
                          ext.mtbf_s)
            ttr = Sampler(stream(cfg.seed, cfg.replication, line_name, key, "repair"), unit_draw(ext.ttr_dist, None),
                          ext.mttr_s)
            self.down = _DownSchedule(ttf, ttr, 0.0, math.inf)

    def external_units(self, n: int) -> int:
        """How many of the next n units of this input are the supplier's."""
        share, u = self.share, self.units
        return math.floor((u + n) * share) - math.floor(u * share)

    def taken(self, n_local: int, n_external: int) -> None:
        """A kit took its units of this input: count them and re-order the external ones."""
        self.units += n_local + n_external
        now = self.env.now
        for _ in range(n_external):
            ship = now if self.down is None else self.down.advance(now, 0.0)
            arrival = _Timeout(self.env, ship - now + self.lead(), self.link.priority)
            arrival.callbacks.append(self._deliver)

    def _deliver(self, event: Any) -> None:
        self.link._admit((self.env.now, 0))


def split_kit(supplies: list[Supply], qty: list[int]) -> list[int]:
    """A kit's quantities per feed: each input with an external source split between its two stocks."""
    out = list(qty) + [0] * len(supplies)
    for sup in supplies:
        n = qty[sup.local]
        ext = sup.external_units(n)
        out[sup.local] = n - ext
        out[sup.feed] = ext
    return out
