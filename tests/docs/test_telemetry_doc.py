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


def test_the_cost_section_states_the_prices_the_code_uses_and_their_date() -> None:
    from golive.telemetry.cost import FREE_TIER, PRICES

    text = DOC.read_text().split("## Cost: `golive stats --cost`", 1)[1].split("\n## ", 1)[0]
    assert f"read on **{PRICES['date']}**" in text and PRICES["region"] in text
    for url in PRICES["source"].values():
        assert f"({url})" in text, url
    rows = [line for line in text.splitlines() if line.startswith("| ") and "$" in line]
    prices = {row.rsplit("|", 2)[1].strip() for row in rows}
    lam = PRICES["lambda"]
    assert f"${lam['requests_usd_per_million']:.2f} per million" in prices
    for tiers in lam["gb_second_usd"].values():
        for tier in tiers:
            assert f"${tier['usd']:.10f}" in prices, tier
    for tiers in PRICES["api_gateway"]["requests_usd_per_million"].values():
        for tier in tiers:
            assert f"${tier['usd']:.2f} per million" in prices, tier
    for key in ("read_request_units_usd_per_million", "write_request_units_usd_per_million"):
        assert f"${PRICES['dynamodb'][key]:.3f} per million" in prices, key
    assert len(rows) == 1 + 6 + 6 + 2  # no price in the table the code does not use
    assert f"{FREE_TIER['lambda_gb_s']:,} GB-seconds" in text
