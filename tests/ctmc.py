"""Exact continuous-time Markov chain (CTMC) solver for serial production lines.

This module is ground truth for the test suite: it solves small serial lines
with exponential processing, failure and repair times exactly (up to linear
algebra round-off), so simulation results can be compared against it.

Model
-----
* Stations ``j = 0..K-1`` in series.  Station ``j`` has ``servers[j]``
  identical parallel servers, each processing at exponential rate
  ``rates[j]`` (parts per unit time).
* ``buffers[j]`` (``j = 0..K-2``) is the capacity of the buffer *after*
  station ``j``: parts waiting between station ``j`` and ``j+1``, not counting
  parts that sit on machines.
* Blocking after service (BAS): a part finished at station ``j`` stays on its
  server (the server is *blocked*) until a server of station ``j+1`` is free
  or buffer ``j`` has room.  Blocked parts leave in FIFO order; only counts
  matter for the chain, so the order is not tracked.
* Station 0 is never starved (endless supply); the last station is never
  blocked (finished parts leave the system at once).
* Optional busy-based failures: each server of station ``j`` fails at rate
  ``fail_rates[j]`` only while it is processing, and is repaired at rate
  ``repair_rates[j]``.  A failed server keeps its part; thanks to the
  memoryless property it simply resumes at rate ``rates[j]`` after repair.

State encoding
--------------
A state is a flat tuple of ``4K - 1`` non-negative integers::

    (u_0, d_0, k_0,  u_1, d_1, k_1,  ...,  u_{K-1}, d_{K-1}, k_{K-1},
     L_0, L_1, ..., L_{K-2})

where, for station ``j``,

* ``u_j`` = servers that are up and processing a part ("working"),
* ``d_j`` = servers that are down (failed) while holding a part,
* ``k_j`` = servers holding a finished part that cannot leave ("blocked"),
* ``m_j - u_j - d_j - k_j`` = idle ("starved") servers,

and ``L_j`` is the number of parts in buffer ``j``.  The encoding is exact
because servers of one station are exchangeable and exponential clocks are
memoryless: the counts determine all future behaviour.

Structural invariants of every reachable state (they follow from the
transition rules and are not enforced separately):

* ``u_0 + d_0 + k_0 = m_0`` (station 0 is never starved);
* ``k_{K-1} = 0`` (the last station is never blocked);
* ``L_j > 0`` implies station ``j+1`` has no idle server;
* ``k_j > 0`` implies ``L_j = b_j`` and station ``j+1`` has no idle server.

The reachable state space is enumerated by breadth-first search from the
empty line (station 0 fully loaded with parts being processed, everything
else empty).  That state is reachable from every state (downstream stations
can drain while station 0 does not complete), so the reachable set is a
single closed communicating class and the stationary distribution is unique.

Solution
--------
The generator ``Q`` is assembled as a scipy sparse matrix and ``pi Q = 0``
is solved with the probability of a likely state pinned (see
``_solve_pinned``): by sparse LU for small chains, and by
Gauss-Seidel-preconditioned BiCGSTAB (GMRES as back-up) for larger ones,
where LU fill-in on the multi-dimensional state grid becomes prohibitive.
Every solution is checked against the balance equations before use.
Throughput is ``E[u_{K-1}] * rates[K-1]``, the mean departure rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["LineSolution", "solve_line", "throughput_derivative", "DEFAULT_MAX_STATES"]

DEFAULT_MAX_STATES: int = 2_000_000


@dataclass(frozen=True)
class LineSolution:
    """Stationary performance measures of a serial line.

    Attributes:
        throughput: Long-run departure rate from the last station (parts per
            unit time).
        wip: Expected number of parts in the line: in buffers and on servers
            of every station, including down and blocked servers.  Station 0
            always contributes ``servers[0]`` parts.
        buffer_levels: Expected level of each inter-station buffer
            (length ``K-1``).
        working: Per station, time-average fraction of server-time spent
            up and processing.
        down: Per station, fraction of server-time spent failed.
        blocked: Per station, fraction of server-time spent blocked (holding a
            finished part).
        starved: Per station, fraction of server-time spent idle for lack of a
            part.  ``working + down + blocked + starved == 1`` per station.
        n_states: Number of reachable states of the CTMC.
    """

    throughput: float
    wip: float
    buffer_levels: tuple[float, ...]
    working: tuple[float, ...]
    down: tuple[float, ...]
    blocked: tuple[float, ...]
    starved: tuple[float, ...]
    n_states: int


@dataclass(frozen=True)
class _Line:
    """Validated, normalised line parameters."""

    rates: tuple[float, ...]
    buffers: tuple[int, ...]
    servers: tuple[int, ...]
    fail_rates: tuple[float, ...]
    repair_rates: tuple[float, ...]

    @property
    def n_stations(self) -> int:
        return len(self.rates)


def _validate(
    rates: Sequence[float],
    buffers: Sequence[int],
    servers: Sequence[int] | None,
    fail_rates: Sequence[float] | None,
    repair_rates: Sequence[float] | None,
) -> _Line:
    """Check the parameters and fill in defaults."""
    k = len(rates)
    if k < 1:
        raise ValueError("a line needs at least one station")
    rates_t = tuple(float(r) for r in rates)
    if any(not np.isfinite(r) or r <= 0.0 for r in rates_t):
        raise ValueError(f"processing rates must be finite and > 0, got {rates_t}")

    if len(buffers) != k - 1:
        raise ValueError(f"need {k - 1} buffer capacities for {k} stations, got {len(buffers)}")
    buffers_t = tuple(int(b) for b in buffers)
    if any(b != bb or b < 0 for b, bb in zip(buffers_t, buffers)):
        raise ValueError(f"buffer capacities must be integers >= 0, got {tuple(buffers)}")

    if servers is None:
        servers_t = (1,) * k
    else:
        if len(servers) != k:
            raise ValueError(f"need {k} server counts, got {len(servers)}")
        servers_t = tuple(int(m) for m in servers)
        if any(m != mm or m < 1 for m, mm in zip(servers_t, servers)):
            raise ValueError(f"server counts must be integers >= 1, got {tuple(servers)}")

    if fail_rates is None:
        fail_t = (0.0,) * k
        repair_t = (0.0,) * k
    else:
        if len(fail_rates) != k:
            raise ValueError(f"need {k} failure rates, got {len(fail_rates)}")
        fail_t = tuple(float(f) for f in fail_rates)
        if any(not np.isfinite(f) or f < 0.0 for f in fail_t):
            raise ValueError(f"failure rates must be finite and >= 0, got {fail_t}")
        if repair_rates is None:
            if any(f > 0.0 for f in fail_t):
                raise ValueError("repair_rates are required when some failure rate is > 0")
            repair_t = (0.0,) * k
        else:
            if len(repair_rates) != k:
                raise ValueError(f"need {k} repair rates, got {len(repair_rates)}")
            repair_t = tuple(float(r) for r in repair_rates)
            if any(not np.isfinite(r) or r < 0.0 for r in repair_t):
                raise ValueError(f"repair rates must be finite and >= 0, got {repair_t}")
            # A failure without repair would make "down" absorbing and the
            # stationary throughput trivially zero; that is surely a mistake.
            for j, (f, r) in enumerate(zip(fail_t, repair_t)):
                if f > 0.0 and r <= 0.0:
                    raise ValueError(f"station {j} fails (rate {f}) but has repair rate {r}")
    return _Line(rates_t, buffers_t, servers_t, fail_t, repair_t)


# Per-station constants for transition generation, as a plain tuple so the
# hot loop can unpack them without attribute look-ups:
# (u_pos, rate, fail, repair, last, next_servers, buf_pos, buf_cap), where
# u_pos indexes u_j in the state (d_j, k_j follow), and the last three
# describe station j+1 and buffer j (unused for the last station).
_StationEvents = tuple[int, float, float, float, bool, int, int, int]


def _station_events(line: _Line) -> tuple[_StationEvents, ...]:
    """Precompute the per-station event constants of ``line``."""
    k_st = line.n_stations
    buf0 = 3 * k_st
    out: list[_StationEvents] = []
    for j in range(k_st):
        last = j == k_st - 1
        out.append(
            (
                3 * j,
                line.rates[j],
                line.fail_rates[j],
                line.repair_rates[j],
                last,
                0 if last else line.servers[j + 1],
                -1 if last else buf0 + j,
                0 if last else line.buffers[j],
            )
        )
    return tuple(out)


def _free_server(st: list[int], j: int, buf0: int) -> None:
    """Update ``st`` in place after a server of station ``j`` lost its part.

    The server is refilled from upstream, and each refill may in turn release
    a blocked part further upstream, so the cascade walks towards station 0
    until a move does not free anything.
    """
    while True:
        if j == 0:
            st[0] += 1  # endless supply: a new part starts at once
            return
        up = j - 1
        if st[buf0 + up] > 0:
            st[buf0 + up] -= 1
            st[3 * j] += 1
            if st[3 * up + 2] > 0:
                # A blocked part upstream takes the slot just freed in the buffer.
                st[3 * up + 2] -= 1
                st[buf0 + up] += 1
                j = up
                continue
            return
        if st[3 * up + 2] > 0:
            # Empty buffer yet blocked parts: only with capacity 0, and then
            # the blocked part moves straight onto the freed server.
            st[3 * up + 2] -= 1
            st[3 * j] += 1
            j = up
            continue
        return  # nothing upstream: the server stays idle (starved)


def _transitions(
    events: tuple[_StationEvents, ...], buf0: int, state: tuple[int, ...]
) -> list[tuple[float, tuple[int, ...]]]:
    """Return ``(rate, next_state)`` for every event enabled in ``state``.

    Self-loops (a completion in a one-station line, which immediately restarts
    a part) are included; the caller drops them since they do not affect the
    stationary distribution.  Blocked servers have no clock of their own, so
    only working (``u``) and down (``d``) servers generate events.
    """
    out: list[tuple[float, tuple[int, ...]]] = []
    for j, (p, rate, fail, repair, last, next_servers, buf_pos, buf_cap) in enumerate(events):
        u = state[p]
        if u > 0:
            st = list(state)
            st[p] -= 1
            if last:
                _free_server(st, j, buf0)  # the part leaves the system
            elif st[p + 3] + st[p + 4] + st[p + 5] < next_servers:
                # An idle downstream server implies buffer j is empty, so the
                # part goes straight onto that server.
                st[p + 3] += 1
                _free_server(st, j, buf0)
            elif st[buf_pos] < buf_cap:
                st[buf_pos] += 1
                _free_server(st, j, buf0)
            else:
                st[p + 2] += 1  # BAS: the server holds its finished part
            out.append((u * rate, tuple(st)))

            if fail > 0.0:
                st = list(state)
                st[p] -= 1
                st[p + 1] += 1
                out.append((u * fail, tuple(st)))

        d = state[p + 1]
        if d > 0:
            st = list(state)
            st[p + 1] -= 1
            st[p] += 1
            out.append((d * repair, tuple(st)))
    return out


def _initial_state(line: _Line) -> tuple[int, ...]:
    """Empty line: station 0 fully loaded and processing, all else empty."""
    st = [0] * (4 * line.n_stations - 1)
    st[0] = line.servers[0]
    return tuple(st)


def _explore(
    line: _Line, max_states: int
) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray, np.ndarray]:
    """Enumerate reachable states by BFS and collect the generator.

    Returns the states (index = position) and the off-diagonal generator
    entries as arrays ``src``, ``dst``, ``rate`` meaning ``Q[src, dst] = rate``.
    Duplicate ``(src, dst)`` pairs may occur and are meant to be summed.
    """
    buf0 = 3 * line.n_stations
    events = _station_events(line)
    start = _initial_state(line)
    index: dict[tuple[int, ...], int] = {start: 0}
    states: list[tuple[int, ...]] = [start]
    src: list[int] = []
    dst: list[int] = []
    vals: list[float] = []
    # States are numbered in discovery order, so walking the growing list is
    # a BFS without a separate queue or index look-ups for the source.
    i = 0
    while i < len(states):
        s = states[i]
        for rate, t in _transitions(events, buf0, s):
            if t == s:
                continue
            k = index.get(t)
            if k is None:
                k = len(states)
                if k >= max_states:
                    raise ValueError(
                        f"state space exceeds max_states={max_states}; "
                        "use smaller buffers or fewer stations/servers"
                    )
                index[t] = k
                states.append(t)
            src.append(i)
            dst.append(k)
            vals.append(rate)
        i += 1
    return (
        states,
        np.asarray(src, dtype=np.int64),
        np.asarray(dst, dtype=np.int64),
        np.asarray(vals, dtype=float),
    )


# Below this size a sparse LU is fast and accurate to round-off.  Above it
# the fill-in of LU on these multi-dimensional grids explodes (about 15 s at
# 2e4 states), while Gauss-Seidel-preconditioned Krylov solvers converge in a
# few dozen iterations on the lines tried.
_DIRECT_MAX_STATES: int = 2500
# LU stays the fallback if the Krylov solvers fail, while it is affordable.
_DIRECT_FALLBACK_MAX_STATES: int = 20_000
_KRYLOV_RTOL: float = 1e-13
_GMRES_RESTART: int = 100
_KRYLOV_MAX_ITER: int = 500
# Gauss-Seidel sweeps used to guess the most likely state (the pin); on the
# lines tried, 10 sweeps already found the true maximum.
_ESTIMATE_SWEEPS: int = 20
# Acceptance bound on max|pi Q| / max|Q_ii| for the normalised solution.
_RESIDUAL_TOL: float = 1e-12
# Re-pin when the pinned state is less likely than this fraction of the most
# likely one.  A pinned probability near zero makes the reduced system
# numerically singular (a 612-state line pinned at its empty state, with
# probability ~1e-20 of the maximum, made SuperLU fail) and makes Krylov
# solvers stagnate.  Even moderately small pins cost the iterative
# path accuracy (a pin at 0.4% of the maximum left 1e-9 errors where pinning
# the maximum gave 1e-14), and warm-started re-solves are cheap, so that path
# pins near the maximum.  LU is insensitive to moderate pins and a second
# factorisation is not free, so it only avoids tiny ones.
_REPIN_RATIO_DIRECT: float = 1e-3
_REPIN_RATIO_ITERATIVE: float = 0.5


def _generator_transposed(
    n: int, src: np.ndarray, dst: np.ndarray, vals: np.ndarray
) -> sp.csr_matrix:
    """Return ``Q^T`` (CSR) for the off-diagonal entries ``Q[src, dst] = vals``."""
    qt = sp.csr_matrix((vals, (dst, src)), shape=(n, n))
    out_rate = np.asarray(qt.sum(axis=0)).ravel()
    return (qt - sp.diags(out_rate)).tocsr()


def _scaled_residual(qt: sp.csr_matrix, pi: np.ndarray) -> float:
    """``max|pi Q| / max|Q_ii|``: balance violation relative to the fastest state."""
    return float(np.abs(qt @ pi).max() / np.abs(qt.diagonal()).max())


def _solve_pinned(
    qt: sp.csr_matrix,
    pin: int,
    guess: np.ndarray | None,
    direct: bool,
) -> np.ndarray:
    """Solve the balance equations with ``pi[pin]`` fixed, then normalise.

    The irreducible generator has rank ``n-1``, so fixing ``pi[pin] = 1`` and
    dropping the balance equation of state ``pin`` leaves the nonsingular
    system ``B x = -Q^T[keep, pin]`` with ``B = Q^T[keep, keep]``.  This keeps
    ``B`` as sparse as ``Q``, unlike replacing an equation by a dense row of
    ones.

    ``B`` is column diagonally dominant (each column holds one state's
    outflow), a property kept by symmetric permutations, so elimination
    without pivoting is stable and SuperLU may use a symmetric fill-reducing
    ordering.  ``guess`` (a normalised ``pi``) warm-starts the iterative path.

    The result sums to 1 but may hold round-off-sized negative entries, or be
    inaccurate if the iterative path failed; the caller checks it.

    Raises:
        RuntimeError: SuperLU found the system numerically singular.
    """
    n = qt.shape[0]
    keep = np.ones(n, dtype=bool)
    keep[pin] = False
    b_mat = qt[keep][:, keep].tocsc()
    rhs = -qt[keep][:, [pin]].toarray().ravel()
    if direct:
        lu = spla.splu(
            b_mat,
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
        x = lu.solve(rhs)
    else:
        x0 = None if guess is None else guess[keep] / guess[pin]
        x = _krylov_gauss_seidel(b_mat, rhs, x0)
    pi = np.insert(np.asarray(x, dtype=float), pin, 1.0)
    return pi / pi.sum()


def _krylov_gauss_seidel(
    b_mat: sp.csc_matrix, rhs: np.ndarray, x0: np.ndarray | None
) -> np.ndarray:
    """Solve ``b_mat x = rhs`` iteratively with a Gauss-Seidel preconditioner.

    BiCGSTAB goes first: its short recurrences make each iteration cheap and
    it converged fastest and most accurately on the lines tried.  It can
    break down, so restarted GMRES (monotone residuals) takes over from its
    result if it did not converge.  The lower triangle is "factored" by
    SuperLU in natural order, which produces no fill and gives a fast C-level
    triangular solve.
    """
    lower = sp.tril(b_mat, format="csc")
    tri = spla.splu(lower, permc_spec="NATURAL", diag_pivot_thresh=0.0)
    precond = spla.LinearOperator(b_mat.shape, matvec=tri.solve, dtype=float)
    x, info = spla.bicgstab(
        b_mat, rhs, x0=x0, M=precond, rtol=_KRYLOV_RTOL, atol=0.0, maxiter=_KRYLOV_MAX_ITER
    )
    if info == 0 and np.all(np.isfinite(x)):
        return np.asarray(x, dtype=float)
    x, _info = spla.gmres(
        b_mat,
        rhs,
        x0=x if np.all(np.isfinite(x)) else x0,
        M=precond,
        rtol=_KRYLOV_RTOL,
        atol=0.0,
        restart=_GMRES_RESTART,
        maxiter=_KRYLOV_MAX_ITER // _GMRES_RESTART,
    )
    return np.asarray(x, dtype=float)


def _gauss_seidel_estimate(qt: sp.csr_matrix, sweeps: int) -> np.ndarray:
    """Rough stationary vector from Gauss-Seidel sweeps on ``Q^T pi = 0``.

    Each sweep solves ``(D + L) pi_new = -U pi_old`` and renormalises.  In BFS
    order a single sweep already carries mass from the empty line to the
    full one, so a few sweeps locate the likely states even when the exact
    solve would need many more.
    """
    n = qt.shape[0]
    lower = sp.tril(qt, format="csc")
    upper = sp.triu(qt, k=1, format="csr")
    tri = spla.splu(lower, permc_spec="NATURAL", diag_pivot_thresh=0.0)
    pi = np.full(n, 1.0 / n)
    for _ in range(sweeps):
        pi = np.abs(tri.solve(-(upper @ pi)))
        pi /= pi.sum()
    return pi


def _try_solve_pinned(
    qt: sp.csr_matrix, pin: int, guess: np.ndarray | None, direct: bool
) -> np.ndarray | None:
    """``_solve_pinned``, returning ``None`` on singularity or non-finite output."""
    try:
        pi = _solve_pinned(qt, pin, guess, direct)
    except RuntimeError:  # SuperLU: "Factor is exactly singular"
        return None
    return pi if np.all(np.isfinite(pi)) else None


def _stationary(n: int, src: np.ndarray, dst: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Solve ``pi Q = 0``, ``sum(pi) = 1`` for the generator ``Q[src, dst] = vals``.

    Pins the most likely state of a Gauss-Seidel estimate.  If the solution
    shows a much likelier state, or the iterative solve is not accurate yet,
    solves again pinned there (warm-started when iterative).  LU is the
    fallback of the iterative path while affordable.

    Raises:
        RuntimeError: No accurate solution was found.
    """
    if n == 1:
        return np.ones(1)
    qt = _generator_transposed(n, src, dst, vals)
    direct = n <= _DIRECT_MAX_STATES
    ratio = _REPIN_RATIO_DIRECT if direct else _REPIN_RATIO_ITERATIVE

    estimate = _gauss_seidel_estimate(qt, _ESTIMATE_SWEEPS)
    pin = int(np.argmax(estimate))
    pi = _try_solve_pinned(qt, pin, estimate, direct)
    for _attempt in range(2):
        if pi is None:
            break
        best = int(np.argmax(pi))
        if pi[pin] >= ratio * pi[best] and (
            direct or _scaled_residual(qt, pi) <= _RESIDUAL_TOL
        ):
            break
        pin = best
        pi = _try_solve_pinned(qt, pin, pi, direct)

    if not direct and n <= _DIRECT_FALLBACK_MAX_STATES:
        if pi is None or not _scaled_residual(qt, pi) <= _RESIDUAL_TOL:
            pi = _try_solve_pinned(qt, pin, None, True)

    if pi is None:
        raise RuntimeError(f"stationary solve failed ({n} states)")
    # Round-off can leave tiny negative entries; anything larger is a bug.
    if pi.min() < -1e-9:
        raise RuntimeError(f"stationary solve produced negative probability {pi.min()}")
    pi = np.clip(pi, 0.0, None)
    pi /= pi.sum()
    residual = _scaled_residual(qt, pi)
    if not residual <= _RESIDUAL_TOL:
        raise RuntimeError(
            f"stationary solve inaccurate: scaled residual {residual:.3g} ({n} states)"
        )
    return pi


def solve_line(
    rates: Sequence[float],
    buffers: Sequence[int],
    servers: Sequence[int] | None = None,
    fail_rates: Sequence[float] | None = None,
    repair_rates: Sequence[float] | None = None,
    *,
    max_states: int = DEFAULT_MAX_STATES,
) -> LineSolution:
    """Solve a serial BAS line with exponential machines exactly.

    Args:
        rates: Processing rate per server of each station (1 / mean cycle time).
        buffers: Capacity of the buffer after each station but the last
            (length ``K-1``), excluding parts on machines.
        servers: Identical parallel servers per station; default all 1.
        fail_rates: Busy-based failure rate per server (1 / MTBF); ``None``
            or a 0 entry means reliable.
        repair_rates: Repair rate per server (1 / MTTR); required where the
            failure rate is positive.
        max_states: Raise ``ValueError`` if the reachable state space exceeds
            this size, to avoid runaway memory use.

    Returns:
        The stationary measures as a :class:`LineSolution`.

    Raises:
        ValueError: Invalid parameters or too many states.
        RuntimeError: The linear solve failed its accuracy check.

    See the module docstring for the state encoding.
    """
    line = _validate(rates, buffers, servers, fail_rates, repair_rates)
    k_st = line.n_stations
    states, src, dst, vals = _explore(line, max_states)
    n = len(states)
    pi = _stationary(n, src, dst, vals)

    # Small integer storage keeps millions of states affordable; columns are
    # promoted to float one at a time.
    arr = np.asarray(states, dtype=np.int32)
    mean = np.array([pi @ arr[:, c] for c in range(arr.shape[1])])
    m = np.asarray(line.servers, dtype=float)
    e_u = mean[0 : 3 * k_st : 3]
    e_d = mean[1 : 3 * k_st : 3]
    e_k = mean[2 : 3 * k_st : 3]
    e_buf = mean[3 * k_st :]
    working = e_u / m
    down = e_d / m
    blocked = e_k / m
    starved = 1.0 - working - down - blocked
    # Clip round-off (~1e-16) so starved is a valid fraction; the shares
    # still sum to 1 to that precision.
    starved = np.clip(starved, 0.0, None)

    throughput = float(e_u[-1] * line.rates[-1])
    wip = float(e_u.sum() + e_d.sum() + e_k.sum() + e_buf.sum())
    return LineSolution(
        throughput=throughput,
        wip=wip,
        buffer_levels=tuple(float(x) for x in e_buf),
        working=tuple(float(x) for x in working),
        down=tuple(float(x) for x in down),
        blocked=tuple(float(x) for x in blocked),
        starved=tuple(float(x) for x in starved),
        n_states=n,
    )


def throughput_derivative(
    rates: Sequence[float],
    buffers: Sequence[int],
    j: int,
    servers: Sequence[int] | None = None,
    fail_rates: Sequence[float] | None = None,
    repair_rates: Sequence[float] | None = None,
    rel_step: float = 1e-6,
    *,
    max_states: int = DEFAULT_MAX_STATES,
) -> float:
    """Return ``d throughput / d rates[j]`` by central finite differences.

    The stationary distribution is a rational (hence smooth) function of the
    rates, so a central difference with step ``h = rel_step * rates[j]`` has
    truncation error O(h^2).  Round-off contributes about ``eps / h``, where
    the throughput's relative error ``eps`` is about 1e-15 with LU and 1e-13
    with GMRES, so the default step gives roughly 1e-7 absolute accuracy.
    """
    if not 0 <= j < len(rates):
        raise ValueError(f"station index {j} out of range for {len(rates)} stations")
    if rel_step <= 0.0:
        raise ValueError("rel_step must be > 0")
    h = rel_step * float(rates[j])
    up = [float(r) for r in rates]
    lo = list(up)
    up[j] += h
    lo[j] -= h
    extra = (servers, fail_rates, repair_rates)
    th_up = solve_line(up, buffers, *extra, max_states=max_states).throughput
    th_lo = solve_line(lo, buffers, *extra, max_states=max_states).throughput
    return (th_up - th_lo) / (2.0 * h)
