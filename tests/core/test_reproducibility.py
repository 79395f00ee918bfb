"""Reproducibility record: fingerprints, versions, and the comparison shown on reopening."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd
import pytest

from core import reproducibility as rp
from core.store import open_store


@pytest.fixture
def prices():
    index = pd.bdate_range("2020-01-01", periods=60)
    rng = np.random.default_rng(0)
    return pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (60, 3)), axis=0)),
                        index=index, columns=["AAA", "BBB", "CCC"])  # fmt: skip


def test_fingerprint_is_sha256_of_a_canonical_form(prices):
    fp = rp.data_fingerprint(prices, {"kind": "sample"})
    assert fp["rows"] == 60 and fp["columns"] == 3 and fp["tickers"] == ["AAA", "BBB", "CCC"]
    assert fp["first"] == "2020-01-01" and fp["last"] == prices.index[-1].date().isoformat()
    # Independent of how the frame was built: a copy, another dtype, a differently made index.
    rebuilt = pd.DataFrame(prices.to_numpy().astype("float32").astype("float64"),
                           index=pd.DatetimeIndex(list(prices.index)), columns=list(prices))
    assert rp.data_fingerprint(prices.copy(), {"kind": "sample"}) == fp
    assert rp.data_fingerprint(rebuilt, {"kind": "sample"})["source"] == fp["source"]
    # The descriptor's key order does not matter; its content does.
    a = rp.data_fingerprint(prices, {"kind": "yahoo", "tickers": ["A"], "start": "2020-01-01"})
    b = rp.data_fingerprint(prices, {"start": "2020-01-01", "tickers": ["A"], "kind": "yahoo"})
    assert a == b and a["fingerprint"] != fp["fingerprint"] and a["prices"] == fp["prices"]
    # One price changed by one part in 1e12 changes it.
    nudged = prices.copy()
    nudged.iloc[30, 1] *= 1 + 1e-12
    assert rp.data_fingerprint(nudged, {"kind": "sample"})["prices"] != fp["prices"]
    # The digest is SHA-256 (64 hex digits), checked against hashlib on the same parts.
    assert len(fp["prices"]) == 64 and fp["fingerprint"].startswith("sha256:")
    parts = [fp["prices"].encode(), fp["source"].encode()]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    assert fp["fingerprint"] == "sha256:" + digest.hexdigest()


def test_versions_name_ballast_its_code_and_the_libraries():
    v = rp.versions()
    assert v["ballast"] == "0.1.0" and len(v["ballast_code"]) == 16
    assert v["numpy"] == np.__version__ and v["pandas"] == pd.__version__
    assert set(rp.LIBRARIES) <= set(v)


def test_compare_says_what_changed_and_by_how_much(prices):
    saved = rp.capture(prices, {"kind": "sample"}, {"expected_return": 0.12, "volatility": 0.2})
    same = rp.capture(prices, {"kind": "sample"}, {"expected_return": 0.12, "volatility": 0.2})
    table = rp.compare(saved, same)
    assert not table["changed"].any()
    assert rp.summary(table) == "Same data; same code; the key figures are unchanged."

    longer = pd.concat([prices, prices.iloc[-5:].set_axis(
        pd.bdate_range(prices.index[-1] + pd.offsets.BDay(), periods=5))])  # fmt: skip
    now = rp.capture(longer.drop(columns="CCC"), {"kind": "sample"},
                     {"expected_return": 0.125, "volatility": 0.2, "sharpe_ratio": 0.6})
    now = dataclasses.replace(now, versions={**now.versions, "numpy": "9.9.9"})
    table = rp.compare(saved, now).set_index("item")
    assert table.loc["price data", "changed"]
    assert "+5 rows" in table.loc["price data", "change"]
    assert "-CCC" in table.loc["price data", "change"]
    assert table.loc["numpy", "changed"] and not table.loc["pandas", "changed"]
    assert table.loc["expected_return", "change"] == pytest.approx(0.005, abs=1e-15)
    assert not table.loc["volatility", "changed"]
    assert table.loc["sharpe_ratio", "changed"] and pd.isna(table.loc["sharpe_ratio", "saved"])
    text = rp.summary(rp.compare(saved, now))
    assert text.startswith("The data changed: ") and "code changed: numpy" in text
    assert "key figures moved: expected_return, sharpe_ratio" in text


def test_the_store_keeps_the_record_and_an_old_setup_says_not_recorded(tmp_path, prices):
    store = open_store(tmp_path)
    record = rp.capture(prices, {"kind": "sample"}, {"volatility": 0.2, "bad": float("nan")})
    info = store.save("With record", {"capital": 1.0}, record=record)
    assert info.data_fingerprint == record.fingerprint
    back = store.record(info.id)
    assert back.versions == record.versions and back.data == record.data
    assert back.key_figures == {"volatility": 0.2}  # non-finite figures are left out
    bare = store.save("Without", {"capital": 1.0})
    table = rp.compare(store.record(bare.id), record)
    assert table.iloc[0]["change"] == "not recorded"
    assert rp.summary(table).startswith("No data fingerprint was recorded")
    store.close()
