"""`twin gui`: the desktop app's command, registered with twin's command line as a `twin.commands` entry point.

Qt is imported only when the command runs, so `twin` works (and says what to install) without the gui extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twin.errors import TwinError
from twin.scenario import load


def gui(
    scenario: Annotated[str, typer.Argument(help="a scenario .toml file or a built-in name")] = "jinhua",
    screenshot: Annotated[str | None, typer.Option(help="run without a screen, save a PNG of the window to PATH "
                                                        "and exit")] = None,
    sim_hours: Annotated[float, typer.Option(help="with --screenshot: simulated hours to run first")] = 24.0,
    seed: Annotated[int | None, typer.Option(help="random seed (default: the scenario's)")] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing --screenshot file")] = False,
) -> None:
    """Open the desktop app: the scenario running live, its bottleneck outlined, its stations editable."""
    sc = load(scenario)
    if screenshot is not None:
        path = Path(screenshot)
        if path.suffix.lower() != ".png":
            raise TwinError(f"--screenshot {screenshot}: give a file name ending in .png")
        if path.exists() and not force:
            raise TwinError(f"--screenshot {screenshot}: the file exists; choose another path or add --force")
        if not path.parent.exists():
            raise TwinError(f"--screenshot {screenshot}: the folder {path.parent} does not exist")
        if not sim_hours > 0:
            raise TwinError(f"--sim-hours {sim_hours}: must be > 0")
    try:
        from pyqtgraph.Qt import QtWidgets

        from viz.app import MainWindow, run_headless
    except ImportError as exc:
        raise TwinError(f"twin gui needs the gui extra ({exc}); install it with: pip install -e '.[gui]'") from exc
    if screenshot is not None:
        run_headless(sc, sim_hours, Path(screenshot), seed)
        return
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow(sc, seed)
    window.resize(1600, 1000)
    window.show()
    app.exec()
