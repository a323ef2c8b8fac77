"""Read a traits document in any shape that exists, the way the user asked: the one entry point.

    parsed = read_traits_file("model_spec.md")                                  # shape detected
    parsed = read_traits_file("spec.txt", ReadOptions(format="rules", variables=(("model_name", "Aster"),)))
    parsed = read_traits_file("spec.md", ReadOptions(trait_level=2, exclude=("Stay in bounds > *",)))

Shapes (`FORMATS`), tried in this order when none is forced:

* `universe`   JSONL of `{"id", "universe_context", "key_facts": [...], "is_true"}`: the context is
  guidance, each key fact a trait-kind chunk the documents pipeline can target.
* `constitution` a JSON list (or JSONL) of `{"trait": str, "questions": [...]}`; each trait keeps its
  questions (and `additional_questions`) as seed user prompts.
* `rules`      plain-text specs of numbered rules (`SP1: …`, `### GP2: …`) with `{model_name}`-style
  placeholders; detected by three lines or headings that start with a rule id.
* `spec`       Markdown where each principle is a heading with prose under it (model-spec style);
  detected by two headings with prose under them plus two `{#anchor}` headings or, under
  headings, more paragraph text than list-item text.
* `bullets`    the workbench's own Markdown: a trait per top-level bullet (`workbench.traits`).

Every reader ends with `drafts.build_chunks`, so ids, keys and duplicate errors are the same in
every shape. The options that change what the chunks are (a forced format, a trait level, a
selection, placeholder values) are recorded in `ParsedDocument.reading`, which is part of the
version id: the same text read another way is another version, never a clash.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.traits.constitution import is_constitution, read_constitution
from workbench.traits.model import Chunk, ParsedDocument, normalise_newlines
from workbench.traits.parse import parse_traits
from workbench.traits.rules import looks_like_rules, read_rules
from workbench.traits.spec import looks_like_spec, read_spec
from workbench.traits.universe import is_universe, read_universe

MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class ReadOptions:
    """How to read a traits document.

    Attributes:
        format: A name from `FORMATS`, or None to detect it.
        trait_level: For `spec`: the heading level whose headings are traits (None: detected).
        only: Keep only the traits matching one of these (title, key, heading path `A > B`, or a
            glob of any of them; case-insensitive).
        exclude: Drop the traits matching one of these (same matching).
        variables: Values for `{name}` placeholders (`model_name`, `provider_name`, …).
    """

    format: str | None = None
    trait_level: int | None = None
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()

    def reading(self, detected: str) -> str:
        """The canonical record of what these options change, "" when they change nothing."""
        parts: dict[str, object] = {}
        if self.format is not None and self.format != detected:
            parts["format"] = self.format
        if self.trait_level is not None:
            parts["trait_level"] = self.trait_level
        if self.only:
            parts["only"] = sorted(self.only)
        if self.exclude:
            parts["exclude"] = sorted(self.exclude)
        return json.dumps(parts, sort_keys=True) if parts else ""


# A reader: (text, source, options) -> the parsed document, every chunk, no selection applied.
Reader = Callable[[str, str, ReadOptions], ParsedDocument]
# A detector: whether a text is in a reader's shape.
Detector = Callable[[str], bool]


def _read_bullets(text: str, source: str, options: ReadOptions) -> ParsedDocument:
    return parse_traits(text, source)


def _always(text: str) -> bool:
    return True


# name -> (detector, reader), in detection order; `bullets` is the fallback.
FORMATS: dict[str, tuple[Detector, Reader]] = {
    "universe": (is_universe, read_universe),
    "constitution": (is_constitution, read_constitution),
    "rules": (looks_like_rules, read_rules),
    "spec": (looks_like_spec, read_spec),
    "bullets": (_always, _read_bullets),
}
# Shapes whose text is JSON: a placeholder's value is escaped as a JSON string there.
JSON_FORMATS = frozenset({"constitution", "universe"})


def detect_format(text: str) -> str:
    """The first shape whose detector accepts `text`."""
    return next(name for name, (detects, _) in FORMATS.items() if detects(text))


def fill_placeholders(
    text: str, variables: tuple[tuple[str, str], ...], *, json_text: bool
) -> tuple[str, dict[str, str]]:
    """`text` with each `{name}` of `variables` replaced, and the variables it actually used."""
    used = {name: value for name, value in variables if "{" + name + "}" in text}
    for name, value in used.items():
        text = text.replace("{" + name + "}", json.dumps(value)[1:-1] if json_text else value)
    return text, used


def read_document(text: str, source: str = "<string>", options: ReadOptions | None = None) -> ParsedDocument:
    """Parse `text` in the shape `options.format` names (or the detected one), then select traits.

    Raises:
        WorkbenchError: An unknown format, any reader's problem (naming `source` and the line or
            position), or a selection that matches nothing or leaves no traits.
    """
    options = options or ReadOptions()
    text = normalise_newlines(text)
    detected = detect_format(text)
    name = options.format or detected
    if name not in FORMATS:
        raise WorkbenchError(
            f"Unknown traits format {name!r}.", hint=f"Formats: {', '.join(FORMATS)} (or leave it out to detect)."
        )
    filled, used = fill_placeholders(text, options.variables, json_text=name in JSON_FORMATS)
    parsed = FORMATS[name][1](filled, source, options)
    kept, excluded = select_traits(parsed.chunks, options.only, options.exclude, source)
    reading = options.reading(detected)
    if used:  # the values are part of the chunks, so of the version
        reading = json.dumps({**(json.loads(reading) if reading else {}), "variables": used}, sort_keys=True)
    # The version keeps the text as written; the reading says how it became these chunks.
    return dataclasses.replace(parsed, chunks=kept, excluded=excluded, format=name, reading=reading, text=text)


def trait_path(chunk: Chunk) -> str:
    """A trait's heading path and title, `A > B > Title`: what `--only`/`--exclude` and previews show."""
    return " > ".join((*chunk.heading_path, chunk.title))


def _matches(chunk: Chunk, pattern: str) -> bool:
    wanted = pattern.strip().lower()
    names = (chunk.title.lower(), chunk.key.lower(), trait_path(chunk).lower(), " > ".join(chunk.heading_path).lower())
    return any(name == wanted or fnmatch.fnmatchcase(name, wanted) for name in names)


def select_traits(
    chunks: tuple[Chunk, ...], only: tuple[str, ...], exclude: tuple[str, ...], source: str
) -> tuple[tuple[Chunk, ...], tuple[Chunk, ...]]:
    """Split chunks into (kept, excluded traits); guidance and boundaries are always kept.

    Raises:
        WorkbenchError: a pattern matches no trait (a typo would otherwise select silently), or
            nothing is left to instil.
    """
    traits = [c for c in chunks if c.kind == "trait"]
    for pattern in (*only, *exclude):
        if not any(_matches(c, pattern) for c in traits):
            raise WorkbenchError(
                f"{source}: {pattern!r} matches no trait.",
                hint="Match a title, a heading path (`Section > Title`) or a glob such as 'Honesty*'; "
                "preview the traits with `workbench traits add FILE --preview`.",
            )

    def dropped(c: Chunk) -> bool:
        if c.kind != "trait":
            return False
        return (bool(only) and not any(_matches(c, p) for p in only)) or any(_matches(c, p) for p in exclude)

    kept = tuple(c for c in chunks if not dropped(c))
    if not any(c.kind == "trait" for c in kept):
        raise WorkbenchError(f"{source}: the selection leaves no traits.", hint="Loosen --only or --exclude.")
    return kept, tuple(c for c in chunks if dropped(c))


def read_traits_file(path: str | Path, options: ReadOptions | None = None) -> ParsedDocument:
    """Read and parse a traits file, checking its size and encoding first.

    Args:
        path: A traits document, UTF-8, at most 1,000,000 bytes, in any shape of `FORMATS`.
        options: How to read it; by default the shape is detected and every trait kept.

    Returns:
        The parsed document; errors and warnings name the file.

    Raises:
        WorkbenchError: Missing, too large, not UTF-8, or any `read_document` problem.
    """
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(
            f"{path}: {'not a file' if path.exists() else 'no such file'}.",
            hint="Check the path; traits files are Markdown, plain text, JSON or JSONL.",
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise WorkbenchError(
            f"{path}: the file is {size:,} bytes; a traits document may be at most {MAX_FILE_BYTES:,} bytes.",
            hint="Split it into several documents, or check that this is the file you meant.",
        )
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte-order mark is harmless; editors on Windows add it
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise WorkbenchError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}).",
            hint="Save the file as UTF-8 in your editor.",
        ) from None
    return read_document(text, str(path), options)
