"""AppTest of the compliance controls and checks on the Allocation and Rebalance pages."""

from __future__ import annotations

import pytest

from core import setups
from tests.app.conftest import open_page

pytest.importorskip("pyscipopt")

ALLOCATION = "pages/2_Allocation.py"


def _three_twenties():
    """Three positions of 20 % each of a 100,000 USD book (40,000 in cash), last prices."""
    from core.market_data import load_sample

    px = load_sample().prices.iloc[-1]
    return {t: 20_000.0 / float(px[t]) for t in ("AAPL", "KO", "JNJ")}


def _table(at):
    """The compliance table with the check's column names (portfolio, rule, status, detail)."""
    frames = [t.value for t in at.table if "Rule" in getattr(t.value, "columns", [])]
    assert frames, "no compliance table shown"
    frame = frames[0].reset_index()
    return frame.rename(columns={"Portfolio": "portfolio", "Rule": "rule", "Status": "status",
                                 "Breach in words": "detail"})


def _errors(at):
    return " ".join(e.value for e in at.error)


@pytest.mark.parametrize("rule_set", ["ucits", "us_diversified_fund"])
def test_rule_set_passes_for_the_proposal_with_its_source(rule_set):
    at = open_page(ALLOCATION, compliance_rule_set=rule_set, compliance_time_limit=60.0)
    assert not at.exception
    table = _table(at)
    proposal = table[table["portfolio"] == "Proposal"]
    assert set(proposal["status"]) == {"pass"}
    after = table[table["portfolio"].str.startswith("After")]
    assert len(after)
    src = "2009/65/EC" if rule_set == "ucits" else "80a-5(b)(1)"
    assert any(src in c.value for c in at.caption)
    assert at.session_state["allocation"].mip_gap <= 1e-6


def test_ucits_with_eight_holdings_needs_cash_and_names_a_book_breach():
    """UCITS and at most 8 holdings invest at most 4 x 10 % + 4 x 5 % = 60 %: named; with up
    to 40 % cash the proposal passes, and the book of three 20 % positions breaches."""
    at = open_page(ALLOCATION, holdings=_three_twenties(), cash=40_000.0)
    at.selectbox(key="w_compliance_rule_set").select("ucits").run()
    at.checkbox(key="w_on_compliance_max_holdings").check().run()
    at.number_input(key="w_compliance_max_holdings").set_value(8).run()
    assert "can invest at most 60.00 %" in _errors(at)
    at.number_input(key="w_compliance_max_cash").set_value(40.0).run()
    assert not at.exception
    table = _table(at)
    book = table[table["portfolio"] == "Current book"]
    assert "breach" in set(book["status"])
    words = " ".join(book["detail"])
    assert "AAPL at" in words and "above the 10.00 % issuer limit" in words
    proposal = table[table["portfolio"] == "Proposal"]
    assert set(proposal["status"]) == {"pass"}
    assert (at.session_state["allocation"].weights > 1e-6).sum() <= 8
    assert any("Breaches" in w.value for w in at.warning)


def test_max_holdings_and_min_position_hold():
    at = open_page(ALLOCATION, compliance_max_holdings=4, compliance_min_position=0.15)
    assert not at.exception
    w = at.session_state["allocation"].weights
    held = w[w > 1e-6]
    assert len(held) <= 4 and (held >= 0.15 - 1e-9).all()
    assert set(_table(at)["status"]) == {"pass"}


def test_whole_shares_inside_the_optimisation():
    at = open_page(ALLOCATION, compliance_whole_shares=True, capital=50_000.0)
    assert not at.exception
    result = at.session_state["allocation"]
    assert result.shares is not None
    px = at.session_state["price_data"].prices.iloc[-1]
    assert float((result.shares * px.reindex(result.shares.index)).sum()) <= 50_000.0 + 1e-6


def test_liquidity_without_volume_says_so_and_typed_volume_limits():
    at = open_page(ALLOCATION, compliance_liquidity=True)
    assert not at.exception
    assert any("no trading volume" in i.value for i in at.info)
    # AAPL may then weigh at most 1 day x 10 % x 1,000 shares x price / 100,000 (about 0.13 %).
    at = open_page(ALLOCATION, compliance_liquidity=True, compliance_adv={"AAPL": 1000.0},
                   compliance_liquidity_days=1.0, compliance_participation=0.1)
    assert not at.exception
    w = at.session_state["allocation"].weights
    px = at.session_state["price_data"].prices.iloc[-1]
    assert w["AAPL"] <= 1000 * 0.1 * float(px["AAPL"]) / 100_000 + 1e-9
    assert set(_table(at)[lambda t: t["portfolio"] == "Proposal"]["status"]) == {"pass"}


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ({"compliance_max_holdings": 3, "max_weight": 0.1}, "At most 3 holdings with at most"),
        ({"compliance_rule_set": "ucits", "universe": ["AAPL"]}, "UCITS 5/10/40"),
        ({"compliance_min_position": 0.3, "max_weight": 0.2}, "minimum position of 30.00 %"),
        ({"compliance_rule_set": "ucits", "compliance_max_holdings": 3}, "At most 3 holdings"),
    ],
)
def test_conflicts_are_named(setup, words):
    at = open_page(ALLOCATION, **setup)
    assert not at.exception
    assert words in _errors(at)


def test_trade_plan_warns_before_download_when_a_rule_breaks():
    # A target that complies, but every trade skipped: the book keeps its 20 % positions.
    at = open_page("app.py", compliance_rule_set="ucits", rebalance_no_trade_band=0.2)
    at.switch_page(ALLOCATION).run()
    assert at.session_state["allocation"] is not None
    at.session_state["holdings"] = _three_twenties()
    at.session_state["cash"] = 40_000.0
    at.switch_page("pages/6_Rebalance.py").run()
    assert not at.exception
    warned = [w.value for w in at.warning if "Before you download" in w.value]
    assert warned and "no-trade band" in warned[0]


def test_compliance_keys_are_validated_setup_keys():
    for key in ("compliance_rule_set", "compliance_max_holdings", "compliance_adv",
                "compliance_whole_shares", "compliance_time_limit"):  # fmt: skip
        assert key in setups.RULES
    with pytest.raises(Exception, match="not one of"):
        setups.RULES["compliance_rule_set"]("ucitz")



def test_a_mixed_integer_solve_runs_under_its_spinner_and_a_continuous_one_without():
    at = open_page(ALLOCATION, compliance_rule_set="ucits", compliance_time_limit=60.0)
    assert not at.exception and not at.error
    assert at.session_state["allocation"].mip_status  # solved by SCIP
    plain = open_page(ALLOCATION)
    assert not plain.exception
    assert plain.session_state["allocation"].mip_status == ""
