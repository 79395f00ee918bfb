"""User text in figures and reports is shown literally: no live link, no image, no markup.

A hostile user names tickers, a sector, the benchmark and a design with HTML and Markdown that
would plant a link or fetch an image (``<a href=...>``, ``[..](https://..)``, ``![](..)``,
``<img>``). Every figure of every report section (built by ``core.charts``, which the pages
draw too), the HTML report and the Excel workbook are then checked for what a reader would get.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest

from core.charts._common import plain
from core.market_data import load_sample
from core.pipeline import Pipeline

LINK = '<a href="https://x.example">Verify</a>'
MARKDOWN = "[Verify](https://x.example) ![](http://h/p.png)"
IMAGE = '<img src="http://h/p.png">'
# Tickers have at most 32 characters (core.setups): shorter ones of the same kinds.
SHORT_LINK, SHORT_MARKDOWN = '<a href="//x.example">V</a>', "[V](http://x.ex)![](http://h/p)"
RENAMED = {"AAPL": SHORT_LINK, "MSFT": SHORT_MARKDOWN, "JPM": IMAGE, "KO": "S&P <b>KO</b>"}
UNIVERSE = [*RENAMED.values(), "XOM"]
# A tag that plotly.js or a browser would render: a link or an image.
LIVE = re.compile(r"<\s*(a|img)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def hostile():
    """The sample data with hostile tickers, sector and benchmark name, and its pipeline."""
    data = load_sample()
    sectors = data.sectors.rename(index=RENAMED)
    sectors[SHORT_LINK] = f"Tech {LINK} {MARKDOWN}"
    data = dataclasses.replace(
        data,
        prices=data.prices.rename(columns=RENAMED),
        sectors=sectors,
        market_caps=data.market_caps.rename(index=RENAMED),
        benchmark=data.benchmark.rename(f"Index {LINK}"),
    )
    setup = {
        "universe": UNIVERSE, "start": dt.date(2019, 1, 2), "end": dt.date(2022, 12, 28),
        "max_weight": 0.5, "risk_mc_scenarios": 2_000, "frontier_n_random": 0,
        "frontier_resampled": True, "frontier_resamples": 10, "frontier_n_points": 10,
        "compare_designs": [{"name": "Equal weight", "kind": "equal_weight"},
                            {"name": f"Mine {LINK}", "kind": "optimized",
                             "objective": "min_volatility"}],
        "compare_baseline": "Equal weight", "compare_schedule": "quarterly",
        "compare_lookback_years": 1.0, "compare_start": dt.date(2021, 1, 4),
    }  # fmt: skip
    p = Pipeline(setup, data)
    p.resampled = p.run_resampled_frontier()
    p.comparison = p.run_comparison()
    return p


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif hasattr(value, "tolist") and getattr(value, "dtype", None) is not None \
            and value.dtype.kind in "OU":  # fmt: skip
        yield from _strings(value.tolist())


def test_plain_escapes_markup_and_keeps_line_breaks():
    assert plain(LINK) == '&lt;a href="https://x.example"&gt;Verify&lt;/a&gt;'
    assert plain("S&P<br>%{y}<extra>x</extra>") == "S&amp;P<br>%{y}<extra>x</extra>"
    assert plain(MARKDOWN) == MARKDOWN  # plotly renders no Markdown


def test_every_figure_shows_user_text_literally(hostile):
    _, sections, statuses = hostile.report(strict=True)
    ready = {s.label for s in statuses if s.status == "ready"}
    assert {"Allocation", "Efficient frontier", "Risk", "Comparison of designs"} <= ready
    figures = [f for s in sections for f in s.figures]
    assert len(figures) >= 10
    shown = []
    for fig in figures:
        spec = fig.to_plotly_json()
        spec["layout"].pop("template", None)
        for text in _strings(spec):
            assert not LIVE.search(text), text
            shown.append(text)
    seen = " ".join(shown)
    # the names are there, escaped (plotly shows the entities as the characters)
    assert plain(SHORT_LINK) in seen and plain(IMAGE) in seen and "S&amp;P &lt;b&gt;KO" in seen
    assert f"Tech {plain(LINK)} {MARKDOWN}" in seen  # a sector
    assert f"Mine {plain(LINK)}" in seen  # a design's name (legend, Sharpe intervals)
    resampled = next(s for s in sections if s.key == "frontier").figures[-1]
    assert plain(SHORT_LINK) in " ".join(_strings(resampled.to_plotly_json()["data"]))


def test_html_report_has_no_link_or_image_from_user_text(hostile):
    page = hostile.report_html(strict=True).decode("utf-8")
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    body = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    # outside the scripts: only the table of contents' own anchors are links
    assert [h for h in re.findall(r'<a\s[^>]*href="([^"]*)"', body) if not h.startswith("#")] \
        == []  # fmt: skip
    assert not re.search(r"<img", body, re.I)
    assert SHORT_MARKDOWN in body and f"Mine {LINK}".replace("<", "&lt;").replace(
        ">", "&gt;").replace('"', "&quot;") in body  # as text, escaped
    # the figures' data (after plotly.js and the templates) carry escaped text only
    figures = [s for s in scripts if s.startswith("BALLAST_DRAW.push")]
    assert figures and not any(LIVE.search(s.replace("<\\/", "</")) for s in figures)


def test_workbook_keeps_user_text_as_text(hostile):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(hostile.report_xlsx(strict=True)))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]  # fmt: skip
    assert any(c.value == SHORT_LINK for c in cells)
    assert any(c.value == SHORT_MARKDOWN for c in cells)
    assert all(c.data_type == "s" and c.hyperlink is None for c in cells)


def test_compare_workbook_keeps_design_names_as_text(hostile):
    from openpyxl import load_workbook

    from ui.compare import workbook

    comparison = hostile.comparison
    renamed = dataclasses.replace(comparison, metrics=comparison.metrics.rename(
        index={comparison.metrics.index[-1]: "=HYPERLINK(\"https://x.example\",\"Verify\")"}))
    book = load_workbook(io.BytesIO(workbook(renamed)))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]  # fmt: skip
    assert any(c.value.startswith("=HYPERLINK") for c in cells)
    assert all(c.data_type == "s" and c.hyperlink is None for c in cells)
