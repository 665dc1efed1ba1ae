"""docs/telemetry.md documents every column of every telemetry table and view, as the code defines them."""

from __future__ import annotations

from pathlib import Path

from golive.telemetry.model import TABLES, VIEW_COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "telemetry.md"


def test_every_column_is_documented_with_its_type() -> None:
    text = DOC.read_text()
    for table, columns in {**TABLES, **VIEW_COLUMNS}.items():
        section = text.split(f"### `{table}`", 1)
        assert len(section) == 2, f"docs/telemetry.md has no section for {table}"
        body = section[1].split("\n### ", 1)[0]
        for name, kind, _ in columns:
            assert f"| `{name}` | {kind} |" in body, f"{table}.{name} ({kind}) is not documented"
