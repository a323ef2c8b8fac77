"""JSON and JSONL traits documents -> their objects, each with the line it starts on.

    items = json_items(text, "constitution.jsonl", SHAPE)   # [Item(number=1, line=1, data={...}), ...]

Both shapes the JSON readers (`constitution`, `universe`) accept come out as the same list:

* a JSON array of objects, pretty-printed or not: an item's line is where its `{` is;
* JSONL, one object per line: an item's line is its line.

A file that is malformed in its own shape gets an error with its position, `source:L: line L,
column C: what`, from `json.JSONDecodeError`'s own position and message; and a few mistakes
JSON alone would report confusingly get a plain name: an array that is never closed, two objects
on one JSONL line, an object spread over several JSONL lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkbenchError
from workbench.traits.drafts import fail

# What a JSON traits document starts with: `[` then an object, a list, a string or `]`; or `{`
# then a key or `}`. Stricter than "starts with [ or {" so that Markdown opening on a link
# (`[Intro](#intro)`) or a placeholder (`{model_name} is ...`) is never read as JSON.
_JSON_START = re.compile(r"[ \t\n\r]*(?:\[[ \t\n\r]*[\[{\]\"]|\{[ \t\n\r]*[\"}])")
_SPACE = re.compile(r"[ \t\n\r]*")


def looks_like_json(text: str) -> bool:
    """Whether `text` starts like a JSON array or a JSON object (so, JSONL)."""
    return _JSON_START.match(text) is not None


@dataclass(frozen=True)
class Item:
    """One object of a JSON or JSONL document, and where it is.

    Attributes:
        number: 1-based order among the document's objects.
        line: 1-based line where it starts.
        data: The object.
        source: The file name errors carry.
        shape: What the document should look like (errors' hint).
    """

    number: int
    line: int
    data: dict[str, Any]
    source: str
    shape: str

    def error(self, message: str) -> WorkbenchError:
        """`source:line: item N: message`, with the shape as the hint."""
        return fail(self.source, self.line, f"item {self.number}: {message}", self.shape)

    def text(self, key: str) -> str:
        """The non-empty string at `key`, stripped.

        Raises:
            WorkbenchError: missing, not a string, or blank.
        """
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{json.dumps(key)} must be a non-empty string.")
        return value.strip()

    def texts(self, key: str) -> list[str]:
        """The strings of the list at `key` (none when the key is absent), stripped, blanks dropped.

        Raises:
            WorkbenchError: present but not a list of strings.
        """
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{json.dumps(key)} must be a list of strings.")
        return [v.strip() for v in value if v.strip()]

    def extras(self, known: frozenset[str]) -> tuple[tuple[str, str], ...]:
        """The other keys whose values are strings, numbers or booleans, as chunk attributes."""
        return tuple(
            (key, value if isinstance(value, str) else json.dumps(value))
            for key, value in self.data.items()
            if key not in known and isinstance(value, str | int | float | bool)
        )


def json_items(text: str, source: str, shape: str) -> list[Item]:
    """The objects of a JSON array or of JSONL, in order, with their lines.

    Args:
        text: The document, newlines normalised.
        source: The file name errors carry.
        shape: One sentence saying what the document should look like (the errors' hint).

    Raises:
        WorkbenchError: the text is not valid JSON / JSONL (with line and column), or an item is
            not an object.
    """
    start = _SPACE.match(text).end()  # type: ignore[union-attr]  # matches the empty string at worst
    located = _array(text, start, source, shape) if text[start : start + 1] == "[" else _lines(text, source, shape)
    items = []
    for number, (line, value) in enumerate(located, start=1):
        if not isinstance(value, dict):
            raise fail(source, line, f"item {number}: must be a JSON object, not {_json_kind(value)}.", shape)
        items.append(Item(number, line, value, source, shape))
    return items


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return json.dumps(value) if isinstance(value, bool) or value is None else "a number"


def _position(text: str, pos: int) -> tuple[int, int]:
    """1-based (line, column) of offset `pos`, counted the way `json.JSONDecodeError` counts them."""
    return text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)


def _at(source: str, text: str, pos: int, message: str, hint: str) -> WorkbenchError:
    line, column = _position(text, pos)
    return fail(source, line, f"line {line}, column {column}: {message}", hint)


def _skip(text: str, pos: int) -> int:
    return _SPACE.match(text, pos).end()  # type: ignore[union-attr]


def _array(text: str, start: int, source: str, shape: str) -> list[tuple[int, Any]]:
    """(line, value) of each element of the JSON array opening at `start`.

    Walked element by element with `raw_decode`, not `json.loads` whole, so each element's line
    is known and an unclosed array is named as such rather than as "Expecting value".
    """
    decoder = json.JSONDecoder()
    found: list[tuple[int, Any]] = []
    pos = _skip(text, start + 1)
    closed = text[pos : pos + 1] == "]"  # `[]`
    while not closed:
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            if e.pos >= len(text):
                raise _at(source, text, len(text), "the JSON array is not closed.", shape) from None
            raise fail(source, e.lineno, f"line {e.lineno}, column {e.colno}: {e.msg}.", shape) from None
        found.append((_position(text, pos)[0], value))
        pos = _skip(text, end)
        closed = text[pos : pos + 1] == "]"
        if closed:
            continue
        if pos >= len(text):
            raise _at(source, text, pos, "the JSON array is not closed.", f"End it with ']'. {shape}")
        if text[pos] != ",":
            raise _at(source, text, pos, f"expected ',' or ']' after item {len(found)}.", shape)
        pos = _skip(text, pos + 1)
    rest = _skip(text, pos + 1)
    if rest < len(text):
        raise _at(source, text, rest, "text after the end of the JSON array.", shape)
    return found


def _lines(text: str, source: str, shape: str) -> list[tuple[int, Any]]:
    """(line, value) of each non-blank line of JSONL: one whole JSON value per line."""
    decoder = json.JSONDecoder()
    found: list[tuple[int, Any]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        start = _skip(line, 0)
        if start == len(line):
            continue
        try:
            value, end = decoder.raw_decode(line, start)
        except json.JSONDecodeError as e:
            # The decoder saw only this line: running off its end means the object goes on below.
            cut = " (the line ends inside the JSON object: JSONL holds one whole object per line)"
            message = f"line {number}, column {e.colno}: {e.msg}{cut if e.pos >= len(line) else ''}."
            raise fail(source, number, message, shape) from None
        after = _skip(line, end)
        if after < len(line):
            what = "a second JSON object starts here" if line[after] == "{" else "text after the JSON object"
            raise fail(source, number, f"line {number}, column {after + 1}: {what}.", f"One object per line. {shape}")
        found.append((number, value))
    return found
