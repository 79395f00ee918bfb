"""AppTest of the Allocation page on the bundled data."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import html_tables, open_page


def run_page(path: str = "pages/2_Allocation.py") -> AppTest:
    return open_page(path)


def test_allocation_renders_weights_and_orders():
    at = run_page()
    assert not at.exception
    result = at.session_state["allocation"]
    assert abs(result.weights.sum() - 1) < 1e-9
    assert any("Sharpe" in m.label for m in at.metric)
    # the orders are a static HTML table (no data grid to load on a first page)
    orders = next(t for t in html_tables(at) if "Target weight" in t.columns)
    top = result.weights.idxmax()
    assert orders.loc[top, "Target weight"] == f"{result.weights[top] * 100:.2f} %"


def test_changing_objective_changes_weights():
    at = run_page()
    before = at.session_state["allocation"].weights
    at.selectbox(key="w_objective_kind").select("min_volatility").run()
    assert not at.exception
    after = at.session_state["allocation"].weights
    assert (before - after).abs().max() > 0.01


def test_target_volatility_below_minimum_shows_error_and_keeps_result():
    at = run_page()
    good = at.session_state["allocation"]
    at.selectbox(key="w_objective_kind").select("target_volatility").run()
    at.slider(key="w_target_volatility").set_value(1.0).run()
    assert not at.exception
    assert any("minimum-variance" in e.value for e in at.error)
    assert at.session_state["allocation"] is not None
    assert at.session_state["allocation"].objective.kind == "target_volatility" or good


def test_max_weight_too_low_names_the_conflict():
    at = run_page()
    at.number_input(key="w_max_weight").set_value(3.0).run()
    assert not at.exception
    assert any("less than 100" in e.value for e in at.error)


# --- from the current holdings (issue 11) ---------------------------------------------------
# A book of four stocks and cash at the sample's last prices (2022-12-28), about 136,000 USD.
BOOK = {"holdings": {"AAPL": 300.0, "KO": 500.0, "JNJ": 200.0, "XOM": 200.0}, "cash": 10_000.0}


def run_book(**setup) -> AppTest:
    return open_page("pages/2_Allocation.py", timeout=120,
                     **{**BOOK, "book_start_from": "holdings", **setup})  # fmt: skip


def _texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def _w0(at) -> pd.Series:
    return at.session_state["book_last"].current_weights


def _row(at, label: str) -> pd.Series:
    """A row of the before/after table (text cells, columns current book and proposal)."""
    for table in at.table:
        frame = table.value
        hits = [i for i in frame.index if str(i).startswith(label)]
        if hits:
            return frame.loc[hits[0]]
    raise AssertionError(f"no row {label!r} in the page's tables")


def test_from_holdings_turnover_budget_is_kept_and_shown():
    at = run_book(book_max_turnover=0.10)
    assert not at.exception
    assert not at.error, _texts(at.error)
    result = at.session_state["allocation"]
    assert result.turnover <= 0.10 + 1e-9
    w0 = _w0(at)
    assert abs((result.weights - w0).abs().sum() / 2 - result.turnover) < 1e-6
    shown = float(_row(at, "Turnover (one-way)")["Proposal"].split()[0])
    assert shown <= 10.0 + 1e-6
    assert float(_row(at, "Turnover (one-way)")["Current book"].split()[0]) == 0.0
    # The tracking error against the data's index is shown even when no limit uses it.
    assert at.session_state["book_last"].benchmark == "SP500"
    assert _row(at, "Tracking error")["Proposal"].endswith("%")
    assert "one-way" in " ".join(str(c.value) for c in at.caption) + _texts(at.markdown)
    assert any(b.label == "Download trade list (CSV)" for b in at.get("download_button"))


def test_from_holdings_locks_no_buy_no_sell():
    at = run_book(book_locked=["AAPL"], book_no_buy=["KO"], book_no_sell=["JNJ"])
    assert not at.exception
    assert not at.error, _texts(at.error)
    w, w0 = at.session_state["allocation"].weights, _w0(at)
    assert abs(w["AAPL"] - w0["AAPL"]) < 1e-9
    assert w["KO"] <= w0["KO"] + 1e-9
    assert w["JNJ"] >= w0["JNJ"] - 1e-9


def test_prohibitive_costs_keep_the_book_and_zero_costs_give_the_cash_optimum():
    # 500 bps over 0.05 years: every unit of weight traded costs 100 % a year, and the cash
    # may stay, so nothing is worth trading.
    at = run_book(rebalance_cost_bps=500.0, book_horizon_years=0.05,
                  book_cash_bounds=[0.0, 0.2])  # fmt: skip
    assert not at.exception
    assert not at.error, _texts(at.error)
    result = at.session_state["allocation"]
    assert result.turnover < 1e-6
    assert (result.weights - _w0(at)).abs().max() < 1e-6
    free = run_book(rebalance_cost_bps=0.0)
    cash = open_page("pages/2_Allocation.py")
    diff = free.session_state["allocation"].weights - cash.session_state["allocation"].weights
    assert diff.abs().max() < 1e-6


def test_per_asset_costs_override_the_default():
    at = run_book(rebalance_cost_bps=0.0, book_cost_overrides={"AAPL": 500.0},
                  book_horizon_years=0.05)  # fmt: skip
    assert not at.exception
    assert not at.error, _texts(at.error)
    w, w0 = at.session_state["allocation"].weights, _w0(at)
    assert abs(w["AAPL"] - w0["AAPL"]) < 1e-6  # too dear to trade
    assert at.session_state["allocation"].turnover > 0.01  # the others move


def test_long_short_gross_exposure_and_side_limits():
    at = run_book(long_only=False, min_weight=-0.3, max_weight=0.4, book_max_gross=1.3,
                  book_max_short=0.1)  # fmt: skip
    assert not at.exception
    assert not at.error, _texts(at.error)
    w = at.session_state["allocation"].weights
    assert w.abs().sum() <= 1.3 + 1e-9
    assert -w[w < 0].sum() <= 0.1 + 1e-9
    free = run_book(long_only=False, min_weight=-0.3, max_weight=0.4)
    assert free.session_state["allocation"].weights.abs().sum() > 1.3 + 1e-6  # the cap binds
    longs = run_book(long_only=False, min_weight=-0.3, max_weight=0.4, book_max_long=1.05)
    assert not longs.error, _texts(longs.error)
    w = longs.session_state["allocation"].weights
    assert w[w > 0].sum() <= 1.05 + 1e-9
    assert "Gross exposure" in _row(at, "Gross exposure").name


def test_minimum_tracking_error_and_the_cap():
    at = run_book(objective_kind="min_tracking_error")
    assert not at.exception
    assert not at.error, _texts(at.error)
    least = at.session_state["allocation"].tracking_error
    assert least is not None and least > 0
    assert at.session_state["book_last"].benchmark == "SP500"
    capped = run_book(book_max_tracking_error=least + 0.02)
    assert not capped.error, _texts(capped.error)
    assert capped.session_state["allocation"].tracking_error <= least + 0.02 + 1e-9
    ir = run_book(objective_kind="max_information_ratio")
    assert not ir.exception
    assert not ir.error, _texts(ir.error)


def test_turnover_budget_smaller_than_the_locks_force_names_the_conflict():
    # 7 % of the book is cash and must be invested (no cash allowed); with every holding
    # locked, that takes at least 3.7 % one-way turnover.
    at = run_book(book_max_turnover=0.10, book_locked=list(BOOK["holdings"]))
    assert not at.error, _texts(at.error)
    good = at.session_state["allocation"]
    at.number_input(key="w_book_max_turnover").set_value(1.0).run()
    assert not at.exception
    assert "turnover" in _texts(at.error).lower()
    assert at.session_state["allocation"] is good
    assert "last allocation" in _texts(at.info)


def test_tracking_error_cap_below_the_minimum_names_the_conflict():
    at = run_book()
    good = at.session_state["allocation"]
    at.checkbox(key="w_on_book_max_tracking_error").check().run()
    at.number_input(key="w_book_max_tracking_error").set_value(0.01).run()
    assert not at.exception
    message = _texts(at.error).lower()
    assert "tracking-error cap" in message and "minimum achievable" in message
    assert at.session_state["allocation"] is good
    assert "last allocation" in _texts(at.info)


def test_holdings_with_unknown_tickers_name_them_and_keep_the_last_result():
    at = open_page("pages/2_Allocation.py", timeout=120,
                   holdings={"AAPL": 10.0, "ZZZZ": 5.0}, cash=1_000.0)  # fmt: skip
    good = at.session_state["allocation"]
    assert good is not None
    at.radio(key="w_book_start_from").set_value("holdings").run()
    assert not at.exception
    assert "ZZZZ" in _texts(at.error)
    assert at.session_state["allocation"] is good


def _values(v) -> list:
    if isinstance(v, dict):  # plotly's typed-array encoding
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def _weights_chart(at) -> dict:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    trace = spec["data"][0]
    return dict(zip(_values(trace["x"]), _values(trace["y"]), strict=True))


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [("max_utility", "w_risk_aversion", 8.0), ("target_return", "w_target_return", 25.0)],
)
def test_objective_slider_updates_the_figures_chart_and_orders(kind, key, value):
    # The objective's parameter is a slider in the results fragment, with what it changes.
    at = run_page()
    at.selectbox(key="w_objective_kind").select(kind).run()
    before = at.session_state["allocation"]
    chart_before = _weights_chart(at)
    at.slider(key=key).set_value(value).run()
    assert not at.exception and not at.error
    after = at.session_state["allocation"]
    assert after.objective.kind == kind
    if kind == "max_utility":
        assert after.objective.risk_aversion == pytest.approx(value)
    else:
        assert after.expected_return == pytest.approx(value / 100, abs=1e-6)
    assert (after.weights - before.weights).abs().max() > 0.01
    chart = _weights_chart(at)
    assert chart != chart_before
    top = after.weights.idxmax()
    assert chart[top] == pytest.approx(after.weights[top])
    shown = [m.value for m in at.metric if m.label == "Expected return (annualised)"]
    assert shown == [f"{after.expected_return * 100:.2f} %"]
    orders = next(t for t in html_tables(at) if "Target weight" in t.columns)
    assert orders["Target weight"].to_dict() == {
        t: f"{after.weights[t] * 100:.2f} %" for t in orders.index
    }


def test_limit_costs_show_the_set_limits_first_and_fold_the_zero_floors():
    at = run_book(book_max_turnover=0.10)
    assert not at.exception
    assert not at.error, _texts(at.error)
    prices = at.session_state["allocation"].shadow_prices
    floors = [n for n in prices.index if n.endswith(" at least 0.0%") and abs(prices[n]) > 1e-12
              and not n.startswith("cash")]  # fmt: skip
    assert floors and any("turnover" in n for n in prices.index)  # both kinds bind here
    tables = [t.value for t in at.table if "Objective gained" in " ".join(t.value.columns)]
    shown = [str(i) for i in tables[0].index]
    assert "turnover" in shown[0] and not set(floors) & set(shown)
    folded = [e for e in at.expander if "held at 0 % (long-only)" in e.label]
    assert folded and folded[0].label.startswith(f"{len(floors)} assets")
    assert set(floors) <= {str(i) for i in tables[1].index}


def test_orders_table_shows_user_text_literally():
    # the orders are HTML (ui.widgets.static_table): a sector or ticker from an upload must not
    # link, show an image or add markup
    import dataclasses

    from core.market_data import load_sample

    data = load_sample()
    sectors = data.sectors.copy()
    raw = ('[Verify your login](https://example.com) ![](http://host/p.png) '
           '<a href="https://example.com">x</a><img src="http://host/p.png">')
    sectors[:] = raw
    at = open_page("pages/2_Allocation.py", price_data=dataclasses.replace(data, sectors=sectors))
    assert not at.exception
    orders = next(t for t in html_tables(at) if "Target weight" in t.columns)
    assert set(orders["Sector"]) == {raw}  # shown literally, as text
    body = next(h.proto.body for h in at.get("html") if "Target weight" in h.proto.body)
    assert "<a " not in body and "<img" not in body and "&lt;a href=" in body


def test_a_slider_move_reuses_the_window_and_estimates_by_identity():
    # ui.cache.identity_memo: the next run gets the same window and estimates (no new hashing
    # of the window's prices); the estimates are those of the estimators on that window.
    from core import estimators

    at = run_page()
    at.selectbox(key="w_objective_kind").select("max_utility").run()

    def window_and_cov():
        (_, window), = at.session_state["_memo_window"].values()
        cov = [v for (owners, v) in at.session_state["_memo_covariance"].values()
               if owners[0] is window.prices]  # fmt: skip
        return window, cov

    window, (cov,) = window_and_cov()
    at.slider(key="w_risk_aversion").set_value(6.0).run()
    assert not at.exception
    window_after, (cov_after,) = window_and_cov()
    assert window_after is window and cov_after is cov
    method = at.session_state["cov_method"]
    np.testing.assert_allclose(cov.to_numpy(),
                               estimators.covariance(window.prices, method).to_numpy())
    # and the optimisation used them
    book = at.session_state["book_last"]
    assert book.cov.loc[cov.index, cov.columns].equals(cov)


def test_the_covariance_fallback_note_stays_on_reruns():
    # More assets than returns: Ledoit-Wolf replaces the sample covariance, and the note says
    # so on every run, also when the estimates come from the session's memo.
    import io

    from core import market_data
    from tests.data.yahoo_fake import synthetic_prices

    prices = synthetic_prices([f"T{i}" for i in range(70)], "2023-01-02", "2023-03-31")
    data = market_data.load_csv(io.BytesIO(prices.to_csv().encode()))
    at = open_page("pages/2_Allocation.py", price_data=data, universe=data.tickers,
                   start=data.prices.index[0].date(), end=data.as_of.date(),
                   cov_method="sample")  # fmt: skip
    assert not at.exception
    for value in (None, 6.0):
        if value is not None:
            at.selectbox(key="w_objective_kind").select("max_utility").run()
            at.slider(key="w_risk_aversion").set_value(value).run()
            assert not at.exception
        assert any("Ledoit-Wolf shrinkage is used instead" in w.value for w in at.warning)
