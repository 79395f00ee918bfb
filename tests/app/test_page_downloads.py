"""Each page that shows a result offers its report section as Excel and HTML downloads."""

from __future__ import annotations

import pytest

from tests.app.conftest import open_page


@pytest.mark.parametrize(
    "page",
    [
        "pages/2_Allocation.py",
        "pages/4_Efficient_Frontier.py",
        "pages/5_Risk.py",
        "pages/6_Rebalance.py",
    ],
)
def test_result_pages_offer_section_downloads(page):
    at = open_page(page)
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert "Download these results (Excel workbook, HTML report)" in labels
    assert not [e.value for e in at.error]


def test_black_litterman_downloads_follow_the_views():
    at = open_page("pages/3_Black_Litterman.py")
    label = "Download these results (Excel workbook, HTML report)"
    next(b for b in at.button if b.label == "Add two example views").click().run()
    assert not at.exception
    assert label in [e.label for e in at.expander]
