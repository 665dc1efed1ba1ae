"""Hot reload: notice code changes in a service directory by polling file modification times (stdlib, cheap)."""

from __future__ import annotations

import asyncio
import fnmatch
import os
from collections.abc import Callable
from pathlib import Path

PATTERNS = ("*.py", "golive.toml")
# folders that hold state, dependencies or caches, never the service's own code
SKIPPED = {"__pycache__", "node_modules", "venv", "env", "site-packages", "build", "dist"}

Snapshot = dict[str, tuple[int, int]]


class CodeWatcher:
    """Polls a folder tree for changed, added or removed files matching patterns and reports them to on_change."""

    def __init__(self, root: str | os.PathLike[str], on_change: Callable[[list[Path]], None], *,
                 interval: float = 0.5, patterns: tuple[str, ...] = PATTERNS) -> None:
        self.root = Path(root)
        self.on_change = on_change
        self.interval = interval
        self.patterns = patterns
        self.snapshot: Snapshot = self.scan()
        self._task: asyncio.Task[None] | None = None

    def scan(self) -> Snapshot:
        """path -> (mtime in ns, size) for every watched file under root."""
        found: Snapshot = {}
        stack = [str(self.root)]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not name.startswith(".") and name not in SKIPPED:
                            stack.append(entry.path)
                    elif any(fnmatch.fnmatchcase(name, pattern) for pattern in self.patterns):
                        info = entry.stat()
                        found[entry.path] = (info.st_mtime_ns, info.st_size)
                except OSError:
                    continue  # removed while scanning
        return found

    def poll(self) -> list[Path]:
        """Paths changed since the last poll (and remember the new state)."""
        current = self.scan()
        previous = self.snapshot
        self.snapshot = current
        if current == previous:
            return []
        changed = {path for path in current.keys() | previous.keys() if current.get(path) != previous.get(path)}
        return sorted(Path(path) for path in changed)

    def start(self) -> None:
        """Poll in the background of the running event loop until stop()."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            changed = self.poll()
            if changed:
                self.on_change(changed)
