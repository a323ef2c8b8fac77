"""A generated traits document near the 1 MB limit, for bench/traits_add.py and tests/test_traits_bulk.py."""

from __future__ import annotations

WORDS = ["candid", "careful", "warm", "plain", "patient", "curious", "steady", "honest", "brief", "exact"]


def large_traits_document(traits: int = 4000, sections: int = 40) -> str:
    """Markdown with `traits` distinct traits spread over `sections` sections, each followed by guidance.

    Every trait has a unique bold title and a few sentences of body, some with an indented
    example, so the parser meets the shapes a real long document has. 4,000 traits make ~990 KB.
    """
    lines = ["# A very long traits document", ""]
    per_section = -(-traits // sections)
    for n in range(traits):
        if n % per_section == 0:
            section = n // per_section
            lines += [f"## Section {section}", "", f"Prose opening section {section}, read as guidance.", ""]
        word = WORDS[n % len(WORDS)]
        lines.append(
            f"- **Trait {n} is {word}.** Says how it is {word} in case {n}, and why that matters to the "
            f"person asking. It keeps to the point, names what it does not know, and offers a next step "
            f"that fits reply {n}."
        )
        if n % 5 == 0:
            lines += ["", f"  For example: a person asks about case {n}; the answer stays {word}.", ""]
        if n % per_section == per_section - 1:
            lines += ["", f"### Trade-offs in section {section}", "", f"- Weigh case {n} against the rest.", ""]
    return "\n".join(lines) + "\n"
