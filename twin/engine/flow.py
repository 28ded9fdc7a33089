"""The flow engine: the exact max-plus recursion of blocking-after-service lines, compiled with numba.

It runs the scenarios of its class — serial lines with parallel servers, busy-based failures, scrap and a working
calendar per line — and gives, for the same seed, the same departure times as the SimPy engine (equal to
rounding, not statistically close): it reads the same per-station streams in the same order (see
`twin.engine.flow_kernel`). `flow_problem` names what puts a scenario outside the class; `auto` picks the SimPy
engine then.

Memory is O(stations x (servers + buffer places)) for the KPIs: draws are fetched a block at a time and times
live in ring buffers as deep as a link. Recording active periods or exits adds O(periods) or O(parts).
"""

from __future__ import annotations

import math
import mmap
import sys
import threading
from dataclasses import dataclass, field

import numpy as np

from twin.calendar import Calendar
from twin.engine import flow_kernel as fk
from twin.engine import flow_serial as fs
from twin.engine import flow_supply as fsup
from twin.engine import flow_transport as ft
from twin.engine.flow_class import flow_problem
from twin.engine.model import PrunedPeriods, ReplicationResult, RunConfig, Trace, state_shares
from twin.errors import EngineError
from twin.scenario import Scenario
from twin.spec import InputSpec, StationSpec, names_of
from twin.streams import BLOCK, fixed_draw, stream, unit_draw

_MIN_DRAWS = 16 * BLOCK  # draws held per station and purpose between two refills
_DAYS_AHEAD_S = 4 * 366 * 86_400.0  # calendar days of output counted without knowing how far a run goes
_MAP_NORESERVE = 0x4000  # Linux's mmap flag (Python's mmap module does not name it before 3.13)


def _pow2(n: int) -> int:
    return 1 << max(int(n - 1).bit_length(), 1)


def _blocks(rng: np.random.Generator, draw: object, mean: float | None, blocks: int) -> np.ndarray:
    """The next `blocks` blocks of a stream's draws, equal to what twin.streams.Sampler (or Bernoulli) would read.

    numpy's generators fill arrays element by element, so one call for many blocks gives the same numbers as one
    call a block; only bounded integers (empirical distributions) are drawn block by block, as they may buffer.
    """
    if mean is None:  # uniforms for scrap
        return rng.random(blocks * BLOCK)
    if getattr(draw, "blockwise", False):
        return np.concatenate([draw(rng, BLOCK) * mean for _ in range(blocks)])  # type: ignore[operator]
    return draw(rng, blocks * BLOCK) * mean  # type: ignore[operator]


class _Draws:
    """One purpose's draws for every station: a (stations x capacity) array refilled a block at a time."""

    def __init__(self, n_stations: int, capacity: int) -> None:
        self.capacity = capacity
        self.values = np.zeros(n_stations * capacity)
        self.sources: list[tuple[np.random.Generator, object, float | None] | None] = [None] * n_stations

    def refill(self, j: int, pos: int, length: int) -> int:
        """Keep the unread draws of station j, append whole blocks after them; return the new length."""
        source = self.sources[j]
        assert source is not None
        rng, draw, mean = source
        row = self.values[j * self.capacity:(j + 1) * self.capacity]
        rest = length - pos
        row[:rest] = row[pos:length]
        blocks = (self.capacity - rest) // BLOCK
        row[rest:rest + blocks * BLOCK] = _blocks(rng, draw, mean, blocks)
        return rest + blocks * BLOCK


class _PeriodLog:
    """Where the single-server kernel writes the active periods it keeps when it prunes them (or finds them inside
    its recursion, the tests' reference): fixed-size chunks, a new one when one is full (no copy of what is
    written), regrouped per station once at the end. (The general kernel, and the single-server one recording
    every period, write each station's periods to a log of its own: `_StationLogs`.)"""

    def __init__(self, record: bool, least: int = 0) -> None:
        self.size = max(1 << 16, least) if record else 1
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.st, self.a, self.b = self._fresh()

    def _fresh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.empty(self.size, dtype=np.int32), np.empty(self.size), np.empty(self.size)

    def full(self, written: int) -> None:
        """The kernel filled the current chunk up to `written`: keep it, hand out a fresh one (count from 0)."""
        self.chunks.append((self.st[:written], self.a[:written], self.b[:written]))
        self.st, self.a, self.b = self._fresh()

    def by_station(self, written: int, n: int, has_open: np.ndarray, open_a: np.ndarray, open_b: np.ndarray
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
        # a counting sort straight from the chunks (joining them first would write every period once more, into
        # fresh memory, which costs more here than the sort); each station's period still open at the end last
        parts = [*self.chunks, (self.st[:written], self.a[:written], self.b[:written])]
        bounds = np.zeros(n + 1, dtype=np.int64)
        for st, _, _ in parts:
            fs.count_periods(st, bounds)
        bounds[1:] += has_open[:n].astype(np.int64)
        np.cumsum(bounds, out=bounds)
        a, b = np.empty(bounds[n]), np.empty(bounds[n])
        pos = bounds[:-1].copy()
        for st, pa, pb in parts:
            fs.place_periods(st, pa, pb, pos, a, b)
        opened = np.flatnonzero(has_open[:n])
        a[pos[opened]], b[pos[opened]] = open_a[opened], open_b[opened]
        return [(a[bounds[j]:bounds[j + 1]], b[bounds[j]:bounds[j + 1]]) for j in range(n)]


class _StationLogs:
    """Each station's active periods as the kernels record them (`flow_kernel.log_period`; the single-server
    kernel's `_rebuild_all` when it records them all): two regions of one pool per station, its starts and its
    ends, so that they come out grouped, with nothing to regroup.

    Every station starts with `FIRST` places in the pool's first pages; one that needs more moves once to a region
    of `RESERVE` places reserved for it (`flow_kernel.log_room`); past that (or where no reservation could be
    made) the kernel returns and `grow` copies the logs into a larger pool. The reservation is address space only:
    a page is memory once written, so memory stays 16 bytes a period plus up to two pages (huge: 4 MiB) a
    station. With `huge` (the single-server kernel: a line of few stations writing tens of millions of periods),
    the pool asks for transparent huge pages where the system allows: millions of periods then take a few dozen
    page faults instead of tens of thousands, which on this kind of machine cost more than writing the periods;
    without (the general kernel: up to hundreds of stations, most with far fewer periods than a huge page holds),
    small pages, so that memory stays near 16 bytes a period. No period past a station's first 1,024 is written
    twice (a log that doubled as it grew wrote each period up to three times into fresh memory)."""

    FIRST = 1024
    RESERVE = 1 << 23
    HUGE = 2 << 20  # bytes: a transparent huge page

    def __init__(self, n: int, huge: bool = True) -> None:
        self.huge = huge
        lg = self.lg = np.zeros((n, fk.NLG), dtype=np.int64)
        first = -(-2 * n * self.FIRST // (self.HUGE // 8)) * (self.HUGE // 8)
        lg[:, fk.LG_AT] = 2 * self.FIRST * np.arange(n)
        lg[:, fk.LG_CAP] = self.FIRST
        self.pool, reserve = self._reserve(first, n) if n else (np.empty(1), 0)
        lg[:, fk.LG_NEXT_AT] = first + 2 * reserve * np.arange(n)
        lg[:, fk.LG_NEXT_CAP] = reserve

    def _reserve(self, first: int, n: int) -> tuple[np.ndarray, int]:
        """A pool of `first` places and 2 n reserved regions, as large as the system grants (none: `first` only)."""
        reserve = self.RESERVE
        while reserve >= self.FIRST:
            count = first + 2 * n * reserve
            try:
                return self._mapped(count), reserve
            except (OSError, ValueError, OverflowError, MemoryError):
                reserve //= 8
        return self._mapped(first), 0

    def _mapped(self, count: int) -> np.ndarray:
        """`count` float64 places of fresh anonymous memory, 2-MiB aligned, untouched (so not yet memory), huge
        pages asked for (`huge`) where Linux has them; no swap is reserved for address space that may never be
        written."""
        if not hasattr(mmap, "MAP_PRIVATE"):  # (Windows: no private anonymous maps; plain memory, same layout)
            return np.empty(count)
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | (_MAP_NORESERVE if sys.platform == "linux" else 0)
        region = mmap.mmap(-1, count * 8 + self.HUGE, flags=flags)
        if self.huge and hasattr(mmap, "MADV_HUGEPAGE"):
            try:
                region.madvise(mmap.MADV_HUGEPAGE)
            except OSError:  # (a kernel built without huge pages: small pages, as anywhere else)
                pass
        at = np.frombuffer(region, dtype=np.uint8, count=1).ctypes.data
        return np.frombuffer(region, dtype=np.float64, count=count, offset=-at % self.HUGE)

    def grow(self, more: int) -> None:
        """A new pool where each station has room for `more` entries (at least 4 x its room now if it had none),
        with what is written copied; no region left to move to."""
        lg = self.lg
        n = lg[:, fk.LG_N]
        cap = np.where(n + more > lg[:, fk.LG_CAP], 4 * np.maximum(lg[:, fk.LG_CAP], n + more), lg[:, fk.LG_CAP])
        pool = self._mapped(2 * int(cap.sum()))
        at = 0
        for j in range(len(lg)):
            src, old = int(lg[j, fk.LG_AT]), int(lg[j, fk.LG_CAP])
            lg[j, fk.LG_AT] = at
            for half in range(2):  # the starts, then the ends (+ 1: the open period's start lies there)
                pool[at:at + n[j] + 1] = self.pool[src + half * old:src + half * old + n[j] + 1]
                at += int(cap[j])
        lg[:, fk.LG_CAP] = cap
        lg[:, fk.LG_NEXT_CAP] = 0
        self.pool = pool

    def by_station(self, has_open: np.ndarray, open_a: np.ndarray, open_b: np.ndarray
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for j, (at, cap, n) in enumerate(self.lg[:, [fk.LG_AT, fk.LG_CAP, fk.LG_N]].tolist()):
            a, b = self.pool[at:at + n + 1], self.pool[at + cap:at + cap + n + 1]
            if has_open[j]:  # (the kernel leaves room for it)
                a[n], b[n] = open_a[j], open_b[j]
                n += 1
            out.append((a[:n], b[:n]))
        return out


class _Supplies:
    """The external suppliers of assembly inputs while the state arrays are built: their rows of `sup_i`/`sup_f`,
    the input entries they split, and their streams (opened as `twin.engine.des_supply.Supply` opens them)."""

    def __init__(self, sim: FlowSimulation, n_sup: int) -> None:
        self.config = sim.config
        self.count = 0
        self.rows: list[list[int]] = []
        self.places: list[int] = []
        self.entries: dict[int, int] = {}  # input entry -> its code in `in_sup` (2 s local side, 2 s + 1 external)
        sim.sdraws = {p: _Draws(max(n_sup, 1), _MIN_DRAWS) for p in (fsup.LEAD, fsup.SFAIL, fsup.SREPAIR)}
        self.draws = sim.sdraws

    def add(self, line: str, station: str, name: str, inp: InputSpec, j: int, local_row: int, ext_row: int,
            local_entry: int, ext_entry: int) -> int:
        """Register the supplier of one input; return its stock's places."""
        ext = inp.external
        assert ext is not None
        cfg = self.config
        s = self.count
        self.count += 1
        places = ext.stock if ext.stock is not None else (inp.stock if inp.stock is not None else inp.qty)
        num, den = fsup.exact_share(ext.share)
        row = [0] * fsup.NSI
        row[fsup.SP_ENTRY], row[fsup.SP_LOCAL], row[fsup.SP_EXT] = ext_entry, local_row, ext_row
        row[fsup.SP_NUM], row[fsup.SP_DEN], row[fsup.SP_HOFF] = num, den, sum(self.places)
        key = f"{station}<-{name}"  # the streams of twin.engine.des_supply.Supply
        self.draws[fsup.LEAD].sources[s] = (stream(cfg.seed, cfg.replication, line, key, "travel"),
                                            unit_draw(ext.dist, ext.cv), ext.lead_s)
        row[fsup.SP_L_LEN] = self.draws[fsup.LEAD].refill(s, 0, 0)
        if cfg.failures and ext.mtbf_s is not None and ext.mttr_s is not None:
            row[fsup.SP_DOWN] = 1
            self.draws[fsup.SFAIL].sources[s] = (stream(cfg.seed, cfg.replication, line, key, "failure"),
                                                 unit_draw(ext.ttf_dist, None), ext.mtbf_s)
            self.draws[fsup.SREPAIR].sources[s] = (stream(cfg.seed, cfg.replication, line, key, "repair"),
                                                   unit_draw(ext.ttr_dist, None), ext.mttr_s)
            row[fsup.SP_F_LEN] = self.draws[fsup.SFAIL].refill(s, 0, 0)
            row[fsup.SP_R_LEN] = self.draws[fsup.SREPAIR].refill(s, 0, 0)
        self.rows.append(row)
        self.places.append(places)
        self.entries[local_entry] = 2 * s
        self.entries[ext_entry] = 2 * s + 1
        return places

    def arrays(self, n_entries: int) -> dict[str, np.ndarray]:
        in_sup = np.full(max(n_entries, 1), -1, dtype=np.int64)
        for e, code in self.entries.items():
            in_sup[e] = code
        sp_t, sp_seq = fsup.empty_heap(self.places)
        return dict(in_sup=in_sup, sup_i=np.array(self.rows, dtype=np.int64).reshape(-1, fsup.NSI),
                    sup_f=np.zeros((self.count, fsup.NSF)), sp_t=sp_t, sp_seq=sp_seq,
                    d_slead=self.draws[fsup.LEAD].values, d_sfail=self.draws[fsup.SFAIL].values,
                    d_srep=self.draws[fsup.SREPAIR].values)


@dataclass
class _Measured:
    """What a kernel measured in one replication, per station and per line, before it becomes a result."""

    end_s: float
    working: np.ndarray
    blocked: np.ndarray
    down: np.ndarray
    w0: np.ndarray
    w_end: np.ndarray
    periods: list[tuple[np.ndarray, np.ndarray]] | None
    released: np.ndarray
    finished: np.ndarray
    finished_win: np.ndarray
    scrapped: np.ndarray
    lead_sum: np.ndarray
    wip_area: np.ndarray
    area: np.ndarray  # time-integral of the parts waiting in the buffer after each station
    ops: int
    exit_line: np.ndarray | None
    exit_s: np.ndarray | None
    feeds: list[tuple[str, int, float]] = field(default_factory=list)  # assembly stocks: name, places, area
    starved_by: list[dict[str, float]] | None = None  # per station: input -> server-seconds short of it
    terminal: tuple[bool, ...] | None = None
    transports: tuple[np.ndarray, np.ndarray] | None = None  # vehicle-seconds per state, parts delivered
    pruned: PrunedPeriods | None = None
    daily: np.ndarray | None = None  # (lines, days): parts finished in each calendar day
    lost_days: int = 0  # parts finished on a day past those counted (see FlowSimulation._days)


class FlowSimulation:
    """One replication of a scenario on the flow engine. Build, `run()`, read the result."""

    def __init__(self, scenario: Scenario, config: RunConfig, cancel: threading.Event | None = None,
                 lean: bool = True) -> None:
        problem = flow_problem(scenario, config)
        if problem is not None:
            raise EngineError(f"the flow engine cannot carry {problem}; use --engine des (or auto)")
        self.scenario = scenario
        self.config = config
        self.cancel = cancel  # set by another thread to stop this run between two compiled calls
        self.prune = config.active_periods and config.prune_periods  # off again if a pruned run must be redone
        # the single-server kernel finds every period inside its recursion, as it did before it rebuilt them from
        # its rings: slower, the reference the tests compare with (no effect when pruning or on other kernels)
        self.detect_inline = False
        self.days: int | None = None  # calendar days of finished parts to count (None: `_days` decides)
        self.lean = lean  # plain stations on twin.engine.flow_plain's loop (False: all on the general one, for tests)

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise KeyboardInterrupt("the flow run was cancelled")

    # ------------------------------------------------------------------ building the state arrays
    def _build(self, t_end: float, inclusive: bool, stop_n: int) -> dict[str, np.ndarray]:
        cfg = self.config
        spec = self.scenario.spec
        stations = [(ln, st) for ln in spec.lines for st in ln.stations]
        n = len(stations)
        n_tr = len(spec.transports)
        n_pool = sum(1 for t in spec.transports if len(names_of(t.source)) > 1)
        n_sup = sum(1 for ln in spec.lines for st in ln.stations for inp in st.inputs if inp.external is not None)
        # after the stations: a row per transport (the stock it fills), a row per dock shared by several lines, a
        # row per external supplier's stock
        ist = np.zeros((n + n_tr + n_pool + n_sup, fk.NI), dtype=np.int64)
        fst = np.zeros((n + n_tr + n_pool + n_sup, fk.NF))
        fst[n:, fk.LAST_ADM] = -math.inf
        fst[n:, fk.LAST_FREED] = -math.inf
        fst[:, fk.E_T] = -math.inf
        fst[:, [fk.WK_LO, fk.CK_LO]] = math.inf  # no calendar week known yet (`flow_kernel.week_band`)
        fst[:, [fk.WK_HI, fk.CK_HI]] = -math.inf
        self.calendars = [Calendar.from_spec(ln.calendar or spec.calendar) for ln in spec.lines]
        servers = np.array([st.servers for _, st in stations], dtype=np.int64)
        soff = np.concatenate(([0], np.cumsum(servers)[:-1]))
        n_servers = int(servers.sum())
        first_of = {ln.name: sum(len(x.stations) for x in spec.lines[:i]) for i, ln in enumerate(spec.lines)}
        last_of = {name: first_of[name] + len(ln.stations) - 1 for name, ln in zip(first_of, spec.lines)}
        max_m = int(servers.max())
        draw_cap = max(_MIN_DRAWS, (max_m // BLOCK + 2) * BLOCK)
        self.draws = {p: _Draws(n, draw_cap) for p in (fk.PROC, fk.FAIL, fk.REPAIR, fk.SCRAP)}
        mix = spec.mix
        variants = mix.variants if mix is not None else []
        n_var = max(len(variants), 1)
        scales = np.ones(n * n_var)
        srv_ttf = np.zeros(n_servers)
        lint = np.zeros((len(spec.lines), fk.NLI), dtype=np.int64)
        lint[:, fk.TERMINAL] = 1
        in_prod: list[int] = []
        in_qty: list[list[int]] = []
        self.feeds: list[tuple[int, str, int]] = []  # (producer station, feed name, stock), in the engine's order
        for li, ln in enumerate(spec.lines):
            cal = self.calendars[li]
            k = len(ln.stations)
            in_mix = mix is not None and mix.line == ln.name
            for pos, st in enumerate(ln.stations):
                j = first_of[ln.name] + pos
                row = ist[j]
                row[fk.M] = st.servers
                row[fk.SOFF] = soff[j]
                row[fk.LINE] = li
                row[fk.FIRST] = pos == 0
                row[fk.LAST] = pos == k - 1
                if pos < k - 1:
                    row[fk.OUT_KIND], row[fk.CONSUMER] = fk.OUT_LINE, j + 1
                    row[fk.SLOTS] = st.buffer + ln.stations[pos + 1].servers
                else:
                    row[fk.OUT_KIND], row[fk.CONSUMER] = fk.OUT_SINK, -1
                fst[j, fk.W0] = cal.to_working(cfg.warmup_s)
                fst[j, fk.WE] = cal.to_working(t_end)
                fst[j, fk.PENDING_END] = -math.inf
                fst[j, fk.LAST_ADM] = -math.inf
                fst[j, fk.LAST_FREED] = -math.inf
                row[fk.IDLE_CNT] = st.servers
                self._streams(j, ln.name, st, row, fst[j], srv_ttf[soff[j]:soff[j] + st.servers])
                if in_mix and any(st.name in v.cycle_s for v in variants):
                    base = self.draws[fk.PROC].sources[j][2]  # type: ignore[index]
                    row[fk.HAS_SCALES] = 1
                    scales[j * n_var:(j + 1) * n_var] = [v.cycle_s.get(st.name, base) / base for v in variants]
                if in_mix and pos == 0:
                    row[fk.MIX_SRC] = 1
        transports = self._transports(ist, lint, last_of, n)
        supplies = _Supplies(self, n_sup)
        # assembly inputs, in the order the SimPy engine builds its stocks (each station's inputs, then the stocks
        # of their external suppliers)
        for ln in spec.lines:
            in_mix = mix is not None and mix.line == ln.name
            for pos, st in enumerate(ln.stations):
                if not st.inputs:
                    continue
                j = first_of[ln.name] + pos
                ist[j, fk.KIT], ist[j, fk.N_IN], ist[j, fk.IN_OFF] = 1, len(st.inputs), len(in_prod)
                for inp in st.inputs:
                    (source,) = names_of(inp.source)
                    stock = inp.stock if inp.stock is not None else inp.qty
                    if source in self.transport_rows:
                        producer = self.transport_rows[source]
                        transports["tst"][producer - n, ft.TR_CONS] = j
                    else:
                        producer = last_of[source]
                        lint[ist[producer, fk.LINE], fk.TERMINAL] = 0
                    ist[producer, fk.OUT_KIND], ist[producer, fk.CONSUMER] = fk.OUT_FEED, j
                    ist[producer, fk.SLOTS] = stock
                    in_prod.append(producer)
                    in_qty.append([v.bom.get(source, inp.qty) for v in variants] if in_mix else [inp.qty] * n_var)
                    self.feeds.append((producer, f"{source}->{ln.name}/{st.name}", stock))
                for k, inp in enumerate(st.inputs):
                    if inp.external is not None:
                        local = int(ist[j, fk.IN_OFF]) + k
                        row = n + n_tr + n_pool + supplies.count
                        places = supplies.add(ln.name, st.name, names_of(inp.source)[0], inp, j, in_prod[local], row,
                                              local, len(in_prod))
                        ist[row, fk.OUT_KIND], ist[row, fk.CONSUMER], ist[row, fk.SLOTS] = fk.OUT_FEED, j, places
                        ist[row, fk.DONE] = 1  # not a node of the sweep: the station runs its supplier's events
                        ist[row, fk.N_ADM] = places  # full at the start (admitted at 0)
                        fst[row, fk.AREA] = places * max(t_end - max(cfg.warmup_s, 0.0), 0.0)
                        in_prod.append(row)
                        in_qty.append(in_qty[local])
                        self.feeds.append((row, f"{names_of(inp.source)[0]} (external)->{ln.name}/{st.name}", places))
                ist[j, fk.N_SUP] = len(in_prod) - int(ist[j, fk.IN_OFF]) - len(st.inputs)
                ist[j, fk.N_IN] = len(in_prod) - int(ist[j, fk.IN_OFF])
        if self.lean:
            rows = ist[:n]
            plain = ((rows[:, fk.KIT] == 0) & (rows[:, fk.N_IN] == 0) & (rows[:, fk.MIX_SRC] == 0)
                     & (rows[:, fk.HAS_SCALES] == 0) & (rows[:, fk.POOLED] == 0))
            # a line filling the dock of a transport of fixed times tells it how each part went in (the general
            # loop does: flow_transport.dock_admission), so that the transport knows which event its vehicles leave in
            tst = transports["tst"]
            keyed = tst[(tst[:, ft.TR_FIXED] == 1) & (tst[:, ft.TR_NPROD] == 1), ft.TR_PROD]
            plain[keyed] = False
            rows[:, fk.PLAIN] = plain
            # runs of consecutive plain stations of one line, visited together (flow_plain.visit_runs)
            rows[:, fk.SEG_END] = -1
            for j in range(n):
                if plain[j] and (j == 0 or not plain[j - 1] or rows[j, fk.FIRST] == 1):
                    last = j
                    while last + 1 < n and plain[last + 1] and rows[last + 1, fk.FIRST] == 0:
                        last += 1
                    rows[j, fk.SEG_END] = last
            # completions in start order: the parts in process kept as a sorted ring, not a heap (flow_plain)
            rows[:, fk.RING] = plain & (rows[:, fk.HAS_FAIL] == 0) & np.array([st.dist == "det" for _, st in stations])
        # rings: each station's out-link holds its admission times and the times its places were freed
        ar_off = np.zeros(len(ist), dtype=np.int64)
        total = 0
        for j in range(len(ist)):
            size = _pow2(int(ist[j, fk.SLOTS] + ist[j, fk.M]) + 2) if ist[j, fk.OUT_KIND] != fk.OUT_SINK else 1
            ar_off[j] = total
            ist[j, fk.AR_MASK] = ist[j, fk.FR_MASK] = size - 1
            total += size
        ist[:, fk.AR_OFF] = ist[:, fk.FR_OFF] = ar_off
        # where each admission and each freed place stands among the vehicle events of its instant (flow_transport)
        ring_pos = np.zeros((total, ft.NRP), dtype=np.int64)
        ring_pos[:, ft.RP_ADM] = ft.POS0
        ring_key = np.zeros((total, ft.NRK))  # and the keys of those events (arrivals, a dock's completions)
        idle_srv = np.zeros(n_servers, dtype=np.int64)
        for j in range(n):
            idle_srv[soff[j]:soff[j] + servers[j]] = np.arange(servers[j])
        starts, ends, cums, offs, coffs, counts, weeks, periods, on = [], [], [], [], [], [], [], [], []
        for cal in self.calendars:
            offs.append(sum(len(s) for s in starts))
            coffs.append(sum(len(c) for c in cums))
            starts.append(np.array([a for a, _ in cal.intervals]))
            ends.append(np.array([b for _, b in cal.intervals]))
            cums.append(np.array(cal._cum))
            counts.append(len(cal.intervals))
            weeks.append(cal.work_per_period_s)
            periods.append(cal.period_s)
            on.append(1 if cal.always_on else 0)
        lflt = np.zeros((len(spec.lines), fk.NLF))
        lflt[:, fk.STOP_T] = math.inf
        ctl = np.zeros(fk.NCTL)
        ctl[fk.T_END] = t_end
        ctl[fk.WARM] = cfg.warmup_s
        ctl[fk.INCLUSIVE] = 1.0 if inclusive else 0.0
        ctl[fk.STOP_N] = stop_n
        ctl[fk.RECORD] = 1.0 if cfg.active_periods else 0.0
        ctl[fk.N_EXTRA] = n_tr + n_pool + n_sup
        ret = np.zeros(fk.NRET, dtype=np.int64)
        mix_u, mix_cum, mix_pat = np.zeros(1), np.ones(1), np.zeros(1, dtype=np.int64)
        self.mix_source = None
        if mix is not None:
            shares = np.array([v.share for v in variants], dtype=float)
            mix_cum = np.array((np.cumsum(shares) / shares.sum()).tolist())
            names = [v.name for v in variants]
            if mix.sequence == "cyclic" and mix.pattern:
                ctl[fk.MIX_MODE] = 2
                mix_pat = np.array([names.index(x) for x in mix.pattern], dtype=np.int64)
            else:
                ctl[fk.MIX_MODE] = 1
                self.mix_source = stream(cfg.seed, cfg.replication, mix.line, "__mix__", "mix")
                mix_u = self.mix_source.random(_MIN_DRAWS)
                ret[fk.R_MIX_LEN] = _MIN_DRAWS
        return dict(
            ist=ist, fst=fst, lint=lint, lflt=lflt, ctl=ctl, ret=ret, dirty=np.ones(len(ist), dtype=np.bool_),
            srv_c=np.zeros(n_servers), srv_cw=np.zeros(n_servers), srv_rel=np.zeros(n_servers),
            srv_var=np.zeros(n_servers, dtype=np.int64), srv_ttf=srv_ttf,
            srv_seq=np.zeros(n_servers, dtype=np.int64), srv_st=np.zeros(n_servers),
            heap=np.zeros(n_servers, dtype=np.int64),
            idle_srv=idle_srv, idle_t=np.zeros(n_servers), blk_srv=np.zeros(n_servers, dtype=np.int64),
            ar_t=np.zeros(total), ar_rel=np.zeros(total), ar_var=np.zeros(total, dtype=np.int64),
            fr_t=np.zeros(total),
            ring_pos=ring_pos, ring_key=ring_key, e_key=np.zeros((len(ist), ft.KEY_LEN)),
            in_prod=np.array(in_prod, dtype=np.int64), in_arr=np.zeros(len(in_prod), dtype=np.int64),
            in_qty=np.array(in_qty, dtype=np.int64).reshape(-1), in_sb=np.zeros(len(in_prod)),
            scales=scales, n_var=n_var,
            d_proc=self.draws[fk.PROC].values, d_ttf=self.draws[fk.FAIL].values,
            d_ttr=self.draws[fk.REPAIR].values, d_scr=self.draws[fk.SCRAP].values,
            mix_u=mix_u, mix_cum=mix_cum, mix_pat=mix_pat,
            cal_starts=np.concatenate(starts), cal_ends=np.concatenate(ends), cal_cum=np.concatenate(cums),
            cal_off=np.array(offs, dtype=np.int64), cal_coff=np.array(coffs, dtype=np.int64),
            cal_n=np.array(counts, dtype=np.int64), cal_week=np.array(weeks),
            cal_period=np.array(periods), cal_on=np.array(on, dtype=np.int64),
            log_pool=np.zeros(1), log_lg=np.zeros((0, fk.NLG), dtype=np.int64),  # (`_go` gives the logs)
            ex_line=np.zeros(1, dtype=np.int64), ex_t=np.zeros(1),
            daily=np.zeros((len(spec.lines), self._days(t_end)), dtype=np.int64),
            d_lead=self.tdraws[fk.TRAVEL].values, d_back=self.tdraws[fk.BACK].values, **transports,
            **supplies.arrays(len(in_prod)),
        )

    def _transports(self, ist: np.ndarray, lint: np.ndarray, last_of: dict[str, int], n: int
                    ) -> dict[str, np.ndarray]:
        """The transports' rows (their stocks), their docks at the end of the source lines, their vehicles and the
        streams of their travel and return times, as the SimPy engine opens them."""
        cfg = self.config
        spec = self.scenario.spec
        n_tr = len(spec.transports)
        assert n_tr < ft.ARR_SPAN  # an arrival's position carries its transport's index in its low bits
        tst = np.zeros((n_tr, ft.NTI), dtype=np.int64)
        tst[:, ft.TR_LAST_V] = -1
        n_veh = sum(t.vehicles for t in spec.transports)
        self.tdraws = {p: _Draws(max(n_tr, 1), _MIN_DRAWS) for p in (fk.TRAVEL, fk.BACK)}
        self.transport_rows: dict[str, int] = {}
        voff = 0
        merged = n + n_tr  # the next row for a dock shared by several lines
        tr_prod: list[int] = []
        for i, tr in enumerate(spec.transports):
            row = n + i
            self.transport_rows[tr.name] = row
            sources = names_of(tr.source)
            dock = tr.dock or tr.batch
            tst[i, ft.TR_POFF], tst[i, ft.TR_NPROD] = len(tr_prod), len(sources)
            for source in sources:
                producer = last_of[source]
                ist[producer, fk.OUT_KIND], ist[producer, fk.CONSUMER] = fk.OUT_FEED, row
                ist[producer, fk.SLOTS] = dock
                if len(sources) > 1:  # no place of its own: the transport grants each part its place in the dock
                    ist[producer, fk.SLOTS], ist[producer, fk.POOLED] = 0, 1
                lint[ist[producer, fk.LINE], fk.TERMINAL] = 0
                tr_prod.append(producer)
            if len(sources) > 1:
                producer = merged
                merged += 1
                ist[producer, fk.OUT_KIND], ist[producer, fk.CONSUMER] = fk.OUT_FEED, row
                ist[producer, fk.SLOTS] = dock
                ist[producer, fk.DONE] = 1  # not a station: its admissions are the transport's own events
            self.feeds.append((producer, f"{'+'.join(sources)}->{tr.name}", dock))
            tst[i, ft.TR_ROW], tst[i, ft.TR_PROD], tst[i, ft.TR_CONS] = row, producer, -1
            tst[i, ft.TR_V], tst[i, ft.TR_BATCH], tst[i, ft.TR_VOFF] = tr.vehicles, tr.batch, voff
            voff += tr.vehicles
            draw = unit_draw(tr.dist, tr.cv)
            tst[i, ft.TR_FIXED] = fixed_draw(tr.dist, tr.cv)
            self.tdraws[fk.TRAVEL].sources[i] = (
                stream(cfg.seed, cfg.replication, "__transport__", tr.name, "travel"), draw, tr.lead_s)
            self.tdraws[fk.BACK].sources[i] = (
                stream(cfg.seed, cfg.replication, "__transport__", tr.name, "repair"), draw,
                tr.return_s if tr.return_s is not None else tr.lead_s)
            tst[i, ft.TR_L_LEN] = self.tdraws[fk.TRAVEL].refill(i, 0, 0)
            tst[i, ft.TR_B_LEN] = self.tdraws[fk.BACK].refill(i, 0, 0)
        tft = np.zeros((n_tr, ft.NTF))
        tv_key = np.zeros(n_veh)
        tv_pkey = np.zeros((n_veh, ft.KEY_LEN))
        for i, tr in enumerate(spec.transports):
            if tr.dispatch == "every":  # the vehicles take the first departures in their order, as they start
                assert tr.every_s is not None
                tft[i, ft.TF_EVERY] = tr.every_s
                v0 = int(tst[i, ft.TR_VOFF])
                for v in range(v0, v0 + tr.vehicles):
                    tv_key[v] = ft.claim_tick(tft, i, 0.0)
                    tv_pkey[v, :2] = 0.0, ft.END_START + v  # its first tick, made as it started
        return dict(tst=tst, tr_prod=np.array(tr_prod + [0], dtype=np.int64), tft=tft,
                    tv_state=np.full(n_veh, ft.V_IDLE, dtype=np.int64), tv_key=tv_key, tv_pkey=tv_pkey,
                    tv_seq=np.zeros(n_veh, dtype=np.int64), tv_left=np.zeros(n_veh, dtype=np.int64),
                    tv_since=np.zeros(n_veh))

    def _sources(self, j: int, line: str, st: StationSpec, proc: _Draws, fail: _Draws, repair: _Draws,
                 scrap: _Draws | None) -> None:
        """Attach station j's streams, as the SimPy engine opens them (twin.engine.des, `_streams`)."""
        cfg = self.config
        samples = self.scenario.samples.get((line, st.name))
        mean = st.cycle_s if st.cycle_s is not None else float(np.mean(samples))  # type: ignore[arg-type]
        proc.sources[j] = (stream(cfg.seed, cfg.replication, line, st.name, "process"),
                           unit_draw(st.dist, st.cv, samples), mean)
        if cfg.failures and st.mtbf_s is not None and st.mttr_s is not None:
            fail.sources[j] = (stream(cfg.seed, cfg.replication, line, st.name, "failure"),
                               unit_draw(st.ttf_dist, st.ttf_cv), st.mtbf_s)
            repair.sources[j] = (stream(cfg.seed, cfg.replication, line, st.name, "repair"),
                                 unit_draw(st.ttr_dist, st.ttr_cv), st.mttr_s)
        if scrap is not None and cfg.failures and st.scrap > 0:
            scrap.sources[j] = (stream(cfg.seed, cfg.replication, line, st.name, "scrap"), None, None)

    def _streams(self, j: int, line: str, st: StationSpec, row: np.ndarray, frow: np.ndarray,
                 ttf: np.ndarray) -> None:
        d = self.draws
        self._sources(j, line, st, d[fk.PROC], d[fk.FAIL], d[fk.REPAIR], d[fk.SCRAP])
        row[fk.P_LEN] = d[fk.PROC].refill(j, 0, 0)
        if d[fk.FAIL].sources[j] is not None:
            row[fk.HAS_FAIL] = 1
            row[fk.F_LEN] = d[fk.FAIL].refill(j, 0, 0)
            row[fk.R_LEN] = d[fk.REPAIR].refill(j, 0, 0)
            # each server's first time to failure, in server order, as the SimPy engine draws them at build time
            ttf[:] = d[fk.FAIL].values[j * d[fk.FAIL].capacity:j * d[fk.FAIL].capacity + st.servers]
            row[fk.F_POS] = st.servers
        if d[fk.SCRAP].sources[j] is not None:
            row[fk.HAS_SCRAP] = 1
            frow[fk.SCRAP_P] = st.scrap
            row[fk.S_LEN] = d[fk.SCRAP].refill(j, 0, 0)

    # ------------------------------------------------------------------ running
    def _go(self, t_end: float, inclusive: bool, stop_n: int, exits: bool, record: bool = True
            ) -> dict[str, np.ndarray]:
        a = self._build(t_end, inclusive, stop_n)
        record = record and self.config.active_periods
        if not record:
            a["ctl"][fk.RECORD] = 0.0
        n_st = len(a["ist"]) - int(a["ctl"][fk.N_EXTRA])
        logs = self.station_logs = _StationLogs(n_st if record else 0, huge=False)
        a["log_pool"], a["log_lg"] = logs.pool, logs.lg
        if exits:
            a["ex_line"] = np.zeros(4096, dtype=np.int64)
            a["ex_t"] = np.zeros(4096)
            a["ctl"][fk.EXITS] = 1.0
        pos_cols = {fk.PROC: (fk.P_POS, fk.P_LEN), fk.FAIL: (fk.F_POS, fk.F_LEN),
                    fk.REPAIR: (fk.R_POS, fk.R_LEN), fk.SCRAP: (fk.S_POS, fk.S_LEN)}
        tr_cols = {fk.TRAVEL: (ft.TR_L_POS, ft.TR_L_LEN), fk.BACK: (ft.TR_B_POS, ft.TR_B_LEN)}
        fsup_cols = {fsup.LEAD: (fsup.SP_L_POS, fsup.SP_L_LEN), fsup.SFAIL: (fsup.SP_F_POS, fsup.SP_F_LEN),
                     fsup.SREPAIR: (fsup.SP_R_POS, fsup.SP_R_LEN)}
        while True:
            self._check_cancel()
            fk.run_kernel(**a)
            ret = a["ret"]
            code = ret[fk.R_CODE]
            if code == fk.DONE_ALL:
                return a
            if code == fk.REFILL and int(ret[fk.R_PURPOSE]) == fk.MIX:
                assert self.mix_source is not None
                rest = a["mix_u"][ret[fk.R_MIX_POS]:ret[fk.R_MIX_LEN]]
                a["mix_u"] = np.concatenate((rest, self.mix_source.random(_MIN_DRAWS)))  # blocks, as Bernoulli
                ret[fk.R_MIX_POS], ret[fk.R_MIX_LEN] = 0, len(a["mix_u"])
            elif code == fk.REFILL and int(ret[fk.R_PURPOSE]) in tr_cols:
                i = int(ret[fk.R_STATION])
                tst = a["tst"]
                for p, (pcol, lcol) in tr_cols.items():  # both, so that neither asks again at once
                    tst[i, lcol] = self.tdraws[p].refill(i, int(tst[i, pcol]), int(tst[i, lcol]))
                    tst[i, pcol] = 0
            elif code == fk.REFILL and int(ret[fk.R_PURPOSE]) in fsup_cols:
                s, purpose = int(ret[fk.R_STATION]), int(ret[fk.R_PURPOSE])
                pc, lc = fsup_cols[purpose]
                sup_i = a["sup_i"]
                sup_i[s, lc] = self.sdraws[purpose].refill(s, int(sup_i[s, pc]), int(sup_i[s, lc]))
                sup_i[s, pc] = 0
            elif code == fk.REFILL:
                j, purpose = int(ret[fk.R_STATION]), int(ret[fk.R_PURPOSE])
                pc, lc = pos_cols[purpose]
                ist = a["ist"]
                ist[j, lc] = self.draws[purpose].refill(j, int(ist[j, pc]), int(ist[j, lc]))
                ist[j, pc] = 0
            elif code == fk.GROW_PERIODS:
                logs.grow(2)
                a["log_pool"] = logs.pool
            elif code == fk.GROW_EXITS:
                for key in ("ex_line", "ex_t"):
                    a[key] = np.concatenate((a[key], np.zeros_like(a[key])))
            else:
                raise EngineError("internal error: the flow engine made no progress (please report this scenario)")

    def _serial_line(self, li: int, t_end: float, stop_n: int, exits: bool) -> dict[str, np.ndarray] | None:
        """One line of single servers by the plain recursion; None if a part needs more failure draws than held."""
        cfg = self.config
        line = self.scenario.spec.lines[li]
        cal = self.calendars[li]
        k = len(line.stations)
        sst = np.zeros((k, fs.NSI), dtype=np.int64)
        sf = np.zeros((k, fs.NSF))
        sf[:, fs.S_W0] = cal.to_working(cfg.warmup_s)
        sf[:, fs.S_WE] = cal.to_working(t_end)
        sf[:, fs.S_PEND] = -math.inf
        offset = 0
        # recording periods: the rings hold every part since the last rebuild
        deep = cfg.active_periods and (self.prune or not self.detect_inline)
        for j, st in enumerate(line.stations):
            size = _pow2(line.stations[j - 1].buffer + 2) if j > 0 else 1
            size = max(size, fs.RING_DEPTH) if deep else size
            sst[j, fs.S_RING], sst[j, fs.S_MASK], sst[j, fs.S_BUF] = offset, size - 1, st.buffer
            offset += size
        ring = np.zeros(offset)
        proc = _Draws(k, 8 * BLOCK)
        fail, repair = _Draws(k, _MIN_DRAWS), _Draws(k, _MIN_DRAWS)
        for j, st in enumerate(line.stations):
            self._sources(j, line.name, st, proc, fail, repair, None)
            if fail.sources[j] is not None:
                sst[j, fs.S_FAIL] = 1
                sst[j, fs.S_FLEN] = fail.refill(j, 0, 0)
                sst[j, fs.S_RLEN] = repair.refill(j, 0, 0)
                sf[j, fs.TTF] = fail.values[j * fail.capacity]
                sst[j, fs.S_FPOS] = 1
            proc.refill(j, 0, 0)
        lst = np.zeros(fs.NLS + self._days(t_end), dtype=np.int64)
        lsf = np.zeros(fs.NLSF)
        ctl = np.zeros(fk.NCTL)
        ctl[fk.T_END], ctl[fk.WARM], ctl[fk.STOP_N] = t_end, cfg.warmup_s, stop_n
        ctl[fk.RECORD] = (fs.PRUNE if self.prune else fs.INLINE if self.detect_inline else fs.ALL
                          ) if cfg.active_periods else 0.0
        ctl[fk.EXITS] = 1.0 if exits else 0.0
        ret = np.zeros(fk.NRET, dtype=np.int64)
        # the single-server kernel stages the periods it closes per station before it decides what to prune
        staged = k if cfg.active_periods and self.prune else 0
        sa, sb = np.zeros((staged, fs.STAGED + 1)), np.zeros((staged, fs.STAGED + 1))  # + 1: see `_rebuild`
        sl, keep = np.zeros((staged, fs.STAGED)), np.zeros((staged, fs.STAGED), dtype=np.int8)
        sg = np.zeros((staged, fs.NG), dtype=np.int64)
        # every period, by the round-the-clock kernel (`_serial_simple`): straight into each station's log
        every = (cfg.active_periods and not self.prune and not self.detect_inline and cal.always_on
                 and not sst[:, fs.S_FAIL].any())
        logs = _StationLogs(k if every else 0)
        log = _PeriodLog(cfg.active_periods and not every, 2 * staged * fs.STAGED)
        pr = np.zeros((k, fs.NP))
        pr[:, fs.P_LAST_A], pr[:, fs.P_LAST_B], pr[:, fs.P_TOP] = math.inf, -math.inf, -math.inf
        pr_line = np.zeros(fs.NPL)
        pr_line[fs.P_LO], pr_line[fs.P_HI], pr_line[fs.P_CHAMP], pr_line[fs.P_X] = math.inf, -math.inf, -1, -math.inf
        ex_t = np.zeros(4096 if exits else 1)
        starts = np.array([a for a, _ in cal.intervals])
        ends = np.array([b for _, b in cal.intervals])
        cum = np.array(cal._cum)
        base = 0
        while True:
            self._check_cancel()
            fs.run_serial(sst, sf, lst, lsf, ctl, ret, ring, proc.values, base, base + proc.capacity,
                          fail.values, repair.values, starts, ends, cum, cal.work_per_period_s, cal.period_s,
                          cal.always_on,
                          log.st, log.a, log.b, ex_t, pr, pr_line, sa, sb, sl, keep, sg, logs.pool, logs.lg)
            code = ret[fk.R_CODE]
            if code == fk.DONE_ALL:
                break
            if code == fs.PARTS_DONE:
                base += proc.capacity
                for j in range(k):
                    proc.refill(j, proc.capacity, proc.capacity)
            elif code == fk.REFILL:
                j = int(ret[fk.R_STATION])
                sst[j, fs.S_FLEN] = fail.refill(j, int(sst[j, fs.S_FPOS]), int(sst[j, fs.S_FLEN]))
                sst[j, fs.S_RLEN] = repair.refill(j, int(sst[j, fs.S_RPOS]), int(sst[j, fs.S_RLEN]))
                sst[j, fs.S_FPOS] = sst[j, fs.S_RPOS] = 0
            elif code == fk.GROW_PERIODS:
                log.full(int(ret[fk.R_NPER]))
                ret[fk.R_NPER] = 0
            elif code == fk.GROW_EXITS:
                ex_t = np.concatenate((ex_t, np.zeros_like(ex_t)))
            elif code == fs.GROW_LOG:
                logs.grow(fs.SETTLE_EVERY + 2)
            else:
                return None
        periods = None
        if cfg.active_periods:
            if staged:  # what no settle decided is kept, after what the log holds (each station in time order)
                log.full(int(ret[fk.R_NPER]))
                n = sg[:, fs.G_N]
                log.chunks.append((np.repeat(np.arange(k, dtype=np.int32), n),
                                   np.concatenate([sa[j, :n[j]] for j in range(k)]),
                                   np.concatenate([sb[j, :n[j]] for j in range(k)])))
                ret[fk.R_NPER] = 0
            is_open = sst[:, fs.S_OPEN] > 0
            open_end = np.where(sst[:, fs.S_ACTIVE] > 0, sf[:, fs.S_WE], sf[:, fs.S_PEND])
            if every:
                periods = logs.by_station(is_open, sf[:, fs.S_OPEN_START], open_end)
            else:
                periods = log.by_station(int(ret[fk.R_NPER]), k, is_open, sf[:, fs.S_OPEN_START], open_end)
            # a period still open ends where the run ends: it must reach what it was credited with
            if np.any(is_open & (open_end < pr[:, fs.P_TOP])) or pr_line[fs.P_HI] > sf[:, fs.S_WE].min():
                pr_line[fs.P_BROKEN] = 1.0
        return dict(sst=sst, sf=sf, lst=lst, lsf=lsf, ctl=ctl, periods=periods, ex_t=ex_t[:ret[fk.R_NEXIT]],
                    pr=pr, pr_line=pr_line)

    def _serial(self, exits: bool) -> _Measured | None:
        cfg = self.config
        spec = self.scenario.spec
        self.calendars = [Calendar.from_spec(ln.calendar or spec.calendar) for ln in spec.lines]
        stop_n = int(cfg.stop_after_parts) if cfg.stop_after_parts is not None else 0
        parts = []
        for li in range(len(spec.lines)):
            got = self._serial_line(li, cfg.horizon_s, stop_n, exits)
            if got is None:
                return None
            parts.append(got)
        pruned = None
        if self.prune:
            if any(p["pr_line"][fs.P_BROKEN] for p in parts):
                # A period counted as dominated was not (an end the run cut, or times that went back by a
                # rounding): rare, and redoing the run unpruned is what keeps the results exact.
                self.prune = False
                return self._serial(exits)
            pr = np.concatenate([p["pr"] for p in parts])
            pruned = PrunedPeriods(length_s=pr[:, fs.P_SUM].copy(), count=pr[:, fs.P_COUNT].astype(np.int64),
                                   lo_s=min(float(p["pr_line"][fs.P_LO]) for p in parts),
                                   hi_s=max(float(p["pr_line"][fs.P_HI]) for p in parts))
        end_s = min(float(p["ctl"][fk.T_END]) for p in parts)
        periods = [pair for p in parts for pair in p["periods"]] if cfg.active_periods else []
        sf_all = np.concatenate([p["sf"] for p in parts])
        # (only the days the run reached: a run stopped after N parts may have a horizon of millions of days)
        lst = np.array([p["lst"][:fs.L_DAY0 + int(end_s // 86_400.0) + 1] for p in parts])
        lsf = np.array([p["lsf"] for p in parts])
        return _Measured(
            end_s=end_s, working=sf_all[:, fs.S_WORK], blocked=sf_all[:, fs.S_BLOCKED], down=sf_all[:, fs.S_DOWN],
            w0=sf_all[:, fs.S_W0], w_end=sf_all[:, fs.S_WE], periods=periods if cfg.active_periods else None,
            released=lst[:, fs.L_RELEASED], finished=lst[:, fs.L_FINISHED], finished_win=lst[:, fs.L_FIN_WIN],
            scrapped=np.zeros(len(parts), dtype=np.int64), lead_sum=lsf[:, fs.L_LEAD], wip_area=lsf[:, fs.L_WIP],
            area=sf_all[:, fs.S_AREA], ops=int(sum(p["sst"][:, fs.S_OPS].sum() for p in parts)),
            exit_line=np.concatenate([np.full(len(p["ex_t"]), li) for li, p in enumerate(parts)]) if exits else None,
            exit_s=np.concatenate([p["ex_t"] for p in parts]) if exits else None, pruned=pruned,
            daily=lst[:, fs.L_DAY0:fs.L_DAY0 + int(end_s // 86_400.0) + 1].copy(),
            lost_days=int(lst[:, fs.L_LOST].sum()))

    def _measured(self, a: dict[str, np.ndarray], end_s: float) -> _Measured:
        """What the general kernel measured, with the segments still open at the end accounted."""
        ist, fst, lint, lflt = a["ist"], a["fst"], a["lint"], a["lflt"]
        n = ist.shape[0] - int(a["ctl"][fk.N_EXTRA])
        blocked = fst[:, fk.BLOCKED].copy()
        for j in range(n):
            w0, w_end = fst[j, fk.W0], fst[j, fk.WE]
            m = int(ist[j, fk.M])
            soff = int(ist[j, fk.SOFF])
            for q in range(int(ist[j, fk.BLK_CNT])):  # finished parts still waiting for room at the end
                s = a["blk_srv"][soff + (int(ist[j, fk.BLK_HEAD]) + q) % m]
                lo, hi = max(a["srv_cw"][soff + s], w0), w_end
                if hi > lo:
                    blocked[j] += hi - lo
        periods = None
        if self.config.active_periods:
            open_end = np.where(ist[:n, fk.N_ACTIVE] == ist[:n, fk.M], fst[:n, fk.WE], fst[:n, fk.PENDING_END])
            periods = self.station_logs.by_station(ist[:n, fk.OPEN] > 0, fst[:n, fk.OPEN_START], open_end)
        exits = a["ctl"][fk.EXITS] > 0
        k = int(a["ret"][fk.R_NEXIT])
        area = fst[:, fk.AREA] + fst[:, fk.AREA_OUT]  # places taken, less those given back (flow_kernel's NF)
        wip_area = np.zeros(len(lint))
        for j in range(n):  # each station's share, added up in station order
            wip_area[ist[j, fk.LINE]] += fst[j, fk.WIP_PART]
        return _Measured(
            transports=self._vehicles(a, end_s),
            feeds=[(name, stock, float(area[p])) for p, name, stock in self.feeds],
            starved_by=self._starved_by(a), terminal=tuple(bool(x) for x in lint[:, fk.TERMINAL]),
            end_s=end_s, working=fst[:n, fk.WORKING], blocked=blocked[:n], down=fst[:n, fk.DOWN], w0=fst[:n, fk.W0],
            w_end=fst[:n, fk.WE], periods=periods, pruned=self._nothing_pruned(n) if self.prune else None,
            released=lint[:, fk.RELEASED], finished=lint[:, fk.FINISHED], finished_win=lint[:, fk.FINISHED_WIN],
            scrapped=lint[:, fk.SCRAPPED], lead_sum=lflt[:, fk.LEAD_SUM], wip_area=wip_area,
            area=area[:n], ops=int(ist[:n, fk.N_OPS].sum()),
            exit_line=a["ex_line"][:k].copy() if exits else None, exit_s=a["ex_t"][:k].copy() if exits else None,
            daily=a["daily"][:, :int(end_s // 86_400.0) + 1].copy(), lost_days=int(a["ret"][fk.R_LOST_DAYS]))

    def _vehicles(self, a: dict[str, np.ndarray], end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Per transport the vehicle-seconds in each state (each vehicle's last state accounted up to the end, as
        the SimPy engine closes it) and the parts delivered in the window."""
        tst, tft = a["tst"], a["tft"][:, :ft.TF_EVERY].copy()
        for i in range(tst.shape[0]):
            v0 = int(tst[i, ft.TR_VOFF])
            for v in range(v0, v0 + int(tst[i, ft.TR_V])):
                ft.account_state(tft, i, int(a["tv_state"][v]), float(a["tv_since"][v]), end_s,
                                 self.config.warmup_s, end_s)
        return tft, tst[:, ft.TR_DELIVERED].astype(float)

    @staticmethod
    def _nothing_pruned(n: int) -> PrunedPeriods:
        """The general kernel records every period: pruning leaves nothing out there."""
        return PrunedPeriods(length_s=np.zeros(n), count=np.zeros(n, dtype=np.int64), lo_s=math.inf, hi_s=-math.inf)

    def _starved_by(self, a: dict[str, np.ndarray]) -> list[dict[str, float]]:
        """Per assembly station, the server-seconds it waited short of each input, with the wait still open at the
        end of the run accounted up to it (as the SimPy engine closes it)."""
        ist, fst = a["ist"], a["fst"]
        spec = self.scenario.spec
        stations = [(li, ln, st) for li, ln in enumerate(spec.lines) for st in ln.stations]
        out: list[dict[str, float]] = []
        n_var = int(a["n_var"])
        for j, (li, ln, st) in enumerate(stations):
            if not ist[j, fk.KIT]:
                out.append({})
                continue
            first = bool(ist[j, fk.FIRST])
            in_off = int(ist[j, fk.IN_OFF])
            main = float(fst[j, fk.SB_MAIN])
            n_in = int(ist[j, fk.N_IN])  # its inputs, then its suppliers' stocks
            feeds = a["in_sb"][in_off:in_off + n_in].copy()
            idle = int(ist[j, fk.IDLE_CNT])
            if idle > 0:
                cal = self.calendars[li]
                last = float(fst[j, fk.LAST_EV])
                w_last = last if cal.always_on else cal.to_working(last)
                lo, hi = max(w_last, fst[j, fk.W0]), fst[j, fk.WE]
                span = (hi - lo) * idle if hi > lo else 0.0
                v, present = 0, first
                if first and ist[j, fk.MIX_SRC]:  # the variant its server holds, waiting for that one's kit
                    v = self._next_variant(a)
                if not first:
                    up, nxt = j - 1, int(ist[j, fk.N_START]) + 1
                    if ist[up, fk.N_ADM] >= nxt:
                        slot = int(ist[up, fk.AR_OFF]) + (nxt & int(ist[up, fk.AR_MASK]))
                        present = a["ar_t"][slot] <= last
                        v = int(a["ar_var"][slot]) if present else 0
                if not present:
                    main += span
                for q in range(n_in):
                    p = int(a["in_prod"][in_off + q])
                    have = int(a["in_arr"][in_off + q]) - int(ist[p, fk.N_FREED])
                    if have < fsup.need(ist, a["in_prod"], a["in_qty"], a["in_sup"], a["sup_i"], in_off + q, v, n_var):
                        feeds[q] += span
            row = {} if first else {"upstream": main}
            names = ["+".join(names_of(inp.source)) for inp in st.inputs]
            names += [f"{'+'.join(names_of(inp.source))} (external)" for inp in st.inputs if inp.external is not None]
            for name, value in zip(names, feeds):
                row[name] = float(value)
            out.append(row)
        return out

    def _next_variant(self, a: dict[str, np.ndarray]) -> int:
        """The variant the mix launches next (the run is over: drawing it changes nothing else)."""
        ctl, ret = a["ctl"], a["ret"]
        if ctl[fk.MIX_MODE] == 2:
            return int(a["mix_pat"][ret[fk.R_MIX_PAT] % len(a["mix_pat"])])
        pos = int(ret[fk.R_MIX_POS])
        assert self.mix_source is not None
        u = float(a["mix_u"][pos]) if pos < int(ret[fk.R_MIX_LEN]) else float(self.mix_source.random(_MIN_DRAWS)[0])
        cum = a["mix_cum"]
        return min(int(np.searchsorted(cum, u, side="right")), len(cum) - 1)

    def run(self, exits: bool = False) -> ReplicationResult:
        """Run the replication; `exits=True` also keeps every exit time (the `exit_s` of a trace)."""
        got = self._measure(exits)
        if got.lost_days:  # parts finished past the days counted in advance: again, with room for every day
            self.days = int(got.end_s // 86_400.0) + 1
            got = self._measure(exits)
        return self._result(got)

    def _measure(self, exits: bool) -> _Measured:
        cfg = self.config
        spec = self.scenario.spec
        single = spec.mix is None and not spec.transports and all(st.servers == 1 and (st.scrap == 0 or not cfg.failures) and not st.inputs
                                          for ln in spec.lines for st in ln.stations)
        if single and (cfg.stop_after_parts is None or len(spec.lines) == 1):
            measured = self._serial(exits)
            if measured is not None:
                return measured
        if cfg.stop_after_parts is not None:
            # The run ends when a line has delivered that many parts; everything is measured up to that instant,
            # so find it first, then run again to it (the second run costs no more than the first).
            first = self._go(cfg.horizon_s, False, int(cfg.stop_after_parts), False, record=False)
            t_stop = float(first["lflt"][:, fk.STOP_T].min())
            if t_stop < cfg.horizon_s:
                return self._measured(self._go(t_stop, True, 0, exits), t_stop)
        return self._measured(self._go(cfg.horizon_s, False, 0, exits), cfg.horizon_s)

    def _days(self, t_end: float) -> int:
        """Calendar days to count finished parts in, made room for in advance: every day up to t_end, but no more
        than `_DAYS_AHEAD_S` of them (a run stopped after N parts has a horizon of millions of days) unless a run
        went further (`run` then sets `days` and runs again)."""
        if self.days is not None:
            return self.days
        return int(min(t_end, _DAYS_AHEAD_S) // 86_400.0) + 1

    # ------------------------------------------------------------------ the result
    def _result(self, got: _Measured) -> ReplicationResult:
        cfg = self.config
        spec = self.scenario.spec
        end_s = got.end_s
        window = end_s - cfg.warmup_s
        if window <= 0:
            raise ValueError(f"the run ended at {end_s:g} s, before the warm-up of {cfg.warmup_s:g} s was over")
        stations = [(ln, st) for ln in spec.lines for st in ln.stations]
        shares = np.array([state_shares(got.working[j], got.blocked[j], got.down[j], window,
                                        got.w_end[j] - got.w0[j], st.servers) for j, (_, st) in enumerate(stations)])
        firsts = np.cumsum([0] + [len(ln.stations) for ln in spec.lines])[:-1]
        linked = [j for j in range(len(stations)) if j + 1 not in set(firsts) and j + 1 < len(stations)]
        finished_win = got.finished_win.astype(float)
        lead = np.array([got.lead_sum[i] / finished_win[i] if finished_win[i] else np.nan
                         for i in range(len(spec.lines))])
        trace = None
        if got.exit_s is not None:
            assert got.exit_line is not None
            # the kernel logs exits line by line as it gets to them; the trace lists them in time order, those of
            # one instant by line (a line's own in their order), whatever the order the stations were visited in
            order = np.lexsort((got.exit_line, got.exit_s))
            trace = Trace(unit=np.zeros(0, np.int32), state=np.zeros(0, np.int8), start_s=np.zeros(0),
                          end_s=np.zeros(0), unit_station=np.zeros(0, np.int32),
                          exit_line=got.exit_line[order].astype(np.int32), exit_s=got.exit_s[order])
        return ReplicationResult(
            replication=cfg.replication,
            seed=cfg.seed,
            warmup_s=cfg.warmup_s,
            end_s=end_s,
            station_names=tuple(st.name for _, st in stations),
            station_lines=tuple(ln.name for ln, _ in stations),
            station_servers=tuple(st.servers for _, st in stations),
            shares=shares,
            line_names=tuple(ln.name for ln in spec.lines),
            line_finished=finished_win,
            line_working_s=np.array([got.w_end[j] - got.w0[j] for j in firsts]),
            line_wip=got.wip_area / window,
            line_lead_time_s=lead,
            line_released=got.released.copy(),
            line_finished_total=got.finished.copy(),
            line_scrapped=got.scrapped.copy(),
            line_in_process=got.released - got.finished - got.scrapped,
            buffer_names=tuple([f"{stations[j][0].name}/{stations[j][1].name}" for j in linked]
                               + [name for name, _, _ in got.feeds]),
            buffer_capacity=np.array([stations[j][1].buffer for j in linked] + [cap for _, cap, _ in got.feeds]),
            buffer_level=np.array([got.area[j] / window for j in linked] + [area / window for _, _, area in got.feeds]),
            station_operations=got.ops,
            trace=trace,
            line_terminal=got.terminal if got.terminal is not None else tuple(True for _ in spec.lines),
            starved_by=tuple({k: v / (window * st.servers) for k, v in row.items()}
                             for row, (_, st) in zip(got.starved_by or [{} for _ in stations], stations)),
            active_periods=tuple(got.periods) if got.periods is not None else None,
            transport_names=tuple(t.name for t in spec.transports),
            transport_shares=(got.transports[0] / (window * np.array([[t.vehicles] for t in spec.transports]))
                              if got.transports is not None and spec.transports else np.zeros((0, 4))),
            transport_delivered=got.transports[1] if got.transports is not None else np.zeros(0),
            pruned_periods=got.pruned,
            line_daily=got.daily,
        )


def simulate_flow(scenario: Scenario, config: RunConfig, cancel: threading.Event | None = None) -> ReplicationResult:
    """Run one replication of `scenario` on the flow engine (raises EngineError outside its class).

    The compiled kernels release the GIL, so replications run in parallel threads; `cancel` stops a run early.
    """
    return FlowSimulation(scenario, config, cancel).run()
