"""Which process owns a piece of work, and whether that process is still alive.

A run (or a ledger log) records `current_owner()`; a later process asks `owner_alive(owner)` to
tell a run that is still working from one whose process was killed. The owner string carries the
host name, the process id and the process's start time, so a recycled pid is not mistaken for the
original process. On another host we cannot tell, so such owners count as alive.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces, so count from its closing bracket.
    return stat.rsplit(")", 1)[1].split()[19]


def current_owner() -> str:
    """`host:pid:start` for this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or ''}"


def owner_alive(owner: str | None) -> bool:
    """False only when `owner` names a process on this host that no longer runs."""
    if not owner:
        return True  # recorded before owners were: cannot tell
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    return not started or _start_time(pid) in (started, None)
