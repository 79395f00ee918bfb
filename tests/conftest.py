"""Shared fixtures: the real bundled data, loaded once per test session."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Every app run keeps its working session (ui.persistence): not in the user's own data folder.
os.environ.setdefault("BALLAST_DATA_DIR", tempfile.mkdtemp(prefix="ballast-tests-"))
# ...and saved setups in that folder's SQLite file, never in a database the machine is set up
# with (tests that need PostgreSQL start their own, tests/postgres.py).
os.environ.pop("BALLAST_DATABASE_URL", None)


@pytest.fixture(scope="session")
def sample():
    """The bundled S&P 500 sample (``core.market_data.load_sample``)."""
    from core.market_data import load_sample

    return load_sample()


@pytest.fixture(scope="session")
def sample_window(sample):
    """The sample's last five years, 2018-01-01 to 2022-12-28."""
    return sample.subset(start="2018-01-01")


@pytest.fixture(scope="session")
def sample_estimates(sample_window):
    """Annualised mean historical returns and Ledoit-Wolf covariance on the five-year window."""
    from core.estimators import covariance, expected_returns

    return expected_returns(sample_window.prices), covariance(sample_window.prices)
