"""Reads kept until the store is written: a page rerun that nobody wrote before reads nothing again.

    options = unchanged_read(store, ("queue_options", stage), lambda con: read_options(con, stage))

Every committed write to a DuckDB file, by any process or thread, appends to its write-ahead log
(`<file>.wal`) or checkpoints into the file itself (and empties the log), so the size, modification
time and inode of the two files change with each write and stay the same while the store is only
read (opening and closing a connection writes nothing). Two `stat` calls take microseconds; the reads
they stand in for take tens of milliseconds on a 100,000-example store, because every rerun of an
app page opens a fresh connection and reads its indexes cold (workbench/app/session.py).

The fingerprint is taken before the read, so a write that lands during the read only makes the next
call read again. It is coarse on purpose: a write to any table invalidates every entry, so a value is
never stale, whatever it was read from. Not for reads inside `Store.transaction()`: a rolled-back
write changes no file. Values are shared by every caller (and every browser session of the app):
treat them as read-only.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from workbench.store.connection import Store

T = TypeVar("T")
Fingerprint = tuple[tuple[int, int, int] | bytes | None, ...]

_CACHED = 512  # entries kept, least recently used dropped first
# DuckDB's file layout: a main header block, then two database headers (4 KiB each) that a
# checkpoint rewrites in turn, each with its iteration count.
_HEADERS = (4096, 3 * 4096)
_reads: OrderedDict[tuple[Path, Hashable], tuple[Fingerprint, Any]] = OrderedDict()
_lock = threading.Lock()  # Streamlit runs each browser session's reruns in its own thread


def store_fingerprint(path: Path) -> Fingerprint:
    """(size, modification time, inode) of the store file and of its write-ahead log (None when absent),
    and the file's two database headers.

    The headers count checkpoints: two checkpoints within one tick of the kernel's coarse file clock
    can leave the file's size and time as they were, but never its headers.
    """
    return (*(_stat(p) for p in (path, path.with_name(path.name + ".wal"))), _headers(path))


def _headers(path: Path) -> bytes | None:
    try:
        with path.open("rb") as f:
            f.seek(_HEADERS[0])
            return f.read(_HEADERS[1] - _HEADERS[0])
    except FileNotFoundError:
        return None


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_size, found.st_mtime_ns, found.st_ino


def unchanged_read(store: Store, key: Hashable, read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """`read(con)`, or what it returned last time for `key` if nothing has written to the store since.

    Args:
        store: The store read.
        key: What is read, with every argument the result depends on (a function name and its arguments).
        read: Reads the value over the connection it is given; must not write.
    """
    with store.connect() as con:
        fingerprint = store_fingerprint(store.path)
        entry = (store.path, key)
        with _lock:
            cached = _reads.get(entry)
            if cached is not None and cached[0] == fingerprint:
                _reads.move_to_end(entry)
                return cached[1]
        value = read(con)
    with _lock:
        _reads[entry] = (fingerprint, value)
        _reads.move_to_end(entry)
        while len(_reads) > _CACHED:
            _reads.popitem(last=False)
    return value
