"""Reproducibility record of a saved setup: code versions, data fingerprint, key figures.

Conventions
-----------
A :class:`Record` is taken when a setup is saved (:func:`capture`) and again when it is
reopened; :func:`compare` lays the two side by side. It holds:

- ``versions``: Ballast's version and a hash of its ``core`` sources (a change of the code
  without a version bump still shows), Python's and the numerical libraries' versions
  (:data:`LIBRARIES`, read from the installed distributions without importing them);
- ``data``: a fingerprint of the price frame and of the source descriptor (where the prices
  came from, e.g. ``{"kind": "sample"}``), with the frame's shape and first and last dates, so
  that a change says what changed (more rows, other tickers, other values);
- ``key_figures``: named numbers of the result at save time, in the caller's units (decimal,
  annualised for returns and volatility, e.g. ``{"expected_return": 0.12}``).

Fingerprints are SHA-256 over a canonical byte form: the prices as float64 in C order, the
dates as int64 nanoseconds, the tickers and the descriptor as sorted-key JSON. They do not
depend on the pandas version or on how the frame was built.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LIBRARIES",
    "Record",
    "ballast_version",
    "versions",
    "data_fingerprint",
    "capture",
    "compare",
    "summary",
]

#: Distributions whose versions a record keeps (the ones the numbers depend on).
LIBRARIES: tuple[str, ...] = (
    "numpy", "pandas", "scipy", "cvxpy", "highspy", "clarabel", "PyPortfolioOpt", "skfolio",
    "scikit-learn", "yfinance",
)  # fmt: skip

_CORE = Path(__file__).resolve().parent
# Facts about the running process (its sources, its installed libraries), read once: reading
# the distributions' metadata costs about 5 ms each.
_code_hash: str | None = None
_versions: dict[str, str] | None = None


def ballast_version() -> str:
    """Ballast's version (``pyproject.toml``, or the installed distribution), else ``"unknown"``."""
    pyproject = _CORE.parent / "pyproject.toml"
    if pyproject.is_file():
        for line in pyproject.read_text(encoding="utf-8").splitlines():
            if line.startswith("version"):
                return line.split("=", 1)[1].strip().strip('"')
    try:
        return metadata.version("ballast")
    except metadata.PackageNotFoundError:
        return "unknown"


def _core_hash() -> str:
    global _code_hash  # the sources do not change while the process runs
    if _code_hash is None:
        digest = hashlib.sha256()
        for path in sorted(_CORE.rglob("*.py")):
            digest.update(path.relative_to(_CORE).as_posix().encode())
            digest.update(path.read_bytes())
        _code_hash = digest.hexdigest()[:16]
    return _code_hash


def versions() -> dict[str, str]:
    """Versions of Ballast, its code, Python and :data:`LIBRARIES`.

    Returns
    -------
    dict
        ``{"ballast": "0.1.0", "ballast_code": "<16 hex>", "python": "3.11.7", "numpy": ...}``;
        ``"not installed"`` for a library that is missing.
    """
    global _versions
    if _versions is None:
        out = {"ballast": ballast_version(), "ballast_code": _core_hash(),
               "python": platform.python_version()}  # fmt: skip
        for name in LIBRARIES:
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                out[name] = "not installed"
        _versions = out
    return dict(_versions)


def _sha(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def data_fingerprint(prices: pd.DataFrame, source: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fingerprint of a price frame and of the descriptor of its source.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets)
        Prices on a DatetimeIndex, tickers as columns.
    source : mapping or None
        The setup's data source descriptor (``{"kind": "sample"}``, a Yahoo request, an upload).

    Returns
    -------
    dict
        ``fingerprint`` (``"sha256:<hex>"`` of both), ``prices`` and ``source`` (hex digests of
        each), ``rows``, ``columns``, ``first`` and ``last`` (ISO dates), ``tickers``.

    References
    ----------
    NIST FIPS 180-4, Secure Hash Standard (SHA-256).
    """
    import numpy as np
    import pandas as pd

    values = np.ascontiguousarray(prices.to_numpy(dtype="float64", na_value=np.nan))
    index = pd.DatetimeIndex(prices.index)
    dates = np.ascontiguousarray(index.as_unit("ns").asi8, dtype="int64")
    tickers = [str(c) for c in prices.columns]
    price_hash = _sha(values.tobytes(), dates.tobytes(), _canonical(tickers))
    source_hash = _sha(_canonical(dict(source) if source is not None else None))
    return {
        "fingerprint": "sha256:" + _sha(price_hash.encode(), source_hash.encode()),
        "prices": price_hash,
        "source": source_hash,
        "rows": int(values.shape[0]),
        "columns": int(values.shape[1]),
        "first": index[0].date().isoformat() if len(index) else None,
        "last": index[-1].date().isoformat() if len(index) else None,
        "tickers": tickers,
    }


@dataclass(frozen=True)
class Record:
    """What a result depended on when it was computed.

    Attributes
    ----------
    versions : dict
        From :func:`versions`.
    data : dict or None
        From :func:`data_fingerprint`; None when no data was given.
    key_figures : dict
        Name -> number (decimal; annualised where the name says so or the caller documents it).
    taken_at : datetime
        When the record was taken (UTC).
    """

    versions: dict[str, str]
    data: dict[str, Any] | None = None
    key_figures: dict[str, float] = field(default_factory=dict)
    taken_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def fingerprint(self) -> str | None:
        """The data fingerprint (``"sha256:..."``), None without data."""
        return None if self.data is None else self.data.get("fingerprint")


def capture(
    prices: pd.DataFrame | None = None,
    source: Mapping[str, Any] | None = None,
    key_figures: Mapping[str, float] | None = None,
) -> Record:
    """A record of the running code, the data and the key figures now.

    Parameters
    ----------
    prices : DataFrame (n_observations, n_assets), optional
        The prices the figures were computed on.
    source : mapping, optional
        The data source descriptor of the setup.
    key_figures : mapping, optional
        Name -> finite number (non-finite ones are left out: JSON cannot hold them).

    Returns
    -------
    Record
    """
    figures = {str(k): float(v) for k, v in (key_figures or {}).items()
               if v is not None and math.isfinite(float(v))}  # fmt: skip
    data = None if prices is None else data_fingerprint(prices, source)
    return Record(versions(), data, figures)


def _data_change(saved: dict[str, Any] | None, now: dict[str, Any] | None) -> str:
    if saved is None or now is None:
        return "not recorded"
    if saved.get("fingerprint") == now.get("fingerprint"):
        return "same"
    parts = []
    if saved.get("source") != now.get("source"):
        parts.append("other source")
    if saved.get("tickers") != now.get("tickers"):
        gone = sorted(set(saved.get("tickers") or []) - set(now.get("tickers") or []))
        new = sorted(set(now.get("tickers") or []) - set(saved.get("tickers") or []))
        parts.append("tickers " + ", ".join([f"-{t}" for t in gone] + [f"+{t}" for t in new]))
    if saved.get("rows") != now.get("rows"):
        parts.append(f"{(now.get('rows') or 0) - (saved.get('rows') or 0):+,} rows")
    if (saved.get("first"), saved.get("last")) != (now.get("first"), now.get("last")):
        parts.append(f"dates {saved.get('first')}..{saved.get('last')} -> "
                     f"{now.get('first')}..{now.get('last')}")  # fmt: skip
    if not parts:
        parts.append("same shape, other values")
    return "changed: " + "; ".join(parts)


def compare(saved: Record, now: Record) -> pd.DataFrame:
    """The saved record beside the one taken now: what changed, and by how much.

    Parameters
    ----------
    saved : Record
        Taken when the setup was saved.
    now : Record
        Taken after reopening it and recomputing.

    Returns
    -------
    DataFrame
        One row per item: the data fingerprint, each version, each key figure (saved, now or
        both). Columns ``kind`` (``"data"``, ``"code"``, ``"key figure"``), ``item``,
        ``saved``, ``now`` (text for data and code, numbers for key figures), ``change``
        (text for data and code, ``now - saved`` for key figures, in their units) and
        ``changed`` (bool).
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    s_fp, n_fp = saved.fingerprint, now.fingerprint
    rows.append({"kind": "data", "item": "price data", "saved": _short(s_fp), "now": _short(n_fp),
                 "change": _data_change(saved.data, now.data),
                 "changed": s_fp is not None and n_fp is not None and s_fp != n_fp})  # fmt: skip
    for name in dict.fromkeys([*saved.versions, *now.versions]):
        a, b = saved.versions.get(name), now.versions.get(name)
        rows.append({"kind": "code", "item": name, "saved": a or "not recorded",
                     "now": b or "not recorded", "change": "same" if a == b else "changed",
                     "changed": a != b})  # fmt: skip
    for name in dict.fromkeys([*saved.key_figures, *now.key_figures]):
        a, b = saved.key_figures.get(name), now.key_figures.get(name)
        delta = None if a is None or b is None else b - a
        moved = delta is None or abs(delta) > 1e-12 * max(1.0, abs(a))
        rows.append({"kind": "key figure", "item": name, "saved": a, "now": b,
                     "change": delta, "changed": bool(moved)})  # fmt: skip
    return pd.DataFrame(rows, columns=["kind", "item", "saved", "now", "change", "changed"])


def _short(fingerprint: str | None) -> str:
    return "not recorded" if fingerprint is None else fingerprint.removeprefix("sha256:")[:12]


def summary(table: pd.DataFrame) -> str:
    """One sentence for the user from a :func:`compare` table.

    Returns
    -------
    str
        E.g. ``"Same data and code; the key figures are unchanged."`` or ``"The data changed
        (+20 rows); code changed: numpy; key figures moved: volatility."``.
    """
    data = table[table["kind"] == "data"].iloc[0]
    code = table[(table["kind"] == "code") & table["changed"]]["item"].tolist()
    moved = table[(table["kind"] == "key figure") & table["changed"]]["item"].tolist()
    parts = []
    if data["change"] == "not recorded":
        parts.append("no data fingerprint was recorded")
    elif data["changed"]:
        parts.append(f"the data {data['change']}")
    else:
        parts.append("same data")
    parts.append(f"code changed: {', '.join(code)}" if code else "same code")
    parts.append(f"key figures moved: {', '.join(moved)}" if moved
                 else "the key figures are unchanged")  # fmt: skip
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]
