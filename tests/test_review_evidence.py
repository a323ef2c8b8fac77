"""Where pattern evidence lies in a row's text, and how an undo's outcome is put in words (no app needed)."""

from __future__ import annotations

from workbench.app.review_history import plural, undo_message
from workbench.audit.lexical_rules import PhraseRule
from workbench.review_undo import UndoResult
from workbench.views.focus import PatternHit
from workbench.views.review_evidence import highlighted_text, hit_spans, phrase_spans

TEXT = "Bottom line: it works. The bottom-line answer is yes. Bottom\nline, again."


def test_a_phrase_matches_whole_words_ignoring_case_and_punctuation_where_its_rule_looks() -> None:
    words = ("bottom", "line")
    everywhere = phrase_spans(TEXT, PhraseRule(type="ngram", words=words))
    assert [TEXT[a:b] for a, b in everywhere] == ["Bottom line", "bottom-line", "Bottom\nline"]
    assert phrase_spans(TEXT, PhraseRule(type="opener", words=words)) == everywhere[:1]
    assert phrase_spans(TEXT, PhraseRule(type="closer", words=words)) == everywhere[-1:]
    assert phrase_spans("bottomline", PhraseRule(type="ngram", words=words)) == []


def test_spans_of_present_hits_merge_and_absent_ones_mark_nothing() -> None:
    quoted = PatternHit("p1", "Verdict first", "strict", "a", quotes=("line: it works",))
    phrase = PatternHit(
        "p2", "Says bottom line", "broad", "a", rule=PhraseRule(type="opener", words=("bottom", "line"))
    )
    absent = PatternHit("p3", "Says yes", "absent", "a", quotes=("answer is yes",))
    assert hit_spans(TEXT, [quoted, phrase, absent]) == [(0, 21)]  # "Bottom line" and "line: it works" overlap
    assert highlighted_text(TEXT, [absent]) is None
    marked = highlighted_text("<b>Bottom line</b>", [phrase])
    assert marked == "\\<b\\>:orange-background[Bottom line]\\<\\/b\\>"


def test_undo_messages_count_in_words_and_say_why_a_row_was_kept() -> None:
    assert [plural(1, "event"), plural(3, "event"), plural(0, "row")] == ["1 event", "3 events", "0 rows"]
    assert undo_message(UndoResult("b", 2, {})) == "Undone: 2 restored."
    kept = undo_message(UndoResult("b", 1, {"ex-1": "bob decided 'accept' on it since"}))
    why = "ex-1: bob decided 'accept' on it since"
    assert kept == f"Undone: 1 restored; 1 row kept as it is, changed since the decision ({why})."
    many = undo_message(UndoResult("b", 0, {f"ex-{i}": "its status is now ok" for i in range(5)}))
    assert "5 rows kept as they are" in many and "ex-2: its status is now ok; and 2 more" in many
