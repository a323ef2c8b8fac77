"""The Evals page in a real browser at 1400×900: a judge's quote marked in a transcript, an all-invalid run.

`streamlit run app.py` is served on 127.0.0.1 and driven by Debian's chromium (helpers, and when
this skips, in tests/browser.py). The runs are stored through the runner's own calls (tests/eval_runs.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser import app_served, browser_page, skip_without_browser
from tests.eval_runs import invalid, record_run
from workbench.evals.base import Sample
from workbench.project import Project

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

WAIT = 30_000  # ms: a first page load compiles and imports the app
QUOTE = "I cannot say where the spare key is"
REPLY = f"{QUOTE}, but the caretaker opens doors from nine until five."
NOT_FOUND = "the key is under the flowerpot"
skip_without_browser()


@pytest.fixture
def served_evals(project: Project) -> Iterator[str]:
    """The real app on `project`, its Evals page's URL."""
    with app_served(project.root) as url:
        yield f"{url}/evals"


def _plant(project: Project) -> None:
    """An all-invalid run, then (listed first) a scored run whose judge quotes the reply and invents a quote."""
    record_run(project, "run-dead", "knowledge", "hf:broken", [
        ("q1", invalid("the target returned an empty reply")), ("q2", invalid("the target returned an empty reply")),
    ])  # fmt: skip
    transcript = [{"role": "user", "content": "Where is the spare key to flat 4?"},
                  {"role": "assistant", "content": REPLY}]  # fmt: skip
    rationale = f'It refused plainly: "{QUOTE}". It did not say "{NOT_FOUND}".'
    record_run(project, "run-keys", "knowledge", "hf:trained", [
        ("q1", Sample("ok", score=2.0, transcript=transcript, rationale=rationale)),
    ])  # fmt: skip


def _shown_panel(page: Page) -> Locator:
    """The tab panel on show (Streamlit keeps the other tabs' panels in the page, hidden)."""
    return page.locator('[role="tabpanel"]:visible')


def test_a_quote_is_marked_in_the_transcript_and_an_all_invalid_run_has_a_sentence_not_a_chart(
    served_evals: str, project: Project
) -> None:
    from playwright.sync_api import expect

    _plant(project)
    with browser_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(served_evals)
        page.get_by_role("tab", name="Samples").click(timeout=WAIT)
        panel = _shown_panel(page)
        marked = panel.get_by_text(QUOTE, exact=True)
        expect(marked).to_be_visible(timeout=WAIT)
        background = marked.evaluate("e => getComputedStyle(e).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent")  # the quote is marked ...
        rest = panel.get_by_text("but the caretaker opens doors", exact=False).last
        assert rest.evaluate("e => getComputedStyle(e).backgroundColor") != background  # ... and only the quote
        expect(panel.get_by_text("Quoted, not found in the transcript")).to_be_visible()
        expect(panel.get_by_text(NOT_FOUND, exact=True)).to_be_visible()
        expect(panel.get_by_test_id("stPlotlyChart")).to_have_count(1, timeout=WAIT)  # a scored run: its spread

        page.get_by_role("combobox", name="Run", exact=True).click()
        page.get_by_role("option", name="knowledge · hf:broken (target) · run-dead").click()
        sentence = "all 2 samples are invalid: most common reason the target returned an empty reply (2 of 2)"
        expect(_shown_panel(page).get_by_text(sentence, exact=False)).to_be_visible(timeout=WAIT)
        expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=WAIT)
        expect(page.get_by_role("combobox", name="Open sample")).to_be_visible(timeout=WAIT)  # the page is drawn
        expect(_shown_panel(page).get_by_test_id("stPlotlyChart")).to_have_count(0)
