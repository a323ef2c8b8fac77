"""The review loop in a real browser: keyboard decisions, undo and a bulk action keep the filter and the place.

`streamlit run app.py` is served on 127.0.0.1 and driven by Debian's chromium (helpers, and when
this skips, in tests/browser.py). The test prints how long each keyboard decision takes to show
the next item; it asserts no time (timings on a shared machine are not a test).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import browser_page, free_port, served, skip_without_browser
from tests.review_rows import plant_examples, statuses
from tests.sft_setup import rows
from workbench.project import Project

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[1]
WAIT = 30_000  # ms: a first page load compiles and imports the app
skip_without_browser()


@pytest.fixture
def served_review(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real app on `project`, its Review page's URL, with "ada" as the reviewer."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    env = {**os.environ, "WORKBENCH_PROJECT": str(project.root), "WORKBENCH_REVIEWER": "ada"}
    with served(command, port, REPO, env) as url:
        yield f"{url}/review"


def _settled(page: Page) -> None:
    """Wait until the script run has finished, so keyboard shortcuts reach the buttons."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=WAIT)


def _at(page: Page, heading: str, answer: str) -> None:
    """The focus view shows `heading` ("2 of 5") and the row whose response is `answer`; the filter still holds."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(answer, exact=True)).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stMultiSelect").first).to_contain_text("needs_review")
    _settled(page)


def _key(page: Page, key: str, heading: str, answer: str) -> float:
    """Press `key` with the page (not a text box) focused; seconds until the next item is shown."""
    page.get_by_role("heading", name="Review", exact=True).click()
    started = time.monotonic()
    page.keyboard.press(key)
    _at(page, heading, answer)
    return time.monotonic() - started


def test_keyboard_decisions_undo_and_bulk_keep_the_status_filter_and_the_place(
    served_review: str, project: Project
) -> None:
    from playwright.sync_api import expect

    ids = plant_examples(project, 6)
    with browser_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(served_review)
        expect(page.get_by_role("button", name="Accept")).to_be_enabled(timeout=WAIT)
        _at(page, "1 of 6", "Answer 0.")
        # Each accepted row leaves the needs_review queue; the next waiting one comes into focus.
        timings = [_key(page, "a", "1 of 5", "Answer 1."), _key(page, "a", "1 of 4", "Answer 2.")]
        print(f"\nkeyboard decision to next item shown: {', '.join(f'{t:.2f} s' for t in timings)}")
        _key(page, "u", "1 of 5", "Answer 1.")  # the second decision undone: its row is back, in focus
        _key(page, "j", "2 of 5", "Answer 2.")
        # A bulk accept empties the needs_review queue: the filter stays, and says no row matches.
        page.get_by_text("Bulk action over all 5 matching examples").click()
        page.get_by_role("button", name="Accept all 5…").click()
        page.get_by_role("button", name="Confirm: accept 5").click()
        expect(page.get_by_text("No rows match these filters.")).to_be_visible(timeout=WAIT)
        expect(page.get_by_test_id("stMultiSelect").first).to_contain_text("needs_review")
        _settled(page)
        # Undoing it brings every row back, and the reviewer is where they were.
        _key(page, "u", "2 of 5", "Answer 2.")
    assert statuses(project) == {i: "ok" if i == ids[0] else "needs_review" for i in ids}
    assert rows(project, "SELECT count(*) FROM review_events WHERE action = 'undo'") == [(6,)]
