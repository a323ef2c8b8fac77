"""Traits documents: read them in any shape into chunks with stable ids, and diff two versions.

`read.py` reads the shapes that exist (model specs, numbered rules, constitutions, universe
contexts, and the workbench's own bullet format) and selects traits; `drafts.py` turns what a
reader found into chunks. `spec.py` reads model-spec Markdown (a principle per heading at the
detected or given trait level, `{#anchor}`s into attrs, `!!! meta` as guidance, footnotes
attached); `rules.py` numbered rules (`SP1: …`, `### GP2: …`, the id in attrs); `markdown.py` is
the block scanner they share with `parse.py`. In every Markdown shape, `boundaries.py` makes
lists of things not to do ("… would be unhappy if the assistant:", "Never:", a "Things to avoid"
heading, an item starting "Never"/"Don't") boundary chunks, never traits; guidance sections stay
guidance. The workbench's own format (`parse.py`; the store side lives in
`workbench.store.traits`):

- An optional first-line-of-content `# Title` names the document. Other headings (`##`, `###`, or a
  later `#`) group content; each chunk records its heading path (the H1 title is not part of it).
- A **trait** starts with a bullet at column 0 (`- ` or `* `). Indented lines and nested bullets
  below it, and a line directly under it without a blank line between, belong to it. Its text is
  the bullet's content plus those lines, dedented. Its title is a leading `**bold**` phrase (a
  trailing `:` or `.` stripped), else its first sentence, cut to 80 characters.
- A column-0 bullet that prohibits (see above) is a **boundary** (`boundary:<slug of title>`).
- **Guidance** (trade-offs, exceptions, when not to apply a trait, priorities): a heading whose
  text starts with guidance, holistic, trade-off, tradeoff, exception, when not, priorit,
  conflict or caveat (any case, leading numbering ignored) is a guidance heading, and so is every
  heading below one. Under it each column-0 bullet is one guidance chunk. Prose paragraphs of one
  section (guidance or not, e.g. an intro) together form one guidance chunk.
- Chunk `id` = sha256(kind + "\\n" + normalised text)[:16], normalised = trailing whitespace
  stripped per line and blank-line runs collapsed, so the same text has the same id in every
  version. Chunk `key` is the structural identity a diff pairs on: `trait:<slug of title>`, or
  `guidance:<slug of heading path>#<n>` counting 1, 2, ... in that section (`_top` when there
  is no heading). `line` is 1-based; `position` is the 1-based order in the document.
- A version's id = sha256 of the whole text with newlines normalised, [:16].

Errors name the source and line: empty document, no traits, a bullet with no text, duplicate
traits (same title ignoring case and punctuation, or same text). `read_traits_file` adds the
size (max 1,000,000 bytes) and UTF-8 checks.
"""

from workbench.traits.model import (
    CHUNK_KINDS,
    Chunk,
    ChunkChange,
    ChunkKind,
    ParsedDocument,
    VersionDiff,
    chunk_id,
    diff_versions,
    normalise_chunk_text,
    normalise_newlines,
    slugify,
    text_id,
)
from workbench.traits.parse import chunk_title, parse_traits
from workbench.traits.read import (
    FORMATS,
    MAX_FILE_BYTES,
    ReadOptions,
    detect_format,
    read_document,
    read_traits_file,
    trait_path,
)
from workbench.traits.sections import is_guidance_heading

__all__ = [
    "CHUNK_KINDS",
    "FORMATS",
    "MAX_FILE_BYTES",
    "Chunk",
    "ChunkChange",
    "ChunkKind",
    "ParsedDocument",
    "ReadOptions",
    "VersionDiff",
    "chunk_id",
    "chunk_title",
    "detect_format",
    "diff_versions",
    "is_guidance_heading",
    "normalise_chunk_text",
    "normalise_newlines",
    "parse_traits",
    "read_document",
    "read_traits_file",
    "slugify",
    "text_id",
    "trait_path",
]
