"""The bottleneck picture as a PNG: stacked state shares per station, and the shifting-bottleneck timeline.

matplotlib with its Agg backend, not pyqtgraph's exporter: a static report figure needs no Qt application, no
display (offscreen or Xvfb) and no scene set-up, and renders the same in CI as on a desk. The live view (viz/) is
where pyqtgraph belongs. This module writes a file and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.engine.model import STATES

if TYPE_CHECKING:
    from twin.analytics.bottleneck import BottleneckReport

COLOURS = {"working": "#2e7d32", "blocked": "#f9a825", "starved": "#1565c0", "down": "#c62828",
           "off_shift": "#9e9e9e"}


def bottleneck_png(report: BottleneckReport, path: str | Path, timeline: tuple[np.ndarray, ...] | None = None) -> None:
    """Write the figure. `timeline` = (start, end, station) arrays of the momentary bottleneck of one replication."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = report.results
    names = [f"{s.line}/{s.name}" if len({x.line for x in res.stations}) > 1 else s.name for s in res.stations]
    k = len(names)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8.0, 0.55 * k + 3), 7.5),
                                   gridspec_kw={"height_ratios": [3, 2]})
    bottom = np.zeros(k)
    for state in STATES:
        values = np.array([100 * s.shares[state].mean for s in res.stations])
        ax1.bar(range(k), values, bottom=bottom, color=COLOURS[state], label=state.replace("_", "-"), width=0.75)
        bottom += values
    verdict = f"{report.verdict.line}/{report.verdict.station}"
    for i, s in enumerate(res.stations):
        if f"{s.line}/{s.name}" == verdict:
            ax1.annotate("bottleneck", (i, 101), ha="center", va="bottom", fontsize=9, weight="bold")
    ax1.set_xticks(range(k), names, rotation=45 if k > 6 else 0, ha="right" if k > 6 else "center", fontsize=8)
    ax1.set_ylabel("% of time")
    ax1.set_ylim(0, 110)
    ax1.legend(ncol=5, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25 if k > 6 else -0.1))
    ax1.set_title(f"{res.scenario.name}: state shares ({len(res.replications)} replications); verdict {verdict}")
    if timeline is not None and len(timeline[0]):
        start, end, station = timeline
        hours = 3600.0
        for a, b, s in zip(start, end, station):
            ax2.broken_barh([(a / hours, (b - a) / hours)], (int(s) - 0.4, 0.8), color="#6a1b9a")
        ax2.set_yticks(range(k), names, fontsize=8)
        ax2.set_xlabel("working hours (replication 1)")
        ax2.set_title("momentary bottleneck over time (shifting-bottleneck method)")
        ax2.invert_yaxis()
    else:
        ax2.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sweep_png(settings: list, points: list, path: str | Path, scenario_name: str = "") -> None:  # type: ignore[type-arg]
    """Throughput over the swept parameter with its 95% band (one setting), or a heat map of it (two settings;
    the command line refuses a picture of more).

    `settings` are twin.sweep.Setting, `points` twin.sweep.PointSummary in grid order.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = np.array([p.throughput_per_hour.mean for p in points])
    fig, ax = plt.subplots(figsize=(8, 5))
    if len(settings) == 1:
        x = np.array([p.values[0] for p in points])
        bands = [p.throughput_per_hour.ci(0.95) for p in points]
        lo = np.array([b[0] if b[0] is not None else m for b, m in zip(bands, mean)])
        hi = np.array([b[1] if b[1] is not None else m for b, m in zip(bands, mean)])
        ax.fill_between(x, lo, hi, color="#90caf9", alpha=0.6, label="95% interval")
        ax.plot(x, mean, "o-", color="#1565c0", label="throughput")
        ax.set_xlabel(settings[0].key)
        ax.set_ylabel("product an hour")
        ax.legend()
    else:
        a, b = settings[0], settings[1]
        grid = mean.reshape(len(a.values), len(b.values))
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(b.values)), [f"{v:g}" for v in b.values])
        ax.set_yticks(range(len(a.values)), [f"{v:g}" for v in a.values])
        ax.set_xlabel(b.key)
        ax.set_ylabel(a.key)
        fig.colorbar(image, ax=ax, label="product an hour (mean)")
    ax.set_title(f"{scenario_name}: throughput over the sweep".strip(": "))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
