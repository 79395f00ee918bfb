"""Light tasks for the executor tests (module-level, so Dask workers import them quickly)."""

from __future__ import annotations

import time

import numpy as np

from core.exceptions import BallastError


def seeded_draw(seed: int, scale: np.ndarray) -> np.ndarray:
    """A seeded Monte Carlo chunk: identical wherever it runs for the same seed."""
    return np.random.default_rng(seed).standard_normal((1000, scale.size)) @ np.diag(scale)


def slow(item: int, delay: float) -> int:
    """``item`` after ``delay`` seconds."""
    time.sleep(delay)
    return item


def failing(item: int) -> int:
    """``item``, except for 2, which raises a BallastError."""
    if item == 2:
        raise BallastError("Item 2 is not allowed.")
    return item
