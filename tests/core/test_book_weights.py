"""core.execution.book_weights: holdings and cash as decimal weights of the book's value."""

from __future__ import annotations

import pandas as pd
import pytest

from core.exceptions import ExecutionError
from core.execution import book_weights

PRICES = pd.Series({"A": 50.0, "B": 20.0, "C": 10.0})


def test_weights_by_hand():
    # 10 x 50 + 25 x 20 = 1,000 invested, 1,000 cash: V = 2,000.
    w0, cash_w, value = book_weights({"A": 10, "B": 25, "C": 0}, 1_000.0, PRICES)
    assert value == 2_000.0
    assert w0.to_dict() == {"A": 0.25, "B": 0.25}  # C is not held
    assert cash_w == 0.5
    assert abs(w0.sum() + cash_w - 1) < 1e-15


def test_short_position_and_negative_cash():
    w0, cash_w, value = book_weights({"A": 40, "B": -50}, -500.0, PRICES)
    assert value == 2_000 - 1_000 - 500
    assert w0["B"] == -1_000 / 500 and cash_w == -1.0


def test_unusable_books_are_refused():
    with pytest.raises(ExecutionError, match="No valid latest price for the holdings D"):
        book_weights({"A": 1, "D": 3}, 0.0, PRICES)
    with pytest.raises(ExecutionError, match="no positive value"):
        book_weights({}, 0.0, PRICES)
    with pytest.raises(ExecutionError, match="must be numbers"):
        book_weights({"A": float("nan")}, 0.0, PRICES)
