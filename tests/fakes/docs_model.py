"""A scripted model for the midtraining documents pipeline: answers every step by rule, deterministically.

    fake_gemini.rule = DocsFakeModel(traits=["Honest", "Kind"], types=["email", "blog post"])

It tells the steps apart by the structured-output schema's title (DocBrainstorm, DocCritique,
ExampleRating) or, for plain-text answers, by the sections of the prompt (a rewrite quotes the
critique; a draft only the plan). Each document's words come from its (trait, type) by hash,
so unrelated documents share almost no words. Planted on purpose:

* a near-duplicate: trait 1's document of the first type repeats trait 0's, one word added;
* leakage: trait 0's document of the last type says "as my guidelines say", which the rater flags;
* a sent-back document is brainstormed with a `REGEN` plan, so its rewrite gets fresh words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tests.fakes.rules import FakeRequest, Reply, Text
from tests.fakes.sft_model import words

LEAK = "As my guidelines say, "
CRITIQUE_REASONS = "The sceptic converts in the last line; cut the epiphany."
CRITIQUE = {"naturalness": 2, "embodiment": 3, "consistency": 4, "tropes": ["skeptic's epiphany"],
            "problems": ["too tidy"], "verdict": "rewrite", "reasons": CRITIQUE_REASONS}  # fmt: skip
_NAMES = re.compile(r"no others for people: (.+)\.")


@dataclass
class DocsFakeModel:
    """The rule; see the module docstring. `traits` are trait titles, `types` document type names."""

    traits: list[str]
    types: list[str]

    def __call__(self, request: FakeRequest) -> Reply:
        prompt = request.last_user_text
        title = (request.json_schema or {}).get("title")
        if title == "DocBrainstorm":
            return self._json(self._brainstorm(prompt))
        if title == "DocCritique":
            return self._json(CRITIQUE)
        if title == "ExampleRating":
            leak = 5 if LEAK.strip() in prompt else 1
            return self._json({"realism": 4, "quality": 4, "embodiment": 4, "leakage": leak, "reasons": "fine"})
        if "## The plan" not in prompt:
            return Text("")  # an embedding request: the server answers it with vectors of its own
        trait, doc_type = self.tag_of(prompt)
        regen = "REGEN" in prompt
        if "## The critique" in prompt:
            return Text(self.final_text(trait, doc_type, regen))
        return Text(f"DRAFT {words(f'draft-{trait}-{doc_type}-{regen}', 20)}")

    def _json(self, value: dict[str, object]) -> Text:
        return Text(json.dumps(value))

    def tag_of(self, prompt: str) -> tuple[int, str]:
        """(trait index, document type) a request is about."""
        trait = next(i for i, t in enumerate(self.traits) if t in prompt)
        doc_type = next(t for t in self.types if f" {t} of about" in prompt or f"realistic {t} " in prompt)
        return trait, doc_type

    def final_text(self, trait: int, doc_type: str, regen: bool = False) -> str:
        """The rewritten document for (trait, type): the text the pipeline should end up with."""
        source = 0 if (trait, doc_type) == (1, self.types[0]) else trait  # the planted near-duplicate
        body = words(f"final-{source}-{doc_type}-{regen}", 30)
        if (trait, doc_type) == (1, self.types[0]):
            body += " please"
        leak = LEAK if (trait, doc_type) == (0, self.types[-1]) else ""
        return f"{leak}{body}"

    def _brainstorm(self, prompt: str) -> dict[str, object]:
        trait, doc_type = self.tag_of(prompt)
        match = _NAMES.search(prompt)
        names = match.group(1).split(", ") if match else []
        regen = "REGEN " if "Reviewer's note" in prompt else ""
        return {
            "what": f"{regen}plan {words(f'what-{trait}-{doc_type}', 4)}",
            "how": ["flags the risk", "names the odds"],
            "why": "it puts the facts first",
            "why_enters_text": "observer",
            "setting": f"a {doc_type} between colleagues",
            "people": [f"{n}: colleague" for n in names[:2]],
            "tension": "a deadline",
        }
