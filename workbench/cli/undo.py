"""`workbench undo BATCH`: undo one review decision (the id every review command prints), as the app's Undo does.

workbench sft review reject examples --all-with-status needs_review -y   # prints "Undo it with …"
workbench undo 5c1e9a…
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.cli.sft_review import ReviewerOption
from workbench.review import default_reviewer
from workbench.review_undo import undo_batch


def undo(
    batch_id: Annotated[str, typer.Argument(help="The decision to undo, as a review command printed it.")],
    reviewer: ReviewerOption = None,
    project: ProjectOption = None,
) -> None:
    """Put every row of one review decision back to its earlier status (the history keeps both)."""
    proj = open_project(project)
    result = undo_batch(proj.store, batch_id.strip(), reviewer=reviewer or default_reviewer())
    console.print(Text(f"Undone: {result.restored} row(s) back to their earlier status."))
    for item_id, why in sorted(result.skipped.items()):
        console.print(Text(f"  left as it is: {item_id} ({why})"))
