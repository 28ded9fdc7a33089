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


# ---------------------------------------------------------------------------------------------------- single servers
# The plain recursion, part by part, for a line of single-server stations without scrap: part i is the i-th part at
# every station, so D[j][i] = max(max(D[j-1][i], D[j][i-1]) + S[j][i], D[j+1][i - b_j - 1]) needs no event
# ordering at all. Per-station state (columns of `sst`/`sf`) and a ring of each station's recent leave times.
PREV, TTF, S_WORK, S_BLOCKED, S_DOWN, S_AREA, S_W0, S_WE, S_PEND, S_OPEN_START, NSF = range(11)
S_OPS, S_FPOS, S_FLEN, S_RPOS, S_RLEN, S_OPEN, S_ACTIVE, S_RING, S_MASK, S_BUF, S_FAIL, NSI = range(12)
L_RELEASED, L_FINISHED, L_FIN_WIN, L_PART, NLS = range(5)
L_LEAD, L_WIP, NLSF = range(3)
EXHAUSTED, PARTS_DONE = 5, 6


@njit(cache=True, nogil=True)
def _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum, week,
                   per_st, per_a, per_b, ex_t) -> None:
    """run_serial for the commonest case — a round-the-clock line without failures — with the per-station state
    in flat local arrays: the same operations, in the same order, fewer of them.

    `per_a` (periods) and `ex_t` (exits) are None when not recorded: numba then compiles a version without that
    code at all (it prunes `is None` branches on arguments), which keeps the plain run as lean as it can be.
    """
    k_st = sst.shape[0]
    width = d_proc.shape[0] // k_st
    warm = ctl[WARM]
    stop_n = int(ctl[STOP_N])
    prev = sf[:, PREV].copy()
    work_acc = sf[:, S_WORK].copy()
    blocked = sf[:, S_BLOCKED].copy()
    area = sf[:, S_AREA].copy()
    w0 = sf[:, S_W0].copy()
    w_end = sf[:, S_WE].copy()
    ops = sst[:, S_OPS].copy()
    pend = sf[:, S_PEND].copy()
    open_start = sf[:, S_OPEN_START].copy()
    is_open = sst[:, S_OPEN].copy()
    active = sst[:, S_ACTIVE].copy()
    buf = sst[:, S_BUF].copy()
    r_off = sst[:, S_RING].copy()
    r_mask = sst[:, S_MASK].copy()
    last = k_st - 1
    i0 = lst[L_PART]
    code = PARTS_DONE
    t_end = ctl[T_END]
    inclusive = ctl[INCLUSIVE] > 0
    i = i0
    while i < n_parts:
        rel = prev[0]
        if rel > t_end or (rel == t_end and not inclusive):
            code = DONE_ALL
            break
        if ex_t is not None:
            if ret[R_NEXIT] >= ex_t.shape[0]:
                code = GROW_EXITS
                break
        if per_a is not None:
            if ret[R_NPER] + k_st > per_a.shape[0]:
                code = GROW_PERIODS
                break
        lst[L_RELEASED] += 1
        arrive = rel
        col = i - base
        for j in range(k_st):
            p = prev[j]
            start = arrive if arrive > p else p
            if j > 0:
                lo = arrive if arrive > warm else warm
                hi = start if start < t_end else t_end
                if hi > lo:
                    area[j - 1] += hi - lo
            work = d_proc[j * width + col]
            end_w = start + work
            if start >= w0[j] and end_w <= w_end[j]:
                work_acc[j] += work
            else:
                lo = start if start > w0[j] else w0[j]
                hi = end_w if end_w < w_end[j] else w_end[j]
                if hi > lo:
                    work_acc[j] += hi - lo
            c = start + (end_w - start)
            completed = c < t_end or (c == t_end and inclusive)
            if per_a is not None:
                if start < t_end or (start == t_end and inclusive):
                    active[j] = 1
                    if start - pend[j] > 1e-9 * (start if start > 1.0 else 1.0):
                        if is_open[j]:
                            k = ret[R_NPER]
                            per_st[k] = j
                            per_a[k] = open_start[j]
                            per_b[k] = pend[j]
                            ret[R_NPER] = k + 1
                        open_start[j] = start
                        is_open[j] = 1
                if completed:
                    pend[j] = end_w
                    active[j] = 0
            if completed:
                ops[j] += 1
            if j == last:
                leave = c
                if completed:
                    lst[L_FINISHED] += 1
                    if c >= warm:
                        lst[L_FIN_WIN] += 1
                        lsf[L_LEAD] += c - rel
                    if ex_t is not None:
                        ex_t[ret[R_NEXIT]] = c
                        ret[R_NEXIT] += 1
                    if stop_n > 0 and lst[L_FINISHED] == stop_n:
                        t_end = c
                        inclusive = True
                        ctl[T_END] = c
                        ctl[INCLUSIVE] = 1.0
                        we = to_working(c, c_starts, c_ends, c_cum, week)
                        for q in range(k_st):
                            w_end[q] = we
                lo = rel if rel > warm else warm
                hi = c if c < t_end else t_end
                if hi > lo:
                    lsf[L_WIP] += hi - lo
            else:
                leave = c
                nxt = i - buf[j] - 1
                if nxt >= 0:
                    f = ring[r_off[j + 1] + (nxt & r_mask[j + 1])]
                    if f > c:
                        leave = f
                if completed and leave != c:
                    lo = end_w if end_w > w0[j] else w0[j]
                    hi = leave if leave < w_end[j] else w_end[j]
                    if hi > lo:
                        blocked[j] += hi - lo
            ring[r_off[j] + (i & r_mask[j])] = leave
            prev[j] = leave
            arrive = leave
        i += 1
    lst[L_PART] = i
    sf[:, PREV] = prev
    sf[:, S_WORK] = work_acc
    sf[:, S_BLOCKED] = blocked
    sf[:, S_AREA] = area
    sf[:, S_WE] = w_end
    sst[:, S_OPS] = ops
    sf[:, S_PEND] = pend
    sf[:, S_OPEN_START] = open_start
    sst[:, S_OPEN] = is_open
    sst[:, S_ACTIVE] = active
    ret[R_CODE] = code


@njit(cache=True, nogil=True)
def run_serial(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, d_ttf, d_ttr,  # noqa: C901
               c_starts, c_ends, c_cum, week, always, per_st, per_a, per_b, ex_t) -> None:
    """Parts lst[L_PART] .. n_parts - 1 of one line through every station, or until one starts past the end.

    Column c of each station's row of `d_proc` is the processing time of part base + c.
    """
    k_st = sst.shape[0]
    if always and sst[:, S_FAIL].sum() == 0:
        if ctl[RECORD] > 0:
            if ctl[EXITS] > 0:
                _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum,
                               week, per_st, per_a, per_b, ex_t)
            else:
                _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum,
                               week, per_st, per_a, per_b, None)
        elif ctl[EXITS] > 0:
            _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum, week,
                           per_st, None, per_b, ex_t)
        else:
            _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum, week,
                           per_st, None, per_b, None)
        return
    width = d_proc.shape[0] // k_st
    n_ttf = d_ttf.shape[0] // k_st
    n_ttr = d_ttr.shape[0] // k_st
    warm = ctl[WARM]
    record = ctl[RECORD] > 0
    exits = ctl[EXITS] > 0
    stop_n = int(ctl[STOP_N])
    i0 = lst[L_PART]
    for i in range(i0, n_parts):
        t_end = ctl[T_END]
        inclusive = ctl[INCLUSIVE] > 0
        rel = sf[0, PREV]
        if rel > t_end or (rel == t_end and not inclusive):
            ret[R_CODE] = DONE_ALL
            return
        # room for what this part may record, and failure draws for a few failures at each station
        if record and ret[R_NPER] + k_st > per_a.shape[0]:
            ret[R_CODE] = GROW_PERIODS
            return
        if exits and ret[R_NEXIT] >= ex_t.shape[0]:
            ret[R_CODE] = GROW_EXITS
            return
        for j in range(k_st):
            if sst[j, S_FAIL] and (sst[j, S_FLEN] - sst[j, S_FPOS] < 64 or sst[j, S_RLEN] - sst[j, S_RPOS] < 64):
                ret[R_CODE] = REFILL
                ret[R_STATION] = j
                return
        lst[L_PART] = i + 1
        lst[L_RELEASED] += 1
        arrive = rel
        col = i - base
        for j in range(k_st):
            start = arrive if arrive > sf[j, PREV] else sf[j, PREV]
            started = start < t_end or (start == t_end and inclusive)
            if j > 0:  # waiting in the buffer before j
                lo = arrive if arrive > warm else warm
                hi = start if start < t_end else t_end
                if hi > lo:
                    sf[j - 1, S_AREA] += hi - lo
            w0 = sf[j, S_W0]
            w_end = sf[j, S_WE]
            sw = start if always else to_working(start, c_starts, c_ends, c_cum, week)
            work = d_proc[j * width + col]
            total = work
            hit = False
            if sst[j, S_FAIL]:
                left = sf[j, TTF]
                if left >= work:
                    sf[j, TTF] = left - work
                else:
                    hit = True
                    fp = sst[j, S_FPOS]
                    rp = sst[j, S_RPOS]
                    lft = left
                    rst = work
                    while lft < rst:
                        if rp >= sst[j, S_RLEN] or fp >= sst[j, S_FLEN]:
                            ret[R_CODE] = EXHAUSTED
                            return
                        total += d_ttr[j * n_ttr + rp]
                        rp += 1
                        rst -= lft
                        lft = d_ttf[j * n_ttf + fp]
                        fp += 1
                    end_w = sw + total
                    rp = sst[j, S_RPOS]
                    fp = sst[j, S_FPOS]
                    chunk_t = sw
                    rest = work
                    while left < rest:
                        repair = d_ttr[j * n_ttr + rp]
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
                                    sf[j, S_WORK if piece == 0 else S_DOWN] += hi - lo
                            chunk_t += length
                        rest -= left
                        left = d_ttf[j * n_ttf + fp]
                        fp += 1
                    a = chunk_t
                    b = chunk_t + rest
                    if b > end_w:
                        b = end_w
                    if b > a:
                        lo = a if a > w0 else w0
                        hi = b if b < w_end else w_end
                        if hi > lo:
                            sf[j, S_WORK] += hi - lo
                    sst[j, S_RPOS] = rp
                    sst[j, S_FPOS] = fp
                    sf[j, TTF] = left - rest
            end_w = sw + total
            if not hit:
                if sw >= w0 and end_w <= w_end:
                    sf[j, S_WORK] += work
                else:
                    lo = sw if sw > w0 else w0
                    hi = end_w if end_w < w_end else w_end
                    if hi > lo:
                        sf[j, S_WORK] += hi - lo
            if always:
                c = start + (end_w - start)
            else:
                dt = to_calendar(end_w, c_starts, c_cum, week) - start
                c = start + (dt if dt > 0.0 else 0.0)
            completed = c < t_end or (c == t_end and inclusive)
            if record and started:
                sst[j, S_ACTIVE] = 1
                if sw - sf[j, S_PEND] > 1e-9 * (sw if sw > 1.0 else 1.0):
                    if sst[j, S_OPEN]:
                        k = ret[R_NPER]
                        per_st[k] = j
                        per_a[k] = sf[j, S_OPEN_START]
                        per_b[k] = sf[j, S_PEND]
                        ret[R_NPER] = k + 1
                    sf[j, S_OPEN_START] = sw
                    sst[j, S_OPEN] = 1
            if completed:
                sst[j, S_OPS] += 1
                if record:
                    sf[j, S_PEND] = end_w
                    sst[j, S_ACTIVE] = 0
            if j == k_st - 1:
                leave = c
                if completed:
                    lst[L_FINISHED] += 1
                    if c >= warm:
                        lst[L_FIN_WIN] += 1
                        lsf[L_LEAD] += c - rel
                    if exits:
                        ex_t[ret[R_NEXIT]] = c
                        ret[R_NEXIT] += 1
                    if stop_n > 0 and lst[L_FINISHED] == stop_n:
                        ctl[T_END] = c
                        ctl[INCLUSIVE] = 1.0
                        we = to_working(c, c_starts, c_ends, c_cum, week)
                        for q in range(k_st):
                            sf[q, S_WE] = we
                lo = rel if rel > warm else warm
                hi = c if c < ctl[T_END] else ctl[T_END]
                if hi > lo:
                    lsf[L_WIP] += hi - lo
            else:
                nxt = i - sst[j, S_BUF] - 1  # the part whose leaving the next station frees a place
                leave = c
                if nxt >= 0:
                    f = ring[sst[j + 1, S_RING] + (nxt & sst[j + 1, S_MASK])]
                    if f > c:
                        leave = f
                if completed and leave != c:
                    released = leave if always else to_working(leave, c_starts, c_ends, c_cum, week)
                    lo = end_w if end_w > w0 else w0
                    hi = released if released < w_end else w_end
                    if hi > lo:
                        sf[j, S_BLOCKED] += hi - lo
            ring[sst[j, S_RING] + (i & sst[j, S_MASK])] = leave
            sf[j, PREV] = leave
            arrive = leave
    ret[R_CODE] = PARTS_DONE


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
