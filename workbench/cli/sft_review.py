"""`workbench sft list | show | review …`: browse SFT scenarios and examples, and review them.

    workbench sft list scenarios --status needs_review -p DIR
    workbench sft show 3f2a9c… -p DIR                      # fields, lineage and review events
    workbench sft review accept scenarios --all-with-status needs_review --yes -p DIR   # -y: do not ask
    workbench sft review regenerate example 3f2a9c… --note "less hedging" -p DIR
    workbench sft review edit example 3f2a9c… --set response=@better.txt -p DIR

Generated text is model output: it reaches the terminal only as `rich.text.Text`, so a prompt
containing "[red]" prints as written instead of being read as console markup. Ids may be given
as unique prefixes (at least 4 characters).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.cli.sft_show import print_item
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import ACTIONS, REVIEWABLE, default_reviewer, review, review_many
from workbench.store.traits import get_version
from workbench.textsafe import printable

review_app = typer.Typer(no_args_is_help=True)

# What a user types for KIND -> the table it names.
KINDS = {
    "scenario": "sft_scenarios",
    "scenarios": "sft_scenarios",
    "example": "sft_examples",
    "examples": "sft_examples",
}
NOUNS = {"sft_scenarios": "scenario", "sft_examples": "example", "documents": "document"}
LISTS = {"sft_scenarios": "sft list scenarios", "sft_examples": "sft list examples", "documents": "docs list"}
RUNS = {"sft_scenarios": "sft run", "sft_examples": "sft run", "documents": "docs run"}
MIN_PREFIX = 4
PAST = {"accept": "Accepted", "reject": "Rejected", "note": "Noted", "regenerate": "Sent back"}
LISTED_IDS = 20  # ids printed after a review; a bulk review of hundreds only prints the count beyond this

KindArg = Annotated[str, typer.Argument(help="scenarios or examples (singular works too).", show_default=False)]
NoteOption = Annotated[str | None, typer.Option("--note", help="What you think; required for note and regenerate.")]
ReviewerOption = Annotated[
    str | None, typer.Option("--reviewer", help="Your name (default: $WORKBENCH_REVIEWER, else the login name).")
]


def clip(text: str | None, width: int) -> str:
    """`text` on one line, control characters escaped, cut to `width` characters with an ellipsis."""
    flat = printable(" ".join((text or "").split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table_for(kind: str) -> str:
    """The table a KIND argument names.

    Raises:
        WorkbenchError: not a known kind.
    """
    try:
        return KINDS[kind.strip().lower()]
    except KeyError:
        raise WorkbenchError(f"Unknown kind {kind!r}.", hint="Use scenarios or examples.") from None


def resolve_id(proj: Project, table: str, ref: str) -> str:
    """The full id of the row `ref` names in `table` (an exact id or a unique prefix).

    Raises:
        WorkbenchError: no row, or a prefix that is too short or matches several.
    """
    ref = ref.strip().lower()
    with proj.store.connect() as con:
        if con.execute(f"SELECT 1 FROM {table} WHERE id = ?", [ref]).fetchone():
            return ref
        found = con.execute(f"SELECT id FROM {table} WHERE starts_with(id, ?) LIMIT 2", [ref]).fetchall()
    noun = NOUNS[table]
    if len(ref) < MIN_PREFIX or not found:
        raise WorkbenchError(f"No {noun} {ref!r}.", hint=f"See `workbench {LISTS[table]}`.")
    if len(found) > 1:
        raise WorkbenchError(f"{noun.capitalize()} id prefix {ref!r} is ambiguous.", hint="Give more characters.")
    return str(found[0][0])


def _list_rows(
    proj: Project, table: str, status: str | None, traits: str | None, limit: int
) -> tuple[list[tuple], int]:
    where, params = [], []
    if status:
        where.append("t.status = ?")
        params.append(status)
    if traits:
        where.append("t.traits_version = ?")
        params.append(get_version(proj.store, traits).id)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    placement = "t.slot, t.round, t.attempt" if table == "sft_scenarios" else "t.origin"
    with proj.store.connect() as con:
        total = con.execute(f"SELECT count(*) FROM {table} t{clause}", params).fetchone()[0]  # type: ignore[index]
        rows = con.execute(
            f"SELECT t.id, c.title, {placement}, t.status, t.reason, t.user_prompt FROM {table} t"
            f" LEFT JOIN chunks c ON c.id = t.chunk_id{clause} ORDER BY t.created_at, t.chunk_id, t.id LIMIT ?",
            [*params, limit],
        ).fetchall()
    return rows, int(total)


def _placement(table: str, values: tuple) -> str:
    if table == "sft_examples":
        return str(values[0])
    slot, round_, attempt = values
    return f"{slot}/{round_}" + (f" (try {attempt + 1})" if attempt else "")


def list_(
    kind: KindArg,
    status: Annotated[str | None, typer.Option("--status", help="Only rows with this status.")] = None,
    traits: Annotated[str | None, typer.Option("--traits", help="Only this traits version.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
    project: ProjectOption = None,
) -> None:
    """List scenarios or examples: id, trait, slot/round or origin, status, reason, user prompt."""
    proj = open_project(project)
    table = table_for(kind)
    rows, total = _list_rows(proj, table, status, traits, limit)
    noun = NOUNS[table]
    if not rows:
        console.print(Text(f"No {noun}s" + (f" with status {status}." if status else " yet.")))
        return
    out = Table(
        "id", "trait", "slot/round" if table == "sft_scenarios" else "origin", "status", "reason", "user prompt"
    )
    out.columns[0].no_wrap = True  # ids are copied into other commands: keep them whole
    for item_id, title, *rest in rows:
        placement, (row_status, reason, prompt) = rest[:-3], rest[-3:]
        out.add_row(
            Text(item_id),
            Text(clip(title, 30)),
            Text(_placement(table, tuple(placement))),
            Text(row_status),
            Text(clip(reason, 50)),
            Text(clip(prompt, 70)),
        )
    console.print(out)
    if total > len(rows):
        console.print(Text(f"Showing {len(rows)} of {total} {noun}s; use --limit or --status to see others."))


def show(
    item_id: Annotated[str, typer.Argument(help="A scenario or example id (or a unique prefix).", show_default=False)],
    project: ProjectOption = None,
) -> None:
    """Show a scenario or an example: its fields, lineage and review events."""
    proj = open_project(project)
    found = []
    for table in ("sft_scenarios", "sft_examples"):
        try:
            found.append((table, resolve_id(proj, table, item_id)))
        except WorkbenchError:
            continue
    if not found:
        raise WorkbenchError(f"No scenario or example {item_id!r}.", hint="See `workbench sft list scenarios`.")
    if len(found) > 1:
        raise WorkbenchError(f"{item_id!r} matches a scenario and an example.", hint="Give more characters.")
    print_item(proj, *found[0])


def _bulk_ids(proj: Project, table: str, status: str, action: str, yes: bool) -> list[str]:
    with proj.store.connect() as con:
        rows = con.execute(f"SELECT id FROM {table} WHERE status = ? ORDER BY created_at, id", [status]).fetchall()
    noun = NOUNS[table]
    console.print(Text(f"{len(rows)} {noun}(s) with status {status}."))
    if rows and not yes:
        typer.confirm(f"{action.capitalize()} all {len(rows)}?", abort=True)
    return [r[0] for r in rows]


def targets(proj: Project, table: str, ids: list[str], status: str | None, action: str, yes: bool) -> list[str]:
    """The full ids a review applies to: those named, or every row with `status`."""
    if ids and status:
        raise WorkbenchError("Name ids or use --all-with-status, not both.")
    if status:
        return _bulk_ids(proj, table, status, action, yes)
    if not ids:
        raise WorkbenchError(
            f"Nothing to {action}: name the ids, or use --all-with-status STATUS.",
            hint=f"See `workbench {LISTS[table]} --status needs_review`.",
        )
    return [resolve_id(proj, table, i) for i in ids]


def print_reviewed(proj: Project, table: str, action: str, ids: list[str], batch_id: str) -> None:
    with proj.store.connect() as con:
        counts = con.execute(
            f"SELECT status, count(*) FROM {table} WHERE id IN (SELECT unnest(?)) GROUP BY status ORDER BY status",
            [ids],
        ).fetchall()
    now = ", ".join(f"{status} {n}" for status, n in counts)
    console.print(Text(f"{PAST[action]} {len(ids)} {NOUNS[table]}(s); status now: {now}."))
    for item_id in ids[:LISTED_IDS]:
        console.print(Text(f"  {item_id}"))
    if len(ids) > LISTED_IDS:
        console.print(Text(f"  … and {len(ids) - LISTED_IDS} more"))
    if action == "regenerate":
        console.print(Text(f"The next `workbench {RUNS[table]}` writes their replacements, following the note."))
    console.print(Text(f"Undo it with `workbench undo {batch_id}`."))


def _action_command(action: str) -> Callable[..., None]:
    """The command for one review action that takes many ids (every action but edit)."""

    def command(
        kind: KindArg,
        ids: Annotated[list[str] | None, typer.Argument(help="Ids (or unique prefixes).", show_default=False)] = None,
        note: NoteOption = None,
        reviewer: ReviewerOption = None,
        all_with_status: Annotated[
            str | None, typer.Option("--all-with-status", help="Every row of this status (e.g. needs_review).")
        ] = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before a bulk review.")] = False,
        project: ProjectOption = None,
    ) -> None:
        proj = open_project(project)
        table = table_for(kind)
        if action in ("note", "regenerate") and not (note and note.strip()):
            # Checked before any confirmation: asking "Send back 300?" and then failing wastes the answer.
            raise WorkbenchError(f"'{action}' needs a note.", hint='Add --note "what should change".')
        chosen = targets(proj, table, list(ids or []), all_with_status, action, yes)
        if not chosen:
            return
        batch = review_many(proj.store, table, chosen, action, reviewer=reviewer or default_reviewer(), note=note)
        print_reviewed(proj, table, action, chosen, batch.batch_id)

    command.__name__ = command.__qualname__ = f"review_{action}"
    return command


ACTION_HELP = {
    "accept": "Accept: scenarios go on to answering, examples to the export.",
    "reject": "Reject: kept in the store, never used or exported.",
    "note": "Attach a note without changing the status.",
    "regenerate": "Send back with a note; the next run regenerates them following it.",
}
for _action in ACTIONS:
    if _action != "edit":
        review_app.command(name=_action, help=ACTION_HELP.get(_action))(_action_command(_action))


def parse_edits(items: list[str], editable: tuple[str, ...]) -> dict[str, str]:
    """`FIELD=VALUE` pairs; a VALUE starting with @ is read from that file (@@ for a literal @).

    Raises:
        WorkbenchError: a pair without `=`, or a file that cannot be read.
    """
    hint = f"Fields: {', '.join(editable)}; e.g. --set {editable[-1]}=@answer.txt"
    if not items:
        raise WorkbenchError("An edit needs at least one --set FIELD=VALUE.", hint=hint)
    edits: dict[str, str] = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise WorkbenchError(f"--set {item!r} is not FIELD=VALUE.", hint=hint)
        if value.startswith("@@"):
            value = value[1:]
        elif value.startswith("@"):
            try:
                value = Path(value[1:]).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise WorkbenchError(f"Cannot read {value[1:]} for --set {field}: {e}") from None
        edits[field.strip()] = value
    return edits


@review_app.command()
def edit(
    kind: KindArg,
    item_id: Annotated[str, typer.Argument(help="The id (or a unique prefix).", show_default=False)],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE to change; VALUE @FILE reads a file. Repeatable.")
    ] = None,
    note: NoteOption = None,
    reviewer: ReviewerOption = None,
    project: ProjectOption = None,
) -> None:
    """Edit one row: a new version (status ok) replaces it; the original is kept as superseded."""
    proj = open_project(project)
    table = table_for(kind)
    edits = parse_edits(list(set_ or []), REVIEWABLE[table].editable)
    original = resolve_id(proj, table, item_id)
    new_id = review(
        proj.store, table, original, "edit", reviewer=reviewer or default_reviewer(), note=note, edits=edits
    )
    noun = NOUNS[table]
    console.print(Text(f"Edited {noun} {original} ({', '.join(sorted(edits))}) → new {noun} {new_id} (status ok)."))
    console.print(Text(f"{original} is now superseded."))
