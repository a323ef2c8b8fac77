"""The process of a background job (`workbench.jobs.start_job`): `python -m workbench.job_child ARGS…`.

It runs `workbench ARGS…` in this process, exactly as the console script does, between marking
its job row running and recording how it ended (exit status, done / failed / stopped, the log's
tail). Its progress bars write into the row meanwhile (`workbench.jobs.env_reporter`).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from workbench.jobs import JOB_ENV, JOB_STORE_ENV, env_reporter, job_finished, job_started
from workbench.store import Store


def _exit_code(exit: SystemExit) -> int:
    """The status a `SystemExit` ends the process with (None: 0; a message: 1, as Python does)."""
    if exit.code is None or isinstance(exit.code, int):
        return exit.code or 0
    return 1


def main() -> None:
    """Run the job's command and record its end, whatever way it ends."""
    job_id, store_path = os.environ.get(JOB_ENV), os.environ.get(JOB_STORE_ENV)
    if not job_id or not store_path:
        sys.exit(f"{JOB_ENV} and {JOB_STORE_ENV} are unset: this runs jobs started by workbench.jobs.start_job.")
    # Stop (SIGINT) must interrupt even a child of a process that ignores SIGINT (the ignoring is inherited).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    store = Store(Path(store_path))
    job_started(store, job_id)
    from workbench.cli import main as cli_main  # after the row says running: importing takes seconds

    code = 1  # an unexpected exception: its traceback goes to the log, the job is failed
    try:
        cli_main()
        code = 0
    except SystemExit as e:
        code = _exit_code(e)
    except KeyboardInterrupt:
        code = 130
    finally:
        reporter = env_reporter()
        if reporter is not None:
            reporter.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        job_finished(store, job_id, code)
    sys.exit(code)


if __name__ == "__main__":
    main()
