"""Where a session's units of work run: in this process one after another, in N worker
processes on this machine, or on a Ray cluster. The three give the same results: a unit's result
depends only on its job (the fit's own thread count is the fit config's, whatever the budget).

An executor takes a unit (a function of a job, :mod:`core.session.work`) with :meth:`submit` and
hands finished ones back with :meth:`next_done`; a unit's exception (a worker that died) comes
back as the value, for the caller to report.

This module imports nothing heavy at its top: a worker process sets its thread budget before
torch is imported.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from core.errors import InputError

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that cap the numerical libraries' threads at ``threads``."""
    return {name: str(threads) for name in THREAD_VARIABLES}


def limit_threads(threads: int) -> None:
    """Give this (worker) process a budget of ``threads`` CPU threads: OpenMP, BLAS, torch,
    OpenCV."""
    os.environ.update(thread_environment(threads))
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def default_threads(jobs: int) -> int:
    """Each of ``jobs`` workers' share of this machine's cores (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


class SerialExecutor:
    """Units run here, one at a time, in the order submitted (``should_cancel`` reaches them)."""

    description = "serial"

    def __init__(self, should_cancel: Callable[[], bool] | None = None):
        self._queue: deque = deque()
        self._tickets = itertools.count()
        self._should_cancel = should_cancel

    def submit(self, unit: Callable, job: Any) -> int:
        ticket = next(self._tickets)
        self._queue.append((ticket, unit, job))
        return ticket

    @property
    def pending(self) -> int:
        return len(self._queue)

    def next_done(self) -> tuple[int, Any]:
        ticket, unit, job = self._queue.popleft()
        return ticket, unit(job, self._should_cancel)

    def close(self) -> None:
        self._queue.clear()


class ProcessExecutor:
    """Units run in ``jobs`` worker processes (spawned: no state shared with this one), each
    with a budget of ``threads`` CPU threads."""

    def __init__(self, jobs: int, threads: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.description = f"{jobs} processes x {threads} thread{'s' if threads > 1 else ''}"
        self._pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=limit_threads, initargs=(threads,))
        self._futures: dict = {}
        self._tickets = itertools.count()

    def submit(self, unit: Callable, job: Any) -> int:
        ticket = next(self._tickets)
        self._futures[self._pool.submit(unit, job)] = ticket
        return ticket

    @property
    def pending(self) -> int:
        return len(self._futures)

    def next_done(self) -> tuple[int, Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        future = next(iter(done))
        ticket = self._futures.pop(future)
        error = future.exception()
        return ticket, error if error is not None else future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Units run as Ray tasks of ``threads`` CPUs each: on the cluster at ``address`` (``auto``:
    the one ``RAY_ADDRESS`` or a running local head names; ``ray://host:10001``: through Ray
    Client), or on a Ray instance started here for this session (``local``, with ``cpus`` CPUs:
    default all of this machine's). Every node needs
    this package installed and the session's input and output folders at the same paths."""

    def __init__(self, address: str, threads: int, cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise InputError("--ray needs the ray package: pip install ray") from None
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            runtime_env = {"env_vars": {**thread_environment(threads),
                                        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {})}}
            try:
                local = {"num_cpus": cpus} if address == "local" and cpus else {}
                ray.init(address=None if address == "local" else address, runtime_env=runtime_env, **local,
                         include_dashboard=False, log_to_driver=False, configure_logging=False)
            except ConnectionError as exc:
                raise InputError(f"--ray {address}: cannot connect to a Ray cluster ({exc})") from None
        resources = ray.cluster_resources()
        self.description = f"Ray at {address} ({int(resources.get('CPU', 0))} CPUs) x {threads} thread" + \
            ("s" if threads > 1 else "")
        self._threads = threads
        self._remote: dict = {}
        self._refs: dict = {}
        self._tickets = itertools.count()

    def submit(self, unit: Callable, job: Any) -> int:
        if unit not in self._remote:
            self._remote[unit] = self._ray.remote(num_cpus=self._threads, max_retries=0)(_in_ray_worker).options(
                name=unit.__name__)
        ticket = next(self._tickets)
        self._refs[self._remote[unit].remote(unit, job, self._threads)] = ticket
        return ticket

    @property
    def pending(self) -> int:
        return len(self._refs)

    def next_done(self) -> tuple[int, Any]:
        ready, _ = self._ray.wait(list(self._refs), num_returns=1)
        ref = ready[0]
        ticket = self._refs.pop(ref)
        try:
            return ticket, self._ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - a task that died: reported by the caller
            return ticket, exc

    def close(self) -> None:
        for ref in list(self._refs):
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._started:
            self._ray.shutdown()


def _in_ray_worker(unit: Callable, job: Any, threads: int) -> Any:
    limit_threads(threads)
    return unit(job)


def make_executor(jobs: int = 1, threads: int | None = None, ray_address: str | None = None,
                  should_cancel: Callable[[], bool] | None = None):
    """The executor the command line asks for: Ray (``ray_address``; a local instance gets
    ``jobs`` x ``threads`` CPUs when ``jobs`` is more than 1), ``jobs`` processes, or serial
    (``jobs`` 1)."""
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    threads = threads or default_threads(jobs)
    if ray_address is not None:
        return RayExecutor(ray_address, threads, jobs * threads if jobs > 1 else None)
    if jobs == 1:
        return SerialExecutor(should_cancel)
    return ProcessExecutor(jobs, threads)
