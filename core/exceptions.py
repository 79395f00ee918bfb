"""Ballast's exceptions.

Every error that ``core`` raises on purpose is a subclass of :class:`BallastError`, itself a
``ValueError`` so that callers who only know the standard library still catch it. Messages are
written for the user of the dashboard: they say what is wrong and what to do about it, and the
pages show them verbatim with ``st.error``.
"""

from __future__ import annotations

__all__ = [
    "BallastError",
    "DataError",
    "DataSourceUnavailableError",
    "UnknownTickerError",
    "EstimationError",
    "InfeasibleConstraintsError",
    "OptimizationError",
    "ViewError",
    "RiskInputError",
    "BacktestError",
    "ExecutionError",
    "SetupError",
    "AccessDeniedError",
    "ReadOnlySetupError",
]


class BallastError(ValueError):
    """Base class of every error Ballast raises with a message meant for the user.

    Pages catch this class, show ``str(error)`` with ``st.error`` and keep the session state.
    """


class DataError(BallastError):
    """Market data that cannot be used as it is (malformed file, bad prices, too few rows)."""


class DataSourceUnavailableError(DataError):
    """A data source could not be reached (no network, Yahoo down) and nothing was cached."""


class UnknownTickerError(DataError):
    """One or more tickers are unknown to the data source.

    Parameters
    ----------
    message : str
        The message shown to the user.
    tickers : list of str
        The tickers that could not be found.
    """

    def __init__(self, message: str, tickers: list[str] | None = None) -> None:
        super().__init__(message)
        self.tickers = list(tickers or [])


class EstimationError(BallastError):
    """Expected returns or covariance cannot be estimated from the data given."""


class InfeasibleConstraintsError(BallastError):
    """The objective and constraints admit no portfolio; the message names the conflict."""


class OptimizationError(BallastError):
    """The optimiser failed for a reason other than infeasibility (unbounded, numerical)."""


class ViewError(BallastError):
    """A Black-Litterman view is malformed (unknown ticker, dependent views, bad confidence)."""


class RiskInputError(BallastError):
    """Inputs to a risk measure are out of range (confidence, horizon, too few observations)."""


class BacktestError(BallastError):
    """A backtest or benchmark comparison cannot be run on the inputs given."""


class ExecutionError(BallastError):
    """Orders, trades or stop levels cannot be computed (no prices, bad holdings, no capital)."""


class SetupError(BallastError):
    """A saved setup cannot be stored, read or applied (corrupt file, newer schema, bad keys)."""


class AccessDeniedError(SetupError):
    """A saved setup the user may not open or change.

    Raised by :class:`core.store.SetupStore` for a setup that does not exist or is neither the
    user's nor shared with them (one message for both, so that nobody learns what others saved)
    and, through :class:`ReadOnlySetupError`, for a write to a setup shared read-only.
    """


class ReadOnlySetupError(AccessDeniedError):
    """A write (overwrite, rename, share, delete) to a setup shared with the user read-only."""
