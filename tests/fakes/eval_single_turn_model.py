"""A scripted model for the single-turn eval suites (knowledge, capability, patterns).

    fake = SingleTurnFakeModel(judge="target")     # the pairwise judge prefers the non-baseline answer
    fake_gemini.rule = fake

It tells requests apart by the structured-output schema's title, and reads its script from markers
the test writes into the case prompts (they reach every prompt built from the case):

* `KnowledgeGrade` (rater): `grades: 2 1 0` in the question -> one point per number, with those
  scores and reasons `REASON-1` ...; `grades: none` -> no points. A `harsh` grader scores every
  point 0 (one member of a judge panel that disagrees).
* `PairwiseVerdict` (judge): by `judge` mode: "A" always answers A (a pure position bias); "target"
  and "baseline" prefer the answer that is not / is the baseline's (which starts with `BASELINE`);
  rationale `RATIONALE: ...`.
* `BatchRatings` (rater): a pattern named with "always" is strict in every row, one named with
  "loosely" broad in every row; others by tests/fakes/audit_model.py's keyword rules ("bottom
  line", "validat", "clarif"). `[partial]` in a row leaves the block's last pattern out.
* No schema: the baseline role (model `fake-model`) answers `BASELINE: ...`; the scripted target
  (model `fake-target`) answers "Bottom line: ..." to `[bottom line]`, else a plain sentence.

`[judge refuses]` in a case makes every judging call a safety block; `[target silent]` /
`[baseline silent]` make that model's reply empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from tests.audit_setup import assistant_part, pattern_levels
from tests.fakes.audit_model import parse_rows, recognise
from tests.fakes.rules import FakeRequest, Reply, Safety, Text, default_rule

BASELINE = "BASELINE:"
REFUSE = "[judge refuses]"
TARGET_SILENT = "[target silent]"
BASELINE_SILENT = "[baseline silent]"
BOTTOM_LINE = "[bottom line]"
PARTIAL = "[partial]"

_QUESTION = re.compile(r"<question>\n(.*?)\n</question>", re.DOTALL)
_ANSWER = re.compile(r"<answer>\n(.*?)\n</answer>", re.DOTALL)
_LABELLED = re.compile(r'<answer label="([AB])">\n(.*?)\n</answer>', re.DOTALL)
_PATTERN = re.compile(r'<pattern label="([^"]+)">\nname: (.*?)\n(.*?)\n</pattern>', re.DOTALL)
_GRADES = re.compile(r"grades: ([0-9 ]+|none)")


@dataclass
class SingleTurnFakeModel:
    """The rule; see the module docstring."""

    judge: Literal["A", "target", "baseline"] = "target"
    harsh: bool = False

    def __call__(self, request: FakeRequest) -> Reply:
        prompt = request.last_user_text
        title = (request.json_schema or {}).get("title")
        if title in ("KnowledgeGrade", "PairwiseVerdict", "BatchRatings") and REFUSE in prompt:
            return Safety()
        if title == "KnowledgeGrade":
            return _json(self.grade(prompt))
        if title == "PairwiseVerdict":
            return _json(self.compare(prompt))
        if title == "BatchRatings":
            return _json(self.rate(prompt))
        if request.json_schema is None:
            return Text(self.answer(request.model, prompt))
        return default_rule(request)

    @staticmethod
    def answer(model: str, prompt: str) -> str:
        if model == "fake-target":
            if TARGET_SILENT in prompt:
                return ""
            return "Bottom line: take the job. It pays more." if BOTTOM_LINE in prompt else "Here is a plain answer."
        return "" if BASELINE_SILENT in prompt else f"{BASELINE} a careful answer to: {prompt}"

    def grade(self, prompt: str) -> dict[str, Any]:
        question = _QUESTION.search(prompt)
        answer = _ANSWER.search(prompt)
        assert question is not None and answer is not None, "not an eval_knowledge_grade prompt"
        found = _GRADES.search(question.group(1))
        grades = [] if found is None or found.group(1) == "none" else [int(g) for g in found.group(1).split()]
        words = answer.group(1).split()
        points = [{"point": f"Point {i + 1}: {' '.join(words[i : i + 3])}", "score": 0 if self.harsh else g,
                   "reason": f"REASON-{i + 1}: compared with the document"} for i, g in enumerate(grades)]  # fmt: skip
        return {"points": points, "summary": f"SUMMARY: {len(points)} point(s)"}

    def compare(self, prompt: str) -> dict[str, str]:
        answers = dict(_LABELLED.findall(prompt))
        if self.judge == "A":
            return {"rationale": "RATIONALE: A reads better", "winner": "A"}
        baseline = [label for label, text in answers.items() if text.startswith(BASELINE)]
        if len(baseline) != 1:
            return {"rationale": "RATIONALE: cannot tell them apart", "winner": "tie"}
        other = "B" if baseline[0] == "A" else "A"
        winner = other if self.judge == "target" else baseline[0]
        return {"rationale": f"RATIONALE: {winner} is better", "winner": winner}

    @staticmethod
    def rate(prompt: str) -> dict[str, Any]:
        pattern_part, _, row_part = prompt.partition("## The rows")
        rows = parse_rows(row_part)
        patterns = _PATTERN.findall(pattern_part)
        if any(PARTIAL in text for _, text in rows):
            patterns = patterns[:-1]
        out = []
        for label, name, rest in patterns:
            if "always" in name.lower():
                broad, strict = [r for r, _ in rows], [r for r, _ in rows]
            elif "loosely" in name.lower():
                broad, strict = [r for r, _ in rows], []
            else:
                key = recognise(f"{name}\n{rest.split(chr(10) + 'broad: ', 1)[0]}")
                levels = {r: pattern_levels(key, assistant_part(t)) if key else (False, False) for r, t in rows}
                broad = [r for r, (b, _) in levels.items() if b]
                strict = [r for r, (_, s) in levels.items() if s]
            out.append({"pattern": label, "broad": broad, "strict": strict})
        return {"patterns": out}


def _json(value: dict[str, Any]) -> Text:
    return Text(json.dumps(value))
