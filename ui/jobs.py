"""Heavy jobs started from a page: they outlive reruns and page changes, show progress, cancel.

A page starts a job with :func:`start` and draws it with :func:`panel`::

    if st.button("Run"):
        jobs.start("resampled", resampled_frontier, returns, constraints, n_resamples=500,
                   label="Resampled frontier")
    result = jobs.panel("resampled")   # progress + Cancel while it runs; the last result after

The job function is any ``core`` function that takes ``executor=``, ``progress=`` and
``cancel=`` keyword arguments (``core.resampling.resampled_frontier``, a walk-forward
comparison); it runs in a background thread of the server process on the executor chosen by
``BALLAST_DASK_ADDRESS`` (``core.executor.get_executor``), so a rerun or a move to another page
does not stop it.

Where things live
-----------------
- Session state holds, per job name, the job's id (``_jobs``) and the last result that finished
  (``_job_results``): small, plain values, so the session survives reruns and page changes.
- The process holds the running jobs in a :class:`JobBoard` and the executor (with its
  ``distributed.Client``) in ``st.cache_resource`` (``ui.cache.job_board``,
  ``ui.cache.executor``). The jobs keep the Dask futures alive: a future that nobody holds is
  released and the scheduler forgets its task, so futures cannot wait in session state.
- A job that fails (a ``BallastError``, the cluster going away: ``ClusterUnavailableError``)
  shows its message with ``st.error``; the last result that finished stays on the page.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from core.exceptions import BallastError
from core.executor import Executor, JobCancelledError

__all__ = ["Job", "JobBoard", "start", "job", "cancel", "panel", "last_result"]

_IDS = "_jobs"  # job name -> job id (this session's jobs)
_RESULTS = "_job_results"  # job name -> last finished result
_ERRORS = "_job_errors"  # job name -> message of the last failed or cancelled run

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


@dataclass
class Job:
    """One job running (or finished) in a background thread.

    Attributes
    ----------
    id : str
        Random id (kept in session state).
    label : str
        What the job computes, for the user.
    state : str
        ``"running"``, ``"done"``, ``"failed"`` or ``"cancelled"``.
    done, total : int
        Tasks (or resamples) finished, of the total the job reported; 0 of 0 before the first.
    result : Any
        The job function's return value once ``state == "done"``.
    error : str
        The message of a failed job.
    started, finished : float
        ``time.time()`` at start and at the end (0 while running).
    executor : str
        Where the tasks run (``"in-process"`` or ``"dask"``).
    """

    id: str
    label: str
    state: str = RUNNING
    done: int = 0
    total: int = 0
    result: Any = None
    error: str = ""
    started: float = field(default_factory=time.time)
    finished: float = 0.0
    executor: str = ""
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def fraction(self) -> float:
        """Decimal share of the work done (0 before the first report)."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    def cancel(self) -> None:
        """Ask the job to stop (its executor cancels the tasks not yet finished)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job's thread; True when it has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state != RUNNING


class JobBoard:
    """The jobs of this server process, by id (held in ``st.cache_resource``).

    Parameters
    ----------
    keep_seconds : float
        Finished jobs nobody collected (their session ended) are dropped after this long.
    """

    def __init__(self, keep_seconds: float = 3600.0) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.keep_seconds = keep_seconds

    def submit(
        self, fn: Callable[..., Any], args: tuple, kwargs: dict, executor: Executor, label: str
    ) -> Job:
        """Start ``fn(*args, executor=, progress=, cancel=, **kwargs)`` in a thread.

        Returns
        -------
        Job
            The running job.
        """
        job = Job(id=uuid.uuid4().hex, label=label, executor=getattr(executor, "name", ""))

        def progress(done: int, total: int) -> None:
            job.done, job.total = int(done), int(total)

        def run() -> None:
            try:
                job.result = fn(
                    *args, executor=executor, progress=progress, cancel=job._cancel.is_set,
                    **kwargs,
                )  # fmt: skip
                job.state = DONE
            except JobCancelledError:
                job.state = CANCELLED
            except BallastError as exc:
                job.error, job.state = str(exc), FAILED
            except Exception as exc:  # noqa: BLE001 - a job must never die silently
                job.error = f"The job stopped on an unexpected error ({type(exc).__name__}: {exc})."
                job.state = FAILED
            finally:
                job.finished = time.time()

        job._thread = threading.Thread(target=run, name=f"ballast-job-{job.id[:8]}", daemon=True)
        with self._lock:
            self._prune()
            self._jobs[job.id] = job
        job._thread.start()
        return job

    def get(self, job_id: str | None) -> Job | None:
        """The job with this id, or None (unknown, or dropped after ``keep_seconds``)."""
        with self._lock:
            return self._jobs.get(job_id or "")

    def forget(self, job_id: str) -> None:
        """Drop a job (after its session collected its result)."""
        with self._lock:
            self._jobs.pop(job_id, None)

    def running(self) -> list[Job]:
        """Jobs still running in this process."""
        with self._lock:
            return [j for j in self._jobs.values() if j.state == RUNNING]

    def _prune(self) -> None:
        now = time.time()
        for key in [k for k, j in self._jobs.items()
                    if j.state != RUNNING and now - j.finished > self.keep_seconds]:  # fmt: skip
            del self._jobs[key]


def _board() -> JobBoard:
    from ui import cache

    return cache.job_board()


def _ids() -> dict[str, str]:
    return st.session_state.setdefault(_IDS, {})


def start(name: str, fn: Callable[..., Any], *args: Any, label: str = "", **kwargs: Any) -> Job:
    """Start a job under ``name`` for this session (a job of that name still running is cancelled).

    Parameters
    ----------
    name : str
        The job's name in this session (one job per name: ``"resampled"``, ``"compare"``).
    fn : callable
        A ``core`` function accepting ``executor=``, ``progress=(done, total)`` and
        ``cancel=()`` keywords; its return value is the job's result.
    *args, **kwargs
        Passed to ``fn``.
    label : str
        What the job computes, shown beside its progress.

    Returns
    -------
    Job
    """
    from ui import cache

    previous = job(name)
    if previous is not None and previous.state == RUNNING:
        previous.cancel()
    new = _board().submit(fn, args, kwargs, cache.executor(), label or name)
    _ids()[name] = new.id
    st.session_state.setdefault(_ERRORS, {}).pop(name, None)
    return new


def job(name: str) -> Job | None:
    """The job of that name in this session (running, or finished and not collected), or None."""
    return _board().get(_ids().get(name))


def cancel(name: str) -> None:
    """Cancel this session's job of that name, if it runs."""
    current = job(name)
    if current is not None:
        current.cancel()


def last_result(name: str) -> Any:
    """The result of this session's last job of that name that finished, or None."""
    _collect(name)
    return st.session_state.get(_RESULTS, {}).get(name)


def _collect(name: str) -> Job | None:
    """Move a finished job's result or message into session state; return a running job."""
    current = job(name)
    if current is None:
        return None
    if current.state == RUNNING:
        return current
    if current.state == DONE:
        st.session_state.setdefault(_RESULTS, {})[name] = current.result
    elif current.state == FAILED:
        st.session_state.setdefault(_ERRORS, {})[name] = current.error
    elif current.state == CANCELLED:
        st.session_state.setdefault(_ERRORS, {})[name] = "cancelled"
    _board().forget(current.id)
    _ids().pop(name, None)
    return None


def _progress_text(current: Job) -> str:
    where = "on the Dask cluster" if current.executor == "dask" else "in this process"
    elapsed = time.time() - current.started
    count = f"{current.done:,} of {current.total:,}" if current.total else "starting"
    return f"{current.label}: {count} ({where}, {elapsed:,.0f} s)"


def panel(name: str, refresh: float = 1.0) -> Any:
    """Draw this session's job of that name and return its last finished result.

    While the job runs: a progress bar with its count and a Cancel button, refreshed every
    ``refresh`` seconds by a fragment (the page itself is rerun once when the job ends). After
    a failure: ``st.error`` with the job's message (a cluster that went away says so); after a
    cancel: a note. In every case the last result that finished is returned (None if none).

    Parameters
    ----------
    name : str
        The job's name, as given to :func:`start`.
    refresh : float
        Seconds between progress updates.

    Returns
    -------
    Any
        The last finished result of that job name in this session, or None.
    """
    from ui.widgets import show_error

    running = _collect(name)
    if running is not None:
        _running_fragment(name, refresh)
    else:
        message = st.session_state.get(_ERRORS, {}).get(name)
        if message == "cancelled":
            st.info("The job was cancelled; the results shown are the last that finished.")
        elif message:
            show_error(message, "The job failed")
    return st.session_state.get(_RESULTS, {}).get(name)


def _running_fragment(name: str, refresh: float) -> None:
    @st.fragment(run_every=refresh)
    def draw() -> None:
        current = job(name)
        if current is None or current.state != RUNNING:
            st.rerun(scope="app")
            return
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.progress(current.fraction, text=_progress_text(current))
        if right.button("Cancel", key=f"_job_cancel_{name}", help="Stop the job; the last "
                        "results stay on the page."):  # fmt: skip
            current.cancel()
            current.wait(timeout=10)
            st.rerun(scope="app")

    draw()
