"""Review: the queue of SFT examples and scenarios, filtered, one row in focus, decisions by keyboard."""

from workbench.app.review_panel import render_review

render_review(["examples", "scenarios"], title="Review")
