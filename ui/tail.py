"""Allocation-page controls of the tail-risk, risk-budgeting and hierarchical objectives.

The objective select box offers :data:`ALL_OBJECTIVES`; this module draws what those need: the
CVaR confidence and limit, where the scenarios come from (the window's daily returns or Monte
Carlo draws of the Risk page's normal and Student-t models), the risk budgets per asset or per
sector (a data editor), and the results beside the usual ones (CVaR and CDaR of the portfolio,
risk contributions against the budgets, the HRP/HERC dendrogram). CVaR limits and figures are
decimal losses per trading day at the chosen confidence, shown as percentages.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.exceptions import BallastError, OptimizationError
from core.optimization import OBJECTIVES
from core.pipeline import LIMITABLE, SCENARIO_KINDS, SCENARIO_SOURCES  # noqa: F401
from core.tail_allocation import TAIL_OBJECTIVES
from ui import state
from ui.widgets import md_escape, percent, percent_column, show_error, synced, synced_editor

#: Every objective the Allocation page offers: mean-variance ones, then these.
ALL_OBJECTIVES: dict[str, str] = {**OBJECTIVES, **TAIL_OBJECTIVES}

#: Sidebar labels of the new objectives (``ui.allocation.SHORT_LABELS`` takes them in).
SHORT_LABELS: dict[str, str] = {
    "min_cvar": "Min CVaR",
    "max_return": "Max return, CVaR limit",
    "min_cdar": "Min CDaR (drawdown)",
    "risk_parity": "Risk parity / budgets",
    "hrp": "HRP (hierarchical)",
    "herc": "HERC (hierarchical)",
}


def _kind() -> str:
    return st.session_state["objective_kind"]


def uses_scenarios() -> bool:
    """Whether the setup's objective needs return scenarios (``core.pipeline``)."""
    return state.pipeline().uses_scenarios


def tail_inputs() -> None:
    """Sidebar: CVaR confidence and limit, the scenarios' source (for the objectives using them)."""
    ss = st.session_state
    kind = _kind()
    if kind in LIMITABLE:
        required = kind == "max_return"
        on = required or st.checkbox("Cap the CVaR (daily)", value=ss["tail_max_cvar"] is not None,
                                     key="w_tail_cap_cvar")  # fmt: skip
        if on:
            if ss["tail_max_cvar"] is None:
                ss["tail_max_cvar"] = 0.03
            synced(st.number_input, "tail_max_cvar", "Max CVaR (% of the book a day)",
                   scale=100.0, min_value=0.01, max_value=50.0, step=0.1, format="%.2f",
                   help="Mean loss on the worst days at the confidence below, per trading "
                        "day, in % of the book's value")  # fmt: skip
        else:
            ss["tail_max_cvar"] = None
            ss.pop("w_tail_max_cvar", None)
    if uses_scenarios() and kind not in ("hrp", "herc"):
        synced(st.selectbox, "tail_cvar_confidence", "CVaR confidence",
               options=[0.9, 0.95, 0.975, 0.99], format_func=lambda c: f"{c:.1%}")  # fmt: skip
    if uses_scenarios():
        synced(st.selectbox, "tail_scenarios", "Scenarios", options=list(SCENARIO_SOURCES),
               format_func=SCENARIO_SOURCES.get,
               help="Historical: every trading day of the window is one scenario. Monte "
                    "Carlo: draws of the Risk page's models fitted to the window.")  # fmt: skip
        if ss["tail_scenarios"] != "historical":
            synced(st.number_input, "tail_mc_scenarios", "Monte Carlo scenarios",
                   min_value=100, max_value=50_000, step=500)  # fmt: skip
            synced(st.number_input, "tail_mc_seed", "Seed", min_value=0, max_value=2**32 - 1,
                   step=1)  # fmt: skip
    if kind == "risk_parity":
        synced(st.radio, "tail_budget_by", "Risk budgets",
               options=["equal", "asset", "sector"],
               format_func={"equal": "Equal risk contribution", "asset": "Per asset",
                            "sector": "Per sector"}.get)  # fmt: skip


def _budget_frame(budgets: dict, names: list[str], label: str) -> pd.DataFrame:
    default = 100.0 / max(len(names), 1)
    return pd.DataFrame({label: names, "Budget (%)": [
        float(budgets[n]) * 100 if n in budgets else default for n in names]})  # fmt: skip


def _parse_budgets(frame: pd.DataFrame, label: str) -> dict[str, float]:
    out = {}
    for _, row in frame.iterrows():
        value = row["Budget (%)"]
        if pd.isna(value):
            continue
        try:
            out[str(row[label])] = float(value) / 100
        except (TypeError, ValueError):
            raise OptimizationError(
                f"{label} {row[label]}: the budget must be a number (a percentage such as 10)."
            ) from None
    return out


def budget_editor() -> None:
    """The risk-budget table (page body) when the objective is risk parity with budgets."""
    ss = st.session_state
    if _kind() != "risk_parity" or ss["tail_budget_by"] == "equal":
        return
    by = ss["tail_budget_by"]
    universe = list(ss["universe"])
    if by == "asset":
        names, label, key = universe, "Asset", "tail_asset_budgets"
    else:
        sectors = state.price_data().sectors.reindex(universe).fillna("Unknown")
        names, label, key = sorted(sectors.unique()), "Sector", "tail_sector_budgets"
    unknown = sorted(str(k) for k in ss[key] if k not in set(names))
    if unknown:
        st.warning(f"The risk budgets name {md_escape(', '.join(unknown))}, not in the universe"
                   f"{' (as a sector)' if by == 'sector' else ''}: dropped.",
                   icon=":material/warning:")  # fmt: skip
    with st.expander(f"Risk budgets per {by} (shares of the volatility, % adding up to 100)",
                     expanded=True, icon=":material/pie_chart:"):  # fmt: skip
        budgets = synced_editor(
            key, lambda b: _budget_frame(b, names, label), lambda f: _parse_budgets(f, label),
            disabled=[label], hide_index=True, width="stretch",
            column_config={"Budget (%)": st.column_config.NumberColumn(
                "Budget (%)", min_value=0.0, max_value=100.0, step=0.5, format="%.2f")},
        )  # fmt: skip
        total = sum(budgets.values()) if budgets else 0.0
        st.caption(f"Total: {total:.2%} (must be 100 %).")


def objective_terms() -> dict[str, Any]:
    """Objective fields from the setup (CVaR confidence, risk budgets) for ``Objective``."""
    return state.pipeline().tail_objective_terms()


def constraint_terms() -> dict[str, Any]:
    """Constraint fields from the setup (the CVaR limit) for ``Constraints``."""
    return state.pipeline().tail_constraint_terms()


def window_returns() -> pd.DataFrame:
    """Daily decimal returns of the universe over the window (the historical scenarios)."""
    return state.pipeline().window_returns


def scenarios() -> pd.DataFrame | None:
    """The scenarios the setup's objective needs, or None (``core.pipeline``).

    Raises
    ------
    BallastError
        A window too short, a bad Monte Carlo setting.
    """
    return state.pipeline().scenarios


def result_extras(result) -> None:
    """Beside the usual figures: CVaR/CDaR, risk contributions and the dendrogram."""
    from core.charts import tail as tail_charts
    from core.risk_budgeting import relative_risk_contributions
    from core.scenario_optimization import scenario_cdar, scenario_cvar

    kind = result.objective.kind
    if kind not in TAIL_OBJECTIVES and result.objective.kind not in LIMITABLE:
        return
    if kind not in TAIL_OBJECTIVES and st.session_state["tail_max_cvar"] is None:
        return
    try:
        returns = window_returns()
        w = result.weights.reindex(returns.columns).fillna(0.0)
        c = float(result.objective.cvar_confidence)
        cols = st.columns(3)
        cols[0].metric(f"CVaR {c:.1%} (daily, historical)", percent(scenario_cvar(w, returns, c)),
                       help="Mean loss on the worst days of the window, % of the book")  # fmt: skip
        cols[1].metric(f"CDaR {c:.1%} (historical)", percent(scenario_cdar(w, returns, c)),
                       help="Mean of the worst drawdowns of the window (uncompounded)")
        if uses_scenarios() and st.session_state["tail_scenarios"] != "historical" and (
                kind not in ("hrp", "herc")):  # fmt: skip
            sims = scenarios()
            cols[2].metric(f"CVaR {c:.1%} (daily, Monte Carlo)",
                           percent(scenario_cvar(w.reindex(sims.columns).fillna(0.0), sims, c)))
        if kind == "risk_parity":
            _, cov = state.estimates()
            cov = cov.loc[result.weights.index, result.weights.index]
            rc = pd.Series(relative_risk_contributions(result.weights.to_numpy(), cov.to_numpy()),
                           index=result.weights.index)  # fmt: skip
            budgets = result.objective.risk_budgets
            table = pd.DataFrame({"weight": result.weights, "risk contribution": rc})
            sectors = state.price_data().sectors.reindex(rc.index).fillna("Unknown")
            if budgets is not None and set(budgets.index) <= set(sectors):
                table = table.groupby(sectors).sum()
                table["budget"] = pd.Series(budgets, dtype=float).reindex(table.index)
            else:
                table["budget"] = (pd.Series(budgets, dtype=float).reindex(table.index)
                                   if budgets is not None else 1.0 / len(table))  # fmt: skip
            st.markdown("**Risk contributions** (share of the volatility) against the budgets")
            st.dataframe(table, column_config={c: percent_column(c.capitalize())
                                               for c in table.columns}, width="stretch")
        if kind in ("hrp", "herc"):
            from core.risk_budgeting import hierarchical_weights

            _, cov = state.estimates()
            tree = hierarchical_weights(returns, cov.loc[returns.columns, returns.columns], kind)
            figure = tail_charts.dendrogram(
                tree.linkage, tree.labels, n_clusters=tree.n_clusters,
                title=f"{kind.upper()} clustering (Ward linkage, correlation distance)")
            st.plotly_chart(figure, key="dendrogram")
    except BallastError as exc:
        show_error(exc)


def report_table(result) -> pd.DataFrame | None:
    """Tail figures of the allocation for the report (None for mean-variance objectives)."""
    return state.pipeline().tail_report_table(result)


# --- the Efficient Frontier page --------------------------------------------------------------


def cvar_frontier_view() -> tuple[pd.DataFrame, tuple[float, float] | None, str]:
    """The mean-CVaR frontier of the setup, the allocation's (CVaR, return) and a note.

    See :meth:`core.pipeline.Pipeline.cvar_frontier_view`.

    Raises
    ------
    BallastError
        Constraints that admit no portfolio, too few scenarios.
    """
    return state.pipeline().cvar_frontier_view()


def cvar_frontier_section() -> None:
    """A toggle and, when on, the mean-CVaR frontier beside the mean-variance one."""
    from core.charts.tail import mean_cvar_frontier_figure
    from ui.widgets import csv_download

    if not synced(st.toggle, "frontier_show_cvar", "Show the mean-CVaR frontier",
                  help="Least CVaR for each expected return (Rockafellar & Uryasev 2000), on "
                       "the scenarios and confidence of the Allocation page's tail "
                       "objectives"):  # fmt: skip
        return
    try:
        frontier, marker, note = cvar_frontier_view()
    except BallastError as exc:
        show_error(exc, "The mean-CVaR frontier cannot be computed")
        return
    if note:
        st.caption(note)
    c = float(st.session_state["tail_cvar_confidence"])
    st.plotly_chart(mean_cvar_frontier_figure(frontier, marker, confidence=c),
                    key="cvar_frontier")  # fmt: skip
    csv_download("Download the mean-CVaR frontier (CSV)",
                 frontier.to_csv(index_label="point").encode("utf-8"),
                 "ballast_mean_cvar_frontier.csv")  # fmt: skip
