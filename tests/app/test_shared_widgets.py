"""A setup key drawn by widgets on two pages (``synced``) keeps its value across page changes.

Streamlit puts the page into a widget's identity, so ``w_capital`` on the Allocation page and
``w_capital`` on the Risk page are two widgets; before the fix, going back to a page reset the
setup to the number input's minimum.
"""

from __future__ import annotations

from tests.app.conftest import open_page


def test_capital_survives_page_changes():
    at = open_page("app.py")
    at.switch_page("pages/2_Allocation.py").run()
    at.number_input(key="w_capital").set_value(250_000.0).run()
    at.switch_page("pages/5_Risk.py").run()
    assert not at.exception
    assert at.session_state["capital"] == 250_000.0
    assert at.number_input(key="w_capital").value == 250_000.0
    at.number_input(key="w_capital").set_value(300_000.0).run()
    at.switch_page("pages/2_Allocation.py").run()
    assert not at.exception
    assert at.session_state["capital"] == 300_000.0
    assert at.number_input(key="w_capital").value == 300_000.0


# --- user text is shown literally (issue 10, #22) --------------------------------------------

#: A hostile name (issue 10's example): a link, and an image the browser would fetch.
HOSTILE = "[Verify your login](https://evil.example/x) ![](http://evil.example/p.png)"


def test_md_escape_renders_literally():
    from ui.widgets import md_escape

    text = HOSTILE + " :red[x] :material/lock: $y$ **b** `c` <img src=x> www.evil.example a@e.x"
    escaped = md_escape(text)
    # Link and image brackets, HTML, emphasis, code and LaTeX are backslash-escaped ...
    assert escaped.startswith(r"\[Verify your login\](https:")
    for part in (r"!\[\](http:", r"\$y\$", r"\*\*b\*\*", r"\`c\`", r"\<img"):
        assert part in escaped
    # ... and a word joiner breaks autolinks, icons and directives, found after unescaping.
    assert escaped.count("\u2060") == 6
    assert "https:\u2060//" in escaped and "www\u2060." in escaped and ":\u2060red" in escaped
    # Removing both gives the text back; ordinary punctuation is left alone.
    assert escaped.replace("\u2060", "").replace("\\", "") == text
    plain = "Settings with the wrong type: risk_horizon (expected number), 5.0 %; don't."
    assert md_escape(plain) == plain
    assert md_escape("# title\n- item") == "\\# title\n\\- item"


def test_error_naming_a_hostile_ticker_is_escaped():
    at = open_page("pages/2_Allocation.py", universe=["AAPL", HOSTILE])
    assert not at.exception
    from ui.widgets import md_escape

    shown = [e.value for e in at.error]
    assert any("Not in the loaded data" in v and md_escape(HOSTILE) in v for v in shown), shown
    assert not any(HOSTILE in v for v in shown), shown  # never unescaped


def test_setup_name_with_markdown_is_shown_literally(tmp_path, monkeypatch):
    from ui.widgets import md_escape

    monkeypatch.setenv("BALLAST_DATA_DIR", str(tmp_path))
    at = open_page("pages/7_Report.py")
    at.text_input(key="report_save_name").input(HOSTILE)
    next(b for b in at.get("form_submit_button") if b.label == "Save setup").click().run()
    assert not at.exception
    quoted = md_escape(repr(HOSTILE))
    assert [s.value for s in at.success] == [f"Saved the setup as {quoted}."]
    assert at.text_input(key="report_rename_to").label == md_escape(f"Rename {HOSTILE!r} to")


# --- values a widget refuses (issue 10, #24) --------------------------------------------------


def test_setup_value_above_a_slider_maximum_is_clamped():
    at = open_page("pages/4_Efficient_Frontier.py", frontier_n_points=5000)
    assert not at.exception
    assert at.slider(key="w_frontier_n_points").value == 200
    assert at.session_state["frontier_n_points"] == 200
    assert any("above the maximum 200" in w.value for w in at.warning)


def test_setup_value_above_a_number_input_maximum_is_clamped():
    at = open_page("pages/2_Allocation.py", risk_free_rate=0.5)  # 50 %, the input stops at 20 %
    assert not at.exception
    assert at.number_input(key="w_risk_free_rate").value == 20.0
    assert at.session_state["risk_free_rate"] == 0.2
    assert any("Risk" in w.value and "above the maximum 20" in w.value for w in at.warning)


def test_sector_bound_that_is_not_a_number_is_named():
    at = open_page("pages/5_Risk.py", sector_bounds={"Energy": ["x", 0.5]})
    assert not at.exception
    assert any("Sector bounds" in e.value and "Energy" in e.value for e in at.error)


def test_bounds_editor_rejects_text_with_a_message():
    import pandas as pd
    import pytest

    from core.exceptions import BallastError
    from ui.allocation import _parse_bounds

    frame = pd.DataFrame({"Sector": ["Energy"], "Min weight (%)": ["x"], "Max weight (%)": [50]},
                         dtype=object)  # fmt: skip
    with pytest.raises(BallastError, match="Energy: the bounds must be numbers"):
        _parse_bounds(frame, "Sector", (0.0, 1.0))


def test_repeated_tickers_in_a_setup_universe():
    at = open_page("pages/3_Black-Litterman.py", universe=["AAPL", "AAPL", "XOM"])
    assert not at.exception
    assert at.session_state["universe"] == ["AAPL", "XOM"]


# --- a stale allocation's downloads say so (issue 10, #17) ------------------------------------


def _download_labels(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_downloads_of_the_last_good_allocation_are_labelled():
    at = open_page("pages/2_Allocation.py")
    fresh = _download_labels(at)
    assert "Download allocation (CSV)" in fresh
    assert not any("last good" in label for label in fresh)
    at.number_input(key="w_max_weight").set_value(1.0).run()  # 20 assets x 1 % < 100 %
    assert any("No portfolio satisfies the constraints" in e.value for e in at.error)
    stale = _download_labels(at)
    assert stale and all("last good allocation, before the current constraints" in label
                         for label in stale), stale  # fmt: skip
    at.number_input(key="w_max_weight").set_value(100.0).run()
    assert not any("last good" in label for label in _download_labels(at))


def test_bounds_editors_are_drawn_only_while_their_expander_is_open():
    """Two data grids cost a first page about a second in the browser: drawn on demand."""
    at = open_page("pages/2_Allocation.py", sector_bounds={"Energy": [0.0, 0.2]})
    assert not at.exception
    keys = {getattr(d, "key", None) for d in at.dataframe}
    assert not keys & {"w_sector_bounds", "w_asset_bounds"}
    assert any(e.label.endswith("bounds (1 set)") for e in at.expander)
    at.session_state["allocation_bounds_editors"] = True  # the user opens it
    at.run()
    keys = {getattr(d, "key", None) for d in at.dataframe}
    assert {"w_sector_bounds", "w_asset_bounds"} <= keys
    assert [float(v) for v in at.session_state["sector_bounds"]["Energy"]] == [0.0, 0.2]
