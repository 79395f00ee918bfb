"""Alembic migrations of the saved-setups store (run by ``core.store`` when it opens)."""
