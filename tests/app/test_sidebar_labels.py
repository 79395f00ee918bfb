"""AppTest: sidebar and table labels that fit the page at 1400 px and carry their units."""

from __future__ import annotations

from tests.app.conftest import open_page

#: About the characters a sidebar select box shows before it cuts its label (Chromium, 1400 px).
FITS = 24


def test_allocation_sidebar_select_boxes_fit_and_explain_in_help():
    at = open_page("pages/2_Allocation.py")
    assert not at.exception
    for key in ("w_objective_kind", "w_returns_method", "w_cov_method"):
        box = at.selectbox(key=key)
        shown = list(box.options)  # as the browser shows them
        assert all(len(label) <= FITS for label in shown), shown
        assert box.help  # the full names
    objective = at.selectbox(key="w_objective_kind")
    assert "Maximum Sharpe ratio (tangency portfolio)" in objective.help


def test_weight_bounds_and_capital_carry_their_units():
    at = open_page("pages/2_Allocation.py")
    low, high = at.number_input(key="w_min_weight"), at.number_input(key="w_max_weight")
    assert (low.label, high.label) == ("Min weight (%)", "Max weight (%)")
    assert "%" in low.help and "%" in high.help
    capital = at.number_input(key="w_capital")
    assert capital.label == "Capital to invest (USD)"
    assert any(c.value == f"{capital.value:,.2f} USD" for c in at.caption)
    assert f"{capital.value:,.2f}" == "100,000.00"


def test_black_litterman_omega_labels_fit_the_sidebar():
    at = open_page("pages/3_Black-Litterman.py")
    box = at.selectbox(key="w_bl_omega")
    assert all(len(o) <= FITS for o in box.options), box.options
    assert "Idzorek" in box.help


def test_black_litterman_posterior_table_fits_and_leaves_no_value_blank():
    at = open_page("pages/3_Black-Litterman.py")
    at.button[0].click().run()  # two example views
    frame = at.dataframe[-1]
    headers = list(frame.value.columns)
    assert "BL weight" in headers and "Optimised weight" in headers
    assert sum(len(h) for h in headers) <= 100  # about what 1400 px shows with the tickers
    assert all(len(h) <= 16 for h in headers)


def test_sidebar_page_list_names_the_home_page_home():
    at = open_page("app.py")
    assert not at.exception
    labels = [e.proto.label for e in at.sidebar if hasattr(e.proto, "page")]  # st.page_link
    assert labels[:8] == ["Home", "Data", "Allocation", "Black-Litterman", "Efficient Frontier",
                          "Risk", "Rebalance", "Report"]  # fmt: skip
    assert "app" not in labels
    at.switch_page("pages/5_Risk.py").run()
    assert not at.exception
    assert any(getattr(e.proto, "label", "") == "Home" for e in at.sidebar)
