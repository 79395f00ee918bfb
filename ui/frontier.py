"""Efficient-frontier page pieces: inputs, the computed view, the pick slider, the report.

The pick slider lives in a fragment (:func:`pick_fragment`) with what it changes: the frontier
chart, the picked portfolio's figures and weights. A move reruns only that, and the chart is
built once per computed view: a move only moves the "Selected portfolio" marker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import pipeline
from core.charts import fixed_margins
from core.charts.frontier import frontier_figure
from core.estimators import COVARIANCE_ESTIMATORS
from core.exceptions import BallastError
from core.frontier import Frontier, FrontierPortfolio
from core.optimization import (
    Objective,
    OptimizationResult,
    effective_number_of_assets,
    sector_exposure,
)
from core.pipeline import FrontierView
from core.reporting import ReportSection
from ui import state
from ui.widgets import md_escape, percent, percent_column, show_error, synced

PICK_AXES = {"volatility": "Target volatility", "return": "Target return"}
RANDOM_COUNTS = [0, 1_000, 2_000, 5_000, 10_000]


def compare_options() -> dict[str, str]:
    """Second estimators the frontier can be compared with: setup value -> label."""
    ss = st.session_state
    options = {"none": "None"}
    has_bl = ss.get("bl_posterior_returns") is not None
    if ss["expected_returns_source"] == "black_litterman" and has_bl:
        options["historical"] = "Historical expected returns (without views)"
    elif has_bl:
        options["black_litterman"] = "Black-Litterman posterior expected returns"
    for method, label in COVARIANCE_ESTIMATORS.items():
        if method != ss["cov_method"]:
            options[f"cov:{method}"] = f"Covariance: {label}"
    return options


def sidebar_inputs() -> None:
    """Frontier resolution, random cloud, overlays and the transition map's axis."""
    synced(st.slider, "frontier_n_points", "Points on the frontier", min_value=10,
           max_value=200, step=10)  # fmt: skip
    synced(st.select_slider, "frontier_n_random", "Random feasible portfolios",
           options=RANDOM_COUNTS, format_func=lambda n: f"{n:,}")  # fmt: skip
    st.subheader("Overlays")
    synced(st.checkbox, "frontier_show_unconstrained",
           "Unconstrained frontier (only fully invested, shorting allowed)")  # fmt: skip
    options = compare_options()
    if st.session_state["frontier_compare"] not in options:
        st.session_state["frontier_compare"] = "none"
        st.session_state.pop("w_frontier_compare", None)
    synced(st.selectbox, "frontier_compare", "Compare with a second estimator",
           options=list(options), format_func=options.get)  # fmt: skip
    synced(st.radio, "frontier_transition_x", "Transition map along",
           options=["volatility", "expected_return"],
           format_func={"volatility": "volatility", "expected_return": "expected return"}.get,
           horizontal=True)  # fmt: skip


def _ensure_allocation() -> None:
    """The setup's allocation in session state when there is none (first page of a session)."""
    ss = st.session_state
    if ss.get("allocation") is None:
        from ui.book import optimize_setup  # the Allocation page's, from cash or the book

        try:
            ss["allocation"] = optimize_setup()
        except BallastError:
            pass


def compute_view(n_random: int | None = None) -> FrontierView:
    """The frontier and everything around it (:meth:`core.pipeline.Pipeline.frontier_view`).

    Parameters
    ----------
    n_random : int, optional
        Number of random portfolios; defaults to the setup's ``frontier_n_random``.

    Returns
    -------
    FrontierView

    Raises
    ------
    core.exceptions.BallastError
        When the frontier itself cannot be computed (infeasible constraints, bad data).
    """
    _ensure_allocation()
    return state.pipeline().frontier_view(n_random)


def active_view(n_points: int = 30) -> tuple[pd.DataFrame, str, dict[str, tuple[float, float]]]:
    """The active frontier against the benchmark (:meth:`core.pipeline.Pipeline.active_view`).

    Raises
    ------
    core.exceptions.BallastError
        No benchmark with prices on the window, or infeasible constraints.
    """
    return state.pipeline().active_view(n_points)


def active_section() -> None:
    """The active frontier, on demand: its chart, or why it cannot be drawn."""
    from core.charts.frontier import active_frontier_figure

    if not st.toggle("Active frontier (active return against tracking error)",
                     key="w_frontier_active",
                     help="Against the benchmark chosen on the Rebalance page (the data's index "
                     "by default), estimated together with the assets."):  # fmt: skip
        return
    try:
        points, name, marks = active_view()
    except BallastError as exc:
        show_error(exc, "Active frontier")
        return
    st.plotly_chart(active_frontier_figure(points, name, marks), key="active_frontier_chart")
    ratios = points["information_ratio"]
    best = ratios.idxmax() if ratios.notna().any() else None
    st.caption(
        f"Highest expected return for each tracking error against {md_escape(name)}, from the "
        "minimum-tracking-error portfolio, under the Allocation page's constraints (Roll 1992); "
        "active return is the expected return minus the benchmark's, annualised."
        + ("" if best is None else
           f" Best information ratio on the curve: {points.at[best, 'information_ratio']:.2f}.")
    )  # fmt: skip


def pick_slider(frontier: Frontier) -> FrontierPortfolio:
    """A slider along the frontier (by target volatility or return); returns the portfolio.

    The choice is stored in the setup keys ``frontier_pick_by`` and ``frontier_pick``; a pick
    outside the current frontier is moved to its nearest end.
    """
    ss = st.session_state
    by = synced(st.radio, "frontier_pick_by", "Pick a portfolio by", options=list(PICK_AXES),
                format_func=PICK_AXES.get, horizontal=True)  # fmt: skip
    if by == "volatility":
        lo, hi = frontier.min_variance.volatility, frontier.max_return.volatility
    else:
        lo, hi = frontier.min_variance.expected_return, frontier.max_return.expected_return
    lo_pct, hi_pct = np.floor(lo * 1e4) / 100, np.ceil(hi * 1e4) / 100
    key = f"w_frontier_pick_{by}"
    previous = ss.get("_frontier_selected")
    if key not in ss:
        if ss["frontier_pick"] is not None and ss.get("_frontier_pick_axis") == by:
            start = ss["frontier_pick"]
        elif previous is not None:  # the axis changed: keep the same portfolio
            start = previous[0] if by == "volatility" else previous[1]
        else:
            tan = frontier.tangency or frontier.min_variance
            start = tan.volatility if by == "volatility" else tan.expected_return
        ss[key] = round(start * 100, 2)
    ss[key] = float(min(max(ss[key], lo_pct), hi_pct))
    label = "Target volatility (% a year)" if by == "volatility" else "Target return (% a year)"
    value = st.slider(label, min_value=float(lo_pct), max_value=float(hi_pct), step=0.01,
                      key=key, format="%.2f %%")  # fmt: skip
    ss["frontier_pick"] = value / 100
    ss["_frontier_pick_axis"] = by
    for other in PICK_AXES:
        if other != by:
            ss.pop(f"w_frontier_pick_{other}", None)
    if by == "volatility":
        picked = frontier.portfolio_at_volatility(value / 100)
    else:
        picked = frontier.portfolio_at_return(value / 100)
    ss["_frontier_selected"] = (picked.volatility, picked.expected_return)
    return picked


_SELECTED = "Selected portfolio"


def frontier_chart(view: FrontierView, picked: FrontierPortfolio | None) -> go.Figure:
    """The frontier figure of ``view`` with ``picked`` marked as the selected portfolio.

    The figure (thousands of random portfolios, hover texts of every frontier point) is built
    once per view and kept in session state; for another pick on the same view only the
    marker's coordinates change.
    """
    ss = st.session_state
    cached = ss.get("_frontier_figure")
    if cached is not None and cached[0] is view and (picked is None) == (cached[2] is None):
        fig = cached[1]
        if picked is not None:
            fig.update_traces(x=[picked.volatility], y=[picked.expected_return],
                              selector=dict(name=_SELECTED))  # fmt: skip
        return fig
    points = dict(view.points)
    if picked is not None:
        points[_SELECTED] = (picked.volatility, picked.expected_return)
    fig = frontier_figure(view.frontier, view.assets, view.cloud, points, view.overlays)
    # Fixed margins (room for the legend beneath): the browser lays it out once a move.
    fixed_margins(fig, bottom=120)
    ss["_frontier_figure"] = (view, fig, picked)
    return fig


@st.fragment
def pick_fragment(view: FrontierView) -> None:
    """The pick slider, the frontier chart and the picked portfolio; a move reruns only this."""
    frontier = view.frontier
    picked = None
    if len(frontier.returns) > 1:
        st.subheader("Pick a portfolio on the frontier")
        picked = pick_slider(frontier)
    st.plotly_chart(frontier_chart(view, picked), key="frontier_chart")
    if picked is None:
        return
    left, right = st.columns([2, 3])
    with left:
        st.table(picked_figures(picked))
        if st.button("Make this the allocation", icon=":material/check:", type="primary"):
            make_allocation(picked, frontier)
            st.success("The allocation is now this portfolio; the Allocation page shows its "
                       "orders.")  # fmt: skip
    with right:
        st.dataframe(
            weights_table(picked),
            column_config={"Weight": percent_column("Weight")},
            width="stretch",
            key="picked_weights",
        )


def as_allocation(picked: FrontierPortfolio, frontier: Frontier, by: str) -> OptimizationResult:
    """The picked frontier portfolio as the Allocation page's result.

    Parameters
    ----------
    picked : FrontierPortfolio
        A portfolio on the frontier.
    frontier : Frontier
        Its frontier (for the risk-free rate).
    by : {"volatility", "return"}
        The slider's axis: the objective becomes the matching target.

    Returns
    -------
    OptimizationResult
    """
    if by == "volatility":
        objective = Objective("target_volatility", target_volatility=picked.volatility,
                              risk_free_rate=frontier.risk_free_rate)  # fmt: skip
    else:
        objective = Objective("target_return", target_return=picked.expected_return,
                              risk_free_rate=frontier.risk_free_rate)  # fmt: skip
    sectors = state.price_data().sectors
    weights = picked.weights.where(picked.weights.abs() > 1e-12, 0.0)
    return OptimizationResult(
        weights=weights,
        expected_return=picked.expected_return,
        volatility=picked.volatility,
        sharpe_ratio=picked.sharpe_ratio,
        risk_free_rate=frontier.risk_free_rate,
        objective=objective,
        effective_number_of_assets=effective_number_of_assets(weights),
        sector_weights=sector_exposure(weights, sectors),
    )


def make_allocation(picked: FrontierPortfolio, frontier: Frontier) -> None:
    """Store the picked portfolio as the allocation and set the matching objective.

    The Allocation page re-optimises from the setup on every run, so the objective becomes
    "minimum volatility for this target return" (or "maximum return for this volatility"),
    whose optimum is this very frontier portfolio.
    """
    ss = st.session_state
    by = ss["frontier_pick_by"]
    ss["allocation"] = as_allocation(picked, frontier, by)
    if by == "volatility":
        ss["objective_kind"] = "target_volatility"
        ss["target_volatility"] = float(picked.volatility)
    else:
        ss["objective_kind"] = "target_return"
        ss["target_return"] = float(picked.expected_return)
    for key in ("w_objective_kind", "w_target_volatility", "w_target_return"):
        ss.pop(key, None)


def weights_table(picked: FrontierPortfolio) -> pd.DataFrame:
    """Non-zero weights of a portfolio with their sectors, largest first."""
    w = picked.weights[picked.weights.abs() > 1e-6].sort_values(ascending=False)
    sectors = state.price_data().sectors.reindex(w.index).fillna("Unknown")
    return pd.DataFrame({"Sector": sectors, "Weight": w})


def picked_figures(picked: FrontierPortfolio) -> pd.DataFrame:
    """Key figures of the picked portfolio as a small two-column table (fits a narrow column).

    Three metrics side by side in a third of the page cut their labels and values at
    1400 px ("Return (annualis...", "39.3..."); a table row per figure never does.

    Returns
    -------
    DataFrame (3, 1)
        Figure name (with its unit) -> value formatted as text.
    """
    return pd.DataFrame(
        {"Picked portfolio": [percent(picked.expected_return), percent(picked.volatility),
                              f"{picked.sharpe_ratio:.2f}"]},
        index=pd.Index(["Expected return (annualised)", "Volatility (annualised)",
                        "Sharpe ratio"], name="Figure"),
    )  # fmt: skip


def report_section() -> ReportSection | None:
    """The frontier for the report (:func:`core.pipeline.frontier_section`).

    Returns
    -------
    core.reporting.ReportSection or None
        None when the frontier cannot be computed from the setup.
    """
    _ensure_allocation()
    from ui import resampling  # the resampled frontier, when the page shows it

    return pipeline.frontier_section(state.pipeline(resampled=resampling.last_current()))
