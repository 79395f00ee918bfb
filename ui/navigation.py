"""The sidebar's page list, drawn by the shared start-up code of every page.

Streamlit's own page list names each page after its file, so the home page would read "app".
``client.showSidebarNavigation = false`` (``.streamlit/config.toml``) hides that list and
:func:`sidebar` draws one with ``st.page_link`` instead: the home page is "Home", every other
page is named after its file without the number that orders it ("3_Black-Litterman.py" ->
"Black-Litterman"), so a new file in ``pages/`` joins the list by itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

__all__ = ["HOME", "page_label", "pages", "sidebar"]

ROOT = Path(__file__).resolve().parent.parent
HOME = "app.py"
_ORDER = re.compile(r"^(\d+)_")
_ICONS = {
    "Home": ":material/home:",
    "Data": ":material/database:",
    "Allocation": ":material/pie_chart:",
    "Black-Litterman": ":material/tune:",
    "Efficient Frontier": ":material/show_chart:",
    "Risk": ":material/warning:",
    "Rebalance": ":material/swap_horiz:",
    "Report": ":material/description:",
    "Compare": ":material/compare_arrows:",
}


def page_label(path: str) -> str:
    """The name the sidebar gives a page file.

    Parameters
    ----------
    path : str
        The page's path relative to the project, e.g. ``"pages/4_Efficient_Frontier.py"``.

    Returns
    -------
    str
        ``"Home"`` for ``app.py``; otherwise the file's stem without its leading number, with
        underscores as spaces (``"Efficient Frontier"``).
    """
    if path == HOME:
        return "Home"
    return _ORDER.sub("", Path(path).stem).replace("_", " ")


def pages() -> list[str]:
    """Every page file, home first, then ``pages/`` in the order of their leading numbers.

    Returns
    -------
    list of str
        Paths relative to the project root.
    """
    found = sorted(
        (ROOT / "pages").glob("*.py"),
        key=lambda p: (int(m.group(1)) if (m := _ORDER.match(p.name)) else 10**6, p.name),
    )
    return [HOME] + [f"pages/{p.name}" for p in found]


def sidebar() -> None:
    """Draw the page list at the top of the sidebar (see the module docstring).

    Nothing is drawn when the running app's entry point is not ``app.py`` (a page run on its
    own, as Streamlit's AppTest does): Streamlit only links pages it discovered from the entry
    point; nor in a fragment rerun, which keeps the sidebar of the last full run.
    """
    ctx = get_script_run_ctx()
    if ctx is None or Path(ctx.pages_manager.main_script_path).resolve() != ROOT / HOME:
        return
    if ctx.fragment_ids_this_run:
        # A fragment rerun (loading a setup from the Report page's setups fragment calls
        # ui.state.init): the sidebar of the last full run stays, and a fragment may not write
        # to it (StreamlitInvalidLayoutContextError).
        return
    with st.sidebar:
        for path in pages():
            label = page_label(path)
            st.page_link(path, label=label, icon=_ICONS.get(label))
        st.divider()
