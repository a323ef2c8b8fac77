"""Cluster: group the scans' candidates into patterns, keep those enough scans found, name each.

    report = await cluster_candidates(ctx)

Each candidate's "name: description" is embedded (the `embedder` role) and the candidates are
grouped by average-linkage agglomerative clustering on cosine distance, cut at
`cluster_similarity`. A group survives if at least `min_scans` different scans contributed to
it: a pattern one scan saw may be an accident of its batch. Each survivor is one `rater` call
that merges the group's reports into one pattern, named by contrast with the nearest other
surviving groups, with a broad and a strict criterion. The result is an `audit_patterns` row
whose id is a hash of its candidates, so clustering the same candidates again writes nothing.

Clustering waits until every scan has a final outcome: grouping a partial set and then the
full one would make two versions of the same pattern. Each clustering records, in
`audit_rejections`, how many candidates were in groups too few scans found and how many in
groups whose merge has not (yet) given a pattern, so a report can say why nothing survived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
from sklearn.cluster import AgglomerativeClustering

from workbench.audit.audits import AuditContext
from workbench.audit.scan import pending_scans, record_rejections
from workbench.audit.schemas import MergedPattern
from workbench.embeddings import embed_texts
from workbench.generate.steps import Apply, Generation, Job, StepReport, stable_id

NEIGHBOURS = 3  # other groups the merge prompt shows, to name this one against
SHOWN_CANDIDATES = 8  # reports per group in the merge prompt (the rest add length, not information)
SHOWN_QUOTES = 2  # quotes per report
# Why a candidate did not become a pattern (the keys of `audit_rejections.reason` clustering writes).
TOO_FEW_SCANS = "too_few_scans"  # its group was found by fewer than `min_scans` scans
NOT_MERGED = "not_merged"  # its group survived, but the merge call has not given a pattern


@dataclass(frozen=True)
class Candidate:
    """A pattern one scan reported."""

    id: str
    scan: int
    name: str
    description: str
    kind: str
    evidence: list[dict[str, Any]]

    @property
    def summary(self) -> str:
        return f"{self.name}: {self.description}"


@dataclass(frozen=True)
class Group:
    """Candidates clustered together, and the scans they came from."""

    candidates: tuple[Candidate, ...]
    centroid: np.ndarray
    representative: Candidate  # the candidate nearest the centroid

    @property
    def scans(self) -> list[int]:
        return sorted({c.scan for c in self.candidates})

    def pattern_id(self, audit_id: str) -> str:
        return stable_id(audit_id, "found", *sorted(c.id for c in self.candidates))


def load_candidates(ctx: AuditContext) -> list[Candidate]:
    """The audit's candidates, by scan and id."""
    with ctx.project.store.connect() as con:
        rows = con.execute(
            "SELECT id, scan, name, description, kind, evidence FROM audit_candidates WHERE audit_id = ?"
            " ORDER BY scan, id",
            [ctx.audit.id],
        ).fetchall()
    return [Candidate(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


def group_vectors(vectors: np.ndarray, similarity: float) -> list[list[int]]:
    """Indices grouped by average-linkage clustering, cut at cosine `similarity`; ordered by first member."""
    if len(vectors) == 1:
        return [[0]]
    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    labels = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - similarity
    ).fit_predict(distances)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda members: members[0])


async def candidate_groups(ctx: AuditContext, candidates: list[Candidate]) -> list[Group]:
    """The candidates grouped by the similarity of their embedded summaries."""
    vectors = await embed_texts(
        ctx.project, [c.summary for c in candidates], stage="audit.cluster", run_id=ctx.runner.run_id
    )
    groups = []
    for members in group_vectors(vectors, ctx.settings.cluster_similarity):
        centroid = vectors[members].mean(axis=0)
        nearest = members[int(np.argmax(vectors[members] @ centroid))]
        groups.append(Group(tuple(candidates[i] for i in members), centroid, candidates[nearest]))
    return groups


def _neighbours(group: Group, groups: list[Group]) -> list[Candidate]:
    """The representatives of the groups nearest this one."""
    others = [g for g in groups if g is not group]
    others.sort(key=lambda g: -float(g.centroid @ group.centroid))
    return [g.representative for g in others[:NEIGHBOURS]]


def merge_jobs(ctx: AuditContext, groups: list[Group]) -> list[Job]:
    """A merge call for each surviving group without a pattern yet (see `still_to_send`)."""
    jobs = []
    for group in groups:
        shown = [
            {"name": c.name, "description": c.description, "kind": c.kind,
             "quotes": [e["quote"] for e in c.evidence if e["verified"]][:SHOWN_QUOTES]}
            for c in group.candidates[:SHOWN_CANDIDATES]
        ]  # fmt: skip
        neighbours = [{"name": n.name, "description": n.description} for n in _neighbours(group, groups)]
        request = ctx.request("audit_merge", schema=MergedPattern, candidates=shown, neighbours=neighbours)
        context = {"scans": group.scans, "candidate_ids": [c.id for c in group.candidates]}
        jobs.append(Job("merge", group.pattern_id(ctx.audit.id), request, context=context))
    return ctx.still_to_send("merge", jobs)


def _apply_merges(ctx: AuditContext) -> Apply:
    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        for g in generations:
            if not g.ok or g.parsed is None:
                continue  # no pattern: the failed merge stays visible in audit_generations
            merged = MergedPattern.model_validate(g.parsed)
            con.execute(
                "INSERT INTO audit_patterns (id, audit_id, name, description, kind, broad, strict, origin, scans,"
                " candidate_ids, status, generation_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'found', ?, ?, 'active', ?)"
                " ON CONFLICT (id) DO NOTHING",
                [g.job.subject_id, ctx.audit.id, merged.name, merged.description, merged.kind, merged.broad,
                 merged.strict, json.dumps(g.job.context["scans"]), json.dumps(g.job.context["candidate_ids"]), g.id],
            )  # fmt: skip

    return apply


async def cluster_candidates(ctx: AuditContext) -> StepReport:
    """Group the candidates, keep those found by enough scans, and merge each into a pattern.

    Does nothing while a scan lacks a final outcome (the report's `waiting` count says so).
    """
    waiting = pending_scans(ctx)
    candidates = load_candidates(ctx)
    if waiting or not candidates:
        report = StepReport("cluster")
        if waiting:
            report.count("waiting_for_scans", waiting)
        return report
    groups = await candidate_groups(ctx, candidates)
    kept = [g for g in groups if len(g.scans) >= ctx.settings.min_scans]
    dropped = [g for g in groups if len(g.scans) < ctx.settings.min_scans]
    report = await ctx.runner.run_jobs("merge", "rater", merge_jobs(ctx, kept), apply=_apply_merges(ctx))
    report.count("groups_kept", len(kept))
    _record_rejections(ctx, dropped, kept)
    return report


def _record_rejections(ctx: AuditContext, dropped: list[Group], kept: list[Group]) -> None:
    """Replace the audit's clustering counts: candidates in dropped groups, and in kept ones with no pattern."""
    with ctx.project.store.transaction() as con:
        merged = {row[0] for row in con.execute(
            "SELECT id FROM audit_patterns WHERE id IN (SELECT unnest(?))",
            [[g.pattern_id(ctx.audit.id) for g in kept]],
        ).fetchall()}  # fmt: skip
        counts = {
            TOO_FEW_SCANS: sum(len(g.candidates) for g in dropped),
            NOT_MERGED: sum(len(g.candidates) for g in kept if g.pattern_id(ctx.audit.id) not in merged),
        }
        con.execute("DELETE FROM audit_rejections WHERE audit_id = ? AND step = 'cluster'", [ctx.audit.id])
        record_rejections(con, ctx.audit.id, "cluster", "groups", {k: n for k, n in counts.items() if n})
