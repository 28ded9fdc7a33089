"""The flow kernel's lean loop for plain stations: the same events, ties and arithmetic as `run_kernel`, less work.

Most stations of a real line take parts from the station before and nothing else: no kit, no second source, no
mix to draw, no cycle scaled by variant, no dock shared with other lines. For those, `run_kernel`'s general loop
computes candidate events that can never occur (kit arrivals, suppliers' units, a dock's grants) and keeps every
counter in the shared state arrays, which the compiler must re-read after each store. `visit_runs` runs each such
station of a line's run of them until it stalls, passes the horizon or must hand back to the driver, with its state
in locals written back once, until none of them can go on, and returns to the sweep. It is the general loop with
the dead branches taken out, so the results are the same to the bit (tests/test_flow_plain.py runs both on random
networks and the real lines).

Two things make it cheaper beyond that:
- A calendar lookup starts from the interval and the week the station used last (`flow_kernel.to_working_at`,
  which the general loop uses too): times move forward, so the answer is nearly always that interval or the
  next, and no division is needed to find the week. The interval and the week found are those `np.searchsorted`
  and the division find, so the working or calendar time computed from them is the same number.
- Parts in process wait for their completion in a heap keyed by (completion, start number). Where completions
  come in start order (a deterministic cycle without failures: the 2,100-place furnace, curing ovens) the heap is
  kept as a sorted ring instead: a new part goes to the end and moves forward only past parts that finish after it
  (never, in practice; exactness does not rest on it), the next completion is the head. Same order, O(1).

numba caches `run_kernel` by its own file only: after editing this module, clear `twin/engine/__pycache__/*.nb?`.
"""

from __future__ import annotations

import math

from numba import njit

from twin.engine import flow_kernel as fk

STALLED, PASSED, RETURNED = range(3)  # what a visit ended with: waits for a neighbour, past the horizon, to driver
INF = math.inf


@njit(cache=True, inline="always")
def _wrap(x: int, m: int) -> int:
    """x mod m for 0 <= x < 2m: a compare instead of a division (a ring's index moves by less than its size)."""
    return x - m if x >= m else x


@njit(cache=True, inline="always")
def _ring_push(ring, off: int, head: int, n: int, m: int, s: int, key, seq) -> None:
    """Server s joins the ring of parts in process, kept in (completion, start number) order."""
    pos = n
    while pos > 0:
        prev = ring[off + _wrap(head + pos - 1, m)]
        if fk._before(key[off + s], seq[off + s], key[off + prev], seq[off + prev]):
            ring[off + _wrap(head + pos, m)] = prev
            pos -= 1
        else:
            break
    ring[off + _wrap(head + pos, m)] = s


@njit(cache=True, nogil=True, _nrt=False)
def visit_runs(dirty, ist, fst, lint, lflt, ctl, ret, servers, links, draws, cals, out):  # noqa: C901
    """Run every line's run of plain stations (consecutive, of one line: `SEG_END` on its first) as far as it can
    go: each dirty station until it stalls, passes the horizon or must hand back to the driver, waking its
    neighbours as `run_kernel` does, until none of the run is dirty. Returns (STALLED | RETURNED, changed,
    progressed): whether any station changed what a neighbour reads, and whether any moved a part.

    The arrays come in tuples (servers, links, draws, calendars, output) named as in `run_kernel`, made once a
    kernel call: a Python call with more than 30 arguments is compiled as a call with *args. Each call still
    passes ~400 words on the stack (numba passes an array as its whole descriptor), which cost about as much as a
    short visit: so one call a sweep visits every plain station that needs it, not one call a station (a hole
    moving back through a blocked supplier line is followed through its run in one go). The order of visits does
    not change the results: a station computes only what its neighbours' published state determines. Like the
    kernel, it runs without reference counting (`_nrt=False`), which otherwise costs more at each visit than the
    visit. It is called, not inlined: inlining saved ~9% of a year of jinhua but doubled the kernel's first
    compilation."""
    srv_c, srv_cw, srv_rel, srv_var, srv_ttf, srv_seq, heap, idle_srv, idle_t, blk_srv = servers
    ar_t, ar_rel, ar_var, fr_t = links
    d_proc, d_ttf, d_ttr, d_scr = draws
    log_pool, log_lg, ex_line, ex_t, daily = out
    n_st = ist.shape[0] - int(ctl[fk.N_EXTRA])
    n_proc = d_proc.shape[0] // n_st
    n_ttf = d_ttf.shape[0] // n_st
    n_ttr = d_ttr.shape[0] // n_st
    n_scr = d_scr.shape[0] // n_st
    record = ctl[fk.RECORD] > 0
    exits = ctl[fk.EXITS] > 0
    warm = ctl[fk.WARM]
    stop_n = int(ctl[fk.STOP_N])
    raised = False
    moved = False
    for j0 in range(n_st):
        if ist[j0, fk.PLAIN] == 0 or ist[j0, fk.SEG_END] < 0:
            continue
        j1 = ist[j0, fk.SEG_END]
        again = False
        for k in range(j0, j1 + 1):
            if ist[k, fk.DONE] == 0 and dirty[k]:
                again = True
        if not again:
            continue
        c_starts, c_ends, c_cum, week, period, always = fk.line_calendar(cals, ist[j0, fk.LINE])
        while again:
            again = False
            for j in range(j0, j1 + 1):
                if ist[j, fk.DONE] == 1 or not dirty[j]:
                    continue
                dirty[j] = False
                t_end_seen = ctl[fk.T_END]
                m = ist[j, fk.M]
                soff = ist[j, fk.SOFF]
                slots = ist[j, fk.SLOTS]
                first = ist[j, fk.FIRST] == 1
                line = ist[j, fk.LINE]
                out_kind = ist[j, fk.OUT_KIND]
                sink = out_kind == fk.OUT_SINK
                feed = out_kind == fk.OUT_FEED
                consumer = ist[j, fk.CONSUMER]
                cons_done = consumer >= 0 and ist[consumer, fk.DONE] == 1
                ar_off = ist[j, fk.AR_OFF]
                ar_mask = ist[j, fk.AR_MASK]
                fr_off = ist[j, fk.FR_OFF]
                fr_mask = ist[j, fk.FR_MASK]
                # places freed downstream: only the consumer frees them, and it is not running
                n_freed = ist[j, fk.N_FREED]
                last_freed = fst[j, fk.LAST_FREED]
                has_fail = ist[j, fk.HAS_FAIL] == 1
                has_scrap = ist[j, fk.HAS_SCRAP] == 1
                sorted_ring = ist[j, fk.RING] == 1
                scrap_p = fst[j, fk.SCRAP_P]
                w0 = fst[j, fk.W0]
                w_end = fst[j, fk.WE]
                up = j - 1
                up_n_adm = 0
                up_done = True
                up_last_adm = 0.0
                up_ar_off = 0
                up_ar_mask = 0
                up_n_freed = 0
                up_fr_off = 0
                up_fr_mask = 0
                up_last_freed = 0.0
                up_area = 0.0
                if not first:
                    up_n_adm = ist[up, fk.N_ADM]
                    up_done = ist[up, fk.DONE] == 1
                    up_last_adm = fst[up, fk.LAST_ADM]
                    up_ar_off = ist[up, fk.AR_OFF]
                    up_ar_mask = ist[up, fk.AR_MASK]
                    up_n_freed = ist[up, fk.N_FREED]
                    up_fr_off = ist[up, fk.FR_OFF]
                    up_fr_mask = ist[up, fk.FR_MASK]
                    up_last_freed = fst[up, fk.LAST_FREED]
                    up_area = fst[up, fk.AREA_OUT]
                # the station's own state, written back below
                heap_n = ist[j, fk.HEAP_N]
                q_head = ist[j, fk.Q_HEAD]
                blk_head = ist[j, fk.BLK_HEAD]
                blk_cnt = ist[j, fk.BLK_CNT]
                idle_head = ist[j, fk.IDLE_HEAD]
                idle_cnt = ist[j, fk.IDLE_CNT]
                n_start = ist[j, fk.N_START]
                n_adm = ist[j, fk.N_ADM]
                n_ops = ist[j, fk.N_OPS]
                p_pos = ist[j, fk.P_POS]
                p_len = ist[j, fk.P_LEN]
                s_pos = ist[j, fk.S_POS]
                s_len = ist[j, fk.S_LEN]
                f_pos = ist[j, fk.F_POS]
                f_len = ist[j, fk.F_LEN]
                r_pos = ist[j, fk.R_POS]
                r_len = ist[j, fk.R_LEN]
                n_active = ist[j, fk.N_ACTIVE]
                is_open = ist[j, fk.OPEN]
                defer = ist[j, fk.DEFER]
                hw = ist[j, fk.HINT_W]
                hc = ist[j, fk.HINT_C]
                wk = (fst[j, fk.WK_P], fst[j, fk.WK_W], fst[j, fk.WK_LO], fst[j, fk.WK_HI])
                ck = (fst[j, fk.CK_W], fst[j, fk.CK_P], fst[j, fk.CK_LO], fst[j, fk.CK_HI])
                defer_t = fst[j, fk.DEFER_T]
                working = fst[j, fk.WORKING]
                blocked = fst[j, fk.BLOCKED]
                area = fst[j, fk.AREA]
                last_adm = fst[j, fk.LAST_ADM]
                pending_end = fst[j, fk.PENDING_END]
                open_start = fst[j, fk.OPEN_START]
                base_p = j * n_proc
                base_f = j * n_ttf
                base_r = j * n_ttr
                base_s = j * n_scr
                code = STALLED
                changed = False
                progress = False
                while True:
                    t_end = ctl[fk.T_END]
                    inclusive = ctl[fk.INCLUSIVE] > 0
                    # -- the next completion
                    tc = INF
                    if heap_n > 0:
                        tc = srv_c[soff + heap[soff + q_head]]
                    # -- the next admission of a finished part to the out-link
                    ta = INF
                    lb_a = INF
                    a_unknown = False
                    if blk_cnt > 0:
                        c = srv_c[soff + blk_srv[soff + blk_head]]
                        idx = n_adm + 1 - slots
                        if idx <= 0:
                            ta = c
                        elif n_freed >= idx:
                            f = fr_t[fr_off + (idx & fr_mask)]
                            ta = c if c > f else f
                        elif not cons_done:
                            a_unknown = True
                            lb_a = c if c > last_freed else last_freed
                    # -- the next start: a free server and the part
                    ts = INF
                    lb_s = INF
                    s_unknown = False
                    if idle_cnt > 0:
                        f = idle_t[soff + idle_head]
                        ts = f
                        if not first:
                            n = n_start + 1
                            if up_n_adm >= n:
                                a = ar_t[up_ar_off + (n & up_ar_mask)]
                                ts = a if a > ts else ts
                            elif not up_done:
                                s_unknown = True
                                lb_s = up_last_adm if up_last_adm > f else f
                                ts = INF
                            else:
                                ts = INF
                    t = min(tc, ta, ts)
                    if (a_unknown and lb_a <= t) or (s_unknown and lb_s <= t):
                        nxt = t
                        if a_unknown and lb_a < nxt:
                            nxt = lb_a
                        if s_unknown and lb_s < nxt:
                            nxt = lb_s
                        if last_adm < nxt:  # (twin.engine.flow_kernel._publish)
                            last_adm = nxt
                            changed = True
                        if not first and up_last_freed < nxt:
                            up_last_freed = nxt
                            changed = True
                        break
                    if t > t_end or (t == t_end and not inclusive):
                        code = PASSED
                        progress = True
                        changed = True
                        break
                    if t != defer_t:
                        defer = 0
                    do_admit = False
                    defer_now = False
                    if ta == t and tc == t:
                        defer_now = True
                        do_admit = True
                    elif tc == t:
                        # ---------------------------------------------------------------- completion
                        if has_scrap and s_pos >= s_len:
                            ret[fk.R_CODE] = fk.REFILL
                            ret[fk.R_STATION] = j
                            ret[fk.R_PURPOSE] = fk.SCRAP
                            code = RETURNED
                            break
                        if exits and ret[fk.R_NEXIT] >= ex_t.shape[0]:
                            ret[fk.R_CODE] = fk.GROW_EXITS
                            code = RETURNED
                            break
                        admit_now = False
                        if not sink and blk_cnt == 0:
                            will_scrap = False
                            if has_scrap:
                                will_scrap = d_scr[base_s + s_pos] < scrap_p
                            if not will_scrap:
                                idx = n_adm + 1 - slots
                                if idx <= 0:
                                    admit_now = True
                                elif n_freed >= idx:
                                    admit_now = fr_t[fr_off + (idx & fr_mask)] <= t
                                elif not cons_done and last_freed <= t:
                                    if last_adm < t:
                                        last_adm = t
                                        changed = True
                                    if not first and up_last_freed < t:
                                        up_last_freed = t
                                        changed = True
                                    break
                        if sorted_ring:
                            s = heap[soff + q_head]
                            q_head = _wrap(q_head + 1, m)
                        else:
                            s = fk._heap_pop(heap, soff, heap_n, srv_c, srv_seq)
                        heap_n -= 1
                        n_ops += 1
                        if record:
                            if n_active == m:
                                pending_end = srv_cw[soff + s]
                            n_active -= 1
                        scrapped = False
                        if has_scrap:
                            u = d_scr[base_s + s_pos]
                            s_pos += 1
                            scrapped = u < scrap_p
                        if scrapped or sink:
                            if scrapped:
                                lint[line, fk.SCRAPPED] += 1
                            else:
                                fk._finish(lint, lflt, ctl, ret, ex_line, ex_t, exits, stop_n, warm, line, t,
                                           srv_rel[soff + s], daily)
                            fst[j, fk.WIP_PART] -= fk._tail(t_end, t, warm)
                            if not first:
                                up_n_freed += 1
                                fr_t[up_fr_off + (up_n_freed & up_fr_mask)] = t
                                up_last_freed = t
                            idle_cnt = _idle(idle_srv, idle_t, soff, m, idle_head, idle_cnt, s, t, defer)
                        else:
                            blk_srv[soff + _wrap(blk_head + blk_cnt, m)] = s
                            blk_cnt += 1
                            do_admit = admit_now
                    elif ta == t:
                        do_admit = True
                    elif ts == t:
                        # ---------------------------------------------------------------- start
                        if p_pos >= p_len:
                            ret[fk.R_CODE] = fk.REFILL
                            ret[fk.R_STATION] = j
                            ret[fk.R_PURPOSE] = fk.PROC
                            code = RETURNED
                            break
                        s = idle_srv[soff + idle_head]
                        work = d_proc[base_p + p_pos]
                        if has_fail:  # the draws this part needs must be there before anything is touched
                            need = fk.draw_short(srv_ttf[soff + s], work, d_ttf, base_f, f_pos, f_len, r_pos, r_len)
                            if need >= 0:
                                ret[fk.R_CODE] = fk.REFILL
                                ret[fk.R_STATION] = j
                                ret[fk.R_PURPOSE] = need
                                code = RETURNED
                                break
                        if record and not fk.log_room(log_pool, log_lg, j, 2):
                            ret[fk.R_CODE] = fk.GROW_PERIODS
                            ret[fk.R_STATION] = j
                            code = RETURNED
                            break
                        idle_head = _wrap(idle_head + 1, m)
                        idle_cnt -= 1
                        p_pos += 1
                        n_s = n_start + 1
                        n_start = n_s
                        v = 0
                        if first:
                            rel = t
                            lint[line, fk.RELEASED] += 1
                            fst[j, fk.WIP_PART] += fk._tail(t_end, t, warm)
                        else:
                            rel = ar_rel[up_ar_off + (n_s & up_ar_mask)]
                            v = ar_var[up_ar_off + (n_s & up_ar_mask)]
                            up_area -= fk._tail(t_end, t, warm)
                        if always:
                            sw = t
                        else:
                            sw, hw, wk = fk.to_working_at(t, c_starts, c_ends, c_cum, week, period, hw, wk)
                        total = work
                        hit = False
                        if has_fail:
                            left = srv_ttf[soff + s]
                            if left >= work:
                                srv_ttf[soff + s] = left - work
                            else:
                                hit = True
                                total = fk.hit_total(left, work, d_ttf, base_f, f_pos, d_ttr, base_r, r_pos)
                                fst[j, fk.WORKING] = working  # the chunks are accounted in the state row itself
                                srv_ttf[soff + s], rp, fp = fk.account_hit_part(
                                    fst[j], fk.WORKING, fk.DOWN, sw, total, work, left, d_ttf, base_f + f_pos, d_ttr,
                                    base_r + r_pos, w0, w_end)
                                working = fst[j, fk.WORKING]
                                r_pos = rp - base_r
                                f_pos = fp - base_f
                        end_w = sw + total
                        if not hit:
                            if sw >= w0 and end_w <= w_end:
                                working += work
                            else:
                                working += fk._clip_add(sw, end_w, w0, w_end)
                        if always:
                            c = t + (end_w - t)
                        else:
                            cal, hc, ck = fk.to_calendar_at(end_w, c_starts, c_cum, week, period, hc, ck)
                            d = cal - t
                            c = t + (d if d > 0.0 else 0.0)
                        srv_c[soff + s] = c
                        srv_cw[soff + s] = end_w
                        srv_rel[soff + s] = rel
                        srv_var[soff + s] = v
                        srv_seq[soff + s] = n_s
                        if sorted_ring:
                            _ring_push(heap, soff, q_head, heap_n, m, s, srv_c, srv_seq)
                        else:
                            fk._heap_push(heap, soff, heap_n, s, srv_c, srv_seq)
                        heap_n += 1
                        if record:
                            n_active += 1
                            if n_active == m and sw - pending_end > 1e-9 * (sw if sw > 1.0 else 1.0):
                                if is_open:
                                    fk.log_period(log_pool, log_lg, j, open_start, pending_end)
                                open_start = sw
                                is_open = 1
                    if do_admit:
                        # ---------------------------------------------------------------- admission downstream
                        if exits and feed and ret[fk.R_NEXIT] >= ex_t.shape[0]:
                            ret[fk.R_CODE] = fk.GROW_EXITS
                            code = RETURNED
                            break
                        s = blk_srv[soff + blk_head]
                        blk_head = _wrap(blk_head + 1, m)
                        blk_cnt -= 1
                        n_a = n_adm + 1
                        n_adm = n_a
                        ar_t[ar_off + (n_a & ar_mask)] = t
                        ar_rel[ar_off + (n_a & ar_mask)] = srv_rel[soff + s]
                        ar_var[ar_off + (n_a & ar_mask)] = srv_var[soff + s]
                        last_adm = t
                        area += fk._tail(t_end, t, warm)
                        if t != srv_c[soff + s]:  # it waited for room: blocked since it finished
                            if always:
                                released = t
                            else:
                                released, hw, wk = fk.to_working_at(t, c_starts, c_ends, c_cum, week, period, hw, wk)
                            blocked += fk._clip_add(srv_cw[soff + s], released, w0, w_end)
                        if feed:
                            fk._finish(lint, lflt, ctl, ret, ex_line, ex_t, exits, stop_n, warm, line, t,
                                       srv_rel[soff + s], daily)
                            fst[j, fk.WIP_PART] -= fk._tail(t_end, t, warm)
                        if not first:
                            up_n_freed += 1
                            fr_t[up_fr_off + (up_n_freed & up_fr_mask)] = t
                            up_last_freed = t
                        if defer_now:  # behind the servers resumed at this instant (none woken: no suppliers here)
                            idle_cnt = _idle(idle_srv, idle_t, soff, m, idle_head, idle_cnt, s, t, 0)
                            defer += 1
                            defer_t = t
                        else:
                            idle_cnt = _idle(idle_srv, idle_t, soff, m, idle_head, idle_cnt, s, t, defer)
                    progress = True
                    changed = True
                ist[j, fk.HEAP_N] = heap_n
                ist[j, fk.Q_HEAD] = q_head
                ist[j, fk.BLK_HEAD] = blk_head
                ist[j, fk.BLK_CNT] = blk_cnt
                ist[j, fk.IDLE_HEAD] = idle_head
                ist[j, fk.IDLE_CNT] = idle_cnt
                ist[j, fk.N_START] = n_start
                ist[j, fk.N_ADM] = n_adm
                ist[j, fk.N_OPS] = n_ops
                ist[j, fk.P_POS] = p_pos
                ist[j, fk.S_POS] = s_pos
                ist[j, fk.F_POS] = f_pos
                ist[j, fk.R_POS] = r_pos
                ist[j, fk.N_ACTIVE] = n_active
                ist[j, fk.OPEN] = is_open
                ist[j, fk.DEFER] = defer
                ist[j, fk.HINT_W] = hw
                ist[j, fk.HINT_C] = hc
                fst[j, fk.WK_P], fst[j, fk.WK_W], fst[j, fk.WK_LO], fst[j, fk.WK_HI] = wk
                fst[j, fk.CK_W], fst[j, fk.CK_P], fst[j, fk.CK_LO], fst[j, fk.CK_HI] = ck
                if code == PASSED:
                    ist[j, fk.DONE] = 1
                fst[j, fk.DEFER_T] = defer_t
                fst[j, fk.WORKING] = working
                fst[j, fk.BLOCKED] = blocked
                fst[j, fk.AREA] = area
                fst[j, fk.LAST_ADM] = last_adm
                fst[j, fk.PENDING_END] = pending_end
                fst[j, fk.OPEN_START] = open_start
                if not first:
                    ist[up, fk.N_FREED] = up_n_freed
                    fst[up, fk.LAST_FREED] = up_last_freed
                    fst[up, fk.AREA_OUT] = up_area
                if progress:
                    moved = True
                if code == RETURNED:
                    return RETURNED, raised or changed, moved
                if changed:
                    raised = True
                    # the neighbours that can use the change (as `run_kernel` marks them): the station before only to
                    # take a finished part, the one after only if it has a free server
                    if not first and (ist[up, fk.PLAIN] == 0 or ist[up, fk.HEAP_N] + ist[up, fk.BLK_CNT] > 0):
                        dirty[up] = True
                        again = again or up >= j0
                    if consumer >= 0 and (ist[consumer, fk.PLAIN] == 0 or ist[consumer, fk.IDLE_CNT] > 0):
                        dirty[consumer] = True
                        again = again or (j0 <= consumer <= j1)
                if ctl[fk.T_END] != t_end_seen:  # the run ends earlier now: everyone may be done
                    dirty[:] = True
                    again = True
    return STALLED, raised, moved


@njit(cache=True, inline="always")
def _idle(idle_srv, idle_t, soff: int, m: int, head: int, cnt: int, s: int, t: float, before: int) -> int:
    """twin.engine.flow_kernel._idle on the visit's locals: server s joins the free queue `before` places from its
    end. Returns the new count."""
    pos = cnt
    for _ in range(min(before, pos)):
        src = _wrap(head + pos - 1, m)
        dst = _wrap(head + pos, m)
        idle_srv[soff + dst] = idle_srv[soff + src]
        idle_t[soff + dst] = idle_t[soff + src]
        pos -= 1
    k = _wrap(head + pos, m)
    idle_srv[soff + k] = s
    idle_t[soff + k] = t
    return cnt + 1
