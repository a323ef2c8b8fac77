"""Markdown that shows text exactly as written, for the few places Streamlit only takes Markdown.

    st.expander(f"Trait: {markdown_literal(title)}")

Labels (expanders, captions) and the eval transcript's highlights are Markdown in Streamlit. Text
from the store goes through `markdown_literal` first, so no markup, HTML, link or emoji in it
ever renders.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = frozenset(string.punctuation)
# Streamlit rewrites some text after Markdown parsing, where a backslash escape no longer helps:
# emoji and icon shortcodes (":smile:"), links from bare URLs and e-mail addresses, and arrows
# ("->" to "→"). An invisible word joiner (U+2060) after ":" and "@", after "www" and between the
# characters of an arrow keeps those sequences literal.
_JOINER = re.compile(r"(?<=[:@])|(?<=www)(?=\.)|(?<=[-<>~])(?=[->=])", re.IGNORECASE)
_RUN_OF_SPACES = re.compile(r"(?m)^ +| {2,}")


def markdown_literal(text: str, *, line_start: bool = True) -> str:
    """Markdown that Streamlit renders as exactly `text`: no markup, HTML, links, emoji, math or arrows.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows it for all of them),
    the sequences Streamlit rewrites after parsing get a word joiner, spaces that Markdown would drop
    (at the start of a line, or in a run) become non-breaking spaces and each line break a hard break,
    so the text keeps its layout.

    Args:
        text: The text.
        line_start: Whether `text` starts a line (False for a piece that continues one).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = _JOINER.sub("\u2060", text)
    text = "".join(f"\\{c}" if c in _PUNCTUATION else c for c in text)
    text = _RUN_OF_SPACES.sub(lambda m: _keep_spaces(m, line_start), text)
    return text.replace("\n", "  \n")


def _keep_spaces(match: re.Match[str], line_start: bool) -> str:
    spaces = match.group()
    dropped = len(spaces) > 1 or match.start() > 0 or line_start  # one space inside a line survives as it is
    return "\u00a0" * len(spaces) if dropped else spaces
