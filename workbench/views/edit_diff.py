"""What a person's edit changed: each edited field as a word diff against the version it replaced.

    for change in edit_changes(focus_item(project, "examples", edited_id)):
        st.markdown(diff_markdown(change.pieces))   # struck on red: removed; on green: written in

Only a row whose origin is `edited` has one; fields the edit left alone are not listed. The diff
is workbench.views.doc_view's `word_diff`, the same one the Documents page uses for draft → rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.views.doc_view import DiffPiece, word_diff
from workbench.views.focus import FocusItem


@dataclass(frozen=True)
class FieldChange:
    """One field an edit changed.

    Attributes:
        field: The column (response, user_prompt, ...).
        pieces: The edited text against the replaced version's, word by word.
    """

    field: str
    pieces: list[DiffPiece]


def edit_changes(item: FocusItem) -> list[FieldChange]:
    """The fields an edited row changed against the version it replaced (none for any other row)."""
    if item.origin != "edited" or item.replaced is None:
        return []
    before = item.replaced.fields
    return [FieldChange(name, word_diff(before.get(name) or "", now or ""))
            for name, now in item.fields.items() if (now or "") != (before.get(name) or "")]  # fmt: skip
