"""Documents: the same review for midtraining documents, with their brainstorm, draft and critique."""

from workbench.app.review_panel import render_review

render_review(["documents"], title="Documents")
