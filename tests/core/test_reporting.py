"""Report builders: CSV, XLSX and HTML parse back and hold the sections' numbers."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import numpy as np
import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import charts
from core.constraints import Constraints
from core.execution import whole_share_orders
from core.optimization import Objective, optimize
from core.reporting import (
    ReportSection,
    ReportSummary,
    allocation_csv,
    clean_csv,
    csv_bytes,
    is_percent_label,
    markdown_to_html,
    report_html,
    report_xlsx,
    sheet_names,
)

#: plotly.js's banner: full ("plotly.js v4.1.1") or partial ("plotly.js (cartesian ...) v4").
PLOTLY_JS = r"plotly\.js[^\n]{0,40} v\d"


@pytest.fixture(scope="module")
def result(sample_estimates, sample):
    mu, cov = sample_estimates
    return optimize(
        mu,
        cov,
        Objective("max_sharpe", risk_free_rate=0.02),
        Constraints(max_volatility=None, sectors=dict(sample.sectors)),
    )


@pytest.fixture(scope="module")
def orders(result, sample):
    return whole_share_orders(result.weights, sample.prices.iloc[-1], 250_000.0)


@pytest.fixture(scope="module")
def sections(result, orders, sample):
    weights = result.weights.rename("weight").to_frame()
    weights.index.name = "ticker"
    frontier = pd.DataFrame(
        {"volatility": np.linspace(0.15, 0.3, 40), "expected_return": np.linspace(0.08, 0.2, 40)}
    )
    risk = pd.DataFrame(
        {"VaR 95 % (1 day)": [0.021, 0.019], "CVaR 95 % (1 day)": [0.031, 0.028]},
        index=pd.Index(["historical", "parametric"], name="method"),
    )
    return [
        ReportSection(
            "allocation",
            "Allocation",
            "**Max Sharpe** (Markowitz 1952).",
            {"Weights": weights, "Sector weights": result.sector_weights.to_frame("weight")},
            [charts.weights_bar(result.weights), charts.sector_pie(result.sector_weights)],
        ),
        ReportSection(
            "frontier",
            "Efficient frontier",
            "Points of the frontier.",
            {"Frontier points": frontier},
            [go.Figure(go.Scatter(x=frontier["volatility"], y=frontier["expected_return"]))],
        ),
        # A second "Weights" table and a name Excel forbids: sheet names must stay valid.
        ReportSection(
            "risk",
            "Risk <VaR & CVaR>",
            "# Methods\n- historical\n- parametric",
            {"Weights": weights.head(3), "VaR/CVaR by method: a very long name indeed": risk},
            [],
        ),
    ]


@pytest.fixture(scope="module")
def summary():
    return ReportSummary(
        data_source="S&P 500 sample bundled with skfolio, prices in USD",
        as_of=dt.date(2022, 12, 28),
        generated_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        inputs={
            "Risk-free rate (annual)": 0.02,
            "Universe": ["AAPL", "MSFT"],
            "Long only": True,
            "Capital": 250_000.0,
            "Window start": dt.date(2018, 1, 2),
        },  # fmt: skip
        key_figures={"Expected return (annualised)": 0.1234, "Sharpe ratio": 1.1},
        notes=("Risk: not included, too few observations",),
    )


def test_csv_parses_back_with_the_orders(orders, sample):
    frame = pd.read_csv(io.BytesIO(allocation_csv(orders, sample.sectors)))
    stocks = frame[frame["ticker"] != "CASH"].set_index("ticker")
    held = orders.orders[(orders.orders["shares"] != 0) | (orders.orders["target_weight"] > 1e-10)]
    assert set(stocks.index) == set(held.index)
    np.testing.assert_allclose(stocks["shares"], held.loc[stocks.index, "shares"])
    cash = frame.loc[frame["ticker"] == "CASH", "value"].item()
    assert stocks["value"].sum() + cash == pytest.approx(250_000.0)


def test_sheet_names_are_valid_and_unique(sections):
    names = [sheet for _, _, sheet in sheet_names(sections)]
    assert len({n.lower() for n in names}) == len(names)
    assert "summary" not in {n.lower() for n in names}
    for n in names:
        assert 0 < len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n)
    assert names[:2] == ["Weights", "Sector weights"]
    assert "Weights (2)" in names


def test_xlsx_sheets_and_numbers_match(summary, sections, result):
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(summary, sections)))
    expected = ["Summary"] + [sheet for _, _, sheet in sheet_names(sections)]
    assert book.sheetnames == expected
    ws = book["Weights"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Ticker", "Weight (%)")  # identifiers in words, the unit said
    got = pd.Series({t: w for t, w in rows[1:]})
    pd.testing.assert_series_equal(got, result.weights, check_names=False, atol=1e-12)
    assert ws["B2"].number_format == "0.00%"  # weights: numbers with a percent format
    frontier = pd.DataFrame(list(book["Frontier points"].iter_rows(values_only=True))[1:])
    np.testing.assert_allclose(frontier[0], np.linspace(0.15, 0.3, 40))
    risk_sheet = [s for s in book.sheetnames if s.startswith("VaR-CVaR")][0]
    risk_rows = list(book[risk_sheet].iter_rows(values_only=True))
    assert risk_rows[0] == ("Method", "VaR 95 % (1 day)", "CVaR 95 % (1 day)")
    assert risk_rows[1] == ("historical", 0.021, 0.031)
    # Summary: inputs, data source, as-of, key figures as numbers, the sections, the notes.
    cells = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert cells["Data source"].startswith("S&P 500 sample")
    assert cells["As of (last price date)"] == dt.datetime(2022, 12, 28)
    assert cells["Generated"] == "2026-01-02 03:04:05 UTC"
    assert cells["Risk-free rate (annual)"] == 0.02
    assert cells["Expected return (annualised)"] == 0.1234
    assert cells["Sharpe ratio"] == 1.1
    assert cells["Universe"] == "AAPL, MSFT" and cells["Long only"] == "yes"
    assert cells["Risk <VaR & CVaR>"].startswith("Weights (2)")
    assert "Risk: not included, too few observations" in cells


def test_html_is_self_contained_with_every_section_and_chart(summary, sections):
    text = report_html(summary, sections).decode("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert len(re.findall(PLOTLY_JS, text)) == 1  # the library, once
    n_figures = sum(len(s.figures) for s in sections)
    assert text.count('class="plotly-graph-div"') == n_figures
    assert "<script src=" not in text and '<link rel="stylesheet"' not in text  # all inline
    for s in sections:
        assert f'id="section-{s.key}"' in text
    assert "<h2>Risk &lt;VaR &amp; CVaR&gt;</h2>" in text
    assert "<h2>Efficient frontier</h2>" in text and "<h2>Allocation</h2>" in text
    assert "S&amp;P 500 sample bundled with skfolio" in text and "2022-12-28" in text
    assert "2026-01-02 03:04:05 UTC" in text
    assert "Markowitz 1952" in text and "<strong>Max Sharpe</strong>" in text
    assert "12.34%" in text  # key figure as a percentage
    assert "@media print" in text and "break-before: page" in text
    # The plotly library comes before the first chart's div.
    assert re.search(PLOTLY_JS, text).start() < text.index('class="plotly-graph-div"')


def test_html_tables_hold_the_numbers(summary, sections, result):
    text = report_html(summary, sections).decode("utf-8")
    tables = pd.read_html(io.StringIO(text))
    weights = next(t for t in tables if list(t.columns) == ["Ticker", "Weight (%)"])
    shown = weights.set_index("Ticker")["Weight (%)"].str.rstrip("%").astype(float) / 100
    np.testing.assert_allclose(shown, result.weights.reindex(shown.index), atol=5e-5)


def test_html_without_figures_has_no_plotly():
    text = report_html(ReportSummary(), [ReportSection("x", "Only text", "hi")]).decode()
    assert not re.search(PLOTLY_JS, text) and "<h2>Only text</h2>" in text


def test_markdown_is_escaped():
    out = markdown_to_html(
        "<script>alert(1)</script> **b** `<i>` [ok](https://a.b/?x=1&y=2) [bad](javascript:x)"
    )
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<strong>b</strong>" in out and "<code>&lt;i&gt;</code>" in out
    # links (and images) stay literal text: section text quotes what users typed
    assert "[ok](https://a.b/?x=1&amp;y=2)" in out
    assert "<a" not in out and "<img" not in out and 'href="javascript' not in out


def test_percent_labels():
    for label in [
        "weight",
        "achieved_weight",
        "Expected return (annualised)",
        "CVaR 99 %",
        "Volatility (annualised)",
        "tracking error",
        "turnover",
        "Max drawdown",
    ]:
        assert is_percent_label(label), label  # fmt: skip
    for label in [
        "Sharpe ratio",
        "shares",
        "price",
        "value",
        "Effective number of assets",
        "Capital",
        "Information ratio",
        "ticker",
    ]:
        assert not is_percent_label(label), label  # fmt: skip


def test_number_formats_follow_the_column_meaning():
    table = pd.DataFrame(
        {
            "ticker": ["AAPL", "RRC"],
            "AAPL": [0.25, 0.5],  # a weight column named by its ticker
            "stop_loss": [108.9, 20.1],  # a price level, not a loss in %
            "stop_distance": [-0.13, -0.2],
            "trade_shares": [43.0, -2.0],
            "trade_value": [5403.98, -40.2],
            "return in % units": [12.0, 300.0],  # beyond 5000 %: not decimals, shown as is
        }
    )
    section = ReportSection("x", "X", "", {"Table": table})
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(ReportSummary(), [section], ["AAPL"])))
    formats = {
        c.value: d.number_format for c, d in zip(*book["Table"].iter_rows(max_row=2), strict=True)
    }
    assert formats == {
        "Ticker": "General", "AAPL": "0.00%", "Stop loss": "#,##0.00##",
        "Stop distance (%)": "0.00%", "Trade shares": "General", "Trade value": "#,##0.00",
        "return in % units": "#,##0.00##",
    }  # fmt: skip
    text = report_html(ReportSummary(), [section], ["AAPL"]).decode()
    row = re.search(r"<tr><td>AAPL</td>(.*?)</tr>", text).group(1)
    cells = re.findall(r">([^<]*)</td>", row)
    assert cells == ["25.00%", "108.90", "-13.00%", "43", "5,403.98", "12.0000"]


_names = st.text(alphabet="ab[]:*?/\\' %xyzHISTORY", min_size=0, max_size=40)


@settings(max_examples=25, deadline=None)
@given(
    tables=st.lists(
        st.tuples(
            _names,
            st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_tables_round_trip_through_the_workbook(tables):
    sections = [
        ReportSection(f"s{i}", f"Section {i}", "", {name: pd.DataFrame({"weight": values})})
        for i, (name, values) in enumerate(tables)
    ]
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(ReportSummary(), sections)))
    names = [sheet for _, _, sheet in sheet_names(sections)]
    assert book.sheetnames == ["Summary", *names]
    for (_, values), sheet in zip(tables, names, strict=True):
        assert 0 < len(sheet) <= 31 and not re.search(r"[\[\]:*?/\\]", sheet)
        got = [r[0] for r in book[sheet].iter_rows(min_row=2, values_only=True)]
        assert got == pytest.approx(values, rel=1e-15, abs=0)


# --- one number rule for workbook and HTML; text stays text; CSV without noise -------------

METRICS = pd.DataFrame(
    {"Target allocation": [0.1983, 1.21, -0.3343, 250.0], "SP500": [0.11, 0.8, -0.25, 250.0]},
    index=["Annualised return (CAGR, %)", "Sharpe ratio", "Maximum drawdown (%)",
           "Number of days"],
)  # fmt: skip
BACKTEST = pd.DataFrame(
    {"statistic": ["Method", "Estimation window (days)", "Confidence", "Kupiec p-value"],
     "value": ["Historical", "250", "0.99", "0.0365"]}
)  # fmt: skip


def _metric_report():
    section = ReportSection("rebalance", "Rebalancing", "",
                            {"Benchmark metrics": METRICS, "Backtest": BACKTEST})  # fmt: skip
    return ReportSummary(), [section]


def test_metric_rows_labelled_percent_are_percentages_in_both_reports():
    summary, sections = _metric_report()
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(summary, sections)))
    ws = book["Benchmark metrics"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    cagr = rows["Annualised return (CAGR, %)"][1]
    assert cagr.value == pytest.approx(0.1983) and "%" in cagr.number_format
    assert "%" in rows["Maximum drawdown (%)"][2].number_format
    assert "%" not in rows["Sharpe ratio"][1].number_format
    assert "%" not in rows["Number of days"][1].number_format
    assert ws["A1"].value in ("", None)  # an unnamed index is not called "index"
    bt = {r[0].value: r[1] for r in book["Backtest"].iter_rows(min_row=2)}
    window = bt["Estimation window (days)"]
    assert window.value == 250 and window.data_type == "n"
    assert bt["Confidence"].value == pytest.approx(0.99) and "%" in bt["Confidence"].number_format
    assert bt["Kupiec p-value"].data_type == "n" and "%" not in bt["Kupiec p-value"].number_format
    assert bt["Method"].value == "Historical"

    text = report_html(summary, sections).decode("utf-8")
    assert "19.83%" in text and "-33.43%" in text and "99.00%" in text
    assert "0.1983" not in text and ">index<" not in text
    assert ">1.2100<" in text and ">250<" in text


HOSTILE = ["=HYPERLINK(\"http://evil.example/\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
           "\tTAB", "\rCR", "http://evil.example/"]  # fmt: skip


def test_strings_never_become_formulas_or_links():
    table = pd.DataFrame({"ticker": HOSTILE, "sector": HOSTILE[::-1],
                          "weight": np.full(len(HOSTILE), -0.05)})  # fmt: skip
    summary = ReportSummary(inputs={"Universe": HOSTILE, "Name": "=1+1"})
    book_bytes = report_xlsx(summary, [ReportSection("x", "X", "", {"Weights": table})])
    book = openpyxl.load_workbook(io.BytesIO(book_bytes))
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                assert cell.hyperlink is None
    cells = [r[0] for r in book["Weights"].iter_rows(min_row=2, values_only=True)]
    assert [c.replace("_x000D_", "\r") for c in cells] == HOSTILE  # as it was, as text
    assert b"<f>" not in book_bytes and b"hyperlink" not in book_bytes.lower()

    out = csv_bytes(table).decode("utf-8")
    back = pd.read_csv(io.StringIO(out), keep_default_na=False)
    for cell in [*back["ticker"], *back["sector"]]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert back["ticker"].tolist()[:4] == ["'" + h for h in HOSTILE[:4]]
    assert back["weight"].tolist() == [-0.05] * len(HOSTILE)  # negative numbers stay numbers


def test_csv_keeps_numbers_machine_readable_without_float_noise(orders, sample):
    raw = b"a,b,c,d\n0.20000000000000007,50008.062999999995,-1.5e-17,AAPL\n"
    assert clean_csv(raw) == b"a,b,c,d\r\n0.2,50008.063,-1.5e-17,AAPL\r\n"
    text = allocation_csv(orders, sample.sectors).decode("utf-8")
    for cell in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", text):
        mantissa = cell.split("e")[0].lstrip("-+").replace(".", "").lstrip("0")
        assert len(mantissa) <= 12, cell
    back = pd.read_csv(io.StringIO(text))
    assert back["value"].sum() == pytest.approx(orders.capital, abs=0.02)


def test_stop_levels_and_trade_plan_csv_columns_say_what_they_hold(sample):
    from core.execution import (
        portfolio_limits,
        stop_levels,
        stop_levels_csv,
        trade_plan,
        trade_plan_csv,
    )

    history = sample.prices.iloc[-300:, :3]
    mu = pd.Series(0.05, history.columns)
    levels = stop_levels(history, mu, pd.Series(0.2, history.columns))
    r = history.pct_change().dropna().mean(axis=1)
    limits = portfolio_limits(r, 50_008.062999999995, 0.08, 0.16, confidence=0.95, horizon=10)
    back = pd.read_csv(io.BytesIO(stop_levels_csv(levels, limits, currency="USD")))
    last = back.iloc[-1]
    assert last["ticker"] == "PORTFOLIO" and pd.isna(last["price_USD"])  # not a share price
    assert last["value_USD"] == pytest.approx(50_008.063)
    assert "stop_loss_USD" in back.columns and "stop_distance" in back.columns
    target = pd.Series(1 / 3, history.columns)
    plan = trade_plan({}, 10_000.0, target, history.iloc[-1], cost_bps=10)
    text = trade_plan_csv(plan, currency="USD").decode("utf-8")
    header = text.splitlines()[0].split(",")
    assert {"price_USD", "trade_value_USD", "cost_USD", "final_value_USD"} <= set(header)
    assert "0000000" not in text and "9999999" not in text  # no float noise


def test_user_text_in_section_text_stays_literal():
    from core.reporting import md_literal

    typed = ["**Tech**", "# Energy", "- cash", "1. first", "a_b *c* `d` e\\f", "x_"]
    for t in typed:
        out = markdown_to_html(f"- sector {md_literal(t)}: weight\n\n{md_literal(t)}")
        assert out.count(html.escape(t)) == 2, (t, out)
        assert "<strong>" not in out and "<em>" not in out and "<code>" not in out
        assert "<h" not in out and "<ol>" not in out and out.count("<li>") == 1
    # Ballast's own Markdown around it still renders
    out = markdown_to_html(f"**Objective:** *Journal* `x` for {md_literal('**B**')}")
    assert "<strong>Objective:</strong>" in out and "<em>Journal</em>" in out
    assert "<code>x</code>" in out and "**B**" in out
