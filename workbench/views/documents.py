"""A midtraining document's four stages as plain text, for showing side by side.

    item = focus_item(project, "documents", doc_id)
    for pane in document_panes(item):      # Brainstorm, Draft, Critique, Final text
        show(pane.label, pane.text)        # plain text: never render it as Markdown or HTML

The brainstorm and the critique are structured outputs; they are laid out one field per line
(lists as "- " items) in the schema's order, under readable labels, so a reviewer reads the plan
(what / how / why / how the why enters the text) beside the draft, the critique and the rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.views.focus import FocusItem, Output

# DocBrainstorm's fields, in its order, as a reviewer reads them.
BRAINSTORM_LABELS = {
    "what": "What",
    "how": "How",
    "why": "Why",
    "why_enters_text": "How the why enters the text",
    "setting": "Setting",
    "people": "People",
    "tension": "Tension",
}
# DocCritique's fields, in its order.
CRITIQUE_LABELS = {
    "naturalness": "Naturalness (1-5)",
    "embodiment": "Embodiment (1-5)",
    "consistency": "Consistency (1-5)",
    "tropes": "Tropes",
    "problems": "Problems",
    "verdict": "Verdict",
    "reasons": "Reasons",
}


@dataclass(frozen=True)
class Pane:
    """One stage of a document as plain text.

    Attributes:
        label: Brainstorm, Draft, Critique or Final text.
        text: What the stage produced, laid out as plain text; a placeholder when there is none.
        generation_id: The `doc_generations` row shown, or None for the document's own (final) text.
        status: That generation's status (ok, refused, …), or the document's for the final text.
    """

    label: str
    text: str
    generation_id: str | None
    status: str


def structured_text(parsed: dict[str, Any], labels: dict[str, str]) -> str:
    """A structured output as plain text: one `Label: value` line per field (lists as `- ` items).

    Fields in `labels` come first, in its order, then any others under their own names.
    """
    keys = [k for k in labels if k in parsed] + [k for k in parsed if k not in labels]
    lines: list[str] = []
    for key in keys:
        label, value = labels.get(key, key), parsed[key]
        if isinstance(value, list):
            lines.append(f"{label}:" + ("" if value else " (none)"))
            lines += [f"- {item}" for item in value]
        else:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def _pane(label: str, output: Output | None, labels: dict[str, str] | None = None) -> Pane:
    if output is None:
        return Pane(label, "(not written yet)", None, "missing")
    if labels is not None and output.parsed is not None:
        text = structured_text(output.parsed, labels)
    elif output.text:
        text = output.text
    else:
        text = f"({output.status}: {output.reason or 'no text'})"
    return Pane(label, text, output.id, output.status)


def document_panes(item: FocusItem) -> list[Pane]:
    """Brainstorm, draft, critique and final text of a document (`focus_item(project, "documents", id)`).

    The final text is the document's own, which is the rewrite's unless a reviewer edited it.

    Raises:
        ValueError: `item` is not a document.
    """
    if item.table != "documents":
        raise ValueError(f"document_panes takes a document, not a row of {item.table}.")
    by_step = {output.step: output for output in item.answers}
    final = item.fields.get("text")
    return [
        _pane("Brainstorm", by_step.get("brainstorm"), BRAINSTORM_LABELS),
        _pane("Draft", by_step.get("draft")),
        _pane("Critique", item.critique, CRITIQUE_LABELS),
        Pane("Final text", final if final else f"({item.status}: {item.reason or 'no text'})", None, item.status),
    ]
