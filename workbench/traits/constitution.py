"""The `constitution` shape: a character-training constitution, a trait and its questions per object.

    [
      {"trait": "I say how sure I am, and why.", "questions": ["Will it rain on Sunday?", ...]},
      ...
    ]

saved as .json or .txt, or as JSONL (one object per line), where an object may also carry
`additional_questions`. Each object becomes one trait chunk: its text is the trait statement,
its title the statement's first sentence, and its questions (then the additional ones, repeats
dropped, order kept) stay with it as `Chunk.questions`, which the SFT pipeline can use as seed
user prompts (`[sft] seed_prompts`). Other keys with a string, number or boolean value are kept
as the chunk's attributes. `line` is where the object starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.traits.drafts import Draft, build_chunks, fail
from workbench.traits.json_items import Item, json_items, looks_like_json
from workbench.traits.model import ParsedDocument, normalise_chunk_text
from workbench.traits.parse import chunk_title

if TYPE_CHECKING:
    from workbench.traits.read import ReadOptions

SHAPE = (
    'A constitution is a JSON list of objects like {"trait": "I say how sure I am.", "questions": ["…"]}, '
    "or JSONL with one such object per line."
)
_KNOWN = frozenset({"trait", "questions", "additional_questions"})


def is_constitution(text: str) -> bool:
    """Whether `text` is JSON or JSONL (the `universe` shape, tried first, claims its own)."""
    return looks_like_json(text)


def _draft(item: Item) -> Draft:
    questions = [*item.texts("questions"), *item.texts("additional_questions")]
    return Draft(
        "trait",
        normalise_chunk_text(item.text("trait")),
        (),
        item.line,
        attrs=item.extras(_KNOWN),
        questions=tuple(dict.fromkeys(questions)),
    )


def read_constitution(text: str, source: str, options: ReadOptions) -> ParsedDocument:
    """Parse a constitution (see the module docstring).

    Raises:
        WorkbenchError: malformed JSON/JSONL (with line and column), an object of the wrong
            shape (naming the item and key), no traits, or duplicate traits.
    """
    items = json_items(text, source, SHAPE)
    if not items:
        raise fail(source, 1, "the constitution holds no traits.", SHAPE)
    return ParsedDocument(None, build_chunks([_draft(i) for i in items], source, chunk_title), (), text)
