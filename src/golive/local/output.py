"""Batched writes of log lines: a burst of lines leaves in one write and one flush, a quiet server's promptly."""

from __future__ import annotations

import asyncio
import atexit
import threading
from typing import TextIO

FLUSH_DELAY_S = 0.015  # buffered log lines reach the stream within this delay ...
FLUSH_BYTES = 64 * 1024  # ... or as soon as this much is waiting


class _Batch:
    """Lines waiting for one stream: written with one write and one flush when the timer fires or at FLUSH_BYTES.
    Clouds may run in several threads (tests do), so the list is guarded and a timer is never cancelled across
    threads: a stale one just finds nothing to write."""

    __slots__ = ("lines", "lock", "size", "stream", "timer_loop", "timer_thread")

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self.size = 0
        self.lock = threading.Lock()
        self.timer_loop: asyncio.AbstractEventLoop | None = None  # the loop whose timer will flush, if any
        self.timer_thread = 0  # the thread running timer_loop

    def add(self, text: str, loop: asyncio.AbstractEventLoop) -> None:
        with self.lock:
            if not self._append(text) and (self.timer_loop is not loop or loop.is_closed()):
                self.timer_loop = loop
                self.timer_thread = threading.get_ident()
                loop.call_later(FLUSH_DELAY_S, self.flush)

    def add_here(self, text: str) -> bool:
        """add() without looking up the running loop, when this thread runs the loop whose timer is pending (a
        thread runs one loop at a time); False otherwise. asyncio.get_running_loop() makes a getpid() system call
        (CPython's fork check), and the local cloud writes four lines per request."""
        with self.lock:
            loop = self.timer_loop
            if loop is None or self.timer_thread != threading.get_ident() or not loop.is_running():
                return False
            self._append(text)
            return True

    def _append(self, text: str) -> bool:
        """Queue text (the lock held); True when that filled the batch and it was written at once."""
        self.lines.append(text)
        self.size += len(text)
        if self.size >= FLUSH_BYTES:
            self._write()
            return True
        return False

    def flush(self) -> None:
        with self.lock:
            self.timer_loop = None
            self._write()

    def _write(self) -> None:
        lines, self.lines, self.size = self.lines, [], 0
        try:
            if lines:
                self.stream.write("".join(lines))
            self.stream.flush()
        except (OSError, ValueError):
            pass


_batches: dict[int, _Batch] = {}
_batches_lock = threading.Lock()


def write_soon(stream: TextIO, text: str) -> None:
    """Write text to stream within FLUSH_DELAY_S (at once without a running event loop): a burst of lines costs one
    write and one flush, and a quiet server still shows each line promptly. flush_all() writes what is waiting."""
    batch = _batches.get(id(stream))
    if batch is not None and batch.stream is stream and batch.add_here(text):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        flush_all()  # what is waiting goes first, in order
        stream.write(text)
        stream.flush()
        return
    batch = _batches.get(id(stream))
    if batch is None or batch.stream is not stream:
        with _batches_lock:
            batch = _batches.get(id(stream))
            if batch is None or batch.stream is not stream:
                if batch is not None:
                    batch.flush()  # an old stream whose id was reused
                if not _batches:
                    atexit.register(flush_all)  # never lose a line when a loop ends with a timer pending
                batch = _batches[id(stream)] = _Batch(stream)
    batch.add(text, loop)


def flush_all() -> None:
    """Write and flush every waiting line now (on stop, and at interpreter exit)."""
    for batch in list(_batches.values()):
        batch.flush()
