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

import numpy as np

from twin.calendar import Calendar
from twin.engine import flow_kernel as fk
from twin.engine.model import ReplicationResult, RunConfig, Trace, state_shares
from twin.errors import EngineError
from twin.scenario import Scenario
from twin.streams import BLOCK, stream, unit_draw

_MIN_DRAWS = 16 * BLOCK  # draws held per station and purpose between two refills


def flow_problem(scenario: Scenario, config: RunConfig | None = None) -> str | None:
    """Why the flow engine cannot run this scenario exactly (the first feature it cannot carry), or None."""
    spec = scenario.spec
    if spec.transports:
        return f"transports ({spec.transports[0].name})"
    if spec.mix is not None:
        return f"a product mix (line {spec.mix.line})"
    for line in spec.lines:
        for st in line.stations:
            if st.inputs:
                return f"assembly inputs (line {line.name}, station {st.name})"
            failing = config is None or config.failures
            if failing and st.mtbf_s is not None and st.mttr_s is not None and st.failure_basis == "calendar":
                return f"calendar-based failures (line {line.name}, station {st.name})"
    if config is not None and config.trace:
        return "a state trace (--trace)"
    return None


def _pow2(n: int) -> int:
    return 1 << max(int(n - 1).bit_length(), 1)


class _Draws:
    """One purpose's draws for every station: a (stations x capacity) array refilled a block at a time."""

    def __init__(self, n_stations: int, capacity: int) -> None:
        self.capacity = capacity
        self.values = np.zeros(n_stations * capacity)
        self.sources: list[tuple[np.random.Generator, object, float] | None] = [None] * n_stations

    def refill(self, j: int, pos: int, length: int) -> int:
        """Keep the unread draws of station j, append whole blocks after them; return the new length."""
        source = self.sources[j]
        assert source is not None
        rng, draw, mean = source
        row = self.values[j * self.capacity:(j + 1) * self.capacity]
        rest = length - pos
        row[:rest] = row[pos:length]
        blocks = (self.capacity - rest) // BLOCK
        for b in range(blocks):
            if mean is None:  # uniforms for scrap, as twin.streams.Bernoulli draws them
                row[rest + b * BLOCK:rest + (b + 1) * BLOCK] = rng.random(BLOCK)
            else:
                row[rest + b * BLOCK:rest + (b + 1) * BLOCK] = draw(rng, BLOCK) * mean  # type: ignore[operator]
        return rest + blocks * BLOCK


class FlowSimulation:
    """One replication of a scenario on the flow engine. Build, `run()`, read the result."""

    def __init__(self, scenario: Scenario, config: RunConfig) -> None:
        problem = flow_problem(scenario, config)
        if problem is not None:
            raise EngineError(f"the flow engine cannot carry {problem}; use --engine des (or auto)")
        self.scenario = scenario
        self.config = config

    # ------------------------------------------------------------------ building the state arrays
    def _build(self, t_end: float, inclusive: bool, stop_n: int) -> dict[str, np.ndarray]:
        cfg = self.config
        spec = self.scenario.spec
        stations = [(ln, st) for ln in spec.lines for st in ln.stations]
        n = len(stations)
        ist = np.zeros((n, fk.NI), dtype=np.int64)
        fst = np.zeros((n, fk.NF))
        self.calendars = [Calendar.from_spec(ln.calendar or spec.calendar) for ln in spec.lines]
        servers = np.array([st.servers for _, st in stations], dtype=np.int64)
        soff = np.concatenate(([0], np.cumsum(servers)[:-1]))
        n_servers = int(servers.sum())
        ring_sizes = []
        index = 0
        max_m = int(servers.max())
        draw_cap = max(_MIN_DRAWS, (max_m // BLOCK + 2) * BLOCK)
        self.draws = {p: _Draws(n, draw_cap) for p in (fk.PROC, fk.FAIL, fk.REPAIR, fk.SCRAP)}
        srv_ttf = np.zeros(n_servers)
        for li, ln in enumerate(spec.lines):
            cal = self.calendars[li]
            k = len(ln.stations)
            for pos, st in enumerate(ln.stations):
                j = index + pos
                row = ist[j]
                row[fk.M] = st.servers
                row[fk.SOFF] = soff[j]
                row[fk.LINE] = li
                row[fk.FIRST] = pos == 0
                row[fk.LAST] = pos == k - 1
                row[fk.SLOTS] = st.buffer + ln.stations[pos + 1].servers if pos < k - 1 else 0
                fst[j, fk.W0] = cal.to_working(cfg.warmup_s)
                fst[j, fk.WE] = cal.to_working(t_end)
                fst[j, fk.PENDING_END] = -math.inf
                fst[j, fk.LAST_ADM] = -math.inf
                fst[j, fk.LAST_LEAVE] = -math.inf
                row[fk.IDLE_CNT] = st.servers
                self._streams(j, ln.name, st, row, fst[j], srv_ttf[soff[j]:soff[j] + st.servers])
            index += k
        # ring buffers: link j (after station j) holds admission times; station j+1's ring holds its leave times
        ar_off = np.zeros(n, dtype=np.int64)
        fr_off = np.zeros(n, dtype=np.int64)
        total = 0
        for j in range(n):
            size = _pow2(int(ist[j, fk.SLOTS]) + 2) if not ist[j, fk.LAST] else 1
            ring_sizes.append(size)
            ar_off[j] = total
            ist[j, fk.AR_MASK] = size - 1
            if not ist[j, fk.LAST]:
                fr_off[j + 1] = total
                ist[j + 1, fk.FR_MASK] = size - 1
            total += size
        ist[:, fk.AR_OFF] = ar_off
        ist[:, fk.FR_OFF] = fr_off
        idle_srv = np.zeros(n_servers, dtype=np.int64)
        for j in range(n):
            idle_srv[soff[j]:soff[j] + servers[j]] = np.arange(servers[j])
        starts, ends, cums, offs, coffs, counts, weeks, on = [], [], [], [], [], [], [], []
        for cal in self.calendars:
            offs.append(sum(len(s) for s in starts))
            coffs.append(sum(len(c) for c in cums))
            starts.append(np.array([a for a, _ in cal.intervals]))
            ends.append(np.array([b for _, b in cal.intervals]))
            cums.append(np.array(cal._cum))
            counts.append(len(cal.intervals))
            weeks.append(cal._work_per_week)
            on.append(1 if cal.always_on else 0)
        lflt = np.zeros((len(spec.lines), fk.NLF))
        lflt[:, fk.STOP_T] = math.inf
        ctl = np.zeros(fk.NCTL)
        ctl[fk.T_END] = t_end
        ctl[fk.WARM] = cfg.warmup_s
        ctl[fk.INCLUSIVE] = 1.0 if inclusive else 0.0
        ctl[fk.STOP_N] = stop_n
        ctl[fk.RECORD] = 1.0 if cfg.active_periods else 0.0
        return dict(
            ist=ist, fst=fst, lint=np.zeros((len(spec.lines), fk.NLI), dtype=np.int64), lflt=lflt, ctl=ctl,
            ret=np.zeros(fk.NRET, dtype=np.int64),
            srv_c=np.zeros(n_servers), srv_cw=np.zeros(n_servers), srv_rel=np.zeros(n_servers), srv_ttf=srv_ttf,
            srv_seq=np.zeros(n_servers, dtype=np.int64), heap=np.zeros(n_servers, dtype=np.int64),
            idle_srv=idle_srv, idle_t=np.zeros(n_servers), blk_srv=np.zeros(n_servers, dtype=np.int64),
            ar_t=np.zeros(total), ar_rel=np.zeros(total), fr_t=np.zeros(total),
            d_proc=self.draws[fk.PROC].values, d_ttf=self.draws[fk.FAIL].values,
            d_ttr=self.draws[fk.REPAIR].values, d_scr=self.draws[fk.SCRAP].values,
            cal_starts=np.concatenate(starts), cal_ends=np.concatenate(ends), cal_cum=np.concatenate(cums),
            cal_off=np.array(offs, dtype=np.int64), cal_coff=np.array(coffs, dtype=np.int64),
            cal_n=np.array(counts, dtype=np.int64), cal_week=np.array(weeks), cal_on=np.array(on, dtype=np.int64),
            per_st=np.zeros(1024 if cfg.active_periods else 1, dtype=np.int64),
            per_a=np.zeros(1024 if cfg.active_periods else 1), per_b=np.zeros(1024 if cfg.active_periods else 1),
            ex_line=np.zeros(1, dtype=np.int64), ex_t=np.zeros(1),
        )

    def _streams(self, j: int, line: str, st, row: np.ndarray, frow: np.ndarray, ttf: np.ndarray) -> None:  # type: ignore[no-untyped-def]
        cfg = self.config
        samples = self.scenario.samples.get((line, st.name))
        mean = st.cycle_s if st.cycle_s is not None else float(np.mean(samples))  # type: ignore[arg-type]
        proc = self.draws[fk.PROC]
        proc.sources[j] = (stream(cfg.seed, cfg.replication, line, st.name, "process"),
                           unit_draw(st.dist, st.cv, samples), mean)
        row[fk.P_LEN] = proc.refill(j, 0, 0)
        if cfg.failures and st.mtbf_s is not None and st.mttr_s is not None:
            row[fk.HAS_FAIL] = 1
            fail, repair = self.draws[fk.FAIL], self.draws[fk.REPAIR]
            fail.sources[j] = (stream(cfg.seed, cfg.replication, line, st.name, "failure"),
                               unit_draw(st.ttf_dist, st.ttf_cv), st.mtbf_s)
            repair.sources[j] = (stream(cfg.seed, cfg.replication, line, st.name, "repair"),
                                 unit_draw(st.ttr_dist, st.ttr_cv), st.mttr_s)
            row[fk.F_LEN] = fail.refill(j, 0, 0)
            row[fk.R_LEN] = repair.refill(j, 0, 0)
            # each server's first time to failure, in server order, as the SimPy engine draws them at build time
            ttf[:] = fail.values[j * fail.capacity:j * fail.capacity + st.servers]
            row[fk.F_POS] = st.servers
        if cfg.failures and st.scrap > 0:
            row[fk.HAS_SCRAP] = 1
            frow[fk.SCRAP_P] = st.scrap
            scrap = self.draws[fk.SCRAP]
            scrap.sources[j] = (stream(cfg.seed, cfg.replication, line, st.name, "scrap"), None, None)  # type: ignore[assignment]
            row[fk.S_LEN] = scrap.refill(j, 0, 0)

    # ------------------------------------------------------------------ running
    def _go(self, t_end: float, inclusive: bool, stop_n: int, exits: bool) -> dict[str, np.ndarray]:
        a = self._build(t_end, inclusive, stop_n)
        if exits:
            a["ex_line"] = np.zeros(4096, dtype=np.int64)
            a["ex_t"] = np.zeros(4096)
            a["ctl"][fk.EXITS] = 1.0
        pos_cols = {fk.PROC: (fk.P_POS, fk.P_LEN), fk.FAIL: (fk.F_POS, fk.F_LEN),
                    fk.REPAIR: (fk.R_POS, fk.R_LEN), fk.SCRAP: (fk.S_POS, fk.S_LEN)}
        while True:
            fk.run_kernel(**a)
            ret = a["ret"]
            code = ret[fk.R_CODE]
            if code == fk.DONE_ALL:
                return a
            if code == fk.REFILL:
                j, purpose = int(ret[fk.R_STATION]), int(ret[fk.R_PURPOSE])
                pc, lc = pos_cols[purpose]
                ist = a["ist"]
                ist[j, lc] = self.draws[purpose].refill(j, int(ist[j, pc]), int(ist[j, lc]))
                ist[j, pc] = 0
            elif code == fk.GROW_PERIODS:
                for key in ("per_st", "per_a", "per_b"):
                    a[key] = np.concatenate((a[key], np.zeros_like(a[key])))
            elif code == fk.GROW_EXITS:
                for key in ("ex_line", "ex_t"):
                    a[key] = np.concatenate((a[key], np.zeros_like(a[key])))
            else:
                raise EngineError("internal error: the flow engine made no progress (please report this scenario)")

    def run(self, exits: bool = False) -> ReplicationResult:
        """Run the replication; `exits=True` also keeps every exit time (the `exit_s` of a trace)."""
        cfg = self.config
        if cfg.stop_after_parts is not None:
            # The run ends when a line has delivered that many parts; everything is measured up to that instant,
            # so find it first, then run again to it (the second run costs no more than the first).
            first = self._go(cfg.horizon_s, False, int(cfg.stop_after_parts), False)
            t_stop = float(first["lflt"][:, fk.STOP_T].min())
            if t_stop < cfg.horizon_s:
                return self._result(self._go(t_stop, True, 0, exits), t_stop)
        return self._result(self._go(cfg.horizon_s, False, 0, exits), cfg.horizon_s)

    # ------------------------------------------------------------------ the result
    def _result(self, a: dict[str, np.ndarray], end_s: float) -> ReplicationResult:
        cfg = self.config
        spec = self.scenario.spec
        ist, fst, lint, lflt = a["ist"], a["fst"], a["lint"], a["lflt"]
        window = end_s - cfg.warmup_s
        if window <= 0:
            raise ValueError(f"the run ended at {end_s:g} s, before the warm-up of {cfg.warmup_s:g} s was over")
        stations = [(ln, st) for ln in spec.lines for st in ln.stations]
        n = len(stations)
        shares = np.zeros((n, 5))
        periods: list[tuple[np.ndarray, np.ndarray]] = []
        if cfg.active_periods:
            k = int(a["ret"][fk.R_NPER])
            per_st, per_a, per_b = a["per_st"][:k], a["per_a"][:k], a["per_b"][:k]
        for j in range(n):
            w0, w_end = fst[j, fk.W0], fst[j, fk.WE]
            m = int(ist[j, fk.M])
            soff = int(ist[j, fk.SOFF])
            blocked = fst[j, fk.BLOCKED]
            for q in range(int(ist[j, fk.BLK_CNT])):  # finished parts still waiting for room at the end
                s = a["blk_srv"][soff + (int(ist[j, fk.BLK_HEAD]) + q) % m]
                lo, hi = max(a["srv_cw"][soff + s], w0), w_end
                if hi > lo:
                    blocked += hi - lo
            shares[j] = state_shares(fst[j, fk.WORKING], blocked, fst[j, fk.DOWN], window, w_end - w0, m)
            if cfg.active_periods:
                mine = per_st == j
                start, end = per_a[mine], per_b[mine]
                if ist[j, fk.OPEN]:
                    start = np.append(start, fst[j, fk.OPEN_START])
                    end = np.append(end, w_end if ist[j, fk.N_ACTIVE] == m else fst[j, fk.PENDING_END])
                periods.append((start.astype(float), end.astype(float)))
        firsts = [j for j in range(n) if ist[j, fk.FIRST]]
        linked = [j for j in range(n) if not ist[j, fk.LAST]]  # stations with a buffer after them
        finished_win = lint[:, fk.FINISHED_WIN].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            lead = np.where(finished_win > 0, lflt[:, fk.LEAD_SUM] / np.maximum(finished_win, 1), np.nan)
        trace = None
        if a["ctl"][fk.EXITS] > 0:
            k = int(a["ret"][fk.R_NEXIT])
            trace = Trace(unit=np.zeros(0, np.int32), state=np.zeros(0, np.int8), start_s=np.zeros(0),
                          end_s=np.zeros(0), unit_station=np.zeros(0, np.int32),
                          exit_line=a["ex_line"][:k].astype(np.int32), exit_s=a["ex_t"][:k].copy())
        released = lint[:, fk.RELEASED]
        finished = lint[:, fk.FINISHED]
        scrapped = lint[:, fk.SCRAPPED]
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
            line_working_s=np.array([fst[j, fk.WE] - fst[j, fk.W0] for j in firsts]),
            line_wip=lflt[:, fk.WIP_AREA] / window,
            line_lead_time_s=lead,
            line_released=released.copy(),
            line_finished_total=finished.copy(),
            line_scrapped=scrapped.copy(),
            line_in_process=released - finished - scrapped,
            buffer_names=tuple(f"{stations[j][0].name}/{stations[j][1].name}" for j in linked),
            buffer_capacity=np.array([stations[j][1].buffer for j in linked]),
            buffer_level=np.array([fst[j, fk.AREA] / window for j in linked]),
            station_operations=int(ist[:, fk.N_OPS].sum()),
            trace=trace,
            line_terminal=tuple(True for _ in spec.lines),
            starved_by=tuple({} for _ in stations),
            active_periods=tuple(periods) if cfg.active_periods else None,
        )


def simulate_flow(scenario: Scenario, config: RunConfig) -> ReplicationResult:
    """Run one replication of `scenario` on the flow engine (raises EngineError outside its class)."""
    return FlowSimulation(scenario, config).run()
