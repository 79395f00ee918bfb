"""The resampled frontier on the Efficient Frontier page: inputs, the run, the section.

The resampled frontier (Michaud) is computed when its toggle is on, with a progress bar, from
the window's returns, the user's estimators and constraints (``core.resampling``), and kept in
session state with the inputs it came from: a rerun with the same inputs does not resample
again. A failure shows an error and keeps the last good result.
"""

from __future__ import annotations

import streamlit as st

from core.charts.comparison import resampled_frontier_figure
from core.charts.frontier import transition_map
from core.exceptions import BallastError
from core.resampling import RESAMPLING_METHODS, ResampledFrontier
from ui import state
from ui.widgets import csv_download, md_escape, show_error, synced

RESAMPLE_COUNTS = [10, 50, 100, 200, 500, 1_000]


def sidebar_inputs() -> None:
    """The toggle, number of resamples, seed and method (setup keys ``frontier_resample*``)."""
    st.subheader("Resampled frontier")
    synced(st.toggle, "frontier_resampled", "Resampled frontier (Michaud)",
           help="Average the weights of frontiers estimated on resampled returns, point by "
           "point; drawn beside the mean-variance frontier.")  # fmt: skip
    if not st.session_state["frontier_resampled"]:
        return
    if st.session_state["frontier_resamples"] not in RESAMPLE_COUNTS:
        st.session_state["frontier_resamples"] = 200
        st.session_state.pop("w_frontier_resamples", None)
    synced(st.select_slider, "frontier_resamples", "Resamples", options=RESAMPLE_COUNTS,
           format_func=lambda n: f"{n:,}")  # fmt: skip
    synced(st.number_input, "frontier_resample_seed", "Seed", min_value=0,
           max_value=2**32 - 1, step=1,
           help="The same seed gives the same resampled frontier.")  # fmt: skip
    synced(st.selectbox, "frontier_resample_method", "Resampling",
           options=list(RESAMPLING_METHODS), format_func=RESAMPLING_METHODS.get)  # fmt: skip


def _inputs_key() -> tuple:
    ss = st.session_state
    keys = ("universe", "start", "end", "returns_method", "cov_method", "risk_free_rate",
            "long_only", "min_weight", "max_weight", "max_volatility", "frontier_n_points",
            "frontier_resamples", "frontier_resample_seed", "frontier_resample_method")  # fmt: skip
    return tuple(str(ss[k]) for k in keys) + (
        str(sorted(ss["asset_bounds"].items())), str(sorted(ss["sector_bounds"].items())),
    )  # fmt: skip


def compute() -> ResampledFrontier:
    """The resampled frontier of the setup, with a progress bar.

    Returns
    -------
    ResampledFrontier

    Raises
    ------
    BallastError
        Bad window, estimators or constraints (the message says which).
    """
    n = int(st.session_state["frontier_resamples"])
    bar = st.progress(0.0, text=f"Resampling: 0 of {n:,} frontiers")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Resampling: {done:,} of {total:,} frontiers")

    try:
        # core.pipeline: the command line computes it with the same call
        return state.pipeline().run_resampled_frontier(progress)
    finally:
        bar.empty()


def current() -> ResampledFrontier | None:
    """The resampled frontier of the current setup (computed if needed), else the last good.

    Returns None when the toggle is off. Errors are shown with ``st.error``; the last good
    result is returned with a note.
    """
    ss = st.session_state
    if not ss["frontier_resampled"]:
        return None
    key = _inputs_key()
    stored = ss.get("frontier_resampled_last")
    if stored is not None and stored[0] == key:
        return stored[1]
    try:
        result = compute()
    except BallastError as exc:
        show_error(exc, "The resampled frontier cannot be computed")
        if stored is None:
            return None
        st.info("Showing the last resampled frontier that could be computed.")
        return stored[1]
    ss["frontier_resampled_last"] = (key, result)
    return result


def section() -> None:
    """The resampled frontier's chart, its transition map and its points (CSV)."""
    result = current()
    if result is None:
        return
    st.subheader("Resampled frontier")
    ss = st.session_state
    st.caption(md_escape(
        f"{result.n_resamples:,} resamples ({RESAMPLING_METHODS[result.method].lower()}), "
        f"seed {result.seed}, {result.settings['n_observations']:,} returns each, "
        "re-estimated with the Allocation page's estimators (Black-Litterman views are not "
        "resampled); "
        "weights averaged point by point (rank k of every resampled frontier), then evaluated "
        "under the original estimates (Michaud & Michaud 1998)."
    ))  # fmt: skip
    st.plotly_chart(resampled_frontier_figure(result), key="resampled_frontier")
    st.plotly_chart(transition_map(result, ss["frontier_transition_x"],
                                   "Resampled weights along the frontier"),
                    key="resampled_transition")  # fmt: skip
    with st.expander("Resampled frontier points (annualised decimals)"):
        table = result.to_frame()
        st.dataframe(table, width="stretch")
        csv_download("Download the resampled frontier (CSV)",
                     table.to_csv(index_label="point").encode("utf-8"),
                     "ballast_resampled_frontier.csv", key="resampled_csv")  # fmt: skip


def last_current() -> ResampledFrontier | None:
    """The resampled frontier computed for the current setup, for the reports.

    Returns
    -------
    ResampledFrontier or None
        None when the toggle is off or nothing was computed for these inputs (the frontier's
        report section, :func:`core.pipeline.frontier_section`, then leaves it out).
    """
    ss = st.session_state
    stored = ss.get("frontier_resampled_last")
    if not ss.get("frontier_resampled") or stored is None or stored[0] != _inputs_key():
        return None
    return stored[1]
