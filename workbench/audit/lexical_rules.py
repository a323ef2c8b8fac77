"""Lexical rules: deterministic criteria that DuckDB decides exactly, with no model call.

    rule = PhraseRule(type="opener", words=["bottom", "line"])
    criteria = rule_criteria(rule)            # the name, broad and strict text a person reads
    written = rate_lexical(con, [(pattern_id, criteria_hash, rule)], text_hashes, run_id)

A rule reads the *answer* of a row (`formats.assistant_text_sql`: a transcript's last assistant
turn, or a document's text) as lower-case words (letters and digits, with inner apostrophes;
punctuation and case are ignored). Each kind has a strict and a broad test, strict implying broad:

* `opener` — strict: the answer's first words are the phrase; broad: the phrase is anywhere in
  its first sentence.
* `closer` — strict: the answer's last words are the phrase; broad: anywhere in its last sentence.
* `ngram` — the phrase occurs anywhere; a fixed phrase has no looser form, so broad is strict.
* `feature` — a structure feature (`FEATURES`: headings, lists, bold, a final question, length…),
  each with its own strict and broad test.

Discovery (`lexical.py`) counts rows by the strict test, so a finding's document frequency is
exactly the strict prevalence the same rule gets when rated over the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from workbench.audit.formats import assistant_text_sql
from workbench.generate.steps import stable_id

WORDS = r"[\pL\pN]+(?:['’][\pL\pN]+)*"  # a word: letters and digits, with inner apostrophes
SENTENCE_BREAK = r"(?:[.!?]+\s+|\n+)"  # where a sentence ends: . ! ? then whitespace, or a line break


def sql_literal(value: str) -> str:
    """A constant of this module as a SQL string literal (regexes stay constants, so DuckDB compiles them once)."""
    return "'" + value.replace("'", "''") + "'"


def _words(expr: str) -> str:
    return f"regexp_extract_all(lower({expr}), {sql_literal(WORDS)})"


def _padded(words: str) -> str:
    """Words joined with single spaces and a space at each end, so a phrase matches whole words only."""
    return f"(' ' || array_to_string({words}, ' ') || ' ')"


def analysed_rows_sql(source: str, key: str) -> str:
    """A query of `source` (a relation with `text` and the column `key`) giving per row: the key,
    `answer`, its `words`, and the padded word strings of the whole answer (`padded`), its first
    sentence (`first_padded`) and its last (`last_padded`). `source` and `key` are trusted SQL."""
    sentences = (
        f"list_filter(regexp_split_to_array(trim(answer), {sql_literal(SENTENCE_BREAK)}), lambda s: trim(s) <> '')"
    )
    return (
        f"SELECT {key}, answer, words, {_padded('words')} AS padded,"
        f" {_padded(_words('sentences[1]'))} AS first_padded, {_padded(_words('sentences[-1]'))} AS last_padded"
        f" FROM (SELECT *, {_words('answer')} AS words, {sentences} AS sentences"
        f" FROM (SELECT {key}, {assistant_text_sql('text')} AS answer FROM {source}))"
    )


@dataclass(frozen=True)
class Feature:
    """A structure feature: SQL tests over `answer` and `words`, and what they mean in words."""

    label: str  # the pattern's name
    strict_sql: str
    broad_sql: str
    strict: str
    broad: str


def _lines(regex: str) -> str:
    return f"len(regexp_extract_all(answer, {sql_literal(regex)}))"


_BULLET, _NUMBERED = r"(?m)^[ \t]*[-*+•][ \t]+\S", r"(?m)^[ \t]*\d+[.)][ \t]+\S"
_HEADING, _BOLD_LINE = r"(?m)^[ \t]*#{1,6}[ \t]+\S", r"(?m)^[ \t]*\*\*[^*\n]+\*\*:?[ \t]*$"
_BOLD, _EMPHASIS = r"\*\*[^*\n]+\*\*|__[^_\n]+__", r"(?:^|[^*\w])\*[^*\s][^*\n]*\*|(?:^|\W)_[^_\s][^_\n]*_"
_EMOJI = r"[\x{1F300}-\x{1FAFF}\x{2600}-\x{27BF}]"
_LENGTHS = {"short": (0, 50), "medium": (50, 200), "long": (200, 500), "very_long": (500, None)}


def _length(low: int, high: int | None, slack: float) -> str:
    """`len(words)` within [low, high), widened by `slack` of the bounds on each side."""
    lower = f"len(words) >= {int(low * (1 - slack))}"
    return lower if high is None else f"{lower} AND len(words) < {int(high * (1 + slack))}"


def _length_feature(name: str, low: int, high: int | None) -> Feature:
    words = f"{low}–{high - 1} words" if high is not None else f"{low} words or more"
    return Feature(
        f"Length: {name.replace('_', ' ')} ({words})", _length(low, high, 0), _length(low, high, 0.2),
        f"The answer has {words}.", f"The answer has {words}, give or take a fifth of the bounds.",
    )  # fmt: skip


FEATURES: dict[str, Feature] = {
    "heading": Feature(
        "Uses Markdown headings", f"regexp_matches(answer, {sql_literal(_HEADING)})",
        f"regexp_matches(answer, {sql_literal(_HEADING + '|' + _BOLD_LINE)})",
        "A line is a Markdown heading (# to ######).", "A line is a Markdown heading or a line wholly in bold.",
    ),
    "bullet_list": Feature(
        "Uses a bullet list", f"{_lines(_BULLET)} >= 2", f"{_lines(_BULLET)} >= 1",
        "Two or more lines start with a bullet (-, *, +, •).", "A line starts with a bullet.",
    ),
    "numbered_list": Feature(
        "Uses a numbered list", f"{_lines(_NUMBERED)} >= 2", f"{_lines(_NUMBERED)} >= 1",
        "Two or more lines start with a number and '.' or ')'.", "A line starts with a number and '.' or ')'.",
    ),
    "bold": Feature(
        "Uses bold text", f"regexp_matches(answer, {sql_literal(_BOLD)})",
        f"regexp_matches(answer, {sql_literal(_BOLD + '|' + _EMPHASIS)})",
        "Some text is in bold (**…** or __…__).", "Some text is in bold or italics.",
    ),
    "ends_with_question": Feature(
        "Ends with a question", "ends_with(rtrim(answer), '?')", "contains(answer, '?')",
        "The answer's last character is a question mark.", "The answer contains a question mark.",
    ),
    "exclamations": Feature(
        "Exclaims", "len(answer) - len(replace(answer, '!', '')) >= 2", "contains(answer, '!')",
        "Two or more exclamation marks.", "An exclamation mark.",
    ),
    "em_dash": Feature(
        "Uses em dashes", "contains(answer, '—')",
        "contains(answer, '—') OR contains(answer, ' – ') OR contains(answer, ' -- ')",
        "An em dash (—).", "An em dash, or a spaced en dash or double hyphen standing for one.",
    ),
    "emoji": Feature(
        "Uses emoji", f"regexp_matches(answer, {sql_literal(_EMOJI)})", "false",
        "An emoji.", "An emoji (no looser form).",
    ),
    "code_block": Feature(
        "Uses code blocks", "contains(answer, '```')", "contains(answer, '`')",
        "A fenced code block (```).", "A code block or inline code (`…`).",
    ),
    **{f"length_{name}": _length_feature(name, low, high) for name, (low, high) in _LENGTHS.items()},
}  # fmt: skip


class PhraseRule(BaseModel):
    """A phrase at the start, at the end, or anywhere in the answer."""

    model_config = ConfigDict(frozen=True)

    type: Literal["opener", "closer", "ngram"] = Field(description="Where the phrase must be.")
    words: tuple[str, ...] = Field(min_length=1, description="The phrase as lower-case words, in order.")

    @property
    def phrase(self) -> str:
        return " ".join(self.words)


class FeatureRule(BaseModel):
    """A structure feature of the answer."""

    model_config = ConfigDict(frozen=True)

    type: Literal["feature"] = Field(description="Always 'feature'.")
    feature: str = Field(description=f"One of: {', '.join(FEATURES)}.")

    @field_validator("feature")
    @classmethod
    def _known(cls, feature: str) -> str:
        if feature not in FEATURES:
            raise ValueError(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")
        return feature


Rule = Annotated[PhraseRule | FeatureRule, Field(discriminator="type")]
RULE: TypeAdapter[PhraseRule | FeatureRule] = TypeAdapter(Rule)


def rule_json(rule: PhraseRule | FeatureRule) -> str:
    """The rule as canonical JSON: what pattern ids and criteria hashes are made from."""
    return json.dumps(rule.model_dump(), sort_keys=True)


def rule_id(rule: PhraseRule | FeatureRule) -> str:
    """A short hash of the rule (ratings are written under generation id `lexical:<this>`)."""
    return stable_id("rule", rule_json(rule))


@dataclass(frozen=True)
class Criteria:
    """What a rule means in words, as an LLM pattern's criteria read."""

    name: str
    kind: str  # the pattern kind: rhetorical (phrasing) or structural (layout, length)
    strict: str
    broad: str


def rule_criteria(rule: PhraseRule | FeatureRule) -> Criteria:
    """The name, kind and broad and strict criteria of a rule, in words."""
    if isinstance(rule, FeatureRule):
        feature = FEATURES[rule.feature]
        return Criteria(feature.label, "structural", feature.strict, feature.broad)
    quoted = f'"{rule.phrase}"'
    if rule.type == "opener":
        return Criteria(f"Opens with {quoted}", "rhetorical", f"The answer's first words are {quoted}.",
                        f"{quoted} appears in the answer's first sentence.")  # fmt: skip
    if rule.type == "closer":
        return Criteria(f"Ends with {quoted}", "rhetorical", f"The answer's last words are {quoted}.",
                        f"{quoted} appears in the answer's last sentence.")  # fmt: skip
    strict = f"The words {quoted} appear in this order, together, anywhere in the answer."
    return Criteria(f"Says {quoted}", "rhetorical", strict, strict + " (A fixed phrase: broad is strict.)")


def rule_sql(rule: PhraseRule | FeatureRule) -> tuple[str, str, list[Any]]:
    """(strict, broad) SQL conditions over `analysed_rows_sql`'s columns, and their parameters in order."""
    if isinstance(rule, FeatureRule):
        feature = FEATURES[rule.feature]
        return feature.strict_sql, f"({feature.strict_sql}) OR ({feature.broad_sql})", []
    phrase = f" {rule.phrase} "
    if rule.type == "opener":
        return "starts_with(padded, ?)", "starts_with(padded, ?) OR contains(first_padded, ?)", [phrase] * 3
    if rule.type == "closer":
        return "ends_with(padded, ?)", "ends_with(padded, ?) OR contains(last_padded, ?)", [phrase] * 3
    return "contains(padded, ?)", "contains(padded, ?)", [phrase] * 2


def rate_lexical(
    con: duckdb.DuckDBPyConnection, patterns: Sequence[tuple[str, str, PhraseRule | FeatureRule]],
    text_hashes: Sequence[str],
) -> int:  # fmt: skip
    """Rate every stored row text among `text_hashes` against each (pattern id, criteria hash, rule).

    The texts are read from `audit_rows` (every rated row is stored there) and analysed once; each
    pattern is then one INSERT ... SELECT. Pairs already rated are left alone. Returns the ratings
    written.
    """
    if not patterns or not text_hashes:
        return 0
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lexical_rows AS "
        + analysed_rows_sql(
            "(SELECT DISTINCT text_hash, text FROM audit_rows WHERE text_hash IN (SELECT unnest(?::VARCHAR[])))",
            "text_hash",
        ),
        [list(set(text_hashes))],
    )
    written = 0
    for pattern_id, criteria_hash, rule in patterns:
        strict, broad, params = rule_sql(rule)
        found = con.execute(
            "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
            f" SELECT ?, ?, text_hash, CASE WHEN {strict} THEN 'strict' WHEN {broad} THEN 'broad' ELSE 'absent' END, ?"
            " FROM lexical_rows ON CONFLICT DO NOTHING",
            [pattern_id, criteria_hash, *params, f"lexical:{rule_id(rule)}"],
        ).fetchone()
        written += found[0] if found else 0
    con.execute("DROP TABLE lexical_rows")
    return written
