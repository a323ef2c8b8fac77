"""Where a row's pattern hits show in its text: the spans to highlight on the review card.

    markdown = highlighted_text(item.fields["response"], item.hits)   # None when nothing matches
    if markdown is not None:
        st.markdown(markdown)   # the text literally, the matching spans on an orange background

An LLM pattern's evidence is the verified quotes its scans gave for this row (`PatternHit.quotes`);
a lexical pattern's is its phrase, matched as its rule reads words (case and punctuation ignored):
an opener's first occurrence, a closer's last, an n-gram's every one. Structure features (lists,
length) have no span. The Markdown comes from workbench.views.evals' `highlighted_markdown`, which
escapes every piece, so stored text never renders as markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workbench.audit.lexical_rules import PhraseRule
from workbench.views.evals import cut, highlighted_markdown, merged_spans, quote_spans
from workbench.views.focus import PatternHit

# Between two words of a phrase: anything that is not a word character (the rule ignores punctuation).
_GAP = r"[\W_]+"


def phrase_spans(text: str, rule: PhraseRule) -> list[tuple[int, int]]:
    """Where a lexical rule's phrase occurs in `text` as whole words: the occurrences its rule type looks at."""
    pattern = r"(?<!\w)" + _GAP.join(re.escape(word) for word in rule.words) + r"(?!\w)"
    found = [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]
    if not found or rule.type == "ngram":
        return found
    return [found[0]] if rule.type == "opener" else [found[-1]]


def hit_spans(text: str, hits: Iterable[PatternHit]) -> list[tuple[int, int]]:
    """Every span of `text` that a present (strict or broad) hit points at, merged and in order."""
    present = [h for h in hits if h.level != "absent"]
    spans = quote_spans(text, [q for h in present for q in h.quotes])
    for hit in present:
        if isinstance(hit.rule, PhraseRule):
            spans += phrase_spans(text, hit.rule)
    return merged_spans(spans)


def highlighted_text(text: str, hits: Iterable[PatternHit]) -> str | None:
    """`text` as escaped Markdown with the hits' spans highlighted, or None when no hit matches in it."""
    spans = hit_spans(text, hits)
    return highlighted_markdown(cut(text, spans)) if spans else None
