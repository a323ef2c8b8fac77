"""Trait Workbench app: browse and review a project.

    streamlit run app.py                      # the default project under data/
    workbench app --project DIR               # another project

Pages live in workbench/app/; they read and write through the library only.
"""

import streamlit as st

st.set_page_config(page_title="Trait Workbench", layout="wide")
navigation = st.navigation(
    [
        st.Page("workbench/app/overview.py", title="Overview", default=True),
        st.Page("workbench/app/traits.py", title="Traits"),
    ]
)
navigation.run()
