"""Baseline: a plain, idiomatic SimPy model of a serial line with blocking after service.

This is the reference implementation whose speed our engine is compared with, so it
is written the way a competent SimPy user would write it: one process per station,
one RNG per station drawing one variate at a time, standard SimPy resources.

Model
-----
K single-server stations in series; station j has processing time with mean
``cycle_s[j]`` (exponential, or constant with ``dist="det"``). Between station j and
j+1 there is a buffer of ``buffers[j] >= 0`` waiting places (parts on machines not
counted). Station 0 is never starved; the last station is never blocked.

Blocking after service (BAS) idiom
----------------------------------
``simpy.Store`` cannot have capacity 0, so buffer space is not modelled by the store.
Instead, segment j (buffer j plus the machine of station j+1) gets a
``simpy.Container`` of *free slots* with capacity and initial level ``buffers[j] + 1``:

* station j, after finishing a part, does ``yield slots[j].get(1)`` while the part
  stays on its machine (it is blocked until this succeeds), then puts the part into
  ``parts_in[j]`` (a ``simpy.Store``, which never blocks because slots bound it);
* station j+1 takes parts from ``parts_in[j]``; when its part *leaves* station j+1
  (i.e. after it was handed on downstream, or completed at the last station) it
  returns the slot with ``slots[j].put(1)``.

Thus the parts in buffer j plus the part (in service or blocked) on machine j+1
never exceed ``buffers[j] + 1``. Since an idle machine j+1 implies an empty buffer j,
"a free slot exists" is exactly "buffer j has room, or machine j+1 is free", which
is the BAS rule, including ``buffers[j] == 0`` (direct hand-over only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy


def run_plain(
    cycle_s: list[float],
    buffers: list[int],
    parts: int | None = None,
    horizon_s: float | None = None,
    seed: int = 0,
    dist: str = "exp",
) -> dict[str, float | int]:
    """Simulate the line until ``parts`` parts leave the last station or ``horizon_s``.

    If both stopping criteria are given, whichever comes first ends the run.
    Returns ``{"finished": n, "sim_time_s": t, "station_operations": ops}`` where
    ``ops`` counts completed processing operations over all stations.
    """
    k = len(cycle_s)
    if k < 1 or len(buffers) != k - 1:
        raise ValueError("need len(buffers) == len(cycle_s) - 1 >= 0")
    if any(b < 0 for b in buffers):
        raise ValueError("buffer capacities must be >= 0")
    if parts is None and horizon_s is None:
        raise ValueError("give parts and/or horizon_s")
    if dist not in ("exp", "det"):
        raise ValueError("dist must be 'exp' or 'det'")

    env = simpy.Environment()
    # Independent streams per station, derived from the one seed.
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(k)]
    slots = [simpy.Container(env, capacity=b + 1, init=b + 1) for b in buffers]
    parts_in = [simpy.Store(env, capacity=b + 1) for b in buffers]
    done = env.event()
    stats = {"finished": 0, "ops": 0}

    def make_draw(j: int) -> Callable[[], float]:
        mean = float(cycle_s[j])
        if dist == "det":
            return lambda: mean
        rng = rngs[j]
        return lambda: rng.exponential(mean)

    def station(j: int) -> Generator[simpy.Event, Any, None]:
        draw = make_draw(j)
        last = j == k - 1
        next_id = 0
        while True:
            if j == 0:
                # Never starved: a fresh part is available whenever the machine is free.
                part = next_id
                next_id += 1
            else:
                part = yield parts_in[j - 1].get()
            yield env.timeout(draw())
            stats["ops"] += 1
            if last:
                stats["finished"] += 1
                if stats["finished"] == parts:
                    done.succeed()
            else:
                # Blocking after service: the part holds this machine until a slot downstream frees up.
                yield slots[j].get(1)
                yield parts_in[j].put(part)
            if j > 0:
                # The part has left this machine, so its place in the upstream segment is free.
                # Not yielded: the level is below capacity, so this put can never wait.
                slots[j - 1].put(1)

    for j in range(k):
        env.process(station(j))

    if parts is not None and horizon_s is not None:
        env.run(until=env.any_of([done, env.timeout(horizon_s)]))
    elif parts is not None:
        env.run(until=done)
    else:
        env.run(until=horizon_s)

    return {
        "finished": stats["finished"],
        "sim_time_s": env.now,
        "station_operations": stats["ops"],
    }


if __name__ == "__main__":
    n_stations, n_parts = 20, 10**4
    t0 = time.process_time()
    res = run_plain([10.0] * n_stations, [2] * (n_stations - 1), parts=n_parts, seed=0)
    cpu = time.process_time() - t0
    print(f"finished:           {res['finished']}")
    print(f"sim time:           {res['sim_time_s']:.1f} s")
    print(f"station operations: {res['station_operations']}")
    print(f"CPU per station-op: {cpu / res['station_operations'] * 1e6:.2f} us  (total {cpu:.3f} s)")
