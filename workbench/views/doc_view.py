"""A document's stages as the Documents page reads them: labelled plan and critique, the draft against the rewrite.

    item = focus_item(project, "documents", doc_id)
    for field in labelled_fields(brainstorm.parsed, BRAINSTORM_LABELS):   # What, How, Why, ...
        show(field.label, field.text)                                     # plain text, never Markdown
    st.markdown(diff_markdown(word_diff(draft_text, final_text)))         # literal text, changes marked

Everything here is plain data (no Streamlit), so it is tested without the app. Generated text only
reaches Markdown through `diff_markdown`, which escapes every piece with `markdown_literal`: a `<b>`
or `**x**` written by a model shows as those characters.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workbench.views.documents import labelled_order
from workbench.views.literal import markdown_literal

# Words and the whitespace between them are separate tokens, so the diff keeps the text's spacing
# and line breaks exactly and marks whole words rather than characters.
_TOKENS = re.compile(r"\s+|\S+")

Change = Literal["same", "inserted", "deleted"]


@dataclass(frozen=True)
class LabelledField:
    """One field of a structured output, ready to show as plain text.

    Attributes:
        label: The field's readable label, or its own name when the schema's labels do not know it.
        text: The value: lists as one `- item` line each, `(none)` for an empty list.
    """

    label: str
    text: str


@dataclass(frozen=True)
class DiffPiece:
    """A run of the text that the draft and the rewrite share, or that one of them alone has.

    Attributes:
        change: "same" (in both), "deleted" (draft only) or "inserted" (rewrite only).
        text: The run, whitespace included.
    """

    change: Change
    text: str


def labelled_fields(parsed: Mapping[str, Any], labels: Mapping[str, str]) -> list[LabelledField]:
    """A structured output's fields under readable labels: those in `labels` first, in its order, then the rest."""
    return [LabelledField(labels.get(key, key), _value_text(parsed[key])) for key in labelled_order(parsed, labels)]


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(f"- {item}" for item in value) if value else "(none)"
    return str(value)


def word_diff(draft: str, rewrite: str) -> list[DiffPiece]:
    """The rewrite against the draft, word by word: shared runs, then what was deleted and inserted in each gap."""
    old, new = _TOKENS.findall(draft), _TOKENS.findall(rewrite)
    pieces: list[DiffPiece] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)  # autojunk would drop common words
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(DiffPiece("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(DiffPiece("deleted", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(DiffPiece("inserted", "".join(new[j1:j2])))
    return pieces


def diff_summary(pieces: Iterable[DiffPiece]) -> str:
    """How much changed, as plain text: words kept, deleted and inserted."""
    counts = {"same": 0, "deleted": 0, "inserted": 0}
    for piece in pieces:
        counts[piece.change] += len(piece.text.split())
    return f"{counts['same']} words kept · {counts['deleted']} deleted · {counts['inserted']} inserted"


def diff_markdown(pieces: Iterable[DiffPiece]) -> str:
    """The diff as Markdown that shows every piece literally: deletions struck on red, insertions on green."""
    out, line_start = [], True
    for piece in pieces:
        if piece.change == "same":
            out.append(markdown_literal(piece.text, line_start=line_start))
        else:
            # A directive cannot span lines, so a change is marked line by line.
            lines = piece.text.split("\n")
            out.append("  \n".join(
                _marked(line, piece.change, line_start=line_start or i > 0) for i, line in enumerate(lines)
            ))  # fmt: skip
        line_start = piece.text.endswith("\n")
    return "".join(out)


def _marked(line: str, change: Change, *, line_start: bool) -> str:
    """One line of a change, marked; its edge spaces stay outside the marks (strikethrough needs none inside)."""
    body = line.strip()
    lead, trail = line[: len(line) - len(line.lstrip())], line[len(line.rstrip()) :]
    if not body:
        return markdown_literal(line, line_start=line_start)
    literal = markdown_literal(body, line_start=line_start and not lead)
    mark = f":red-background[~~{literal}~~]" if change == "deleted" else f":green-background[{literal}]"
    return markdown_literal(lead, line_start=line_start) + mark + markdown_literal(trail, line_start=False)
