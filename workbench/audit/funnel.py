"""From scans to patterns: how many candidates the scans reported, and why those that died were dropped.

    funnel = candidate_funnel(project, audit.id)
    funnel.summary()
    # "0 patterns survived the LLM scans: 14 candidates from 8 scans; rejected 14 (evidence only on
    #  rows not in the scan's batch 14)."

The scan and cluster steps record their rejections where they make them (`audit_rejections`,
see `scan.py` and `cluster.py`); this module only reads them back, with the scans' outcomes and
the audit's patterns, so a report says what happened to an audit that found nothing instead of
suggesting the run that was just made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.audit.audits import get_audit
from workbench.audit.cluster import NOT_MERGED, TOO_FEW_SCANS
from workbench.audit.scan import NO_EVIDENCE, UNKNOWN_ROWS, scan_subject
from workbench.project import Project

# Each reason a candidate is dropped, in the order the pipeline applies them, as a report says it.
REASONS = {
    UNKNOWN_ROWS: "evidence only on rows not in the scan's batch",
    NO_EVIDENCE: "no evidence given",
    TOO_FEW_SCANS: "found by fewer than {min_scans} scans ([audit] min_scans)",
    NOT_MERGED: "merge call failed or not made yet",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class CandidateFunnel:
    """What an audit's LLM scans reported and what became of it.

    Attributes:
        scans: Scans the audit makes (`[audit] scans` when it started).
        scan_outcomes: Scans per stored outcome (ok, refused, parse_failed, error ...).
        kept: Candidates the scans' evidence checks kept (`audit_candidates`).
        rejected: Candidates dropped, per reason (`REASONS`).
        patterns: Active patterns clustering made from them.
        removed: Patterns clustering made that a person has removed.
        min_scans: Scans a group needs to survive.
    """

    scans: int
    scan_outcomes: dict[str, int]
    kept: int
    rejected: dict[str, int] = field(default_factory=dict)
    patterns: int = 0
    removed: int = 0
    min_scans: int = 2

    @property
    def reported(self) -> int:
        """Candidates the scans reported, before any check."""
        return self.kept + sum(self.rejected.get(r, 0) for r in (UNKNOWN_ROWS, NO_EVIDENCE))

    @property
    def unclustered(self) -> bool:
        """Whether kept candidates wait for the cluster step (it has recorded nothing and made nothing)."""
        clustered = any(self.rejected.get(r) for r in (TOO_FEW_SCANS, NOT_MERGED)) or self.patterns or self.removed
        return self.kept > 0 and not clustered

    def summary(self) -> str | None:
        """One line: patterns surviving, candidates, scans that did not answer, candidates rejected and why.

        None when no scan has an outcome yet (nothing to say beyond "run the audit").
        """
        if not self.scan_outcomes:
            return None
        answered = self.scan_outcomes.get("ok", 0)
        parts = [f"{_count(self.reported, 'candidate')} from {_count(answered, 'scan')}"]
        other = {status: n for status, n in sorted(self.scan_outcomes.items()) if status != "ok"}
        if other:
            ended = ", ".join(f"{status} {n}" for status, n in other.items())
            parts.append(f"{_count(sum(other.values()), 'scan')} without a report ({ended})")
        unrun = self.scans - sum(self.scan_outcomes.values())
        if unrun > 0:
            parts.append(f"{_count(unrun, 'scan')} not run yet")
        reasons = [
            (REASONS[r].format(min_scans=self.min_scans), self.rejected[r]) for r in REASONS if self.rejected.get(r)
        ]
        if reasons:
            why = ", ".join(f"{label} {n}" for label, n in reasons)
            parts.append(f"rejected {sum(n for _, n in reasons)} ({why})")
        if self.unclustered:
            parts.append(f"{self.kept} wait for the cluster step")
        if self.removed:
            parts.append(f"{self.removed} removed by hand")
        unfinished = unrun > 0 or "error" in other or self.unclustered
        if unfinished and not self.patterns:
            head = "No patterns yet from the LLM scans"
        else:
            head = f"{_count(self.patterns, 'pattern')} survived the LLM scans"
        return f"{head}: {'; '.join(parts)}."


def no_patterns_line(project: Project, audit_ref: str) -> str:
    """What to say where an audit shows no pattern: what its scans did, or what to run if nothing ran."""
    funnel = candidate_funnel(project, audit_ref).summary()
    if funnel:
        return funnel
    audit = get_audit(project, audit_ref)
    with project.store.connect() as con:
        lexical_runs = con.execute(
            "SELECT count(*) FROM runs WHERE work = ? AND list_contains(json_extract_string(config, '$.steps[*]'), ?)",
            [f"audit:{audit.id}", "lexical"],
        ).fetchone()
    if lexical_runs and lexical_runs[0]:
        t = project.config.audit.lexical
        return (f"0 patterns from the lexical scanner: nothing is over-represented past its thresholds "
                f"([audit.lexical] min_rows = {t.min_rows}, min_share = {t.min_share}, min_z = {t.min_z}); "
                "`workbench audit lexical DATASET` ranks what there is.")  # fmt: skip
    return "No patterns yet: run the scan and cluster steps (`workbench audit run DATASET`)."


def candidate_funnel(project: Project, audit_ref: str) -> CandidateFunnel:
    """The funnel of an audit (id, prefix or its dataset's name) from what its steps stored."""
    audit = get_audit(project, audit_ref)
    with project.store.connect() as con:
        outcomes = con.execute(
            "SELECT status, count(*) FROM audit_generations WHERE step = 'scan' AND starts_with(subject_id, ?)"
            " GROUP BY status",
            [scan_subject(audit.id, "")],
        ).fetchall()
        kept = con.execute("SELECT count(*) FROM audit_candidates WHERE audit_id = ?", [audit.id]).fetchone()
        rejected = con.execute(
            "SELECT reason, sum(candidates) FROM audit_rejections WHERE audit_id = ? GROUP BY reason", [audit.id]
        ).fetchall()
        patterns = con.execute(
            "SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'removed')"
            " FROM audit_patterns WHERE audit_id = ? AND origin = 'found'",
            [audit.id],
        ).fetchone()
    return CandidateFunnel(
        scans=int(audit.settings.get("scans", 0)), scan_outcomes={s: int(n) for s, n in outcomes},
        kept=int(kept[0]) if kept else 0, rejected={r: int(n) for r, n in rejected},
        patterns=int(patterns[0]) if patterns else 0, removed=int(patterns[1]) if patterns else 0,
        min_scans=int(audit.settings.get("min_scans", 2)),
    )  # fmt: skip
