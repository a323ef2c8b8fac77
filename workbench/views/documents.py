"""Midtraining documents as the review shows them: the four stages side by side, the queue's rows, the choices.

    item = focus_item(project, "documents", doc_id)
    for pane in document_panes(item):      # Brainstorm, Draft, Critique, Final text
        show(pane.label, pane.text)        # plain text: never render it as Markdown or HTML

The brainstorm and the critique are structured outputs; they are laid out one field per line
(lists as "- " items) in the schema's order, under readable labels, so a reviewer reads the plan
(what / how / why / how the why enters the text) beside the draft, the critique and the rewrite.
The app's field-by-field layout and the draft → rewrite diff are in workbench/views/doc_view.py.

What notebooks/03_midtraining_docs.py shows around them comes from here too, so its cells only
wire widgets: `type_options` and `DocsChoice` (what to write), `queue_choices` (the review filters),
`document_rows` (the queue table), `document_heading` and `history_rows` (the document read),
`DECISIONS` and `record_decision` (what a reviewer may do) and `decision_line` / `acceptance_line`
(what was recorded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workbench.project import Project
from workbench.review import ReviewBatch, review
from workbench.views.focus import FocusItem, Output
from workbench.views.queue import SCORES, QueueOptions, QueueRow

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
# A reviewer's decisions on one document: label -> the action `review` records.
DECISIONS = {
    "accept": "accept",
    "reject": "reject",
    "edit": "edit",
    "note": "note",
    "send back for regeneration": "regenerate",
}
EVERY_TRAIT = "every trait"  # the trait filter's label for no filter


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


def labelled_order(parsed: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """A structured output's keys as a reader takes them: those in `labels` first, in its order, then the rest."""
    return [k for k in labels if k in parsed] + [k for k in parsed if k not in labels]


def structured_text(parsed: dict[str, Any], labels: dict[str, str]) -> str:
    """A structured output as plain text: one `Label: value` line per field (lists as `- ` items).

    Fields in `labels` come first, in its order, then any others under their own names.
    """
    lines: list[str] = []
    for key in labelled_order(parsed, labels):
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


@dataclass(frozen=True)
class DocsChoice:
    """The documents a run is to write, as the form chose them (`run_docs(project, traits_ref, ...)`).

    Attributes:
        traits_ref: The traits version, e.g. "test@1".
        chunk_keys: The traits' chunk ids.
        types: The document types.
    """

    traits_ref: str
    chunk_keys: list[str]
    types: list[str]

    def slots(self, per_type: int) -> int:
        """Document slots a run of `per_type` documents per trait and type fills (filled ones are kept)."""
        return len(self.chunk_keys) * len(self.types) * per_type


@dataclass(frozen=True)
class QueueChoices:
    """What the review's filters offer, labelled for people.

    Attributes:
        statuses: "status (rows)" label -> status.
        awaiting: The status labels chosen at first: the documents awaiting review.
        traits: Trait title -> chunk id, after `EVERY_TRAIT` -> "" (no filter).
    """

    statuses: dict[str, str]
    awaiting: list[str]
    traits: dict[str, str]


def type_options(types: Mapping[str, int]) -> dict[str, str]:
    """The project's document types (`[docs] types`: name -> words) as "name (~N words)" label -> name."""
    return {f"{name} (~{words} words)": name for name, words in types.items()}


def queue_choices(options: QueueOptions) -> QueueChoices:
    """The review filters' options from what the store holds (`queue_options(project, "documents")`)."""
    statuses = {f"{status} ({count})": status for status, count in options.statuses.items()}
    return QueueChoices(
        statuses=statuses,
        awaiting=[label for label, status in statuses.items() if status == "needs_review"],
        traits={EVERY_TRAIT: "", **{title: chunk_id for chunk_id, title in options.chunks}},
    )


def document_rows(rows: Sequence[QueueRow]) -> list[dict[str, Any]]:
    """The queue's documents as table rows: id, trait, status, origin, the autorater's scores, a preview."""
    return [
        {"id": r.id, "trait": r.trait, "status": r.status, "origin": r.origin,
         **{s: (r.scores or {}).get(s) for s in SCORES}, "document": r.preview}
        for r in rows
    ]  # fmt: skip


def document_heading(item: FocusItem) -> str:
    """Which document is shown, as plain text: its id, trait, status and origin, and why it has that status."""
    reason = f"\nReason: {item.reason}" if item.reason else ""
    return f"Document {item.id}\n{item.trait} · {item.status} · {item.origin}{reason}"


def history_rows(item: FocusItem) -> list[dict[str, Any]]:
    """The document's review events as table rows, oldest first."""
    return [asdict(event) for event in item.events]


def record_decision(project: Project, item_id: str, *, action: str, reviewer: str, note: str, edited_text: str) -> str:
    """Record a reviewer's decision on a document as the form gives it; returns the id of the row now current.

    An empty note is no note, and the edited text counts only for an edit (the form always holds one).

    Raises:
        WorkbenchError: what `workbench.review.review` raises (e.g. sending back without a note).
    """
    edits = {"text": edited_text} if action == "edit" else None
    return review(project.store, "documents", item_id, action, reviewer=reviewer, note=note or None, edits=edits)


def decision_line(action: str, decided: str | None) -> str:
    """What the decision button did (Markdown): the row now current, or what pressing it would do."""
    if decided is None:
        return "Press **Record decision** to apply it to this document."
    return f"Recorded **{action}**; the current row is `{decided}`."


def acceptance_line(accepted: ReviewBatch | None) -> str:
    """What "Accept all shown" did (Markdown): how many and how to undo it, or what pressing it would do."""
    if accepted is None:
        return "Press **Accept all shown** to accept every document listed."
    return f"Accepted **{len(accepted.current_ids)}** document(s); undo with `workbench undo {accepted.batch_id}`."
