"""External (second) sources of assembly inputs in the flow engine, equal to `twin.engine.des_supply`.

An input with an external source has a second stock: a row of its own after the stations (and the transports), full
at the start, read by the assembly station like any feeder's stock (its admissions are the arrivals of the
supplier's units). Nobody else touches that stock, so it is not a node of the sweep (its row is `DONE`): the
assembly station runs the supplier's events itself.

- Split: the station's input entries list its inputs, then one entry per external stock; unit u of an input is
  external when floor((u+1)·share) > floor(u·share), share = NUM/DEN exactly (the Fraction the SimPy engine uses),
  u counting the units taken from both stocks, so a kit of n units takes `need` from each side.
- Re-orders: every external unit taken is shipped at once, or at the end of the supplier's stoppage (its own down
  intervals [f, r), round the clock, from its failure and repair streams), and arrives lead_s later: one lead draw
  a unit, in the order taken; the arrival time is computed as the SimPy engine's timeout, t + ((ship - t) + lead).
- Arrivals: random leads may overtake each other, so the units in transit (at most the stock's places) wait in a
  small heap per supplier keyed by (time, sequence). The sequence is the number of the start that took the unit:
  in the SimPy engine the arrival's timeout carries the station's own priority and was made when the kit was taken,
  just before the completion of that start, so at one instant arrivals and completions of the station go in the
  order of the starts that made them (an arrival before the completion of its own start).

Tie order at one instant t (the SimPy engine's phases): the station's completions and arrivals come first, in that
sequence order; a server that completes then and finds a whole kit takes it at once (`GO`), ahead of servers that
were waiting; an arrival on a stock the waiting kit is short of wakes the waiting servers, which look again after
the servers resumed at t by a freed place downstream (`DEFER`, made before) and in their old order (`WOKEN`); then
come the arrivals from feeder lines and transports, first come first served as before. (The SimPy engine wakes
the servers watching the stock that received a unit; the kernel takes all waiting servers to watch the stocks the
waiting kit is short of now, which holds since they all wait for the same kit: every arrival on what one of them
was short of made it look again.) A server that completes in the middle of the instant looks at its kit only once
the station knows whether its part and its local units came before t (it stalls otherwise, as for a neighbour's
time).

numba caches `run_kernel` by its own file only: after editing this module, clear `twin/engine/__pycache__/*.nb?`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from twin.engine import flow_kernel as fk

# integer state of a supplier: columns of `sup_i`
SP_ENTRY, SP_LOCAL, SP_EXT, SP_NUM, SP_DEN, SP_HOFF, SP_HN, SP_DOWN, SP_TAKE = range(9)
SP_L_POS, SP_L_LEN, SP_F_POS, SP_F_LEN, SP_R_POS, SP_R_LEN, NSI = range(9, 16)
# float state: the supplier's current down interval [F, R) (R is the end of the last one drawn)
SP_F, SP_R, NSF = range(3)
# refill purposes after the kernel's own (PROC ... BACK)
LEAD, SFAIL, SREPAIR = range(7, 10)


@njit(cache=True, inline="always")
def need(ist, in_prod, in_qty, in_sup, sup_i, e: int, v: int, n_var: int) -> int:
    """Units the next kit of variant v takes from input entry e: the input's quantity, split between the local
    and the external stock for an input with a supplier."""
    n = in_qty[e * n_var + v]
    code = in_sup[e]
    if code < 0 or n == 0:
        return n
    s = code >> 1
    u = ist[sup_i[s, SP_LOCAL], fk.N_FREED] + ist[sup_i[s, SP_EXT], fk.N_FREED]
    num = sup_i[s, SP_NUM]
    den = sup_i[s, SP_DEN]
    ext = ((u + n) * num) // den - (u * num) // den
    return ext if code & 1 else n - ext


@njit(cache=True, inline="always")
def _later(ta: float, sa: int, tb: float, sb: int) -> bool:
    return ta > tb or (ta == tb and sa > sb)


@njit(cache=True, _nrt=False)
def _push(sp_t, sp_seq, off: int, n: int, t: float, seq: int) -> None:
    i = n
    sp_t[off + i] = t
    sp_seq[off + i] = seq
    while i > 0:
        p = (i - 1) >> 1
        if _later(sp_t[off + p], sp_seq[off + p], sp_t[off + i], sp_seq[off + i]):
            sp_t[off + p], sp_t[off + i] = sp_t[off + i], sp_t[off + p]
            sp_seq[off + p], sp_seq[off + i] = sp_seq[off + i], sp_seq[off + p]
            i = p
        else:
            break


@njit(cache=True, _nrt=False)
def _pop(sp_t, sp_seq, off: int, n: int) -> None:
    n -= 1
    sp_t[off] = sp_t[off + n]
    sp_seq[off] = sp_seq[off + n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _later(sp_t[off + c], sp_seq[off + c], sp_t[off + c + 1], sp_seq[off + c + 1]):
            c += 1
        if _later(sp_t[off + i], sp_seq[off + i], sp_t[off + c], sp_seq[off + c]):
            sp_t[off + c], sp_t[off + i] = sp_t[off + i], sp_t[off + c]
            sp_seq[off + c], sp_seq[off + i] = sp_seq[off + i], sp_seq[off + c]
            i = c
        else:
            break


@njit(cache=True, _nrt=False)
def next_arrival(ist, in_sup, sup_i, sp_t, sp_seq, j: int) -> tuple[float, int, int]:
    """Station j's next supplier arrival: its time, sequence and supplier (INF, 0, -1 if none in transit)."""
    te = fk.INF
    seq = 0
    who = -1
    off = ist[j, fk.IN_OFF]
    for e in range(off, off + ist[j, fk.N_IN]):
        code = in_sup[e]
        if code >= 0 and code & 1:
            s = code >> 1
            if sup_i[s, SP_HN] > 0:
                h = sup_i[s, SP_HOFF]
                if who < 0 or _later(te, seq, sp_t[h], sp_seq[h]):
                    te = sp_t[h]
                    seq = sp_seq[h]
                    who = s
    return te, seq, who


@njit(cache=True, _nrt=False)
def _downs(sup_i, sup_f, d_sfail, d_srep, s: int, t: float, commit: bool) -> tuple[float, int]:
    """When a unit re-ordered at t leaves the supplier: at once, or when the stoppage covering t is over (the
    SimPy engine's _DownSchedule.advance(t, 0.0), interval for interval). The intervals over before t are dropped
    (`commit`); those after the current one are only looked at, since the next re-order may fall in the current
    one. Returns the time, or the refill purpose (as a negative time) if the draws ran out; and nothing committed
    then."""
    n_f = d_sfail.shape[0] // sup_i.shape[0]
    f = sup_f[s, SP_F]
    r = sup_f[s, SP_R]
    fp = sup_i[s, SP_F_POS]
    rp = sup_i[s, SP_R_POS]
    while r <= t:
        if fp >= sup_i[s, SP_F_LEN]:
            return -1.0, SFAIL
        if rp >= sup_i[s, SP_R_LEN]:
            return -1.0, SREPAIR
        f = r + d_sfail[s * n_f + fp]
        r = f + d_srep[s * n_f + rp]
        fp += 1
        rp += 1
    if commit:
        sup_f[s, SP_F] = f
        sup_f[s, SP_R] = r
        sup_i[s, SP_F_POS] = fp
        sup_i[s, SP_R_POS] = rp
    if t < f:
        return t, -1
    t = r
    while True:
        if fp >= sup_i[s, SP_F_LEN]:
            return -1.0, SFAIL
        if rp >= sup_i[s, SP_R_LEN]:
            return -1.0, SREPAIR
        f = r + d_sfail[s * n_f + fp]
        r = f + d_srep[s * n_f + rp]
        fp += 1
        rp += 1
        if t < f:
            return t, -1
        if r > t:
            t = r


@njit(cache=True, _nrt=False)
def draws_short(sup_i, sup_f, d_sfail, d_srep, s: int, n_ext: int, t: float) -> int:
    """The refill purpose a take of n_ext external units at t would run out of (-1: none), checked before anything
    is touched."""
    if n_ext == 0:
        return -1
    if sup_i[s, SP_L_POS] + n_ext > sup_i[s, SP_L_LEN]:
        return LEAD
    if sup_i[s, SP_DOWN] == 0:
        return -1
    return _downs(sup_i, sup_f, d_sfail, d_srep, s, t, False)[1]


@njit(cache=True, _nrt=False)
def reorder(sup_i, sup_f, sp_t, sp_seq, d_slead, d_sfail, d_srep, s: int, t: float, seq: int) -> None:
    """An external unit taken at t by start number seq: ship it and put its arrival in transit."""
    ship = t if sup_i[s, SP_DOWN] == 0 else _downs(sup_i, sup_f, d_sfail, d_srep, s, t, True)[0]
    n_l = d_slead.shape[0] // sup_i.shape[0]
    lead = d_slead[s * n_l + sup_i[s, SP_L_POS]]
    sup_i[s, SP_L_POS] += 1
    _push(sp_t, sp_seq, sup_i[s, SP_HOFF], sup_i[s, SP_HN], t + ((ship - t) + lead), seq)
    sup_i[s, SP_HN] += 1


@njit(cache=True, _nrt=False)
def arrive(ist, fst, ctl, ar_t, sup_i, sp_t, sp_seq, s: int, t: float, warm: float) -> None:
    """The supplier's next unit in transit arrives in its stock at t."""
    _pop(sp_t, sp_seq, sup_i[s, SP_HOFF], sup_i[s, SP_HN])
    sup_i[s, SP_HN] -= 1
    row = sup_i[s, SP_EXT]
    n = ist[row, fk.N_ADM] + 1
    ist[row, fk.N_ADM] = n
    ar_t[ist[row, fk.AR_OFF] + (n & ist[row, fk.AR_MASK])] = t
    fst[row, fk.LAST_ADM] = t
    fst[row, fk.AREA] += fk._tail(ctl[fk.T_END], t, warm)


@njit(cache=True, _nrt=False)
def kit_now(ist, ar_t, in_prod, in_qty, in_sup, sup_i, j: int, v: int, present: bool, n_var: int,
            t: float) -> bool:
    """Whether the next kit (variant v) is whole at t in the middle of the station's own events of that instant:
    its part came before t, each local unit before t (feeder lines and transports deliver at t only after the
    station's events), each external unit among the arrivals already in the stock."""
    if not present:
        return False
    off = ist[j, fk.IN_OFF]
    for e in range(off, off + ist[j, fk.N_IN]):
        q = need(ist, in_prod, in_qty, in_sup, sup_i, e, v, n_var)
        if q == 0:
            continue
        p = in_prod[e]
        k = ist[p, fk.N_FREED] + q
        if ist[p, fk.N_ADM] < k:
            return False
        code = in_sup[e]
        if not (code >= 0 and code & 1) and ar_t[ist[p, fk.AR_OFF] + (k & ist[p, fk.AR_MASK])] >= t:
            return False
    return True


@njit(cache=True, _nrt=False)
def kit_known(ist, fst, ar_t, in_prod, in_qty, in_sup, sup_i, j: int, v: int, main_det: bool, present: bool,
              n_var: int, t: float) -> bool:
    """Whether `kit_now` can tell yet: the part is known to have come before t or not (`main_det`), and so is
    each local unit the kit needs (its producer is done, or its next admission is known not to come before t)."""
    if not main_det:
        return False
    if not present:
        return True
    off = ist[j, fk.IN_OFF]
    for e in range(off, off + ist[j, fk.N_IN]):
        code = in_sup[e]
        if code >= 0 and code & 1:
            continue
        q = need(ist, in_prod, in_qty, in_sup, sup_i, e, v, n_var)
        p = in_prod[e]
        if q > 0 and ist[p, fk.N_ADM] < ist[p, fk.N_FREED] + q and ist[p, fk.DONE] == 0 and fst[p, fk.LAST_ADM] < t:
            return False
    return True


@njit(cache=True, _nrt=False)
def short_of(ist, in_prod, in_qty, in_sup, sup_i, s: int, e_ext: int, v: int, n_var: int) -> bool:
    """Whether the waiting kit (variant v) lacks units of supplier s's stock: its waiting servers watch it."""
    q = need(ist, in_prod, in_qty, in_sup, sup_i, e_ext, v, n_var)
    row = sup_i[s, SP_EXT]
    return ist[row, fk.N_ADM] - ist[row, fk.N_FREED] < q


@njit(cache=True, _nrt=False)
def wake(ist, fst, idle_srv, idle_t, j: int, soff: int, m: int, t: float) -> None:
    """An arrival on a stock the waiting kit is short of wakes the servers waiting at the front of the free queue:
    they look again after the servers resumed at t and those woken before, keeping their order."""
    w = ist[j, fk.IDLE_CNT] - ist[j, fk.DEFER]
    if w <= 0:
        return
    cnt = ist[j, fk.IDLE_CNT]
    for q in range(w):
        h = ist[j, fk.IDLE_HEAD]
        s = idle_srv[soff + h]
        f = idle_t[soff + h]
        h = (h + 1) % m
        ist[j, fk.IDLE_HEAD] = h
        k = (h + cnt - 1) % m
        idle_srv[soff + k] = s
        idle_t[soff + k] = f
    ist[j, fk.DEFER] += w
    ist[j, fk.WOKEN] += w
    fst[j, fk.DEFER_T] = t


@njit(cache=True, _nrt=False)
def first_in_line(ist, fst, ar_t, in_prod, in_qty, in_sup, sup_i, j: int, v: int, present: bool, n_var: int,
                  t: float) -> int:
    """Where a server that completed at t joins the free queue (`before` for `_idle`): at its head, to take the
    kit at once, if the kit is whole now; else ahead of the servers resumed or woken at t."""
    if kit_now(ist, ar_t, in_prod, in_qty, in_sup, sup_i, j, v, present, n_var, t):
        ist[j, fk.GO] = 1
        fst[j, fk.DEFER_T] = t
        return ist[j, fk.IDLE_CNT]
    return ist[j, fk.DEFER]


@njit(cache=True, inline="always")
def took_head(ist, j: int) -> None:
    """The head of the free queue starts: it leaves the blocks of resumed and woken servers if it was in them."""
    ist[j, fk.GO] = 0
    if ist[j, fk.IDLE_CNT] <= ist[j, fk.DEFER]:
        ist[j, fk.DEFER] -= 1
    if ist[j, fk.IDLE_CNT] <= ist[j, fk.WOKEN]:
        ist[j, fk.WOKEN] -= 1


@njit(cache=True, inline="always")
def take_count(ist, in_prod, in_qty, in_sup, sup_i, e: int, v: int, n_var: int) -> int:
    """Units a starting kit takes from entry e. The local side comes first and settles the split (the external
    side's share is kept in SP_TAKE), since taking local units moves the count the split is computed from."""
    code = in_sup[e]
    if code < 0:
        return in_qty[e * n_var + v]
    s = code >> 1
    if code & 1:
        return sup_i[s, SP_TAKE]
    n = in_qty[e * n_var + v]
    local = need(ist, in_prod, in_qty, in_sup, sup_i, e, v, n_var)
    sup_i[s, SP_TAKE] = n - local
    return local


@njit(cache=True, _nrt=False)
def check_draws(ist, in_prod, in_qty, in_sup, sup_i, sup_f, d_sfail, d_srep, ret, j: int, v: int, n_var: int,
                t: float) -> bool:
    """Whether a kit started at t has the suppliers' draws it needs; if not, what to refill is in `ret`."""
    off = ist[j, fk.IN_OFF]
    for e in range(off, off + ist[j, fk.N_IN]):
        code = in_sup[e]
        if code >= 0 and code & 1:
            s = code >> 1
            got = draws_short(sup_i, sup_f, d_sfail, d_srep, s,
                              need(ist, in_prod, in_qty, in_sup, sup_i, e, v, n_var), t)
            if got >= 0:
                ret[fk.R_CODE] = fk.REFILL
                ret[fk.R_STATION] = s
                ret[fk.R_PURPOSE] = got
                return False
    return True


def exact_share(share: float) -> tuple[int, int]:
    """The supplier's share as the SimPy engine holds it (Fraction(repr(share)).limit_denominator(10**9))."""
    from fractions import Fraction

    f = Fraction(repr(share)).limit_denominator(10**9)
    return f.numerator, f.denominator


def empty_heap(places: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Storage for the suppliers' units in transit: at most their places each, one after the other."""
    size = max(int(sum(places)), 1)
    return np.zeros(size), np.zeros(size, dtype=np.int64)
