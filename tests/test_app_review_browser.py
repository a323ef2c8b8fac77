"""The review loop in a real browser: keyboard decisions, undo and a bulk action keep the filter and the place.

`streamlit run app.py` is served on 127.0.0.1 and driven by Debian's chromium (helpers, and when
this skips, in tests/browser.py). At 1400×900 the card's buttons and the answer are on screen
without scrolling; the progress line follows each decision; an older decision in this session's
history is undone on its own. The test prints how long each keyboard decision takes to show the
next item; it asserts no time (timings on a shared machine are not a test).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser import app_served, browser_page, skip_without_browser
from tests.review_rows import plant_examples, statuses
from tests.sft_setup import rows
from workbench.project import Project

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

WAIT = 30_000  # ms: a first page load compiles and imports the app
skip_without_browser()


@pytest.fixture
def served_review(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real app on `project`, its Review page's URL, with "ada" as the reviewer."""
    with app_served(project.root, WORKBENCH_REVIEWER="ada") as url:
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


def _click_when_settled(page: Page, button: Locator) -> None:
    """Click `button` once the script run that drew it has ended and it is shown once, as a person would.

    On a loaded machine a click that lands while a rerun is still drawing the page can be lost.
    """
    from playwright.sync_api import expect

    _settled(page)
    page.wait_for_timeout(300)  # the status widget shows a rerun only after a short delay
    _settled(page)
    expect(button).to_have_count(1, timeout=WAIT)  # a rerun leaves the old copy on the page until it ends
    expect(button).to_be_visible(timeout=WAIT)
    button.click()


def _key(page: Page, key: str, heading: str, answer: str) -> float:
    """Press `key` with the page (not a text box) focused; seconds until the next item is shown."""
    page.get_by_role("heading", name="Review", exact=True).click()
    started = time.monotonic()
    page.keyboard.press(key)
    _at(page, heading, answer)
    return time.monotonic() - started


def _above_the_fold(page: Page, *elements: Locator) -> None:
    """Each element lies wholly within the first 900 px of the 1400×900 viewport, without scrolling."""
    for element in elements:
        box = element.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900, (element, box)


def _progress(page: Page, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stProgress")).to_contain_text(text, timeout=WAIT)


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
        # The card's actions and the answer under review are on screen as the page opens.
        buttons = [page.get_by_role("button", name=name) for name in ("Accept", "Reject", "Edit", "Note", "Next")]
        _above_the_fold(page, *buttons, page.get_by_text("Answer 0.", exact=True))
        _progress(page, "0 of 6 examples reviewed")
        # Each accepted row leaves the needs_review queue; the next waiting one comes into focus.
        timings = [_key(page, "a", "1 of 5", "Answer 1.")]
        _progress(page, "1 of 6 examples reviewed")
        timings.append(_key(page, "a", "1 of 4", "Answer 2."))
        print(f"\nkeyboard decision to next item shown: {', '.join(f'{t:.2f} s' for t in timings)}")
        _progress(page, "2 of 6 examples reviewed")
        # Undo the older decision (ex-000's), not the latest: its row alone comes back, first in the queue.
        _click_when_settled(page, page.locator("[class*='st-key-undo_']:not(.st-key-undo_last)").get_by_role("button"))
        _at(page, "1 of 5", "Answer 0.")
        assert statuses(project)[ids[0]] == "needs_review" and statuses(project)[ids[1]] == "ok"
        _key(page, "u", "1 of 6", "Answer 0.")  # U undoes the latest standing decision: ex-001's
        _key(page, "j", "2 of 6", "Answer 1.")
        # A bulk accept empties the needs_review queue: the filter stays, and says no row matches.
        _click_when_settled(page, page.get_by_text("Bulk action over all 6 matching examples"))
        _click_when_settled(page, page.get_by_role("button", name="Accept all 6…"))
        _click_when_settled(page, page.get_by_role("button", name="Confirm: accept 6"))
        expect(page.get_by_text("No rows match these filters.")).to_be_visible(timeout=WAIT)
        expect(page.get_by_test_id("stMultiSelect").first).to_contain_text("needs_review")
        _settled(page)
        # Undoing it brings every row back, and the reviewer is where they were.
        _key(page, "u", "2 of 6", "Answer 1.")
    assert set(statuses(project).values()) == {"needs_review"}
    assert rows(project, "SELECT count(*) FROM review_events WHERE action = 'undo'") == [(8,)]
