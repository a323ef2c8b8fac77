"""Trait Workbench: instil positive traits in language models by synthetic document finetuning.

The library holds all logic; the CLI (`workbench ...`), the Streamlit app (`app.py`) and the
marimo notebooks are thin layers over it. Start with `workbench.project.load_project()`.
"""

__version__ = "0.1.0"
