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

WEEK_S = 7 * 86_400.0
INF = math.inf

# integer state of a station: columns of `ist`
M, SOFF, SLOTS, LAST, FIRST, LINE, AR_OFF, AR_MASK, FR_OFF, FR_MASK = range(10)
N_START, N_ADM, N_LEAVE, N_OPS, IDLE_HEAD, IDLE_CNT, BLK_HEAD, BLK_CNT, HEAP_N, DONE = range(10, 20)
P_POS, P_LEN, F_POS, F_LEN, R_POS, R_LEN, S_POS, S_LEN = range(20, 28)
N_ACTIVE, HAS_FAIL, HAS_SCRAP, OPEN, NI = range(28, 33)
# float state of a station: columns of `fst`
WORKING, BLOCKED, DOWN, AREA, W0, WE, LAST_ADM, LAST_LEAVE, PENDING_END, OPEN_START, SCRAP_P, NF = range(12)
# integer state of a line: columns of `lint`
RELEASED, FINISHED, FINISHED_WIN, SCRAPPED, NLI = range(5)
# float state of a line: columns of `lflt`
LEAD_SUM, WIP_AREA, STOP_T, NLF = range(4)
# run settings and the way back to the driver: `ctl` (float) and `ret` (int)
T_END, WARM, INCLUSIVE, STOP_N, RECORD, EXITS, NCTL = range(7)
R_CODE, R_STATION, R_PURPOSE, R_NPER, R_NEXIT, NRET = range(6)
DONE_ALL, REFILL, GROW_PERIODS, GROW_EXITS, STUCK = range(5)
PROC, FAIL, REPAIR, SCRAP = range(4)


@njit(cache=True)
def to_working(t: float, starts: np.ndarray, ends: np.ndarray, cum: np.ndarray, per_week: float) -> float:
    """twin.calendar.Calendar.to_working, operation for operation."""
    weeks = math.floor(t / WEEK_S)
    r = t - weeks * WEEK_S
    i = np.searchsorted(starts, r, side="right") - 1
    within = 0.0
    if i >= 0:
        within = cum[i] + min(r - starts[i], ends[i] - starts[i])
    return weeks * per_week + within


@njit(cache=True)
def to_calendar(w: float, starts: np.ndarray, cum: np.ndarray, per_week: float) -> float:
    """twin.calendar.Calendar.to_calendar, operation for operation."""
    if w <= 0:
        return 0.0
    weeks = math.floor(w / per_week)
    rem = w - weeks * per_week
    if rem <= 0:
        weeks -= 1
        rem = per_week
    i = np.searchsorted(cum, rem, side="left") - 1
    if i < 0:
        i = 0
    return weeks * WEEK_S + starts[i] + (rem - cum[i])


@njit(cache=True, inline="always")
def _before(a: float, sa: int, b: float, sb: int) -> bool:
    return a < b or (a == b and sa < sb)


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True, nogil=True)
def run_kernel(ist, fst, lint, lflt, ctl, ret,  # noqa: C901 — one loop, kept whole for the compiler
               srv_c, srv_cw, srv_rel, srv_ttf, srv_seq, heap, idle_srv, idle_t, blk_srv,
               ar_t, ar_rel, fr_t,
               d_proc, d_ttf, d_ttr, d_scr,
               cal_starts, cal_ends, cal_cum, cal_off, cal_coff, cal_n, cal_week, cal_on,
               per_st, per_a, per_b, ex_line, ex_t) -> None:
    """Sweep the stations until all have passed the horizon, or until the driver must refill something."""
    n_st = ist.shape[0]
    n_proc = d_proc.shape[0] // n_st
    n_ttf = d_ttf.shape[0] // n_st
    n_ttr = d_ttr.shape[0] // n_st
    n_scr = d_scr.shape[0] // n_st
    record = ctl[RECORD] > 0
    exits = ctl[EXITS] > 0
    warm = ctl[WARM]
    stop_n = int(ctl[STOP_N])
    ret[R_CODE] = DONE_ALL
    while True:
        progress = False
        all_done = True
        for j in range(n_st):
            if ist[j, DONE]:
                continue
            m = ist[j, M]
            soff = ist[j, SOFF]
            line = ist[j, LINE]
            first = ist[j, FIRST] == 1
            last = ist[j, LAST] == 1
            co = cal_off[line]
            cn = cal_n[line]
            c_starts = cal_starts[co:co + cn]
            c_ends = cal_ends[co:co + cn]
            c_cum = cal_cum[cal_coff[line]:cal_coff[line] + cn + 1]
            week = cal_week[line]
            always = cal_on[line] == 1
            w0 = fst[j, W0]
            w_end = fst[j, WE]
            while True:
                t_end = ctl[T_END]
                inclusive = ctl[INCLUSIVE] > 0
                # -- the next completion
                tc = INF
                if ist[j, HEAP_N] > 0:
                    tc = srv_c[soff + heap[soff]]
                # -- the next admission of a finished part to the out-link
                ta = INF
                lb_a = INF
                a_unknown = False
                if ist[j, BLK_CNT] > 0:
                    c = srv_c[soff + blk_srv[soff + ist[j, BLK_HEAD]]]
                    idx = ist[j, N_ADM] + 1 - ist[j, SLOTS]
                    if idx <= 0:
                        ta = c
                    else:
                        nx = j + 1
                        if ist[nx, N_LEAVE] >= idx:
                            f = fr_t[ist[nx, FR_OFF] + (idx & ist[nx, FR_MASK])]
                            ta = c if c > f else f
                        elif ist[nx, DONE] == 0:
                            a_unknown = True
                            f = fst[nx, LAST_LEAVE]
                            lb_a = c if c > f else f
                # -- the next start
                ts = INF
                lb_s = INF
                s_unknown = False
                if ist[j, IDLE_CNT] > 0:
                    f = idle_t[soff + ist[j, IDLE_HEAD]]
                    if first:
                        ts = f
                    else:
                        up = j - 1
                        n = ist[j, N_START] + 1
                        if ist[up, N_ADM] >= n:
                            a = ar_t[ist[up, AR_OFF] + (n & ist[up, AR_MASK])]
                            ts = a if a > f else f
                        elif ist[up, DONE] == 0:
                            s_unknown = True
                            a = fst[up, LAST_ADM]
                            lb_s = a if a > f else f
                t = min(tc, ta, ts)
                if (a_unknown and lb_a <= t) or (s_unknown and lb_s <= t):
                    all_done = False
                    break
                if t > t_end or (t == t_end and not inclusive):
                    ist[j, DONE] = 1
                    progress = True
                    break
                do_admit = False
                if tc == t:
                    # ---------------------------------------------------------------- completion
                    if ist[j, HAS_SCRAP] and ist[j, S_POS] >= ist[j, S_LEN]:
                        ret[R_CODE] = REFILL
                        ret[R_STATION] = j
                        ret[R_PURPOSE] = SCRAP
                        return
                    if exits and last and ret[R_NEXIT] >= ex_t.shape[0]:
                        ret[R_CODE] = GROW_EXITS
                        return
                    # A finished part that finds a place downstream moves on in the same instant, before the
                    # other events of that instant (as in the SimPy engine, where the offer is part of the
                    # completion): decide that now, or wait until the next station's leave times tell.
                    admit_now = False
                    if not last and ist[j, BLK_CNT] == 0:
                        will_scrap = False
                        if ist[j, HAS_SCRAP]:
                            will_scrap = d_scr[j * n_scr + ist[j, S_POS]] < fst[j, SCRAP_P]
                        if not will_scrap:
                            idx = ist[j, N_ADM] + 1 - ist[j, SLOTS]
                            if idx <= 0:
                                admit_now = True
                            elif ist[j + 1, N_LEAVE] >= idx:
                                admit_now = fr_t[ist[j + 1, FR_OFF] + (idx & ist[j + 1, FR_MASK])] <= t
                            elif ist[j + 1, DONE] == 0:
                                all_done = False
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
                    if scrapped or last:
                        if scrapped:
                            lint[line, SCRAPPED] += 1
                        else:
                            if exits:
                                k = ret[R_NEXIT]
                                ex_line[k] = line
                                ex_t[k] = t
                                ret[R_NEXIT] = k + 1
                            lint[line, FINISHED] += 1
                            if t >= warm:
                                lint[line, FINISHED_WIN] += 1
                                lflt[line, LEAD_SUM] += t - srv_rel[soff + s]
                            if stop_n > 0 and lint[line, FINISHED] == stop_n and t < lflt[line, STOP_T]:
                                lflt[line, STOP_T] = t
                                if t < ctl[T_END] or ctl[INCLUSIVE] == 0:
                                    ctl[T_END] = t
                                    ctl[INCLUSIVE] = 1.0
                        lflt[line, WIP_AREA] -= _tail(t_end, t, warm)
                        if not first:
                            n_l = ist[j, N_LEAVE] + 1
                            ist[j, N_LEAVE] = n_l
                            fr_t[ist[j, FR_OFF] + (n_l & ist[j, FR_MASK])] = t
                            fst[j, LAST_LEAVE] = t
                        k = (ist[j, IDLE_HEAD] + ist[j, IDLE_CNT]) % m
                        idle_srv[soff + k] = s
                        idle_t[soff + k] = t
                        ist[j, IDLE_CNT] += 1
                    else:
                        k = (ist[j, BLK_HEAD] + ist[j, BLK_CNT]) % m
                        blk_srv[soff + k] = s
                        ist[j, BLK_CNT] += 1
                        do_admit = admit_now
                elif ta == t:
                    do_admit = True
                else:
                    # ---------------------------------------------------------------- start
                    pp = ist[j, P_POS]
                    if pp >= ist[j, P_LEN]:
                        ret[R_CODE] = REFILL
                        ret[R_STATION] = j
                        ret[R_PURPOSE] = PROC
                        return
                    s = idle_srv[soff + ist[j, IDLE_HEAD]]
                    work = d_proc[j * n_proc + pp]
                    has_fail = ist[j, HAS_FAIL] == 1
                    if has_fail:  # check that the draws this part needs are there before touching anything
                        left = srv_ttf[soff + s]
                        rest = work
                        fp = ist[j, F_POS]
                        rp = ist[j, R_POS]
                        need = -1
                        while left < rest:
                            if rp >= ist[j, R_LEN]:
                                need = REPAIR
                                break
                            rp += 1
                            rest -= left
                            if fp >= ist[j, F_LEN]:
                                need = FAIL
                                break
                            left = d_ttf[j * n_ttf + fp]
                            fp += 1
                        if need >= 0:
                            ret[R_CODE] = REFILL
                            ret[R_STATION] = j
                            ret[R_PURPOSE] = need
                            return
                    if record and ret[R_NPER] >= per_a.shape[0]:
                        ret[R_CODE] = GROW_PERIODS
                        return
                    ist[j, IDLE_HEAD] = (ist[j, IDLE_HEAD] + 1) % m
                    ist[j, IDLE_CNT] -= 1
                    ist[j, P_POS] = pp + 1
                    n_s = ist[j, N_START] + 1
                    ist[j, N_START] = n_s
                    if first:
                        rel = t
                        lint[line, RELEASED] += 1
                        lflt[line, WIP_AREA] += _tail(t_end, t, warm)
                    else:
                        up = j - 1
                        rel = ar_rel[ist[up, AR_OFF] + (n_s & ist[up, AR_MASK])]
                        fst[up, AREA] -= _tail(t_end, t, warm)
                    sw = t if always else to_working(t, c_starts, c_ends, c_cum, week)
                    total = work
                    hit = False
                    if has_fail:
                        left = srv_ttf[soff + s]
                        if left >= work:
                            srv_ttf[soff + s] = left - work
                        else:
                            hit = True
                            rest = work
                            # the chunks (left, repair), ..., (rest, 0), accounted as the SimPy engine does
                            chunk_t = sw
                            base = j * n_ttr
                            fbase = j * n_ttf
                            # first pass: total (the chunk accounting needs the end as its upper limit)
                            rp = ist[j, R_POS]
                            fp = ist[j, F_POS]
                            tot = work
                            lft = left
                            rst = work
                            while lft < rst:
                                tot += d_ttr[base + rp]
                                rp += 1
                                rst -= lft
                                lft = d_ttf[fbase + fp]
                                fp += 1
                            total = tot
                            end_w = sw + total
                            rp = ist[j, R_POS]
                            fp = ist[j, F_POS]
                            while left < rest:
                                repair = d_ttr[base + rp]
                                rp += 1
                                for piece in range(2):
                                    length = left if piece == 0 else repair
                                    a = chunk_t
                                    b = chunk_t + length
                                    if b > end_w:
                                        b = end_w
                                    if b > a:
                                        lo = a if a > w0 else w0
                                        hi = b if b < w_end else w_end
                                        if hi > lo:
                                            if piece == 0:
                                                fst[j, WORKING] += hi - lo
                                            else:
                                                fst[j, DOWN] += hi - lo
                                    chunk_t += length
                                rest -= left
                                left = d_ttf[fbase + fp]
                                fp += 1
                            a = chunk_t
                            b = chunk_t + rest
                            if b > end_w:
                                b = end_w
                            if b > a:
                                lo = a if a > w0 else w0
                                hi = b if b < w_end else w_end
                                if hi > lo:
                                    fst[j, WORKING] += hi - lo
                            ist[j, R_POS] = rp
                            ist[j, F_POS] = fp
                            srv_ttf[soff + s] = left - rest
                    end_w = sw + total
                    if not hit:
                        if sw >= w0 and end_w <= w_end:
                            fst[j, WORKING] += work
                        else:
                            lo = sw if sw > w0 else w0
                            hi = end_w if end_w < w_end else w_end
                            if hi > lo:
                                fst[j, WORKING] += hi - lo
                    if always:
                        c = t + (end_w - t)
                    else:
                        d = to_calendar(end_w, c_starts, c_cum, week) - t
                        c = t + (d if d > 0.0 else 0.0)
                    srv_c[soff + s] = c
                    srv_cw[soff + s] = end_w
                    srv_rel[soff + s] = rel
                    srv_seq[soff + s] = n_s
                    _heap_push(heap, soff, ist[j, HEAP_N], s, srv_c, srv_seq)
                    ist[j, HEAP_N] += 1
                    if record:
                        na = ist[j, N_ACTIVE] + 1
                        ist[j, N_ACTIVE] = na
                        if na == m and sw - fst[j, PENDING_END] > 1e-9 * (sw if sw > 1.0 else 1.0):
                            if ist[j, OPEN]:
                                k = ret[R_NPER]
                                per_st[k] = j
                                per_a[k] = fst[j, OPEN_START]
                                per_b[k] = fst[j, PENDING_END]
                                ret[R_NPER] = k + 1
                            fst[j, OPEN_START] = sw
                            ist[j, OPEN] = 1
                if do_admit:
                    # ---------------------------------------------------------------- admission downstream
                    s = blk_srv[soff + ist[j, BLK_HEAD]]
                    ist[j, BLK_HEAD] = (ist[j, BLK_HEAD] + 1) % m
                    ist[j, BLK_CNT] -= 1
                    n_a = ist[j, N_ADM] + 1
                    ist[j, N_ADM] = n_a
                    ar_t[ist[j, AR_OFF] + (n_a & ist[j, AR_MASK])] = t
                    ar_rel[ist[j, AR_OFF] + (n_a & ist[j, AR_MASK])] = srv_rel[soff + s]
                    fst[j, LAST_ADM] = t
                    fst[j, AREA] += _tail(t_end, t, warm)
                    if t != srv_c[soff + s]:  # it waited for room: blocked since it finished
                        released = t if always else to_working(t, c_starts, c_ends, c_cum, week)
                        lo = srv_cw[soff + s]
                        lo = lo if lo > w0 else w0
                        hi = released if released < w_end else w_end
                        if hi > lo:
                            fst[j, BLOCKED] += hi - lo
                    if not first:
                        n_l = ist[j, N_LEAVE] + 1
                        ist[j, N_LEAVE] = n_l
                        fr_t[ist[j, FR_OFF] + (n_l & ist[j, FR_MASK])] = t
                        fst[j, LAST_LEAVE] = t
                    k = (ist[j, IDLE_HEAD] + ist[j, IDLE_CNT]) % m
                    idle_srv[soff + k] = s
                    idle_t[soff + k] = t
                    ist[j, IDLE_CNT] += 1
                progress = True
        if all_done:
            ret[R_CODE] = DONE_ALL
            return
        if not progress:
            ret[R_CODE] = STUCK
            return


@njit(cache=True, nogil=True)
def group_periods(per_st, per_a, per_b, n_stations):
    """Periods recorded in the order they closed, regrouped station by station (a counting sort: O(periods))."""
    bounds = np.zeros(n_stations + 1, dtype=np.int64)
    for k in range(per_st.shape[0]):
        bounds[per_st[k] + 1] += 1
    for j in range(n_stations):
        bounds[j + 1] += bounds[j]
    pos = bounds[:-1].copy()
    out_a = np.empty(per_a.shape[0])
    out_b = np.empty(per_b.shape[0])
    for k in range(per_st.shape[0]):
        j = per_st[k]
        out_a[pos[j]] = per_a[k]
        out_b[pos[j]] = per_b[k]
        pos[j] += 1
    return out_a, out_b, bounds
