"""`golive init`: a new service that runs (golive dev), passes its own tests and the go-live audit as written."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

TEMPLATES = ("users", "minimal")
SUFFIX = ".tmpl"
# Package data cannot hold dotfiles reliably (globs skip them): these names are renamed on the way out.
RENAMED = {"gitignore": ".gitignore"}
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="DIR",
                        help="folder to create the service in (default: the current folder); existing files are "
                             "never overwritten")
    parser.add_argument("--template", choices=TEMPLATES, default="users",
                        help="users (default): JWT auth, a store (SQLite locally, DynamoDB in AWS), CRUD routes; "
                             "minimal: one public route")
    parser.add_argument("--name", help="the service's name (default: the folder's name)")


def service_name(folder: Path, wanted: str | None) -> str:
    from golive.cli import CLIError

    if wanted is not None:
        if not _NAME.match(wanted):
            raise CLIError(f"--name {wanted!r} must be lowercase letters, digits and dashes, starting with a letter "
                           f"(at most 40), e.g. --name todos")
        return wanted
    name = re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-")
    if not _NAME.match(name):
        raise CLIError(f"cannot name the service after the folder {folder.resolve().name!r}; pass --name NAME "
                       f"(lowercase letters, digits and dashes)")
    return name


def _files(node: Traversable, prefix: str = "") -> dict[str, str]:
    """relative path -> template text, for every file under node."""
    found: dict[str, str] = {}
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        relative = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                found.update(_files(child, relative + "/"))
        elif child.name.endswith(SUFFIX):
            found[relative.removesuffix(SUFFIX)] = child.read_text(encoding="utf-8")
    return found


def render(template: str, name: str, dev_secret: str) -> dict[str, str]:
    """The service's files (relative path -> text): the common files, then the template's own."""
    root = resources.files("golive") / "templates"
    files = {**_files(root / "common"), **_files(root / template)}
    rendered = {}
    for relative, text in files.items():
        head, _, base = relative.rpartition("/")
        relative = f"{head}/{RENAMED.get(base, base)}" if head else RENAMED.get(base, base)
        rendered[relative] = text.replace("__SERVICE__", name).replace("__DEV_SECRET__", dev_secret)
    return rendered


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError

    root = Path(args.service_dir)
    if root.exists() and not root.is_dir():
        raise CLIError(f"{root} is a file; pass a folder to create the service in")
    name = service_name(root, args.name)
    files = render(args.template, name, secrets.token_urlsafe(32))
    taken = sorted(relative for relative in [*files, "openapi.json"] if (root / relative).exists())
    if taken:
        raise CLIError(f"{root / taken[0]} exists already and golive init never overwrites; pick a new or empty "
                       f"folder: golive init NEW_DIR")
    try:
        for relative, text in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot write {exc.filename or root} ({exc.strerror or exc}); pick a writable folder") from None
    _golive(root, "openapi", str(root), "-o", str(root / "openapi.json"))
    workflow = root / ".github" / "workflows" / "golive.yml"
    in_repository = any((folder / ".git").exists() for folder in (root.resolve(), *root.resolve().parents))
    written = len(files) + 1
    if not in_repository and not workflow.exists():  # inside a repository, its own CI is the user's to change
        _golive(root, "ci", str(root), "-o", str(workflow))
        written += 1
    where = os.path.relpath(root)
    go = "" if where == "." else f"cd {where} && "
    print(f"golive init: created {name} ({args.template} template) in {where}: {written} files")
    print(f"next: {go}golive dev      # serves it on http://127.0.0.1:3000")
    print("      pytest           # its tests: in process, over HTTP and against openapi.json")
    print("      golive check     # the go-live audit")
    if in_repository:
        print("      golive ci        # writes the repository's CI workflow: tests, audit, deploy, verify")
    return 0


def _golive(root: Path, *args: str) -> None:
    """A golive command on the new service, in a fresh process: the new handler is imported there, not here."""
    from golive.cli import CLIError

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    result = subprocess.run([sys.executable, "-m", "golive.cli", *args], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise CLIError(f"the new service does not load ({last}); report this as a golive bug")
