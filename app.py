"""Trait Workbench app: browse, review by hand, and demo results.

    streamlit run app.py                      # the default project under data/
    workbench app --project DIR               # another project

Pages live in workbench/app/; they read and write through the library only, open the store per
rerun (one connection per rerun, none held between reruns, so a CLI run or a notebook can write
meanwhile) and show generated text as text. A store another process keeps locked shows as a message
naming that process, with a Retry button (`workbench.app.session.busy_store_shown`).
"""

import streamlit as st

from workbench.app.session import busy_store_shown, page_session
from workbench.app.theme import apply_theme

st.set_page_config(page_title="Trait Workbench", layout="wide")
apply_theme()
PAGES = [
    ("overview", "Overview"),
    ("traits", "Traits"),
    ("review", "Review"),
    ("documents", "Documents"),
    ("patterns", "Patterns"),
    ("datasets", "Datasets"),
    ("training", "Training"),
    ("evals", "Evals"),
    ("run", "Run"),
    ("costs", "Costs"),
]
navigation = st.navigation(
    [st.Page(f"workbench/app/{name}.py", title=title, default=name == "overview") for name, title in PAGES]
)
with busy_store_shown(), page_session():
    navigation.run()
