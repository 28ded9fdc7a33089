"""Blockage-and-starvation verdicts for serial lines (shared/methods.md).

- Arrow-based method (Kuo, Lim & Meerkov 1996): between stations j and j+1 an arrow points to j+1 if BL_j > ST_{j+1},
  otherwise to j. A station that no arrow leaves is a bottleneck; several are ranked by their severity, the size
  of the BL/ST differences around them.
- Turning point (Li, Chang & Ni 2009): station j is a turning point when the station before it is more blocked
  than starved (BL_{j-1} > ST_{j-1}) and the one after it more starved than blocked (ST_{j+1} > BL_{j+1}); at the
  ends only the condition that exists applies. Several: the one with the smallest BL_j + ST_j.

BL and ST are shares of on-shift time (off-shift time removed), per station, in flow order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ArrowVerdict:
    arrows_right: np.ndarray  # arrows_right[j] is True when the arrow between j and j+1 points to j+1
    bottlenecks: list[int]  # stations no arrow leaves, most severe first
    severity: np.ndarray  # per station (0 where it is not a bottleneck)

    @property
    def verdict(self) -> int:
        return self.bottlenecks[0]


def arrow_method(blocked: np.ndarray, starved: np.ndarray) -> ArrowVerdict:
    bl, st = np.asarray(blocked, dtype=float), np.asarray(starved, dtype=float)
    k = len(bl)
    right = bl[:-1] > st[1:]  # arrow j -> j+1
    severity = np.zeros(k)
    candidates = []
    for j in range(k):
        leaves_left = j > 0 and not right[j - 1]  # the arrow between j-1 and j points to j-1
        leaves_right = j < k - 1 and right[j]
        if leaves_left or leaves_right:
            continue
        candidates.append(j)
        if j > 0:
            severity[j] += abs(bl[j - 1] - st[j])
        if j < k - 1:
            severity[j] += abs(st[j + 1] - bl[j])
    candidates.sort(key=lambda j: -severity[j])
    return ArrowVerdict(right, candidates, severity)


def turning_point(blocked: np.ndarray, starved: np.ndarray) -> int | None:
    """The turning-point bottleneck, or None if no station is one."""
    bl, st = np.asarray(blocked, dtype=float), np.asarray(starved, dtype=float)
    k = len(bl)
    points = []
    for j in range(k):
        upstream_ok = j == 0 or bl[j - 1] > st[j - 1]
        downstream_ok = j == k - 1 or st[j + 1] > bl[j + 1]
        if upstream_ok and downstream_ok:
            points.append(j)
    if not points:
        return None
    return min(points, key=lambda j: bl[j] + st[j])
