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
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from core.exceptions import BallastError

__all__ = [
    "DASK_ADDRESS_VARIABLE",
    "Executor",
    "InProcessExecutor",
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
        :class:`InProcessExecutor` without an address; a Dask executor with one.

    Raises
    ------
    ClusterUnavailableError
        When an address is set but Dask support is not available.
    """
    address = address if address is not None else os.environ.get(DASK_ADDRESS_VARIABLE, "")
    if not address.strip():
        return InProcessExecutor()
    raise ClusterUnavailableError(
        f"{DASK_ADDRESS_VARIABLE} is set to {address!r}, but this Ballast has no Dask support "
        "yet; unset the variable to run jobs in this process."
    )
