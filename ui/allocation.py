"""Allocation-page pieces: the objective and constraint inputs, and the result display.

The objective's parameter (target return, target volatility or risk aversion) is a slider in
:func:`results_fragment`, with everything it changes (figures, charts, orders, downloads): a
move reruns only that fragment, not the sidebar's estimators, editors and constraints.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import pipeline
from core.exceptions import BallastError, InfeasibleConstraintsError, OptimizationError
from core.optimization import exposures
from core.pipeline import diversification_figures  # noqa: F401  (the report's)
from ui import cache, state
from ui import compliance as compliance_ui
from ui.tail import SHORT_LABELS as TAIL_LABELS
from ui.widgets import (
    csv_download,
    mark_stale,
    number_column,
    percent,
    percent_column,
    show_error,
    static_table,
    synced,
    synced_editor,
)

#: Option labels short enough for the sidebar's select boxes (the full names are in their help).
SHORT_LABELS: dict[str, str] = {
    "max_sharpe": "Max Sharpe ratio",
    "min_volatility": "Min volatility",
    "target_return": "Min vol., target return",
    "target_volatility": "Max return, target vol.",
    "max_utility": "Max quadratic utility",
    "min_tracking_error": "Min tracking error",
    "max_information_ratio": "Max information ratio",
    "mean_historical": "Mean historical",
    "ema_historical": "Exp. weighted mean",
    "capm": "CAPM (beta)",
    "ledoit_wolf": "Ledoit-Wolf shrinkage",
    "sample": "Sample covariance",
    "oas": "OAS shrinkage",
    "exp_cov": "Exp. weighted",
    "semicovariance": "Semicovariance",
    **TAIL_LABELS,
}


def short_selectbox(name: str, label: str, labels: dict[str, str]) -> None:
    """A sidebar select box of ``labels`` keys, shown by their short names, full names in help.

    Parameters
    ----------
    name : str
        Setup key holding the chosen key.
    label : str
        The widget's label.
    labels : dict of str to str
        Key -> full label (e.g. :data:`core.optimization.OBJECTIVES`).
    """
    synced(
        st.selectbox, name, label, options=list(labels),
        format_func=lambda k: SHORT_LABELS.get(k, labels[k]),
        help="\n".join(f"- **{SHORT_LABELS.get(k, v)}**: {v}" for k, v in labels.items()),
    )  # fmt: skip


def objective_inputs() -> None:
    """Objective and risk-free rate, written to the setup.

    The objective's parameter is a slider beside the results (:func:`objective_parameter`).
    """
    from ui import tail

    short_selectbox("objective_kind", "Objective", tail.ALL_OBJECTIVES)
    tail.tail_inputs()
    synced(
        st.number_input, "risk_free_rate", "Risk-free rate (% a year)", scale=100.0,
        min_value=-5.0, max_value=20.0, step=0.25, format="%.2f",
    )  # fmt: skip


#: Slider of each objective parameter: setup key, label, scale, (min, max, step) as shown.
_PARAMETERS: dict[str, tuple[str, str, float, tuple[float, float, float]]] = {
    "target_return": ("target_return", "Target return (% a year)", 100.0, (-20.0, 100.0, 0.1)),
    "target_volatility": ("target_volatility", "Target volatility (% a year)", 100.0,
                          (0.5, 100.0, 0.1)),
    "max_utility": ("risk_aversion", "Risk aversion (delta)", 1.0, (0.1, 20.0, 0.1)),
}  # fmt: skip


def objective_parameter() -> None:
    """The slider of the objective's parameter, if it has one (written to the setup).

    The range widens to hold a value set elsewhere (a loaded setup, the frontier page).
    """
    kind = st.session_state["objective_kind"]
    if kind not in _PARAMETERS:
        return
    name, label, scale, (lo, hi, step) = _PARAMETERS[kind]
    shown = float(st.session_state[name]) * scale  # not rounded: the frontier sets exact ones
    synced(st.slider, name, label, scale=scale, min_value=min(lo, shown),
           max_value=max(hi, shown), step=step, format="%.1f")  # fmt: skip


def diversification_metric(column, weights: pd.Series, effective_number: float) -> None:
    """Effective number of assets for a long-only portfolio; gross and net exposure otherwise.

    With short positions ``1 / sum(w_i^2)`` no longer counts assets in any useful sense, so a
    long-short portfolio shows its gross and net exposure with the long and short totals.

    Parameters
    ----------
    column : streamlit container
        Where the metric goes (a column of ``st.columns``).
    weights : Series (n_assets,)
        Decimal weights.
    effective_number : float
        ``1 / sum(w_i^2)`` of the weights.
    """
    e = exposures(weights)
    if e["short"] < -1e-6:
        column.metric(
            "Gross / net exposure", f"{percent(e['gross'], 1)} / {percent(e['net'], 1)}",
            help=f"Long {percent(e['long'], 1)}, short {percent(e['short'], 1)} of capital. "
                 "Gross = long + |short|; net = long - |short|.",
        )  # fmt: skip
    else:
        column.metric("Effective number of assets", f"{effective_number:.1f}",
                      help="1 / sum of squared weights")  # fmt: skip


def capital_input() -> float:
    """The capital to invest, labelled with its currency, and its value with separators.

    Streamlit's number input takes printf formats without thousands separators, so the
    formatted amount ("100,000.00 USD") is shown beneath it.

    Returns
    -------
    float
        Capital in the currency of the prices.
    """
    currency = state.price_data().currency
    unit = f" ({currency})" if currency else ""
    capital = synced(st.number_input, "capital", f"Capital to invest{unit}",
                     min_value=1.0, step=10_000.0, format="%.2f",
                     help="In the currency of the prices; buys whole shares")  # fmt: skip
    st.caption(f"{capital:,.2f} {currency or '(currency of the prices)'}")
    return capital


@st.fragment
def results_fragment() -> None:
    """The objective's slider, the optimisation and its results; a move reruns only this."""
    from core import charts
    from ui import book, tail
    from ui.report import page_downloads

    objective_parameter()
    run_optimization()
    result = st.session_state["allocation"]
    if result is None:
        return
    cols = st.columns(4)
    cols[0].metric("Expected return (annualised)", percent(result.expected_return))
    cols[1].metric("Volatility (annualised)", percent(result.volatility))
    cols[2].metric("Sharpe ratio", f"{result.sharpe_ratio:.2f}",
                   help=f"Excess return over {percent(result.risk_free_rate)} per unit of "
                   "volatility")  # fmt: skip
    diversification_metric(cols[3], result.weights, result.effective_number_of_assets)
    tail.result_extras(result)
    # Weights and sectors in one figure: the browser redraws one chart a move, not two, and
    # lays it out once (fixed margins). A figure already drawn is reused by every session (a
    # move back, a new session on the same setup).
    weights = result.weights.sort_values(ascending=False)
    sectors = result.sector_weights
    st.plotly_chart(cache.shared("weights_chart", cache.content_key(weights, sectors),
                                 lambda: charts.weights_and_sectors(weights, sectors)),
                    key="weights")  # fmt: skip
    compliance_ui.section(result)
    if book.from_holdings():
        book.book_view(result)
        page_downloads(book.report_section)
        return
    orders_section(result)
    page_downloads(report_section)


#: Orders up to this many holdings are a static table (light on a first page); more, a grid.
STATIC_ORDER_ROWS = 50


def orders_section(result) -> None:
    """Capital, the whole-share orders of ``result`` at the latest prices, their CSV."""
    from core.execution import whole_share_orders
    from core.reporting import allocation_csv

    st.subheader("Orders in whole shares")
    capital = capital_input()
    data = state.price_data()
    try:
        orders = whole_share_orders(result.weights, data.prices.iloc[-1], capital)
    except BallastError as exc:
        show_error(exc)
        return
    table = orders.orders.join(data.sectors.rename("sector")).rename_axis("Ticker")
    money = f" ({data.currency})" if data.currency else ""
    st.caption(f"Latest prices of {data.as_of.date()}"
               + (f", in {data.currency}" if data.currency else "")
               + f". Leftover cash: {orders.leftover_cash:,.2f}.")  # fmt: skip
    held = table[table["shares"] != 0]
    if len(held) > STATIC_ORDER_ROWS:  # a long list: the grid scrolls and draws what is seen
        st.dataframe(
            held[["sector", "target_weight", "achieved_weight", "shares", "price", "value"]],
            column_config={
                "sector": st.column_config.TextColumn("Sector"),
                "target_weight": percent_column("Target weight"),
                "achieved_weight": percent_column("Achieved weight"),
                "shares": number_column("Shares", "%d"),
                "price": number_column("Latest price" + money),
                "value": number_column("Value" + money, "%,.2f"),
            },
            width="stretch",
        )  # fmt: skip
    else:
        # A static table of text, not a data grid: the grid's scripts (about 1.2 MB) would be
        # loaded and run for this table alone on a new session's first page (about 0.5 s
        # there); HTML, not st.table, whose Markdown cells cost a slider move about 0.1 s.
        money_cols = ("Latest price" + money, "Value" + money)
        static_table(pd.DataFrame({
            "Sector": [str(v) for v in held["sector"]],
            "Target weight": [percent(v) for v in held["target_weight"]],
            "Achieved weight": [percent(v) for v in held["achieved_weight"]],
            "Shares": [f"{int(v):,d}" for v in held["shares"]],
            money_cols[0]: [f"{v:,.2f}" for v in held["price"]],
            money_cols[1]: [f"{v:,.2f}" for v in held["value"]],
        }, index=pd.Index([str(t) for t in held.index], name="Ticker")),
            numeric=("Target weight", "Achieved weight", "Shares", *money_cols))  # fmt: skip
    sectors = data.sectors
    csv_download(
        "Download allocation (CSV)",
        lambda: allocation_csv(orders, sectors),  # built when pressed, not on every move
        f"ballast_allocation_{data.as_of.date()}.csv",
    )


def _bounds_frame(bounds: dict, index: list[str], label: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            label: index,
            "Min weight (%)": [bounds.get(k, (None, None))[0] for k in index],
            "Max weight (%)": [bounds.get(k, (None, None))[1] for k in index],
        }
    )
    for col in ("Min weight (%)", "Max weight (%)"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce") * 100
    return frame


def _parse_bounds(frame: pd.DataFrame, label: str, default: tuple[float, float]) -> dict:
    out = {}
    for _, row in frame.iterrows():
        lo, hi = row["Min weight (%)"], row["Max weight (%)"]
        if pd.isna(lo) and pd.isna(hi):
            continue
        try:
            lo = default[0] if pd.isna(lo) else float(lo) / 100
            hi = default[1] if pd.isna(hi) else float(hi) / 100
        except (TypeError, ValueError):
            raise OptimizationError(
                f"{label} {row[label]}: the bounds must be numbers (percentages such as 30), "
                f"not {row['Min weight (%)']!r} and {row['Max weight (%)']!r}."
            ) from None
        out[str(row[label])] = (lo, hi)
    return out


def constraint_inputs() -> None:
    """Shorting, weight bounds and maximum volatility (sidebar; the tables: constraint_editors)."""
    long_only = synced(st.toggle, "long_only", "Long only (no short positions)")
    c1, c2 = st.columns(2)
    with c1:
        synced(
            st.number_input, "min_weight", "Min weight (%)", scale=100.0,
            min_value=0.0 if long_only else -100.0, max_value=100.0, step=1.0, format="%.1f",
            help="Smallest weight of every asset, in % of capital (5 means 5 %; negative "
                 "for a short position when shorting is allowed)",
        )  # fmt: skip
    with c2:
        synced(
            st.number_input, "max_weight", "Max weight (%)", scale=100.0,
            min_value=0.0, max_value=100.0, step=1.0, format="%.1f",
            help="Largest weight of every asset, in % of capital (25 means 25 %)",
        )  # fmt: skip
    cap = st.checkbox(
        "Cap the portfolio's volatility", value=st.session_state["max_volatility"] is not None
    )
    if cap:
        if st.session_state["max_volatility"] is None:
            st.session_state["max_volatility"] = 0.20
        synced(
            st.number_input, "max_volatility", "Max volatility (% a year)", scale=100.0,
            min_value=0.1, max_value=200.0, step=0.5, format="%.2f",
        )  # fmt: skip
    else:
        st.session_state["max_volatility"] = None
        st.session_state.pop("w_max_volatility", None)


#: Weight columns of the bounds editors: percentages, blank for "no bound of its own".
_BOUND_COLUMNS = {
    col: st.column_config.NumberColumn(
        col, min_value=-100.0, max_value=100.0, step=0.5, format="%.1f",
        help="Percent of the portfolio; leave blank for the per-asset weight bounds",
    )  # fmt: skip
    for col in ("Min weight (%)", "Max weight (%)")
}


def constraint_editors() -> None:
    """Sector and per-asset bounds editors, in an expander of the page body.

    They sit in the main area, not the sidebar: a three-column table does not fit the sidebar's
    width (the "Max weight (%)" column was cut off there). The editors are drawn only while the
    expander is open (opening it reruns the page): two data grids cost a new session's first
    page about a second in the browser. The bounds live in the setup either way.
    """
    default = (st.session_state["min_weight"], st.session_state["max_weight"])
    universe = list(st.session_state["universe"])
    sectors = sorted(state.price_data().sectors.reindex(universe).dropna().unique())
    n = len(st.session_state["sector_bounds"]) + len(st.session_state["asset_bounds"])
    title = "Constraints: sector and per-asset bounds" + (f" ({n} set)" if n else "")
    box = st.expander(title, icon=":material/tune:", key="allocation_bounds_editors",
                      on_change="rerun")  # fmt: skip
    with box:
        if box.open:
            left, right = st.columns(2)
            with left:
                st.markdown("**Sector bounds**")
                synced_editor(
                    "sector_bounds",
                    lambda b: _bounds_frame(b, sectors, "Sector"),
                    lambda f: _parse_bounds(f, "Sector", (0.0, 1.0)),
                    disabled=["Sector"], hide_index=True, width="stretch",
                    column_config=_BOUND_COLUMNS,
                )  # fmt: skip
            with right:
                st.markdown("**Per-asset bounds**")
                synced_editor(
                    "asset_bounds",
                    lambda b: _bounds_frame(b, universe, "Asset"),
                    lambda f: _parse_bounds(f, "Asset", default),
                    disabled=["Asset"], hide_index=True, width="stretch",
                    column_config=_BOUND_COLUMNS,
                )  # fmt: skip
    compliance_ui.controls()


def run_optimization() -> None:
    """Optimise the setup, from cash or from the book (``ui.book``); keep the last good result."""
    from core import mixed_integer
    from ui.book import optimize_setup

    note = compliance_ui.mixed_integer_note()
    try:
        if note:
            line = st.empty()

            def show(progress) -> None:  # from inside SCIP's search (core.mixed_integer)
                st.session_state["mip_progress"] = progress
                line.caption(compliance_ui.progress_text(progress))

            with st.spinner(note, show_time=True), mixed_integer.reporting(show):
                result = optimize_setup()
            line.empty()
        else:
            result = optimize_setup()
    except InfeasibleConstraintsError as exc:
        show_error(f"No portfolio satisfies the constraints. {exc}", icon=":material/block:")
        if st.session_state["allocation"] is not None:
            st.info("Showing the last allocation that could be computed.")
            mark_stale("last good allocation, before the current constraints")
        return
    except BallastError as exc:
        show_error(exc)
        if st.session_state["allocation"] is not None:
            st.info("Showing the last allocation that could be computed.")
            mark_stale("last good allocation, before the current setup")
        return
    mark_stale("")  # a fragment rerun (the objective's slider) does not pass ui.state.init
    st.session_state["allocation"] = result


# --- report --------------------------------------------------------------------------------
def report_section():
    """The allocation's report section (:func:`core.pipeline.allocation_section`).

    Returns
    -------
    core.reporting.ReportSection or None
        None while there is no allocation.

    Raises
    ------
    core.exceptions.ExecutionError
        If the orders cannot be sized (no valid price, non-positive capital).
    """
    if st.session_state.get("allocation") is None:
        return None
    return pipeline.allocation_section(state.pipeline())
