"""Compiled sweeps behind the shifting-bottleneck method: the momentary bottleneck over time, sole and shifting time.

`twin.analytics.active_period` states the definitions; these numba kernels compute them with no per-period
Python object, and the sweep jumps from one change of bottleneck to the next instead of visiting every period
boundary: the flow engine makes millions of periods in a fraction of a second, and the analysis must not cost more
than the run.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def momentary(starts: np.ndarray, ends: np.ndarray, offsets: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`momentary_at` for periods laid end to end: station s owns offsets[s]..offsets[s+1]-1 of both arrays."""
    k = offsets.shape[0] - 1
    return momentary_at(starts, ends, offsets[:-1], offsets[1:], np.zeros(k, dtype=np.int64))


@njit(cache=True, nogil=True)
def momentary_at(starts: np.ndarray, ends: np.ndarray, lo: np.ndarray, hi_of: np.ndarray, shift: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The momentary bottleneck as pieces (from, to, station, period index within the station).

    Station s owns the periods starting at starts[lo[s]..hi_of[s]-1], sorted and disjoint; the end of the one
    starting at starts[p] is ends[p + shift[s]] (so that the stations' logs can be read where the engine wrote
    them, without joining them into fresh arrays). On every stretch between two period boundaries the bottleneck
    is the station whose covering period is the longest (ties: the lower station index). Rather than visit every
    boundary, the sweep jumps: while station b's period p is the longest, the bottleneck can only change when p
    ends or when a period that beats p starts. The sweep point only moves forward, so each station keeps a cursor
    (its first period starting after the point): a period is passed over once when it starts before the next
    change and does not beat p, and looked at again only when it stops a station's search. Cost O(periods +
    pieces x stations).
    """
    k = lo.shape[0]
    # (a period's length is computed where it is read: an array of them would be fresh memory as large as `ends`,
    # which on this kind of machine costs more than the subtractions)
    cap = 16
    out_a = np.empty(cap)
    out_b = np.empty(cap)
    out_s = np.empty(cap, dtype=np.int64)
    out_i = np.empty(cap, dtype=np.int64)
    n_out = 0
    cur = lo.copy()  # per station: its first period starting after x
    scan = np.empty(k, dtype=np.int64)
    x = np.inf
    for s in range(k):
        if hi_of[s] > lo[s] and starts[lo[s]] < x:
            x = starts[lo[s]]
    while x < np.inf:
        # the longest period covering x (start <= x < end); ties: the lower station
        best = -1
        best_p = -1
        best_len = 0.0
        for s in range(k):
            hi = hi_of[s]
            sh = shift[s]
            q = cur[s]
            while q < hi and starts[q] <= x:
                q += 1
            cur[s] = q
            p = q - 1
            if p >= lo[s] and ends[p + sh] > x and ends[p + sh] - starts[p] > best_len:
                best, best_p, best_len = s, p, ends[p + sh] - starts[p]
        if best < 0:  # nobody active: jump to the next start
            nx = np.inf
            for s in range(k):
                q = cur[s]
                if q < hi_of[s] and starts[q] < nx:
                    nx = starts[q]
            x = nx
            continue
        e = ends[best_p + shift[best]]
        # The first period after x that beats the best before it ends (later ones cannot come first). A few
        # periods of every station first, then the rest up to the nearest beater found so far: scanning one
        # station far ahead before another one's near beater is known would be repeated at the next points.
        nx = e
        for s in range(k):
            hi = hi_of[s]
            sh = shift[s]
            q = cur[s]
            strict = s >= best
            stop = min(q + 4, hi)
            while q < stop and starts[q] < nx:
                length = ends[q + sh] - starts[q]
                if length > best_len or (not strict and length == best_len):
                    nx = starts[q]
                    q = hi
                    break
                q += 1
            scan[s] = q
        for s in range(k):
            hi = hi_of[s]
            sh = shift[s]
            q = scan[s]
            strict = s >= best
            while q < hi and starts[q] < nx:
                length = ends[q + sh] - starts[q]
                if length > best_len or (not strict and length == best_len):
                    nx = starts[q]
                    break
                q += 1
        idx = best_p - lo[best]
        if n_out > 0 and out_s[n_out - 1] == best and out_i[n_out - 1] == idx and out_b[n_out - 1] == x:
            out_b[n_out - 1] = nx
        else:
            if n_out == cap:
                cap *= 2
                out_a = np.concatenate((out_a, np.empty(cap - n_out)))
                out_b = np.concatenate((out_b, np.empty(cap - n_out)))
                out_s = np.concatenate((out_s, np.empty(cap - n_out, dtype=np.int64)))
                out_i = np.concatenate((out_i, np.empty(cap - n_out, dtype=np.int64)))
            out_a[n_out] = x
            out_b[n_out] = nx
            out_s[n_out] = best
            out_i[n_out] = idx
            n_out += 1
        x = nx
    return out_a[:n_out], out_b[:n_out], out_s[:n_out], out_i[:n_out]


@njit(cache=True, nogil=True)
def sole_and_shifting_at(piece_a: np.ndarray, piece_b: np.ndarray, piece_s: np.ndarray, piece_i: np.ndarray,
                         starts: np.ndarray, ends: np.ndarray, lo: np.ndarray, shift: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Seconds each station was the sole and the shifting bottleneck (periods laid out as in `momentary_at`).

    At each change of momentary bottleneck, the overlap of the two stations' periods is shifting time for both;
    a station's sole time is its bottleneck time outside its (merged) shifting time.
    """
    k = lo.shape[0]
    n = piece_a.shape[0]
    bottleneck = np.zeros(k)
    for q in range(n):
        bottleneck[piece_s[q]] += piece_b[q] - piece_a[q]
    # shifting intervals, two per change, gathered per station
    sh_s = np.empty(2 * n, dtype=np.int64)
    sh_a = np.empty(2 * n)
    sh_b = np.empty(2 * n)
    m = 0
    for q in range(n - 1):
        s1, s2 = piece_s[q], piece_s[q + 1]
        if s1 == s2:
            continue
        p1, p2 = lo[s1] + piece_i[q], lo[s2] + piece_i[q + 1]
        a = max(starts[p1], starts[p2])
        b = min(ends[p1 + shift[s1]], ends[p2 + shift[s2]])
        if b > a:
            sh_s[m], sh_a[m], sh_b[m] = s1, a, b
            sh_s[m + 1], sh_a[m + 1], sh_b[m + 1] = s2, a, b
            m += 2
    # group the shifting intervals and the pieces by station (counting sorts keep each group in time order)
    sh_bounds = np.zeros(k + 1, dtype=np.int64)
    for q in range(m):
        sh_bounds[sh_s[q] + 1] += 1
    pc_bounds = np.zeros(k + 1, dtype=np.int64)
    for q in range(n):
        pc_bounds[piece_s[q] + 1] += 1
    for s in range(k):
        sh_bounds[s + 1] += sh_bounds[s]
        pc_bounds[s + 1] += pc_bounds[s]
    sh_pos = sh_bounds[:-1].copy()
    g_a = np.empty(m)
    g_b = np.empty(m)
    for q in range(m):
        s = sh_s[q]
        g_a[sh_pos[s]] = sh_a[q]
        g_b[sh_pos[s]] = sh_b[q]
        sh_pos[s] += 1
    pc_pos = pc_bounds[:-1].copy()
    mine = np.empty(n, dtype=np.int64)
    for q in range(n):
        s = piece_s[q]
        mine[pc_pos[s]] = q
        pc_pos[s] += 1
    shifting = np.zeros(k)
    sole = np.zeros(k)
    ua = np.empty(m)
    ub = np.empty(m)
    for s in range(k):
        a_s = g_a[sh_bounds[s]:sh_bounds[s + 1]]
        b_s = g_b[sh_bounds[s]:sh_bounds[s + 1]]
        order = np.argsort(a_s, kind="mergesort")  # nearly sorted already
        # union of the station's shifting intervals (equal starts in any order give the same union)
        u = 0
        for q in range(order.shape[0]):
            a0, b0 = a_s[order[q]], b_s[order[q]]
            if u > 0 and a0 <= ub[u - 1]:
                if b0 > ub[u - 1]:
                    ub[u - 1] = b0
            else:
                ua[u] = a0
                ub[u] = b0
                u += 1
        total = 0.0
        for q in range(u):
            total += ub[q] - ua[q]
        shifting[s] = total
        # overlap of the station's bottleneck pieces (in time order) with its merged shifting time
        lo, hi = pc_bounds[s], pc_bounds[s + 1]
        i = lo
        j = 0
        inter = 0.0
        while i < hi and j < u:
            x0 = max(piece_a[mine[i]], ua[j])
            x1 = min(piece_b[mine[i]], ub[j])
            if x1 > x0:
                inter += x1 - x0
            if piece_b[mine[i]] < ub[j]:
                i += 1
            else:
                j += 1
        sole[s] = bottleneck[s] - inter
    return sole, shifting


@njit(cache=True, nogil=True)
def clip_to_window(a: np.ndarray, b: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """Periods [a, b) cut to [lo, hi], those left empty dropped: (max(a, lo), min(b, hi)) where that is not empty.

    Returns the new arrays and True, or the given ones and False when no period changes (a long run's periods
    mostly lie inside the window: they are then not copied into fresh memory, which here costs more than the
    comparisons)."""
    n = a.shape[0]
    kept = 0
    same = True
    for k in range(n):
        x = max(a[k], lo)
        y = min(b[k], hi)
        if y > x:
            kept += 1
            if x != a[k] or y != b[k]:
                same = False
        else:
            same = False
    if same:
        return a, b, False
    out_a = np.empty(kept)
    out_b = np.empty(kept)
    i = 0
    for k in range(n):
        x = max(a[k], lo)
        y = min(b[k], hi)
        if y > x:
            out_a[i] = x
            out_b[i] = y
            i += 1
    return out_a, out_b, True
