"""What a cost projection for one traits document rests on: that document's pilot and each trait's prompt size.

    basis = document_basis(project, version, slots_sql=..., remaining={chunk_id: 3, ...}, templates=...)
    project_cost(project, "sft", ..., basis=basis)                       # generate/cost.py

A projection for traits document D reads only the ledger rows of runs on D's versions and the
slots those runs filled, never the rest of the project: a 270 KB spec and a ten-line list cost
very different amounts per call. Within D, each stage's measured input tokens per call are scaled,
for each remaining trait, by that trait's prompt size relative to the mean of the pilot's: the
size is the template's own text plus the trait, its guidance and its boundaries as far as the
template reads them, estimated with `workbench.tokens`. A ratio of two estimates, so it holds
whatever tokenizer the provider counts with; a pilot on small traits does not understate big ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.generate.guidance import GuidanceSelector
from workbench.project import Project
from workbench.prompts import load_template
from workbench.store.traits import TraitsVersion, list_versions, version_chunks
from workbench.tokens import estimate_tokens
from workbench.traits import Chunk

TRAIT_VARIABLES = frozenset({"trait_title", "trait_text", "guidance", "boundaries"})
"""The template variables whose size depends on the trait."""


@dataclass(frozen=True)
class TraitPart:
    """A trait's remaining slots and the estimated size of its prompt in one stage."""

    trait: str
    remaining: int
    tokens: int


@dataclass(frozen=True)
class DocumentBasis:
    """The measurements a projection for one traits document may use.

    Attributes:
        document: The traits document's name.
        versions: Ids of its versions; only ledger rows of runs on these count.
        reached: Stage -> slots of the document's runs that reached it.
        pilot_part: Stage -> mean estimated prompt size of its calls, over the slots that reached it.
        targets: Stage -> the traits with slots left, each with its estimated prompt size in that stage.
        skipped: Stage -> slots left that will not call it (seeded SFT slots skip the scenario call).
    """

    document: str
    versions: list[str]
    reached: dict[str, int]
    pilot_part: dict[str, float]
    targets: dict[str, list[TraitPart]]
    skipped: dict[str, int]


class _Parts:
    """Estimated prompt sizes per (version, chunk, stage); each version's guidance chosen once."""

    def __init__(self, project: Project, templates: dict[str, str], wanted: dict[str, set[str]]) -> None:
        self.project, self.wanted = project, wanted  # version -> the chunks asked about (scored together)
        loaded = {stage: load_template(name, project.root) for stage, name in templates.items()}
        self.reads = {stage: t.variables & TRAIT_VARIABLES for stage, t in loaded.items()}
        # The template's own words: its leading `{# variables #}` comment is never sent.
        self.fixed = {stage: estimate_tokens(t.text.split("#}", 1)[-1]) for stage, t in loaded.items()}
        self.versions: dict[str, tuple[dict[str, Chunk], GuidanceSelector]] = {}

    def _version(self, version_id: str) -> tuple[dict[str, Chunk], GuidanceSelector]:
        if version_id not in self.versions:
            chunks = version_chunks(self.project.store, version_id)
            focus = [c for c in chunks if c.id in self.wanted.get(version_id, set())]
            self.versions[version_id] = ({c.id: c for c in chunks}, GuidanceSelector(self.project, chunks, focus=focus))
        return self.versions[version_id]

    def chunk(self, version_id: str, chunk_id: str) -> Chunk | None:
        return self._version(version_id)[0].get(chunk_id)

    def tokens(self, version_id: str, chunk_id: str, stage: str) -> int:
        """The estimated size of a `stage` prompt about `chunk_id`: its template and its trait's part."""
        reads = self.reads.get(stage, frozenset())
        chunks, selector = self._version(version_id)
        chunk = chunks.get(chunk_id)
        if not reads or chunk is None:
            return self.fixed.get(stage, 0)
        values = {"trait_title": chunk.title, "trait_text": chunk.text} | selector.choose(chunk).variables()
        return self.fixed[stage] + sum(estimate_tokens(text) for name, text in values.items() if name in reads)


def document_basis(
    project: Project,
    version: TraitsVersion,
    *,
    slots_sql: str,
    remaining: dict[str, int],
    templates: dict[str, str],
    skipped: dict[str, dict[str, int]] | None = None,
) -> DocumentBasis:
    """What a projection for `version`'s document rests on.

    Args:
        project: Whose store, templates and `[traits]` settings.
        version: The version a run would work on.
        slots_sql: Query, given the list of version ids, for (stage, version, chunk id, slots reached).
        remaining: Chunk id (of `version`) -> slots a run would still fill.
        templates: Stage -> the template its prompts are made from (stages absent carry no trait).
        skipped: Stage -> chunk id -> slots left that will not call that stage.
    """
    skipped = skipped or {}
    versions = [v.id for v in list_versions(project.store, version.document)]
    with project.store.connect() as con:
        rows = con.execute(slots_sql, [versions]).fetchall()
    wanted: dict[str, set[str]] = {version.id: set(remaining)}
    for _, version_id, chunk_id, _ in rows:
        wanted.setdefault(version_id, set()).add(chunk_id)
    parts = _Parts(project, templates, wanted)
    reached: dict[str, int] = {}
    weighted: dict[str, float] = {}
    for stage, version_id, chunk_id, slots in rows:
        reached[stage] = reached.get(stage, 0) + int(slots)
        weighted[stage] = weighted.get(stage, 0.0) + int(slots) * parts.tokens(version_id, chunk_id, stage)
    targets = {
        stage: [
            TraitPart(chunk.title, calls, parts.tokens(version.id, chunk_id, stage))
            for chunk_id, left in remaining.items()
            if (calls := left - skipped.get(stage, {}).get(chunk_id, 0)) > 0
            and (chunk := parts.chunk(version.id, chunk_id)) is not None
        ]
        for stage in templates
    }
    pilot_part = {stage: weighted[stage] / n for stage, n in reached.items() if n}
    skipped_total = {stage: sum(by_chunk.values()) for stage, by_chunk in skipped.items()}
    return DocumentBasis(version.document, versions, reached, pilot_part, targets, skipped_total)
