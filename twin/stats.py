"""Estimates over replications: mean and Student-t interval (shared/methods.md, "Confidence intervals")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=512)
def t_quantile(level: float, dof: int) -> float:
    """The two-sided Student-t quantile t_{(1+level)/2, dof}."""
    from scipy.special import stdtrit  # scipy.stats would add a second to every start of the CLI

    return float(stdtrit(dof, 0.5 + level / 2.0))


@dataclass(frozen=True)
class Estimate:
    """A KPI over R independent replications: mean ± t_{(1+level)/2, R-1} · s / √R."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: np.ndarray | list[float]) -> Estimate:
        return cls(tuple(float(v) for v in np.asarray(values, dtype=float).ravel()))

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def _finite(self) -> np.ndarray:
        arr = np.asarray(self.values, dtype=float)
        return arr[np.isfinite(arr)]

    @property
    def mean(self) -> float:
        arr = self._finite
        return float(arr.mean()) if arr.size else math.nan

    @property
    def std(self) -> float:
        arr = self._finite
        return float(arr.std(ddof=1)) if arr.size > 1 else math.nan

    def half_width(self, level: float = 0.95) -> float:
        arr = self._finite
        if arr.size < 2:
            return math.nan
        return t_quantile(level, arr.size - 1) * float(arr.std(ddof=1)) / math.sqrt(arr.size)

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        h = self.half_width(level)
        return (self.mean - h, self.mean + h)

    @property
    def ci95(self) -> tuple[float, float]:
        return self.ci(0.95)

    def scaled(self, factor: float) -> Estimate:
        return Estimate(tuple(v * factor for v in self.values))

    def to_dict(self) -> dict[str, object]:
        lo, hi = self.ci95
        return {"mean": _clean(self.mean), "ci95": [_clean(lo), _clean(hi)]}



def _clean(value: float) -> float | None:
    """JSON has no NaN: an interval that needs two replications is null with one."""
    return None if not math.isfinite(value) else float(value)
