"""Self-test of the audit's planted dataset (tests/audit_setup.py) and scripted model (tests/fakes/audit_model.py).

The fake is called directly on prompts rendered from the real templates, so a template change that
breaks the fake's parsing shows up here rather than as a puzzling audit test failure.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.audit_setup import (
    BOTTOM_LINE_RATE,
    CLARIFY_RATE,
    MILD_VALIDATION_RATE,
    VALIDATION_RATE,
    answer_of,
    assistant_part,
    pattern_levels,
    planted_rows,
    planted_truth,
)
from tests.fakes.audit_model import (
    CLARIFY_DESCRIPTION,
    CLARIFY_NAMES,
    HALLUCINATED_QUOTE,
    VALIDATION_DESCRIPTION,
    VALIDATION_NAMES,
    AuditFakeModel,
)
from tests.fakes.gemini_server import fake_embedding
from tests.fakes.rules import FakeRequest, Text
from workbench.audit.formats import render_record
from workbench.prompts import load_template

ROWS = planted_rows()


def ask(fake: AuditFakeModel, title: str, prompt: str) -> Any:
    request = FakeRequest(path="x", model="m", system=None, messages=[("user", prompt)],
                          json_schema={"title": title}, params={})  # fmt: skip
    reply = fake(request)
    assert isinstance(reply, Text)
    return json.loads(reply.text) if title else reply.text


def labelled(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"label": f"R{i + 1}", "text": render_record(r, "messages")} for i, r in enumerate(rows)]


def cosine(a: str, b: str) -> float:
    x, y = fake_embedding(a), fake_embedding(b)
    dot = sum(p * q for p, q in zip(x, y, strict=True))
    return dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))


@pytest.mark.parametrize("n", [200, 57])
def test_planted_counts_are_exact(n: int) -> None:
    rows = planted_rows(n, seed=3)
    truth = planted_truth(rows)
    assert len({json.dumps(r["messages"]) for r in rows}) == n
    assert len(truth["validation"]["strict"]) == round(VALIDATION_RATE * n)
    mild = truth["validation"]["broad"] - truth["validation"]["strict"]
    assert len(mild) == round(MILD_VALIDATION_RATE * n)
    assert truth["clarify"]["strict"] == truth["clarify"]["broad"]
    assert len(truth["clarify"]["strict"]) == round(CLARIFY_RATE * n)
    assert len(truth["bottom_line"]["strict"]) == round(BOTTOM_LINE_RATE * n)
    assert not truth["bottom_line"]["strict"] & truth["validation"]["strict"]
    assert truth["clarify"]["strict"] & truth["validation"]["strict"]  # independent, so some overlap
    assert planted_rows(n, seed=3) == rows


def test_rules_read_the_assistant_part_of_a_transcript() -> None:
    row = next(r for r in ROWS if pattern_levels("validation", answer_of(r))[1])
    text = render_record(row, "messages")
    assert text.startswith("USER: ") and assistant_part(text) == answer_of(row)
    assert pattern_levels("validation", text) == (False, False)  # the whole transcript opens with USER:
    assert pattern_levels("validation", assistant_part(text)) == (True, True)


def test_ratings_equal_the_planted_truth() -> None:
    fake = AuditFakeModel()
    patterns = [
        {"label": "P1", "name": "Opens with emotional validation", "description": VALIDATION_DESCRIPTION,
         "broad": "any validation", "strict": "first sentence validates"},
        {"label": "P2", "name": "Ends by asking for clarification", "description": CLARIFY_DESCRIPTION,
         "broad": "b", "strict": "s"},
        {"label": "P3", "name": "Bottom line up front", "description": "Starts with the conclusion.",
         "broad": "b", "strict": "s"},
        {"label": "P4", "name": "Uses numbered lists", "description": "Numbered steps.", "broad": "b", "strict": "s"},
    ]  # fmt: skip
    batch = ROWS[30:70]  # holds rows of every kind, mild-only validation included
    prompt = load_template("audit_rate").render(patterns=patterns, rows=labelled(batch))
    answer = ask(fake, "BatchRatings", prompt)
    by_label = {p["pattern"]: p for p in answer["patterns"]}
    assert list(by_label) == ["P1", "P2", "P3", "P4"]
    ids = {f"R{i + 1}": r["id"] for i, r in enumerate(batch)}
    truth = planted_truth(batch)
    for label, key in [("P1", "validation"), ("P2", "clarify"), ("P3", "bottom_line")]:
        for level in ("broad", "strict"):
            assert {ids[r] for r in by_label[label][level]} == truth[key][level], (label, level)
    assert truth["validation"]["broad"] > truth["validation"]["strict"]
    assert by_label["P4"]["broad"] == by_label["P4"]["strict"] == []
    assert fake.rate_calls == 1 and fake.scan_calls == fake.merge_calls == 0


def test_scan_reports_both_patterns_with_verbatim_quotes_and_one_noise_candidate() -> None:
    fake = AuditFakeModel()
    batches = [ROWS[i : i + 20] for i in range(0, 200, 20)]
    reports = []
    for batch in batches:
        rows = labelled(batch)
        report = ask(fake, "ScanReport", load_template("audit_scan").render(rows=rows))
        texts = {r["label"]: r["text"] for r in rows}
        names = [p["name"] for p in report["patterns"]]
        assert len(names) == 3
        assert names[0] in VALIDATION_NAMES and names[1] in CLARIFY_NAMES
        for pattern in report["patterns"]:
            assert 2 <= len(pattern["evidence"]) <= 4
            for item in pattern["evidence"]:
                assert item["quote"] in texts[item["row"]] or item["quote"] == HALLUCINATED_QUOTE
        reports.append(report)
    assert fake.scan_calls == len(batches)
    all_names = {p["name"] for r in reports for p in r["patterns"]}
    assert len(all_names & set(VALIDATION_NAMES)) >= 2  # the wording varies between scans
    quotes = [e["quote"] for r in reports for e in r["patterns"][0]["evidence"]]
    assert HALLUCINATED_QUOTE in quotes and not any(HALLUCINATED_QUOTE in r["messages"][1]["content"] for r in ROWS)
    noise = [f"{r['patterns'][2]['name']} {r['patterns'][2]['description']}" for r in reports]
    assert len(set(noise)) == len(reports)
    # Embeddings: the same pattern clusters across wordings, different patterns stay apart.
    val = [f"{n} {VALIDATION_DESCRIPTION}" for n in VALIDATION_NAMES]
    clar = [f"{n} {CLARIFY_DESCRIPTION}" for n in CLARIFY_NAMES]
    assert min(cosine(a, b) for group in (val, clar) for a in group for b in group) > 0.8
    assert max(cosine(a, b) for a in val + noise for b in clar) < 0.5
    assert max(cosine(a, b) for a in noise for b in noise if a != b) < 0.5


def test_scan_reports_nothing_planted_in_a_clean_batch() -> None:
    truth = planted_truth(ROWS)
    clean = [r for r in ROWS if r["id"] not in truth["validation"]["strict"] | truth["clarify"]["strict"]][:10]
    report = ask(AuditFakeModel(), "ScanReport", load_template("audit_scan").render(rows=labelled(clean)))
    assert len(report["patterns"]) == 1  # only the noise candidate


@pytest.mark.parametrize(("names", "expected"), [(VALIDATION_NAMES, VALIDATION_NAMES[0]),
                                                 (CLARIFY_NAMES, CLARIFY_NAMES[0])])  # fmt: skip
def test_merge_names_the_planted_pattern(names: tuple[str, ...], expected: str) -> None:
    fake = AuditFakeModel()
    description = VALIDATION_DESCRIPTION if names == VALIDATION_NAMES else CLARIFY_DESCRIPTION
    candidates = [{"name": n, "description": description, "kind": "rhetorical", "quotes": ["q"]} for n in names]
    other = CLARIFY_NAMES[0] if names == VALIDATION_NAMES else VALIDATION_NAMES[0]
    neighbours = [{"name": other, "description": "x"}]
    prompt = load_template("audit_merge").render(candidates=candidates, neighbours=neighbours)
    merged = ask(fake, "MergedPattern", prompt)
    assert merged["name"] == expected
    assert set(merged) == {"name", "description", "kind", "broad", "strict"}
    assert fake.merge_calls == 1


def test_other_requests_get_empty_text() -> None:
    assert ask(AuditFakeModel(), "", "embed me") == ""
