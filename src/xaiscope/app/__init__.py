"""The Streamlit app (page code in main.py and panels.py, logic in logic.py)."""
