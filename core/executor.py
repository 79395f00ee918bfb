"""Where heavy jobs run: in this process, or on a Dask cluster.

A heavy job (a walk-forward comparison of designs, a resampled frontier, a Monte Carlo run in
chunks) is written once as ``executor.map(task, items, shared=...)``: ``task`` is a pure,
module-level (picklable) function called as ``task(item, **shared)``; ``items`` are the small
per-task inputs (a design, a seed, a block of windows); ``shared`` holds the large inputs every
task reads (the price frame, the covariance), sent once. Results come back in the order of
``items``, so a job gives identical results wherever it runs for the same seeds.

Conventions
-----------
- Tasks must pay for their transfer: one task per design, per resample or per chunk of
  scenarios, never one per scenario.
- ``progress(done, total)`` is called after each finished task, in this process.
- ``cancel()`` is polled between tasks; when it returns True the job stops and
  :class:`JobCancelledError` is raised.
- Which executor runs a job is chosen by :func:`get_executor`: the environment variable
  ``BALLAST_DASK_ADDRESS`` (``tcp://host:8786``) selects the Dask cluster; without it jobs run
  in-process.

On a Dask cluster (:class:`DaskExecutor`, ``distributed.Client``) the shared inputs are
scattered once to every worker (``client.scatter(..., broadcast=True)``), each item becomes one
task, and the results are gathered in the order of ``items``. The workers must be able to
import Ballast's ``core`` package: start ``dask worker`` from Ballast's folder, or with it on
``PYTHONPATH``. A cluster that cannot be reached, that goes away while a job runs, or that has
no workers for :attr:`DaskExecutor.no_worker_timeout` seconds raises
:class:`ClusterUnavailableError`; an error raised by a task itself (a ``BallastError`` for
bad inputs) reaches the caller as it would in-process.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import CancelledError
from typing import Any, Protocol

from core.exceptions import BallastError

__all__ = [
    "DASK_ADDRESS_VARIABLE",
    "Executor",
    "InProcessExecutor",
    "DaskExecutor",
    "JobCancelledError",
    "ClusterUnavailableError",
    "get_executor",
]

DASK_ADDRESS_VARIABLE = "BALLAST_DASK_ADDRESS"

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


class JobCancelledError(BallastError):
    """The user cancelled a running job; no partial result is returned."""


class ClusterUnavailableError(BallastError):
    """The Dask cluster could not be reached or went away while a job ran."""


class Executor(Protocol):
    """What every executor offers: an ordered map of a pure task over items.

    Methods
    -------
    map(task, items, shared=None, progress=None, cancel=None) -> list
        ``[task(item, **shared) for item in items]``, computed wherever the executor runs
        tasks, returned in the order of ``items``.
    """

    name: str

    def map(
        self,
        task: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> list[Any]:
        """Run ``task(item, **shared)`` for every item; see the module docstring."""
        ...


class InProcessExecutor:
    """Run every task in this process, one after the other (the default).

    Examples
    --------
    >>> InProcessExecutor().map(pow, [1, 2, 3], shared={"exp": 2})
    [1, 4, 9]
    """

    name = "in-process"

    def map(
        self,
        task: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> list[Any]:
        """Run ``task(item, **shared)`` for every item in order.

        Parameters
        ----------
        task : callable
            Pure function ``task(item, **shared)``.
        items : iterable
            Per-task inputs.
        shared : mapping, optional
            Keyword arguments passed to every call.
        progress : callable, optional
            ``progress(done, total)`` after each task.
        cancel : callable, optional
            Polled before each task; True stops the job.

        Returns
        -------
        list
            One result per item, in the order of ``items``.

        Raises
        ------
        JobCancelledError
            When ``cancel()`` returned True.
        """
        items = list(items)
        kwargs = dict(shared or {})
        results = []
        for done, item in enumerate(items):
            if cancel is not None and cancel():
                raise JobCancelledError("The job was cancelled; the previous results are kept.")
            results.append(task(item, **kwargs))
            if progress is not None:
                progress(done + 1, len(items))
        return results


def _call(item: Any, task: Callable[..., Any], shared: Mapping[str, Any]) -> Any:
    # Runs on a worker: the scattered futures inside ``shared`` arrive resolved.
    return task(item, **shared)


def _connect_message(address: str, exc: BaseException) -> str:
    return (
        f"The Dask cluster at {address} cannot be reached ({type(exc).__name__}: {exc}). "
        f"Check that its scheduler runs (`dask scheduler`) and that the address is right, or "
        f"unset {DASK_ADDRESS_VARIABLE} to run jobs in this process."
    )


def _lost_message(address: str) -> str:
    return (
        f"The Dask cluster at {address} went away while the job ran (the scheduler or its "
        "workers stopped); no partial result is returned. Restart the cluster and run the job "
        f"again, or unset {DASK_ADDRESS_VARIABLE} to run jobs in this process."
    )


class DaskExecutor:
    """Run the tasks of a job on a Dask cluster through ``distributed.Client``.

    Parameters
    ----------
    address : str, optional
        The scheduler's address (``tcp://host:8786``). Either this or ``client``.
    client : distributed.Client, optional
        A connected client to use (it is not closed by :meth:`close`).
    connect_timeout : float
        Seconds to wait for the scheduler when connecting (default 5).
    no_worker_timeout : float
        Seconds a job waits while the cluster has no worker before it fails (default 30).
    poll_interval : float
        Seconds between checks of progress, ``cancel()`` and the cluster's health.

    Notes
    -----
    The connection is opened on first use, so building the executor never blocks. Task keys
    are ``ballast-<task>-<job id>-<index>`` (``pure=False``): two jobs never share results.

    References
    ----------
    Dask.distributed documentation, "Futures" (``Client.scatter``, ``Client.map``,
    ``as_completed``): https://distributed.dask.org/en/stable/client.html
    """

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Any | None = None,
        connect_timeout: float = 5.0,
        no_worker_timeout: float = 30.0,
        poll_interval: float = 0.05,
    ) -> None:
        if client is None and not (address or "").strip():
            raise ClusterUnavailableError("A Dask executor needs a scheduler address.")
        self._client = client
        self._owns_client = client is None
        self.address = str(address or client.scheduler.address).strip()
        self.connect_timeout = float(connect_timeout)
        self.no_worker_timeout = float(no_worker_timeout)
        self.poll_interval = float(poll_interval)

    @property
    def client(self) -> Any:
        """The connected ``distributed.Client`` (connects on first use, reconnects if closed).

        Raises
        ------
        ClusterUnavailableError
            When the scheduler cannot be reached within ``connect_timeout`` seconds, or the
            ``distributed`` package is not installed.
        """
        if self._client is not None and self._client.status in ("running", "connecting"):
            return self._client
        if not self._owns_client:
            raise ClusterUnavailableError(_lost_message(self.address))
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - distributed is a pinned requirement
            raise ClusterUnavailableError(
                f"{DASK_ADDRESS_VARIABLE} is set, but the `distributed` package is not "
                "installed: `pip install distributed`, or unset the variable."
            ) from exc
        # A client distributed finalises in the garbage collector closes itself under a lock
        # that every client of the process shares (LoopRunner._lock, distributed 2026.8). If
        # that collection happens inside a new client's start-up, which holds the lock while
        # its event-loop thread starts, the start-up hangs or fails with a bare
        # AssertionError. So no client of ours is left to the collector: a lost one is
        # closed here, and one that failed to start is collected at once.
        if self._client is not None:
            stale, self._client = self._client, None
            with contextlib.suppress(Exception):  # it is lost already: closing is tidying
                stale.close(timeout=self.connect_timeout)
        try:
            client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            message = _connect_message(self.address, exc)
        else:
            self._client = client
            return client
        gc.collect()  # the client that failed to start is in a reference cycle
        raise ClusterUnavailableError(message) from None

    def close(self) -> None:
        """Close the connection this executor opened (a client passed in is left open)."""
        if self._owns_client and self._client is not None:
            self._client.close()
        self._client = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def n_workers(self) -> int:
        """Number of workers connected to the scheduler now.

        Raises
        ------
        ClusterUnavailableError
            When the scheduler cannot be reached.
        """
        try:
            return len(self.client.nthreads())
        except (OSError, TimeoutError, CancelledError) as exc:
            raise ClusterUnavailableError(_connect_message(self.address, exc)) from None

    def map(
        self,
        task: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> list[Any]:
        """Run ``task(item, **shared)`` for every item on the cluster.

        Parameters
        ----------
        task : callable
            Pure, module-level function ``task(item, **shared)`` importable on the workers.
        items : iterable
            Per-task inputs (small; each is sent with its task).
        shared : mapping, optional
            Keyword arguments for every call, scattered once to every worker.
        progress : callable, optional
            ``progress(done, total)`` each time tasks finish (in this process).
        cancel : callable, optional
            Polled while the job runs; True cancels the job's tasks on the cluster.

        Returns
        -------
        list
            One result per item, in the order of ``items``.

        Raises
        ------
        JobCancelledError
            When ``cancel()`` returned True.
        ClusterUnavailableError
            When the cluster cannot be reached, goes away during the job, loses the workers
            running a task repeatedly, has no worker for ``no_worker_timeout`` seconds, or its
            workers cannot import Ballast's code.
        """
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        items = list(items)
        if not items:
            return []
        client = self.client
        job = f"ballast-{getattr(task, '__name__', 'task')}-{uuid.uuid4().hex[:12]}"
        keys = [f"{job}-{i}" for i in range(len(items))]
        position = {k: i for i, k in enumerate(keys)}
        futures: list[Any] = []
        scattered: dict[str, Any] = {}
        try:
            if shared:
                # A list, not the mapping: a scattered dict's names become the data's keys,
                # and two jobs sharing a name ("prices") would release each other's data.
                names = list(shared)
                sent = client.scatter(
                    [shared[n] for n in names], broadcast=True, hash=False,
                    timeout=self.no_worker_timeout,
                )  # fmt: skip
                scattered = dict(zip(names, sent, strict=True))
            futures = client.map(_call, items, key=keys, pure=False, task=task, shared=scattered)
            results: list[Any] = [None] * len(items)
            pending = as_completed(futures, loop=client.loop)
            done = 0
            workerless_since: float | None = None
            last_health = time.monotonic()
            while done < len(items):
                if cancel is not None and cancel():
                    client.cancel(futures)
                    raise JobCancelledError("The job was cancelled; the previous results are kept.")
                batch = pending.next_batch(block=False)
                if not batch:
                    now = time.monotonic()
                    if client.status not in ("running", "connecting"):
                        raise ClusterUnavailableError(_lost_message(self.address))
                    if now - last_health >= 1.0:
                        last_health = now
                        if client.status == "running" and not client.nthreads():
                            workerless_since = workerless_since or now
                            if now - workerless_since > self.no_worker_timeout:
                                raise ClusterUnavailableError(
                                    f"The Dask cluster at {self.address} has had no worker for "
                                    f"{self.no_worker_timeout:.0f} s; start workers "
                                    f"(`dask worker {self.address}`) and run the job again."
                                )
                        else:
                            workerless_since = None
                    time.sleep(self.poll_interval)
                    continue
                for fut in batch:
                    if fut.status == "cancelled":
                        raise ClusterUnavailableError(_lost_message(self.address))
                    results[position[fut.key]] = fut.result()
                    done += 1
                if progress is not None:
                    progress(done, len(items))
            return results
        except KilledWorker as exc:
            raise ClusterUnavailableError(
                f"The Dask workers at {self.address} died while running a task ({exc}); "
                "they may be short of memory. Give them more memory or fewer threads and run "
                "the job again."
            ) from None
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in ("core", "ui", "ballast"):
                raise
            raise ClusterUnavailableError(
                f"The Dask workers at {self.address} cannot import Ballast's code ({exc}); "
                "start `dask worker` from Ballast's folder or with it on PYTHONPATH."
            ) from None
        except CancelledError:
            raise ClusterUnavailableError(_lost_message(self.address)) from None
        except (OSError, TimeoutError) as exc:
            # CommClosedError is an OSError; a scatter without workers ends in a TimeoutError.
            if isinstance(exc, TimeoutError) and scattered == {} and shared:
                raise ClusterUnavailableError(
                    f"The Dask cluster at {self.address} has no worker to receive the job's "
                    f"data; start workers (`dask worker {self.address}`) and run it again."
                ) from None
            raise ClusterUnavailableError(_lost_message(self.address)) from None
        finally:
            if futures and client.status == "running":
                try:
                    client.cancel([f for f in futures if not f.done()])
                except (OSError, TimeoutError, CancelledError):
                    pass
            del futures, scattered


def get_executor(address: str | None = None) -> Executor:
    """The executor configured for this process.

    Parameters
    ----------
    address : str, optional
        A Dask scheduler address (``tcp://host:8786``); defaults to the environment variable
        ``BALLAST_DASK_ADDRESS``. Empty or unset means in-process.

    Returns
    -------
    Executor
        :class:`InProcessExecutor` without an address; a :class:`DaskExecutor` (not yet
        connected) with one.

    Notes
    -----
    Nothing is connected here: a Dask executor connects on its first job, which raises
    :class:`ClusterUnavailableError` when the cluster cannot be reached.
    """
    address = address if address is not None else os.environ.get(DASK_ADDRESS_VARIABLE, "")
    if not address.strip():
        return InProcessExecutor()
    return DaskExecutor(address.strip())
