"""Compliance rules: checks against hand-computed cases, presets, liquidity, named conflicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import compliance
from core.constraints import Constraints
from core.exceptions import InfeasibleConstraintsError
from core.optimization import optimize


def _w(**kw):
    return pd.Series(kw, dtype=float)


def test_ucits_passes_and_breaches_by_the_right_amount():
    ok = _w(**{f"A{i}": 0.10 for i in range(4)}, **{f"B{i}": 0.05 for i in range(12)})
    table = compliance.check(ok, ["ucits"])
    assert list(table["status"]) == ["pass"]
    assert "2009/65/EC" in table["source"].iloc[0]
    # Five positions at 9 %: above 5 % they add up to 45 %, 5 points over the 40 % limit.
    bad = _w(**{f"A{i}": 0.09 for i in range(5)}, **{f"B{i}": 0.05 for i in range(11)})
    table = compliance.check(bad, ["ucits"])
    assert list(table["status"]) == ["breach"]
    assert table["breach"].iloc[0] == pytest.approx(0.05)
    one = compliance.check(_w(A=0.12, B=0.88), [compliance.ucits(aggregate=1.0)])
    assert set(table["status"]) == {"breach"}
    assert sorted(one["breach"].tolist()) == pytest.approx([0.02, 0.78])


def test_us_diversified_fund_counts_cash_in_the_75_percent():
    # 25 % in big positions and 75 % in cash and small ones: complies.
    w = _w(A=0.15, B=0.10, C=0.05, D=0.05)  # 65 % cash
    assert compliance.check(w, ["us_diversified_fund"])["status"].tolist() == ["pass"]
    w = _w(A=0.15, B=0.15, C=0.05)
    table = compliance.check(w, ["us_diversified_fund"])
    assert table["status"].tolist() == ["breach"]
    assert table["breach"].iloc[0] == pytest.approx(0.05)
    assert "80a-5(b)(1)" in table["source"].iloc[0]


def test_issuers_add_share_classes():
    w = _w(GOOGL=0.06, GOOG=0.06, X=0.88)
    rule = compliance.ucits(aggregate=1.0)
    assert len(compliance.check(w.drop("X"), [rule])) == 1  # two tickers at 6 %: pass
    table = compliance.check(w.drop("X"), [rule], issuers={"GOOGL": "Alphabet", "GOOG": "Alphabet"})
    assert table["status"].tolist() == ["breach"]
    assert "Alphabet" in table["detail"].iloc[0]
    assert table["breach"].iloc[0] == pytest.approx(0.02)


def test_holdings_and_minimum_position():
    w = _w(A=0.5, B=0.3, C=0.195, D=0.005)
    rules = compliance.resolve_rules((), max_holdings=3, min_position=0.01)
    table = compliance.check(w, rules)
    assert table["status"].tolist() == ["breach", "breach"]
    assert table["breach"].tolist() == pytest.approx([1.0, 0.005])
    assert table["unit"].tolist() == ["positions", "weight"]


def test_trades_that_cause_a_breach_are_named():
    book = _w(A=0.08, B=0.08)
    proposal = _w(A=0.20, B=0.08, C=0.05)
    table = compliance.check(proposal, [compliance.ucits()], book=book)
    first = table.iloc[0]
    assert first["status"] == "breach" and "buy A 12.00 %" in first["trades"]
    assert "B" not in first["trades"]


def test_liquidity_limit_profile_and_days():
    adv = {"A": 1000.0, "B": 100.0}
    px = {"A": 10.0, "B": 10.0}
    # 5 days x 20 % x 100 shares x 10 = 1000 of 10,000 capital: B may weigh 10 %.
    lim = compliance.liquidity_position_limits(["A", "B", "C"], adv, px, 10_000, 5, 0.2)
    assert lim["A"] == pytest.approx(1.0) and lim["B"] == pytest.approx(0.1)
    assert np.isinf(lim["C"])
    rule = compliance.LiquidityLimit(adv, px, capital=10_000, days=5, participation=0.2)
    table = compliance.check(_w(A=0.8, B=0.2), [rule])
    assert table["status"].tolist() == ["breach"]
    assert table["breach"].iloc[0] == pytest.approx(5.0)  # 10 days needed, 5 allowed
    days = compliance.days_to_execute(pd.Series({"A": -400.0, "B": 0.0}), adv, 0.2)
    assert days.tolist() == pytest.approx([2.0, 0.0])
    prof = compliance.liquidity_profile(pd.Series({"A": 8000.0, "B": 2000.0, "C": 1000.0}),
                                        adv, px, 0.2, (1, 5))  # fmt: skip
    # Day 1: A 2000 of 8000, B 200; of 11,000. C has no volume.
    assert prof.loc[1, "sellable"] == pytest.approx(2200 / 11000)
    assert prof.loc[5, "sellable"] == pytest.approx((8000 + 1000) / 11000)
    assert prof.loc[5, "unknown_volume"] == pytest.approx(1000 / 11000)


@pytest.mark.parametrize(
    ("kwargs", "tickers", "words"),
    [
        ({"max_holdings": 3, "weight_bounds": (0, 0.1)}, 20,
         "At most 3 holdings with at most 10.00 %"),
        ({"rules": ("ucits",)}, 1, "UCITS 5/10/40"),
        ({"min_position": 0.3, "weight_bounds": (0, 0.2)}, 5,
         "minimum position of 30.00 % is above"),
        ({"max_holdings": 3, "rules": ("ucits",)}, 20, "At most 3 holdings"),
        ({"min_position": 0.12, "rules": ("ucits",)}, 20, "minimum position of 12.00 %"),
    ],
)
def test_conflicts_are_named_before_any_solve(kwargs, tickers, words):
    names = [f"T{i}" for i in range(tickers)]
    mu = pd.Series(np.linspace(0.05, 0.15, tickers), index=names)
    cov = pd.DataFrame(np.diag(np.full(tickers, 0.04)), index=names, columns=names)
    with pytest.raises(InfeasibleConstraintsError, match=words):
        optimize(mu, cov, "max_sharpe", Constraints(**kwargs))


def test_bad_parameters_are_refused():
    with pytest.raises(InfeasibleConstraintsError, match="whole number"):
        Constraints(max_holdings=0)
    with pytest.raises(InfeasibleConstraintsError, match="Unknown rule set"):
        Constraints(rules=("ucitz",))
    with pytest.raises(InfeasibleConstraintsError, match="below the threshold"):
        compliance.ucits(cap=0.04)


def test_report_section_checks_the_book_the_proposal_and_the_plan(sample):
    from core.pipeline import Pipeline

    pytest.importorskip("pyscipopt")
    px = sample.prices.iloc[-1]
    holdings = {t: 20_000.0 / float(px[t]) for t in ("AAPL", "KO", "JNJ")}
    p = Pipeline({"compliance_rule_set": "ucits", "holdings": holdings, "cash": 40_000.0,
                  "compliance_time_limit": 120.0}, sample)  # fmt: skip
    section = compliance.report_section(p)
    table = section.tables["Compliance check"]
    assert set(table["portfolio"]) == {"Current book", "Proposal",
                                       "After the trade plan (whole shares)"}  # fmt: skip
    assert set(table.loc[table["portfolio"] == "Proposal", "status"]) == {"pass"}
    assert "breach" in set(table.loc[table["portfolio"] == "Current book", "status"])
    assert "2009/65/EC" in section.text
    assert compliance.report_section(Pipeline({}, sample)) is None
