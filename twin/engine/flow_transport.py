"""Transport links in the flow engine: vehicles that carry a line's output in batches to an assembly stock.

A transport is one more node of the sweep in `twin.engine.flow_kernel`, with a row in the station arrays for the
stock it fills (so the assembly station reads the stock as it reads a feeder line's) and its vehicles in small
arrays of their own. Its events are those of the SimPy engine's `_vehicle` process, in the same order:

- departure: an idle vehicle leaves as soon as the dock holds a batch (at max(the batch's last arrival, the time the
  vehicle came back)) or, on a timetable, at the next departure time nobody has taken, with what came to the dock
  before it; the load's dock places are free at once; travel times are drawn in departure order from the
  transport's "travel" stream;
- arrival: the vehicle offers its parts to the stock one by one, each admitted at once if there is a place;
  otherwise it queues (first come, first served among vehicles) until the assembly station frees a place;
- grant: a freed place goes to the queue's first vehicle; that vehicle goes on offering after the assembly
  station's other events of that instant (the SimPy engine resumes it with its own, later priority), and joins the
  back of the queue if the stock is full again;
- completion: the last part admitted, the return time is drawn from the "repair" stream (in order of completion),
  and the vehicle is idle again when it is back.

At one instant the SimPy engine runs the assembly station's events (frees, grants) before the vehicles', arrivals
before resumed vehicles (their events were scheduled earlier), and the dock's producer after the vehicles (it is
further upstream); the sweep keeps that order and waits for a neighbour whenever one of its events could still
come first. Vehicles are interchangeable, so only counts and times are kept, not which vehicle made which trip.

Positions within an instant. The assembly station's starts of an instant are interleaved with its transports'
vehicle events: a vehicle's parts that complete a kit start the station at once (its event priority is the
smaller), before the next vehicle is resumed, and the places that start frees go to the queues as they are then.
The vehicles of all the station's transports share one priority, so the SimPy engine runs them in the order their
events were made: arrivals first (made at their departures), then resumed vehicles in the order their places were
freed, whichever transport they belong to. Each vehicle event has a position in that order (`POS0`, `ARR0`,
`came_before`): an arrival its trip, a resumed vehicle the station's count of freed places at its grant. Each
admission to a stock records the position of its event (`ring_pos`, RP_ADM); each start of the station the position it
comes right after, the latest of its kit's admissions at that instant and of its previous start's (starts keep
their order), and each place it frees that position (RP_FREE) and the count (RP_SEQ). A vehicle event then
finds a place freed at its instant only if the start came before it, and a place freed after it goes to the queue
only after it: the order is the SimPy engine's, however far the sweep runs one transport ahead of another.

Arrivals of several transports at one instant (fixed travel times) go in the order the SimPy engine made their
events: by the instant their maker ran, then by the maker's own place in that instant, and so back. An arrival is
made by its departure's event: the vehicle's return (its batch was waiting), its timetable's tick, or a wake-up by
the dock; a return by the event that unloaded the last part (an arrival, or a resumption after a grant), a tick by
the return or the tick before it. So each vehicle carries the key of its next event (`tv_pkey`): the instants of
its makers, latest first, as far back as `KEY_LEN`, then what began the chain: a grant (`END_GRANT` plus the count
of the freed place: resumptions were made in that order), the vehicle's start (`END_START` plus its index: the order
the SimPy engine made the vehicles), or a part reaching the dock. A part that had waited for its place went in with
the departure that freed it, which made the wake-up; one that went in as it finished went in with its station's
completion, which runs after every vehicle event of its instant (`END_DOCK`) and was made when the part started
(`dock_admission`, `_leaving_key`). Two arrivals of one transport go in the order of their trips, of two transports
in the order of their keys (`came_before`), and in the transports' order if the keys are equal, which only chains
deeper than `KEY_LEN` give. A key goes with its arrival's position wherever that is kept (`ring_key` for admissions
and freed places, `e_key` for a start); vehicles back (or idle) at one instant take the batch, or the next tick, in
the order of their returns' keys. Only transports of fixed travel times keep keys (`TR_FIXED`; the lines filling
their docks run in the kernel's general loop, which records how each part went in): random times never put two
events of theirs, or one of theirs and another's, on one instant.

A dock shared by several lines is a row of its own. Its lines have no place of their own: a finished part waits
on its server until the transport admits it, in the order the parts were offered (their finishing times; a line's
own in its order), at once if the dock has a place, else when a departure frees one (the dock's blocked queue).
Offers from two lines at the very same instant go in the order the transport lists the lines (the SimPy engine
ranks the event priorities of their last stations so).

numba caches `run_kernel` by its own file only: after editing this module, clear `twin/engine/__pycache__/*.nb?`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from twin.engine import flow_kernel as fk
from twin.engine import flow_supply as fsup

# integer state of a transport: columns of `tst`
TR_ROW, TR_PROD, TR_CONS, TR_V, TR_BATCH, TR_VOFF, TR_TRIPS, TR_TICKET = range(8)
TR_DELIVERED, TR_L_POS, TR_L_LEN, TR_B_POS, TR_B_LEN, TR_NPROD, TR_POFF, TR_LAST_V, TR_FIXED, NTI = range(8, 18)
# (TR_LAST_V: the vehicle that left last, -1 before the first departure; TR_FIXED: 1 if its travel and return
# times are fixed: only then do its events fall on others' instants and need their keys)
# float state: vehicle-seconds inside the window per state, in VEHICLE_STATES order
TF_LOADED, TF_UNLOADING, TF_RETURNING, TF_IDLE, TF_EVERY, TF_NEXT_TICK, NTF = range(7)  # EVERY: 0 = full batches
# what a vehicle is doing (`tv_state`); `tv_key` is the time of its next event, `tv_seq` orders equal times
V_IDLE, V_LOADED, V_UNLOAD, V_BLOCKED, V_RESUME, V_RETURN = range(6)
# what a step tells the sweep
STEP_STALLED, STEP_PROGRESS, STEP_DONE, STEP_RETURN = range(4)
_INF = np.inf
# Where an event stands among the vehicle events of one instant at one assembly station (see "positions" above):
# before all of them (POS0), an arrival (ARR0 + its trip x ARR_SPAN + its transport), or a vehicle resumed by a
# freed place (the consumer's count of its freed places, from 0 up).
POS0 = -(1 << 62)
ARR0 = -(1 << 61)
ARR_SPAN = 1 << 10  # more than the transports of a scenario
# columns of `ring_pos`, a row per place of the links' rings (as `ar_t`, `fr_t`): the position of the admission's
# event; the count and the position of the start that freed the place; for a dock's place, whether its part had
# waited for it (it went in with the departure that freed the place, not with its completion)
RP_ADM, RP_SEQ, RP_FREE, RP_WAITED, NRP = range(5)
# An event's key (see "arrivals of several transports" above): the instants of its makers, latest first, then the
# end of its chain, then zeros. Six entries decided every tie of the 200 stress networks; two more to spare.
KEY_LEN = 8
# columns of `ring_key`: the keys of RP_ADM's and RP_FREE's events (for a dock's place, of its part's completion)
RK_ADM, RK_FREE, NRK = 0, KEY_LEN, 2 * KEY_LEN
# What ends a chain, below every instant: a grant (plus its count) or a start (plus the vehicle's or station's index),
# exact as floats up to 2**52; and a station's completion's place among the events of its instant, after them all.
END_GRANT = -(2.0 ** 52)
END_START = -(2.0 ** 53)
END_DOCK = np.inf


@njit(cache=True, inline="always")
def account_state(tft, i: int, state: int, since: float, t: float, warm: float, t_end: float) -> None:
    """Add a vehicle's time in `state` from `since` to `t`, clipped to the window, as the SimPy engine does."""
    col = TF_IDLE
    if state == V_LOADED:
        col = TF_LOADED
    elif state == V_UNLOAD or state == V_BLOCKED or state == V_RESUME:
        col = TF_UNLOADING
    elif state == V_RETURN:
        col = TF_RETURNING
    lo = since if since > warm else warm
    hi = t if t < t_end else t_end
    if hi > lo:
        tft[i, col] += hi - lo


@njit(cache=True, nogil=True, _nrt=False)
def transport_step(i, tst, tft, tv_state, tv_key, tv_seq, tv_left, tv_since, d_lead, d_back,  # noqa: C901
                   tr_prod, ist, fst, ctl, ret, ar_t, fr_t, srv_c, srv_st, blk_srv, ring_pos, ring_key,
                   tv_pkey) -> int:
    """Run transport i's events in time order until it passes the horizon or must wait for a neighbour."""
    row = tst[i, TR_ROW]
    prod = tst[i, TR_PROD]
    cons = tst[i, TR_CONS]
    v0 = tst[i, TR_VOFF]
    nv = tst[i, TR_V]
    batch = tst[i, TR_BATCH]
    n_lead = d_lead.shape[0] // tst.shape[0]
    n_back = d_back.shape[0] // tst.shape[0]
    warm = ctl[fk.WARM]
    slots = ist[row, fk.SLOTS]
    keyed = tst[i, TR_FIXED] == 1  # (random times: no event falls on another's instant, keys decide nothing)
    progressed = False
    while True:
        t_end = ctl[fk.T_END]
        inclusive = ctl[fk.INCLUSIVE] > 0
        if tst[i, TR_L_POS] >= tst[i, TR_L_LEN] or tst[i, TR_B_POS] >= tst[i, TR_B_LEN]:
            ret[fk.R_CODE] = fk.REFILL
            ret[fk.R_STATION] = i
            ret[fk.R_PURPOSE] = fk.TRAVEL if tst[i, TR_L_POS] >= tst[i, TR_L_LEN] else fk.BACK
            return STEP_RETURN
        # -- scan the vehicles: the queue's head, the next arrival (or unloading), resume, return; the idle ones
        head = -1
        arr = -1
        res = -1
        back = -1
        idle = -1
        for v in range(v0, v0 + nv):
            s = tv_state[v]
            if s == V_BLOCKED:
                if head < 0 or tv_seq[v] < tv_seq[head]:
                    head = v
            elif s == V_LOADED or s == V_UNLOAD:
                if arr < 0 or tv_key[v] < tv_key[arr] or (tv_key[v] == tv_key[arr] and tv_seq[v] < tv_seq[arr]):
                    arr = v
            elif s == V_RESUME:
                if res < 0 or tv_key[v] < tv_key[res] or (tv_key[v] == tv_key[res] and tv_seq[v] < tv_seq[res]):
                    res = v
            # vehicles back (or idle since) one instant go on in the order of their returns' events: the first
            # takes the batch, or the next tick
            elif s == V_RETURN:
                if back < 0 or tv_key[v] < tv_key[back] or (tv_key[v] == tv_key[back] and keyed
                                                             and key_less(tv_pkey, v, back)):
                    back = v
            elif idle < 0 or tv_key[v] < tv_key[idle] or (tv_key[v] == tv_key[idle] and keyed
                                                           and key_less(tv_pkey, v, idle)):
                idle = v
        # -- a freed place of the stock for the queue's head
        tg = _INF
        g_pos = POS0
        g_slot = -1
        lb_g = _INF
        g_unknown = False
        if head >= 0:
            idx = ist[row, fk.N_ADM] + 1 - slots
            if idx <= 0:
                tg = tv_key[head]
            elif ist[row, fk.N_FREED] >= idx:
                g_slot = ist[row, fk.FR_OFF] + (idx & ist[row, fk.FR_MASK])
                f = fr_t[g_slot]
                tg = f if f > tv_key[head] else tv_key[head]
                g_pos = ring_pos[g_slot, RP_FREE]
            elif ist[cons, fk.DONE] == 0:
                g_unknown = True
                lb_g = fst[row, fk.LAST_FREED]
        # -- a departure: an idle vehicle and a whole batch at the dock; or, on a timetable, the tick an idle
        #    vehicle waits for, with what came to the dock before it (the lines' admissions at the tick come after)
        td = _INF
        lb_d = _INF
        d_unknown = False
        n_load = batch
        woken = True  # a full batch's departure: made by the dock's wake-up, not by the vehicle's return
        x_slot = -1  # the dock's place of the part that made the batch whole
        every = tft[i, TF_EVERY]
        if idle >= 0 and every > 0.0:
            td = tv_key[idle]
            n_load = 0
            k = ist[prod, fk.N_FREED] + 1
            while n_load < batch and k <= ist[prod, fk.N_ADM] and ar_t[ist[prod, fk.AR_OFF] + (k & ist[prod, fk.AR_MASK])] < td:
                n_load += 1
                k += 1
            if n_load < batch and k > ist[prod, fk.N_ADM] and ist[prod, fk.DONE] == 0 and fst[prod, fk.LAST_ADM] < td:
                d_unknown = True
                lb_d = fst[prod, fk.LAST_ADM]
        elif idle >= 0:
            need = ist[prod, fk.N_FREED] + batch
            if ist[prod, fk.N_ADM] >= need:
                x_slot = ist[prod, fk.AR_OFF] + (need & ist[prod, fk.AR_MASK])
                x = ar_t[x_slot]
                td = x if x > tv_key[idle] else tv_key[idle]
                woken = x >= tv_key[idle]  # (at the instant it is back: see `_leaving_key`)
            elif ist[prod, fk.DONE] == 0:
                d_unknown = True
                a = fst[prod, fk.LAST_ADM]
                lb_d = a if a > tv_key[idle] else tv_key[idle]
        # -- a dock fed by several lines: their finished parts offered in time order (a line's own in the order it
        #    finished them), each admitted when the dock has a place: at once, or when a departure frees one
        tm = _INF
        lb_m = _INF
        m_unknown = False
        m_from = -1
        m_srv = -1
        m_rank = 0
        c_next = _INF
        if tst[i, TR_NPROD] > 1:
            for k in range(tst[i, TR_POFF], tst[i, TR_POFF] + tst[i, TR_NPROD]):
                p = tr_prod[k]
                q = ist[p, fk.N_FREED] - ist[p, fk.N_ADM]  # its parts granted but not yet gone
                if q < ist[p, fk.BLK_CNT]:
                    m = ist[p, fk.M]
                    so = ist[p, fk.SOFF]
                    srv = so + blk_srv[so + (ist[p, fk.BLK_HEAD] + q) % m]
                    c = srv_c[srv]
                    if c < c_next:  # equal times: the first line of the list, as the SimPy engine ranks them
                        c_next = c
                        m_from = p
                        m_srv = srv
                        m_rank = k - tst[i, TR_POFF]
                elif ist[p, fk.DONE] == 0:
                    m_unknown = True
                    lb_m = min(lb_m, fst[p, fk.LAST_ADM])
            if m_from >= 0:
                idx = ist[prod, fk.N_ADM] + 1 - ist[prod, fk.SLOTS]
                if idx <= 0:
                    tm = c_next
                elif ist[prod, fk.N_FREED] >= idx:
                    f = fr_t[ist[prod, fk.FR_OFF] + (idx & ist[prod, fk.FR_MASK])]
                    tm = c_next if c_next > f else f
                # else: full until one of this transport's own departures
        ta = tv_key[arr] if arr >= 0 else _INF
        tr = tv_key[res] if res >= 0 else _INF
        tb = tv_key[back] if back >= 0 else _INF
        t = min(tg, td, ta, tr, tb, tm)
        # the assembly station's events of an instant come before the vehicles' (a free at t may still come);
        # the dock's producers' come after them (an admission at t can only start a departure later in t)
        if (g_unknown and lb_g <= t) or (d_unknown and lb_d < t) or (m_unknown and lb_m <= t):
            nxt = t if t < lb_g else lb_g
            nxt = nxt if nxt < lb_d else lb_d
            nxt = nxt if nxt < lb_m else lb_m
            _publish(ist, fst, row, prod, nxt, tst[i, TR_NPROD] == 1)
            return STEP_PROGRESS if progressed else STEP_STALLED
        if t > t_end or (t == t_end and not inclusive):
            ist[row, fk.DONE] = 1
            return STEP_DONE
        progressed = True
        if tm == t and min(tg, td, ta, tr, tb) > t:
            # ------------------------------------------------------------ a line's part admitted to the dock
            n = ist[prod, fk.N_ADM] + 1
            ist[prod, fk.N_ADM] = n
            ar_t[ist[prod, fk.AR_OFF] + (n & ist[prod, fk.AR_MASK])] = t
            if keyed:
                dock_admission(ring_pos, ring_key, ist[prod, fk.AR_OFF] + (n & ist[prod, fk.AR_MASK]), t != c_next,
                               m_rank, srv_st[m_srv], m_from)
            fst[prod, fk.LAST_ADM] = t
            fst[prod, fk.AREA] += fk._tail(t_end, t, warm)
            fk._freed(ist, fst, fr_t, m_from, t)  # the line's part may go: its admission time is t
        elif tg == t and not ((ta == t and not came_before(g_pos, ring_key, g_slot, RK_FREE,
                                                           ARR0 + tv_seq[arr] * ARR_SPAN + i, tv_pkey, arr, 0))
                              or (tr == t and tv_seq[res] <= g_pos)):
            # ------------------------------------------------------------ grant: one part of the head goes in
            #    with the start that freed its place, after the vehicle events of t that came before that start
            #    (they may join the queue first); the head is resumed in the order the places were freed
            _admit(ist, fst, ctl, tst, i, row, ar_t, ring_pos, ring_key, t, warm, g_pos, True, ring_key, g_slot,
                   RK_FREE)
            tv_left[head] -= 1
            tv_state[head] = V_RESUME
            tv_key[head] = t
            tv_seq[head] = ring_pos[g_slot, RP_SEQ] if g_slot >= 0 else 0
        elif tb == t:
            # ------------------------------------------------------------ back at the dock
            account_state(tft, i, V_RETURN, tv_since[back], t, warm, t_end)
            tv_state[back] = V_IDLE
            tv_key[back] = t if every == 0.0 else claim_tick(tft, i, t)
            if keyed and every > 0.0:  # the return makes the tick
                _push(tv_pkey, back, t)
            tv_since[back] = t
        elif td == t and n_load == 0:
            # ------------------------------------------------------------ a tick with an empty dock: the next one
            tv_key[idle] = claim_tick(tft, i, t)
            if keyed:
                _push(tv_pkey, idle, t)
        elif td == t:
            # ------------------------------------------------------------ departure with a batch
            for q in range(n_load):
                fst[prod, fk.AREA_OUT] -= fk._tail(t_end, t, warm)
                fk._freed(ist, fst, fr_t, prod, t)
            account_state(tft, i, V_IDLE, tv_since[idle], t, warm, t_end)
            lead = d_lead[i * n_lead + tst[i, TR_L_POS]]
            tst[i, TR_L_POS] += 1
            if keyed:
                if every == 0.0 and woken:
                    _leaving_key(tv_state, tv_key, tv_pkey, idle, tst[i, TR_LAST_V], t, ring_pos, ring_key, x_slot)
                _push(tv_pkey, idle, t)  # the arrival, made by the departure's event
            tv_state[idle] = V_LOADED
            tv_key[idle] = t + lead
            tst[i, TR_LAST_V] = idle
            tv_seq[idle] = tst[i, TR_TRIPS]
            tst[i, TR_TRIPS] += 1
            tv_left[idle] = n_load
            tv_since[idle] = t
        else:
            # ------------------------------------------------------------ offering parts: arrived, or resumed
            v = arr if ta == t else res
            pos = ARR0 + tv_seq[v] * ARR_SPAN + i if ta == t else tv_seq[v]
            if tv_state[v] == V_LOADED:
                account_state(tft, i, V_LOADED, tv_since[v], t, warm, t_end)
                tv_state[v] = V_UNLOAD
                tv_since[v] = t
            wait = False
            while tv_left[v] > 0:
                idx = ist[row, fk.N_ADM] + 1 - slots
                if idx <= 0:
                    room = True
                elif ist[row, fk.N_FREED] >= idx:
                    # a place freed at t by a start that came after this event (its own parts, or a later
                    # vehicle's, completed the kit) is not free yet: the vehicle joins the queue first
                    slot = ist[row, fk.FR_OFF] + (idx & ist[row, fk.FR_MASK])
                    f = fr_t[slot]
                    room = f < t or (f == t and came_before(ring_pos[slot, RP_FREE], ring_key, slot, RK_FREE, pos,
                                                            tv_pkey, v, 0))
                elif ist[cons, fk.DONE] == 0 and fst[row, fk.LAST_FREED] <= t:
                    wait = True  # the assembly station may still free a place at t, before this offer
                    break
                else:
                    room = False
                if not room:
                    break
                _admit(ist, fst, ctl, tst, i, row, ar_t, ring_pos, ring_key, t, warm, pos, keyed, tv_pkey, v, 0)
                tv_left[v] -= 1
            if wait:  # it keeps its state and place (arriving or resumed at t) and goes on next time
                _publish(ist, fst, row, prod, t, tst[i, TR_NPROD] == 1)
                return STEP_PROGRESS
            if tv_left[v] > 0:
                tv_state[v] = V_BLOCKED
                tv_key[v] = t
                tv_seq[v] = tst[i, TR_TICKET]
                tst[i, TR_TICKET] += 1
            else:
                account_state(tft, i, V_UNLOAD, tv_since[v], t, warm, t_end)
                if keyed:
                    if ta != t:  # unloaded by a grant's resumption: that begins the return's chain
                        _chain_end(tv_pkey, v, t, END_GRANT + tv_seq[v])
                    _push(tv_pkey, v, t)  # the return, made by this event
                back_s = d_back[i * n_back + tst[i, TR_B_POS]]
                tst[i, TR_B_POS] += 1
                tv_state[v] = V_RETURN
                tv_key[v] = t + back_s
                tv_since[v] = t


@njit(cache=True, inline="always")
def came_before(e: int, e_keys, e_row: int, e_col: int, pos: int, keys, row: int, col: int) -> bool:
    """Whether a start at position e of an instant came before the vehicle event at `pos`; their keys (for two
    arrivals) are e_keys[e_row, e_col:] and keys[row, col:].

    Resumed vehicles go in the order their places were freed, after every arrival; a transport's arrivals in the
    order of their trips, two transports' in the order of their keys; a start made possible by an event's own parts
    comes after it."""
    if e < ARR0 or e >= 0 or pos < ARR0 or pos >= 0:
        return e < pos
    te = (e - ARR0) % ARR_SPAN
    tp = (pos - ARR0) % ARR_SPAN
    if te == tp:
        return e < pos
    for k in range(KEY_LEN):
        a = e_keys[e_row, e_col + k]
        b = keys[row, col + k]
        if a != b:
            return a < b
    return te < tp


@njit(cache=True, _nrt=False)
def start_position(ist, fst, ar_t, ring_pos, ring_key, e_key, in_prod, in_qty, in_sup, sup_i, j: int, v: int,
                   n_var: int, t: float) -> None:
    """Assembly station j starts a kit of variant v at t: the vehicle event of that instant it comes right after
    (`E_LAST`), the one whose parts completed the kit or its previous start's (starts keep their order). A vehicle's
    offer in an event before it finds no place this start frees."""
    e = ist[j, fk.E_LAST] if fst[j, fk.E_T] == t else POS0
    off = ist[j, fk.IN_OFF]
    for k in range(off, off + ist[j, fk.N_IN]):
        p = in_prod[k]
        nq = fsup.take_count(ist, in_prod, in_qty, in_sup, sup_i, k, v, n_var)
        if nq > 0:
            slot = ist[p, fk.AR_OFF] + ((ist[p, fk.N_FREED] + nq) & ist[p, fk.AR_MASK])
            if ar_t[slot] == t and came_before(e, e_key, j, 0, ring_pos[slot, RP_ADM], ring_key, slot, RK_ADM):
                e = ring_pos[slot, RP_ADM]
                copy_key(e_key, j, 0, ring_key, slot, RK_ADM)
    ist[j, fk.E_LAST] = e
    fst[j, fk.E_T] = t


@njit(cache=True, _nrt=False)
def claim_tick(tft, i: int, now: float) -> float:
    """An idle vehicle of a timetable takes the next departure nobody has taken; the time it wakes, computed as the
    SimPy engine's timeout (now + (tick - now))."""
    every = tft[i, TF_EVERY]
    tick = np.ceil(now / every) * every
    if tft[i, TF_NEXT_TICK] > tick:
        tick = tft[i, TF_NEXT_TICK]
    tft[i, TF_NEXT_TICK] = tick + every
    return now + (tick - now)


@njit(cache=True, inline="always")
def _admit(ist, fst, ctl, tst, i: int, row: int, ar_t, ring_pos, ring_key, t: float, warm: float, pos: int,
           keep: bool, keys, k_row: int, k_col: int) -> None:
    """A part goes from a vehicle into the stock at t, in the vehicle event at `pos` of that instant; if that is an
    arrival and `keep`, its key keys[k_row, k_col:] goes with it."""
    n = ist[row, fk.N_ADM] + 1
    ist[row, fk.N_ADM] = n
    slot = ist[row, fk.AR_OFF] + (n & ist[row, fk.AR_MASK])
    ar_t[slot] = t
    ring_pos[slot, RP_ADM] = pos
    if keep and ARR0 <= pos < 0:
        copy_key(ring_key, slot, RK_ADM, keys, k_row, k_col)
    fst[row, fk.LAST_ADM] = t
    fst[row, fk.AREA] += fk._tail(ctl[fk.T_END], t, warm)
    if t >= warm:
        tst[i, TR_DELIVERED] += 1


@njit(cache=True, inline="always")
def dock_admission(ring_pos, ring_key, slot: int, waited: bool, rank: int, started: float, j: int) -> None:
    """A finished part of station j goes into a dock's place `slot`: whether it had waited for it (it went in with
    the departure that freed it), else the key of its station's completion, which let it in: the station's rank
    among the dock's lines (their event priorities), the part's start (the completion was made then), and the
    station, in the order the SimPy engine made them (what began a chain that went back that far)."""
    ring_pos[slot, RP_WAITED] = 1 if waited else 0
    ring_key[slot, RK_ADM] = rank
    ring_key[slot, RK_ADM + 1] = started
    ring_key[slot, RK_ADM + 2] = END_START + j


@njit(cache=True, inline="always")
def _leaving_key(tv_state, tv_key, tv_pkey, v: int, last: int, t: float, ring_pos, ring_key, slot: int) -> None:
    """Vehicle v, idle since tv_key[v], leaves at t with a batch completed at t by the dock's place `slot`: the key
    of the event it leaves in.

    A part that finished at t went in with its station's completion, which runs after every vehicle event of t and
    wakes the vehicle up. A part that had waited went in with the departure that freed its place (this transport's
    last, `last`, at t): the wake-up was made by that departure, unless the vehicle came back at t with a return
    that came before the departure, which then finds the batch whole."""
    if ring_pos[slot, RP_WAITED] == 0 or last < 0 or tv_state[last] != V_LOADED or tv_pkey[last, 0] != t:
        tv_pkey[v, 0] = t
        tv_pkey[v, 1] = END_DOCK
        for k in range(3):
            tv_pkey[v, 2 + k] = ring_key[slot, RK_ADM + k]
        for k in range(5, KEY_LEN):
            tv_pkey[v, k] = 0.0
        return
    if tv_key[v] == t:  # back at t: its return (keyed tv_pkey[v]) against the departure (tv_pkey[last][1:])
        after = True  # (keys equal as far as they go: the sweep took that departure first, so it came first)
        for k in range(KEY_LEN - 1):
            if tv_pkey[last, k + 1] != tv_pkey[v, k]:
                after = tv_pkey[last, k + 1] < tv_pkey[v, k]
                break
        if after:
            return
    copy_key(tv_pkey, v, 0, tv_pkey, last, 0)  # made by that departure: the key of the arrival it made too


@njit(cache=True, inline="always")
def _push(keys, v: int, t: float) -> None:
    """Vehicle v's next event is made at t by the event keyed keys[v]: its key is t, then that one's (the oldest
    instant falls off the end)."""
    for k in range(KEY_LEN - 1, 0, -1):
        keys[v, k] = keys[v, k - 1]
    keys[v, 0] = t


@njit(cache=True, inline="always")
def _chain_end(keys, v: int, t: float, end: float) -> None:
    """Vehicle v's event at t was made at t by no vehicle event (a grant's resumption: `end` tells which)."""
    keys[v, 0] = t
    keys[v, 1] = end
    for k in range(2, KEY_LEN):
        keys[v, k] = 0.0


@njit(cache=True, inline="always")
def key_less(keys, a: int, b: int) -> bool:
    """Whether the event keyed keys[a] was made before the one keyed keys[b] (same instant)."""
    for k in range(KEY_LEN):
        if keys[a, k] != keys[b, k]:
            return keys[a, k] < keys[b, k]
    return False


@njit(cache=True, inline="always")
def copy_key(dst, d_row: int, d_col: int, src, s_row: int, s_col: int) -> None:
    """A key from src[s_row, s_col:] to dst[d_row, d_col:]."""
    for k in range(KEY_LEN):
        dst[d_row, d_col + k] = src[s_row, s_col + k]


@njit(cache=True, inline="always")
def _publish(ist, fst, row: int, prod: int, nxt: float, one_line: bool) -> None:
    """Nothing of this transport happens before nxt: no admission to its stock, no place freed at its dock (a
    merged dock frees its lines' places at their own admission times, so it tells them nothing)."""
    if fst[row, fk.LAST_ADM] < nxt:
        fst[row, fk.LAST_ADM] = nxt
    if one_line and fst[prod, fk.LAST_FREED] < nxt:
        fst[prod, fk.LAST_FREED] = nxt
