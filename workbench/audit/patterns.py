"""Patterns of an audit: those clustering found and those a person adds, with editable criteria.

    add_pattern(project, audit.id, "Bottom line up front", "Opens with the conclusion.",
                broad="States a conclusion in the first paragraph.", strict="The first sentence is the verdict.")
    edit_pattern(project, pattern.id, strict="...")        # then rate again: only the edited pattern is re-rated

A pattern's ratings are keyed by a hash of its name, description and criteria (and, for a
lexical pattern, its rule), so an edit makes the next rating run rate it afresh while the
ratings of earlier criteria stay in the store. Removing a pattern marks it `removed`; nothing is
deleted. A lexical pattern (`lexical.py`) is rated by its rule, so its criteria text cannot be
edited (its name and description can).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from workbench.audit.audits import get_audit
from workbench.audit.lexical_rules import FeatureRule, PhraseRule, rule_json
from workbench.audit.schemas import PatternKind
from workbench.errors import WorkbenchError
from workbench.generate.steps import stable_id
from workbench.project import Project

_COLUMNS = (
    "id, audit_id, name, description, kind, broad, strict, origin, scans, candidate_ids, status, created_at,"
    " updated_at, rule, score"
)
EDITABLE = ("name", "description", "kind", "broad", "strict")
RULE_DECIDES = ("kind", "broad", "strict")  # what a lexical pattern's rule fixes


class Pattern(BaseModel):
    """A pattern of an audit."""

    id: str = Field(description="Hash of the audit and its candidates (found) or its first name (manual).")
    audit_id: str = Field(description="The audit it belongs to.")
    name: str = Field(description="A short name.")
    description: str = Field(description="What recurs, and what it is not.")
    kind: str = Field(description="structural, rhetorical or behavioural.")
    broad: str = Field(description="The criterion for the pattern being loosely present.")
    strict: str = Field(description="The criterion for it being unambiguously present.")
    origin: str = Field(description="found (by the scans), lexical (counted by the lexical scanner) or manual.")
    scans: list[int] = Field(description="The scans that found it; empty for a manual pattern.")
    candidate_ids: list[str] = Field(description="The scan candidates it merges.")
    status: str = Field(
        description="active, removed (by a person) or not_found (a lexical pattern its latest discovery did not find)."
    )
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it was last edited.")
    rule: PhraseRule | FeatureRule | None = Field(
        None, discriminator="type", description="A lexical pattern's deterministic rule; None for an LLM pattern."
    )
    score: float | None = Field(
        None, description="A lexical pattern's discovery score (document frequency, or log-odds z against a reference)."
    )

    @property
    def found_by(self) -> str:
        """Where it came from, in a table cell: "3 scans", "lexical" or "manual"."""
        return {"found": f"{len(self.scans)} scans", "lexical": "lexical"}.get(self.origin, "manual")

    @property
    def provenance(self) -> str:
        """Where it came from, in a sentence."""
        return {"found": f"found by scans {self.scans}", "lexical": "counted by the lexical scanner"}.get(
            self.origin, "added by hand"
        )

    @property
    def criteria_hash(self) -> str:
        """What its ratings are keyed by: everything a rater is shown about it, and the rule that rates it."""
        rule = () if self.rule is None else (rule_json(self.rule),)
        return stable_id(self.name, self.description, self.broad, self.strict, *rule)


def _pattern(row: tuple[Any, ...]) -> Pattern:
    values = dict(zip(_COLUMNS.split(", "), row, strict=True))
    values["scans"] = json.loads(values["scans"])
    values["candidate_ids"] = json.loads(values["candidate_ids"])
    values["rule"] = json.loads(values["rule"]) if values["rule"] else None
    return Pattern.model_validate(values)


def list_patterns(project: Project, audit_id: str, *, include_removed: bool = False) -> list[Pattern]:
    """The audit's patterns: found ones by how many scans found them, lexical ones by score, then manual ones."""
    sql = f"SELECT {_COLUMNS} FROM audit_patterns WHERE audit_id = ?"
    if not include_removed:
        sql += " AND status = 'active'"
    sql += " ORDER BY origin = 'manual', json_array_length(scans) DESC, score DESC NULLS LAST, created_at, id"
    with project.store.connect() as con:
        return [_pattern(r) for r in con.execute(sql, [audit_id]).fetchall()]


def get_pattern(project: Project, ref: str, audit_id: str | None = None) -> Pattern:
    """A pattern by id, id prefix or exact name (within `audit_id`, if given).

    Raises:
        WorkbenchError: nothing matches, or a name matches several patterns.
    """
    sql = f"SELECT {_COLUMNS} FROM audit_patterns WHERE (starts_with(id, ?) OR lower(name) = lower(?))"
    params: list[Any] = [ref, ref]
    if audit_id is not None:
        sql += " AND audit_id = ?"
        params.append(audit_id)
    with project.store.connect() as con:
        rows = con.execute(sql, params).fetchall()
    if len(rows) != 1:
        problem = "No pattern" if not rows else f"{len(rows)} patterns match"
        raise WorkbenchError(f"{problem} {ref!r}.", hint="List them with `workbench audit patterns AUDIT`.")
    return _pattern(rows[0])


def add_pattern(
    project: Project, audit_ref: str, name: str, description: str, *, broad: str, strict: str,
    kind: PatternKind = "behavioural",
) -> Pattern:  # fmt: skip
    """Add a pattern by hand to an audit; the next rating run rates it.

    Raises:
        WorkbenchError: an empty field, or the audit already has an active pattern of that name.
    """
    audit = get_audit(project, audit_ref)
    fields = {"name": name, "description": description, "broad": broad, "strict": strict}
    _check_fields(fields)
    if any(p.name.lower() == name.strip().lower() for p in list_patterns(project, audit.id)):
        raise WorkbenchError(f"Audit {audit.id} already has a pattern named {name!r}.", hint="Edit it instead.")
    pattern_id = stable_id(audit.id, "manual", name.strip().lower())
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO audit_patterns (id, audit_id, name, description, kind, broad, strict, origin, scans,"
            " candidate_ids, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'manual', '[]', '[]', 'active')"
            " ON CONFLICT (id) DO UPDATE SET description = excluded.description, kind = excluded.kind,"
            " broad = excluded.broad, strict = excluded.strict, status = 'active', updated_at = now()",
            [pattern_id, audit.id, *(fields[k].strip() for k in ("name", "description")), kind,
             broad.strip(), strict.strip()],
        )  # fmt: skip
    return get_pattern(project, pattern_id)


def edit_pattern(project: Project, pattern_ref: str, **changes: str) -> Pattern:
    """Change a pattern's name, description, kind or criteria.

    Raises:
        WorkbenchError: an unknown field, an empty value, or the criteria of a lexical pattern.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise WorkbenchError(f"Cannot edit {', '.join(unknown)}.", hint=f"Editable: {', '.join(EDITABLE)}.")
    _check_fields(changes)
    pattern = get_pattern(project, pattern_ref)
    fixed = sorted(set(changes) & set(RULE_DECIDES)) if pattern.rule is not None else []
    if fixed:
        raise WorkbenchError(
            f"{pattern.name!r} is a lexical pattern: its rule decides its {', '.join(fixed)}.",
            hint="Edit its name or description, or add a pattern by hand with the criteria you want.",
        )
    if changes:
        assignments = ", ".join(f"{k} = ?" for k in changes)
        with project.store.transaction() as con:
            con.execute(
                f"UPDATE audit_patterns SET {assignments}, updated_at = current_timestamp WHERE id = ?",
                [*(v.strip() for v in changes.values()), pattern.id],
            )
    return get_pattern(project, pattern.id)


def remove_pattern(project: Project, pattern_ref: str) -> Pattern:
    """Mark a pattern removed: it is no longer rated or reported."""
    pattern = get_pattern(project, pattern_ref)
    with project.store.transaction() as con:
        con.execute(
            "UPDATE audit_patterns SET status = 'removed', updated_at = current_timestamp WHERE id = ?", [pattern.id]
        )
    return get_pattern(project, pattern.id)


def _check_fields(fields: dict[str, str]) -> None:
    empty = sorted(k for k, v in fields.items() if not v.strip())
    if empty:
        raise WorkbenchError(f"A pattern needs a non-empty {', '.join(empty)}.")
    if "kind" in fields and fields["kind"] not in ("structural", "rhetorical", "behavioural"):
        raise WorkbenchError(f"Unknown kind {fields['kind']!r}.", hint="Use structural, rhetorical or behavioural.")
