"""Report builders: results in, file bytes out (CSV, Excel, HTML), no Streamlit.

Conventions
-----------
Weights in CSV and Excel files are decimals (0.25 = 25 %), so that spreadsheets compute with them;
column names say so. Money is in the currency of the prices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from core.execution import OrderList

__all__ = ["ReportSection", "allocation_frame", "allocation_csv"]


@dataclass(frozen=True)
class ReportSection:
    """One section of a report, as every feature of Ballast contributes it.

    The Excel builder writes each table as a sheet; the HTML builder writes the text, the
    tables and the interactive figures.

    Attributes
    ----------
    key : str
        Stable identifier: ``"allocation"``, ``"black_litterman"``, ``"frontier"``, ``"risk"``,
        ``"rebalance"``.
    title : str
        Heading shown in the report.
    text : str
        Markdown: the inputs, the methods and their references (paper, book or library).
    tables : dict of str to DataFrame
        Table name (at most 31 characters, an Excel sheet name) -> table. Weights, returns and
        risk figures as decimals, column names with units.
    figures : list of plotly Figure
        Charts of the section, in order.
    """

    key: str
    title: str
    text: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[go.Figure] = field(default_factory=list)


def allocation_frame(orders: OrderList, sectors: pd.Series | None = None) -> pd.DataFrame:
    """The allocation as a flat table, one row per asset with a non-zero target or position.

    Parameters
    ----------
    orders : OrderList
        Whole-share orders (``core.execution.whole_share_orders``).
    sectors : Series, optional
        Ticker -> sector.

    Returns
    -------
    DataFrame
        Columns ``ticker, sector, weight, shares, price, value, achieved_weight`` (weights as
        decimals; price and value in the currency of the prices).
    """
    table = orders.orders.copy()
    table = table[(table["target_weight"].abs() > 1e-10) | (table["shares"] != 0)]
    labels = pd.Series(sectors) if sectors is not None else pd.Series(dtype=str)
    return pd.DataFrame(
        {
            "ticker": table.index.astype(str),
            "sector": labels.reindex(table.index).fillna("Unknown").to_numpy(),
            "weight": table["target_weight"].to_numpy(),
            "shares": table["shares"].astype(int).to_numpy(),
            "price": table["price"].to_numpy(),
            "value": table["value"].to_numpy(),
            "achieved_weight": table["achieved_weight"].to_numpy(),
        }
    )


def allocation_csv(orders: OrderList, sectors: pd.Series | None = None) -> bytes:
    """The allocation as CSV bytes (UTF-8, comma-separated, header row).

    Parameters
    ----------
    orders : OrderList
        Whole-share orders.
    sectors : Series, optional
        Ticker -> sector.

    Returns
    -------
    bytes
        Columns as in :func:`allocation_frame`, then a last row ``CASH`` with the leftover cash
        in ``value``.
    """
    frame = allocation_frame(orders, sectors)
    cash = pd.DataFrame(
        [{"ticker": "CASH", "sector": "Cash", "weight": None, "shares": None, "price": None,
          "value": orders.leftover_cash, "achieved_weight": orders.leftover_cash / orders.capital}]
    )  # fmt: skip
    return pd.concat([frame, cash], ignore_index=True).to_csv(index=False).encode("utf-8")
