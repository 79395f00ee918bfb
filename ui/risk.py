"""Risk-page pieces: settings, the six tabs of the risk report, and its report section.

The portfolio is the current allocation (``st.session_state["allocation"]``), computed from the
setup when missing or stale. VaR, CVaR, contributions and drawdowns use the user's date window
(``state.window_data``); historical stress scenarios, the rolling correlation and (by default)
the VaR backtest use the full loaded history of the universe, since crises may precede the
window. VaR and CVaR are positive losses as fractions of portfolio value; money figures are
``fraction x capital`` (setup key ``capital``).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from core import pipeline, risk, stress
from core.charts import risk as risk_charts
from core.exceptions import BallastError, RiskInputError
from core.pipeline import RiskInputs
from core.reporting import ReportSection
from ui import cache, state
from ui.widgets import (
    blank_missing,
    csv_download,
    md_escape,
    number_column,
    percent,
    percent_column,
    show_error,
    synced,
    synced_editor,
)

#: Confidence levels offered to the user (decimals).
CONFIDENCE_OPTIONS = [0.9, 0.95, 0.975, 0.99, 0.995, 0.999]
#: Monte Carlo runs above this many draws show a progress bar (about a second of work).
_PROGRESS_DRAWS = 2_000_000


# ----------------------------------------------------------------------------------- inputs
#: Ranges of the numeric risk settings: key -> (min, max, default). A loaded setup outside them
#: would make Streamlit's number inputs raise; :func:`sanitize_setup` resets such values.
_RANGES: dict[str, tuple[float, float, float]] = {
    "risk_horizon": (1, 250, 1),
    "risk_mc_scenarios": (1_000, 1_000_000, 100_000),
    "risk_mc_seed": (0, 2**32 - 1, 42),
    "risk_backtest_window": (20, 5000, 250),
    "risk_corr_window": (10, 750, 63),
    "risk_corr_push": (0.0, 1.0, 0.5),
}


def sanitize_setup() -> list[str]:
    """Reset risk settings that a loaded setup put out of range; return what was reset.

    Returns
    -------
    list of str
        One message per reset value (shown as a warning by the page).
    """
    ss, notes = st.session_state, []
    for key, (lo, hi, default) in _RANGES.items():
        value = ss.get(key)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi
        if not ok:
            notes.append(f"{key} = {value!r} is outside [{lo:g}, {hi:g}]; reset to {default:g}.")
            ss[key] = type(default)(default)
            ss.pop(f"w_{key}", None)
    for key, allowed in (("risk_contrib_method", ("historical", "parametric")),
                         ("risk_backtest_method", tuple(risk.BACKTEST_METHODS))):  # fmt: skip
        if ss.get(key) not in allowed:
            notes.append(f"{key} = {ss.get(key)!r} is unknown; reset to {allowed[0]!r}.")
            ss[key] = allowed[0]
            ss.pop(f"w_{key}", None)
    dof = ss.get("risk_mc_dof")
    if dof is not None and not (isinstance(dof, int | float) and 2.1 <= dof <= 200):
        notes.append(f"risk_mc_dof = {dof!r} is outside [2.1, 200]; the dof will be fitted.")
        ss["risk_mc_dof"] = None
        ss.pop("w_risk_mc_dof", None)
    return notes


def _confidence_options(*current) -> list[float]:
    """The offered levels plus any level a loaded setup holds (validated later by core)."""
    extra = []
    for c in current:
        extra += list(c) if isinstance(c, list | tuple) else [c]
    return sorted({*CONFIDENCE_OPTIONS, *(float(c) for c in extra if isinstance(c, int | float))})


def _confidence_input(widget, name: str, label: str, **kwargs) -> None:
    """A confidence level (or several) for the setup key ``name``, shown as percentages."""
    options = _confidence_options(st.session_state[name])
    synced(widget, name, label, options=options, format_func=lambda c: f"{c:.1%}", **kwargs)


def settings_inputs() -> None:
    """Sidebar: confidence levels, horizon, portfolio value and the Monte Carlo settings."""
    for note in sanitize_setup():
        st.warning(md_escape(note), icon=":material/warning:")
    _confidence_input(
        st.multiselect,
        "risk_confidences",
        "Confidence levels",
        help="VaR and CVaR are shown for each level chosen.",
    )
    synced(
        st.number_input,
        "risk_horizon",
        "Horizon (trading days)",
        min_value=1,
        max_value=250,
        step=1,
        help="Historical VaR at h > 1 days: the current weights bought on each day and held h "
        "days (overlapping h-day buy-and-hold returns, also behind the contributions); "
        "parametric and Cornish-Fisher scale daily moments (h mu, sqrt(h) sigma).",
    )
    synced(
        st.number_input,
        "capital",
        "Portfolio value (money)",
        min_value=1.0,
        step=10_000.0,
        format="%.2f",
        help="Money figures = VaR or CVaR fraction x this value.",
    )
    with st.expander("Monte Carlo"):
        synced(
            st.number_input,
            "risk_mc_scenarios",
            "Scenarios per distribution",
            min_value=1_000,
            max_value=1_000_000,
            step=50_000,
        )
        fit = st.checkbox(
            "Fit the Student-t degrees of freedom",
            value=st.session_state["risk_mc_dof"] is None,
            key="w_risk_mc_fit",
        )
        if fit:
            st.session_state["risk_mc_dof"] = None
            st.session_state.pop("w_risk_mc_dof", None)
        else:
            if st.session_state["risk_mc_dof"] is None:
                st.session_state["risk_mc_dof"] = 5.0
            synced(
                st.number_input,
                "risk_mc_dof",
                "Degrees of freedom",
                min_value=2.1,
                max_value=200.0,
                step=0.5,
                format="%.1f",
            )
        synced(st.number_input, "risk_mc_seed", "Seed", min_value=0, step=1)


def prepare() -> RiskInputs:
    """The setup and the current allocation as :class:`RiskInputs` (``core.pipeline``).

    Returns
    -------
    RiskInputs

    Raises
    ------
    core.exceptions.BallastError
        No allocation can be computed, the window is unusable, or a setting is invalid.
    """
    from ui.allocation import run_optimization

    ss = st.session_state
    result = ss.get("allocation")
    if result is None or set(result.weights.index) != set(ss["universe"]):
        run_optimization()
    if ss.get("allocation") is None:
        raise RiskInputError(
            "No allocation to assess: the optimiser found none for the current setup. Open the "
            "Allocation page to fix the objective or constraints."
        )
    return state.pipeline().risk_inputs


def compute_table(inputs: RiskInputs, show_progress: bool = True) -> pd.DataFrame:
    """VaR/CVaR by every method at every confidence, with money columns.

    Ordinary runs go through ``ui.cache.risk_table``. Large Monte Carlo runs (at least
    :data:`_PROGRESS_DRAWS` draws, about a second) run here with a live progress bar, since a
    cached function cannot update an element created outside it; their last result is kept in
    session state under ``_risk_mc_memo`` with the inputs that produced it.

    Parameters
    ----------
    inputs : RiskInputs
    show_progress : bool
        Show a progress bar when the Monte Carlo work is large.

    Returns
    -------
    DataFrame
        ``core.risk.risk_table`` with ``var_money`` and ``cvar_money``.
    """
    ss = st.session_state
    n, dof = int(ss["risk_mc_scenarios"]), ss["risk_mc_dof"]
    args = (
        inputs.returns,
        inputs.weights,
        inputs.confidences,
        inputs.horizon,
        n,
        None if dof is None else float(dof),
        int(ss["risk_mc_seed"]),
    )
    if n * (1 + inputs.horizon) < _PROGRESS_DRAWS:
        table = cache.risk_table(*args)
    else:
        key = (
            tuple(inputs.returns.index[[0, -1]]),
            tuple(inputs.returns.columns),
            tuple(np.round(inputs.weights.to_numpy(), 12)),
            *args[2:],
        )
        memo = ss.get("_risk_mc_memo")
        if memo is not None and memo[0] == key:
            table = memo[1]
        else:
            bar = st.progress(0.0, text="Simulating...") if show_progress else None
            label = f"Simulating {n:,} Monte Carlo scenarios per distribution"

            def progress(f: float) -> None:
                if bar is not None:
                    bar.progress(min(max(f, 0.0), 1.0), text=f"{label}: {f:.0%}")

            try:
                table = risk.risk_table(
                    *args[:4], n_scenarios=n, dof=args[5], seed=args[6], progress=progress
                )
            finally:
                if bar is not None:
                    bar.empty()
            ss["_risk_mc_memo"] = (key, table)
    table = table.copy()
    table["var_money"] = table["var"] * inputs.capital
    table["cvar_money"] = table["cvar"] * inputs.capital
    return table


#: Short header -> (full name with units, display format) of the VaR table. Short headers keep
#: every column, the Monte Carlo standard errors included, in view at 1400 px.
_VAR_COLUMNS = {
    "Method": ("Method", None),
    "Conf. %": ("Confidence level, in %", "{:.1f}"),
    "Days": ("Horizon, in trading days", "{:.0f}"),
    "VaR %": ("Value at risk: the loss not exceeded at the confidence level over the horizon, "
              "in % of portfolio value", "{:.2f}"),
    "VaR {cur}": ("Value at risk in money ({cur})", "{:,.0f}"),
    "CVaR %": ("Conditional value at risk (expected shortfall): the mean loss beyond VaR, in % "
               "of portfolio value", "{:.2f}"),
    "CVaR {cur}": ("Conditional value at risk in money ({cur})", "{:,.0f}"),
    "SE VaR %": ("Monte Carlo standard error of VaR, in % points (blank: not simulated)",
                 "{:.3f}"),
    "SE CVaR %": ("Monte Carlo standard error of CVaR, in % points (blank: not simulated)",
                  "{:.3f}"),
    "t dof": ("Degrees of freedom of the fitted Student-t (blank: another model)", "{:.2f}"),
    "Note": ("Note on the method's reliability", None),
}  # fmt: skip


def display_table(table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The risk table with short headers (see :func:`var_display`); ``%`` columns x 100."""
    cur = currency or "money"
    values = [
        table["label"], table["confidence"] * 100, table["horizon_days"], table["var"] * 100,
        table["var_money"], table["cvar"] * 100, table["cvar_money"], table["var_se"] * 100,
        table["cvar_se"] * 100, table["dof"], table["note"],
    ]  # fmt: skip
    names = [short.format(cur=cur) for short in _VAR_COLUMNS]
    frame = pd.DataFrame(dict(zip(names, values, strict=True)))
    return frame.astype({n: float for n in names if n not in ("Method", "Note")})


def var_display(
    table: pd.DataFrame, currency: str = ""
) -> tuple[pd.io.formats.style.Styler, dict]:
    """The VaR table as shown: short headers with full names in help, blanks where no value.

    Parameters
    ----------
    table : DataFrame (n_methods x n_confidences, 11)
        :func:`compute_table`'s output (decimals, money in the portfolio's currency).
    currency : str
        Currency code for the money headers; ``""`` reads "money".

    Returns
    -------
    (Styler, dict)
        The styled table (an empty cell where a method has no standard error or dof) and its
        ``column_config`` (help = full name with units).
    """
    cur = currency or "money"
    shown = display_table(table, currency)
    formats, config = {}, {}
    for short, (full, fmt) in _VAR_COLUMNS.items():
        name = short.format(cur=cur)
        config[name] = st.column_config.Column(name, help=full.format(cur=cur))
        formats[name] = fmt if fmt else (lambda v: "" if v is None or v != v else str(v))
    return shown.style.format(formats, na_rep=""), config


_PCT = percent_column()
_MONEY = number_column(fmt="%,.0f")


def _csv(frame: pd.DataFrame, index: bool = False) -> bytes:
    return frame.to_csv(index=index).encode("utf-8")


#: Loss measures shown side by side: column or attribute -> label.
_LOSSES = {"var": "VaR", "cvar": "CVaR"}


def _note_metric(box, label: str, value: str, note: str, **kwargs) -> None:
    """A metric whose small line is a note (money, p-value, dates), not a change: grey, no arrow."""
    box.metric(label, value, note, delta_color="off", delta_arrow="off", **kwargs)


# ------------------------------------------------------------------------------ VaR & CVaR
@st.fragment
def var_tab(inputs: RiskInputs) -> None:
    """VaR and CVaR by every method: key figures, table, distribution and bar chart.

    A fragment: choosing the confidence of the histogram's lines reruns this tab only.
    """
    try:
        table = compute_table(inputs)
    except BallastError as exc:
        show_error(exc, "VaR and CVaR")
        return
    h = inputs.horizon
    hist = table[table["method"] == "historical"]
    cols = st.columns(len(hist) * 2)
    for i, (_, row) in enumerate(hist.iterrows()):
        c = row["confidence"]
        for j, (col, name) in enumerate(_LOSSES.items()):
            _note_metric(
                cols[2 * i + j],
                f"Historical {name} {c:.1%}, {h} d",
                percent(row[col]),
                inputs.money(row[col]),
            )
    if (table["note"] != "").any():
        st.warning(
            "The Cornish-Fisher expansion is not monotonic for this portfolio's skewness and "
            "kurtosis (fat tails): its VaR and CVaR are unreliable here. Prefer historical or "
            "Student-t Monte Carlo figures.",
            icon=":material/warning:",
        )
    styled, config = var_display(table, inputs.currency)
    st.dataframe(styled, column_config=config, hide_index=True, width="stretch")
    st.caption(
        "Columns marked % in percent of portfolio value (standard errors in % points), money "
        f"in {inputs.currency or 'the data currency'}; hover a header for its full name; blank: "
        "not applicable to the method. "
        f"Losses as a share of the portfolio value and in money for {inputs.money(1.0)}, over "
        f"{h} trading day{'s' if h > 1 else ''}, from {len(inputs.portfolio)} daily returns of "
        "the date window. Historical: empirical quantile (the ceil(n c)-th smallest loss), "
        + ("overlapping h-day buy-and-hold returns of the current weights; " if h > 1 else "")
        + "CVaR = mean loss beyond VaR (Acerbi-Tasche). Monte Carlo: multivariate normal and "
        "Student-t fitted to the window (sample mean and covariance), seed "
        f"{st.session_state['risk_mc_seed']}, {int(st.session_state['risk_mc_scenarios']):,} "
        "scenarios each, with standard errors."
    )
    left, right = st.columns([3, 2])
    with left:
        c = st.selectbox(
            "Confidence of the lines",
            inputs.confidences,
            index=len(inputs.confidences) - 1,
            format_func=lambda v: f"{v:.1%}",
            key="risk_hist_confidence",
        )
        part = table[table["confidence"] == c]
        lines = {r["label"]: (r["var"], r["cvar"]) for _, r in part.iterrows()}
        sample = risk.historical_scenarios(inputs.returns, inputs.weights, h).to_numpy()
        # Figures of inputs any session has drawn already are that session's (cache.shared)
        st.plotly_chart(cache.shared("risk_hist", cache.content_key(sample, lines, h, c),
                                     lambda: risk_charts.return_distribution(sample, lines, h, c)),
                        key="risk_hist")  # fmt: skip
    with right:
        st.plotly_chart(cache.shared("risk_methods", cache.content_key(table),
                                     lambda: risk_charts.var_by_method(table)),
                        key="risk_methods")  # fmt: skip
    csv_download(
        "Download VaR and CVaR (CSV)", _csv(table), "ballast_var_cvar.csv", key="dl_risk_var"
    )


# --------------------------------------------------------------------------- contributions
_MEASURES = {"volatility": "Volatility", "var": "VaR", "cvar": "CVaR"}
_KINDS = {"marginal": "marginal", "component": "component", "share": "share of total"}


def _contrib_config(columns) -> dict:
    config = {"weight": percent_column("Weight (%)"),
              "sector": st.column_config.TextColumn("Sector")}  # fmt: skip
    for col in columns:
        if "_" in col and col.split("_", 1)[0] in _MEASURES:
            m, kind = col.split("_", 1)
            config[col] = percent_column(f"{_MEASURES[m]} {_KINDS[kind]} (%)")
    return config


@st.fragment
def contributions_tab(inputs: RiskInputs) -> None:
    """Component and marginal contributions per asset and per sector: tables and charts."""
    c1, c2 = st.columns(2)
    with c1:
        synced(
            st.radio,
            "risk_contrib_method",
            "Decomposition",
            options=["historical", "parametric"],
            format_func=risk.METHODS.get,
            horizontal=True,
        )
    with c2:
        _confidence_input(st.selectbox, "risk_contrib_confidence", "Confidence")
    ss = st.session_state
    try:
        rc = risk.risk_contributions(
            inputs.returns,
            inputs.weights,
            ss["risk_contrib_confidence"],
            inputs.horizon,
            ss["risk_contrib_method"],
            inputs.sectors,
        )
    except BallastError as exc:
        show_error(exc, "Contributions")
        return
    m = st.columns(3)
    m[0].metric("Volatility (annualised)", percent(rc.volatility))
    for box, (col, name) in zip(m[1:], _LOSSES.items(), strict=True):
        loss = getattr(rc, col)
        _note_metric(
            box, f"{name} {rc.confidence:.1%}, {rc.horizon} d", percent(loss), inputs.money(loss)
        )
    held = rc.assets[rc.assets["weight"].abs() > 1e-8]
    left, right = st.columns(2)
    left.plotly_chart(
        risk_charts.contributions_bar(held, "Share of risk by asset"), key="risk_contrib_assets"
    )
    right.plotly_chart(
        risk_charts.contributions_bar(
            rc.sectors[rc.sectors["weight"].abs() > 1e-8], "Share of risk by sector"
        ),
        key="risk_contrib_sectors",
    )
    pct_cols = [c for c in rc.assets.columns if c != "sector"]
    st.dataframe(rc.assets, column_config=_contrib_config(pct_cols), width="stretch")
    st.dataframe(blank_missing(rc.sectors, "{:.2%}"),
                 column_config=_contrib_config(rc.sectors.columns), width="stretch")  # fmt: skip
    st.caption("Sectors in %; a blank marginal: the sector is not held (zero weight, "
               "marginal = component / weight is undefined).")
    st.caption(
        "Euler allocation: component = weight x marginal (d risk / d weight); components add "
        "up to the total. Historical CVaR: average asset loss over the tail scenarios; "
        "historical VaR: kernel average over the scenarios nearest the VaR, rescaled to add up "
        "(Tasche 1999; Epperlein & Smillie 2006). Sector marginal = component / sector weight. "
        "Volatility figures annualised (252 days); VaR and CVaR over the horizon."
        + (
            " At h > 1 days the historical scenarios are the overlapping h-day buy-and-hold "
            "returns of the current weights, as on the VaR & CVaR tab (same figures)."
            if inputs.horizon > 1
            else ""
        )
    )
    d1, d2 = st.columns(2)
    csv_download(
        "Download contributions by asset (CSV)",
        _csv(rc.assets, True),
        "ballast_risk_contributions_assets.csv",
        key="dl_risk_contrib",
        box=d1,
    )
    csv_download(
        "Download contributions by sector (CSV)",
        _csv(rc.sectors, True),
        "ballast_risk_contributions_sectors.csv",
        key="dl_risk_contrib_sec",
        box=d2,
    )


# ------------------------------------------------------------------------------- drawdowns
def drawdowns_tab(inputs: RiskInputs) -> None:
    """Drawdown curve, maximum drawdown, CDaR and time to recovery over the window."""
    c = max(inputs.confidences)
    try:
        dd = risk.drawdowns(inputs.portfolio, c)
    except BallastError as exc:
        show_error(exc, "Drawdowns")
        return
    m = st.columns(4)
    _note_metric(
        m[0], "Maximum drawdown (loss)", percent(dd.max_drawdown), inputs.money(dd.max_drawdown)
    )
    _note_metric(
        m[1],
        f"CDaR {c:.1%}",
        percent(dd.cdar),
        inputs.money(dd.cdar),
        help="Mean of the worst 1 - c share of daily drawdowns",
    )
    _note_metric(
        m[2],
        "Peak to trough",
        f"{dd.days_peak_to_trough} trading days",
        f"{dd.peak.date()} to {dd.trough.date()}",
    )
    _note_metric(
        m[3],
        "Time to recovery",
        f"{dd.days_to_recovery} trading days" if dd.recovery is not None else "not recovered",
        f"recovered {dd.recovery.date()}" if dd.recovery is not None else "by the window's end",
    )
    st.plotly_chart(risk_charts.drawdown_chart(dd.curve), key="risk_dd")
    csv_download(
        "Download drawdown curve (CSV)",
        _csv(dd.curve.to_frame(), True),
        "ballast_drawdowns.csv",
        key="dl_risk_dd",
    )


# -------------------------------------------------------------------------------- backtest
def run_backtest(inputs: RiskInputs) -> risk.VaRBacktest:
    """The rolling one-day VaR backtest of the setup (cached; ``core.pipeline``).

    Raises
    ------
    core.exceptions.RiskInputError
        Window too long for the data, bad method or confidence.
    """
    return state.pipeline().var_backtest(inputs)


@st.fragment
def backtest_tab(inputs: RiskInputs) -> None:
    """Rolling VaR backtest: exceptions on the return chart, Kupiec, Christoffersen, Basel."""
    c = st.columns(4)
    with c[0]:
        synced(
            st.selectbox,
            "risk_backtest_method",
            "VaR method",
            options=list(risk.BACKTEST_METHODS),
            format_func=risk.BACKTEST_METHODS.get,
        )
    with c[1]:
        synced(
            st.number_input,
            "risk_backtest_window",
            "Estimation window (trading days)",
            min_value=20,
            max_value=5000,
            step=10,
        )
    with c[2]:
        _confidence_input(st.selectbox, "risk_backtest_confidence", "Confidence")
    with c[3]:
        synced(
            st.toggle,
            "risk_backtest_full_history",
            "Whole loaded history",
            help="Off: only the date window",
        )
    try:
        bt = run_backtest(inputs)
    except BallastError as exc:
        show_error(exc, "Backtest")
        return
    ch = bt.christoffersen
    m = st.columns(5)
    _note_metric(
        m[0],
        f"Exceptions in {bt.n_days:,} days",
        f"{bt.n_exceptions}",
        f"expected {bt.expected_exceptions:.1f}",
    )
    lr_tests = {
        "Kupiec POF": (bt.kupiec, bt.kupiec_p),
        "Christoffersen independence": (ch.independence, ch.independence_p),
        "Conditional coverage": (ch.conditional_coverage, ch.conditional_coverage_p),
    }
    for box, (name, (lr, p)) in zip(m[1:4], lr_tests.items(), strict=True):
        _note_metric(box, name, f"LR {lr:.2f}", f"p-value {p:.4f}")
    m[4].metric(
        "Basel traffic light",
        bt.zone.capitalize(),
        f"{bt.zone_exceptions} exceptions, last {bt.zone_days} days",
        delta_color={"green": "green", "yellow": "orange", "red": "red"}[bt.zone],
        delta_arrow="off",
    )
    st.plotly_chart(
        risk_charts.backtest_chart(bt.returns, bt.var, bt.exceptions, bt.confidence), key="risk_bt"
    )
    st.caption(
        f"One-day VaR for each day from the previous {bt.window} trading days only (no "
        "look-ahead), current weights held constant. Kupiec (1995) tests the exception rate "
        "(chi-square, 1 dof); Christoffersen (1998) tests clustering (1 dof) and both together "
        "(2 dof). Basel zones at the binomial 95 % / 99.99 % cumulative probabilities."
    )
    frame = pd.DataFrame({"return": bt.returns, "var": bt.var, "exception": bt.exceptions})
    d1, d2 = st.columns(2)
    csv_download(
        "Download backtest statistics (CSV)",
        _csv(bt.summary()),
        "ballast_var_backtest_statistics.csv",
        key="dl_risk_bt_stats",
        box=d1,
    )
    csv_download(
        "Download backtest series (CSV)",
        _csv(frame, True),
        "ballast_var_backtest.csv",
        key="dl_risk_bt",
        box=d2,
    )


# ---------------------------------------------------------------------------------- stress
def _windows_frame(windows: dict) -> pd.DataFrame:
    rows = [(n, pd.Timestamp(s).date(), pd.Timestamp(e).date()) for n, (s, e) in windows.items()]
    frame = pd.DataFrame(rows, columns=["Name", "Start", "End"])
    for col in ("Start", "End"):
        frame[col] = pd.to_datetime(frame[col]).dt.date
    return frame


def _parse_windows(frame: pd.DataFrame) -> dict:
    out = {}
    for _, row in frame.iterrows():
        name, start, end = row["Name"], row["Start"], row["End"]
        if pd.isna(start) or pd.isna(end) or not str(name or "").strip() or str(name) == "None":
            continue
        out[str(name).strip()] = [str(pd.Timestamp(start).date()), str(pd.Timestamp(end).date())]
    return out


def _as_percent(value) -> float:
    """A stored decimal shock in percent; an empty or unreadable entry shows as an empty cell."""
    try:
        return float(value) * 100
    except (TypeError, ValueError):
        return np.nan


def _shocks_frame(shocks: dict, index: list[str], label: str) -> pd.DataFrame:
    return pd.DataFrame({label: index, "Shock (%)": [_as_percent(shocks.get(k)) for k in index]})


def _parse_shocks(frame: pd.DataFrame, label: str) -> dict:
    return {
        str(row[label]): float(row["Shock (%)"]) / 100
        for _, row in frame.iterrows()
        if not pd.isna(row["Shock (%)"])
    }


#: Stress-table columns (core name -> label); ``(%)`` columns hold decimals shown as percent.
_STRESS_LABELS = {
    "scenario": "Scenario",
    "start": "Start (peak close)",
    "end": "End (trough close)",
    "trading_days": "Trading days",
    "portfolio_return": "Return (%)",
    "pnl_money": "P&L (money)",
    "worst_day_loss": "Worst day loss (%)",
    "worst_day_date": "Worst day",
    "max_drawdown": "Maximum drawdown (loss, %)",
    "benchmark_return": "Benchmark return (%)",
    "benchmark_worst_day_loss": "Benchmark worst day loss (%)",
    "benchmark_max_drawdown": "Benchmark maximum drawdown (loss, %)",
}
_STRESS_CONFIG = {
    label: percent_column(label) for label in _STRESS_LABELS.values() if label.endswith("%)")
}
_STRESS_CONFIG["P&L (money)"] = number_column("P&L (money)", "%,.0f")


def stress_display(table: pd.DataFrame, capital: float) -> pd.DataFrame:
    """The historical stress table with the user's column names and a signed money P&L.

    Parameters
    ----------
    table : DataFrame
        ``core.stress.historical_stress`` output.
    capital : float
        Portfolio value for ``P&L (money)`` = return x value.

    Returns
    -------
    DataFrame
        Columns of :data:`_STRESS_LABELS`; decimals stay decimals (shown as percent).
    """
    shown = table.assign(pnl_money=table["portfolio_return"] * capital)
    return shown[list(_STRESS_LABELS)].rename(columns=_STRESS_LABELS)


def run_stress(inputs: RiskInputs) -> tuple[pd.DataFrame, list[str]]:
    """Historical scenarios on the full history, with the user's windows (cached).

    Raises
    ------
    core.exceptions.RiskInputError
        A custom window outside the data.
    """
    return state.pipeline().stress(inputs)


@st.fragment
def stress_tab(inputs: RiskInputs) -> None:
    """Historical crisis windows, the user's windows, and hypothetical shocks."""
    st.markdown(
        "**Historical scenarios**: the current weights bought at the close of the window's first "
        "day (for the built-in windows the S&P 500's peak close) and held to the close of its "
        "last day (the trough close); any part of the book the weights leave uninvested is cash."
    )
    with st.expander("Add your own windows"):
        synced_editor(
            "risk_custom_windows",
            _windows_frame,
            _parse_windows,
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config={
                "Start": st.column_config.DateColumn("Start"),
                "End": st.column_config.DateColumn("End"),
            },
        )
    try:
        table, skipped = run_stress(inputs)
    except BallastError as exc:
        show_error(exc, "Stress scenarios")
        table, skipped = None, []
    if table is not None and len(table):
        shown = stress_display(table, inputs.capital)
        st.dataframe(shown, hide_index=True, width="stretch", column_config=_STRESS_CONFIG)
        st.caption(
            "Signs: returns and P&L are signed (a gain is positive); losses are positive "
            "numbers (worst day's loss, maximum drawdown from the running peak)."
        )
        st.plotly_chart(risk_charts.stress_bar(table), key="risk_stress")
        csv_download(
            "Download stress scenarios (CSV)",
            _csv(table.assign(pnl_money=table["portfolio_return"] * inputs.capital)),
            "ballast_stress.csv",
            key="dl_risk_stress",
        )
    if skipped:
        first = inputs.full_prices.index[0].date()
        st.info(md_escape(f"Not covered by the loaded data (from {first}): {', '.join(skipped)}."))
    st.markdown(
        "**Hypothetical shocks** (instantaneous returns; an asset's shock overrides its sector's)"
    )
    held = [t for t in inputs.weights.index if abs(inputs.weights[t]) > 1e-8]
    sectors = sorted(inputs.sectors.reindex(inputs.weights.index).fillna("Unknown").unique())
    editors = (("risk_sector_shocks", sectors, "Sector"), ("risk_asset_shocks", held, "Asset"))
    for box, (key, names, label) in zip(st.columns(2), editors, strict=True):
        with box:
            synced_editor(
                key,
                partial(_shocks_frame, index=names, label=label),
                partial(_parse_shocks, label=label),
                disabled=[label],
                hide_index=True,
                width="stretch",
            )
    ss = st.session_state
    try:
        shock = stress.hypothetical_shock(
            inputs.weights,
            ss["risk_asset_shocks"],
            ss["risk_sector_shocks"],
            inputs.sectors,
            inputs.capital,
        )
    except BallastError as exc:
        show_error(exc, "Hypothetical shocks")
        return
    total = float(shock["pnl"].sum())
    st.metric(
        "Portfolio P&L under the shocks",
        percent(total),
        inputs.money(total),
        delta_color="normal" if total else "off",
    )
    hit = shock[shock["shock"] != 0]
    if len(hit):
        st.dataframe(
            hit,
            column_config={"weight": _PCT, "shock": _PCT, "pnl": _PCT, "pnl_money": _MONEY},
            width="stretch",
        )
        csv_download(
            "Download shock P&L (CSV)", _csv(shock, True), "ballast_shocks.csv", key="dl_risk_shock"
        )


# ------------------------------------------------------------------------ correlation stress
def run_correlation_stress(inputs: RiskInputs, confidence: float) -> pd.DataFrame:
    """Correlation-stress table for the setup (crisis window and pushed correlations).

    Raises
    ------
    core.exceptions.RiskInputError
        The crisis window is not in the data or too short.
    """
    return state.pipeline().correlation_stress(inputs, confidence)


@st.fragment
def correlation_tab(inputs: RiskInputs) -> None:
    """Rolling average correlation and VaR/CVaR under crisis and pushed correlations."""
    ss = st.session_state
    windows = {**stress.HISTORICAL_SCENARIOS, **ss["risk_custom_windows"]}
    c = st.columns(3)
    with c[0]:
        synced(
            st.number_input,
            "risk_corr_window",
            "Rolling window (trading days)",
            min_value=10,
            max_value=750,
            step=21,
        )
    with c[1]:
        if ss["risk_crisis"] not in windows:
            ss["risk_crisis"] = next(iter(windows))
            ss.pop("w_risk_crisis", None)
        synced(st.selectbox, "risk_crisis", "Crisis correlations from", options=list(windows))
    with c[2]:
        synced(
            st.slider,
            "risk_corr_push",
            "Push correlations toward 1 (lambda)",
            min_value=0.0,
            max_value=1.0,
            step=0.05,
        )
    try:
        rolling = cache.rolling_average_correlation(
            inputs.full_returns, int(ss["risk_corr_window"])
        )
        st.plotly_chart(risk_charts.rolling_correlation_chart(rolling, windows), key="risk_rc")
    except BallastError as exc:
        show_error(exc, "Rolling correlation")
    conf = max(inputs.confidences)
    try:
        table = run_correlation_stress(inputs, conf)
    except BallastError as exc:
        show_error(exc, "Correlation stress")
        return
    base = table.iloc[0]
    lam = float(ss["risk_corr_push"])
    pushed = table[np.isclose(table["strength"], lam)].iloc[0]
    crisis = table[table["strength"].isna()]
    m = st.columns(3)
    _note_metric(
        m[0], f"VaR {conf:.1%}, base correlations", percent(base["var"]), inputs.money(base["var"])
    )
    if len(crisis):
        row = crisis.iloc[0]
        m[1].metric(
            f"VaR with {row['case']} correlations",
            percent(row["var"]),
            f"{row['var'] - base['var']:+.2%} · avg corr {row['average_correlation']:.2f}",
            delta_color="inverse",
        )
    m[2].metric(
        f"VaR, correlations pushed {lam:.0%} toward 1",
        percent(pushed["var"]),
        f"{pushed['var'] - base['var']:+.2%} · diversification benefit "
        f"{pushed['diversification_benefit']:.0%} (base "
        f"{base['diversification_benefit']:.0%})",
        delta_color="inverse",
    )
    st.plotly_chart(risk_charts.correlation_stress_chart(table), key="risk_cs")
    pct = ("volatility", "var", "cvar", "diversification_benefit")
    st.dataframe(
        blank_missing(table, {c: "{:.2%}" if c in pct else "{:.2f}"
                              for c in table.select_dtypes("number").columns}),
        column_config={c: _PCT for c in pct},
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Parametric normal VaR/CVaR with each asset's volatility and mean from the date window "
        "and the correlations replaced: (1 - lambda) C + lambda 11' stays a valid correlation "
        "matrix. Diversification ratio = sum |w_i| sigma_i / sigma_p (Choueifaty & Coignard); "
        "benefit = 1 - sigma_p / sum |w_i| sigma_i. Volatility annualised. The crisis row has "
        "no strength (blank): its correlations are the crisis window's."
    )
    csv_download(
        "Download correlation stress (CSV)",
        _csv(table),
        "ballast_correlation_stress.csv",
        key="dl_risk_cs",
    )


# ---------------------------------------------------------------------------------- report
def report_section() -> ReportSection | None:
    """The risk section of the reports (:func:`core.pipeline.risk_section`).

    Returns
    -------
    core.reporting.ReportSection or None
        None while no allocation can be computed or the window is unusable.
    """
    try:
        inputs = prepare()
        table = compute_table(inputs, show_progress=False)
    except BallastError:
        return None
    return pipeline.risk_section(state.pipeline(), table, inputs)
