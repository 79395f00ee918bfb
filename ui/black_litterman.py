"""Black-Litterman page pieces: prior inputs, the views editor, the slider fragment, the report.

The views live in the setup key ``bl_views``: a list of dicts, one per row of the views table
(``kind, assets, versus, return, basket, view_volatility, confidence``; decimals), blank rows
included so that half-typed views survive a page change. The confidence of a view is set by its
slider; both are kept in the same dict so that a saved setup restores them together.

:func:`compute` is the work one slider move triggers (posterior, both portfolios, the charts);
it takes explicit inputs so that ``bench/black_litterman.py`` and :func:`report_section` run
exactly what the page runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import black_litterman as bl
from core import pipeline
from core.exceptions import BallastError
from core.optimization import OBJECTIVES
from core.pipeline import (  # noqa: F401  (the page's names)
    FALLBACK_DELTA,
    OMEGA_METHODS,
    PRIORS,
    BLInputs,
    BLOutcome,
    bl_compute,
)
from core.reporting import ReportSection
from ui import cache, state
from ui.widgets import md_escape, percent, show_error, synced

#: Short labels of :data:`OMEGA_METHODS` for the sidebar's select box.
_OMEGA_SHORT = {"idzorek": "Idzorek (sliders)", "proportional": "He & Litterman",
                "variance": "Your std devs (table)"}  # fmt: skip

_COLS = {
    "kind": "Kind",
    "assets": "Assets",
    "versus": "Versus",
    "return": "Return (% a year)",
    "basket": "Basket weights",
    "view_volatility": "View std dev (% a year)",
}
_PCT = ("return", "view_volatility")


def compute(inputs: BLInputs, confidences: np.ndarray | None = None) -> BLOutcome:
    """Posterior, both portfolios, the table and the figures (:func:`core.pipeline.bl_compute`).

    Raises
    ------
    BallastError
        From the posterior (bad views or omega).
    """
    return bl_compute(inputs, confidences)


def _caps_frame(data_caps: pd.Series | None, overrides: dict, tickers: list[str]) -> pd.DataFrame:
    base = pd.Series(np.nan, index=tickers) if data_caps is None else data_caps.reindex(tickers)
    caps = pd.to_numeric(base, errors="coerce").astype(float).copy()
    for t, v in (overrides if isinstance(overrides, dict) else {}).items():
        # A cap that is not a positive number (a hand-edited or damaged setup) is ignored:
        # the data's own cap stands.
        cap = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
        if t in caps.index and np.isfinite(cap) and cap >= 0:
            caps[t] = float(cap)
    return pd.DataFrame({"Asset": tickers, "Market cap": caps.to_numpy()})


def market_caps() -> pd.Series:
    """Market caps of the universe: the data's, overridden by the user's edits."""
    tickers = list(st.session_state["universe"])
    frame = _caps_frame(state.price_data().market_caps, st.session_state["bl_market_caps"], tickers)
    return frame.set_index("Asset")["Market cap"]


def market_caps_editor() -> None:
    """Editable market caps of the universe (only differences from the data are saved)."""
    data = state.price_data()
    tickers = list(st.session_state["universe"])
    currency = data.currency or "currency units"
    approx = " approximate," if data.source == "sample" else ""
    label = f"Market cap ({currency} bn,{approx} at {data.as_of.date()})"
    wkey, bkey = "w_bl_market_caps", "wbase_bl_market_caps"
    if wkey not in st.session_state or bkey not in st.session_state:
        st.session_state[bkey] = _caps_frame(
            data.market_caps, st.session_state["bl_market_caps"], tickers
        )
    edited = st.data_editor(
        st.session_state[bkey], key=wkey, hide_index=True, width="stretch", disabled=["Asset"],
        column_config={"Market cap": st.column_config.NumberColumn(label, min_value=0.0,
                                                                   format="%.1f")},
    )  # fmt: skip
    given = data.market_caps.reindex(tickers) if data.market_caps is not None else None
    overrides = {}
    for t, v in zip(edited["Asset"], edited["Market cap"], strict=True):
        if pd.notna(v) and (given is None or not np.isclose(v, given.get(t, np.nan))):
            overrides[str(t)] = float(v)
    st.session_state["bl_market_caps"] = overrides
    if data.source == "sample":
        st.caption("The sample's market caps are approximate (rounded, December 2022).")


def _views_frame(views: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            _COLS["kind"]: pd.Series([v.get("kind") or "absolute" for v in views], dtype=object),
            _COLS["assets"]: pd.Series([v.get("assets") or "" for v in views], dtype=object),
            _COLS["versus"]: pd.Series([v.get("versus") or "" for v in views], dtype=object),
            _COLS["return"]: pd.Series([v.get("return") for v in views], dtype=float) * 100,
            _COLS["basket"]: pd.Series([v.get("basket") or "equal" for v in views], dtype=object),
            _COLS["view_volatility"]: pd.Series(
                [v.get("view_volatility") for v in views], dtype=float
            )
            * 100,
            "confidence": pd.Series([v.get("confidence", 0.5) for v in views], dtype=float),
        }
    )
    return frame


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _number(value: object, scale: float = 1.0) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(value) else value / scale


def forget_sliders() -> None:
    """Drop the confidence sliders' widget state (their values stay in ``bl_views``).

    Call it on every run that does not draw the sliders. A slider that comes back after a run
    without it is a new element to the browser, which shows the proto's value, not the one
    Streamlit kept on the server: without a value set through session state it shows 0 %
    while the server computes with the old one. Forgotten sliders are set from ``bl_views``.
    """
    for key in [k for k in st.session_state if str(k).startswith("w_bl_conf_")]:
        del st.session_state[key]


def views_editor() -> list[int]:
    """The views table; writes the rows to ``bl_views`` and returns each row's editor id.

    The ids are the editor's row labels (stable while the page is open, also when other rows
    are deleted); the confidence sliders are keyed by them. A row's confidence is its slider's
    value, or else the one its view had on the last run (matched by id), so that editing the
    table never resets it.

    Returns
    -------
    list of int
        Editor id of each entry of ``st.session_state["bl_views"]``.
    """
    wkey, bkey, ikey = "w_bl_views", "wbase_bl_views", "w_bl_view_ids"
    views = st.session_state["bl_views"]
    if wkey not in st.session_state or bkey not in st.session_state:
        st.session_state[bkey] = _views_frame(views)
        st.session_state[ikey] = list(range(len(views)))
        forget_sliders()
    last_ids = st.session_state.get(ikey)
    if last_ids is None or len(last_ids) != len(views):
        last_ids = list(range(len(views)))
    last = {rid: view.get("confidence") for rid, view in zip(last_ids, views, strict=True)}
    # The same columns whatever the omega method: changing an editor's parameters makes it a
    # new widget, which would drop the edits made since the page opened.
    visible = list(_COLS.values())
    edited = st.data_editor(
        st.session_state[bkey], key=wkey, num_rows="dynamic", width="stretch",
        hide_index=True, column_order=visible,
        column_config={
            _COLS["kind"]: st.column_config.SelectboxColumn(
                _COLS["kind"], options=list(bl.VIEW_KINDS), default="absolute", required=True,
                help="absolute: the assets return Q; relative: they outperform 'Versus' by Q"),
            _COLS["assets"]: st.column_config.TextColumn(
                _COLS["assets"], help="One ticker, or several separated by commas (a basket)"),
            _COLS["versus"]: st.column_config.TextColumn(
                _COLS["versus"], help="Relative views: the tickers outperformed"),
            _COLS["return"]: st.column_config.NumberColumn(
                _COLS["return"], format="%.2f", help="Annualised, in % (8 means 8 % a year)"),
            _COLS["basket"]: st.column_config.SelectboxColumn(
                _COLS["basket"], options=list(bl.BASKET_WEIGHTINGS), default="equal",
                help="Weights within a basket of several tickers"),
            _COLS["view_volatility"]: st.column_config.NumberColumn(
                _COLS["view_volatility"], format="%.2f", min_value=0.0,
                help="Only with omega from your view standard deviations (sidebar): your "
                     "uncertainty about the view, % a year"),
        },
    )  # fmt: skip
    rows, ids = [], []
    for rid, row in edited.iterrows():
        slider = st.session_state.get(f"w_bl_conf_{rid}")
        conf = slider / 100 if slider is not None else _number(last.get(int(rid)))
        if conf is None:
            conf = _number(row.get("confidence"))
        rows.append(
            {
                "kind": _text(row[_COLS["kind"]]) or "absolute",
                "assets": _text(row[_COLS["assets"]]),
                "versus": _text(row[_COLS["versus"]]),
                "return": _number(row[_COLS["return"]], 100),
                "basket": _text(row[_COLS["basket"]]) or "equal",
                "view_volatility": _number(row[_COLS["view_volatility"]], 100),
                "confidence": 0.5 if conf is None else float(conf),
            }
        )
        ids.append(int(rid))
    st.session_state["bl_views"] = rows
    st.session_state[ikey] = ids
    return ids


def example_views(universe: list[str]) -> list[dict]:
    """Two starter views on the universe: one absolute, one relative (both at 50 %)."""
    if {"JPM", "MSFT", "AAPL"} <= set(universe):
        a, b, c = "JPM", "MSFT", "AAPL"
    elif len(universe) >= 3:
        a, b, c = universe[:3]
    else:
        return []
    return [
        {"kind": "absolute", "assets": a, "versus": "", "return": 0.08, "basket": "equal",
         "view_volatility": None, "confidence": 0.5},
        {"kind": "relative", "assets": b, "versus": c, "return": 0.02, "basket": "equal",
         "view_volatility": None, "confidence": 0.5},
    ]  # fmt: skip


def _load_examples() -> None:
    st.session_state["bl_views"] = example_views(list(st.session_state["universe"]))
    for key in ("w_bl_views", "wbase_bl_views"):
        st.session_state.pop(key, None)


def example_button() -> None:
    """A button that fills an empty views table with :func:`example_views`."""
    st.button("Add two example views", on_click=_load_examples, icon=":material/add:")


def sidebar_inputs() -> None:
    """Prior, delta, tau, risk-free rate and the omega method, written to the setup."""
    synced(st.radio, "bl_prior", "Prior portfolio", options=list(PRIORS), format_func=PRIORS.get)
    synced(st.number_input, "risk_free_rate", "Risk-free rate (% a year)", scale=100.0,
           min_value=-5.0, max_value=20.0, step=0.25, format="%.2f")  # fmt: skip
    by_hand = st.toggle("Set delta by hand", value=st.session_state["bl_delta"] is not None,
                        help="Otherwise from the benchmark: (E[r_m] - r_f) / var(r_m)")  # fmt: skip
    if by_hand:
        if st.session_state["bl_delta"] is None:
            st.session_state["bl_delta"] = FALLBACK_DELTA
        synced(st.number_input, "bl_delta", "Risk aversion delta", min_value=0.01,
               max_value=50.0, step=0.25, format="%.2f")  # fmt: skip
    else:
        st.session_state["bl_delta"] = None
        st.session_state.pop("w_bl_delta", None)
    synced(st.number_input, "bl_tau", "tau (uncertainty of the prior mean)", min_value=0.001,
           max_value=1.0, step=0.01, format="%.3f")  # fmt: skip
    synced(st.selectbox, "bl_omega", "View uncertainty (omega)", options=list(OMEGA_METHODS),
           format_func=_OMEGA_SHORT.get,
           help="\n".join(f"- **{_OMEGA_SHORT[k]}**: {v}"
                          for k, v in OMEGA_METHODS.items()))  # fmt: skip


def prepare() -> BLInputs:
    """The slider-independent inputs from the setup (:attr:`core.pipeline.Pipeline.bl_inputs`).

    Returns
    -------
    BLInputs

    Raises
    ------
    BallastError
        Bad data window, missing market caps, bad views (the message says which).
    """
    return state.pipeline().bl_inputs


def _use_posterior(returns: pd.Series) -> None:
    st.session_state["bl_posterior_returns"] = returns.rename("expected_return")
    st.session_state["expected_returns_source"] = "black_litterman"
    st.session_state["allocation"] = None


#: Short headers of the posterior table on the page (so that all columns fit at 1400 px), with
#: the full names of :attr:`BLOutcome.table` as their help.
_SHORT_HEADERS = {
    "Market weight": "Market weight",
    "Prior return (annualised)": "Prior return",
    "Posterior return (annualised)": "Posterior return",
    "Tilt (annualised)": "Tilt",
    "Posterior volatility (annualised)": "Posterior vol.",
    "BL weight (unconstrained)": "BL weight",
    "Optimised weight": "Optimised weight",
}


def posterior_display(
    table: pd.DataFrame,
) -> tuple[pd.DataFrame | pd.io.formats.style.Styler, dict]:
    """The posterior table as shown: short headers with help, percentages, blanks for none.

    Parameters
    ----------
    table : DataFrame (n_assets, 7)
        :attr:`BLOutcome.table` (decimals).

    Returns
    -------
    (DataFrame or Styler, dict)
        The table in % (two decimals and " %") and its ``column_config``. The number format
        lives in the column configuration (formatted in the browser): a pandas Styler's display
        values cost about 25 ms a move to render and send. Streamlit shows a missing number as
        "None", so when a cell has no value (e.g. no optimised portfolio) the table is a Styler
        with an empty cell there instead.
    """
    shown = (table * 100).rename(columns=_SHORT_HEADERS)
    blanks = bool(shown.isna().to_numpy().any())
    column = st.column_config.Column if blanks else st.column_config.NumberColumn
    fmt = {} if blanks else {"format": "%.2f %%"}
    config = {
        short: column(short, help=f"{full}, in %" + (
            " of capital" if "weight" in full.lower() else " a year"), **fmt)
        for full, short in _SHORT_HEADERS.items() if short in shown.columns
    }  # fmt: skip
    if blanks:
        return shown.style.format("{:.2f} %", na_rep=""), config
    return shown, config


def render_outcome(outcome: BLOutcome, *, live: bool = True) -> None:
    """Metrics, the charts (one figure), the posterior table and the "use the posterior" button."""
    inputs, opt = outcome.inputs, outcome.optimised
    w = outcome.bl_weights
    cols = st.columns(4)
    cols[0].metric("delta (risk aversion)", f"{inputs.delta:.2f}", help=inputs.delta_note)
    cols[1].metric("BL portfolio: invested", percent(w.sum(), 1),
                   help="Sum of the unconstrained weights (He & Litterman: not normalised; "
                        "the rest is in the risk-free asset)")  # fmt: skip
    if opt is not None:
        cols[2].metric("Optimised: expected return", percent(opt.expected_return),
                       help="Annualised, on the posterior returns")  # fmt: skip
        cols[3].metric("Optimised: Sharpe ratio", f"{opt.sharpe_ratio:.2f}",
                       help=OBJECTIVES.get(opt.objective.kind, ""))  # fmt: skip
    else:
        st.warning(md_escape(f"Optimised portfolio unavailable: {outcome.optimisation_error}"))
    # Returns, weights and weight changes in one figure: the browser redraws one chart a move.
    st.plotly_chart(outcome.figures["panels"], key="bl_returns_chart")
    st.subheader("Posterior")
    st.caption("In %: returns, tilt and volatility annualised; weights of capital (the BL "
               "weight is the unconstrained portfolio). Hover a header for its definition.")
    styled, config = posterior_display(outcome.table)
    st.dataframe(styled, column_config=config, width="stretch")
    if not live:
        return
    in_use = st.session_state.get("bl_posterior_returns")
    current = outcome.result.returns
    same = (
        in_use is not None and in_use.index.equals(current.index) and np.allclose(in_use, current)
    )
    st.button(
        "Use the posterior on the Allocation and Efficient Frontier pages",
        on_click=_use_posterior, args=(current,), type="primary" if not same else "secondary",
        icon=":material/send:",
    )  # fmt: skip
    if same and st.session_state["expected_returns_source"] == "black_litterman":
        st.caption("The Allocation and Efficient Frontier pages use this posterior.")
    elif in_use is not None and st.session_state["expected_returns_source"] == "black_litterman":
        st.caption("Those pages use an earlier posterior; press the button to send this one.")


@st.fragment
def results_fragment(inputs: BLInputs, row_ids: list[int]) -> None:
    """One confidence slider per view and everything that depends on them.

    A slider move reruns only this fragment: posterior, both portfolios, charts, table.
    """
    views = inputs.views
    confidences = np.asarray(views.confidences, dtype=float).copy()
    if len(views) and inputs.omega_method == "idzorek":
        st.subheader("Confidence in each view")
        for i, pos in enumerate(views.rows):
            key = f"w_bl_conf_{row_ids[pos]}"
            if key not in st.session_state:
                st.session_state[key] = int(round(confidences[i] * 100))
            value = st.slider(
                md_escape(f"{views.P.index[i]}: {views.labels[i]}"), 0, 100, step=1, key=key,
                format="%d %%",
                help="0 %: the posterior ignores the view; 100 %: the view holds exactly",
            )  # fmt: skip
            confidences[i] = value / 100
            st.session_state["bl_views"][pos]["confidence"] = float(confidences[i])
    else:
        forget_sliders()
        if len(views):
            st.caption("The sliders apply with Idzorek's omega (sidebar).")
    try:
        # A move back to confidences already shown reuses their outcome (figures included);
        # the memo is the inputs': a full rerun (new views, another prior) starts afresh. The
        # outcome of inputs another session has seen (the default setup) is that session's.
        conf = tuple(float(c) for c in confidences)
        outcome = cache.session_memo(
            "bl_outcome", inputs, conf,
            lambda: cache.shared("bl_outcome", cache.content_key(inputs, conf),
                                 lambda: compute(inputs, confidences)),
        )  # fmt: skip
    except BallastError as exc:
        show_error(exc)
        last = st.session_state.get("bl_result")
        if last is not None:
            st.info("Showing the last result that could be computed.")
            render_outcome(last, live=False)
        return
    st.session_state["bl_result"] = outcome
    render_outcome(outcome)
    from ui.report import page_downloads  # here, so the files follow the sliders

    page_downloads(lambda: section_from_outcome(outcome))


def report_section() -> ReportSection | None:
    """The Black-Litterman section of the reports (:func:`core.pipeline.black_litterman_section`).

    Returns
    -------
    core.reporting.ReportSection or None
        Prior, views with confidences and omega, posterior table, both portfolios and the
        figures; None when there are no (valid) views.
    """
    return pipeline.black_litterman_section(state.pipeline())


def section_from_outcome(outcome: BLOutcome) -> ReportSection | None:
    """The report section of an outcome already computed (see :func:`report_section`)."""
    return pipeline.bl_section_from_outcome(outcome, st.session_state["bl_prior"])


def show_errors_or(inputs_factory) -> BLInputs | None:
    """Run ``inputs_factory``; on a BallastError show it and the last good result, return None."""
    try:
        return inputs_factory()
    except BallastError as exc:
        forget_sliders()  # the sliders are not drawn on this run
        show_error(exc)
        last = st.session_state.get("bl_result")
        if last is not None:
            st.info("Showing the last result that could be computed.")
            render_outcome(last, live=False)
        return None
