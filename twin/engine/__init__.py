"""Engines: each takes a `Scenario` and a `RunConfig` and returns a `ReplicationResult`."""

from twin.engine.model import STATES, ReplicationResult, RunConfig, Trace

__all__ = ["STATES", "ReplicationResult", "RunConfig", "Trace"]
