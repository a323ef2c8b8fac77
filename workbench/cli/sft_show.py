"""`workbench sft show ID`: one scenario or example with its fields, lineage and review events.

Used by `workbench/cli/sft_review.py`. Everything printed here is plain text (`rich.text.Text`):
model output and reviewers' notes are never read as console markup, and their control characters
are shown escaped (`workbench.textsafe.printable`), never sent to the terminal.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import duckdb
from rich.text import Text

from workbench.cli.common import console
from workbench.project import Project
from workbench.textsafe import plain, printable

Row = dict[str, Any]
MAX_CHAIN = 100  # parent links followed; far more than any real lineage, a guard against a cycle


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[Row]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Row | None:
    rows = _rows(con, sql, params)
    return rows[0] if rows else None


def _line(text: str, style: str = "") -> None:
    """One line (or block) of output that may hold stored text: escaped, never read as markup."""
    console.print(plain(text, style))


def _heading(title: str) -> None:
    _line(f"\n{title}", style="bold")


def _field(label: str, value: Any, indent: int = 2) -> None:
    """`label: value` on one line, or the label then the value indented when it is long; skips empty values."""
    if value is None or value == "":
        return
    # Labels may be keys of a model's JSON answer: stored text like the values.
    label, text, pad = printable(label), printable(str(value)), " " * indent
    if "\n" in text or len(text) > 100:
        console.print(Text(f"{pad}{label}:", style="bold"))
        console.print(Text(textwrap.indent(text, pad + "  ")))
    else:
        console.print(Text.assemble((f"{pad}{label}: ", "bold"), text))


def _parsed(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _generation(g: Row, label: str | None = None) -> None:
    """A stored model output: which step and model, how it ended, and what it said."""
    reason = f" ({g['reason']})" if g["reason"] else ""
    _line(f"  {label or g['step']} · {g['model']} · {g['status']}{reason} · {g['id']}")
    parsed = _parsed(g["parsed"])
    if g["step"] == "scenario":
        return  # the draft is the scenario's own text, shown above
    if isinstance(parsed, dict):
        for key, value in parsed.items():
            _field(key, value, indent=4)
    else:
        _field("text", g["text"], indent=4)
    _field("reviewer's note in the prompt", g["note"], indent=4)


def _chain(con: duckdb.DuckDBPyConnection, table: str, parent_id: str | None) -> None:
    """The versions this row descends from (edits, revisions, regenerations), nearest first."""
    seen = 0
    while parent_id and seen < MAX_CHAIN:
        parent = _one(con, f"SELECT id, origin, status, parent_id FROM {table} WHERE id = ?", [parent_id])
        if parent is None:
            _line(f"  {parent_id} (missing)")
            return
        _line(f"  ← {parent['id']} ({parent['origin']}, {parent['status']})")
        parent_id, seen = parent["parent_id"], seen + 1


def _lineage_and_events(con: duckdb.DuckDBPyConnection, table: str, row: Row) -> None:
    if row["parent_id"]:
        _heading("Derived from")
        _chain(con, table, row["parent_id"])
    children = _rows(
        con, f"SELECT id, origin, status FROM {table} WHERE parent_id = ? ORDER BY created_at", [row["id"]]
    )
    if children:
        _heading("Replaced by")
        for child in children:
            _line(f"  → {child['id']} ({child['origin']}, {child['status']})")
    events = _rows(
        con,
        "SELECT created_at, reviewer, action, note, payload FROM review_events WHERE item_table = ? AND item_id = ?"
        " ORDER BY created_at",
        [table, row["id"]],
    )
    _heading(f"Review events ({len(events)})")
    for e in events:
        note = f": {e['note']}" if e["note"] else ""
        new_id = (_parsed(e["payload"]) or {}).get("new_id")
        _line(f"  {e['created_at']:%Y-%m-%d %H:%M} {e['reviewer']} {e['action']}{note}")
        if new_id:
            _line(f"    new version {new_id}")


_GENERATION = (
    "SELECT id, step, model, status, reason, text, parsed, note, system_prompt, subject_id FROM sft_generations"
)


def _print_scenario(con: duckdb.DuckDBPyConnection, s: Row) -> None:
    _line(f"Scenario {s['id']}", style="bold")
    for label in ("status", "reason", "trait", "traits_version", "origin"):
        _field(label, s[label])
    _field("slot / attempt / round", f"{s['slot']} / {s['attempt']} / {s['round']}")
    _field("situation", _situation(s["situation"]))
    _field("framing", s["framing"])
    _field("axes", ", ".join(f"{k}: {v}" for k, v in (_parsed(s["axes"]) or {}).items()))
    _field("reviewer's note", s["note"])
    _field("run", s["run_id"])
    _field("scenario", s["scenario"])
    _field("user prompt", s["user_prompt"])
    generations = _rows(con, f"{_GENERATION} WHERE subject_id = ? ORDER BY created_at, step", [s["id"]])
    _heading(f"Generations about it ({len(generations)})")
    for g in generations:
        _generation(g)
    examples = _rows(
        con, "SELECT id, origin, status FROM sft_examples WHERE scenario_id = ? ORDER BY created_at", [s["id"]]
    )
    if examples:
        _heading("Examples from it")
        for e in examples:
            _line(f"  {e['id']} ({e['origin']}, {e['status']})")
    _lineage_and_events(con, "sft_scenarios", s)


def _situation(situation: str | None) -> str:
    """A scenario's situation with what it means for the answer (rows from before migration 012 are trait_on)."""
    meaning = {"trait_on": "the trait directs the answer", "exception": "an exception the guidance makes",
               "ordinary": "an ordinary request: the trait shows barely or not at all"}  # fmt: skip
    situation = situation or "trait_on"
    return f"{situation} ({meaning.get(situation, 'unknown')})"


def _scores(scores: Any) -> str | None:
    parsed = _parsed(scores)
    if not isinstance(parsed, dict):
        return None
    numbers = " · ".join(f"{k} {v}" for k, v in parsed.items() if isinstance(v, int | float))
    return f"{numbers}\n{parsed['reasons']}" if parsed.get("reasons") else numbers


def _print_answers(con: duckdb.DuckDBPyConnection, e: Row) -> None:
    """The refined answer the example took, the conditioned answer (and system prompt) it refined, the rejected one."""
    refined = _one(con, f"{_GENERATION} WHERE id = ?", [e["response_generation_id"]])
    if refined is not None:
        conditioned = _one(con, f"{_GENERATION} WHERE id = ?", [refined["subject_id"]])
        if conditioned is not None:
            _heading("Conditioned answer")
            _generation(conditioned, "conditioned")
            _field("system prompt used (stored only, never exported)", conditioned["system_prompt"], indent=4)
        _heading("Refined answer")
        _generation(refined, "refined")
    if e["rejected_generation_id"]:
        _heading("Rejected answer")
        rejected = _one(con, f"{_GENERATION} WHERE id = ?", [e["rejected_generation_id"]])
        if rejected is not None:
            _generation(rejected, "rejected")
        check = _one(
            con, f"{_GENERATION} WHERE subject_id = ? AND step = 'rejected_check'", [e["rejected_generation_id"]]
        )
        if check is not None:
            _generation(check, "rejected check")


def _print_example(con: duckdb.DuckDBPyConnection, e: Row) -> None:
    _line(f"Example {e['id']}", style="bold")
    for label in ("status", "reason", "trait", "traits_version", "origin"):
        _field(label, e[label])
    if e["duplicate_of"]:
        _field("duplicate of", f"{e['duplicate_of']} (cosine {e['similarity']:.3f})")
    _field("reviewer's note", e["note"])
    _field("run", e["run_id"])
    _field("user prompt", e["user_prompt"])
    _field("response", e["response"])
    _field("rejected", e["rejected"])
    _field("scores", _scores(e["scores"]))
    scenario = _one(con, "SELECT id, status, scenario, situation FROM sft_scenarios WHERE id = ?", [e["scenario_id"]])
    _heading("Scenario")
    if scenario is None:
        _line(f"  {e['scenario_id']} (missing)")
    else:
        _line(f"  {scenario['id']} ({scenario['status']})")
        _field("situation", _situation(scenario["situation"]), indent=4)
        _field("scenario", scenario["scenario"], indent=4)
    _print_answers(con, e)
    _lineage_and_events(con, "sft_examples", e)


def print_item(proj: Project, table: str, item_id: str) -> None:
    """Print the row `item_id` of `table` (sft_scenarios or sft_examples) with its lineage."""
    with proj.store.connect() as con:
        row = _one(
            con, f"SELECT t.*, c.title AS trait FROM {table} t LEFT JOIN chunks c ON c.id = t.chunk_id WHERE t.id = ?",
            [item_id],
        )  # fmt: skip
        if row is None:
            return
        (_print_scenario if table == "sft_scenarios" else _print_example)(con, row)
