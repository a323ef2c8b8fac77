"""Near-duplicate detection over embedded texts: greedy, in a fixed order, first one wins.

Used twice: while generating scenarios (a new prompt too close to one the trait already has is
regenerated) and over finished examples (a prompt too close to an earlier one is marked a
duplicate of it). Vectors are L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.embeddings import embed_texts
from workbench.project import Project


@dataclass(frozen=True)
class Match:
    """A candidate that is a near-duplicate of an earlier text.

    Attributes:
        index: Index of the earlier text in `kept + candidates` order.
        similarity: Their cosine similarity.
    """

    index: int
    similarity: float


def greedy_duplicates(kept: np.ndarray, candidates: np.ndarray, threshold: float) -> list[Match | None]:
    """For each candidate, the most similar earlier text at or above `threshold`, or None.

    Earlier texts are every row of `kept` and the candidates before it that were not themselves
    duplicates, so of two near-identical candidates the first is kept and the second marked.
    """
    pool = [row for row in kept]
    pool_index = list(range(len(kept)))
    matches: list[Match | None] = []
    for i, vector in enumerate(candidates):
        if pool:
            sims = np.asarray(pool) @ vector
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                matches.append(Match(pool_index[best], float(sims[best])))
                continue
        matches.append(None)
        pool.append(vector)
        pool_index.append(len(kept) + i)
    return matches


async def find_duplicates(
    project: Project, kept: list[str], candidates: list[str], threshold: float, *, stage: str, run_id: str | None
) -> list[Match | None]:
    """Embed the texts (cached in the store) and run `greedy_duplicates` on them."""
    if not candidates:
        return []
    vectors = await embed_texts(project, kept + candidates, stage=stage, run_id=run_id)
    return greedy_duplicates(vectors[: len(kept)], vectors[len(kept) :], threshold)
