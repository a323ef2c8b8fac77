"""The chaos benchmark's people: a reviewer deciding rows and a reader polling `workbench status`.

    actor = Actor.start("reviewer", project_root, seed=0, out=tmp / "reviewer.json")
    ...                                  # runs write, get killed, restart
    tally = actor.stop()                 # {"done": 41, "refused": 2, "errors": 0, "batches": [...], ...}

Each actor is a separate process (spawned), as a person at the app or a terminal is. The
reviewer accepts or rejects, through the library's `review_many`, a random row of the review
queue (`needs_review`) or, now and then, one it has already decided (a change of mind); it
keeps the batch id of every decision the store acknowledged, so lost decisions can be found.
The reader runs the `workbench status` command in-process, over and over. Both count errors:
anything but a clean answer. A reviewer's decision refused because a run replaced the row in
the meantime is expected, and counted apart.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import random
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from workbench.errors import StoreBusyError, WorkbenchError
from workbench.project import load_project
from workbench.review import review_many

REVIEWER = "chaos-reviewer"
QUEUE = ("sft_scenarios", "sft_examples", "documents")
# A person mostly works the queue; a share of decisions revisit rows already accepted or rejected.
REVISIT = 0.2
ACCEPT = 0.7  # accept more than reject, so the SFT pipeline gets past its human gate


def _pick(root: Path, rng: random.Random) -> tuple[str, str] | None:
    """A (table, id) to decide: from the queue, or (REVISIT of the time) an already decided row."""
    statuses = ["ok", "rejected"] if rng.random() < REVISIT else ["needs_review"]
    union = " UNION ALL ".join(f"SELECT '{t}', id FROM {t} WHERE status IN (SELECT unnest(?))" for t in QUEUE)
    with load_project(root).store.connect() as con:
        rows = con.execute(union, [statuses] * len(QUEUE)).fetchall()
    return rng.choice(rows) if rows else None


def _review_once(root: Path, rng: random.Random, tally: dict[str, Any]) -> None:
    picked = _pick(root, rng)
    if picked is None:
        return
    table, item = picked
    action = "accept" if rng.random() < ACCEPT else "reject"
    batch = review_many(load_project(root).store, table, [item], action, reviewer=REVIEWER)
    tally["done"] += 1
    tally["batches"].append(batch.batch_id)


def _status_once(root: Path, rng: random.Random, tally: dict[str, Any]) -> None:
    from workbench.cli import app  # the CLI's import cost is paid once per process, not per call

    with contextlib.redirect_stdout(io.StringIO()):
        app(["status", "--project", str(root)], standalone_mode=False)
    tally["done"] += 1


_STEPS = {"reviewer": (_review_once, (0.1, 0.4)), "reader": (_status_once, (0.1, 0.3))}


def _loop(kind: str, root: str, seed: int, stop: Event, out: str) -> None:
    """Process body: act until told to stop, then write the tally as JSON to `out`."""
    step, (low, high) = _STEPS[kind]
    rng = random.Random(f"{kind}-{seed}")
    tally: dict[str, Any] = {"done": 0, "refused": 0, "errors": 0, "messages": [], "batches": []}
    while not stop.is_set():
        try:
            step(Path(root), rng, tally)
        except StoreBusyError as e:  # a user-visible failure: the store stayed locked too long
            _note(tally, "errors", e)
        except WorkbenchError as e:
            _note(tally, "refused" if kind == "reviewer" else "errors", e)
        except Exception as e:  # anything else is a crash the person would see
            _note(tally, "errors", e)
        stop.wait(rng.uniform(low, high))
    Path(out).write_text(json.dumps(tally))


def _note(tally: dict[str, Any], key: str, error: BaseException) -> None:
    tally[key] += 1
    if len(tally["messages"]) < 5:
        tally["messages"].append(f"{key}: {type(error).__name__}: {error}"[:300])


@dataclass
class Actor:
    """A running actor process, its stop signal and where it will leave its tally."""

    process: mp.process.BaseProcess
    stop_event: Event
    out: Path

    @classmethod
    def start(cls, kind: str, root: Path, *, seed: int, out: Path) -> Actor:
        """Spawn a `reviewer` or `reader` on the project at `root`."""
        context = mp.get_context("spawn")
        stop = context.Event()
        process = context.Process(target=_loop, args=(kind, str(root), seed, stop, str(out)), daemon=True)
        process.start()
        return cls(process, stop, out)

    def stop(self) -> dict[str, Any]:
        """Ask the actor to finish its current step, wait for it, and return its tally."""
        self.stop_event.set()
        self.process.join(timeout=120)
        if not self.out.exists():
            return {"done": 0, "refused": 0, "errors": 1, "messages": ["the actor died"], "batches": []}
        tally: dict[str, Any] = json.loads(self.out.read_text())
        return tally
