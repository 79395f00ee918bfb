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
    at = open_page("pages/3_Black-Litterman.py")
    label = "Download these results (Excel workbook, HTML report)"
    next(b for b in at.button if b.label == "Add two example views").click().run()
    assert not at.exception
    assert label in [e.label for e in at.expander]


@pytest.mark.parametrize(
    ("page", "owner", "title"),
    [
        ("pages/2_Allocation.py", "allocation", "Allocation"),
        ("pages/4_Efficient_Frontier.py", "frontier", "Efficient frontier"),
    ],
)
def test_section_files_are_built_only_while_the_expander_is_open(page, owner, title):
    # Building the section (a second copy of the page's tables and figures) on every rerun
    # made each slider move pay for it; now it happens once the user opens the expander.
    at = open_page(page)
    labels = [b.label for b in at.get("download_button")]
    assert f"{title} (Excel)" not in labels
    at.session_state[f"page_downloads_{owner}"] = True  # the expander opened
    at.run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert f"{title} (Excel)" in labels and f"{title} (HTML report)" in labels
