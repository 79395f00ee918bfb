"""Compliance pieces: the rule controls of the Allocation page and the compliance check.

Setup keys ``compliance_*`` (see :data:`ui.state.DEFAULTS`). The rules themselves, their
sources and their checks are in :mod:`core.compliance`; the mixed-integer optimiser that
honours them is :mod:`core.mixed_integer`.
"""

from __future__ import annotations

import io
import math
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
NO_VOLUME = ("The loaded prices carry no trading volume (the bundled sample and uploaded "
             "price files have none; Yahoo Finance data do): type the average daily volume per "
             "asset below, or upload a file of it (ticker, adv) or of daily volumes (the "
             "layout of a price file). No volume is invented; assets without one are not "
             "limited and count as unknown.")
#: Column names of the ADV editor.
ADV, SOURCE = "ADV (shares a day)", "Source"


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
    data = state.price_data()
    return compliance.setup_terms(ss, data.prices.iloc[-1], book_value(),
                                  ss["book_start_from"] == "holdings", data.volume)  # fmt: skip


def adv_table() -> pd.DataFrame:
    """The ADV of each asset and its source (:func:`core.compliance.adv_table`).

    Raises
    ------
    DataError
        A bad window.
    """
    return compliance.adv_table(st.session_state, state.price_data().volume)


def adv_basis() -> str | None:
    """How the data's ADV is computed, in words (None when the data carry no volume)."""
    data = state.price_data()
    if data.volume is None:
        return None
    n = int(st.session_state["compliance_adv_window"])
    return (f"ADV from Yahoo Finance's daily volume: the mean of the last {n} trading days to "
            f"{data.as_of.date()} (the date of the latest price), in shares a day. Values "
            "typed or uploaded below win over it.")  # fmt: skip


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


def progress_text(p) -> str:
    """One line on a running mixed-integer solve (:class:`core.mixed_integer.Progress`)."""
    nodes = f"{p.nodes:,} node{'s' if p.nodes != 1 else ''}"
    clock = f"{p.elapsed:.1f} s of {p.limit:g} s"
    if p.sharpe is not None:
        found = f"best Sharpe ratio found so far {p.sharpe:.4f}"
    elif math.isfinite(p.gap):
        found = "a portfolio found"
    else:
        found = "no portfolio found yet"
    bound = f"; proven bound {p.sharpe_bound:.4f}" if p.sharpe_bound is not None else ""
    gap = f" (gap {percent(min(p.gap, 9.99))})" if math.isfinite(p.gap) else ""
    return f"SCIP, {clock}, {nodes}: {found}{bound}{gap}."


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
    """Every asset of the universe with its ADV (the user's, else the data's) and source."""
    universe = list(st.session_state["universe"])
    try:
        table = adv_table()
    except DataError:
        table = pd.DataFrame(columns=["adv", "source"])
    return pd.DataFrame({
        "Asset": universe,
        ADV: [float(table.at[t, "adv"]) if t in table.index else None for t in universe],
        SOURCE: [str(table.at[t, "source"]) if t in table.index else "unknown"
                 for t in universe],
    })  # fmt: skip


def _parse_adv(frame: pd.DataFrame) -> dict:
    """The user's ADV from the editor: a changed cell is typed, an unchanged one keeps its source.

    A cleared cell drops the user's value (the data's, if any, applies again).
    """
    ss = st.session_state
    base = ss.get("wbase_compliance_adv")
    before = {} if base is None else dict(zip(base["Asset"], base[ADV], strict=True))
    out = dict(ss["compliance_adv"])
    sources = dict(ss["compliance_adv_sources"])
    for _, row in frame.iterrows():
        t, v = str(row["Asset"]), row[ADV]
        old = before.get(t)
        same = (pd.isna(v) and (old is None or pd.isna(old))) or (
            not pd.isna(v) and old is not None and not pd.isna(old) and float(v) == float(old))
        if same:
            continue
        if pd.isna(v):
            out.pop(t, None)
            sources.pop(t, None)
            continue
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise DataError(f"{t}: the volume must be a number of shares.") from None
        if not v >= 0:
            raise DataError(f"{t}: the volume cannot be negative.")
        out[t] = v
        sources.pop(t, None)  # typed
    ss["compliance_adv_sources"] = {t: s for t, s in sources.items() if t in out}
    return out


def read_adv(content: bytes, filename: str = "", window: int = 20) -> tuple[dict[str, float], str]:
    """Average daily volumes from an uploaded file, and how they were read.

    Two layouts: a CSV of ticker and ADV (shares a day), or daily volumes in the layout of a
    price file (CSV or ``.xlsx``: a date column, one column per ticker;
    :func:`core.market_data.load_volume`, with the price upload's bounds), averaged over the
    last ``window`` trading days of the file.

    Raises
    ------
    DataError
        A file beyond the upload bounds, without a ticker and a volume column nor a readable
        volume table, or with volumes that are not non-negative numbers.
    """
    from core import market_data as md

    if len(content) > md.MAX_FILE_MB * 1_000_000:
        raise DataError(f"The volume file holds {len(content) / 1e6:,.0f} MB; Ballast reads at "
                        f"most {md.MAX_FILE_MB} MB per upload.")  # fmt: skip
    head = content[:4096].split(b"\n", 1)[0].decode("utf-8-sig", "replace").lower()
    names = {c.strip().strip('"') for c in head.replace(";", ",").split(",")}
    two_columns = (names & {"ticker", "asset", "symbol"}
                   and names & {"adv", "volume", "average daily volume"})  # fmt: skip
    if not two_columns or content.startswith(b"PK\x03\x04"):
        volume = md.load_volume(io.BytesIO(content), filename)
        adv = md.average_daily_volume(volume, window).dropna()
        if adv.empty:
            raise DataError(f"The volume file holds no volume in its last {window} trading days.")
        return ({str(t): float(v) for t, v in adv.items()},
                f"the mean of the last {window} trading days to "
                f"{volume.index[-1].date()}")  # fmt: skip
    if content.count(b"\n") > md.MAX_ASSETS + 1:
        raise DataError(f"The volume file has more than {md.MAX_ASSETS:,} rows; Ballast takes at "
                        f"most {md.MAX_ASSETS:,} assets.")  # fmt: skip
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
    return ({str(t): float(v) for t, v in zip(frame[tick], values, strict=True)},
            "as given (ticker, adv)")


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
                   help="The whole mixed-integer solve, model building included, stops "
                        "here and shows the best portfolio found with its proven gap")  # fmt: skip
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
    ss = st.session_state
    basis = adv_basis()
    if basis is None:
        st.info(NO_VOLUME, icon=":material/info:")
    else:
        st.caption(basis)
    synced(st.number_input, "compliance_adv_window", "ADV window (trading days)", min_value=1,
           max_value=2520, step=1,
           help="The average daily volume is the mean over this many trading days up to the "
                "data's last date (Yahoo's volume, or an uploaded file of daily "
                "volumes)")  # fmt: skip
    file = st.file_uploader("Upload ADV (CSV: ticker, adv) or daily volumes (CSV or Excel, "
                            "the layout of a price file)", type=["csv", "xlsx"],
                            key="w_adv_file")  # fmt: skip
    if file is not None and ss.get("compliance_adv_file") != file.file_id:
        try:
            adv, how = read_adv(file.getvalue(), file.name, int(ss["compliance_adv_window"]))
            ss["compliance_adv"] = {**ss["compliance_adv"], **adv}
            ss["compliance_adv_sources"] = {**ss["compliance_adv_sources"],
                                            **{t: "upload" for t in adv}}  # fmt: skip
            ss["compliance_adv_file"] = file.file_id
            ss.pop("w_compliance_adv", None)
            ss.pop("wbase_compliance_adv", None)
            st.success(md_escape(f"Read the ADV of {len(adv)} assets from {file.name} ({how})."))
        except BallastError as exc:
            show_error(exc, "Volume file")
    synced_editor("compliance_adv", _adv_frame, _parse_adv, disabled=["Asset", SOURCE],
                  hide_index=True, width="stretch")  # fmt: skip
    try:
        counts = adv_table()["source"].value_counts()
    except DataError:
        return
    known = ", ".join(f"{int(counts[s])} {s}" for s in compliance.ADV_SOURCES if s in counts)
    missing = len(ss["universe"]) - len(adv_table().index.intersection(list(ss["universe"])))
    st.caption(f"ADV sources: {known or 'none'}" + (f"; {missing} unknown" if missing else "")
               + ".")  # fmt: skip


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
        execution_caption(plan)
        trade_plan_warning(plan, result.weights)


def liquidity_chart(weights: pd.Series) -> None:
    """The liquidity profile of the proposal (and the current book) when volumes are known."""
    from core.charts.compliance import liquidity_profile

    ss = st.session_state
    if not ss["compliance_liquidity"]:
        return
    try:
        adv = adv_table()["adv"]
    except DataError as exc:
        show_error(exc, "Average daily volume")
        return
    if adv.empty:
        st.info(NO_VOLUME, icon=":material/info:")
        return
    prices = state.price_data().prices.iloc[-1]
    value = book_value()
    part = float(ss["compliance_participation"])
    profiles = {"Proposal": compliance.liquidity_profile(weights * value, adv, prices, part)}
    book = _current_weights()
    if book is not None:
        profiles["Current book"] = compliance.liquidity_profile(book * value, adv, prices, part)
    unknown = float(profiles["Proposal"]["unknown_volume"].iloc[0])
    st.plotly_chart(liquidity_profile(profiles), key="liquidity_profile")
    if unknown > 0:
        st.caption(f"{percent(unknown)} of the proposal's value has no volume and is not "
                   "counted as sellable.")  # fmt: skip


def execution_caption(plan) -> str | None:
    """Days to execute the trade plan at the participation rate of ADV, in a caption.

    Shown (and returned) when the liquidity limit is on and a trade has a known ADV
    (:func:`core.compliance.days_to_execute`); None otherwise.
    """
    ss = st.session_state
    if not ss["compliance_liquidity"]:
        return None
    try:
        adv = adv_table()["adv"]
    except DataError:
        return None
    shares = plan.trades["trade_shares"]
    shares = shares[shares != 0]
    days = compliance.days_to_execute(shares, adv, float(ss["compliance_participation"]))
    known = days.dropna()
    if known.empty:
        return None
    part = percent(float(ss["compliance_participation"]))
    text = (f"Days to execute the trade plan at {part} of ADV: {known.max():.1f} at most "
            f"({known.idxmax()})")
    if len(known) < len(days):
        text += f"; {len(days) - len(known)} trade(s) without a volume"
    text += "."
    st.caption(md_escape(text))
    return text


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
