"""Compliance pieces: the rule controls of the Allocation page and the compliance check.

Setup keys ``compliance_*`` (see :data:`ui.state.DEFAULTS`). The rules themselves, their
sources and their checks are in :mod:`core.compliance`; the mixed-integer optimiser that
honours them is :mod:`core.mixed_integer`.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import streamlit as st

from core import compliance
from core.exceptions import BallastError, DataError, ExecutionError
from ui import state
from ui.widgets import md_escape, percent, show_error, synced, synced_editor

#: Rule sets offered: key -> label.
RULE_SETS = {
    "none": "None",
    "ucits": "UCITS 5/10/40 (EU)",
    "us_diversified_fund": "US diversified fund (1940 Act, 75-5)",
}
#: Legal source of each rule set, shown under its choice.
SOURCES = {
    "ucits": "Directive 2009/65/EC (UCITS), Art. 52(1) and 52(2): at most 5 % per issuer, "
    "raised to 10 % when the positions above 5 % add up to at most 40 %.",
    "us_diversified_fund": "Investment Company Act of 1940, s. 5(b)(1) (15 U.S.C. "
    "80a-5(b)(1)): at least 75 % of total assets in cash and positions of at most 5 % each. "
    "The Act's limit of 10 % of an issuer's voting securities needs the shares outstanding "
    "and is not checked.",
}
NO_VOLUME = ("The loaded prices carry no trading volume (the bundled sample has none): type "
             "the average daily volume per asset below or upload a CSV (ticker, adv). No "
             "volume is invented; assets without one are not limited and count as unknown.")


def book_value() -> float:
    """Capital for whole shares and liquidity: the book's value from holdings, else the capital."""
    ss = st.session_state
    if ss["book_start_from"] == "holdings" and ss["holdings"]:
        try:
            return float(state.pipeline().current_book()[2])
        except BallastError:
            pass
    return float(ss["capital"])


def constraint_fields() -> dict[str, Any]:
    """Keyword arguments of :class:`core.constraints.Constraints` from the compliance setup.

    As :func:`core.compliance.setup_terms` gives the pipeline's optimiser.
    """
    ss = st.session_state
    return compliance.setup_terms(ss, state.price_data().prices.iloc[-1], book_value(),
                                  ss["book_start_from"] == "holdings")  # fmt: skip


def mixed_integer_note() -> str | None:
    """What the page says while a mixed-integer solve runs, or None when there is none.

    Returns
    -------
    str or None
        A line naming the solver's time limit (seconds) when the setup holds a rule set, a
        holdings count, a minimum position or whole shares (:mod:`core.mixed_integer`).
    """
    try:
        f = constraint_fields()
    except BallastError:
        return None
    if not (f.get("rules") or f.get("max_holdings") or f.get("min_position")
            or f.get("whole_shares")):  # fmt: skip
        return None
    limit = f.get("time_limit") or st.session_state.get("compliance_time_limit")
    stop = f" (at most {float(limit):g} s, then the best portfolio found and its proven gap)" \
        if limit else ""
    return f"Solving the mixed-integer problem with SCIP{stop}..."


def all_rules() -> tuple[compliance.Rule, ...]:
    """Every rule the setup sets: the rule set, holdings count and size, liquidity."""
    f = constraint_fields()
    return compliance.resolve_rules(f["rules"], f["max_holdings"], f["min_position"])


def _optional(name: str, check: str, label: str, default: float, **kwargs) -> None:
    on = st.checkbox(check, value=st.session_state[name] is not None, key=f"w_on_{name}")
    if not on:
        st.session_state[name] = None
        st.session_state.pop(f"w_{name}", None)
        return
    if st.session_state[name] is None:
        st.session_state[name] = default
        st.session_state.pop(f"w_{name}", None)
    synced(st.number_input, name, label, **kwargs)


def _adv_frame(adv: dict) -> pd.DataFrame:
    universe = list(st.session_state["universe"])
    return pd.DataFrame({"Asset": universe,
                         "ADV (shares a day)": [adv.get(t) for t in universe]})  # fmt: skip


def _parse_adv(frame: pd.DataFrame) -> dict:
    out = {}
    for _, row in frame.iterrows():
        v = row["ADV (shares a day)"]
        if pd.isna(v):
            continue
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise DataError(f"{row['Asset']}: the volume must be a number of shares.") from None
        if v < 0:
            raise DataError(f"{row['Asset']}: the volume cannot be negative.")
        out[str(row["Asset"])] = v
    return out


def read_adv(content: bytes) -> dict[str, float]:
    """Average daily volumes from a CSV of ticker and ADV (shares a day).

    Raises
    ------
    DataError
        Without a ticker and a volume column, or with volumes that are not numbers.
    """
    try:
        frame = pd.read_csv(io.BytesIO(content))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"The volume file cannot be read as CSV ({exc}).") from None
    cols = {c.strip().lower(): c for c in frame.columns}
    tick = next((cols[c] for c in ("ticker", "asset", "symbol") if c in cols), None)
    vol = next((cols[c] for c in ("adv", "volume", "average daily volume") if c in cols), None)
    if tick is None or vol is None:
        raise DataError("The volume file needs a ticker column and an adv (shares a day) column.")
    values = pd.to_numeric(frame[vol], errors="coerce")
    bad = frame.loc[values.isna() | (values < 0), tick].astype(str).tolist()
    if bad:
        raise DataError(f"The volumes of {', '.join(bad[:5])} are not non-negative numbers.")
    return {str(t): float(v) for t, v in zip(frame[tick], values, strict=True)}


def controls() -> None:
    """The compliance constraints, in an expander of the Allocation page's constraints area."""
    ss = st.session_state
    n = sum([ss["compliance_rule_set"] != "none", ss["compliance_max_holdings"] is not None,
             bool(ss["compliance_min_position"]), ss["compliance_whole_shares"],
             ss["compliance_liquidity"]])  # fmt: skip
    # A constant title: Streamlit redraws an expander whose label changes, closed.
    title = "Constraints: regulatory rules, holdings, whole shares, liquidity"
    with st.expander(title, icon=":material/gavel:"):
        if n:
            st.caption(f"{n} set.")
        left, right = st.columns(2)
        with left:
            synced(st.selectbox, "compliance_rule_set", "Rule set", options=list(RULE_SETS),
                   format_func=RULE_SETS.get)  # fmt: skip
            kind = ss["compliance_rule_set"]
            if kind != "none":
                st.caption(f"Source: {SOURCES[kind]}")
                c1, c2, c3 = st.columns(3)
                with c1:
                    synced(st.number_input, "compliance_threshold", "Threshold (%)", scale=100.0,
                           min_value=0.0, max_value=100.0, step=0.5, format="%.1f")  # fmt: skip
                if kind == "ucits":
                    with c2:
                        synced(st.number_input, "compliance_cap", "Max per issuer (%)",
                               scale=100.0, min_value=0.0, max_value=100.0, step=0.5,
                               format="%.1f")  # fmt: skip
                    with c3:
                        synced(st.number_input, "compliance_aggregate",
                               "Above threshold, total (%)", scale=100.0, min_value=0.0,
                               max_value=100.0, step=1.0, format="%.1f")  # fmt: skip
                else:
                    with c2:
                        synced(st.number_input, "compliance_us_share",
                               "Diversified share (%)", scale=100.0, min_value=0.0,
                               max_value=100.0, step=1.0, format="%.1f",
                               help="Cash and positions at most the threshold")  # fmt: skip
            _optional("compliance_max_holdings", "Limit the number of holdings",
                      "Max holdings", 10, min_value=1, max_value=5000, step=1)  # fmt: skip
            _optional("compliance_min_position", "Minimum position size",
                      "Min position (%)", 0.02, scale=100.0, min_value=0.0, max_value=100.0,
                      step=0.5, format="%.1f")  # fmt: skip
            synced(st.number_input, "compliance_max_cash", "Cash allowed up to (%)",
                   scale=100.0, min_value=0.0, max_value=100.0, step=5.0, format="%.1f",
                   help="Of the proposal from cash (a fund's ancillary liquid assets); UCITS "
                        "with few holdings cannot be fully invested. From holdings, the "
                        "book's cash bounds apply instead.")  # fmt: skip
            synced(st.toggle, "compliance_whole_shares",
                   "Whole shares inside the optimisation",
                   help="Integer share counts for the capital (the book's value from "
                        "holdings); leftover cash at most one share of the dearest "
                        "asset")  # fmt: skip
            synced(st.number_input, "compliance_time_limit", "Solver time limit (s)",
                   min_value=0.1, max_value=600.0, step=1.0, format="%.1f",
                   help="Mixed-integer solves stop here and show the best portfolio found "
                        "with its proven gap")  # fmt: skip
        with right:
            liquidity_controls()


def liquidity_controls() -> None:
    """Liquidity limit: on/off, days, participation, ADV typed or uploaded."""
    if not synced(st.toggle, "compliance_liquidity", "Liquidity limit (days to liquidate)"):
        return
    c1, c2 = st.columns(2)
    with c1:
        synced(st.number_input, "compliance_liquidity_days", "Max days to liquidate",
               min_value=0.1, max_value=10_000.0, step=1.0, format="%.1f")  # fmt: skip
    with c2:
        synced(st.number_input, "compliance_participation", "Participation (% of ADV)",
               scale=100.0, min_value=0.1, max_value=100.0, step=1.0, format="%.1f")  # fmt: skip
    st.caption("Position limit = days x participation x ADV x price, as a share of the "
               "book's value.")  # fmt: skip
    st.info(NO_VOLUME, icon=":material/info:")
    file = st.file_uploader("Upload ADV (CSV: ticker, adv)", type=["csv"], key="w_adv_file")
    if file is not None and st.session_state.get("compliance_adv_file") != file.file_id:
        try:
            adv = read_adv(file.getvalue())
            st.session_state["compliance_adv"] = adv
            st.session_state["compliance_adv_file"] = file.file_id
            st.session_state.pop("w_compliance_adv", None)
            st.session_state.pop("wbase_compliance_adv", None)
            st.success(md_escape(f"Read the volume of {len(adv)} assets from {file.name}."))
        except DataError as exc:
            show_error(exc, "Volume file")
    synced_editor("compliance_adv", _adv_frame, _parse_adv, disabled=["Asset"],
                  hide_index=True, width="stretch")  # fmt: skip


# ------------------------------------------------------------------------------ the check
def _current_weights() -> pd.Series | None:
    ss = st.session_state
    if not ss["holdings"]:
        return None
    from core.execution import book_weights

    try:
        w0, _, _ = book_weights(ss["holdings"], float(ss["cash"]),
                                state.price_data().prices.iloc[-1])  # fmt: skip
    except BallastError:
        return None
    return w0


def planned_weights(weights: pd.Series):
    """The book after the whole-share trade plan to ``weights`` (from the holdings or cash).

    Returns
    -------
    core.execution.TradePlan
    """
    from core.execution import trade_plan

    ss = st.session_state
    if ss["holdings"]:
        holdings, cash = ss["holdings"], float(ss["cash"])
    else:
        holdings, cash = {}, float(ss["capital"])
    return trade_plan(holdings, cash, weights, state.price_data().prices.iloc[-1],
                      cost_bps=ss["rebalance_cost_bps"])  # fmt: skip


def check_table(proposal: pd.Series, plan=None) -> pd.DataFrame:
    """Every rule against the current book, the proposal and the book after the trade plan.

    ``plan``: the trade plan shown (:class:`core.execution.TradePlan`); default: the plan from
    the holdings (or the capital in cash) to ``proposal`` at the setup's costs.

    Returns
    -------
    DataFrame
        :func:`core.compliance.check` rows with a ``portfolio`` column first.

    Raises
    ------
    BallastError
        Bad rule parameters or prices.
    """
    rules = all_rules()
    issuers = constraint_fields()["issuers"]
    book = _current_weights()
    parts = []
    if book is not None:
        parts.append(compliance.check(book, rules, issuers=issuers)
                     .assign(portfolio="Current book"))  # fmt: skip
    parts.append(compliance.check(proposal, rules, book=book, issuers=issuers)
                 .assign(portfolio="Proposal"))  # fmt: skip
    try:
        plan = plan if plan is not None else planned_weights(proposal)
        final = plan.trades["final_weight"]
        parts.append(compliance.check(final, rules, book=book, issuers=issuers)
                     .assign(portfolio="After the trade plan (whole shares)"))  # fmt: skip
    except ExecutionError:
        pass
    table = pd.concat(parts, ignore_index=True)
    return table[["portfolio", *[c for c in table.columns if c != "portfolio"]]]


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The check table as shown: breaches with their units, blanks where a rule passes."""

    def amount(row) -> str:
        if row["status"] != "breach":
            return ""
        if row["unit"] == "weight":
            return f"{row['breach'] * 100:.2f} %"
        if row["unit"] == "days":
            return f"{row['breach']:.1f} days"
        return f"{row['breach']:.0f} positions"

    return pd.DataFrame({
        "Portfolio": table["portfolio"],
        "Rule": table["rule"],
        "Status": table["status"],
        "Breach by": [amount(r) for _, r in table.iterrows()],
        "Breach in words": table["detail"],
        "Trades that cause it": table["trades"],
        "Source": table["source"],
    })  # fmt: skip


def section(result, plan=None) -> None:
    """The Compliance section: rule checks, the solver's proof, the liquidity profile.

    With ``plan`` (the Rebalance page's trade plan) the table checks that plan, and a warning
    says before its download whether it breaks a rule.
    """
    if result is None:
        return
    try:
        rules = all_rules()
    except BallastError as exc:
        show_error(exc, "Compliance rules")
        return
    if not rules:
        return
    st.subheader("Compliance")
    gap = getattr(result, "mip_gap", None)
    if gap is not None:
        proven = "proven optimal" if gap <= 1e-6 else f"best found, proven gap {gap:.2e}"
        st.caption(f"Mixed-integer solve (SCIP): {result.mip_status}; {proven} "
                   "(relative gap of the objective).")  # fmt: skip
        if gap > 1e-6:
            st.warning(f"The solver stopped at its time limit: the proposal is the best found, "
                       f"within {percent(min(gap, 9.99))} of the optimum (proven bound). "
                       "Raise the time limit to close the gap.",
                       icon=":material/timer:")  # fmt: skip
    try:
        table = check_table(result.weights, plan)
    except BallastError as exc:
        show_error(exc, "Compliance check")
        return
    breaches = table[table["status"] == "breach"]
    if len(breaches):
        st.warning(md_escape("Breaches: " + "; ".join(
            f"{r.portfolio}: {r.detail}" for r in breaches.itertuples())),
            icon=":material/gpp_bad:")  # fmt: skip
    else:
        st.success("Every rule passes for every portfolio shown.", icon=":material/verified:")
    # A static table: a handful of rows, readable in the page (and by assistive tools).
    st.table(display_table(table).set_index("Portfolio"))
    liquidity_chart(result.weights)
    if plan is not None:
        trade_plan_warning(plan, result.weights)


def liquidity_chart(weights: pd.Series) -> None:
    """The liquidity profile of the proposal (and the current book) when volumes are known."""
    from core.charts.compliance import liquidity_profile

    ss = st.session_state
    if not ss["compliance_liquidity"]:
        return
    if not ss["compliance_adv"]:
        st.info(NO_VOLUME, icon=":material/info:")
        return
    prices = state.price_data().prices.iloc[-1]
    value = book_value()
    part = float(ss["compliance_participation"])
    profiles = {"Proposal": compliance.liquidity_profile(weights * value, ss["compliance_adv"],
                                                         prices, part)}  # fmt: skip
    book = _current_weights()
    if book is not None:
        profiles["Current book"] = compliance.liquidity_profile(
            book * value, ss["compliance_adv"], prices, part)  # fmt: skip
    unknown = float(profiles["Proposal"]["unknown_volume"].iloc[0])
    st.plotly_chart(liquidity_profile(profiles), key="liquidity_profile")
    if unknown > 0:
        st.caption(f"{percent(unknown)} of the proposal's value has no volume and is not "
                   "counted as sellable.")  # fmt: skip


def trade_plan_warning(plan, target: pd.Series) -> bool:
    """Warn, before the download, when the whole-share plan breaks a rule the target meets.

    Parameters
    ----------
    plan : core.execution.TradePlan
        The plan about to be downloaded.
    target : Series
        The target weights.

    Returns
    -------
    bool
        True when the plan breaks a rule.
    """
    rules = all_rules()
    if not rules:
        return False
    issuers = constraint_fields()["issuers"]
    final = compliance.check(plan.trades["final_weight"], rules, book=_current_weights(),
                             issuers=issuers)  # fmt: skip
    bad = final[final["status"] == "breach"]
    if not len(bad):
        return False
    target_ok = compliance.check(target, rules, issuers=issuers)
    why = ("whole-share rounding, a lock, a skipped trade or a no-trade band"
           if (target_ok["status"] == "pass").all() else "the target itself")
    st.warning(md_escape(
        f"Before you download: the book after this trade plan breaks {len(bad)} rule"
        f"{'s' if len(bad) != 1 else ''} because of {why}: "
        + "; ".join(f"{r.rule}: {r.detail}" + (f" (trades: {r.trades})" if r.trades else "")
                    for r in bad.itertuples()) + "."), icon=":material/gpp_bad:")  # fmt: skip
    return True


def report_section():
    """The Compliance report section (:func:`core.compliance.report_section`), or None."""
    if st.session_state.get("allocation") is None:
        return None
    return compliance.report_section(state.pipeline())
