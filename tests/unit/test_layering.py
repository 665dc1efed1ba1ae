"""The shape of the code: layers import only downwards, and docs/architecture.md names every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "golive"
MAP = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
# Wings above the runtime; anything else under src/golive is the runtime (what runs inside the function).
WINGS = ("service", "local", "deploy", "check", "release", "commands", "telemetry", "dashboard")
# testing.py reads golive.toml (TestClient.from_service); no runtime module imports it.
TOP_LEVEL = {"cli": "commands", "__main__": "commands", "openapi": "service-reader", "testing": "service-reader"}
# What each layer may not import: runtime <- service <- {local, deploy, telemetry} <- {check, release, dashboard}
# <- commands.
FORBIDDEN = {
    "runtime": {"service", "local", "deploy", "check", "release", "commands", "telemetry", "dashboard",
                "service-reader"},
    "service": {"local", "deploy", "check", "release", "commands", "telemetry", "dashboard"},
    "service-reader": {"local", "deploy", "check", "release", "commands"},
    "local": {"deploy", "check", "release", "commands", "dashboard"},
    "deploy": {"local", "check", "release", "commands", "dashboard"},
    "telemetry": {"check", "release", "commands", "dashboard"},
    "check": {"local", "release", "commands"},
    "dashboard": {"check", "release", "commands"},  # it reads telemetry (and the service it shows)
    "release": {"check", "commands", "telemetry", "dashboard"},  # it reads the service, deploy and local sides
}


def layer_of(module: str) -> str:
    """The layer of a dotted golive module name ('golive.local.gateway' -> 'local')."""
    parts = module.split(".")[1:]
    if not parts:
        return "runtime"
    if parts[0] in WINGS:
        return parts[0]
    return TOP_LEVEL.get(parts[0], "runtime")


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        found.append((name, path))
    return found


def imported(path: Path) -> set[str]:
    """Every golive module a file imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("golive"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("golive"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(("module", "path"), modules(), ids=[name for name, _ in modules()])
def test_layers_import_only_downwards(module: str, path: Path) -> None:
    layer = layer_of(module)
    forbidden = FORBIDDEN.get(layer, set())
    wrong = sorted(name for name in imported(path) if layer_of(name) in forbidden and _is_module(name))
    assert not wrong, f"{module} ({layer}) imports {', '.join(wrong)}, which stand above it"


def _is_module(name: str) -> bool:
    """A dotted name that is a golive module or package (not a name imported from one)."""
    relative = Path(*name.split(".")[1:])
    return (SRC / relative).with_suffix(".py").is_file() or (SRC / relative / "__init__.py").is_file()


def test_the_layering_rule_catches_a_deploy_import_in_local(tmp_path: Path) -> None:
    # The check itself must be able to fail: a local module importing deploy is reported.
    offender = tmp_path / "offender.py"
    offender.write_text("from golive.deploy.cfn import ref\n")
    assert layer_of("golive.local.offender") == "local"
    assert "golive.deploy.cfn" in imported(offender)
    assert layer_of("golive.deploy.cfn") in FORBIDDEN["local"]


def test_the_dashboard_stands_above_telemetry() -> None:
    assert layer_of("golive.dashboard.charts") == "dashboard"
    assert "dashboard" in FORBIDDEN["telemetry"] and "telemetry" not in FORBIDDEN["dashboard"]
    assert "commands" in FORBIDDEN["dashboard"]


def test_architecture_map_names_every_module() -> None:
    text = MAP.read_text()
    missing = []
    for _, path in modules():
        relative = path.relative_to(SRC).as_posix()
        if path.name == "__init__.py" or relative.startswith("commands/"):
            continue  # packages are named by their folder; commands/ is one row ("one module per command")
        if f"`{relative}`" not in text:
            missing.append(relative)
    assert not missing, f"docs/architecture.md does not name {', '.join(missing)}; add a row for each"
    for command in sorted((SRC / "commands").glob("*.py")):
        if command.name != "__init__.py":
            assert command.stem in text, f"docs/architecture.md does not mention the {command.stem} command"
