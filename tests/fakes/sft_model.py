"""A scripted model for the SFT pipeline: answers every step's request by rule, deterministically.

    fake = SFTFakeModel(traits=["Honest", "Kind"], personas=["p0", "p1", "p2", "p3"])
    fake_gemini.rule = fake

It recognises each step by what the pipeline sends (the structured-output schema's title, or
which system prompt came with the request) and plants, on purpose:

* a near-duplicate: trait 1's scenario for persona 0 repeats trait 0's with one word added;
* a revision: the critic asks to revise trait 0 / persona 1 once, then keeps the rewrite;
* a drop: the critic drops trait 1 / persona 2;
* leakage: the answer to trait 0 / persona 2 says "as my guidelines say", which the rater flags;
* with `echo_within_trait`, trait 0 / persona 3 first repeats trait 0 / persona 0 (a near-duplicate
  inside one trait, which generation itself must catch and retry).

Each scenario's user prompt carries a tag `ref-T-P` (trait index, persona index), so later
steps know which scenario they are answering without keeping state. Texts are drawn from a
pseudo-word vocabulary by hash, so unrelated prompts share almost no words.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from tests.fakes.rules import FakeRequest, Reply, Text
from workbench.prompts import load_template

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pu", "da", "fi", "go", "he", "ju", "wy"]
LEAK = "As my guidelines say, "
_TAG = re.compile(r"ref-(\d+)-(\d+)")


def words(seed: str, n: int = 14) -> str:
    """`n` pseudo-words chosen by hashing `seed` (4096 possible words)."""
    digest = hashlib.sha256(seed.encode()).digest() * 2
    out = []
    for i in range(n):
        a, b = digest[2 * i], digest[2 * i + 1]
        out.append(_SYLLABLES[a % 16] + _SYLLABLES[a // 16] + _SYLLABLES[b % 16] + _SYLLABLES[b // 16 % 16])
    return " ".join(out)


def _first_line(template: str) -> str:
    """The first line of a built-in template's body: how the fake tells system prompts apart."""
    body = load_template(template).text.split("#}", 1)[-1]
    return next(line for line in body.splitlines() if line.strip())[:40]


@dataclass
class SFTFakeModel:
    """The rule; see the module docstring. `traits` are trait titles, `personas` axis values."""

    traits: list[str]
    personas: list[str]
    echo_within_trait: bool = False
    conditioned_marker: str = field(default_factory=lambda: _first_line("conditioned_system"))
    rejected_marker: str = field(default_factory=lambda: _first_line("rejected_system"))

    def __call__(self, request: FakeRequest) -> Reply:
        prompt = request.last_user_text
        title = (request.json_schema or {}).get("title")
        if title == "ScenarioDraft":
            return self._json(self._scenario(prompt))
        if title == "ScenarioCritique":
            return self._json(self._critique(prompt))
        if title == "RejectedCheck":
            return self._json({"embodies_trait": False, "reasons": "It never shows the trait."})
        if title == "ExampleRating":
            leak = 5 if LEAK.strip() in prompt else 1
            scores = {"realism": 4, "quality": 4, "embodiment": 4, "fit": 4, "leakage": leak, "reasons": "fine"}
            return self._json(scores)
        if request.system and request.system.startswith(self.conditioned_marker):
            return Text(self._conditioned(prompt, request.system))
        if request.system and request.system.startswith(self.rejected_marker):
            return Text("Sure! Here are some general tips: " + words("rejected" + prompt, 8))
        if any(t in prompt for t in self.traits):  # the refine prompt quotes the trait; a user prompt never does
            leak = LEAK if LEAK.strip() in prompt else ""
            return Text(f"{leak}Refined: {words('refined' + prompt, 10)}")
        return Text("Baseline: everyone feels this way sometimes, follow your heart.")

    def _json(self, value: dict[str, object]) -> Text:
        return Text(json.dumps(value))

    def tag_of(self, prompt: str) -> tuple[int, int]:
        """(trait index, persona index) of a scenario request."""
        trait = next(i for i, t in enumerate(self.traits) if t in prompt)
        persona = next(i for i, p in enumerate(self.personas) if p in prompt)
        return trait, persona

    def _scenario(self, prompt: str) -> dict[str, str]:
        trait, persona = self.tag_of(prompt)
        source = 0 if (trait, persona) == (1, 0) else trait  # the planted near-duplicate
        # A regeneration quotes earlier prompts (an avoid list, the prompt it replaces), tags
        # included; it gets fresh words so that it differs from them.
        regenerating = _TAG.search(prompt) is not None
        if self.echo_within_trait and (trait, persona) == (0, 3) and not regenerating:
            persona = 0
        body = words(prompt) if regenerating else words(f"{source}-{persona}")
        text = f"{body} ref-{source}-{persona}"
        if (trait, persona) == (1, 0):
            text += " please"
        return {"scenario": f"Situation {words(f's{trait}-{persona}', 5)}", "user_prompt": text}

    def _critique(self, prompt: str) -> dict[str, object]:
        match = _TAG.search(prompt)
        tag = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
        verdict: dict[str, object] = {"realistic": True, "elicits_trait": True, "baseline_too_easy": False}
        if tag == (0, 1) and "REVISED" not in prompt:
            revised = f"REVISED {words('rev', 12)} ref-0-1"
            return verdict | {"baseline_too_easy": True, "verdict": "revise", "reasons": "too easy",
                              "revised_user_prompt": revised}  # fmt: skip
        if tag == (1, 2):
            return verdict | {"realistic": False, "verdict": "drop", "reasons": "unrealistic"}
        return verdict | {"verdict": "keep", "reasons": "good"}

    def _conditioned(self, prompt: str, system: str) -> str:
        tag = _TAG.search(prompt)
        leak = LEAK if tag and tag.groups() == ("0", "2") else ""
        noted = "Following the note. " if "reviewer has asked" in system.lower() else ""
        return f"{leak}{noted}Answer: {words('answer' + prompt + noted, 10)}"
