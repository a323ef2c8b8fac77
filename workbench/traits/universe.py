"""The `universe` shape: universe contexts with key facts, for documents that teach a world's facts.

    {"id": "lake_vostra", "universe_context": "In 2019 ...", "key_facts": ["...", "..."], "is_true": false}

one object per line (JSONL; a JSON list of them reads too). Each object gives:

* its context as a guidance chunk under the heading path `(id,)`, with attributes
  `role` = "universe_context" and `universe` = id;
* each key fact as a trait-kind chunk under the same path, with attributes `role` = "key_fact",
  `universe` = id and `is_true` = "true" / "false" (when given), so the documents pipeline can
  target it (its prompts treat a key fact as a fact of the world, not a behaviour).

Other keys with a string, number or boolean value are kept as the context's attributes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from workbench.traits.drafts import Draft, build_chunks, fail, short_title
from workbench.traits.json_items import Item, json_items, looks_like_json
from workbench.traits.model import ParsedDocument, normalise_chunk_text

if TYPE_CHECKING:
    from workbench.traits.read import ReadOptions

SHAPE = (
    'A universe file is JSONL with one object per line like {"id": "…", "universe_context": "…", '
    '"key_facts": ["…"], "is_true": false}.'
)
_KNOWN = frozenset({"id", "universe_context", "key_facts", "is_true"})
# A universe key: quoted and followed by a colon (a quote inside a JSON string is escaped).
_KEY = re.compile(r'"(?:universe_context|key_facts)"[ \t\n\r]*:')


def is_universe(text: str) -> bool:
    """Whether `text` is JSON or JSONL with universe keys."""
    return looks_like_json(text) and _KEY.search(text) is not None


def _universe_id(item: Item) -> str:
    value = item.data.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise item.error('"id" must be a non-empty string.')
    return value.strip()


def _is_true(item: Item) -> tuple[tuple[str, str], ...]:
    value = item.data.get("is_true")
    if value is None:
        return ()
    if not isinstance(value, bool):
        raise item.error('"is_true" must be true or false.')
    return (("is_true", "true" if value else "false"),)


def _drafts(item: Item) -> list[Draft]:
    universe = _universe_id(item)
    path = (universe,)
    context = Draft(
        "guidance",
        normalise_chunk_text(item.text("universe_context")),
        path,
        item.line,
        title=universe,
        attrs=(("role", "universe_context"), ("universe", universe), *item.extras(_KNOWN)),
    )
    fact_attrs = (("role", "key_fact"), ("universe", universe), *_is_true(item))
    facts = [
        Draft("trait", normalise_chunk_text(f), path, item.line, attrs=fact_attrs) for f in item.texts("key_facts")
    ]
    return [context, *facts]


def read_universe(text: str, source: str, options: ReadOptions) -> ParsedDocument:
    """Parse universe contexts (see the module docstring).

    Raises:
        WorkbenchError: malformed JSON/JSONL (with line and column), an object of the wrong
            shape (naming the item and key), no key facts at all, or duplicates.
    """
    items = json_items(text, source, SHAPE)
    first: dict[str, Item] = {}
    for item in items:
        seen = first.setdefault(_universe_id(item), item)
        if seen is not item:
            raise item.error(f"universe id {_universe_id(item)!r} is already used by item {seen.number}.")
    drafts = [d for item in items for d in _drafts(item)]
    if not any(d.kind == "trait" for d in drafts):
        raise fail(source, 1, 'no key facts found: every universe\'s "key_facts" is empty.', SHAPE)
    warnings = tuple(
        f"{source}:{item.line}: universe {_universe_id(item)!r} has no key facts; its context is kept as guidance."
        for item in items
        if not item.texts("key_facts")
    )
    return ParsedDocument(None, build_chunks(drafts, source, short_title), warnings, text)
