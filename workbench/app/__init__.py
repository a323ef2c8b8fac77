"""Streamlit pages (run through app.py). Each page is thin: it calls the library and shows text as text."""
