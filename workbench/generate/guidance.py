"""Which guidance and boundaries a trait's prompts carry, within `[traits] guidance_budget_tokens`.

    selector = GuidanceSelector(project, version_chunks(store, version.id))
    chosen = selector.choose(trait)        # .guidance, .boundaries (template variables), .tokens, .cut

A traits document's guidance (the `guidance` chunks) and boundaries (the `boundary` chunks:
prohibitions the generator respects and the critic checks) go into every prompt about a trait.
When they fit the budget, with the trait and a reserve for the template and the call's own texts,
all of them go in, in document order, exactly as written. When they do not, each kind is split
into passages (paragraphs) and a trait gets those most relevant to it, in this order of priority:

1. the passages of the sections enclosing the trait (its heading path), innermost first;
2. its `[traits] guidance_neighbours` nearest passages in document order;
3. the rest, most similar to the trait first: by the embedder role's vectors
   (`workbench.embeddings`, cached in the store, every request in the ledger) or by TF-IDF
   (`[traits] guidance_similarity`).

A passage that does not fit is skipped for a smaller one further down. The chosen passages are
shown in document order after a note saying how many of how many were kept, so the model knows
it sees a part. Boundaries all go in when they fit half of the room left; otherwise they are cut
by the same rules within that half, and guidance fills the rest. The choice depends only on the
document, the trait and the settings, so the same inputs give the same prompt (and the gateway's
cache hits).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from workbench.embeddings import embed_texts
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.tokens import estimate_tokens
from workbench.traits import Chunk

PROMPT_RESERVE_TOKENS = 4_000
"""Budget kept for the template's own text and the call's texts (an avoid list, a draft, an answer)."""

_SEPARATOR_TOKENS = 1  # the blank line between two passages
_SIMILARITY_DECIMALS = 6  # similarities are rounded so that float noise cannot reorder ties


@dataclass(frozen=True)
class Passage:
    """One paragraph of a guidance or boundary chunk.

    Attributes:
        text: The paragraph.
        heading_path: The headings enclosing its chunk, outermost first.
        order: (chunk position, paragraph index): its place in the document.
        tokens: Its estimated size.
    """

    text: str
    heading_path: tuple[str, ...]
    order: tuple[int, int]
    tokens: int


def split_passages(chunks: Iterable[Chunk]) -> list[Passage]:
    """The chunks' paragraphs, in document order."""
    passages = []
    for chunk in sorted(chunks, key=lambda c: c.position):
        paragraphs = [p.strip() for p in chunk.text.split("\n\n") if p.strip()]
        for i, text in enumerate(paragraphs):
            passages.append(Passage(text, chunk.heading_path, (chunk.position, i), estimate_tokens(text)))
    return passages


@dataclass(frozen=True)
class ChosenGuidance:
    """What one trait's prompts carry besides the trait itself.

    Attributes:
        trait_tokens: The trait's title and text, estimated.
        guidance: The `guidance` template variable (with the cut note when shortened).
        boundaries: The `boundaries` template variable (likewise).
        guidance_shown: Guidance passages shown (all of the document's when nothing was cut).
        guidance_total: Guidance passages in the document.
        boundaries_shown: Boundary passages shown.
        boundaries_total: Boundary passages in the document.
    """

    trait_tokens: int
    guidance: str
    boundaries: str
    guidance_shown: int
    guidance_total: int
    boundaries_shown: int
    boundaries_total: int

    @property
    def cut(self) -> bool:
        return self.guidance_shown < self.guidance_total or self.boundaries_shown < self.boundaries_total

    @property
    def tokens(self) -> int:
        """The trait's part of a prompt: the trait, its guidance and its boundaries."""
        return self.trait_tokens + estimate_tokens(self.guidance) + estimate_tokens(self.boundaries)

    def variables(self) -> dict[str, str]:
        return {"guidance": self.guidance, "boundaries": self.boundaries}


def cut_note(kind: str, shown: int, total: int) -> str:
    """The line that tells the model it sees only part of the document's `kind`."""
    return (
        f"[{kind} shortened: {shown} of {total} passages, chosen for relevance to this trait; "
        "the rest of the document is not shown.]"
    )


class GuidanceSelector:
    """Chooses, per trait, the guidance and boundaries of one traits version that its prompts carry."""

    def __init__(
        self, project: Project, chunks: Sequence[Chunk], *, focus: Sequence[Chunk] = (), run_id: str | None = None
    ) -> None:
        """Index a version's chunks.

        Args:
            project: Supplies `[traits]`, the embedder role and the store (the embeddings' cache).
            chunks: Every chunk of the traits version.
            focus: The traits a run works on, scored together when the first needs scoring
                (default: every trait of the version).
            run_id: The run the embedder's requests belong to, if any.
        """
        self.project, self.run_id = project, run_id
        self.settings = project.config.traits
        ordered = sorted(chunks, key=lambda c: c.position)  # document order, however they were listed
        by_kind = {kind: [c for c in ordered if c.kind == kind] for kind in ("guidance", "boundary", "trait")}
        self.full = {kind: "\n\n".join(c.text for c in by_kind[kind]) for kind in ("guidance", "boundary")}
        self.passages = {kind: split_passages(by_kind[kind]) for kind in ("guidance", "boundary")}
        self.focus = list(focus) or by_kind["trait"]
        self._similarity: dict[str, dict[tuple[int, int], float]] = {}
        self._chosen: dict[str, ChosenGuidance] = {}

    def choose(self, trait: Chunk) -> ChosenGuidance:
        """The guidance and boundaries `trait`'s prompts carry (computed once per trait)."""
        if trait.id not in self._chosen:
            self._chosen[trait.id] = self._choose(trait)
        return self._chosen[trait.id]

    def _choose(self, trait: Chunk) -> ChosenGuidance:
        trait_tokens = estimate_tokens(f"{trait.title}\n\n{trait.text}")
        budget = self.settings.guidance_budget_tokens
        room = max(0, budget - min(PROMPT_RESERVE_TOKENS, budget // 4) - trait_tokens)
        full_g, full_b = self.full["guidance"], self.full["boundary"]
        totals = len(self.passages["guidance"]), len(self.passages["boundary"])
        if estimate_tokens(full_g) + estimate_tokens(full_b) <= room:
            return ChosenGuidance(trait_tokens, full_g, full_b, totals[0], totals[0], totals[1], totals[1])
        if estimate_tokens(full_b) <= room // 2:
            boundaries, b_shown = full_b, totals[1]
        else:
            boundaries, b_shown = self._shortened(trait, "boundary", "Boundaries", room // 2)
        guidance, g_shown = self._shortened(trait, "guidance", "Guidance", room - estimate_tokens(boundaries))
        return ChosenGuidance(trait_tokens, guidance, boundaries, g_shown, totals[0], b_shown, totals[1])

    def _shortened(self, trait: Chunk, kind: str, label: str, room: int) -> tuple[str, int]:
        """The most relevant passages of `kind` that fit `room` tokens, note first; and how many."""
        passages = self.passages[kind]
        if not passages:
            return "", 0
        note_tokens = estimate_tokens(cut_note(label, len(passages), len(passages))) + _SEPARATOR_TOKENS
        left = room - note_tokens
        chosen: list[Passage] = []
        for passage in self._ranked(trait, passages):
            if passage.tokens + _SEPARATOR_TOKENS <= left:
                chosen.append(passage)
                left -= passage.tokens + _SEPARATOR_TOKENS
        chosen.sort(key=lambda p: p.order)
        note = cut_note(label, len(chosen), len(passages))
        return "\n\n".join([note, *(p.text for p in chosen)]), len(chosen)

    def _ranked(self, trait: Chunk, passages: list[Passage]) -> list[Passage]:
        """Passages by relevance: enclosing sections, then neighbours, then by similarity."""
        path = trait.heading_path
        enclosing = sorted(
            (p for p in passages if path[: len(p.heading_path)] == p.heading_path),
            key=lambda p: (-len(p.heading_path), p.order),
        )
        nearest = sorted(passages, key=lambda p: (abs(p.order[0] - trait.position), p.order))
        neighbours = nearest[: self.settings.guidance_neighbours]
        similarity = self._similarities(trait)
        similar = sorted(passages, key=lambda p: (-similarity.get(p.order, 0.0), p.order))
        ranked = {p.order: p for p in [*enclosing, *neighbours, *similar]}  # dicts keep first insertion
        return list(ranked.values())

    def _similarities(self, trait: Chunk) -> dict[tuple[int, int], float]:
        """Passage order -> similarity to `trait`, for every passage of both kinds."""
        if trait.id not in self._similarity:
            # Each trait's scores are independent of which others are scored with it (TF-IDF is
            # fitted on the passages alone; embeddings are per text), so batching changes nothing.
            self._similarity |= self._score([t for t in self.focus if t.id not in self._similarity] + [trait])
        return self._similarity[trait.id]

    def method(self) -> str:
        """`embedder` or `lexical`: how similarity is measured under the settings."""
        chosen = self.settings.guidance_similarity
        if chosen == "auto":
            return "embedder" if self.project.config.roles.get("embedder") else "lexical"
        return chosen

    def _score(self, traits: list[Chunk]) -> dict[str, dict[tuple[int, int], float]]:
        passages = self.passages["guidance"] + self.passages["boundary"]
        texts = [f"{t.title}\n\n{t.text}" for t in traits]
        if self.method() == "embedder":
            vectors = _embed(self.project, [p.text for p in passages] + texts, self.run_id)
            scores = vectors[len(passages) :] @ vectors[: len(passages)].T
        else:
            scores = _tfidf_scores([p.text for p in passages], texts)
        scores = np.round(scores, _SIMILARITY_DECIMALS)
        return {
            t.id: {p.order: float(s) for p, s in zip(passages, row, strict=True)}
            for t, row in zip(traits, scores, strict=True)
        }


def _tfidf_scores(passages: list[str], queries: list[str]) -> np.ndarray:
    """Cosine similarity of each query to each passage under TF-IDF fitted on the passages alone.

    Fitted on the passages only, so a trait's scores do not depend on which other traits are asked.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer  # imported when used: seconds of start-up

    vectorizer = TfidfVectorizer(sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(passages)
    except ValueError:  # no words at all (passages of punctuation): nothing is more similar than anything
        return np.zeros((len(queries), len(passages)))
    return np.asarray((vectorizer.transform(queries) @ matrix.T).todense())


def _embed(project: Project, texts: list[str], run_id: str | None) -> np.ndarray:
    """`embed_texts` from synchronous code, also when an event loop runs in this thread (a run's set-up)."""

    def go() -> np.ndarray:
        return asyncio.run(embed_texts(project, texts, stage="guidance", run_id=run_id))

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return go()
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(go).result()
    except WorkbenchError as e:
        raise WorkbenchError(
            f"Choosing the guidance relevant to each trait (the document is over [traits] guidance_budget_tokens) "
            f"needs the embedder: {e.message}",
            hint=f"{e.hint or ''} Or rank the passages without a model: "
            '`guidance_similarity = "lexical"` under [traits] in workbench.toml.'.strip(),
        ) from e
