"""Risk budgeting (Spinu's Newton) against skfolio's RiskBudgeting; HRP / HERC equal skfolio's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.constraints import Constraints
from core.exceptions import InfeasibleConstraintsError, OptimizationError
from core.optimization import Objective, optimize
from core.risk_budgeting import (
    budgets_by_asset,
    hierarchical_weights,
    relative_risk_contributions,
    risk_budgeting_weights,
)


@pytest.fixture(scope="module")
def window(sample):
    returns = sample.prices.iloc[-1001:].pct_change().dropna()
    return returns, returns.mean() * 252, returns.cov() * 252, dict(sample.sectors)


def test_equal_risk_contribution_matches_skfolio(window):
    from skfolio.optimization import RiskBudgeting

    R, mu, cov, _ = window
    res = optimize(mu, cov, Objective("risk_parity"), Constraints())
    rc = relative_risk_contributions(res.weights.to_numpy(), cov.to_numpy())
    assert np.abs(rc - 1 / len(mu)).max() < 1e-8
    ref = RiskBudgeting().fit(R.to_numpy()).weights_  # sample covariance, same shape as ours
    assert np.abs(res.weights.to_numpy() - ref).max() < 1e-4
    assert np.abs(relative_risk_contributions(ref, cov.to_numpy()) - 1 / len(mu)).max() < 1e-4


def test_budgets_per_asset_and_per_sector(window):
    from skfolio.optimization import RiskBudgeting

    R, mu, cov, sectors = window
    budgets = pd.Series(np.linspace(1, 3, len(mu)), index=mu.index)
    budgets /= budgets.sum()
    res = optimize(mu, cov, Objective("risk_parity", risk_budgets=budgets), Constraints())
    rc = relative_risk_contributions(res.weights.to_numpy(), cov.to_numpy())
    assert np.abs(rc - budgets.to_numpy()).max() < 1e-8
    ref = RiskBudgeting(risk_budget=budgets.to_numpy()).fit(R.to_numpy()).weights_
    assert np.abs(res.weights.to_numpy() - ref).max() < 1e-4
    per_sector = pd.Series(sectors).value_counts(normalize=True) * 0 + 1.0
    per_sector /= per_sector.sum()
    res = optimize(mu, cov, Objective("risk_parity", risk_budgets=per_sector),
                   Constraints(sectors=sectors))  # fmt: skip
    rc = pd.Series(relative_risk_contributions(res.weights.to_numpy(), cov.to_numpy()),
                   index=mu.index)  # fmt: skip
    by_sector = rc.groupby(pd.Series(sectors)).sum()
    assert np.abs(by_sector - per_sector.reindex(by_sector.index)).max() < 1e-8


def test_bad_budgets_are_named(window):
    R, mu, cov, sectors = window
    cons = Constraints(sectors=sectors)
    half = pd.Series(0.5 / len(mu), index=mu.index)
    with pytest.raises(OptimizationError, match="add up to 50.00%"):
        optimize(mu, cov, Objective("risk_parity", risk_budgets=half), cons)
    with pytest.raises(OptimizationError, match="NOPE"):
        optimize(mu, cov, Objective("risk_parity", risk_budgets=pd.Series({"NOPE": 1.0})), cons)
    with pytest.raises(OptimizationError, match="No risk budget for the sector"):
        optimize(mu, cov, Objective("risk_parity", risk_budgets=pd.Series({"Energy": 1.0})), cons)
    with pytest.raises(OptimizationError, match="No risk budget for"):
        optimize(mu, cov, Objective("risk_parity", risk_budgets=pd.Series({"AAPL": 1.0})), cons)
    with pytest.raises(InfeasibleConstraintsError, match="break these limits"):
        optimize(mu, cov, Objective("risk_parity"), Constraints(weight_bounds=(0.0, 0.051)))
    assert budgets_by_asset(None, ["A", "B"]).tolist() == [0.5, 0.5]


def test_erc_at_500_assets_converges_tightly():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((800, 500)) * 0.01 + rng.standard_normal((800, 1)) * 0.01
    S = np.cov(X, rowvar=False)
    w = risk_budgeting_weights(S, np.full(500, 1 / 500))
    assert np.abs(relative_risk_contributions(w, S) - 1 / 500).max() < 1e-10
    assert w.min() > 0 and w.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["hrp", "herc"])
def test_hierarchical_equal_skfolio(window, kind):
    from skfolio.optimization import (
        HierarchicalEqualRiskContribution,
        HierarchicalRiskParity,
    )

    R, mu, cov, _ = window
    res = optimize(mu, R.cov(), Objective(kind), Constraints(), scenarios=R)
    cls = HierarchicalRiskParity if kind == "hrp" else HierarchicalEqualRiskContribution
    ref = cls().fit(R.to_numpy()).weights_
    assert np.abs(res.weights.to_numpy() - ref).max() < 1e-12
    tree = hierarchical_weights(R, R.cov(), kind)
    assert tree.linkage.shape == (len(mu) - 1, 4)
    with pytest.raises(OptimizationError, match="needs the window's returns"):
        optimize(mu, cov, Objective(kind), Constraints())
    with pytest.raises(OptimizationError, match="sector limits"):
        optimize(mu, cov, Objective(kind), Constraints(
            sectors={"AAPL": "Tech"}, sector_bounds={"Tech": (0.0, 0.01)}), scenarios=R)
