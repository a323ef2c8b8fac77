"""The names offered to midtraining documents: coherent within a culture, varied, reproducible (issue 19, item 8)."""

from __future__ import annotations

import itertools

from workbench.generate.names import CULTURES, names_for

DRAWS = [
    names_for(seed=seed, chunk_id=chunk, doc_type="email", slot=slot, attempt=0, k=12)
    for seed, chunk, slot in itertools.product(range(3), ("c1", "c2"), range(20))
]

GIVEN_NAMES = {given for culture in CULTURES.values() for given in culture.given}  # a full name's first word


def cultures_of(full_name: str) -> set[str]:
    """The cultures whose pool holds both parts of a name: its first word given, the rest family."""
    given, family = full_name.split(" ", 1)
    return {name for name, c in CULTURES.items() if given in c.given and family in c.family}


def test_every_name_is_a_given_and_family_name_of_one_culture() -> None:
    names = [n for draw in DRAWS for n in draw]
    assert len(names) == 1440
    assert [n for n in names if not cultures_of(n)] == []
    assert all(n.split()[0] in GIVEN_NAMES for n in names)


def test_a_document_gets_distinct_people_from_several_cultures() -> None:
    for draw in DRAWS:
        assert len({n.split(" ", 1)[0] for n in draw}) == len(draw) == 12
        assert len({n.split(" ", 1)[1] for n in draw}) == 12, "no two people of a document share a family name"
    cultures = {c for draw in DRAWS for n in draw for c in cultures_of(n)}
    assert len(cultures) == len(CULTURES), "every culture is drawn"


def test_the_same_slot_draws_the_same_names_and_another_slot_others() -> None:
    first = names_for(seed=0, chunk_id="c1", doc_type="email", slot=0, attempt=0, k=4)
    assert first == names_for(seed=0, chunk_id="c1", doc_type="email", slot=0, attempt=0, k=4)
    assert first != names_for(seed=0, chunk_id="c1", doc_type="email", slot=0, attempt=1, k=4)
