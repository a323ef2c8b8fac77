"""workbench/notebook.py's error display: a user-fixable error stops the cell with its text; a bug is not hidden.

Run in a child process: once marimo is imported, transformers takes the process for a notebook
(see pyproject.toml), and the training tests share this one.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json
from marimo._runtime.control_flow import MarimoStopError
from workbench import notebook as nb
from workbench.errors import WorkbenchError

shown = {}
for name, block in (("shown_errors", nb.shown_errors(kind="warn")), ("stage", nb.stage())):
    try:
        with block:
            raise WorkbenchError("No dataset <b>mix</b>.", hint="Build one first.")
    except MarimoStopError as stopped:
        shown[name] = stopped.output.text
try:
    with nb.stage():
        raise ValueError("a bug")
except ValueError as bug:
    shown["bug"] = str(bug)
print(json.dumps(shown))
"""


def test_an_error_stops_the_cell_with_message_and_hint_as_text_and_a_bug_propagates() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    for name, kind in (("shown_errors", "warn"), ("stage", "danger")):
        html = shown[name]
        assert "marimo-callout-output" in html and f"&quot;{kind}&quot;" in html, html
        assert "No dataset" in html and "Build one first." in html
        assert "<b>" not in html and "&amp;lt;b&amp;gt;mix" in html, "the message is shown as text, not markup"
    assert shown["bug"] == "a bug"


REPORT_SCRIPT = """
from workbench import notebook as nb
from workbench.generate.steps import StepReport

step = StepReport("critique", jobs=2)
step.count("failed", 2, reason="auth: 401 <b>bad key</b>")
print(nb.run_report("Run `r1`", [step], stopped_budget=False).text)
"""


def test_a_run_report_says_why_a_run_failed_as_plain_text() -> None:
    result = subprocess.run(
        [sys.executable, "-c", REPORT_SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    html = result.stdout
    assert "failed for a permanent reason" in html and "--retry-failed" in html
    # Escaped once as text, then again inside the callout's attribute; never a live <b> tag.
    assert "&amp;lt;b&amp;gt;bad key" in html and "<b>bad key" not in html, "the reason is text, not HTML"
    assert "&quot;danger&quot;" in html
