"""The flow engine's plain recursion for lines of single servers without scrap (see `twin.engine.flow_kernel`).

Part i is then the i-th part at every station, so D[j][i] = max(max(D[j-1][i], D[j][i-1]) + S[j][i],
D[j+1][i - b_j - 1]) needs no event ordering at all: one pass over the parts, one over the stations inside it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from twin.engine.flow_kernel import (  # every period recorded (ALL): each station's log as the general kernel's
    DONE_ALL, EXITS, GROW_EXITS, GROW_PERIODS, INCLUSIVE, LG_AT, LG_CAP, LG_N, R_CODE, R_NEXIT, R_NPER,
    R_STATION, RECORD, REFILL, STOP_N, T_END, WARM, account_hit_part, day_of, log_room, to_calendar, to_working,
)

# per-station state: columns of `sst` (int) and `sf` (float); per line: `lst`, `lsf`
PREV, TTF, S_WORK, S_BLOCKED, S_DOWN, S_AREA, S_W0, S_WE, S_PEND, S_OPEN_START, NSF = range(11)
S_OPS, S_FPOS, S_FLEN, S_RPOS, S_RLEN, S_OPEN, S_ACTIVE, S_RING, S_MASK, S_BUF, S_FAIL, NSI = range(12)
L_RELEASED, L_FINISHED, L_FIN_WIN, L_PART, L_LOST, NLS = range(6)
# lst[L_DAY0 + d]: parts finished in calendar day d; those finished on a day past the ones the driver made room for
# are counted in lst[L_LOST] (the driver then runs again with room for every day the run reached)
L_DAY0 = NLS
L_LEAD, L_WIP, NLSF = range(3)
# pruned active periods (ctl[RECORD] == PRUNE): per station `pr` columns, per line `pr_line` entries
P_SUM, P_COUNT, P_LAST_A, P_LAST_B, P_TOP, NP = range(6)
P_LO, P_HI, P_CHAMP, P_BROKEN, P_X, NPL = range(6)
# staged periods of the single-server kernel (`_settle`): per station its count and the sweep's cursor
G_N, G_CUR, G_SEEN, NG = range(4)
STAGED = 512  # periods staged per station between two settles
SETTLE_EVERY = STAGED // 4  # parts: a part closes at most one period per station
RING_DEPTH = 2 * SETTLE_EVERY  # recording: each station's ring holds its departures since the last rebuild
# ctl[RECORD]: 0 no periods; ALL every period (found by `_rebuild_all`); PRUNE those ever the momentary bottleneck
# (`_rebuild` + `_settle`); INLINE every period, found inside the recursion (the reference the tests check against)
ALL, PRUNE, INLINE = 1.0, 2.0, 3.0
EXHAUSTED, PARTS_DONE, GROW_LOG = 5, 6, 7
INF = math.inf


@njit(cache=True, inline="always")
def _dominator(j: int, a: float, b: float, lo: float, hi: float, champ: int, open_start, pend, is_open, last_a,
               last_b) -> tuple[int, float, float, bool]:
    """A period that makes period [a, b] of station j never the momentary bottleneck, in any observation window
    holding both: one of another station that contains it and is longer (on equal length, the lower station wins
    the tie), and lies inside [lo, hi], so that clipping to such a window cannot shorten it. Returns its station,
    start, end and whether it is still open (-1, ... if none found).

    The candidates are a station's last closed period and the part known so far of its open one (which only
    grows). Only the station that dominated last time and the two neighbours of j are tried: checking every
    station would cost more than writing the period.
    """
    k_st = open_start.shape[0]
    lp = b - a
    for r in range(3):
        q = champ if r == 0 else (j - 1 if r == 1 else j + 1)
        if q < 0 or q >= k_st or q == j or (r > 0 and q == champ):
            continue
        for live in (True, False):
            if live:
                if not is_open[q]:
                    continue
                qa = open_start[q]
                qb = pend[q]
            else:
                qa = last_a[q]
                qb = last_b[q]
            if qa <= a and qb >= b and qa >= lo and qb <= hi:
                lq = qb - qa  # >= lp: rounding is monotone
                if lq > lp or (lq == lp and q < j):
                    return q, qa, qb, live
    return -1, 0.0, 0.0, False


@njit(cache=True, nogil=True)
def _settle(sa, sb, sl, keep, sg, t_safe, w0, w_end, p_sum, p_cnt, pr_line, per_st, per_a, per_b, ret) -> None:
    """Decide the staged periods that end before the sweep point: keep those that are ever the momentary
    bottleneck among the staged candidates, count the rest in p_sum/p_cnt only (`PrunedPeriods`).

    The sweep is that of `twin.analytics.sweep.momentary` (same ties), run on each station's closed periods while
    they are still in cache, and only up to `t_safe`, the earliest start of a period still open: every period that
    starts before it has closed, so the momentary bottleneck there is final. Candidates are the closed periods
    inside [w0, w_end] (others are kept and take no part). Leaving a candidate out only makes more periods look
    like bottlenecks, never fewer, so what is left out is dominated, at every instant, by a kept period the
    analysis window does not cut when it holds [P_LO, P_HI] (Roser, Nakano & Tanaka 2002 define the momentary
    bottleneck; this is only a filter in front of it).
    """
    k = sa.shape[0]
    for s in range(k):  # the newly staged: a candidate's length, or -1 (never the longest, never a beater)
        for q in range(sg[s, G_SEEN], sg[s, G_N]):
            a = sa[s, q]
            b = sb[s, q]
            sl[s, q] = b - a if a >= w0 and b <= w_end else -1.0
            keep[s, q] = 0
    x = pr_line[P_X]
    lo_used = pr_line[P_LO]
    hi_used = pr_line[P_HI]
    while x < t_safe:
        best = -1
        best_p = -1
        best_len = 0.0
        for s in range(k):
            n = sg[s, G_N]
            q = sg[s, G_CUR]
            while q < n and sa[s, q] <= x:
                q += 1
            sg[s, G_CUR] = q
            p = q - 1
            if p >= 0 and sb[s, p] > x and sl[s, p] > best_len:
                best, best_p, best_len = s, p, sl[s, p]
        if best < 0:  # nobody active: on to the next start
            nx = t_safe
            for s in range(k):
                q = sg[s, G_CUR]
                if q < sg[s, G_N] and sa[s, q] < nx:
                    nx = sa[s, q]
            x = nx
            continue
        # the first start before the best period's end of a period that beats it (as in `momentary`)
        nx = sb[best, best_p]
        for s in range(k):
            n = sg[s, G_N]
            q = sg[s, G_CUR]
            if s < best:
                while q < n and sa[s, q] < nx and sl[s, q] < best_len:
                    q += 1
            else:
                while q < n and sa[s, q] < nx and sl[s, q] <= best_len:
                    q += 1
            if q < n and sa[s, q] < nx:
                nx = sa[s, q]
        if keep[best, best_p] == 0:
            keep[best, best_p] = 1
            lo_used = min(lo_used, sa[best, best_p])
            hi_used = max(hi_used, sb[best, best_p])
        # past t_safe a period not yet closed might beat it: stop there, the next settle goes on
        x = nx if nx < t_safe else t_safe
    pr_line[P_X] = x
    pr_line[P_LO] = lo_used
    pr_line[P_HI] = hi_used
    # Periods ending by x are decided. A station whose staging could fill before the next settle gives up the
    # rest, kept (staging stays O(stations); only pruning suffers, on lines where a period stays open long).
    limit = STAGED - SETTLE_EVERY - 1
    for s in range(k):
        n = sg[s, G_N]
        m = 0
        while m < n and sb[s, m] <= x:
            m += 1
        if n - m > limit:
            m = n
        kn = ret[R_NPER]
        ps = p_sum[s]  # (locals: the log's arrays might alias these, which would chain every add through memory)
        pc = p_cnt[s]
        for q in range(m):
            a = sa[s, q]
            b = sb[s, q]
            if keep[s, q] == 0 and sl[s, q] >= 0.0 and b <= x:
                # an empty period is none once clipped to the window; adding 0.0 changes no sum
                one = 1.0 if b > a else 0.0
                ps += (b - a) * one
                pc += one
            else:
                per_st[kn] = s
                per_a[kn] = a
                per_b[kn] = b
                kn += 1
        p_sum[s] = ps
        p_cnt[s] = pc
        ret[R_NPER] = kn
        rest = n - m
        if m > 0:
            for q in range(rest):
                sa[s, q] = sa[s, q + m]
                sb[s, q] = sb[s, q + m]
                sl[s, q] = sl[s, q + m]
                keep[s, q] = keep[s, q + m]
        sg[s, G_N] = rest
        sg[s, G_SEEN] = rest
        sg[s, G_CUR] = max(sg[s, G_CUR] - m, 0)


@njit(cache=True, nogil=True, inline="always")
def _rebuild_station(j, ring, r_off, r_mask, d_proc, width, base, i_s, i_e, t_end, inclusive, pend, open_start,
                     is_open, active, out_a, oa, out_b, ob, g) -> int:
    """Station j's share of `_rebuild`: the periods parts i_s .. i_e - 1 closed, written to out_a[oa + g],
    out_b[ob + g] on; returns g after the last. Writes one place beyond it (room for it is the caller's)."""
    off = r_off[j]
    mask = r_mask[j]
    k_st = r_off.shape[0]
    offp = r_off[j - 1] if j > 0 else off
    maskp = r_mask[j - 1] if j > 0 else mask
    back = 0 if j > 0 else 1  # station 0: the part arrives when the one before it leaves
    row = j * width - base
    pe = pend[j]
    last = ring[off + ((i_e - 1) & mask)]  # a station's departures never decrease: the latest bounds them all
    if is_open[j] != 0 and (last < t_end or (i_e - 1 < i_s)):
        rj = ring[off:off + mask + 1]
        rp = ring[offp:offp + maskp + 1]
        dj = d_proc[j * width:(j + 1) * width]
        um = np.uint64(mask)
        ump = np.uint64(maskp)
        ug = np.uint64(g)
        ua = np.uint64(oa)
        ub = np.uint64(ob)
        out_a[ua + ug] = open_start[j]
        for i in range(i_s, i_e):
            p = rj[np.uint64(i - 1) & um]
            arrive = rp[np.uint64(i - back) & ump]
            start = max(arrive, p)
            end_w = start + dj[np.uint64(i - base)]
            fresh = start - pe > 1e-9 * max(start, 1.0)
            out_b[ub + ug] = pe
            out_a[ua + ug + np.uint64(1)] = start
            ug += np.uint64(fresh)
            pe = end_w
        g = np.int64(ug)
        open_start[j] = out_a[ua + ug]
        if i_e > i_s:
            active[j] = 0
    else:  # the same, part by part, for windows where a station opens its first period or the run ends
        os_ = open_start[j]
        io = is_open[j]
        ac = active[j]
        for i in range(i_s, i_e):
            p = ring[off + ((i - 1) & mask)]
            arrive = ring[offp + ((i - back) & maskp)]
            start = arrive if arrive > p else p
            end_w = start + d_proc[row + i]
            c = start + (end_w - start)
            completed = c < t_end or (c == t_end and inclusive)
            started = start < t_end or (start == t_end and inclusive)
            fresh = started & (start - pe > 1e-9 * (start if start > 1.0 else 1.0))
            out_a[oa + g] = os_
            out_b[ob + g] = pe
            g += 1 if fresh & (io != 0) else 0
            os_ = start if fresh else os_
            io = 1 if started else io
            ac = 0 if completed else (1 if started else ac)
            pe = end_w if completed else pe
        open_start[j] = os_
        is_open[j] = io
        active[j] = ac
    pend[j] = pe
    return g


@njit(cache=True, nogil=True)
def _rebuild(ring, r_off, r_mask, d_proc, width, base, i_s, i_e, t_end, inclusive, pend, open_start, is_open, active,
             sa, sb, stage_n) -> None:
    """Stage the periods that parts i_s .. i_e - 1 closed, station by station, from the departures alone.

    The recursion of `_serial_simple` only writes each departure D[j][i] into station j's ring (as deep as
    `RING_DEPTH` when recording periods, so that it holds every part since the last rebuild): start =
    max(D[j-1][i], D[j][i-1]) and completion = start + S[j][i] follow from them and the processing times, and so
    the active/idle state and the periods, exactly as the recursion would have found them part by part, by the
    same floating-point operations. Done here a station at a time, it has no dependency chain through the
    stations; and where every part of the window started and completed before the end (all but the first and last
    windows), no branch either: the period a part closes is written anyway and counted only if it closed, the
    next one's start one place further (so the open period's start is always at sa[j, stage_n[j]]).
    """
    for j in range(r_off.shape[0]):
        stage_n[j] = _rebuild_station(j, ring, r_off, r_mask, d_proc, width, base, i_s, i_e, t_end, inclusive, pend,
                                      open_start, is_open, active, sa[j], 0, sb[j], 0, stage_n[j])


@njit(cache=True, nogil=True)
def _rebuild_all(ring, r_off, r_mask, d_proc, width, base, i_s, i_e, t_end, inclusive, pend, open_start, is_open,
                 active, pool, lg) -> None:
    """`_rebuild` for a run that records every period: straight into each station's own log (its two regions of
    `pool`, see `lg`), in time order, so nothing needs regrouping afterwards. Room for i_e - i_s + 1 more entries
    in each is the caller's."""
    for j in range(r_off.shape[0]):
        lg[j, LG_N] = _rebuild_station(j, ring, r_off, r_mask, d_proc, width, base, i_s, i_e, t_end, inclusive, pend,
                                       open_start, is_open, active, pool, lg[j, LG_AT], pool,
                                       lg[j, LG_AT] + lg[j, LG_CAP], lg[j, LG_N])


@njit(cache=True, nogil=True)
def make_room(pool, lg, more) -> bool:
    """Give every station's log room for `more` entries (`flow_kernel.log_room`). False if one has no room left
    (the caller grows the pool; moves done stay done)."""
    for q in range(lg.shape[0]):
        if not log_room(pool, lg, q, more):
            return False
    return True


@njit(cache=True, nogil=True)
def _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum, week, period,
                   per_st, per_a, per_b, ex_t, pr, pr_line, sa, sb, sl, keep, sg, pool, lg) -> None:
    """run_serial for the commonest case — a round-the-clock line without failures — with the per-station state
    in flat local arrays: the same operations, in the same order, fewer of them.

    `per_a` (periods) and `ex_t` (exits) are None when not recorded: numba then compiles a version without that
    code at all (it prunes `is None` branches on arguments), which keeps the plain run as lean as it can be. So
    do `pool` (None unless every period is recorded) and `per_st` (None when they are): each mode's version
    holds only its own code.
    The recursion does not look for periods at all (that costs too much in its dependency chain): every
    SETTLE_EVERY parts, `_rebuild_all` finds the periods the parts closed from the departures in the rings and
    appends them to each station's log (in `pool`, see `make_room`); pruned, `_rebuild`
    stages them per station (`sa`, `sb`) instead and `_settle` decides them while they are still in cache.
    ctl[RECORD] == INLINE detects them inside the recursion instead, part by part (slower; the reference the tests
    compare the rebuilt periods with).
    """
    k_st = sst.shape[0]
    width = d_proc.shape[0] // k_st
    warm = ctl[WARM]
    stop_n = int(ctl[STOP_N])
    prune = ctl[RECORD] == PRUNE
    inline = ctl[RECORD] == INLINE
    p_sum = pr[:, P_SUM].copy()
    p_cnt = pr[:, P_COUNT].copy()
    room = k_st * sa.shape[1]  # what a settle may write to the log at most
    since = SETTLE_EVERY
    stage_n = sg[:, G_N].copy()
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
    built = i0  # the first part whose periods no rebuild has found yet
    stopped, t_was, inclusive_was = -1, t_end, inclusive  # the part that ended the run, and the end before it
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
            if pool is not None and since >= SETTLE_EVERY:  # (a part closes at most one period a station)
                _rebuild_all(ring, r_off, r_mask, d_proc, width, base, built, i, t_end, inclusive, pend, open_start,
                             is_open, active, pool, lg)
                built = i
                since = 0
                # room for the next SETTLE_EVERY parts' periods, the + 1 written, the open one
                if not make_room(pool, lg, SETTLE_EVERY + 2):
                    code = GROW_LOG
                    break
            if per_st is not None and prune and since >= SETTLE_EVERY:
                _rebuild(ring, r_off, r_mask, d_proc, width, base, built, i, t_end, inclusive, pend, open_start,
                         is_open, active, sa, sb, stage_n)
                built = i
                if ret[R_NPER] + room > per_a.shape[0]:
                    code = GROW_PERIODS
                    break
                sg[:, G_N] = stage_n
                t_safe = INF  # every period starting before the earliest open one has closed
                for q in range(k_st):
                    if not is_open[q]:
                        t_safe = -INF
                    elif open_start[q] < t_safe:
                        t_safe = open_start[q]
                _settle(sa, sb, sl, keep, sg, t_safe, w0[0], w_end[0], p_sum, p_cnt, pr_line, per_st, per_a, per_b,
                        ret)
                stage_n[:] = sg[:, G_N]
                since = 0
            since += 1
            if per_st is not None and inline and ret[R_NPER] + k_st > per_a.shape[0]:
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
            if per_st is not None and inline:  # (else a rebuild finds the periods from the rings)
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
                    day = L_DAY0 + day_of(c)
                    if day < lst.shape[0]:
                        lst[day] += 1
                    else:
                        lst[L_LOST] += 1
                    if c >= warm:
                        lst[L_FIN_WIN] += 1
                        lsf[L_LEAD] += c - rel
                    if ex_t is not None:
                        ex_t[ret[R_NEXIT]] = c
                        ret[R_NEXIT] += 1
                    if stop_n > 0 and lst[L_FINISHED] == stop_n:
                        stopped, t_was, inclusive_was = i, t_end, inclusive
                        t_end = c
                        inclusive = True
                        ctl[T_END] = c
                        ctl[INCLUSIVE] = 1.0
                        we = to_working(c, c_starts, c_ends, c_cum, week, period)
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
        if per_a is not None and stopped == i:  # rebuilt: what the parts so far closed, by the end they knew
            if per_st is not None and prune:
                _rebuild(ring, r_off, r_mask, d_proc, width, base, built, i + 1, t_was, inclusive_was, pend,
                         open_start, is_open, active, sa, sb, stage_n)
                built = i + 1
            if pool is not None:
                _rebuild_all(ring, r_off, r_mask, d_proc, width, base, built, i + 1, t_was, inclusive_was, pend,
                             open_start, is_open, active, pool, lg)
                built = i + 1
        i += 1
    if per_a is not None and per_st is not None and prune:
        _rebuild(ring, r_off, r_mask, d_proc, width, base, built, i, t_end, inclusive, pend, open_start, is_open,
                 active, sa, sb, stage_n)
    if per_a is not None and pool is not None:
        _rebuild_all(ring, r_off, r_mask, d_proc, width, base, built, i, t_end, inclusive, pend, open_start, is_open,
                     active, pool, lg)
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
    pr[:, P_SUM] = p_sum
    pr[:, P_COUNT] = p_cnt
    sg[:, G_N] = stage_n
    ret[R_CODE] = code


@njit(cache=True, nogil=True)
def run_serial(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, d_ttf, d_ttr,  # noqa: C901
               c_starts, c_ends, c_cum, week, period, always, per_st, per_a, per_b, ex_t, pr, pr_line, sa, sb, sl,
               keep, sg, pool, lg) -> None:
    """Parts lst[L_PART] .. n_parts - 1 of one line through every station, or until one starts past the end.

    Column c of each station's row of `d_proc` is the processing time of part base + c.
    """
    k_st = sst.shape[0]
    if always and sst[:, S_FAIL].sum() == 0:
        if ctl[RECORD] == ALL:
            if ctl[EXITS] > 0:
                _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum,
                               week, period, None, per_a, per_b, ex_t, pr, pr_line, sa, sb, sl, keep, sg, pool, lg)
            else:
                _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum,
                               week, period, None, per_a, per_b, None, pr, pr_line, sa, sb, sl, keep, sg, pool, lg)
        elif ctl[RECORD] > 0:
            if ctl[EXITS] > 0:
                _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum,
                               week, period, per_st, per_a, per_b, ex_t, pr, pr_line, sa, sb, sl, keep, sg, None, lg)
            else:
                _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum,
                               week, period, per_st, per_a, per_b, None, pr, pr_line, sa, sb, sl, keep, sg, None, lg)
        elif ctl[EXITS] > 0:
            _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum, week,
                           period, None, None, per_b, ex_t, pr, pr_line, sa, sb, sl, keep, sg, None, lg)
        else:
            _serial_simple(sst, sf, lst, lsf, ctl, ret, ring, d_proc, base, n_parts, c_starts, c_ends, c_cum, week,
                           period, None, None, per_b, None, pr, pr_line, sa, sb, sl, keep, sg, None, lg)
        return
    width = d_proc.shape[0] // k_st
    n_ttf = d_ttf.shape[0] // k_st
    n_ttr = d_ttr.shape[0] // k_st
    warm = ctl[WARM]
    record = ctl[RECORD] > 0
    prune = ctl[RECORD] == PRUNE
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
            sw = start if always else to_working(start, c_starts, c_ends, c_cum, week, period)
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
                    sf[j, TTF], rp, fp = account_hit_part(
                        sf[j], S_WORK, S_DOWN, sw, total, work, left, d_ttf, j * n_ttf + sst[j, S_FPOS], d_ttr,
                        j * n_ttr + sst[j, S_RPOS], w0, w_end)
                    sst[j, S_RPOS] = rp - j * n_ttr
                    sst[j, S_FPOS] = fp - j * n_ttf
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
                dt = to_calendar(end_w, c_starts, c_cum, week, period) - start
                c = start + (dt if dt > 0.0 else 0.0)
            completed = c < t_end or (c == t_end and inclusive)
            if record and started:
                sst[j, S_ACTIVE] = 1
                if sw - sf[j, S_PEND] > 1e-9 * (sw if sw > 1.0 else 1.0):
                    if sst[j, S_OPEN]:
                        a = sf[j, S_OPEN_START]
                        b = sf[j, S_PEND]
                        keep = True
                        if prune:  # as in _serial_simple
                            if b < pr[j, P_TOP]:
                                pr_line[P_BROKEN] = 1.0
                            pr[j, P_TOP] = -INF
                            q, qa, qb, live = _dominator(j, a, b, w0, w_end, int(pr_line[P_CHAMP]), sf[:, S_OPEN_START],
                                                         sf[:, S_PEND], sst[:, S_OPEN], pr[:, P_LAST_A], pr[:, P_LAST_B])
                            pr[j, P_LAST_A] = a
                            pr[j, P_LAST_B] = b
                            pr_line[P_CHAMP] = q if q >= 0 else j
                            if q >= 0:
                                keep = False
                                if live and qb > pr[q, P_TOP]:
                                    pr[q, P_TOP] = qb
                                pr_line[P_LO] = min(pr_line[P_LO], qa)
                                pr_line[P_HI] = max(pr_line[P_HI], qb)
                                if b > a:
                                    pr[j, P_SUM] += b - a
                                    pr[j, P_COUNT] += 1.0
                        if keep:
                            k = ret[R_NPER]
                            per_st[k] = j
                            per_a[k] = a
                            per_b[k] = b
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
                    day = L_DAY0 + day_of(c)
                    if day < lst.shape[0]:
                        lst[day] += 1
                    else:
                        lst[L_LOST] += 1
                    if c >= warm:
                        lst[L_FIN_WIN] += 1
                        lsf[L_LEAD] += c - rel
                    if exits:
                        ex_t[ret[R_NEXIT]] = c
                        ret[R_NEXIT] += 1
                    if stop_n > 0 and lst[L_FINISHED] == stop_n:
                        ctl[T_END] = c
                        ctl[INCLUSIVE] = 1.0
                        we = to_working(c, c_starts, c_ends, c_cum, week, period)
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
                    released = leave if always else to_working(leave, c_starts, c_ends, c_cum, week, period)
                    lo = end_w if end_w > w0 else w0
                    hi = released if released < w_end else w_end
                    if hi > lo:
                        sf[j, S_BLOCKED] += hi - lo
            ring[sst[j, S_RING] + (i & sst[j, S_MASK])] = leave
            sf[j, PREV] = leave
            arrive = leave
    ret[R_CODE] = PARTS_DONE


@njit(cache=True, nogil=True)
def count_periods(per_st, counts) -> None:
    """Add the periods of one chunk of the log to each station's count (`counts[j + 1]`)."""
    for k in range(per_st.shape[0]):
        counts[per_st[k] + 1] += 1


@njit(cache=True, nogil=True)
def place_periods(per_st, per_a, per_b, pos, out_a, out_b) -> None:
    """Put the periods of one chunk of the log at their stations' next places (`pos`, moved on): with the chunks
    taken in the order they were written, each station's periods stay in the order they closed."""
    for k in range(per_st.shape[0]):
        j = per_st[k]
        out_a[pos[j]] = per_a[k]
        out_b[pos[j]] = per_b[k]
        pos[j] += 1
