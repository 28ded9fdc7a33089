"""The desktop app: a scenario running live in pyqtgraph (PySide6). It imports twin; twin never imports it.

`twin gui [SCENARIO]` opens it (the command is registered by this package as a `twin.commands` entry point).
"""
