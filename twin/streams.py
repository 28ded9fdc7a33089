"""Random streams: one numpy generator per (replication, line, station, purpose), and unit-mean samplers.

Common random numbers: a station's streams are keyed by the scenario seed, the replication, and the *names* of its
line and station, never by position or by a global generator, so a what-if that changes one station leaves every
other station's draws untouched. Draws are unit-mean variates scaled by the mean (cycle_s, mtbf_s, mttr_s): a
change of cycle_s rescales the same draws instead of drawing new ones, which is what paired sensitivity needs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

PURPOSES = {"process": 1, "failure": 2, "repair": 3, "scrap": 4, "mix": 5, "travel": 6}
BLOCK = 1024  # draws fetched from numpy at once: one call per block keeps the per-draw cost near a list index

UnitDraw = Callable[[np.random.Generator, int], np.ndarray]


def name_key(name: str) -> int:
    """A stable 32-bit key for a name (Python's hash() is salted per process, so it cannot be used)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=4).digest(), "little")


def stream(seed: int, replication: int, line: str, station: str, purpose: str) -> np.random.Generator:
    """The generator of one station's draws for one purpose in one replication."""
    seq = np.random.SeedSequence(
        entropy=seed, spawn_key=(replication, name_key(line), name_key(station), PURPOSES[purpose])
    )
    return np.random.Generator(np.random.PCG64(seq))


@lru_cache(maxsize=256)
def weibull_shape(cv: float) -> float:
    """Weibull shape k whose coefficient of variation is cv: cv^2 = G(1+2/k)/G(1+1/k)^2 - 1."""
    from scipy.optimize import brentq

    def excess(k: float) -> float:
        g1 = math.lgamma(1 + 1 / k)
        g2 = math.lgamma(1 + 2 / k)
        return math.sqrt(max(math.exp(g2 - 2 * g1) - 1.0, 0.0)) - cv

    return float(brentq(excess, 0.05, 1e4, xtol=1e-12))


def fixed_draw(dist: str, cv: float | None) -> bool:
    """Whether `unit_draw(dist, cv)` draws 1 every time: "det", or a distribution given no spread."""
    return dist == "det" or (dist not in ("exp", "empirical") and not cv)


def unit_draw(dist: str, cv: float | None, samples: Sequence[float] | None = None) -> UnitDraw:
    """A function drawing `n` variates of mean 1 (coefficient of variation `cv`) for one distribution."""
    c = 0.0 if cv is None else float(cv)
    if dist == "det":
        return lambda rng, n: np.ones(n)
    if dist == "exp":
        return lambda rng, n: rng.standard_exponential(n)
    if dist == "normal":
        # Truncated at a tiny positive time rather than redrawn, so the draw count stays one a part (CRN).
        return lambda rng, n: np.maximum(1.0 + c * rng.standard_normal(n), 1e-9)
    if dist == "lognormal":
        sigma = math.sqrt(math.log1p(c * c))
        return lambda rng, n: np.exp(sigma * rng.standard_normal(n) - 0.5 * sigma * sigma)
    if dist == "gamma":
        if c == 0:
            return lambda rng, n: np.ones(n)
        shape = 1.0 / (c * c)
        return lambda rng, n: rng.standard_gamma(shape, n) / shape
    if dist == "uniform":
        half = c * math.sqrt(3.0)
        return lambda rng, n: 1.0 + half * (2.0 * rng.random(n) - 1.0)
    if dist == "triangular":
        half = c * math.sqrt(6.0)
        if half == 0:
            return lambda rng, n: np.ones(n)
        return lambda rng, n: rng.triangular(1.0 - half, 1.0, 1.0 + half, n)
    if dist == "weibull":
        if c == 0:
            return lambda rng, n: np.ones(n)
        k = weibull_shape(c)
        scale = 1.0 / math.exp(math.lgamma(1 + 1 / k))
        return lambda rng, n: scale * rng.weibull(k, n)
    if dist == "empirical":
        if not samples:
            raise ValueError("empirical distribution without samples")
        values = np.asarray(samples, dtype=float)
        values = values / values.mean()

        def pick(rng: np.random.Generator, n: int) -> np.ndarray:
            return values[rng.integers(0, len(values), n)]

        pick.blockwise = True  # type: ignore[attr-defined]  # bounded integers may buffer: draw a block per call
        return pick
    raise ValueError(f"unknown distribution {dist!r}")


class Sampler:
    """Draws scaled by `mean`, fetched from the stream a block at a time."""

    __slots__ = ("_rng", "_draw", "mean", "_buf", "_pos")

    def __init__(self, rng: np.random.Generator, draw: UnitDraw, mean: float) -> None:
        self._rng = rng
        self._draw = draw
        self.mean = float(mean)
        self._buf: list[float] = []
        self._pos = 0

    def __call__(self) -> float:
        pos = self._pos
        if pos == len(self._buf):
            self._buf = (self._draw(self._rng, BLOCK) * self.mean).tolist()
            pos = 0
        self._pos = pos + 1
        return self._buf[pos]


class Bernoulli:
    """Yes/no draws with probability p, from uniforms fetched a block at a time."""

    __slots__ = ("_rng", "p", "_buf", "_pos")

    def __init__(self, rng: np.random.Generator, p: float) -> None:
        self._rng = rng
        self.p = float(p)
        self._buf: list[float] = []
        self._pos = 0

    def uniform(self) -> float:
        pos = self._pos
        if pos == len(self._buf):
            self._buf = self._rng.random(BLOCK).tolist()
            pos = 0
        self._pos = pos + 1
        return self._buf[pos]

    def __call__(self) -> bool:
        return self.uniform() < self.p
