"""The background thread that stores what golive dev's callbacks buffered, in batches whose interval grows with
their cost: the collector's and the spans' writers share it."""

from __future__ import annotations

import sys
import threading
import time
from typing import Self


class BatchWriter:
    """Calls `flush()` on a thread of its own: every `flush_interval` seconds when batches are cheap, less often when
    they are not, so the writer works at most `busy_share` of the time and waits at most `max_interval` seconds."""

    thread_name = "golive-writer"
    failure = "telemetry write failed"  # what the one line on stderr says when a batch cannot be stored

    def __init__(self, flush_interval: float, busy_share: float, max_interval: float) -> None:
        self.flush_interval, self.busy_share, self.max_interval = flush_interval, busy_share, max_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def flush(self) -> int:
        raise NotImplementedError

    def after_flush(self) -> None:
        """Upkeep after a batch on the writer's thread (pruning); nothing by default."""

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread once its batch in progress is stored (the caller stores what is left)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        interval = self.flush_interval
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                started = time.perf_counter()
                self.flush()
                # each batch has a fixed cost (statements and a commit): a busy server gets fewer, larger ones
                took = time.perf_counter() - started
                interval = min(self.max_interval,
                               max(self.flush_interval, took * (1 - self.busy_share) / self.busy_share))
                self.after_flush()
            except Exception as exc:  # telemetry must never take the dev server down
                print(f"golive dev: {self.failure}: {type(exc).__name__}: {exc}", file=sys.stderr)
