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


VALUES = ["honesty", "care", "autonomy", "privacy", "craft", "safety", "humility", "fairness", "patience", "clarity"]


def _principle(part: int, n: int) -> list[str]:
    """One `###` principle: prose, and by turns a neutral list, a fenced example or an `Examples` sub-heading."""
    word, topic = WORDS[(part + n) % len(WORDS)], VALUES[part % len(VALUES)]
    prose = (
        f"The assistant stays {word} when {topic} is at stake in case {part}.{n}. It reads what the person "
        f"needs, weighs the {topic} of everyone the reply touches, and says plainly what it will and will "
        f"not do, because a reply that hides its reasons is harder to trust and harder to correct later."
    )
    lines = [
        f"### Principle {part}.{n}: {word} {topic} in case {n}",
        "",
        prose,
        "",
        prose.replace("It reads", "It rereads"),
        "",
    ]
    if n % 3 == 0:
        lines += [
            "In practice it:",
            "",
            f"- names the {topic} question of case {part}.{n} first",
            f"- keeps case {part}.{n} short",
            "",
        ]
    if n % 4 == 1:
        lines += [
            "```",
            f"User: a question about {topic} number {part}.{n}",
            f"Assistant: a {word} answer to it",
            "```",
            "",
        ]
    if n % 5 == 2:
        lines += [
            "#### Examples",
            "",
            f"A person asks about {topic} in case {part}.{n}; the reply stays {word}. " * 3,
            "",
        ]
    return lines


def large_constitution_document(parts: int = 16, principles: int = 16) -> str:
    """A constitution-like Markdown document of mixed headings, lists and prose (~200 KB by default).

    One `# Title`; `parts` `## Part` sections, each with an intro (guidance) ending in an
    "unhappy if" list of 3 anti-patterns, `principles` `###` principles (prose, some with neutral
    lists, fenced examples and `####` sub-headings) and a `### Things to avoid in part N` section;
    every third part a `### Trade-offs` section; a final `## Hard constraints` part with a
    "never:" list of 4 items. So it holds parts * principles traits and 4 * parts + 4 boundaries.
    """
    lines = ["# A long constitution", "", "This constitution describes an assistant in many parts. " * 8, ""]
    for part in range(parts):
        topic = VALUES[part % len(VALUES)]
        lines += [f"## Part {part}: {topic}", "", f"Part {part} is about {topic}, read as guidance. " * 6, ""]
        lines += ["A thoughtful reviewer would be unhappy if the assistant:", ""]
        lines += [f"- treats {topic} as an afterthought in part {part} (pattern {k})" for k in range(3)] + [""]
        for n in range(principles):
            lines += _principle(part, n)
        lines += [f"### Things to avoid in part {part}", "", f"Dropping {topic} to please someone in part {part}.", ""]
        if part % 3 == 0:
            lines += [
                f"### Trade-offs in part {part}",
                "",
                f"When {topic} pulls against speed in part {part}, {topic} wins.",
                "",
            ]
    lines += ["## Hard constraints", "", "Whatever it is asked, the assistant should never:", ""]
    lines += [f"- give real uplift to an attack of kind {k} meant to cause mass casualties" for k in range(4)]
    return "\n".join(lines) + "\n"


AREAS = ["ledgers", "tides", "orchards", "kilns", "ferries", "archives", "beehives", "looms", "quarries", "lanterns"]


def long_guidance_document(areas: int = 40, paragraphs: int = 12, traits: int = 2) -> str:
    """A spec of mostly guidance prose (~270 KB by default), with traits and boundaries in every area.

    Each `## Area s` opens with `paragraphs` paragraphs of guidance, each marked `GUIDE-s-p` and
    written in the area's own words, then an "unhappy if" list of one boundary (`LIMIT-s`) and
    `traits` `###` principles titled `Keeper s.t`. The guidance is far larger than any prompt
    budget, as a real spec's is; the boundaries, `areas` short items, are not.
    """
    lines = ["# A long spec of mostly guidance", "", "The document explains itself first. " * 4, ""]
    for a in range(areas):
        area = AREAS[a % len(AREAS)]
        lines += [f"## Area {a}: {area} {a}", ""]
        for n in range(paragraphs):
            body = " ".join(f"Note {n} weighs the {area} of area {a} with care." for _ in range(10))
            lines += [f"GUIDE-{a}-{n}: {body}", ""]
        lines += ["A thoughtful reviewer would be unhappy if the assistant:", ""]
        lines += [f"- neglects the {area} of area {a} to please someone (LIMIT-{a})", ""]
        for t in range(traits):
            lines += [f"### Keeper {a}.{t}", "", f"It tends the {area} of area {a} with care, and says so (t{t}).", ""]
    return "\n".join(lines) + "\n"
