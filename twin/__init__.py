"""twin: a factory line-throughput digital twin.

    import twin
    sc = twin.load("lines/wheel.toml")
    sc2 = sc.with_station("wheel", "machining", cycle_s=14)
    res = twin.run(sc2, hours=168, reps=10, seed=1)
    res.throughput.per_hour.mean, res.throughput.per_hour.ci95
    res.to_dict()
"""

from twin.engine.model import STATES, ReplicationResult, RunConfig
from twin.errors import Problem, ScenarioError, TwinError
from twin.experiment import run
from twin.results import Results
from twin.scenario import Scenario, from_dict, load
from twin.stats import Estimate

__version__ = "0.1.0"

__all__ = [
    "STATES",
    "Estimate",
    "Problem",
    "ReplicationResult",
    "Results",
    "RunConfig",
    "Scenario",
    "ScenarioError",
    "TwinError",
    "from_dict",
    "load",
    "run",
]
