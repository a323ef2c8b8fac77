"""The demo data set: hand-written example rows (data/demo/*.yaml) that make the app's pages show something.

    summary = load_demo(project)      # idempotent; the app calls it when it creates the default project
    has_demo(project.store)           # while true, every page warns that the project holds demo data
    removed = remove_demo(project)    # every demo row, and nothing else

`models` validates the files against pydantic models (the pipelines' own output schemas inside
them) before anything is written, so a malformed file names itself and its field and changes
nothing. `load` writes the rows as the pipelines would, with the same deterministic ids and links,
run id `demo` and model `demo:hand-written`; `remove` finds and deletes them.
"""

from workbench.demo.load import DemoSummary, load_demo
from workbench.demo.models import DEMO_DIR, HAND_WRITTEN, TRAITS_FILE, DemoData, read_demo
from workbench.demo.remove import demo_counts, has_demo, remove_demo

__all__ = [
    "DEMO_DIR",
    "HAND_WRITTEN",
    "TRAITS_FILE",
    "DemoData",
    "DemoSummary",
    "demo_counts",
    "has_demo",
    "load_demo",
    "read_demo",
    "remove_demo",
]
