"""Evaluation (DESIGN §1 item 8, §7): suites of cases run against any model spec, judged, stored.

    result = asyncio.run(run_eval(project, "knowledge", "hf:/path/to/checkpoint"))
    summary = run_summary(project, result.run_id)          # mean score, bootstrap CI, invalid counts

A suite (`suites/*.py`) turns one case (a data file row under `data/evals/`) into one sample: it
plays the conversation through the gateway (target vs auditor, persona or simulated tools),
has it judged, and returns the transcript, the scores and the rationale. `runner.py` runs the
cases concurrently, stores each sample when it finishes (so a killed run resumes with the rest),
and never averages an invalid sample or a judge failure in; `stats.py` gives bootstrap intervals
over cases and paired comparisons; `report.py` summarises and charts runs with Plotly.
"""
