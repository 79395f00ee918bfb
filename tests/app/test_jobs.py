"""ui.jobs in AppTest: a job outlives reruns, shows progress, cancels, and survives a lost cluster.

The jobs run for real: in a background thread of this process, and (last test) on a two-worker
``LocalCluster`` in a child process that is killed mid-job.
"""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.executor import DASK_ADDRESS_VARIABLE


def _jobs_script() -> None:
    import streamlit as st

    from tests.core.executor_tasks import counted
    from ui import jobs

    n, delay = st.session_state.get("n", 6), st.session_state.get("delay", 0.1)
    if st.button("Run", key="run"):
        jobs.start("demo", counted, n, delay, label="Demo job")
    if st.session_state.get("show", True):  # False: the user is on another page
        result = jobs.panel("demo", refresh=0.2)
        if result is not None:
            st.markdown(f"result {result}")


def _app(**state) -> AppTest:
    at = AppTest.from_function(_jobs_script, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _until(at: AppTest, done, timeout: float = 30.0) -> AppTest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if done(at):
            return at
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the job")


def _shown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def _bar(at: AppTest) -> str:
    return " ".join(p.proto.text for p in at.get("progress"))


@pytest.fixture(autouse=True)
def in_process(monkeypatch):
    monkeypatch.delenv(DASK_ADDRESS_VARIABLE, raising=False)


def test_job_runs_across_reruns_and_page_changes_with_progress():
    at = _app(n=8, delay=0.25)
    at.button(key="run").click().run()
    assert at.get("progress"), "a running job shows its progress"
    assert "Demo job" in at.get("progress")[0].proto.text
    at.session_state["show"] = False  # another page: nothing draws the job
    at.run()
    assert not at.get("progress")
    time.sleep(0.5)
    at.session_state["show"] = True
    at.run()
    bar = at.get("progress")
    assert bar and "of 8" in bar[0].proto.text and "in this process" in bar[0].proto.text
    at = _until(at, lambda a: "result 28" in _shown(a))
    assert not at.get("progress") and not at.exception and not at.error


def test_cancel_keeps_the_last_result():
    at = _app(n=3, delay=0.0)
    at.button(key="run").click().run()
    at = _until(at, lambda a: "result 3" in _shown(a))
    at.session_state["n"], at.session_state["delay"] = 40, 0.3
    at.button(key="run").click().run()
    assert "result 3" in _shown(at), "the last result stays while a new job runs"
    at.button(key="_job_cancel_demo").click().run()
    at = _until(at, lambda a: not a.get("progress"))
    assert "cancelled" in at.info[0].value
    assert "result 3" in _shown(at)
    assert not at.exception and not at.error


def test_lost_cluster_shows_an_error_and_keeps_the_last_result(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from tests.core.executor_tasks import cluster_process

    with cluster_process(tmp_path) as (address, kill):
        monkeypatch.setenv(DASK_ADDRESS_VARIABLE, address)
        at = _app(n=2, delay=0.0)
        at.button(key="run").click().run()
        at = _until(at, lambda a: "result 1" in _shown(a), timeout=60)
        at.session_state["n"], at.session_state["delay"] = 30, 0.3
        at.button(key="run").click().run()
        at = _until(at, lambda a: "of 30" in _bar(a), timeout=60)
        assert "on the Dask cluster" in at.get("progress")[0].proto.text
        kill()
        at = _until(at, lambda a: bool(a.error), timeout=30)
    message = at.error[0].value.replace("\u2060", "")  # md_escape's word joiners
    assert "went away while the job ran" in message and address in message
    assert "result 1" in _shown(at)
    assert not at.exception
