"""The `workbench` command line: every stage, headless.

    workbench init DIR
    workbench traits add data/traits/candid_care.md --project DIR
    workbench status --project DIR

Problems the user can fix (`WorkbenchError`) print as one message and exit with status 1;
no traceback.
"""

from __future__ import annotations

import signal
import sys

import typer
from rich.text import Text

from workbench.cli import audit, batch, dataset, demo, docs, evals, llm, project_cmds, sft, train, traits, undo
from workbench.cli.common import console
from workbench.errors import WorkbenchError
from workbench.textsafe import plain, printable

app = typer.Typer(
    name="workbench",
    help="Trait Workbench: instil positive traits in language models by synthetic document finetuning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
project_cmds.register(app)
app.command(name="undo")(undo.undo)
app.add_typer(traits.app, name="traits", help="Traits documents: add versions, list, show, diff.")
app.add_typer(llm.app, name="llm", help="Talk to the configured models through the gateway.")
app.add_typer(sft.app, name="sft", help="SFT and preference data: scenarios, critique, responses, review, export.")
app.add_typer(
    docs.app, name="docs", help="Midtraining documents: brainstorm, draft, critique, rewrite, review, export."
)

app.add_typer(
    audit.app, name="audit", help="Pattern audit: scan a dataset for over-represented patterns, rate, filter."
)

app.add_typer(dataset.app, name="dataset", help="Training datasets: build from accepted rows and a baseline, export.")
app.add_typer(train.app, name="train", help="Fine-tune: SFT, midtraining, DPO, BDPO; runs, metrics, checkpoints.")

app.add_typer(evals.app, name="eval", help="Evaluate any model: run suites, list, show transcripts, compare runs.")
app.add_typer(
    batch.app, name="batch", help="Batch jobs (--batch, --batch-export): list, status, collect, cancel, export, import."
)
app.add_typer(demo.app, name="demo", help="The hand-written demo data set (data/demo): load, status, remove.")


def main() -> None:
    """Console-script entry point."""
    # Ctrl-C (and `stop_training`'s SIGINT) must interrupt every command. A process started by one
    # that ignores SIGINT (a test runner's worker, some process managers) inherits the ignoring, and
    # Python then installs no KeyboardInterrupt handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        app()
    except WorkbenchError as e:
        # Messages quote user input and stored text: shown escaped, never as markup.
        console.print(Text.assemble(("Error: ", "bold red"), printable(e.message)))
        if e.hint:
            console.print(plain(e.hint), highlight=False)
        sys.exit(1)
