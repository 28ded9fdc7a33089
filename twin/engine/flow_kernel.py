"""The compiled heart of the flow engine: the blocking-after-service recursion, one station at a time.

For a serial line the departure times obey (shared/methods.md)

    D[j][i] = max( max(D[j-1][i], D[j][i-1]) + S[j][i],  D[j+1][i - b_j - 1] ).

With m_j parallel servers, scrap and failures the same idea holds once parts are counted per station rather than
by identity: the n-th part to start at station j takes the n-th arrival from its in-link (FIFO) on the server that
was freed first; the k-th part admitted to the out-link must wait until the (k - b_j - m_{j+1})-th part has left
station j+1 (a slot of the link is free); parts leave in the order they finished. Each station is a small
state machine that consumes the admission times of its upstream link and the leave times of its downstream
station, and produces its own; the driver sweeps the stations until every one has passed the horizon. A station
stops ("stalls") as soon as the next of its events could depend on a time its neighbour has not computed yet;
a stall never waits on a neighbour that waits on it (a station that needs a downstream leave has a full link, so
the downstream station has no idle server and needs nothing from upstream), so the sweep always progresses.

Everything is exact: the same draws in the same order as the SimPy engine (processing draws in start order,
failure draws in order of need, scrap draws in completion order), the same floating-point operations on times,
and ties broken as the SimPy event queue breaks them (completion before admission before start; equal completions
in start order). Memory is O(stations x (servers + buffer places)): times live in ring buffers as deep as a link.

State lives in arrays owned by `twin.engine.flow`; the kernel returns when it is done or when it needs more draws
or room for recorded periods/exits, and is called again after the driver refilled them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from twin.engine import flow_plain as fplain
from twin.engine import flow_supply as fsup
from twin.engine import flow_transport as ft

INF = math.inf

# integer state of a station: columns of `ist`
M, SOFF, SLOTS, LAST, FIRST, LINE, AR_OFF, AR_MASK, FR_OFF, FR_MASK = range(10)
N_START, N_ADM, N_FREED, N_OPS, IDLE_HEAD, IDLE_CNT, BLK_HEAD, BLK_CNT, HEAP_N, DONE = range(10, 20)
P_POS, P_LEN, F_POS, F_LEN, R_POS, R_LEN, S_POS, S_LEN = range(20, 28)
N_ACTIVE, HAS_FAIL, HAS_SCRAP, OPEN, OUT_KIND, CONSUMER, N_IN, IN_OFF, ARR_MAIN, HAS_SCALES = range(28, 38)
MIX_SRC, KIT, POOLED, DEFER, WOKEN, GO, N_SUP = range(38, 45)  # WOKEN, GO, N_SUP: twin.engine.flow_supply
Q_HEAD, RING, HINT_W, HINT_C, PLAIN = range(45, 50)  # twin.engine.flow_plain (HINT_W, HINT_C: every station)
FREE_SEQ, E_LAST, FREED_SEEN, SEG_END, NI = range(50, 55)  # an assembly station's places freed so far; its last
# start's position (e_key); a dock's line's places freed before its transport's last step; for the first plain
# station of a line's run of them, the last of the run (-1 for the others)
OUT_LINE, OUT_SINK, OUT_FEED = range(3)  # where a station's parts go: the next station, out of the model, a stock
# float state of a station: columns of `fst`
WORKING, BLOCKED, DOWN, AREA, W0, WE, LAST_ADM, LAST_FREED, PENDING_END, OPEN_START, SCRAP_P = range(11)
LAST_EV, SB_MAIN, DEFER_T, E_T, AREA_OUT, WIP_PART = range(11, 17)  # E_T: the instant of the last start's
# position (E_LAST). Sums that two parties add to are kept apart, each added to by one station in its own event
# order, so that they do not depend on the order the stations are visited in: AREA the out-link's places taken
# (by the station or the transport filling it), AREA_OUT those given back (by who takes from it), WIP_PART the
# station's share of its line's work in process (released at the first, out at the last or scrapped)
WK_LO, WK_HI, WK_P, WK_W, CK_LO, CK_HI, CK_W, CK_P, NF = range(17, 26)  # the calendar week a station's last
# time mapped to working time lay in (`week_band`: its band, weeks x period, weeks x work a week; the interval is
# HINT_W), and the same for the last working time mapped to calendar time (weeks of work a week; HINT_C)
# integer state of a line: columns of `lint`
RELEASED, FINISHED, FINISHED_WIN, SCRAPPED, TERMINAL, NLI = range(6)
# float state of a line: columns of `lflt`
LEAD_SUM, STOP_T, NLF = range(3)
# run settings and the way back to the driver: `ctl` (float) and `ret` (int)
T_END, WARM, INCLUSIVE, STOP_N, RECORD, EXITS, MIX_MODE, N_EXTRA, NCTL = range(9)
R_CODE, R_STATION, R_PURPOSE, R_NPER, R_NEXIT, R_MIX_POS, R_MIX_LEN, R_MIX_PAT, R_LOST_DAYS, NRET = range(10)
DONE_ALL, REFILL, GROW_PERIODS, GROW_EXITS, STUCK = range(5)
# Each station's active periods in a log of its own, a block of one pool (`twin.engine.flow._StationLogs`): its
# starts, then its ends; `lg` columns: where the block starts, the room in each half (the ends start at LG_AT +
# LG_CAP), entries written; the same two of the block reserved for it (room 0: none)
LG_AT, LG_CAP, LG_N, LG_NEXT_AT, LG_NEXT_CAP, NLG = range(6)
NO_WEEK = (0.0, 0.0, math.inf, -math.inf)  # no calendar week known (`week_band`): an empty band
PROC, FAIL, REPAIR, SCRAP, MIX, TRAVEL, BACK = range(7)


@njit(cache=True, _nrt=False)
def to_working(t: float, starts: np.ndarray, ends: np.ndarray, cum: np.ndarray, per_week: float,
               period: float) -> float:
    """twin.calendar.Calendar.to_working, operation for operation (`per_week`: working seconds a period): the
    lookup of `to_working_at` with no interval or week known."""
    return to_working_at(t, starts, ends, cum, per_week, period, -1, NO_WEEK)[0]


@njit(cache=True, _nrt=False)
def to_calendar(w: float, starts: np.ndarray, cum: np.ndarray, per_week: float, period: float) -> float:
    """twin.calendar.Calendar.to_calendar, operation for operation: `to_calendar_at` with nothing known."""
    return to_calendar_at(w, starts, cum, per_week, period, -1, NO_WEEK)[0]


@njit(cache=True, inline="always")
def week_band(x: float, d: float, e: float, lo: float, hi: float, kd: float, ke: float
              ) -> tuple[float, float, float, float]:
    """(k d, k e) for k = math.floor(x / d) (d > 0), and the band [lo, hi) of x where that k is sure: the band
    given when x lies in it (no division), else a new one. The band is k d .. (k + 1) d narrowed by 1e-12 of its
    ends, far more than the rounding of x / d, so that every x in it has the same floor(x / d) as by division;
    the products are those the division's k gives, so the numbers are the same to the bit."""
    if lo <= x < hi:
        return kd, ke, lo, hi
    k = math.floor(x / d)
    kd = k * d
    ke = k * e
    up = (k + 1) * d
    return kd, ke, kd + abs(kd) * 1e-12, up - abs(up) * 1e-12


@njit(cache=True, inline="always")
def day_of(t: float) -> int:
    """int(t // 86_400.0) (Python's floor division, which numba computes with fmod): by a multiplication where
    t / 86,400 is further from a whole number than 1e-12 of itself (the product's rounding is a few 1e-16 of it),
    by the floor division itself where it is not."""
    q = t * (1.0 / 86_400.0)
    k = math.floor(q)
    f = q - k
    margin = 1e-12 * (abs(q) + 1.0)
    if margin < f < 1.0 - margin:
        return k
    return int(t // 86_400.0)


@njit(cache=True, inline="always")
def interval_at(x: float, edges: np.ndarray, hint: int, right: bool) -> int:
    """np.searchsorted(edges, x, side) - 1, trying `hint` first: the last interval with edges[i] <= x ("right")
    or edges[i] < x ("left")."""
    n = edges.shape[0]
    if hint >= 0 and hint < n:
        lo = edges[hint] <= x if right else edges[hint] < x
        if lo:
            if hint + 1 == n:
                return hint
            hi = x < edges[hint + 1] if right else x <= edges[hint + 1]
            if hi:
                return hint
            if hint + 2 == n or (x < edges[hint + 2] if right else x <= edges[hint + 2]):
                return hint + 1
    if right:
        return np.searchsorted(edges, x, side="right") - 1
    return np.searchsorted(edges, x, side="left") - 1


@njit(cache=True, inline="always")
def to_working_at(t: float, starts, ends, cum, per_week: float, period: float, hint: int, wk
                  ) -> tuple[float, int, tuple[float, float, float, float]]:
    """twin.calendar.Calendar.to_working, operation for operation, from the interval (`hint`) and the week (`wk`:
    weeks x period, weeks x work a week and the band of `week_band`; `NO_WEEK` if none) used last: times move
    forward, so the answer is nearly always that interval or the next, in the same week. Returns the time and the
    interval and week it used."""
    wp, ww, lo, hi = week_band(t, period, per_week, wk[2], wk[3], wk[0], wk[1])
    r = t - wp
    i = interval_at(r, starts, hint, True)
    within = 0.0
    if i >= 0:
        within = cum[i] + min(r - starts[i], ends[i] - starts[i])
    return ww + within, i, (wp, ww, lo, hi)


@njit(cache=True, inline="always")
def to_calendar_at(w: float, starts, cum, per_week: float, period: float, hint: int, wk
                   ) -> tuple[float, int, tuple[float, float, float, float]]:
    """twin.calendar.Calendar.to_calendar, operation for operation, from the interval and the week of work used
    last (`wk`: weeks x work a week, weeks x period, the band); returns the time and the interval and week it
    used."""
    if w <= 0:
        return 0.0, hint, wk
    wk = week_band(w, per_week, period, wk[2], wk[3], wk[0], wk[1])
    ww, wp, lo, hi = wk
    rem = w - ww
    if rem <= 0:  # at a week's last working instant, its end (never inside a band: w / per_week is whole)
        weeks = math.floor(w / per_week) - 1
        wp = weeks * period
        rem = per_week
    i = interval_at(rem, cum, hint, False)
    if i < 0:
        i = 0
    return wp + starts[i] + (rem - cum[i]), i, wk


@njit(cache=True, inline="always")
def station_working(t: float, j: int, ist, fst, starts, ends, cum, per_week: float, period: float) -> float:
    """`to_working_at` with station j's interval and week kept in its rows (as plain stations keep them)."""
    w, ist[j, HINT_W], wk = to_working_at(t, starts, ends, cum, per_week, period, ist[j, HINT_W],
                                          (fst[j, WK_P], fst[j, WK_W], fst[j, WK_LO], fst[j, WK_HI]))
    fst[j, WK_P], fst[j, WK_W], fst[j, WK_LO], fst[j, WK_HI] = wk
    return w


@njit(cache=True, inline="always")
def station_calendar(w: float, j: int, ist, fst, starts, cum, per_week: float, period: float) -> float:
    """`to_calendar_at` with station j's interval and week of work kept in its rows."""
    t, ist[j, HINT_C], ck = to_calendar_at(w, starts, cum, per_week, period, ist[j, HINT_C],
                                           (fst[j, CK_W], fst[j, CK_P], fst[j, CK_LO], fst[j, CK_HI]))
    fst[j, CK_W], fst[j, CK_P], fst[j, CK_LO], fst[j, CK_HI] = ck
    return t


@njit(cache=True, inline="always")
def log_room(pool, lg, q: int, more: int) -> bool:
    """Room for `more` entries in station q's log: in its block, or in the block reserved for it, where it then
    moves once (what is written, and the place after it, copied). False if neither has it: the driver grows the
    pool."""
    n = lg[q, LG_N]
    if n + more <= lg[q, LG_CAP]:
        return True
    if n + more > lg[q, LG_NEXT_CAP]:
        return False
    src, cap = lg[q, LG_AT], lg[q, LG_CAP]
    dest, room = lg[q, LG_NEXT_AT], lg[q, LG_NEXT_CAP]
    for half in range(2):  # the starts, then the ends
        for x in range(n + 1):  # (+ 1: where an open period's start may lie)
            pool[dest + half * room + x] = pool[src + half * cap + x]
    lg[q, LG_AT] = dest
    lg[q, LG_CAP] = room
    lg[q, LG_NEXT_CAP] = 0
    return True


@njit(cache=True, inline="always")
def log_period(pool, lg, q: int, a: float, b: float) -> None:
    """Append the period (a, b) to station q's log (room for it and one more made by `log_room` before)."""
    n = lg[q, LG_N]
    at = lg[q, LG_AT]
    pool[at + n] = a
    pool[at + lg[q, LG_CAP] + n] = b
    lg[q, LG_N] = n + 1


@njit(cache=True, inline="always")
def line_calendar(cals: tuple[np.ndarray, ...], line: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, bool]:
    """A line's calendar out of the kernel's calendar arrays `cals` (starts, ends, cum, offsets, cum offsets,
    counts, work a week, period, round-the-clock flag): its intervals' starts, ends and cumulated work, its work a
    week, its period and whether it is round the clock."""
    cal_starts, cal_ends, cal_cum, cal_off, cal_coff, cal_n, cal_week, cal_period, cal_on = cals
    co = cal_off[line]
    cn = cal_n[line]
    return (cal_starts[co:co + cn], cal_ends[co:co + cn], cal_cum[cal_coff[line]:cal_coff[line] + cn + 1],
            cal_week[line], cal_period[line], cal_on[line] == 1)


@njit(cache=True, inline="always")
def _before(a: float, sa: int, b: float, sb: int) -> bool:
    return a < b or (a == b and sa < sb)


@njit(cache=True, _nrt=False)
def _heap_push(heap: np.ndarray, off: int, n: int, s: int, key: np.ndarray, seq: np.ndarray) -> None:
    i = n
    heap[off + i] = s
    while i > 0:
        p = (i - 1) >> 1
        a, b = heap[off + i], heap[off + p]
        if _before(key[off + a], seq[off + a], key[off + b], seq[off + b]):
            heap[off + i], heap[off + p] = b, a
            i = p
        else:
            break


@njit(cache=True, _nrt=False)
def _heap_pop(heap: np.ndarray, off: int, n: int, key: np.ndarray, seq: np.ndarray) -> int:
    top = heap[off]
    n -= 1
    heap[off] = heap[off + n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        c = left
        right = left + 1
        if right < n and _before(key[off + heap[off + right]], seq[off + heap[off + right]],
                                 key[off + heap[off + left]], seq[off + heap[off + left]]):
            c = right
        a, b = heap[off + i], heap[off + c]
        if _before(key[off + b], seq[off + b], key[off + a], seq[off + a]):
            heap[off + i], heap[off + c] = b, a
            i = c
        else:
            break
    return top


@njit(cache=True, inline="always")
def _tail(t_end: float, t: float, warm: float) -> float:
    """Length of [max(t, warm), t_end]: what one unit arriving (or leaving) at t adds to (takes from) an area."""
    lo = t if t > warm else warm
    return t_end - lo if t_end > lo else 0.0


@njit(cache=True, inline="always")
def _clip_add(lo: float, hi: float, w0: float, w_end: float) -> float:
    """Length of [lo, hi] inside the window [w0, w_end] (0 if none)."""
    a = lo if lo > w0 else w0
    b = hi if hi < w_end else w_end
    return b - a if b > a else 0.0


@njit(cache=True, inline="always")
def account_hit_part(acc, work_col: int, down_col: int, sw: float, total: float, work: float, left: float,
                     d_ttf, fp: int, d_ttr, rp: int, w0: float, w_end: float) -> tuple[float, int, int]:
    """A part whose processing crosses failures, started at sw (working clock), `total` long with its repairs:
    its chunks (left, repair), ..., (rest, 0) added to acc[work_col] / acc[down_col] inside the window, as the
    SimPy engine accounts them. d_ttf[fp], d_ttr[rp] are the next failure and repair draws. Returns the time to
    failure left after the part and the next draw positions."""
    end_w = sw + total
    chunk_t = sw
    rest = work
    while left < rest:
        repair = d_ttr[rp]
        rp += 1
        for piece in range(2):
            length = left if piece == 0 else repair
            b = chunk_t + length
            if b > end_w:
                b = end_w
            if b > chunk_t:
                span = _clip_add(chunk_t, b, w0, w_end)
                if span > 0.0:
                    acc[work_col if piece == 0 else down_col] += span
            chunk_t += length
        rest -= left
        left = d_ttf[fp]
        fp += 1
    b = chunk_t + rest
    if b > end_w:
        b = end_w
    if b > chunk_t:
        acc[work_col] += _clip_add(chunk_t, b, w0, w_end)
    return left - rest, rp, fp


@njit(cache=True, inline="always")
def draw_short(left: float, work: float, d_ttf, fbase: int, fp: int, f_len: int, rp: int, r_len: int) -> int:
    """The stream a part of `work` seconds, started `left` seconds before its server's next failure, runs out of
    (FAIL or REPAIR; -1: the draws it needs are all there). Checked before anything is touched."""
    rest = work
    while left < rest:
        if rp >= r_len:
            return REPAIR
        rp += 1
        rest -= left
        if fp >= f_len:
            return FAIL
        left = d_ttf[fbase + fp]
        fp += 1
    return -1


@njit(cache=True, inline="always")
def hit_total(left: float, work: float, d_ttf, fbase: int, fp: int, d_ttr, rbase: int, rp: int) -> float:
    """Processing plus repairs of a part that meets failures (`left` < `work`): the chunk accounting needs the end
    as its upper limit first."""
    total = work
    while left < work:
        total += d_ttr[rbase + rp]
        rp += 1
        work -= left
        left = d_ttf[fbase + fp]
        fp += 1
    return total


@njit(cache=True, nogil=True, _nrt=False)
def _variant(ctl, ret, mix_u, mix_cum, mix_pat, peek: bool) -> int:
    """The next variant of the mix (random by share from its uniforms, or the cyclic pattern); -1: refill first."""
    mode = int(ctl[MIX_MODE])
    if mode == 2:
        v = mix_pat[ret[R_MIX_PAT] % mix_pat.shape[0]]
        if not peek:
            ret[R_MIX_PAT] += 1
        return v
    if ret[R_MIX_POS] >= ret[R_MIX_LEN]:
        return -1
    u = mix_u[ret[R_MIX_POS]]
    if not peek:
        ret[R_MIX_POS] += 1
    v = np.searchsorted(mix_cum, u, side="right")
    return v if v < mix_cum.shape[0] - 1 else mix_cum.shape[0] - 1


# No reference counting (`_nrt=False`) in the kernel and what it calls: it allocates nothing (the driver owns every
# array, `dirty` included), and numba would otherwise count references on each array a call or a slice touches,
# atomically, at every visit of a station: about a fifth of a year of jinhua.
@njit(cache=True, nogil=True, _nrt=False)
def run_kernel(ist, fst, lint, lflt, ctl, ret,  # noqa: C901 — one loop, kept whole for the compiler
               srv_c, srv_cw, srv_rel, srv_var, srv_ttf, srv_seq, srv_st, heap, idle_srv, idle_t, blk_srv,
               ar_t, ar_rel, ar_var, fr_t,
               in_prod, in_arr, in_qty, in_sb, scales, n_var,
               d_proc, d_ttf, d_ttr, d_scr, mix_u, mix_cum, mix_pat,
               cal_starts, cal_ends, cal_cum, cal_off, cal_coff, cal_n, cal_week, cal_period, cal_on,
               log_pool, log_lg, ex_line, ex_t, daily,
               tst, tft, tv_state, tv_key, tv_seq, tv_left, tv_since, d_lead, d_back, tr_prod, ring_pos, ring_key,
               tv_pkey, e_key, in_sup, sup_i, sup_f, sp_t, sp_seq, d_slead, d_sfail, d_srep, dirty) -> None:
    """Sweep the stations (and transports) until all have passed the horizon, or until the driver must refill
    something. Rows of `ist`/`fst` past the stations are the transports' stocks."""
    n_tr = tst.shape[0]
    n_st = ist.shape[0] - int(ctl[N_EXTRA])  # the rows after the stations: transports' stocks, merged docks
    n_proc = d_proc.shape[0] // n_st
    n_ttf = d_ttf.shape[0] // n_st
    n_ttr = d_ttr.shape[0] // n_st
    n_scr = d_scr.shape[0] // n_st
    record = ctl[RECORD] > 0
    exits = ctl[EXITS] > 0
    warm = ctl[WARM]
    stop_n = int(ctl[STOP_N])
    ret[R_CODE] = DONE_ALL
    # A station (or transport) is visited again only when a neighbour changed since it last had to wait: what it
    # waits for can only come from them (their admissions, freed places, published bounds, end of run).
    dirty[:] = True  # (the driver's array: the kernel allocates nothing, so it runs without reference counts)
    lean_servers = (srv_c, srv_cw, srv_rel, srv_var, srv_ttf, srv_seq, heap, idle_srv, idle_t, blk_srv)
    lean_links = (ar_t, ar_rel, ar_var, fr_t)
    lean_draws = (d_proc, d_ttf, d_ttr, d_scr)
    lean_out = (log_pool, log_lg, ex_line, ex_t, daily)
    cals = (cal_starts, cal_ends, cal_cum, cal_off, cal_coff, cal_n, cal_week, cal_period, cal_on)
    while True:
        progress = False
        raised = False
        all_done = True
        # the stations that take only from the one before them: the lean loop (twin.engine.flow_plain), one call
        t_end_seen = ctl[T_END]
        code, changed, moved = fplain.visit_runs(dirty, ist, fst, lint, lflt, ctl, ret, lean_servers, lean_links,
                                                 lean_draws, cals, lean_out)
        if code == fplain.RETURNED:
            return
        if moved:
            progress = True
        if changed:
            raised = True
        if ctl[T_END] != t_end_seen:
            dirty[:] = True
        for j in range(n_st):
            if ist[j, PLAIN] == 1:  # visited by the lean loop, above
                if ist[j, DONE] == 0:
                    all_done = False
                continue
            if ist[j, DONE]:
                continue
            if not dirty[j]:
                all_done = False
                continue
            dirty[j] = False
            changed = False
            t_end_seen = ctl[T_END]
            m = ist[j, M]
            soff = ist[j, SOFF]
            line = ist[j, LINE]
            first = ist[j, FIRST] == 1
            out_kind = ist[j, OUT_KIND]
            consumer = ist[j, CONSUMER]
            kit = ist[j, KIT] == 1
            n_in = ist[j, N_IN]
            in_off = ist[j, IN_OFF]
            c_starts, c_ends, c_cum, week, period, always = line_calendar(cals, line)
            w0 = fst[j, W0]
            w_end = fst[j, WE]
            while True:
                t_end = ctl[T_END]
                inclusive = ctl[INCLUSIVE] > 0
                # -- the next completion
                tc = INF
                if ist[j, HEAP_N] > 0:
                    tc = srv_c[soff + heap[soff]]
                # -- the next admission of a finished part to the out-link (a place freed there)
                ta = INF
                lb_a = INF
                a_unknown = False
                if ist[j, BLK_CNT] > 0:
                    c = srv_c[soff + blk_srv[soff + ist[j, BLK_HEAD]]]
                    idx = ist[j, N_ADM] + 1 - ist[j, SLOTS]
                    if idx <= 0:
                        ta = c
                    elif ist[j, N_FREED] >= idx:
                        f = fr_t[ist[j, FR_OFF] + (idx & ist[j, FR_MASK])]
                        ta = c if c > f else f
                    elif ist[consumer, DONE] == 0:
                        a_unknown = True
                        f = fst[j, LAST_FREED]
                        lb_a = c if c > f else f
                # -- the variant of the next part (what it needs from the feeds and how long it takes)
                v = 0
                main_here = True
                a_main = INF
                if first:
                    if ist[j, MIX_SRC]:
                        v = _variant(ctl, ret, mix_u, mix_cum, mix_pat, True)
                        if v < 0:
                            ret[R_CODE] = REFILL
                            ret[R_STATION] = j
                            ret[R_PURPOSE] = MIX
                            return
                else:
                    up = j - 1
                    n = ist[j, N_START] + 1
                    if ist[up, N_ADM] >= n:
                        v = ar_var[ist[up, AR_OFF] + (n & ist[up, AR_MASK])]
                        a_main = ar_t[ist[up, AR_OFF] + (n & ist[up, AR_MASK])]
                    else:
                        main_here = False
                # what a waiting assembly server sees now: its own part there or not, and the kit it needs (the
                # first variant's while its part has not come, as in the SimPy engine)
                present = first or a_main <= fst[j, LAST_EV]
                v_kit = v if present else 0
                # -- the next start: a free server, the part, and for an assembly station the whole kit
                ts = INF
                lb_s = INF
                s_unknown = False
                if ist[j, IDLE_CNT] > 0:
                    f = idle_t[soff + ist[j, IDLE_HEAD]]
                    ts = f
                    lb = f
                    if not first:
                        up = j - 1
                        n = ist[j, N_START] + 1
                        if main_here:
                            a = ar_t[ist[up, AR_OFF] + (n & ist[up, AR_MASK])]
                            ts = a if a > ts else ts
                            lb = a if a > lb else lb
                        elif ist[up, DONE] == 0:
                            s_unknown = True
                            a = fst[up, LAST_ADM]
                            lb = a if a > lb else lb
                        else:
                            ts = INF
                    for k in range(n_in):
                        p = in_prod[in_off + k]
                        qty = fsup.need(ist, in_prod, in_qty, in_sup, sup_i, in_off + k, v, n_var)
                        if qty == 0:  # this variant takes nothing from this input
                            continue
                        need = ist[p, N_FREED] + qty
                        if ist[p, N_ADM] >= need:
                            a = ar_t[ist[p, AR_OFF] + (need & ist[p, AR_MASK])]
                            ts = a if a > ts else ts
                            lb = a if a > lb else lb
                        elif ist[p, DONE] == 0:
                            s_unknown = True
                            a = fst[p, LAST_ADM]
                            lb = a if a > lb else lb
                        else:
                            ts = INF
                    if s_unknown:
                        lb_s = lb
                        ts = INF
                    elif kit and ts < fst[j, LAST_EV]:
                        # parts start in the order they came (the SimPy engine's servers take the queue's head):
                        # a variant needing less of the stocks never overtakes one still waiting for its kit
                        ts = fst[j, LAST_EV]
                # -- an assembly station with waiting servers follows the arrivals on the inputs it is short of,
                #    to account how long each input kept it waiting (the SimPy engine's `starved_by`)
                tr = INF
                lb_r = INF
                r_unknown = False
                if kit and ist[j, IDLE_CNT] > 0:
                    if not present:
                        if main_here:
                            tr = a_main
                        elif ist[j - 1, DONE] == 0:
                            r_unknown = True
                            lb_r = fst[j - 1, LAST_ADM]
                    for k in range(n_in):
                        p = in_prod[in_off + k]
                        got = in_arr[in_off + k]
                        # catch up with the arrivals already behind us (they changed nothing we account)
                        while got < ist[p, N_ADM] and ar_t[ist[p, AR_OFF] + ((got + 1) & ist[p, AR_MASK])] <= fst[j, LAST_EV]:
                            got += 1
                        in_arr[in_off + k] = got
                        if got - ist[p, N_FREED] < fsup.need(ist, in_prod, in_qty, in_sup, sup_i, in_off + k, v_kit,
                                                             n_var):
                            if got < ist[p, N_ADM]:
                                a = ar_t[ist[p, AR_OFF] + ((got + 1) & ist[p, AR_MASK])]
                                tr = a if a < tr else tr
                            elif ist[p, DONE] == 0:
                                r_unknown = True
                                a = fst[p, LAST_ADM]
                                lb_r = a if a < lb_r else lb_r
                # -- the next unit of an external supplier arriving (twin.engine.flow_supply)
                te = INF
                te_seq = 0
                te_sup = -1
                if ist[j, N_SUP] > 0:
                    te, te_seq, te_sup = fsup.next_arrival(ist, in_sup, sup_i, sp_t, sp_seq, j)
                t = min(tc, ta, ts)
                t = tr if tr < t else t
                t = te if te < t else t
                if (a_unknown and lb_a <= t) or (s_unknown and lb_s <= t) or (r_unknown and lb_r <= t):
                    all_done = False
                    nxt = t
                    if a_unknown and lb_a < nxt:
                        nxt = lb_a
                    if s_unknown and lb_s < nxt:
                        nxt = lb_s
                    if r_unknown and lb_r < nxt:
                        nxt = lb_r
                    changed = _publish(ist, fst, in_prod, j, nxt) or changed
                    break
                if t > t_end or (t == t_end and not inclusive):
                    ist[j, DONE] = 1
                    progress = True
                    changed = True
                    break
                if kit:
                    # waiting servers x the inputs short of their kit, since the last event of this station
                    if ist[j, IDLE_CNT] > 0:
                        wt = t if always else station_working(t, j, ist, fst, c_starts, c_ends, c_cum, week, period)
                        wl = fst[j, LAST_EV]
                        wl = wl if always else station_working(wl, j, ist, fst, c_starts, c_ends, c_cum, week, period)
                        span = _clip_add(wl, wt, w0, w_end) * ist[j, IDLE_CNT]
                        if span > 0.0:
                            if not present:
                                fst[j, SB_MAIN] += span
                            for k in range(n_in):
                                p = in_prod[in_off + k]
                                if in_arr[in_off + k] - ist[p, N_FREED] < fsup.need(ist, in_prod, in_qty, in_sup, sup_i,
                                                                                    in_off + k, v_kit, n_var):
                                    in_sb[in_off + k] += span
                    fst[j, LAST_EV] = t
                do_admit = False
                # a part a shared dock takes at the instant it finished goes on before the station's other events
                # of that instant, as if the dock had taken it with its completion (the SimPy engine's offer)
                own_instant = (ist[j, POOLED] == 1 and ta == t
                               and srv_c[soff + blk_srv[soff + ist[j, BLK_HEAD]]] == t)
                if t != fst[j, DEFER_T]:
                    ist[j, DEFER] = 0
                    ist[j, WOKEN] = 0
                    ist[j, GO] = 0
                # a station's own completions and its suppliers' arrivals of an instant go in the order of the
                # starts that made them; a server that found its kit whole at its completion starts first
                x_now = False
                completed = False
                present1 = True
                main_det = True
                if ist[j, N_SUP] > 0:
                    # whether the part came before t (what a server looking at its kit in the middle of the
                    # instant sees): known once the upstream station cannot admit another part before t
                    present1 = first or a_main < t
                    main_det = (first or main_here or ist[j - 1, DONE] == 1 or fst[j - 1, LAST_ADM] >= t)
                    if ist[j, GO] == 1 and ts == t:
                        tc = INF
                    elif te == t and ta != t and (tc != t or te_seq <= srv_seq[soff + heap[soff]]):
                        x_now = True
                    if (x_now and not main_det) or (not x_now and tc == t and ta != t and not fsup.kit_known(
                            ist, fst, ar_t, in_prod, in_qty, in_sup, sup_i, j, v if present1 else 0, main_det,
                            present1, n_var, t)):
                        all_done = False
                        changed = _publish(ist, fst, in_prod, j, t) or changed
                        break
                # At one instant a blocked part given a place goes in before the parts finishing then (the SimPy
                # engine admits it when the place is freed), but its server goes on after theirs (it is resumed
                # by an event made later than their completions): its server waits at the end of the free queue.
                defer = False
                if x_now:
                    # ---------------------------------------------------------------- a supplier's unit arrives
                    v1 = v if present1 else 0
                    if ist[j, IDLE_CNT] > ist[j, DEFER] and fsup.short_of(ist, in_prod, in_qty, in_sup, sup_i, te_sup,
                                                                           sup_i[te_sup, fsup.SP_ENTRY], v1, n_var):
                        fsup.wake(ist, fst, idle_srv, idle_t, j, soff, m, t)
                    fsup.arrive(ist, fst, ctl, ar_t, sup_i, sp_t, sp_seq, te_sup, t, warm)
                elif ta == t and (tc == t or te == t) and not own_instant:
                    defer = True
                    do_admit = True
                elif tc == t and not own_instant:
                    # ---------------------------------------------------------------- completion
                    if ist[j, HAS_SCRAP] and ist[j, S_POS] >= ist[j, S_LEN]:
                        ret[R_CODE] = REFILL
                        ret[R_STATION] = j
                        ret[R_PURPOSE] = SCRAP
                        return
                    if exits and ret[R_NEXIT] >= ex_t.shape[0]:
                        ret[R_CODE] = GROW_EXITS
                        return
                    # A finished part that finds a place downstream moves on in the same instant, before the
                    # other events of that instant (as in the SimPy engine, where the offer is part of the
                    # completion): decide that now, or wait until the consumer's times tell.
                    admit_now = False  # (into a dock shared by several lines: when its transport grants it)
                    if out_kind != OUT_SINK and ist[j, BLK_CNT] == 0 and ist[j, POOLED] == 0:
                        will_scrap = False
                        if ist[j, HAS_SCRAP]:
                            will_scrap = d_scr[j * n_scr + ist[j, S_POS]] < fst[j, SCRAP_P]
                        if not will_scrap:
                            idx = ist[j, N_ADM] + 1 - ist[j, SLOTS]
                            if idx <= 0:
                                admit_now = True
                            elif ist[j, N_FREED] >= idx:
                                admit_now = fr_t[ist[j, FR_OFF] + (idx & ist[j, FR_MASK])] <= t
                            elif ist[consumer, DONE] == 0 and fst[j, LAST_FREED] <= t:
                                all_done = False
                                changed = _publish(ist, fst, in_prod, j, t) or changed
                                break
                    s = _heap_pop(heap, soff, ist[j, HEAP_N], srv_c, srv_seq)
                    ist[j, HEAP_N] -= 1
                    ist[j, N_OPS] += 1
                    if record:
                        if ist[j, N_ACTIVE] == m:
                            fst[j, PENDING_END] = srv_cw[soff + s]
                        ist[j, N_ACTIVE] -= 1
                    scrapped = False
                    if ist[j, HAS_SCRAP]:
                        u = d_scr[j * n_scr + ist[j, S_POS]]
                        ist[j, S_POS] += 1
                        scrapped = u < fst[j, SCRAP_P]
                    if scrapped or out_kind == OUT_SINK:
                        if scrapped:
                            lint[line, SCRAPPED] += 1
                        else:
                            _finish(lint, lflt, ctl, ret, ex_line, ex_t, exits, stop_n, warm, line, t,
                                    srv_rel[soff + s], daily)
                        fst[j, WIP_PART] -= _tail(t_end, t, warm)
                        if not first:
                            _freed(ist, fst, fr_t, j - 1, t)
                        before = ist[j, DEFER]
                        if ist[j, N_SUP] > 0:
                            before = fsup.first_in_line(ist, fst, ar_t, in_prod, in_qty, in_sup, sup_i, j,
                                                        v if present1 else 0, present1, n_var, t)
                        _idle(ist, idle_srv, idle_t, j, soff, m, s, t, before)
                    else:
                        k = (ist[j, BLK_HEAD] + ist[j, BLK_CNT]) % m
                        blk_srv[soff + k] = s
                        ist[j, BLK_CNT] += 1
                        do_admit = admit_now
                        completed = True
                elif ta == t:
                    do_admit = True
                elif ts == t:
                    # ---------------------------------------------------------------- start
                    pp = ist[j, P_POS]
                    if pp >= ist[j, P_LEN]:
                        ret[R_CODE] = REFILL
                        ret[R_STATION] = j
                        ret[R_PURPOSE] = PROC
                        return
                    s = idle_srv[soff + ist[j, IDLE_HEAD]]
                    work = d_proc[j * n_proc + pp]
                    if ist[j, HAS_SCALES]:
                        work = work * scales[j * n_var + v]
                    has_fail = ist[j, HAS_FAIL] == 1
                    if ist[j, N_SUP] > 0 and not fsup.check_draws(ist, in_prod, in_qty, in_sup, sup_i, sup_f, d_sfail,
                                                                  d_srep, ret, j, v, n_var, t):
                        return
                    if has_fail:  # check that the draws this part needs are there before touching anything
                        need = draw_short(srv_ttf[soff + s], work, d_ttf, j * n_ttf, ist[j, F_POS], ist[j, F_LEN],
                                          ist[j, R_POS], ist[j, R_LEN])
                        if need >= 0:
                            ret[R_CODE] = REFILL
                            ret[R_STATION] = j
                            ret[R_PURPOSE] = need
                            return
                    if record and not log_room(log_pool, log_lg, j, 2):  # (a period, and an open one at the end)
                        ret[R_CODE] = GROW_PERIODS
                        ret[R_STATION] = j
                        return
                    if ist[j, N_SUP] > 0:
                        fsup.took_head(ist, j)
                    ist[j, IDLE_HEAD] = (ist[j, IDLE_HEAD] + 1) % m
                    ist[j, IDLE_CNT] -= 1
                    ist[j, P_POS] = pp + 1
                    n_s = ist[j, N_START] + 1
                    ist[j, N_START] = n_s
                    if first:
                        rel = t
                        if ist[j, MIX_SRC]:
                            v = _variant(ctl, ret, mix_u, mix_cum, mix_pat, False)
                        lint[line, RELEASED] += 1
                        fst[j, WIP_PART] += _tail(t_end, t, warm)
                    else:
                        up = j - 1
                        rel = ar_rel[ist[up, AR_OFF] + (n_s & ist[up, AR_MASK])]
                        fst[up, AREA_OUT] -= _tail(t_end, t, warm)
                    if n_in > 0:
                        ft.start_position(ist, fst, ar_t, ring_pos, ring_key, e_key, in_prod, in_qty, in_sup, sup_i, j,
                                          v, n_var, t)
                    for k in range(n_in):  # take the kit: its places in the stocks are free at once
                        p = in_prod[in_off + k]
                        code = in_sup[in_off + k]  # an external unit taken is re-ordered at once
                        for q in range(fsup.take_count(ist, in_prod, in_qty, in_sup, sup_i, in_off + k, v, n_var)):
                            fst[p, AREA_OUT] -= _tail(t_end, t, warm)
                            _freed(ist, fst, fr_t, p, t)
                            slot = ist[p, FR_OFF] + (ist[p, N_FREED] & ist[p, FR_MASK])
                            # vehicles given these places are resumed in this order, after the start's position
                            ring_pos[slot, ft.RP_SEQ] = ist[j, FREE_SEQ]
                            ring_pos[slot, ft.RP_FREE] = ist[j, E_LAST]
                            if ft.ARR0 <= ist[j, E_LAST] < 0:  # after an arrival: its key decides among arrivals
                                ft.copy_key(ring_key, slot, ft.RK_FREE, e_key, j, 0)
                            ist[j, FREE_SEQ] += 1
                            if code >= 0 and code & 1:
                                fsup.reorder(sup_i, sup_f, sp_t, sp_seq, d_slead, d_sfail, d_srep, code >> 1, t, n_s)
                    sw = t if always else station_working(t, j, ist, fst, c_starts, c_ends, c_cum, week, period)
                    total = work
                    hit = False
                    if has_fail:
                        left = srv_ttf[soff + s]
                        if left >= work:
                            srv_ttf[soff + s] = left - work
                        else:
                            hit = True
                            base = j * n_ttr
                            fbase = j * n_ttf
                            total = hit_total(left, work, d_ttf, fbase, ist[j, F_POS], d_ttr, base, ist[j, R_POS])
                            srv_ttf[soff + s], rp, fp = account_hit_part(
                                fst[j], WORKING, DOWN, sw, total, work, left, d_ttf, fbase + ist[j, F_POS], d_ttr,
                                base + ist[j, R_POS], w0, w_end)
                            ist[j, R_POS] = rp - base
                            ist[j, F_POS] = fp - fbase
                    end_w = sw + total
                    if not hit:
                        if sw >= w0 and end_w <= w_end:
                            fst[j, WORKING] += work
                        else:
                            fst[j, WORKING] += _clip_add(sw, end_w, w0, w_end)
                    if always:
                        c = t + (end_w - t)
                    else:
                        d = station_calendar(end_w, j, ist, fst, c_starts, c_cum, week, period) - t
                        c = t + (d if d > 0.0 else 0.0)
                    srv_c[soff + s] = c
                    srv_cw[soff + s] = end_w
                    srv_rel[soff + s] = rel
                    srv_var[soff + s] = v
                    srv_seq[soff + s] = n_s
                    srv_st[soff + s] = t  # (its completion is made now: a dock's transport orders by it)
                    _heap_push(heap, soff, ist[j, HEAP_N], s, srv_c, srv_seq)
                    ist[j, HEAP_N] += 1
                    if record:
                        na = ist[j, N_ACTIVE] + 1
                        ist[j, N_ACTIVE] = na
                        if na == m and sw - fst[j, PENDING_END] > 1e-9 * (sw if sw > 1.0 else 1.0):
                            if ist[j, OPEN]:
                                log_period(log_pool, log_lg, j, fst[j, OPEN_START], fst[j, PENDING_END])
                            fst[j, OPEN_START] = sw
                            ist[j, OPEN] = 1
                # (an arrival on a short input, tr == t, changes nothing but what the next interval accounts)
                if do_admit:
                    # ---------------------------------------------------------------- admission downstream
                    if exits and out_kind == OUT_FEED and ret[R_NEXIT] >= ex_t.shape[0]:
                        ret[R_CODE] = GROW_EXITS
                        return
                    s = blk_srv[soff + ist[j, BLK_HEAD]]
                    ist[j, BLK_HEAD] = (ist[j, BLK_HEAD] + 1) % m
                    ist[j, BLK_CNT] -= 1
                    n_a = ist[j, N_ADM] + 1
                    ist[j, N_ADM] = n_a
                    ar_t[ist[j, AR_OFF] + (n_a & ist[j, AR_MASK])] = t
                    ar_rel[ist[j, AR_OFF] + (n_a & ist[j, AR_MASK])] = srv_rel[soff + s]
                    ar_var[ist[j, AR_OFF] + (n_a & ist[j, AR_MASK])] = srv_var[soff + s]
                    if out_kind == OUT_FEED:  # a dock's transport of fixed travel times orders departures by it
                        ft.dock_admission(ring_pos, ring_key, ist[j, AR_OFF] + (n_a & ist[j, AR_MASK]),
                                          t != srv_c[soff + s], 0, srv_st[soff + s], j)
                    fst[j, LAST_ADM] = t
                    fst[j, AREA] += _tail(t_end, t, warm)
                    if t != srv_c[soff + s]:  # it waited for room: blocked since it finished
                        released = t
                        if not always:
                            released = station_working(t, j, ist, fst, c_starts, c_ends, c_cum, week, period)
                        fst[j, BLOCKED] += _clip_add(srv_cw[soff + s], released, w0, w_end)
                    if out_kind == OUT_FEED:  # the part leaves its line into the assembly's stock
                        _finish(lint, lflt, ctl, ret, ex_line, ex_t, exits, stop_n, warm, line, t, srv_rel[soff + s],
                                daily)
                        fst[j, WIP_PART] -= _tail(t_end, t, warm)
                    if not first:
                        _freed(ist, fst, fr_t, j - 1, t)
                    if defer:  # (behind the resumed servers, ahead of those woken by a supplier's arrival)
                        _idle(ist, idle_srv, idle_t, j, soff, m, s, t, ist[j, WOKEN])
                        ist[j, DEFER] += 1
                        fst[j, DEFER_T] = t
                    else:
                        before = ist[j, DEFER]
                        if completed and ist[j, N_SUP] > 0:
                            before = fsup.first_in_line(ist, fst, ar_t, in_prod, in_qty, in_sup, sup_i, j,
                                                        v if present1 else 0, present1, n_var, t)
                        _idle(ist, idle_srv, idle_t, j, soff, m, s, t, before)
                progress = True
                changed = True
            if ctl[T_END] != t_end_seen:  # the run ends earlier now: everyone may be done
                dirty[:] = True
            if changed:
                raised = True
                # a plain station reads the one before it only to start a part on a free server, and the one after
                # only for the parts it holds: a neighbour that cannot use this change is not woken (it stalled
                # waiting on its other side, which wakes it; a kernel call that returned wakes everyone)
                if ist[j, FIRST] == 0 and (ist[j - 1, PLAIN] == 0 or ist[j - 1, HEAP_N] + ist[j - 1, BLK_CNT] > 0):
                    dirty[j - 1] = True
                if consumer >= 0 and (ist[consumer, PLAIN] == 0 or ist[consumer, IDLE_CNT] > 0):
                    dirty[consumer] = True
                for k in range(n_in):
                    dirty[in_prod[in_off + k]] = True
        for i in range(n_tr):
            row = tst[i, ft.TR_ROW]
            if ist[row, DONE]:
                continue
            if not dirty[row]:
                all_done = False
                continue
            dirty[row] = False
            prod = tst[i, ft.TR_PROD]
            bounds = fst[row, LAST_ADM] + fst[prod, LAST_FREED]
            last_freed = fst[prod, LAST_FREED]
            one = tst[i, ft.TR_NPROD] == 1
            for k in range(tst[i, ft.TR_POFF], tst[i, ft.TR_POFF] + tst[i, ft.TR_NPROD]):
                ist[tr_prod[k], FREED_SEEN] = ist[tr_prod[k], N_FREED]
            t_end_seen = ctl[T_END]
            code = ft.transport_step(i, tst, tft, tv_state, tv_key, tv_seq, tv_left, tv_since, d_lead, d_back,
                                     tr_prod, ist, fst, ctl, ret, ar_t, fr_t, srv_c, srv_st, blk_srv, ring_pos,
                                     ring_key, tv_pkey)
            if code == ft.STEP_RETURN:
                dirty[row] = True
                return
            if code != ft.STEP_STALLED:
                progress = True
            if code != ft.STEP_DONE:
                all_done = False
            if ctl[T_END] != t_end_seen:
                dirty[:] = True
            if code != ft.STEP_STALLED or fst[row, LAST_ADM] + fst[prod, LAST_FREED] != bounds:
                raised = True
                if tst[i, ft.TR_CONS] >= 0:
                    dirty[tst[i, ft.TR_CONS]] = True
                # a line reads from the dock it fills only the places freed to it (granted, for a shared dock), the
                # bound on them (a dock of its own: a station of the general loop may read more) and the end
                for k in range(tst[i, ft.TR_POFF], tst[i, ft.TR_POFF] + tst[i, ft.TR_NPROD]):
                    p = tr_prod[k]
                    if (ist[p, N_FREED] != ist[p, FREED_SEEN] or ist[row, DONE] == 1
                            or (one and (ist[p, PLAIN] == 0 or fst[p, LAST_FREED] != last_freed))):
                        dirty[p] = True
        if all_done:
            ret[R_CODE] = DONE_ALL
            return
        if not progress and not raised:
            ret[R_CODE] = STUCK
            return


@njit(cache=True, inline="always")
def _idle(ist, idle_srv, idle_t, j: int, soff: int, m: int, s: int, t: float, before: int) -> None:
    """Server s of station j is free at t: it joins the queue of free servers, `before` places from its end
    (ahead of the servers resumed at this instant, which go on after it)."""
    pos = ist[j, IDLE_CNT]
    for q in range(min(before, pos)):
        src = (ist[j, IDLE_HEAD] + pos - 1) % m
        dst = (ist[j, IDLE_HEAD] + pos) % m
        idle_srv[soff + dst] = idle_srv[soff + src]
        idle_t[soff + dst] = idle_t[soff + src]
        pos -= 1
    k = (ist[j, IDLE_HEAD] + pos) % m
    idle_srv[soff + k] = s
    idle_t[soff + k] = t
    ist[j, IDLE_CNT] += 1


@njit(cache=True, inline="always")
def _publish(ist, fst, in_prod, j: int, nxt: float) -> bool:
    """Station j waits at nxt: none of its events comes earlier, so neither does an admission to its out-link nor
    a place it frees in a link it takes from. Raising those bounds lets a neighbour (a transport above all) go on
    without waiting for j's next event. True if a bound rose."""
    rose = False
    if fst[j, LAST_ADM] < nxt:
        fst[j, LAST_ADM] = nxt
        rose = True
    if ist[j, FIRST] == 0 and fst[j - 1, LAST_FREED] < nxt:
        fst[j - 1, LAST_FREED] = nxt
        rose = True
    for k in range(ist[j, N_IN]):
        p = in_prod[ist[j, IN_OFF] + k]
        if fst[p, LAST_FREED] < nxt:
            fst[p, LAST_FREED] = nxt
            rose = True
    return rose


@njit(cache=True, inline="always")
def _freed(ist, fst, fr_t, p: int, t: float) -> None:
    """A place of station p's out-link is free again at t: its part left the next station, or a kit took it."""
    n = ist[p, N_FREED] + 1
    ist[p, N_FREED] = n
    fr_t[ist[p, FR_OFF] + (n & ist[p, FR_MASK])] = t
    fst[p, LAST_FREED] = t


@njit(cache=True, inline="always")
def _finish(lint, lflt, ctl, ret, ex_line, ex_t, exits: bool, stop_n: int, warm: float, line: int, t: float,
            rel: float, daily) -> None:
    """A part leaves its line at t: count it (also by calendar day), its lead time, its exit; end the run after
    enough of them."""
    day = day_of(t)
    if day < daily.shape[1]:
        daily[line, day] += 1
    else:  # a day the driver made no room for: it runs again with room for every day the run reached
        ret[R_LOST_DAYS] += 1
    if exits:
        k = ret[R_NEXIT]
        ex_line[k] = line
        ex_t[k] = t
        ret[R_NEXIT] = k + 1
    lint[line, FINISHED] += 1
    if t >= warm:
        lint[line, FINISHED_WIN] += 1
        lflt[line, LEAD_SUM] += t - rel
    if stop_n > 0 and lint[line, TERMINAL] and lint[line, FINISHED] == stop_n and t < lflt[line, STOP_T]:
        lflt[line, STOP_T] = t
        if t < ctl[T_END] or ctl[INCLUSIVE] == 0:
            ctl[T_END] = t
            ctl[INCLUSIVE] = 1.0
