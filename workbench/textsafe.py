"""Stored text made safe to print on a terminal: control characters shown escaped, not obeyed.

    console.print(Text(printable(row["response"])))
    table.add_row(plain(row["title"]))          # the same, as a rich Text

Model output, imported rows and reviewers' notes may hold terminal escape sequences (ESC[2J
clears the screen, OSC 8 makes hyperlinks, OSC 0 retitles the window) or C1 controls, which a
terminal would act on. The CLI prints such text through `printable`, which writes each C0 and C1
control character (and DEL) as `\\xNN`, keeping newlines, tabs and all other Unicode as they are:
the terminal counterpart of the app showing stored HTML literally. Rich markup is a separate
matter: stored text still goes to the console as `rich.text.Text`, never as a markup string.
"""

from __future__ import annotations

from rich.text import Text

_KEPT = {"\n", "\t"}
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(code) not in _KEPT}


def printable(text: str) -> str:
    """`text` with every control character except newline and tab written as `\\xNN`.

    Args:
        text: Any stored or generated text.

    Returns:
        The same text, safe to write to a terminal; unchanged when it holds no control characters.
    """
    return text.translate(_ESCAPES)


def plain(value: object, style: str = "") -> Text:
    """`value` as text for a rich console: control characters escaped, square brackets not markup."""
    return Text(printable(str(value)), style=style)
