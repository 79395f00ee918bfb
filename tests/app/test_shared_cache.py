"""What sessions share (ui.cache.shared): built once per process for equal content, never mixed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, open_page
from ui import cache


@dataclasses.dataclass(frozen=True)
class _Box:
    weights: pd.Series
    limits: dict


def test_content_key_follows_every_value_label_and_type():
    w = pd.Series([0.6, 0.4], index=["KO", "PEP"], name="w")
    key = cache.content_key(w, {"max": 0.5}, (1, "a"))
    assert key == cache.content_key(w.copy(), {"max": 0.5}, (1, "a"))
    assert key != cache.content_key(w.rename(index={"PEP": "PG"}), {"max": 0.5}, (1, "a"))
    assert key != cache.content_key(w + 1e-15, {"max": 0.5}, (1, "a"))
    assert key != cache.content_key(w, {"max": 0.5}, (1.0, "a"))  # 1 and 1.0 differ
    # labels whose concatenations agree are still told apart
    a = pd.Series([1.0, 2.0], index=["AB", "C"])
    b = pd.Series([1.0, 2.0], index=["A", "BC"])
    assert cache.content_key(a) != cache.content_key(b)
    box = _Box(w, {"x": np.arange(3.0)})
    assert cache.content_key(box) == cache.content_key(_Box(w.copy(), {"x": np.arange(3.0)}))
    assert cache.content_key(box) != cache.content_key(_Box(w, {"x": np.arange(4.0)}))
    # something without a content digest is not shared
    assert cache.content_key(w, lambda: 1) is None
    assert cache.content_key(np.array([object()])) is None


def _script() -> None:
    import streamlit as st

    from ui import cache

    calls = st.session_state.setdefault("calls", [])

    def build(v):
        calls.append(v)
        return {"value": v}

    v = st.session_state.get("v", 1)
    st.session_state["out"] = cache.shared("test_shared", cache.content_key("t", v),
                                           lambda: build(v))  # fmt: skip
    st.session_state["unkeyed"] = cache.shared("test_shared", None, lambda: build(-1))


def test_shared_builds_once_for_two_sessions_and_apart_for_other_content():
    first, second = AppTest.from_function(_script), AppTest.from_function(_script)
    first.run()
    second.run()
    assert first.session_state["calls"] == [1, -1]
    assert second.session_state["calls"] == [-1]  # the keyed value came from the first session
    assert second.session_state["out"] is first.session_state["out"]
    third = AppTest.from_function(_script)
    third.session_state["v"] = 2
    third.run()
    assert third.session_state["calls"] == [2, -1] and third.session_state["out"]["value"] == 2


def test_new_sessions_on_the_default_setup_get_the_same_allocation_and_figures():
    first = open_page("pages/2_Allocation.py")
    second = open_page("pages/2_Allocation.py")
    assert not first.exception and not second.exception
    a, b = first.session_state["allocation"], second.session_state["allocation"]
    assert a is b  # computed once, shared
    assert [c.proto.spec for c in first.get("plotly_chart")] == [
        c.proto.spec for c in second.get("plotly_chart")
    ]
    # another objective is another problem, not the shared one
    other = AppTest.from_file(str(ROOT / "pages/2_Allocation.py"), default_timeout=90)
    other.session_state["objective_kind"] = "min_volatility"
    other.run()
    assert not other.exception
    assert other.session_state["allocation"] is not a
    assert not np.allclose(other.session_state["allocation"].weights.reindex(a.weights.index),
                           a.weights)  # fmt: skip
