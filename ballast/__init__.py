"""Ballast's command line (``python -m ballast``); the dashboard is ``streamlit run app.py``."""
