"""Shared by the Lambda service tests: fixture functions, the REPORT line format, worker process accounting."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

from golive.local.lambda_service import LambdaService
from golive.service.config import load_config

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "functions"
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB\t"
    r"(?:Init Duration: (?P<init>\d+\.\d{2}) ms\t)?$")


def worker_processes(*markers: bytes) -> set[int]:
    """Children of this test process (or their zombies) whose command line holds one of the markers."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and (fields[0] == "Z" or any(m in command for m in markers)):
            found.add(int(entry))
    return found


def copy_functions(tmp_path: Path) -> Path:
    """The fixture functions copied to a scratch service directory (tests may edit them)."""
    target = tmp_path / "service"
    shutil.copytree(FIXTURES, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run(service_dir: Path, scenario, **options):
    """Start a LambdaService on the service directory, run scenario(service), always stop it."""
    async def main():
        service = LambdaService(load_config(service_dir), **options)
        await service.start()
        try:
            return await scenario(service)
        finally:
            await service.stop()

    return asyncio.run(main())
