"""Write tests/core/data/setups_v1.sqlite3 with the SQLite store of Ballast before 2026-12.

Run once, on the code of that time (``git show a494c18:core/setups.py``), to produce the
old-format file the migration tests read: ``python tests/core/make_legacy_setups.py``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.setups import SetupStore  # noqa: E402  (the store of that time)
from ui.state import DEFAULTS  # noqa: E402

CSV = "Date,AAA,BBB\n2020-01-02,10,20\n2020-01-03,10.5,19.5\n2020-01-06,10.2,19.9\n"

SETUPS = {
    "Default": {},
    "Max Sharpe, capped at 30 %": {"max_weight": 0.3, "cov_method": "oas",
                                   "start": dt.date(2019, 1, 2)},
    "Min vol ünïcode ✓": {"objective_kind": "min_volatility", "universe": ["AAPL", "MSFT", "KO"],
                          "asset_bounds": {"AAPL": (0.1, 0.5)}},
    "Uploaded prices": {"data_source": {"kind": "upload", "filename": "p.csv", "csv": CSV},
                        "universe": ["AAA", "BBB"]},
}

if __name__ == "__main__":
    out = ROOT / "tests" / "core" / "data" / "setups_v1.sqlite3"
    out.unlink(missing_ok=True)
    store = SetupStore(out)
    for name, changes in SETUPS.items():
        store.save(name, {**DEFAULTS, **changes}, DEFAULTS)
    print(out, store.names())
