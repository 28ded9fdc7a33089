"""Which scenarios the flow engine runs exactly, without loading it: `auto` asks this of every run, and the
compiled kernels (numba) are imported only when the flow engine actually runs."""

from __future__ import annotations

from twin.engine.model import RunConfig
from twin.scenario import Scenario
from twin.spec import names_of


def flow_problem(scenario: Scenario, config: RunConfig | None = None) -> str | None:
    """Why the flow engine cannot run this scenario exactly (the first feature it cannot carry), or None."""
    spec = scenario.spec
    mix_line = spec.mix.line if spec.mix is not None else None
    for line in spec.lines:
        for pos, st in enumerate(line.stations):
            # a delay (kind = "delay") is a multi-server det station by then: the flow engine runs it as one
            if st.kind == "batch":
                return f"batch stations ({line.name}/{st.name})"
            if st.kind == "conveyor":
                return f"paced conveyors ({line.name}/{st.name})"
            for inp in st.inputs:
                sources = names_of(inp.source)
                if len(sources) > 1:
                    return f"a stock fed by several lines ({'+'.join(sources)} -> {line.name}/{st.name})"
            if st.inputs and pos == 0 and st.servers > 1 and line.name == mix_line:
                # each server would wait for the kit of its own variant, and the first complete kit goes first
                return f"parallel servers gathering kits of a mix at a line's first station ({line.name}/{st.name})"
            failing = config is None or config.failures
            if failing and st.mtbf_s is not None and st.mttr_s is not None and st.failure_basis == "calendar":
                return f"calendar-based failures (line {line.name}, station {st.name})"
    if config is not None and config.trace:
        return "a state trace (--trace)"
    return None
