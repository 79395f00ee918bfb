"""Allocation-page pieces: the objective and constraint inputs, and the result display."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.exceptions import BallastError, InfeasibleConstraintsError
from core.optimization import OBJECTIVES
from ui import state
from ui.widgets import synced, synced_editor


def objective_inputs() -> None:
    """Objective, risk-free rate and the objective's parameters, written to the setup."""
    synced(
        st.selectbox,
        "objective_kind",
        "Objective",
        options=list(OBJECTIVES),
        format_func=OBJECTIVES.get,
    )
    synced(
        st.number_input, "risk_free_rate", "Risk-free rate (% a year)", scale=100.0,
        min_value=-5.0, max_value=20.0, step=0.25, format="%.2f",
    )  # fmt: skip
    kind = st.session_state["objective_kind"]
    if kind == "target_return":
        synced(
            st.number_input, "target_return", "Target return (% a year)", scale=100.0,
            min_value=-50.0, max_value=200.0, step=0.5, format="%.2f",
        )  # fmt: skip
    elif kind == "target_volatility":
        synced(
            st.number_input, "target_volatility", "Target volatility (% a year)", scale=100.0,
            min_value=0.1, max_value=200.0, step=0.5, format="%.2f",
        )  # fmt: skip
    elif kind == "max_utility":
        synced(
            st.number_input, "risk_aversion", "Risk aversion (delta)",
            min_value=0.01, max_value=100.0, step=0.5, format="%.2f",
        )  # fmt: skip


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
        lo = default[0] if pd.isna(lo) else float(lo) / 100
        hi = default[1] if pd.isna(hi) else float(hi) / 100
        out[str(row[label])] = (lo, hi)
    return out


def constraint_inputs() -> None:
    """Shorting, weight bounds, per-asset and sector bounds, maximum volatility."""
    long_only = synced(st.toggle, "long_only", "Long only (no short positions)")
    c1, c2 = st.columns(2)
    with c1:
        synced(
            st.number_input, "min_weight", "Min weight per asset (%)", scale=100.0,
            min_value=0.0 if long_only else -100.0, max_value=100.0, step=1.0, format="%.1f",
        )  # fmt: skip
    with c2:
        synced(
            st.number_input, "max_weight", "Max weight per asset (%)", scale=100.0,
            min_value=0.0, max_value=100.0, step=1.0, format="%.1f",
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
    default = (st.session_state["min_weight"], st.session_state["max_weight"])
    sectors = sorted(state.price_data().sectors.reindex(st.session_state["universe"]).unique())
    with st.expander("Sector bounds"):
        synced_editor(
            "sector_bounds",
            lambda b: _bounds_frame(b, sectors, "Sector"),
            lambda f: _parse_bounds(f, "Sector", (0.0, 1.0)),
            disabled=["Sector"], hide_index=True, width="stretch",
        )  # fmt: skip
    with st.expander("Per-asset bounds"):
        synced_editor(
            "asset_bounds",
            lambda b: _bounds_frame(b, list(st.session_state["universe"]), "Asset"),
            lambda f: _parse_bounds(f, "Asset", default),
            disabled=["Asset"], hide_index=True, width="stretch",
        )  # fmt: skip


def run_optimization() -> None:
    """Optimise with the current setup; keep the last good result when it fails."""
    from core.optimization import optimize

    try:
        mu, cov = state.estimates()
        result = optimize(mu, cov, state.objective(), state.constraints())
    except InfeasibleConstraintsError as exc:
        st.error(f"No portfolio satisfies the constraints. {exc}", icon=":material/block:")
        if st.session_state["allocation"] is not None:
            st.info("Showing the last allocation that could be computed.")
        return
    except BallastError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.session_state["allocation"] = result
