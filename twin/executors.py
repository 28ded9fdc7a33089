"""Where tasks run: in this process, in a pool of processes on this machine, or on a Dask cluster.

One small interface — `submit_all(fn, tasks)` yields (task, result) as tasks finish, in any order — so that
sweeps and comparisons do not care where they run. Results must not depend on the order of completion: callers
key them by task. No home-made scheduling beyond this: the pool is the standard library's, the cluster is Dask's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    name: str

    def submit_all(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[tuple[T, R]]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Everything in this process, one task after the other."""

    name = "serial"

    def submit_all(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[tuple[T, R]]:
        for task in tasks:
            yield task, fn(task)

    def close(self) -> None:
        pass


class PoolExecutor:
    """A pool of worker processes on this machine (the default: one per core)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.name = f"process pool ({self.workers})"
        self._pool = ProcessPoolExecutor(max_workers=self.workers)

    def submit_all(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[tuple[T, R]]:
        pending: dict[Future[R], T] = {}
        queue = iter(tasks)
        try:
            for task in queue:  # keep twice as many tasks queued as there are workers, no more
                pending[self._pool.submit(fn, task)] = task
                if len(pending) >= 2 * self.workers:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    yield task, future.result()
                    for more in queue:
                        pending[self._pool.submit(fn, more)] = more
                        break
        except BaseException:
            self._terminate()
            raise

    def _terminate(self) -> None:
        # Ctrl-C or a failed task: stop the workers now (Python 3.11 has no public way to end running tasks).
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class DaskExecutor:
    """A Dask distributed cluster: an existing scheduler (`tcp://host:port`) or a LocalCluster on this machine."""

    def __init__(self, scheduler: str | None = None, local: bool = False, processes: bool = True,
                 workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - the extra is part of the test install
            raise RuntimeError("Dask is not installed: pip install 'dask[distributed]'") from exc
        self._cluster: Any = None
        if scheduler is not None:
            self._client = Client(scheduler)
            self.name = f"dask ({scheduler})"
        else:
            self._cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                         processes=processes, dashboard_address=None)
            self._client = Client(self._cluster)
            self.name = "dask (local cluster)"

    def submit_all(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[tuple[T, R]]:
        from distributed import as_completed

        items = list(tasks)
        futures = {self._client.submit(fn, task, pure=False): task for task in items}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None, dask_local: bool = False) -> Executor:
    """The executor the options ask for: Dask if a scheduler or a local cluster is asked, else a process pool,
    else (one worker) this process."""
    if scheduler is not None or dask_local:
        return DaskExecutor(scheduler=scheduler, local=dask_local, workers=workers)
    if workers is not None and workers <= 1:
        return SerialExecutor()
    return PoolExecutor(workers)
